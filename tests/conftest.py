"""Shared pytest set-up: the hypothesis profiles and the repository root on sys.path."""
import os
import sys

from hypothesis import HealthCheck, settings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # the algorithm files live at the top level
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # tests/mdp.py, the harness

# CI: derandomized (the same examples every run) and no per-example deadline, since
# enumerating trajectories or a first torch call can take longer than hypothesis' 200 ms.
settings.register_profile(
    "ci", derandomize=True, deadline=None, max_examples=30,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=30)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
