"""gae.py: compute_gae against its definitions, and GAE's bias shown exactly on a tabular MDP.

The expectations are sums over every trajectory of a tiny MDP (tests/support/mdp.py), compared
with the exact gradient of J(theta); nothing is sampled there. The rest checks the rollout
(NEXT_STEP autoreset steps never enter a batch, truncation bootstrapped from V(final
observation)), the observation statistics, gae.py's own flags, and learning. The contract all
files share (outputs, --eval-only, bad input, interrupts) is tests/test_contract.py's.
"""
import csv
import json

import gymnasium as gym
import numpy as np
import pytest
import torch
import torch.nn as nn
from hypothesis import given, strategies as st

import gae
from gae import compute_gae
from cli import refused
from policies import check_act_draws_as_categorical_does
from mdp import (enumerate_trajectories, exact_grad_J, exact_values, expected_gradient,
                 gradient_variance, policy_probs, random_mdp, random_theta)
from envs import CARTPOLE_RANDOM_BEST_MEAN_OF_10, best_mean_return, register_reach_env

EXACT = 1e-8  # float64 sums of at most 6561 terms: round-off is ~1e-14

mdps = st.tuples(st.integers(2, 3), st.integers(2, 3), st.integers(3, 4), st.integers(0, 10**6))
gammas = st.floats(0.5, 1.0)
lams = st.floats(0.0, 1.0)
rollouts = st.tuples(st.integers(1, 12), st.integers(1, 3), st.floats(0.0, 0.5),
                     st.integers(0, 10**6))


def random_rollout(T, N, p_end, seed):
    """Random rewards and episode ends, with values as a real rollout has them: next_values[t]
    is V(s_{t+1}) = values[t+1] inside an episode, and V(final obs), another state, at its end."""
    g = torch.Generator().manual_seed(seed)
    rand = lambda: torch.rand(T, N, generator=g, dtype=torch.float64)
    rewards = torch.randn(T, N, generator=g, dtype=torch.float64)
    episode_end = rand() < p_end
    terminated = episode_end & (rand() < 0.5)  # the other ends are truncations
    state_values = torch.randn(T + 1, N, generator=g, dtype=torch.float64)
    final_values = torch.randn(T, N, generator=g, dtype=torch.float64)
    next_values = torch.where(episode_end, final_values, state_values[1:])
    return rewards, state_values[:-1], next_values, terminated, episode_end


def last_step(episode_end, t):
    """The last step of the segment that holds step t: its episode's end or the rollout's."""
    T = episode_end.shape[0]
    return next((k for k in range(t, T) if episode_end[k]), T - 1)


# --- compute_gae against the direct definitions ---------------------------------------------------

@given(rollouts, gammas)
def test_lambda_zero_is_the_td_residual(rollout, gamma):
    rewards, values, next_values, terminated, episode_end = random_rollout(*rollout)
    advantages, returns = compute_gae(rewards, values, next_values, terminated, episode_end,
                                      gamma, 0.0)
    # delta_t = r_t + gamma V(s_{t+1}) - V(s_t), and V(terminal) = 0: truncation is bootstrapped
    delta = rewards + gamma * torch.where(terminated, 0.0, next_values) - values
    assert torch.allclose(advantages, delta, atol=1e-12)
    assert torch.allclose(returns, delta + values, atol=1e-12)


@given(rollouts, gammas)
def test_lambda_one_is_the_discounted_return_minus_v(rollout, gamma):
    rewards, values, next_values, terminated, episode_end = random_rollout(*rollout)
    T, N = rewards.shape
    advantages, returns = compute_gae(rewards, values, next_values, terminated, episode_end,
                                      gamma, 1.0)
    for n in range(N):
        for t in range(T):
            e = last_step(episode_end[:, n], t)
            # Monte Carlo to the segment's end, bootstrapped only if it was not a termination
            bootstrap = 0.0 if terminated[e, n] else next_values[e, n]
            G = sum(gamma ** (k - t) * rewards[k, n] for k in range(t, e + 1)) \
                + gamma ** (e + 1 - t) * bootstrap
            assert abs(advantages[t, n] - (G - values[t, n])) < 1e-10
            assert abs(returns[t, n] - G) < 1e-10


@given(rollouts, gammas, lams)
def test_any_lambda_is_the_discounted_sum_of_td_residuals(rollout, gamma, lam):
    rewards, values, next_values, terminated, episode_end = random_rollout(*rollout)
    T, N = rewards.shape
    advantages, _ = compute_gae(rewards, values, next_values, terminated, episode_end, gamma, lam)
    delta = rewards + gamma * torch.where(terminated, 0.0, next_values) - values
    for n in range(N):
        for t in range(T):
            e = last_step(episode_end[:, n], t)
            expected = sum((gamma * lam) ** (k - t) * delta[k, n] for k in range(t, e + 1))
            assert abs(advantages[t, n] - expected) < 1e-10


@given(st.integers(1, 10), gammas, lams, st.integers(0, 10**6))
def test_gae_is_the_lambda_average_of_n_step_advantages(T, gamma, lam, seed):
    """One episode of T steps that terminates: A^GAE = (1 - lam) sum_n lam^(n-1) A^(n)."""
    g = torch.Generator().manual_seed(seed)
    rewards = torch.randn(T, generator=g, dtype=torch.float64)
    V = torch.cat([torch.randn(T, generator=g, dtype=torch.float64),
                   torch.zeros(1, dtype=torch.float64)])  # V(s_T) = 0: s_T is terminal
    terminated = torch.arange(T) == T - 1
    advantages, _ = compute_gae(rewards, V[:-1], V[1:] + 7.0 * terminated, terminated,
                                terminated, gamma, lam)  # the 7 at the terminal must be ignored

    def n_step(t, n):  # A^(n)_t; past the episode's end every A^(n) is the Monte Carlo one
        m = min(n, T - t)
        return sum(gamma**k * rewards[t + k] for k in range(m)) + gamma**m * V[t + m] - V[t]

    for t in range(T):
        L = T - t  # the weights of n >= L sum to (1 - lam) sum_{n>=L} lam^(n-1) = lam^(L-1)
        expected = (1 - lam) * sum(lam ** (n - 1) * n_step(t, n) for n in range(1, L)) \
            + lam ** (L - 1) * n_step(t, L)
        assert abs(advantages[t] - expected) < 1e-10


@given(rollouts, gammas, lams)
def test_batched_equals_per_env_and_keeps_dtype_and_inputs(rollout, gamma, lam):
    inputs = [x.float() if x.is_floating_point() else x for x in random_rollout(*rollout)]
    before = [x.clone() for x in inputs]
    advantages, returns = compute_gae(*inputs, gamma, lam)
    assert advantages.dtype == returns.dtype == torch.float32
    assert advantages.shape == returns.shape == inputs[0].shape
    assert all(torch.equal(x, y) for x, y in zip(inputs, before))  # no in-place change
    for n in range(inputs[0].shape[1]):
        column = compute_gae(*[x[:, n] for x in inputs], gamma, lam)
        assert torch.allclose(column[0], advantages[:, n]) and column[0].shape == (len(inputs[0]),)
        assert torch.allclose(column[1], returns[:, n])
    as_floats = compute_gae(*inputs[:3], inputs[3].float(), inputs[4].float(), gamma, lam)
    assert torch.allclose(as_floats[0], advantages)  # 0/1 float masks mean the same as bools


# --- bias, exactly: sum over every trajectory of a tabular MDP ------------------------------------

def gae_gradient(mdp, theta, gamma, lam, V):
    """E[sum_t gamma^t grad log pi(a_t|s_t) A^GAE_t] with the critic V [H+1, S], exactly; and
    the enumerated variance of the one-trajectory estimate."""
    trajs = enumerate_trajectories(mdp, policy_probs(theta))
    values, next_values = trajs.values(V)  # [K, H] each
    terminated = trajs.terminated()
    advantages, _ = compute_gae(trajs.rewards.T, values.T, next_values.T, terminated.T,
                                terminated.T, gamma, lam)  # K trajectories as [H, K] envs
    discount = gamma ** torch.arange(mdp.horizon, dtype=torch.float64)
    surrogate = lambda lp: (discount * lp * advantages.T).sum(1)
    return (expected_gradient(theta, trajs, surrogate),
            gradient_variance(theta, trajs, surrogate))


@given(mdps, gammas, lams)
def test_exact_v_makes_every_lambda_unbiased(shape, gamma, lam):
    S, A, H, seed = shape
    mdp = random_mdp(S, A, H, seed)
    theta = random_theta(mdp, seed)
    V, _ = exact_values(mdp, policy_probs(theta), gamma)
    estimate, _ = gae_gradient(mdp, theta, gamma, lam, V)
    assert torch.allclose(estimate, exact_grad_J(mdp, theta, gamma), atol=EXACT)


@given(mdps, gammas, st.floats(0.0, 0.9), st.integers(0, 10**6))
def test_wrong_v_is_unbiased_only_for_lambda_one(shape, gamma, lam, seed):
    """The negative control: a perturbed critic biases A^GAE for lam < 1, never for lam = 1,
    where A_t = G_t - V(s_t) and V is a mere baseline."""
    S, A, H, mdp_seed = shape
    mdp = random_mdp(S, A, H, mdp_seed)
    theta = random_theta(mdp, mdp_seed)
    V, _ = exact_values(mdp, policy_probs(theta), gamma)
    noise = torch.randn(V.shape, generator=torch.Generator().manual_seed(seed), dtype=V.dtype)
    wrong_V = V + noise
    exact = exact_grad_J(mdp, theta, gamma)
    unbiased, _ = gae_gradient(mdp, theta, gamma, 1.0, wrong_V)
    assert torch.allclose(unbiased, exact, atol=EXACT)
    biased, _ = gae_gradient(mdp, theta, gamma, lam, wrong_V)
    assert (biased - exact).norm() > 1e-4


# --- the rollout: autoreset steps, truncation, observation statistics -----------------------------

class CountingEnv(gym.Env):
    """obs = [steps into the episode]; reward = that count after the step (>= 1, where an
    autoreset step gives 0); action 1 terminates once 3 steps are done; a time limit cuts at 5."""
    observation_space = gym.spaces.Box(0, 10, (1,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.array([0.0], np.float32), {}

    def step(self, action):
        self.t += 1
        return np.array([self.t], np.float32), float(self.t), bool(action == 1 and self.t >= 3), \
            False, {}


def test_rollout_masks_autoreset_steps_and_bootstraps_from_the_final_observation():
    gym.register("GaeCountingEnv-v0", entry_point=CountingEnv, max_episode_steps=5)
    envs, _, act_space = gae.make_env("GaeCountingEnv-v0", num_envs=3)
    torch.manual_seed(0)
    policy = gae.Policy(1, act_space, 8, -0.5)
    value_net = nn.Linear(1, 1)  # V(obs) = 10 obs + 1: every count has its own value
    nn.init.constant_(value_net.weight, 10.0)
    nn.init.constant_(value_net.bias, 1.0)
    first_obs, _ = envs.reset(seed=0)
    state = {"obs": first_obs, "resetting": np.zeros(3, dtype=bool), "ep_return": np.zeros(3),
             "ep_length": np.zeros(3, dtype=int)}
    previous_end = torch.zeros(3, dtype=torch.bool)
    ends = {"terminated": 0, "truncated": 0}
    for _ in range(2):  # the second rollout carries on from the first one's state
        batch, episodes = gae.collect_rollout(envs, policy, value_net, nn.Identity(), state, 20,
                                              "cpu")
        valid, obs, rewards = batch["valid"], batch["obs"][..., 0], batch["rewards"]
        # the step after an episode's end, and only that one, is gymnasium's reset step
        assert torch.equal(valid, ~torch.cat([previous_end[None], batch["episode_end"][:-1]]))
        assert (rewards[~valid] == 0).all() and (rewards[valid] == obs[valid] + 1).all()
        # V(s_{t+1}) of the true next state: at an episode's end, its final observation
        assert torch.equal(batch["next_values"][valid], 10 * (obs[valid] + 1) + 1)
        assert torch.equal(batch["values"], 10 * obs + 1)
        terminated, ended = batch["terminated"][valid], batch["episode_end"][valid]
        truncated = ended & ~terminated
        assert torch.equal(terminated, (batch["actions"][valid] == 1) & (obs[valid] + 1 >= 3))
        assert torch.equal(truncated, (obs[valid] + 1 == 5) & ~terminated)
        ends["terminated"] += int(terminated.sum())
        ends["truncated"] += int(truncated.sum())
        lengths = [length for _, _, length in episodes]
        assert len(episodes) == int(ended.sum())
        assert all(ret == length * (length + 1) / 2 for _, ret, length in episodes)
        assert [s for s, _, _ in episodes] == sorted(s for s, _, _ in episodes)
        assert episodes[-1][0] <= int(valid.sum())
        previous_end = batch["episode_end"][-1]
        assert set(lengths) <= {3, 4, 5}
    assert ends["terminated"] > 0 and ends["truncated"] > 0  # both kinds were exercised
    envs.close()


@given(st.lists(st.integers(1, 20), min_size=1, max_size=4), st.integers(0, 10**6))
def test_obs_norm_statistics_are_those_of_all_observations_seen(sizes, seed):
    g = torch.Generator().manual_seed(seed)
    batches = [3 * torch.randn(n, 2, generator=g, dtype=torch.float64) + 5 for n in sizes]
    norm = gae.ObsNorm(2)
    for b in batches:
        norm.update(b)
    everything = torch.cat(batches)
    assert torch.allclose(norm.mean, everything.mean(0), atol=1e-10)
    assert torch.allclose(norm.var, everything.var(0, correction=0), atol=1e-10)
    assert norm.count == len(everything)
    restored = gae.ObsNorm(2)
    restored.load_state_dict(norm.state_dict())  # what the checkpoint carries
    expected = (everything - everything.mean(0)) / (everything.var(0, correction=0) + 1e-8).sqrt()
    assert torch.allclose(restored(everything), expected.clamp(-10, 10), atol=1e-8)


# --- learning ---------------------------------------------------------------------------------------

@pytest.mark.slow
def test_learns_cartpole_far_better_than_random(tmp_path):
    """Random actions never average more than 36 over 10 CartPole-v1 episodes in a row. With
    one policy step per rollout and no step-size decay, the return rises and falls (seeds 1-5
    here ended 30k steps at a greedy return of 156 to 500, and 50k at 119 to 500), so the test
    reads the training curve: every seed's best 10-episode mean was 344 to 473 within 30k."""
    result = gae.train(gae.Config(total_timesteps=30_000, seed=1, quiet=True,
                                  run_dir=str(tmp_path), eval_episodes=5))
    assert best_mean_return(result["run_dir"]) > 3 * CARTPOLE_RANDOM_BEST_MEAN_OF_10


@pytest.mark.slow
def test_gaussian_policy_learns_a_continuous_task(tmp_path):
    """Every episode is cut by the time limit, so every return leans on the bootstrap."""
    random_return = register_reach_env("GaeReachEnv-v0")
    result = gae.train(gae.Config(env_id="GaeReachEnv-v0", total_timesteps=20_000, seed=1,
                                  quiet=True, run_dir=str(tmp_path), norm_obs=True))
    # Random actions wander (about -30); steering to 0 from |x| <= 3 costs at most about -6.
    assert result["eval_return_mean"] > random_return / 2
    assert result["eval_return_mean"] > -12


# --- gae.py's own flags ---------------------------------------------------------------------------

def run_main(capsys, *args):
    """main() in-process: (exit status, stdout, stderr)."""
    try:
        gae.main(list(args))
        code = 0
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("args", [["--gae-lambda", "1.5"], ["--gae-lambda", "-0.1"],
                                  ["--num-steps", "0"], ["--value-epochs", "-1"],
                                  ["--value-minibatches", "0"], ["--value-learning-rate", "0"],
                                  ["--max-grad-norm", "0"], ["--ent-coef", "nan"],
                                  ["--gae-lambda", "high"]])  # the last: argparse's own error
def test_out_of_range_hyperparameters_are_one_line_and_exit_status_2(args, tmp_path, capsys):
    run = ["--run-dir", str(tmp_path / "run"), "--quiet"]
    assert args[0] in refused(gae.main, args + run, capsys)
    assert not (tmp_path / "run").exists()  # refused before anything was written


def test_norm_obs_statistics_are_saved_and_eval_only_reproduces_the_evaluation(tmp_path, capsys):
    """--norm-obs on a Box-action env: the checkpoint carries the statistics the policy saw."""
    run_dir = tmp_path / "run"
    code, out, err = run_main(capsys, "--env-id", "Pendulum-v1", "--norm-obs",
                              "--total-timesteps", "1000", "--num-envs", "2", "--num-steps",
                              "100", "--eval-episodes", "2", "--run-dir", str(run_dir), "--quiet")
    assert code == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert 1000 <= result["global_step"] < 1000 + 2  # the last rollout is cut to fit
    assert result["gae_lambda"] == 0.95
    # the statistics kept: the N first observations, then every valid step's
    ckpt = torch.load(run_dir / "model.pt", weights_only=True)
    assert ckpt["obs_norm"]["count"] == result["global_step"] + 2
    for flag in ([], ["--no-norm-obs"]):  # the policy saw normalised inputs: a flag cannot undo it
        code, out, err = run_main(capsys, "--eval-only", "--checkpoint", str(run_dir / "model.pt"),
                                  *flag)
        replay = json.loads(out.strip().splitlines()[-1])
        assert code == 0 and (replay["eval_return_mean"], replay["eval_return_std"]) == \
            (result["eval_return_mean"], result["eval_return_std"]), (flag, err)


@pytest.mark.parametrize("anneal", [False, True])
def test_step_sizes_decay_linearly_to_zero_with_anneal_lr(anneal, tmp_path, capsys):
    """--anneal-lr: the k-th update uses lr (1 - steps before it / total); without it, lr."""
    code, _, _ = run_main(capsys, "--total-timesteps", "640", "--num-envs", "2", "--num-steps",
                          "32", "--learning-rate", "0.002", "--eval-episodes", "0", "--quiet",
                          "--run-dir", str(tmp_path / "run"), *(["--anneal-lr"] if anneal else []))
    assert code == 0
    rows = list(csv.DictReader(open(tmp_path / "run" / "updates.csv")))
    steps = np.array([int(r["global_step"]) for r in rows])
    before = np.r_[0, steps[:-1]]  # env steps taken before each update's rollout
    expected = 0.002 * (1 - before / 640) if anneal else np.full(len(rows), 0.002)
    assert np.allclose([float(r["learning_rate"]) for r in rows], expected, rtol=1e-5)
    assert len(rows) >= 10 and (not anneal or float(rows[-1]["learning_rate"]) < 0.0002)
    # without --norm-obs the statistics stay as they were made (and unused)
    assert torch.load(tmp_path / "run" / "model.pt", weights_only=True)["obs_norm"]["count"] == 0


def test_act_draws_as_categorical_does_and_greedy_is_argmax():
    check_act_draws_as_categorical_does(gae)
