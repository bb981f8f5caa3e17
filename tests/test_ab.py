"""benchmarks/ab.py: both sides load into one process and take turns, and its ratios are the
timings' own; on runs of a few hundred steps and statements of a few calls. And the results
files' write (common.write_json, through which every benchmark script writes its results)."""
import builtins
import json
import os
import shlex
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "benchmarks"))
import ab  # noqa: E402
import common  # noqa: E402


@pytest.fixture
def results(tmp_path, monkeypatch):
    monkeypatch.setattr(ab, "RESULTS", str(tmp_path))
    return tmp_path


def test_ratios_are_head_over_base_of_the_bests_the_medians_and_the_paired_rounds():
    base, head = [10.0, 20.0, 40.0], [5.0, 30.0, 20.0]  # rounds' ratios 0.5, 1.5, 0.5
    assert ab.ratios(base, head) == {"best": 0.5, "median": 1.0, "paired": 0.5}


def test_whole_runs_take_turns_after_the_warmup_and_record_each_side(results, capsys):
    ab.main(["--name", "t", "--algo", "actor_critic", "--base", "HEAD", "--rounds", "2",
             "--", "--total-timesteps", "400", "--seed", "3"])
    out = json.load(open(results / "ab_t.json"))
    printed = [line.rsplit(":", 1)[0] for line in capsys.readouterr().out.splitlines()[:6]]
    assert printed == ["warm-up 1 base", "warm-up 1 head", "round 1 head", "round 1 base",
                       "round 2 base", "round 2 head"]
    assert out["unit"] == "train_time_s" and out["ran_at"] == common.git_commit()
    assert out["command"].endswith("--total-timesteps 400 --seed 3")
    head_commit = common.git("rev-parse", "--short", "HEAD").strip()
    for name, side in out["sides"].items():
        assert side["commit"] == (head_commit if name == "base" else common.git_commit())
        assert len(side["warmup"]) == 1 and len(side["timings"]) == 2
        assert all(t > 0 for t in side["timings"]) and side["best"] == min(side["timings"])
    if not common.git("status", "--porcelain", "--", "actor_critic.py"):  # unchanged since HEAD
        assert out["sides"]["base"]["sha256"] == common.file_sha256("actor_critic")
    assert out["sides"]["head"]["sha256"] == common.file_sha256("actor_critic")
    assert out["head_over_base"] == ab.ratios(out["sides"]["base"]["timings"],
                                              out["sides"]["head"]["timings"])


def test_a_statement_is_timed_per_call_with_each_sides_own_module(results, monkeypatch):
    monkeypatch.setattr(builtins, "ab_seen", [], raising=False)  # each side's setup adds its m
    setup = "import builtins, torch; builtins.ab_seen.append(m.__name__); " \
            "r = torch.ones(5, 2); v = torch.zeros(5, 2); d = r < 0"
    argv = ["--name", "s", "--algo", "actor_critic", "--base", "HEAD", "--rounds", "3",
            "--warmup", "0", "--number", "20", "--setup", setup,
            "--stmt", "m.n_step_returns(r, v, d, d, 0.5, 5)"]
    ab.main(argv)
    assert builtins.ab_seen == ["ab_base_actor_critic", "ab_head_actor_critic"]
    out = json.load(open(results / "ab_s.json"))
    assert out["unit"] == "us a call"
    assert shlex.split(out["command"]) == ["benchmarks/ab.py", *argv]  # a shell runs it again
    assert [len(side["timings"]) for side in out["sides"].values()] == [3, 3]
    assert all(0 < t < 1e6 for side in out["sides"].values() for t in side["timings"])


@pytest.mark.parametrize("words, message", [
    (["--algo", "a3c", "--base", "HEAD"], "a3c.py's workers cannot import"),
    (["--algo", "ppo", "--base", "0000000"], "no ppo.py at '0000000'"),
    (["--algo", "ppo", "--base", "HEAD", "--stmt", "pass", "--", "--seed", "1"], "go with whole"),
    (["--algo", "ppo", "--base", "HEAD", "--rounds", "0"], "--rounds and --number"),
    (["--algo", "ppo", "--base", "HEAD", "--name", "../x"], "--name must be letters"),
    (["--algo", "ppo", "--base", "HEAD", "--setup", "x = undefined", "--stmt", "pass"],
     "the base side failed: NameError: name 'undefined' is not defined"),
    (["--algo", "ppo", "--base", "HEAD", "--stmt", "m.compute_gae([], [], [], [], [], 0.9, 0.9)"],
     "the base side failed: ValueError: compute_gae: want rewards"),
    (["--algo", "ppo", "--base", "HEAD", "--", "--env-id", "NoSuchEnv-v0"],
     "the base side failed: ConfigError: cannot make env 'NoSuchEnv-v0'"),
])
def test_bad_input_is_a_one_line_error_with_status_2_and_writes_nothing(
        results, capsys, words, message):
    with pytest.raises(SystemExit) as stop:
        ab.main(["--name", "e", *words])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and err.startswith("ab.py: error: ")
    assert os.listdir(results) == []


def test_an_interrupted_write_keeps_the_last_whole_results_file(tmp_path, monkeypatch):
    path = str(tmp_path / "r.json")
    common.write_json(path, {"run": 1})
    assert open(path).read() == '{\n "run": 1\n}\n'

    def half_then_ctrl_c(doc, f, **kwargs):
        f.write('{\n "run": ')
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(common.json, "dump", half_then_ctrl_c)
        with pytest.raises(KeyboardInterrupt):
            common.write_json(path, {"run": 2})
    assert json.load(open(path)) == {"run": 1}  # the last whole file, not half of the next
    assert os.listdir(tmp_path) == ["r.json"]  # and no half-written r.json.tmp beside it
    common.write_json(path, {"run": 3})
    assert json.load(open(path)) == {"run": 3} and os.listdir(tmp_path) == ["r.json"]
    common.write_json(path, {"run": 4}, indent=2)  # run.py's row files keep their indent of 2
    assert open(path).read() == '{\n  "run": 4\n}\n'
    common.write_json(path, {"run": 5}, end="")  # same_behaviour.py keeps a file's old ending
    assert open(path).read() == '{\n "run": 5\n}'
