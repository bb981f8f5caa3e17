"""benchmarks/a3c_process_costs.py: it reads a worker's start and end from a run's own outputs,
and runs a base commit's a3c.py beside the working tree's, on runs of 300 steps."""
import json
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "benchmarks"))
import a3c_process_costs  # noqa: E402
import common  # noqa: E402


@pytest.mark.slow
def test_each_side_runs_alternating_and_its_phases_fit_inside_its_training_time(
        tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(a3c_process_costs, "OUT", str(tmp_path / "out.json"))
    a3c_process_costs.main(["--steps", "300", "--runs", "2", "--base", "HEAD"])
    out = json.load(open(tmp_path / "out.json"))
    assert list(out["sides"]) == ["base", "head"] and out["steps"] == 300
    assert out["sides"]["head"]["sha256"] == common.file_sha256("a3c")
    printed = [line.split(":")[0] for line in capsys.readouterr().out.splitlines()[:4]]
    assert printed == ["base run 1", "head run 1", "base run 2", "head run 2"]
    for side in out["sides"].values():
        assert len(side["runs"]) == 2
        for run in side["runs"]:  # the first update comes after the start, the last before the end
            assert 0 < run["start_s"] < run["train_s"] and 0 <= run["end_s"] < run["train_s"]
            assert run["start_s"] + run["end_s"] <= run["train_s"]
        for phase in ("start_s", "end_s", "train_s"):
            values = sorted(run[phase] for run in side["runs"])
            assert side[f"median_{phase}"] == round((values[0] + values[1]) / 2, 3)


def test_a_base_without_a3c_py_is_a_one_line_error(tmp_path, monkeypatch):
    monkeypatch.setattr(a3c_process_costs, "OUT", str(tmp_path / "out.json"))
    with pytest.raises(SystemExit, match="no a3c.py at 0000000"):
        a3c_process_costs.main(["--steps", "300", "--runs", "1", "--base", "0000000"])
    assert not os.path.exists(tmp_path / "out.json")
