"""benchmarks/vs_cleanrl.py without CleanRL: its flags make our Configs CleanRL's settings, its
budgets are CleanRL's, a short run cannot overwrite the results file, and its figures and
CleanRL's commit are read as they should be."""
import os
import subprocess
import sys

import gymnasium as gym
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
import vs_cleanrl  # noqa: E402
from common import algorithm_module  # noqa: E402

# CleanRL ppo.py's Args defaults at fe8d8a03 (num_minibatches 4 of num_envs * num_steps = 512),
# as our Config's fields; target_kl None is our 0 (never stop early); clip not annealed.
CLEANRL_PPO = dict(env_id="CartPole-v1", num_envs=4, num_steps=128, minibatch_size=128,
                   update_epochs=4, learning_rate=2.5e-4, anneal_lr=True, gamma=0.99,
                   gae_lambda=0.95, norm_adv=True, objective="clip", clip_eps=0.2,
                   anneal_clip=False, clip_vloss=True, ent_coef=0.01, vf_coef=0.5,
                   max_grad_norm=0.5, target_kl=0.0, hidden_size=64, norm_obs=False)
# CleanRL dqn.py's: start_e, end_e, train_frequency (one gradient step each), target_network_
# frequency; no gradient clipping (ours: a norm no gradient reaches); F.mse_loss.
CLEANRL_DQN = dict(env_id="CartPole-v1", algo="dqn", num_envs=1, learning_rate=2.5e-4,
                   buffer_size=10_000, gamma=0.99, tau=1.0, target_update_interval=500,
                   batch_size=128, exploration_initial_eps=1.0, exploration_final_eps=0.05,
                   exploration_fraction=0.5, learning_starts=10_000, train_freq=10,
                   gradient_steps=1, net_arch="120,84", loss="mse", double=False,
                   dueling=False, prioritized=False)


def config(pair):
    m = algorithm_module(vs_cleanrl.PAIRS[pair]["ours"][:-3])
    cfg = m.configure(m.parse_args(vs_cleanrl.PAIRS[pair]["flags"]))
    return m.resolve(cfg, gym.spaces.Discrete(2)) if pair == "dqn" else cfg


@pytest.mark.parametrize("pair, settings", [("ppo", CLEANRL_PPO), ("dqn", CLEANRL_DQN)])
def test_our_flags_make_cleanrls_settings(pair, settings):
    cfg = config(pair)
    assert {k: getattr(cfg, k) for k in settings} == settings
    if pair == "dqn":
        assert cfg.max_grad_norm == float("inf")  # CleanRL's dqn.py clips no gradient


def test_ppo_runs_cleanrls_whole_iterations_and_dqn_every_step():
    assert vs_cleanrl.PAIRS["ppo"]["budget"](500_000) == 976 * 512  # total // batch iterations
    assert vs_cleanrl.PAIRS["ppo"]["budget"](20_000) == 39 * 512
    assert vs_cleanrl.PAIRS["dqn"]["budget"](20_000) == 20_000


def test_only_the_full_budget_goes_to_the_results_file():
    results = os.path.join(ROOT, "benchmarks", "results", "vs_cleanrl.json")
    assert vs_cleanrl.default_out(500_000) == results
    short = vs_cleanrl.default_out(20_000)
    assert short != results and short.startswith(os.path.join(ROOT, "benchmarks", "out"))


def test_final_return_and_steps_to_target():
    episodes = [(100 * i, 10.0) for i in range(1, 11)] + [(2000 + i, 500.0) for i in range(10)]
    assert vs_cleanrl.final_return(episodes) == 500.0
    assert vs_cleanrl.final_return(episodes[:12]) == pytest.approx((8 * 10 + 2 * 500) / 10)
    # the mean of the last 10 first reaches 475 when 10 of 10 are 500 (9 of 10 give 451)
    assert vs_cleanrl.first_at_target(episodes, 475) == 2009
    assert vs_cleanrl.first_at_target(episodes[:19], 475) is None
    assert vs_cleanrl.final_return([]) is None


def test_cleanrls_commit_from_its_checkout_or_as_given(tmp_path):
    assert vs_cleanrl.cleanrl_commit(str(tmp_path), "abc123") == "abc123"
    with pytest.raises(SystemExit, match="--cleanrl-commit"):
        vs_cleanrl.cleanrl_commit(str(tmp_path))  # not a git checkout
    git = lambda *a: subprocess.run(["git", "-C", str(tmp_path), "-c", "user.name=t", "-c",
                                     "user.email=t@t", *a], check=True, capture_output=True,
                                    text=True).stdout.strip()
    git("init", "-q")
    (tmp_path / "ppo.py").write_text("x = 1\n")
    git("add", "ppo.py")
    git("commit", "-q", "-m", "one")
    head = git("rev-parse", "HEAD")
    (tmp_path / "runs").mkdir()  # an untracked file (its runs/) is not a change of its code
    (tmp_path / "runs" / "events").write_text("")
    assert vs_cleanrl.cleanrl_commit(str(tmp_path)) == head
    (tmp_path / "ppo.py").write_text("x = 2\n")
    assert vs_cleanrl.cleanrl_commit(str(tmp_path)) == head + "+dirty"


def test_relative_paths_still_name_them_from_cleanrls_run_folder(tmp_path, monkeypatch):
    """CleanRL runs with its run folder as the working directory, so the docstring's relative
    --python ../cleanrl-venv/bin/python must be made absolute first; a missing one is an error."""
    class Seen(Exception):
        pass

    def first_pair(pair, args, commit, versions):
        raise Seen(args.python, args.cleanrl)

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(vs_cleanrl, "run_pair", first_pair)
    (tmp_path / "cleanrl").mkdir()
    python = os.path.relpath(sys.executable, tmp_path)
    argv = ["--cleanrl", "cleanrl", "--cleanrl-commit", "fe8d8a03", "--out", "o.json"]
    with pytest.raises(Seen) as seen:
        vs_cleanrl.main([*argv, "--python", python])
    assert seen.value.args == (os.path.abspath(python), str(tmp_path / "cleanrl"))
    with pytest.raises(SystemExit) as error:
        vs_cleanrl.main([*argv, "--python", "no-venv/bin/python"])
    assert error.value.code == 2
