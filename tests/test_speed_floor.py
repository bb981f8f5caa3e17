"""benchmarks/speed_floor.py: each pair's command runs its file as benchmarks/compare.py does
(a3c: with one worker), and each floor counts the gradient steps (or updates) and env steps
that the file's Config gives at those settings. Builds every floor and runs one gradient step
and one env step of each; times nothing long."""
import json
import math
import os
import sys

import gymnasium as gym
import pytest
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "benchmarks"))
import common  # noqa: E402
import pairs  # noqa: E402
import render  # noqa: E402
import speed_floor  # noqa: E402


@pytest.fixture(autouse=True)
def one_thread():  # as speed_floor.py runs them; two threads on a busy machine can take seconds
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def config(words):
    """The Config that `python FILE.py FLAGS...` trains with (words: FILE.py FLAGS...)."""
    module = common.algorithm_module(words[0][:-3])
    cfg = module.configure(module.parse_args(words[1:]))
    if hasattr(module, "resolve"):  # dqn_ddpg.py: its algorithm's defaults for the fields at None
        cfg = module.resolve(cfg, gym.make(cfg.env_id).action_space)
    return cfg


@pytest.mark.parametrize("name", list(speed_floor.PAIRS))
def test_ours_is_the_compare_pair_and_its_flags_are_the_files(name, capsys):
    command = speed_floor.PAIRS[name][1]
    assert os.path.isfile(os.path.join(common.ROOT, command[0]))
    with pytest.raises(SystemExit):
        common.algorithm_module(command[0][:-3]).parse_args(["--help"])
    listed = capsys.readouterr().out
    assert all(word in listed for word in command[1:] if word.startswith("--"))
    pair = pairs.PAIRS[name]
    setup = pairs.SETUPS[pair["sb3"]]
    as_compared = config([*pair["ours"], "--env-id", setup["env"],
                          "--total-timesteps", str(pair.get("steps", setup["steps"]))])
    if name == "a3c":  # one worker: the floor's work; compare.py's pair runs 2
        assert as_compared.num_workers == 2
        as_compared.num_workers = 1
    assert config(command) == as_compared
    assert speed_floor.PAIRS[name][2] in (None, pair["sb3"])  # sb3's side: the pair's or none


def expected_counts(name, cfg):
    """(updates, env steps) of the run at cfg, from the file's loop (see the floors' comments)."""
    T = cfg.total_timesteps
    if name == "a2c":  # every rollout is num_envs x n_steps
        updates = math.ceil(T / (cfg.num_envs * cfg.n_steps))
        return updates, updates * cfg.n_steps
    if name in ("trpo", "npg", "gae"):  # full rollouts only; the last one is shortened
        return T // (cfg.num_envs * cfg.num_steps), math.ceil(T / cfg.num_envs)
    if name == "reinforce":  # every episode at the time limit: the longest batches
        waves = -(-cfg.batch_episodes // cfg.num_envs)  # of whole episodes, a reset step apart
        limit = gym.spec(cfg.env_id).max_episode_steps
        return math.ceil(T / ((waves * limit + waves - 1) * cfg.num_envs)), T // cfg.num_envs
    if name == "a3c":  # one worker, every segment t_max steps
        return math.ceil(T / cfg.t_max), T


@pytest.mark.parametrize("name", ["a2c", "trpo", "npg", "gae", "reinforce", "a3c"])
def test_floor_counts_are_the_files_at_its_settings(name):
    floor_fn, command, _ = speed_floor.PAIRS[name]
    f = floor_fn()
    cfg = config(command)
    assert (f["gradient_steps"], f["env_steps"]) == expected_counts(name, cfg)
    assert f["env_unit"] == ("env steps" if name == "a3c" else f"steps of {cfg.num_envs} envs")
    f["grad_step"]()  # one of each runs: shapes, optimiser, env
    f["env_step"]()


def test_the_floor_is_the_sum_of_its_timed_parts_and_the_interleaved_floor_of_its_cycles():
    calls = []
    f = dict(gradient_steps=6, env_steps=1000, unit="updates", env_unit="env steps",
             grad_step=lambda: calls.append("grad"), env_step=lambda: calls.append("env"),
             calls=(10, 20), cycle=(2, 300))
    out = speed_floor.time_floor(f, cycles_s=0.0)  # 5 cycles, the fewest
    apart, interleaved = calls[:10 + 2 + 20 + 4], calls[10 + 2 + 20 + 4:]  # and the warm-ups
    assert apart == ["grad"] * 12 + ["env"] * 24
    assert out["floor_s"] == pytest.approx(6 * out["grad_s"] + 1000 * out["env_s"])
    # cycles of 2 gradient steps then 300 env steps, the file's order: a warm-up and 5 timed
    assert interleaved == (["grad"] * 2 + ["env"] * 300) * 6
    # 3 cycles, and the 100 env steps no cycle holds, at the tight loop's rate
    assert out["floor_interleaved_s"] == pytest.approx(3 * out["cycle_s"] + 100 * out["env_s"])


@pytest.mark.parametrize("name", list(speed_floor.PAIRS))
def test_each_floors_cycle_divides_its_gradient_steps_and_fits_its_env_steps(name):
    f = speed_floor.PAIRS[name][0]()
    k, m = f["cycle"]
    assert f["gradient_steps"] % k == 0
    left = f["env_steps"] - f["gradient_steps"] // k * m  # env steps in no cycle
    assert left >= 0
    assert left < m or name in ("dqn", "ddpg")  # those two act alone before learning starts


def test_a_run_of_some_pairs_keeps_the_others_rows_with_their_own_run():
    run = lambda commit: {"commit": commit, "date": f"day {commit}", "machine": f"cpu {commit}"}
    old = {**run("a"), "pairs": {"dqn": {"ours_s": 1.0}, "ppo": {"ours_s": 2.0},
                                 "a3c": {**run("z"), "ours_s": 3.0}}}  # from a merge before
    new = {**run("b"), "pairs": {"dqn": {"ours_s": 4.0}, "gae": {"ours_s": 5.0}}}
    out = speed_floor.merged(old, new)
    assert {k: out[k] for k in ("commit", "date", "machine")} == run("b")
    assert list(out["pairs"]) == [p for p in speed_floor.PAIRS if p in ("ppo", "dqn", "gae", "a3c")]
    assert out["pairs"]["ppo"] == {**run("a"), "ours_s": 2.0}  # kept, with the run that made it
    assert out["pairs"]["a3c"] == {**run("z"), "ours_s": 3.0}
    assert out["pairs"]["dqn"] == {**run("b"), "ours_s": 4.0}  # replaced by the new run's
    assert out["pairs"]["gae"] == {**run("b"), "ours_s": 5.0}


def test_each_pair_is_written_as_it_ends_so_a_run_stopped_later_keeps_it(monkeypatch, tmp_path):
    results = str(tmp_path / "speed_floor.json")
    floor = dict(gradient_steps=2, env_steps=10, unit="updates", env_unit="env steps",
                 grad_s=1.0, env_s=0.1, floor_s=3.0, cycle=(1, 5), cycle_s=2.0,
                 floor_interleaved_s=4.0)

    def run(cmd):  # trpo's two sides train; npg's run stops, as a missing package stopped one
        if "npg" in cmd:
            raise RuntimeError("npg stopped")
        return {"train_time_s": 4.5, "eval_return_mean": 500.0}

    flushed = []  # whether a denormal float reads as 0 while the floor is timed, as in the files

    def time_floor(f):
        flushed.append((torch.tensor(1e-39) * 1.0).item() == 0.0)
        return dict(floor)

    monkeypatch.setattr(speed_floor, "RESULTS", results)
    monkeypatch.setattr(speed_floor, "time_floor", time_floor)
    monkeypatch.setattr(speed_floor, "last_json_line", run)
    monkeypatch.setattr(sys, "argv", ["speed_floor.py", "--pairs", "trpo", "npg", "--repeats",
                                      "1"])
    try:
        with pytest.raises(RuntimeError, match="npg stopped"):
            speed_floor.main()
    finally:
        torch.set_flush_denormal(False)  # process-wide: as the other tests expect
    assert flushed == [True, True]
    with open(results) as fh:
        rows = json.load(fh)["pairs"]
    assert list(rows) == ["trpo"] and rows["trpo"]["ours_over_floor"] == 1.5
    assert rows["trpo"]["ours_over_floor_interleaved"] == 1.125
    assert not os.path.exists(results + ".tmp")


def test_a_missing_sb3_package_stops_the_run_before_any_pair_is_timed(monkeypatch, capsys):
    real = common.importlib.util.find_spec
    monkeypatch.setattr(common.importlib.util, "find_spec",
                        lambda name: None if name == "sb3_contrib" else real(name))

    def time_floor(f):
        raise RuntimeError("a floor timed")

    monkeypatch.setattr(speed_floor, "time_floor", time_floor)
    monkeypatch.setattr(sys, "argv", ["speed_floor.py", "--pairs", "ppo", "trpo"])
    with pytest.raises(SystemExit) as exit_:
        speed_floor.main()
    assert exit_.value.code == 2
    assert ("the sb3 side needs sb3-contrib, not installed: pip install sb3-contrib (or "
            "--no-train)" in capsys.readouterr().err)
    for pairs in (["ppo", "npg"], ["trpo", "--no-train"]):  # no sb3 TRPO wanted: it runs
        monkeypatch.setattr(sys, "argv", ["speed_floor.py", "--pairs", *pairs])
        try:
            with pytest.raises(RuntimeError, match="a floor timed"):
                speed_floor.main()
        finally:
            torch.set_flush_denormal(False)  # process-wide: as the other tests expect


def test_each_side_counts_its_fastest_run_and_the_runs_alternate_with_floor_timings(monkeypatch):
    """The floor is timed before the first round (by main) and between rounds: every side
    meets the same drift."""
    times = {"ours": iter([3.0, 2.0, 2.5]), "sb3": iter([4.0, 5.0, 3.5])}
    calls = []

    def run(cmd):
        calls.append(cmd[0])
        t = next(times[cmd[0]])
        return {"train_time_s": t, "eval_return_mean": 10 * t}

    monkeypatch.setattr(speed_floor, "last_json_line", run)
    ours, sb3 = speed_floor.best_of_runs([["ours"], ["sb3"]], repeats=3,
                                         between=lambda: calls.append("floor"))
    assert calls == ["ours", "sb3", "floor", "ours", "sb3", "floor", "ours", "sb3"]
    assert ours == {"train_time_s": 2.0, "eval_return_mean": 20.0, "runs_s": [3.0, 2.0, 2.5]}
    assert sb3 == {"train_time_s": 3.5, "eval_return_mean": 35.0, "runs_s": [4.0, 5.0, 3.5]}


def test_the_table_shows_the_interleaved_floor_and_a_dash_for_rows_from_before_it(monkeypatch):
    row = dict(ours_command="ppo.py", ours_sha256=common.file_sha256("ppo"), gradient_steps=10,
               grad_s=0.001, env_steps=20, env_s=0.0001, floor_s=2.0, ours_s=3.0, ours_eval=500.0,
               commit="abc1234", date="2026-12-07 00:00 UTC", machine="Intel Xeon, 2 cores")
    doc = {"commit": "abc1234", "date": row["date"], "machine": row["machine"], "pairs": {
        "ppo": {**row, "floor_interleaved_s": 2.4, "ours_over_floor_interleaved": 1.25},
        "npg": dict(row)}}  # a row written before the interleaved floor was timed
    monkeypatch.setattr(render, "load", lambda name: doc)
    header, _, new, old = render.floor_table()
    cells = lambda line: [c.strip() for c in line.strip("|").split("|")]
    at = cells(header).index("interleaved floor s")
    assert cells(header)[at + 1] == "ours / interleaved"
    assert cells(new)[at:at + 2] == ["2.4", "1.25"] and cells(new)[at - 1] == "1.50"
    assert cells(old)[at:at + 2] == ["-", "-"] and len(cells(old)) == len(cells(header))
