"""The README's oracle example runs as printed."""
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_readme_oracle_example_runs():
    readme = open(os.path.join(ROOT, "README.md")).read()
    section = readme.split("## Using the functions as a test oracle", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "gradients agree"


def test_readme_tables_are_the_results_files():
    """Every figure in the README's tables is what benchmarks/run.py --readme makes of the
    committed benchmarks/results/*.json: a hand-edited or stale table fails here."""
    git = lambda *a: subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True)
    if git("rev-parse", "--is-shallow-repository").stdout.strip() != "false":
        pytest.skip("the commit column needs the full git history (not a shallow clone)")
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    import run
    readme = open(os.path.join(ROOT, "README.md")).read()
    rendered = run.render_readme(readme)
    assert rendered.count("<!-- end results -->") > 10  # the tables are there to compare
    assert rendered == readme, "README tables differ from benchmarks/run.py --readme"
