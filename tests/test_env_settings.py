"""Each file's ENV_SETTINGS (#19): the tuned settings of an env id, applied under the flags
given. A flag on the command line always wins, an env without an entry runs on the defaults
and says so once, config.json records where each setting came from, --help lists the table,
and every results row whose command the table shortened makes the Config its full command made.
"""
import dataclasses
import glob
import importlib
import json
import os
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
from common import RESULTS, todays_flags, without_env_settings  # noqa: E402

FILES = ["reinforce", "actor_critic", "gae", "npg_trpo", "ppo", "a3c", "dqn_ddpg"]
TUNED = {"gae": ["CartPole-v1", "Pendulum-v1"], "npg_trpo": ["CartPole-v1", "Pendulum-v1"],
         "ppo": ["CartPole-v1", "Pendulum-v1", "Hopper-v5", "HalfCheetah-v5"],
         "dqn_ddpg": ["CartPole-v1", "Pendulum-v1"]}  # the envs of the results rows


def module(name):
    return importlib.import_module(name)


@pytest.mark.parametrize("name", FILES)
def test_the_table_names_the_envs_of_the_results_and_only_config_fields(name):
    m = module(name)
    assert list(m.ENV_SETTINGS) == TUNED.get(name, ["CartPole-v1"])
    fields = {f.name: f.type for f in dataclasses.fields(m.Config)}
    for env_id, settings in m.ENV_SETTINGS.items():
        for key, value in settings.items():
            assert key in fields and key not in ("env_id", "seed", "run_dir"), (env_id, key)
            assert isinstance(value, fields[key]), (env_id, key, value)
    assert m.ENV_SETTINGS[m.Config.env_id] == {}  # the defaults are the default env's settings


@pytest.mark.parametrize("name", FILES)
def test_the_entry_applies_under_the_flags_given_and_a_flag_given_wins(name):
    m = module(name)
    assert m.configure({}) == m.Config()
    for env_id, settings in m.ENV_SETTINGS.items():
        cfg = m.configure({"env_id": env_id})
        assert cfg == m.Config(env_id=env_id, **settings)
        for key, value in settings.items():  # each setting, given on the command line instead
            other = (not value if isinstance(value, bool) else value * 2)
            assert getattr(m.configure({"env_id": env_id, key: other}), key) == other
    assert m.configure({"env_id": "Acrobot-v1", "seed": 4}) == m.Config(env_id="Acrobot-v1", seed=4)


def test_a_run_records_where_each_setting_came_from(tmp_path, capsys):
    ppo = module("ppo")
    run_dir = tmp_path / "run"
    ppo.main(["--env-id", "Pendulum-v1", "--total-timesteps", "2048", "--num-envs", "2",
              "--eval-episodes", "1", "--run-dir", str(run_dir), "--quiet"])
    config = json.load(open(run_dir / "config.json"))
    table = ppo.ENV_SETTINGS["Pendulum-v1"]
    assert config["num_envs"] == 2 and config["num_steps"] == table["num_steps"] == 512
    assert config["settings_from"] == {
        **{k: "env table" for k in table if k not in ("total_timesteps", "num_envs")},
        "env_id": "command line", "total_timesteps": "command line", "num_envs": "command line",
        "eval_episodes": "command line", "run_dir": "command line", "quiet": "command line"}
    assert "no tuned settings" not in capsys.readouterr().err
    # train() from Python applies no table: its config.json says no setting came from one
    # (nor from the command line of an earlier run that stopped with an error)
    with pytest.raises(SystemExit):
        ppo.main(["--env-id", "Pendulum-v1", "--gamma", "2", "--quiet"])
    ppo.train(ppo.Config(env_id="Pendulum-v1", total_timesteps=256, num_envs=1, num_steps=256,
                         minibatch_size=64, eval_episodes=1, run_dir=str(tmp_path / "py"),
                         quiet=True))
    assert json.load(open(tmp_path / "py" / "config.json"))["settings_from"] == {}


@pytest.mark.parametrize("quiet", [False, True])
def test_an_env_without_an_entry_runs_on_the_defaults_and_says_so_once(tmp_path, capsys, quiet):
    gae = module("gae")
    out = gae.main(["--env-id", "Acrobot-v1", "--total-timesteps", "256", "--eval-episodes", "1",
                    "--run-dir", str(tmp_path / "run")] + ["--quiet"] * quiet)
    err = capsys.readouterr().err
    assert err.count("no tuned settings for Acrobot-v1") == (0 if quiet else 1), err
    assert np.isfinite(out["eval_return_mean"])
    assert json.load(open(tmp_path / "run" / "config.json"))["num_steps"] == gae.Config.num_steps


@pytest.mark.parametrize("name", FILES)
def test_a_bad_env_is_one_line_even_without_an_entry(name, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:  # (not --quiet: no line of ours before it)
        module(name).main(["--env-id", "NoSuchEnv-v0", "--run-dir", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and len(err.splitlines()) == 1, err
    assert not (tmp_path / "run").exists()  # and no run dir made for a run that never started


@pytest.mark.parametrize("name", FILES)
def test_help_lists_the_table(name, capsys):
    m = module(name)
    with pytest.raises(SystemExit):
        m.main(["--help"])
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps the lines
    assert "Tuned settings by --env-id:" in text
    for env_id, settings in m.ENV_SETTINGS.items():
        assert f"'{env_id}': {settings}" in text


def shrunk_rows():
    """(name, algo, env, command as run, command now) of every results row the table shortened."""
    rows = []
    for path in sorted(glob.glob(os.path.join(RESULTS, "*.json"))):
        doc = json.load(open(path))
        name = os.path.basename(path)[:-5]
        if "args_as_run" in doc:
            rows.append((name, doc["algo"], doc["env_id"], doc["args_as_run"], doc["args"]))
        elif "ours_command_as_run" in doc:  # compare.py gives the budget: as a row's args do
            budget = ["--total-timesteps", str(doc["total_timesteps"])]
            rows.append((name, doc["algo"], doc["env_id"],
                         doc["ours_command_as_run"].split()[1:] + budget,
                         doc["ours_command"].split()[1:] + budget))
    return rows


def test_the_shrunk_results_rows_are_the_ones_on_envs_with_tuned_settings():
    names = {row[0] for row in shrunk_rows()}
    # rows run before the table went in (58cc119); gae_pendulum's too until its re-run at 23b1514
    assert {"ppo_pendulum", "ppo_hopper", "ppo_halfcheetah", "compare_ppo_pendulum"} <= names
    assert all(n.endswith(("pendulum", "hopper", "halfcheetah")) or "pendulum_" in n
               for n in names)


def test_a_row_run_since_the_table_ran_the_short_command():
    """A tuned env's row re-run after 58cc119 (npg_trpo's at 8db4f8f) has no command as run to
    keep: the one it ran passes no flag the table sets, so the table gave its settings."""
    rerun = []
    for path in sorted(glob.glob(os.path.join(RESULTS, "*.json"))):
        doc = json.load(open(path))
        algo, env_id = doc.get("algo"), doc.get("env_id")
        if algo not in TUNED or env_id not in TUNED[algo] or not module(algo).ENV_SETTINGS[env_id]:
            continue
        if "args" in doc and "args_as_run" not in doc:
            command = doc["args"]
        elif "ours_command" in doc and "ours_command_as_run" not in doc:
            command = doc["ours_command"].split()[1:]
        else:
            continue
        flags = {"--" + key.replace("_", "-") for key in module(algo).ENV_SETTINGS[env_id]}
        flags.discard("--total-timesteps")  # a row gives its budget
        assert not flags & set(command), (path, command)
        rerun.append(os.path.basename(path)[:-5])
    assert {"npg_trpo_trpo_pendulum", "npg_trpo_npg_pendulum",
            "compare_trpo_pendulum"} <= set(rerun)


@pytest.mark.parametrize("row", shrunk_rows(), ids=lambda row: row[0])
def test_a_shrunk_row_makes_the_config_its_full_command_made(row):
    name, algo, env_id, as_run, now = row
    m = module(algo)
    full = m.Config(**m.parse_args(["--env-id", env_id, *todays_flags(algo, as_run)]))
    assert m.configure(m.parse_args(["--env-id", env_id, *now])) == full
    assert len(now) < len(as_run) and "--total-timesteps" in now  # a row keeps its budget
    assert without_env_settings(algo, env_id, now) == now  # nothing left to shrink
