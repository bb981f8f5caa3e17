"""benchmarks/compare.py: what it checks before it runs a pair (the pairs' data: pairs.py)."""
import importlib.util
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "benchmarks"))
import common  # noqa: E402
import compare  # noqa: E402


def test_a_missing_sb3_package_stops_the_comparison_before_any_pair_runs(monkeypatch, capsys):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name: None if name == "sb3_contrib" else real(name))
    assert common.sb3_missing(["ppo", "a2c", "dqn", "ddpg"]) == []
    assert common.sb3_missing(["ppo", "trpo"]) == ["sb3-contrib"]

    def run_pair(*args, **kwargs):
        raise RuntimeError("a pair ran")

    monkeypatch.setattr(compare, "run_pair", run_pair)
    monkeypatch.setattr(compare, "plot_envs", lambda out_dir: [])
    monkeypatch.setattr(sys, "argv", ["compare.py", "--pairs", "ppo", "npg"])  # npg: sb3's TRPO
    with pytest.raises(SystemExit) as exit_:
        compare.main()
    assert exit_.value.code == 2
    assert ("the sb3 side needs sb3-contrib, not installed: pip install sb3-contrib"
            in capsys.readouterr().err)
    monkeypatch.setattr(sys, "argv", ["compare.py", "--pairs", "ppo", "a3c"])  # sb3's A2C only
    with pytest.raises(RuntimeError, match="a pair ran"):
        compare.main()
    monkeypatch.setattr(sys, "argv", ["compare.py", "--pairs", "npg", "--plots-only"])
    compare.main()  # redraws plots only: nothing of sb3's runs
