"""Shared pytest set-up: the hypothesis profiles and the repository root on sys.path."""
import os
import sys

from hypothesis import HealthCheck, settings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # the algorithm files live at the top level
# tests/support/: the exact-MDP harness (mdp.py), test envs (envs.py), a pseudo-terminal
# (terminal.py), checks of a Policy (policies.py); imported as `from mdp import ...`. Not test
# files themselves.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "support"))

# CI: derandomized (the same examples every run) and no per-example deadline, since
# enumerating trajectories or a first torch call can take longer than hypothesis' 200 ms.
settings.register_profile(
    "ci", derandomize=True, deadline=None, max_examples=30,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=30)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
