"""benchmarks/same_behaviour.py and the stale mark of the results tables, on small synthetic inputs:
the comparison of two runs, the flag renames, the cases made of results rows, the records, and
a row being current when run at the file's hash or checked equal to it. The end-to-end tests
run a toy script of a few lines (no torch) in place of an algorithm file."""
import importlib
import json
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "benchmarks"))
import common  # noqa: E402
import render  # noqa: E402
import same_behaviour as sb  # noqa: E402


def check(base, head):
    return {"base_sha256": base, "sha256": head, "head": f"commit-{head}"}


# --- current: run at the file's hash, or checked equal to it -----------------------------------

def test_a_row_is_current_at_its_own_hash_or_where_its_checks_lead(monkeypatch):
    monkeypatch.setattr(common, "file_sha256", lambda algo: "c")
    assert common.changed_since("c", "ppo") == ""
    assert common.changed_since("a", "ppo") == " (file changed since)"
    assert common.changed_since("a", "ppo", [check("a", "c")]) == " (checked same at commit-c)"
    assert common.changed_since("a", "ppo", [check("b", "c"), check("a", "b")]) == \
        " (checked same at commit-c)"  # any order
    assert common.changed_since("a", "ppo", [check("x", "c")]) == " (file changed since)"  # no link
    assert common.changed_since("a", "ppo", [check("c", "a")]) == " (file changed since)"  # one way


def test_vouched_hashes_follows_branches_and_ends_on_cycles():
    checks = [check("a", "b"), check("b", "a"), check("a", "d"), check("z", "y")]
    assert common.vouched_hashes("a", checks) == {"a", "b", "d"}


def test_the_table_drops_the_stale_mark_of_a_checked_row(tmp_path, monkeypatch):
    row = {"name": "toy_cartpole", "algo": "toy", "env_id": "CartPole-v1", "args": [],
           "seeds": 1, "target": None, "eval_return_mean": 1.0, "eval_return_std": 0.0,
           "median_steps_to_target": None, "mean_train_time_s": 1.0, "mean_sps": 1.0,
           "commit": "abc1234", "algo_sha256": "old", "runs": []}
    (tmp_path / "toy_cartpole.json").write_text(json.dumps(row))
    monkeypatch.setattr(common, "RESULTS", str(tmp_path))
    monkeypatch.setattr(common, "file_sha256", lambda algo: "new")
    assert render.table()[-1].count("(file changed since)") == 1
    row["behaviour_checks"] = [check("old", "new")]
    (tmp_path / "toy_cartpole.json").write_text(json.dumps(row))
    assert "(file changed since)" not in render.table()[-1]
    assert "abc1234 (checked same at commit-new)" in render.table()[-1]


# --- the comparison ----------------------------------------------------------------------------

PROGRESS = ["global_step", "episode_return", "wall_time_s"]


def table(*rows, columns=PROGRESS):
    return columns, [dict(zip(columns, r)) for r in rows]


def test_runs_agree_but_for_the_wall_time_and_the_spelling_of_a_number():
    base = table(["10", "9.0", "0.1"], ["20", "10.0", "0.2"])
    head = table(["10", "9", "0.3"], ["20", "10.0", "0.9"])
    assert sb.table_difference("progress.csv", base, head) is None


def test_the_first_differing_row_is_named():
    base = table(["10", "9.0", "0"], ["20", "10.0", "0"], ["30", "11.0", "0"])
    head = table(["10", "9.0", "0"], ["21", "11.0", "0"], ["30", "12.0", "0"])
    assert sb.table_difference("progress.csv", base, head) == (
        "progress.csv row 2 (base / head): global_step 20 / 21, episode_return 10.0 / 11.0")


def test_missing_rows_columns_and_files_differ():
    base = table(["10", "9.0", "0"], ["20", "10.0", "0"])
    assert "base has 2 rows, head 1" in sb.table_difference("p", base, table(["10", "9.0", "0"]))
    renamed = table(["10", "9.0", "0"], ["20", "10.0", "0"],
                    columns=["global_step", "return", "wall_time_s"])
    assert "columns differ" in sb.table_difference("p", base, renamed)
    assert "only the base" in sb.table_difference("updates.csv", base, None)
    assert sb.table_difference("updates.csv", None, None) is None


def test_the_final_evaluation_is_compared_and_global_step_only_where_both_print_it():
    base = {"eval_return_mean": 10.0, "eval_return_std": 1.0, "train_time_s": 3.0}
    assert sb.final_difference(base, {**base, "global_step": 500, "train_time_s": 4.0}) is None
    wider = {**base, "eval_return_std": 2.0}
    assert "eval_return_std 1.0 / 2.0" in sb.final_difference(base, wider)
    assert "global_step" in sb.final_difference({**base, "global_step": 1},
                                                {**base, "global_step": 2})


# --- flags ------------------------------------------------------------------------------------

def test_a_rename_applies_only_where_the_base_has_the_old_flag_and_the_head_has_not():
    flags = ("--env-id", "Pendulum-v1", "--normalize-obs", "--value-minibatch", "64")
    old = {"--env-id", "--normalize-obs", "--value-minibatch"}
    new = {"--env-id", "--norm-obs", "--value-minibatch-size"}
    assert sb.translate("npg_trpo", flags, old, new) == (
        "--env-id", "Pendulum-v1", "--norm-obs", "--value-minibatch-size", "64")
    assert sb.translate("npg_trpo", flags, old, old) == flags  # not renamed (yet)
    assert sb.translate("ppo", ("--normalize", "auto", "--gamma", "0.9"), {"--normalize"},
                        {"--gamma", "--norm-obs"}) == ("--gamma", "0.9")
    with pytest.raises(ValueError, match="no --normalize-obs"):
        sb.translate("gae", flags, old, new)  # gae has no renames: the head lacks the flag


def test_a_row_from_before_a_rename_checked_between_two_later_commits_takes_the_new_names():
    flags = ("--env-id", "Pendulum-v1", "--normalize-obs", "--value-minibatch", "64")
    old = {"--env-id", "--normalize-obs", "--value-minibatch"}
    new = {"--env-id", "--norm-obs", "--value-minibatch-size"}
    renamed = ("--env-id", "Pendulum-v1", "--norm-obs", "--value-minibatch-size", "64")
    assert sb.both_spellings("npg_trpo", flags, new, new) == (renamed, renamed)
    assert sb.both_spellings("npg_trpo", flags, old, new) == (flags, renamed)
    assert sb.both_spellings("npg_trpo", flags, old, old) == (flags, flags)
    with pytest.raises(ValueError, match="no --normalize-obs"):
        sb.both_spellings("gae", flags, old, new)


def test_a_shrunk_row_runs_its_flags_as_run_on_the_base_and_the_shrunk_ones_on_the_head():
    doc = {"algo": "npg_trpo", "env_id": "Pendulum-v1", "runs": [], "algo_sha256": "h",
           "args": ["--algo", "trpo", "--total-timesteps", "300000"],
           "args_as_run": ["--algo", "trpo", "--total-timesteps", "300000", "--gamma", "0.9",
                           "--normalize-obs"]}
    row, = sb.rows_of("/r/npg_trpo_trpo_pendulum.json", doc)
    assert row.flags == ("--env-id", "Pendulum-v1", "--algo", "trpo")
    assert row.as_run == ("--env-id", "Pendulum-v1", "--algo", "trpo", "--gamma", "0.9",
                          "--normalize-obs")
    plain = sb.rows_of("/r/x.json", {**doc, "args_as_run": None})[0]  # never shrunk: no as_run
    case, other = sb.make_cases([row, plain], scale=1)  # one flag set, two different runs
    assert (case.as_run, other.as_run) == (row.as_run, None)
    old = {"--env-id", "--algo", "--gamma", "--normalize-obs"}
    new = {"--env-id", "--algo", "--gamma", "--norm-obs"}
    assert sb.both_spellings("npg_trpo", case.flags, old, new, case.as_run) == (
        row.as_run, row.flags)
    assert sb.both_spellings("npg_trpo", case.flags, new, new, case.as_run) == (
        row.as_run[:-1] + ("--norm-obs",), row.flags)  # the base spells it as today, too
    pair = {"ours_command": "ppo.py", "ours_command_as_run": "ppo.py --num-envs 4",
            "algo": "ppo", "env_id": "Pendulum-v1", "algo_sha256": "h"}
    assert sb.rows_of("/r/compare_ppo_pendulum.json", pair)[0].as_run == (
        "--env-id", "Pendulum-v1", "--num-envs", "4")


def test_rows_become_deduplicated_cases_at_a_short_budget():
    run_row = {"algo": "a3c", "env_id": "CartPole-v1", "runs": [], "algo_sha256": "h",
               "args": ["--total-timesteps", "150000", "--num-workers", "2"]}
    pair = {"ours_command": "a3c.py --num-workers=4", "algo": "a3c", "env_id": "CartPole-v1",
            "algo_sha256": "h"}
    one = {**run_row, "args": ["--num-workers", "1", "--total-timesteps", "9"]}
    floor = {"pairs": {"ddpg": {"ours_command": "dqn_ddpg.py --algo ddpg", "ours_sha256": "h"},
                       "old": {"ours_command": "ppo.py"}}}  # no hash: no row
    rows = [r for name, doc in (("a3c_2", run_row), ("compare_a3c", pair), ("a3c_1", one),
                                ("speed_floor", floor), ("study", {"rows": []}))
            for r in sb.rows_of(f"/r/{name}.json", doc)]
    assert [r.label for r in rows] == ["a3c_2", "compare_a3c", "a3c_1", "speed_floor: ddpg"]
    cases = sb.make_cases(rows, scale=1)
    assert [(c.algo, c.flags, c.budget, c.seeds) for c in cases] == [
        ("a3c", ("--env-id", "CartPole-v1", "--num-workers", "1"), 5000, (1, 2, 3)),
        ("dqn_ddpg", ("--algo", "ddpg"), 11_000, (1,))]
    assert [r.label for r in cases[0].rows] == ["a3c_2", "compare_a3c", "a3c_1"]
    assert [bool(sb.one_worker(r)[1]) for r in cases[0].rows] == [True, True, False]
    default = sb.rows_of("/r/a3c_default.json", {**run_row, "args": ["--total-timesteps", "9"]})
    assert sb.one_worker(default[0]) == (("--env-id", "CartPole-v1", "--num-workers", "1"),
                                         sb.A3C_NOTE)  # a3c.py's default: more than one worker
    assert importlib.import_module("a3c").Config.num_workers == sb.A3C_DEFAULT_WORKERS
    assert sb.make_cases(rows[3:], scale=2)[0].budget == 12_000  # the warm-up is not scaled


def test_results_files_are_written_back_as_they_were_plus_the_checks(tmp_path):
    doc = {"algo": "ppo", "eval_return_mean": 1.5, "runs": [{"seed": 1}], "algo_sha256": "h"}
    path = tmp_path / "ppo_x.json"
    path.write_text(json.dumps(doc, indent=1) + "\n")
    docs = sb.load_results(str(tmp_path))
    assert docs[str(path)][1:] == (1, "\n")
    docs[str(path)][0]["behaviour_checks"] = [check("h", "k")]
    sb.write(docs, [str(path)])
    assert path.read_text() == json.dumps({**doc, "behaviour_checks": [check("h", "k")]},
                                          indent=1) + "\n"


# --- end to end, with a toy script in place of an algorithm file --------------------------------

TOY = '''import argparse, json, os, random
p = argparse.ArgumentParser()
for flag in ("--env-id", "--seed", "--total-timesteps", "--run-dir", "{obs_flag}"):
    p.add_argument(flag)
p.add_argument("--quiet", action="store_true")
a = p.parse_args()
rng = random.Random(int(a.seed))
os.makedirs(a.run_dir)
with open(os.path.join(a.run_dir, "progress.csv"), "w") as f:
    f.write("global_step,episode_return,wall_time_s\\n")
    for i in range(5):  # {comment}
        f.write(f"{{10 * i}},{{rng.random() * {scale}}},{{random.random()}}\\n")
print(json.dumps({{"eval_return_mean": rng.random(), "eval_return_std": 0.0}}))
'''


def toy(obs_flag="--normalize-obs", comment="", scale=1.0):
    return TOY.format(obs_flag=obs_flag, comment=comment, scale=scale).encode()


def toy_row(src):
    return sb.Row("toy_row", "/r/toy_row.json", {"algo_sha256": sb.sha256_of(src)},
                  "algo_sha256", "npg_trpo", ("--env-id", "CartPole-v1", "--normalize-obs", "1"))


def test_a_behaviour_keeping_edit_is_identical_and_recorded(capsys):
    base, head = toy(), toy(obs_flag="--norm-obs", comment="renamed, and a comment")
    row = toy_row(base)
    outcome, cases = sb.check_file("npg_trpo", [row], base, head, 1, False, True)
    out = capsys.readouterr().out
    assert outcome == "identical in all 1 cases", out
    assert "(head: --env-id CartPole-v1 --norm-obs 1)" in out and "the same run" in out
    assert sb.record(cases, "abc", sb.sha256_of(base), sb.sha256_of(head), "def", "today") == {
        "/r/toy_row.json"}
    [entry] = row.record["behaviour_checks"]
    assert entry["seeds"] == [1, 2, 3] and entry["cases"] == 1 and entry["head"] == "def"
    assert sb.sha256_of(head) in common.vouched_hashes(row.record["algo_sha256"], row.checks)
    # checked once, the row is current at the head: a second run has nothing to do
    assert sb.check_file("npg_trpo", [row], base, head, 1, False, False) == (
        "no row current at the base and not yet at the head: nothing to run", [])


def test_a_behaviour_changing_edit_is_different_and_not_recorded(capsys):
    base = toy()
    outcome, cases = sb.check_file("npg_trpo", [toy_row(base)], base, toy(scale=2.0), 1, False,
                                   False)
    assert cases == [] and outcome.startswith("DIFFERENT in 1 of 1 cases (rows toy_row)")
    assert "progress.csv row 1 (base / head): episode_return" in capsys.readouterr().out


def test_dqn_ddpg_records_the_rows_of_the_algorithm_whose_cases_were_all_identical():
    """dqn_ddpg.py runs two algorithms: a DQN case that differs leaves DDPG's identical cases
    recorded, and the reverse; a file of one algorithm records nothing where one case differs."""
    def case(flags, label):
        c = sb.Case("dqn_ddpg", flags, 1, (1,))
        c.rows.append(sb.Row(label, f"/r/{label}.json", {}, "algo_sha256", "dqn_ddpg", flags))
        return c
    dqn, double = case((), "dqn_row"), case(("--double",), "double_row")
    ddpg = case(("--env-id", "Pendulum-v1"), "ddpg_row")
    cases = [dqn, ddpg, double]
    assert sb.to_record(cases, ["DIFFERENT", "IDENTICAL", "IDENTICAL"]) == [ddpg]
    assert sb.to_record(cases, ["IDENTICAL", "FAILED", "IDENTICAL"]) == [dqn, double]
    assert sb.to_record(cases, ["IDENTICAL"] * 3) == cases
    assert sb.outcome(cases, ["DIFFERENT", "IDENTICAL", "DIFFERENT"]) == (
        "DIFFERENT in 2 of 3 cases (rows dqn_row, double_row); identical: rows ddpg_row")
    assert sb.outcome(cases, ["DIFFERENT", "DIFFERENT", "IDENTICAL"]).endswith(": nothing recorded")
    ppo = [sb.Case("ppo", (), 1, (1,)), sb.Case("ppo", ("--env-id", "Pendulum-v1"), 1, (1,))]
    assert sb.to_record(ppo, ["IDENTICAL", "DIFFERENT"]) == []


def test_unchanged_stale_and_dry_run_files_run_nothing(capsys):
    base = toy()
    assert sb.check_file("npg_trpo", [toy_row(base)], base, base, 1, False, False) == (
        "unchanged, skipped", [])
    stale = sb.Row("old_row", "/r/old.json", {"algo_sha256": "older"}, "algo_sha256",
                   "npg_trpo", ())
    assert sb.check_file("npg_trpo", [stale], base, toy(comment="x"), 1, False, False) == (
        "no row current at the base and not yet at the head: nothing to run", [])
    assert "already stale at the base" in capsys.readouterr().out
    assert sb.check_file("npg_trpo", [toy_row(base)], base, toy(comment="x"), 1, True, False) == (
        "1 cases (dry run)", [])
