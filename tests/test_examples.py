"""examples/check_*.py: each cross-check against a peer library runs and finds agreement.

Each script is run as its own process with this interpreter; one whose peer is not installed
here is skipped (pip install -r requirements-peers.txt, ideally in a separate venv, brings
them). The CleanRL check writes CleanRL's formula itself and always runs. A check fails when a
function disagrees with its peer beyond the float round-off bound the script prints: the
script then exits 1 and prints 'disagree'.
"""
import os
import subprocess
import sys
from importlib.util import find_spec

import pytest

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")

CHECKS = [  # script, the modules it needs beyond the core requirements, rows it must print
    ("check_cleanrl.py", [], 3),
    ("check_sb3.py", ["stable_baselines3"], 6),
    ("check_sb3_contrib.py", ["sb3_contrib"], 4),
    ("check_torchrl.py", ["torchrl", "tensordict"], 25),
    ("check_tianshou.py", ["tianshou"], 3),
]


@pytest.mark.parametrize("script, needs, rows", CHECKS, ids=[c[0] for c in CHECKS])
def test_check_agrees(script, needs, rows):
    missing = [m for m in needs if find_spec(m) is None]
    if missing:
        pytest.skip(f"{script} needs {', '.join(missing)} (pip install -r requirements-peers.txt)")
    done = subprocess.run([sys.executable, os.path.join(EXAMPLES, script)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    verdicts = [line for line in done.stdout.splitlines() if ": agree, " in line
                or ": disagree, " in line]
    assert len(verdicts) == rows, done.stdout
    assert all(": agree, largest |difference| " in line for line in verdicts), done.stdout
    assert "minimal case" in done.stdout
