"""README.md and benchmarks/RESULTS.md say what is true: the oracle example runs as printed, every
table is what benchmarks/render.py makes of the committed results, the flags the README says all
files take are in every file's --help, the README fits its budget with the set-up commands on its
first screen, its links lead to files, and the benchmark scripts import one another without
cycles."""
import ast
import glob
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
import render  # noqa: E402

FILES = ["reinforce", "actor_critic", "gae", "npg_trpo", "ppo", "a3c", "dqn_ddpg"]


def read(doc):
    return open(os.path.join(ROOT, doc)).read()


def test_readme_oracle_example_runs():
    section = read("README.md").split("## Using the functions as a test oracle", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "gradients agree"


def full_history():
    git = subprocess.run(["git", "rev-parse", "--is-shallow-repository"], cwd=ROOT,
                         capture_output=True, text=True)
    if git.stdout.strip() != "false":
        pytest.skip("the commit column needs the full git history (not a shallow clone)")


@pytest.mark.parametrize("doc", render.DOCS)
def test_every_table_is_what_the_results_files_say(doc):
    """A hand-edited or stale figure in README.md or RESULTS.md fails here."""
    full_history()
    text = read(doc)
    assert text.count("<!-- end results -->") >= (2 if doc == "README.md" else 10)
    assert render.render(text) == text, f"{doc}'s tables differ from benchmarks/run.py --readme"


@pytest.mark.parametrize("doc", render.DOCS)
def test_a_hand_edited_figure_is_caught(doc):
    """The check above can fail: one digit changed in a generated row is put back by render."""
    full_history()
    text = read(doc)
    rows = [line for line in render.render(text).splitlines()
            if line.startswith("| ") and re.search(r"\d\.\d", line)]
    assert rows, f"{doc} has no generated figures"
    edited = text.replace(rows[0], re.sub(r"(\d)\.(\d)", lambda m: f"{(int(m[1]) + 1) % 10}.{m[2]}",
                                          rows[0], count=1))
    assert edited != text and render.render(edited) != edited


def test_readme_fits_its_budget_and_its_first_screen_sets_up():
    text = read("README.md")
    assert len(text) <= 15_000, f"README.md is {len(text):,} characters"
    first_screen = "\n".join(text.splitlines()[:60])
    for command in ("pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu",
                    "pip install -r requirements.txt && python reinforce.py",
                    "pip install -r requirements.txt && pytest"):
        assert command in first_screen, command


def test_flags_the_readme_says_every_file_takes_are_in_every_help():
    text = read("README.md")
    paragraph = text.split("<!-- shared flags", 1)[1].split("<!-- end shared flags -->")[0]
    flags = set(re.findall(r"`(--[a-z-]+)`", paragraph))
    assert {"--env-id", "--seed", "--device", "--eval-only", "--quiet"} <= flags
    for name in FILES:
        help_text = subprocess.run([sys.executable, f"{name}.py", "--help"], cwd=ROOT,
                                   capture_output=True, text=True, timeout=60).stdout
        own = ["--num-workers"] if name == "a3c" else ["--num-envs"]  # as the README says
        missing = {f for f in [*flags, *own] if not re.search(rf"{f}[\s,=\]]", help_text)}
        assert not missing, f"{name}.py --help lacks {sorted(missing)}"


@pytest.mark.parametrize("doc", render.DOCS)
def test_relative_links_lead_to_files(doc):
    here = os.path.dirname(os.path.join(ROOT, doc))
    links = re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", read(doc))
    assert links
    missing = [link for link in links if not os.path.exists(os.path.join(here, link))]
    assert not missing, f"{doc} links to missing files: {missing}"


def test_no_import_cycle_among_the_benchmark_scripts():
    paths = glob.glob(os.path.join(ROOT, "benchmarks", "*.py"))
    scripts = {os.path.basename(p)[:-3]: p for p in paths}
    imports = {}
    for name, path in scripts.items():
        tree = ast.parse(open(path).read())
        found = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        found |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        imports[name] = found & set(scripts)
    assert imports["run"] and imports["compare"], "the graph below would be trivially acyclic"

    def visit(name, path):
        assert name not in path, f"import cycle: {' -> '.join(path + [name])}"
        for other in imports[name]:
            visit(other, path + [name])
    for name in scripts:
        visit(name, [])
