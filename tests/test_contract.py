"""The contract every algorithm file keeps (CONVENTIONS.md sections 1 to 3), checked once for all
seven: the two-part layout with one plumbing section, the outputs of a run, --eval-only, bad
input as one line and exit status 2, Ctrl-C and a plain kill keeping the model and the logs,
and a seed replaying its run.

What is particular to one algorithm (its math, its own flags and errors, a3c's worker
processes) is tested in that file's test_<file>.py.
"""
import ast
import csv
import dataclasses
import importlib
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import time

import gymnasium as gym
import numpy as np
import pytest
import torch

from cli import refused
from envs import EchoActionEnv
from terminal import popen_like_a_terminal

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MARKER = "# === The same in every file"
PROGRESS_HEADER = ["global_step", "episode_return", "episode_length", "wall_time_s"]
SHARED_FLAGS = ["--env-id", "--total-timesteps", "--seed", "--device", "--eval-episodes",
                "--run-dir", "--checkpoint", "--eval-only", "--tensorboard", "--quiet"]
# A run of each file on CartPole-v1 that takes seconds yet finishes episodes and updates.
TINY = {
    "reinforce": ["--total-timesteps", "400", "--num-envs", "2", "--batch-episodes", "2"],
    "actor_critic": ["--total-timesteps", "400", "--num-envs", "2"],
    "gae": ["--total-timesteps", "512", "--num-envs", "2", "--num-steps", "64"],
    "npg_trpo": ["--total-timesteps", "512", "--num-envs", "2", "--num-steps", "128"],
    "ppo": ["--total-timesteps", "512", "--num-envs", "2", "--num-steps", "64",
            "--minibatch-size", "64", "--update-epochs", "2"],
    "a3c": ["--total-timesteps", "400", "--num-workers", "1"],
    "dqn_ddpg": ["--total-timesteps", "300", "--learning-starts", "100", "--train-freq", "50",
                 "--gradient-steps", "2", "--net-arch", "16"],
}
FILES = list(TINY)


def sections(name):
    """(lines above the marker, lines from the marker on) of <name>.py."""
    lines = open(os.path.join(ROOT, f"{name}.py")).read().splitlines()
    cut = [i for i, line in enumerate(lines) if line.startswith(MARKER)]
    assert len(cut) == 1, f"{name}.py needs exactly one line beginning {MARKER!r}"
    return lines[:cut[0]], lines[cut[0]:]


# --- layout -------------------------------------------------------------------------------------

def test_the_plumbing_is_the_same_text_in_every_file_but_the_name():
    first = None
    for name in FILES:
        _, plumbing = sections(name)
        assert f'NAME = "{name}"' in plumbing, f"{name}.py: NAME must be {name!r}"
        text = [line for line in plumbing if line != f'NAME = "{name}"']
        first = first or (name, text)
        differing = [i for i, (a, b) in enumerate(zip(first[1], text)) if a != b]
        assert text == first[1], (f"{name}.py's plumbing differs from {first[0]}.py's at its "
                                  f"line {(differing or [min(len(text), len(first[1]))])[0] + 1}")


@pytest.mark.parametrize("name", FILES)
def test_lecture_part_plumbing_and_train_fit_their_budgets(name):
    lecture, plumbing = sections(name)
    assert len(lecture) <= 400, f"{name}.py: {len(lecture)} lines before the marker"
    assert len(plumbing) <= 180, f"{name}.py: {len(plumbing)} lines from the marker on"
    tree = ast.parse(open(os.path.join(ROOT, f"{name}.py")).read())
    train = next(node for node in tree.body if getattr(node, "name", "") == "train")
    assert train.end_lineno - train.lineno + 1 <= 60, f"{name}.py: train is too long"
    assert train.end_lineno <= len(lecture), "train belongs above the marker"


gym.register("ContractEchoAction-v0", entry_point=EchoActionEnv, max_episode_steps=5,
             kwargs={"low": [-1.0, 0.0], "high": 2.0})


def test_make_env_clips_box_actions_on_their_way_in_for_one_env_and_for_a_vector():
    make_env = importlib.import_module("ppo").make_env  # the plumbing: the same in every file
    far = np.array([-5.0, 5.0], np.float32)
    env, _, act_space = make_env("ContractEchoAction-v0")
    env.reset(seed=0)
    assert env.step(far)[0].tolist() == [-1.0, 2.0] and act_space == env.action_space
    envs, _, act_space = make_env("ContractEchoAction-v0", 3)
    envs.reset(seed=0)
    assert envs.step(np.stack([far, -far, far / 10]))[0].tolist() == [[-1, 2], [2, 0], [-0.5, 0.5]]
    assert act_space == envs.single_action_space  # the space the algorithm sees keeps its bounds
    envs.close()


def test_a_run_flushes_denormals_while_it_trains_and_not_after(tmp_path, monkeypatch):
    ppo = importlib.import_module("ppo")  # the plumbing: the same in every file
    seen, update = [], ppo.ppo_update

    def watched(*args):  # a denormal float32 survives a multiplication only without the flush
        seen.append(float(torch.tensor([1e-40]) * 1.0))
        return update(*args)
    monkeypatch.setattr(ppo, "ppo_update", watched)
    ppo.main([*TINY["ppo"], "--eval-episodes", "1", "--quiet", "--run-dir", str(tmp_path)])
    assert seen and all(x == 0.0 for x in seen)
    assert float(torch.tensor([1e-40]) * 1.0) > 0 and np.float32(1e-40) * np.float32(1) > 0


@pytest.mark.parametrize("name", FILES)
def test_help_names_every_shared_flag(name, capsys):
    with pytest.raises(SystemExit) as exit_:
        importlib.import_module(name).main(["--help"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0
    for flag in SHARED_FLAGS:
        assert flag in out, f"{name}.py --help lacks {flag}"


# --- a run and its outputs ----------------------------------------------------------------------

def run_cli(name, *args, timeout=300):
    proc = subprocess.run([sys.executable, os.path.join(ROOT, f"{name}.py"), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stderr


def read_csv(path, drop=("wall_time_s",)):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    keep = [i for i, column in enumerate(rows[0]) if column not in drop]
    return [[row[i] for i in keep] for row in rows]


RUNS = {}  # file -> (args, result, stderr, run dir) of its tiny run, made once per session


def tiny_run(name, tmp_path_factory):
    if name not in RUNS:
        args = [*TINY[name], "--eval-episodes", "2", "--seed", "3"]
        run_dir = tmp_path_factory.mktemp(name)
        RUNS[name] = (args, *run_cli(name, *args, "--run-dir", str(run_dir)), run_dir)
    return RUNS[name]


@pytest.mark.parametrize("name", FILES)
def test_a_run_writes_its_outputs_replays_with_its_seed_and_eval_only_repeats_it(
        name, tmp_path, tmp_path_factory):
    args, result, err, run = tiny_run(name, tmp_path_factory)
    for key in ("algo", "env_id", "seed", "total_timesteps", "eval_return_mean",
                "eval_return_std", "train_time_s", "sps", "run_dir"):
        assert result[key] is not None, key
    assert result["algo"] == name and result["seed"] == 3 and result["env_id"] == "CartPole-v1"
    assert "step " in err and "steps/s" in err  # the progress line, never `nan`, `n/a` or an
    assert not re.search(r"\bnan\b|n/a|\b\d{7,} s left", err), err  # absurd time left
    assert json.load(open(run / "config.json"))["seed"] == 3
    progress = read_csv(run / "progress.csv", drop=())
    assert progress[0] == PROGRESS_HEADER and len(progress) > 2
    assert all(len(row) == 4 and np.isfinite([float(x) for x in row]).all()
               for row in progress[1:])
    assert (run / "model.pt").exists() and not (run / "model.pt.tmp").exists()
    assert torch.load(run / "model.pt", weights_only=True)["algo"] == name

    again, _ = run_cli(name, *args, "--run-dir", str(tmp_path / "b"), "--quiet")
    for log in ("progress.csv", "updates.csv"):
        if (run / log).exists():
            assert read_csv(run / log) == read_csv(tmp_path / "b" / log), log
    assert again["eval_return_mean"] == result["eval_return_mean"]

    evaluated, _ = run_cli(name, "--eval-only", "--checkpoint", str(run / "model.pt"),
                           "--eval-episodes", "2", "--quiet")
    assert evaluated["eval_only"] is True
    assert (evaluated["eval_return_mean"], evaluated["eval_return_std"]) == \
        (result["eval_return_mean"], result["eval_return_std"])


# --- bad input: one line on stderr, exit status 2, no traceback ---------------------------------

class MultiDiscreteActions(gym.Env):
    """Flat Box observations but MultiDiscrete actions: no file supports those."""
    observation_space = gym.spaces.Box(-1.0, 1.0, (3,))
    action_space = gym.spaces.MultiDiscrete([2, 3])


gym.register("ContractMultiDiscrete-v0", entry_point=MultiDiscreteActions)


def bad_input_cases(tmp_path, name):
    existing_file = tmp_path / "a_file"
    existing_file.write_text("not a directory")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint at all")
    other = "ppo" if name != "ppo" else "gae"
    foreign = tmp_path / "foreign.pt"
    torch.save({"algo": other, "config": {"env_id": "CartPole-v1"}}, foreign)
    return {
        "unknown env": (["--env-id", "NoSuchEnv-v0"], "NoSuchEnv"),
        "non-flat observations": (["--env-id", "Blackjack-v1"], "Blackjack"),
        "unsupported actions": (["--env-id", "ContractMultiDiscrete-v0"], "MultiDiscrete"),
        "gamma out of range": (["--gamma", "1.5"], "--gamma"),
        "no steps": (["--total-timesteps", "0"], "--total-timesteps"),
        "negative seed": (["--seed", "-1"], "--seed"),
        "negative eval episodes": (["--eval-episodes", "-1"], "--eval-episodes"),
        "unknown device": (["--device", "tpu"], "--device"),
        "unknown flag": (["--no-such-flag"], "--no-such-flag"),
        "run dir is a file": (["--run-dir", str(existing_file)], "a_file"),
        "run dir cannot be made": (["--run-dir", "/proc/forbidden/run"], "/proc/forbidden"),
        "eval-only without checkpoint": (["--eval-only"], "--checkpoint"),
        "missing checkpoint": (["--eval-only", "--checkpoint", str(tmp_path / "no.pt")],
                               "no.pt"),
        "not a checkpoint": (["--eval-only", "--checkpoint", str(garbage)], "garbage.pt"),
        "another file's checkpoint": (["--eval-only", "--checkpoint", str(foreign)],
                                      f"{other}.py"),
    }


@pytest.mark.parametrize("name", FILES)
def test_bad_input_is_one_line_and_exit_status_2(name, tmp_path, capsys):
    module = importlib.import_module(name)
    for case, (args, says) in bad_input_cases(tmp_path, name).items():
        with pytest.raises(SystemExit) as exit_:
            module.main([*args, "--quiet", "--run-dir", str(tmp_path / "run")]
                        if "--run-dir" not in args else [*args, "--quiet"])
        err = capsys.readouterr().err
        assert exit_.value.code == 2, f"{name}.py, {case}: exit {exit_.value.code}\n{err}"
        assert len(err.strip().splitlines()) == 1 and err.startswith(f"{name}.py: error:"), \
            f"{name}.py, {case}: {err}"
        assert says in err, f"{name}.py, {case}: {err}"


# where inf means something (no clipping: dqn_ddpg.py's CleanRL settings use it), not an error
INF_MEANS = {"max_grad_norm": ("actor_critic", "gae", "ppo", "a3c", "dqn_ddpg")}


@pytest.mark.parametrize("name", FILES)
def test_no_float_flag_takes_nan_and_only_a_documented_one_takes_inf(name, tmp_path, capsys):
    """inf and NaN pass argparse's float(); each float flag's rule must refuse them in one line
    (an infinite step size or coefficient ends in a NaN policy's traceback or a silent NaN run),
    and a log std whose exp() leaves float32."""
    module = importlib.import_module(name)
    floats = [f.name for f in dataclasses.fields(module.Config) if f.type in (float, "float")]
    cases = [(field, value) for field in floats for value in ("nan", "inf")
             if not (value == "inf" and name in INF_MEANS.get(field, ()))]
    cases += [("init_log_std", "-100")] if "init_log_std" in floats else []
    assert len(cases) >= 6
    for field, value in cases:
        flag = f"--{field.replace('_', '-')}"
        with pytest.raises(SystemExit) as exit_:
            module.main([flag, value, "--quiet", "--run-dir", str(tmp_path / "run")])
        err = capsys.readouterr().err
        assert exit_.value.code == 2 and err.count("\n") == 1 and flag in err, (flag, value, err)
    assert not (tmp_path / "run").exists()  # refused before anything was written


@pytest.mark.skipif(importlib.util.find_spec("tensorboard") is not None,
                    reason="the tensorboard package is installed here")
@pytest.mark.parametrize("name", FILES)
def test_tensorboard_missing_is_one_line_before_the_run_dir_is_touched(name, tmp_path, capsys):
    (run_dir := tmp_path / "run").mkdir()
    (run_dir / "progress.csv").write_text("an earlier run's episodes\n")
    with pytest.raises(SystemExit) as exit_:
        importlib.import_module(name).main(["--tensorboard", "--run-dir", str(run_dir)])
    assert exit_.value.code == 2 and "tensorboard" in capsys.readouterr().err
    assert os.listdir(run_dir) == ["progress.csv"]
    assert (run_dir / "progress.csv").read_text() == "an earlier run's episodes\n"


@pytest.mark.parametrize("name", FILES)
def test_a_default_run_dir_an_earlier_run_holds_is_refused_not_shared(
        name, tmp_path, monkeypatch, capsys):
    """The default dir is named by the second a run starts: two runs of one file, env and seed
    started in the same second would write into one dir, the second overwriting the first's
    logs. The second is refused instead (the next seconds' dirs are taken too, so that the
    test does not depend on when the run starts)."""
    monkeypatch.chdir(tmp_path)
    now = int(time.time())
    taken = [tmp_path / "runs" / f"{name}__CartPole-v1__1__{now + k}" for k in range(3)]
    for run_dir in taken:
        run_dir.mkdir(parents=True)
        (run_dir / "progress.csv").write_text("an earlier run's episodes\n")
    line = refused(importlib.import_module(name).main, [*TINY[name], "--quiet"], capsys)
    assert "exists" in line, line
    for run_dir in taken:
        assert os.listdir(run_dir) == ["progress.csv"]
        assert (run_dir / "progress.csv").read_text() == "an earlier run's episodes\n"


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
@pytest.mark.parametrize("name", FILES)
def test_cuda_where_there_is_none_is_one_line_and_exit_status_2(name, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        importlib.import_module(name).main(["--device", "cuda", "--run-dir", str(tmp_path)])
    assert exit_.value.code == 2 and "CUDA" in capsys.readouterr().err


@pytest.mark.parametrize("name", FILES)
def test_a_checkpoint_of_other_spaces_is_refused_in_one_line(name, tmp_path_factory, capsys):
    run_dir = tiny_run(name, tmp_path_factory)[-1]
    with pytest.raises(SystemExit) as exit_:
        importlib.import_module(name).main(["--eval-only", "--checkpoint",
                                            str(run_dir / "model.pt"), "--env-id",
                                            "MountainCar-v0"])  # 2 observations, not 4
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and len(err.strip().splitlines()) == 1, err


# --- interrupted runs keep the model and complete logs ------------------------------------------

@pytest.mark.parametrize("how", ["Ctrl-C", "kill"])
@pytest.mark.parametrize("name", FILES)
def test_an_interrupted_run_keeps_the_model_and_complete_logs(name, how, tmp_path):
    """Ctrl-C in a terminal sends SIGINT to the whole process group; `kill` sends SIGTERM to
    the process alone (a scheduler's time limit, a container stop)."""
    big = [a if prev != "--total-timesteps" else "100000000"
           for prev, a in zip([None] + TINY[name], TINY[name])]
    proc = popen_like_a_terminal([sys.executable, os.path.join(ROOT, f"{name}.py"), *big,
                                  "--run-dir", str(tmp_path)], cwd=ROOT, text=True,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 start_new_session=True)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and (not (tmp_path / "progress.csv").exists() or len(
                open(tmp_path / "progress.csv").read().splitlines()) < 3):
            time.sleep(0.2)  # two episodes are on disk: training is under way
        if how == "Ctrl-C":
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1].startswith(f"{name}.py: interrupted"), err
    assert "Traceback" not in err and "leaked" not in err, err
    assert (tmp_path / "model.pt").exists() and not (tmp_path / "model.pt.tmp").exists()
    assert torch.load(tmp_path / "model.pt", weights_only=True)["algo"] == name
    progress = read_csv(tmp_path / "progress.csv", drop=())
    assert progress[0] == PROGRESS_HEADER and len(progress) >= 3
    assert all(len(row) == 4 for row in progress[1:])
    if (tmp_path / "updates.csv").exists():
        updates = read_csv(tmp_path / "updates.csv", drop=())
        assert all(len(row) == len(updates[0]) for row in updates[1:])
