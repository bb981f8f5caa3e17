"""reinforce.py: the lecture's claims about the likelihood-ratio estimator, shown exactly.

Expectations are sums over every trajectory of a tiny tabular MDP (tests/support/mdp.py), compared with
the gradient of J(theta) computed in closed form; nothing here is sampled except where a test
says so.
"""
import json

import gymnasium as gym
import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st
from torch.func import vmap

import reinforce
from cli import refused
from envs import register_reach_env
from policies import check_act_draws_as_categorical_does
from mdp import (enumerate_trajectories, exact_grad_J, expected_gradient, gradient_variance,
                 per_trajectory_gradients, policy_probs, random_mdp, random_theta)
from reinforce import (discounted_returns, off_policy_surrogate, optimal_baseline,
                       reinforce_surrogate)

EXACT = 1e-8  # float64 sums of at most 6561 terms: round-off is ~1e-14

mdps = st.tuples(st.integers(2, 3), st.integers(2, 3), st.integers(3, 4), st.integers(0, 10**6))
gammas = st.floats(0.5, 1.0)


def exact_problem(shape, behavior_seed=None):
    S, A, H, seed = shape
    mdp = random_mdp(S, A, H, seed)
    theta = random_theta(mdp, seed)
    probs = policy_probs(theta if behavior_seed is None else random_theta(mdp, behavior_seed))
    return mdp, theta, enumerate_trajectories(mdp, probs)


def surrogate_of(trajs, gamma, **kwargs):
    """The per-trajectory REINFORCE surrogate for all enumerated trajectories: lp [K, H] -> [K]."""
    baseline = kwargs.pop("baseline", None)
    if baseline is None:
        return lambda lp: vmap(lambda l, r: reinforce_surrogate(l, r, gamma, **kwargs))(
            lp, trajs.rewards)
    return lambda lp: vmap(lambda l, r, b: reinforce_surrogate(l, r, gamma, baseline=b, **kwargs))(
        lp, trajs.rewards, baseline)


# --- discounted_returns -------------------------------------------------------------------------

@given(st.integers(1, 12), st.integers(1, 3), gammas, st.floats(-5, 5), st.integers(0, 10**6))
def test_discounted_returns_is_the_definition(T, N, gamma, bootstrap, seed):
    rewards = torch.randn(T, N, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    expected = torch.stack([
        sum(gamma ** (k - t) * rewards[k] for k in range(t, T)) + gamma ** (T - t) * bootstrap
        for t in range(T)])
    got = discounted_returns(rewards, gamma, bootstrap)
    assert got.dtype == rewards.dtype and got.shape == (T, N)
    assert torch.allclose(got, expected, atol=1e-12)
    assert torch.allclose(discounted_returns(rewards[:, 0], gamma, bootstrap), expected[:, 0])


@given(st.integers(1, 12), gammas, st.floats(-5, 5), st.booleans(), st.booleans(),
       st.integers(0, 10**6))
def test_known_returns_give_the_surrogate_that_computes_them(T, gamma, bootstrap, reward_to_go,
                                                             weighting, seed):
    """policy_update hands reinforce_surrogate the G_t it computed for all episodes at once."""
    g = torch.Generator().manual_seed(seed)
    log_probs, rewards, b = (torch.randn(T, generator=g, dtype=torch.float64) for _ in range(3))
    kw = dict(reward_to_go=reward_to_go, discount_weighting=weighting, baseline=b)
    G = discounted_returns(rewards, gamma, bootstrap)
    expected = reinforce_surrogate(log_probs, rewards, gamma, bootstrap=bootstrap, **kw)
    assert reinforce_surrogate(log_probs, rewards, gamma, returns=G, **kw) == expected
    wrong = reinforce_surrogate(log_probs, rewards, gamma, returns=G + 1, **kw)  # the control
    assert wrong != expected  # (by sum_t w_t log pi(a_t|s_t), not 0 for random log_probs)


def test_pure_functions_keep_dtype_and_leave_inputs_alone():
    rewards = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float32)
    log_probs = torch.tensor([-0.1, -0.2, -0.3], requires_grad=True)
    before = rewards.clone()
    assert discounted_returns(rewards, 0.9).dtype == torch.float32
    out = reinforce_surrogate(log_probs, rewards, 0.9, baseline=torch.ones(3))
    assert out.shape == () and out.dtype == torch.float32
    assert torch.equal(rewards, before)


# --- unbiasedness, exactly ----------------------------------------------------------------------

@given(mdps, gammas, st.booleans())
def test_total_and_reward_to_go_estimators_are_unbiased(shape, gamma, reward_to_go):
    mdp, theta, trajs = exact_problem(shape)
    estimate = expected_gradient(theta, trajs, surrogate_of(trajs, gamma, reward_to_go=reward_to_go))
    assert torch.allclose(estimate, exact_grad_J(mdp, theta, gamma), atol=EXACT)


@given(mdps, st.floats(0.5, 0.95))
def test_reward_to_go_without_discount_weighting_is_biased_unless_gamma_is_one(shape, gamma):
    mdp, theta, trajs = exact_problem(shape)
    # sum_t grad log pi_t G_t (no gamma^t) estimates a different vector for gamma < 1 ...
    biased = expected_gradient(theta, trajs, surrogate_of(trajs, gamma, discount_weighting=False))
    assert (biased - exact_grad_J(mdp, theta, gamma)).norm() > 1e-4
    # ... and the right one for gamma = 1, where gamma^t = 1.
    at_one = expected_gradient(theta, trajs, surrogate_of(trajs, 1.0, discount_weighting=False))
    assert torch.allclose(at_one, exact_grad_J(mdp, theta, 1.0), atol=EXACT)


@given(mdps, gammas, st.booleans(), st.integers(0, 10**6), st.floats(-10, 10))
def test_any_state_baseline_leaves_the_expectation_unchanged(shape, gamma, reward_to_go, seed,
                                                             constant):
    mdp, theta, trajs = exact_problem(shape)
    g = torch.Generator().manual_seed(seed)
    table = 5 * torch.randn(mdp.horizon, mdp.n_states, generator=g, dtype=torch.float64)
    b_state = table[torch.arange(mdp.horizon), trajs.states]  # b_t(s_t), any function of t, s_t
    exact = exact_grad_J(mdp, theta, gamma)
    for baseline in (b_state, torch.full_like(b_state, constant)):
        estimate = expected_gradient(theta, trajs, surrogate_of(
            trajs, gamma, reward_to_go=reward_to_go, baseline=baseline))
        assert torch.allclose(estimate, exact, atol=EXACT)


@given(mdps, gammas, st.integers(0, 10**6))
def test_a_baseline_that_depends_on_the_action_biases_the_estimate(shape, gamma, seed):
    """The negative control: b(s_t, a_t) is not allowed, and the test sees it."""
    mdp, theta, trajs = exact_problem(shape)
    table = torch.randn(mdp.n_states, mdp.n_actions, dtype=torch.float64,
                        generator=torch.Generator().manual_seed(seed))
    b_action = table[trajs.states, trajs.actions]
    estimate = expected_gradient(theta, trajs, surrogate_of(trajs, gamma, baseline=b_action))
    assert (estimate - exact_grad_J(mdp, theta, gamma)).norm() > 1e-4


# --- the optimal constant baseline ----------------------------------------------------------------

@given(st.integers(2, 40), st.integers(1, 6), st.integers(0, 10**6), st.booleans())
def test_optimal_baseline_minimises_the_sample_second_moment(N, P, seed, per_component):
    """b* minimises sum_i ||g_i (R_i - b)||^2 (per component: each (g_ij (R_i - b_j))^2)."""
    g = torch.Generator().manual_seed(seed)
    scores = torch.randn(N, P, generator=g, dtype=torch.float64)
    returns = 3 * torch.randn(N, generator=g, dtype=torch.float64) + 2

    def moment(b):
        return ((scores * (returns[:, None] - b)) ** 2).sum(0)  # [P]

    b_star = optimal_baseline(scores, returns, per_component=per_component)
    assert b_star.shape == ((P,) if per_component else ())
    for delta in (-1.0, -1e-3, 1e-3, 1.0):
        if per_component:
            assert (moment(b_star) <= moment(b_star + delta) + 1e-12).all()
        else:
            assert moment(b_star).sum() <= moment(b_star + delta).sum() + 1e-12
    # the closed form the lecture derives
    w = (scores**2).sum(1)
    if not per_component:
        assert torch.allclose(b_star, (w * returns).sum() / w.sum())


@given(mdps, gammas)
def test_optimal_baseline_has_the_least_exact_variance(shape, gamma):
    """Enumerated Var[g(tau)(R(tau) - b)] at b* is at most at b = 0, b = E[R], b* +- 0.1."""
    mdp, theta, trajs = exact_problem(shape)
    discount = gamma ** torch.arange(mdp.horizon, dtype=torch.float64)
    R = (trajs.rewards * discount).sum(1)
    scores = per_trajectory_gradients(theta, trajs, lambda lp: lp.sum(1))  # grad log p(tau)
    b_star = optimal_baseline(scores, R, weights=trajs.prob)

    def variance(b):
        return gradient_variance(theta, trajs, surrogate_of(
            trajs, gamma, reward_to_go=False, baseline=torch.full_like(trajs.rewards, float(b))))

    best = variance(b_star)
    for b in (0.0, trajs.prob @ R, b_star - 0.1, b_star + 0.1):
        assert best <= variance(b) + 1e-12


@given(mdps, gammas)
def test_optimal_baseline_for_reward_to_go_has_the_least_exact_variance(shape, gamma):
    """For sum_t gamma^t grad log pi_t (G_t - b): b* = E<h, f> / E||h||^2 (return_scores)."""
    mdp, theta, trajs = exact_problem(shape)
    discount = gamma ** torch.arange(mdp.horizon, dtype=torch.float64)
    G = torch.stack([discounted_returns(r, gamma) for r in trajs.rewards])  # [K, H]
    h = per_trajectory_gradients(theta, trajs, lambda lp: (discount * lp).sum(1))
    f = per_trajectory_gradients(theta, trajs, lambda lp: (discount * lp * G).sum(1))
    b_star = optimal_baseline(h, None, weights=trajs.prob, return_scores=f)

    def variance(b):
        return gradient_variance(theta, trajs, surrogate_of(
            trajs, gamma, baseline=torch.full_like(trajs.rewards, float(b))))

    best = variance(b_star)
    total_form = optimal_baseline(per_trajectory_gradients(theta, trajs, lambda lp: lp.sum(1)),
                                  G[:, 0], weights=trajs.prob)
    for b in (0.0, trajs.prob @ G[:, 0], total_form, b_star - 0.1, b_star + 0.1):
        assert best <= variance(b) + 1e-12


def test_optimal_baseline_is_the_lecture_formula_written_out():
    """b* = sum_i ||g_i||^2 R_i / sum_i ||g_i||^2, per component b_j = sum_i g_ij^2 R_i /
    sum_i g_ij^2; with return scores f_i, <h_i, f_i> in place of ||g_i||^2 R_i."""
    g = torch.Generator().manual_seed(0)
    scores, returns, f = (torch.randn(*shape, generator=g, dtype=torch.float64)
                          for shape in ((9, 4), (9,), (9, 4)))
    sq = scores**2
    assert torch.allclose(optimal_baseline(scores, returns), sq.sum(1) @ returns / sq.sum())
    assert torch.allclose(optimal_baseline(scores, returns, True),
                          (sq * returns[:, None]).sum(0) / sq.sum(0))
    assert torch.allclose(optimal_baseline(scores, None, return_scores=f),
                          (scores * f).sum() / sq.sum())
    assert torch.allclose(optimal_baseline(scores, None, True, return_scores=f),
                          (scores * f).sum(0) / sq.sum(0))


def test_optimal_baseline_of_zero_scores_is_zero():
    assert optimal_baseline(torch.zeros(3, 2), torch.ones(3)) == 0
    assert torch.equal(optimal_baseline(torch.zeros(3, 2), torch.ones(3), per_component=True),
                       torch.zeros(2))


@pytest.mark.parametrize("space", [gym.spaces.Discrete(2), gym.spaces.Box(-1, 1, (2,))])
def test_per_step_scores_match_one_backward_per_step(space):
    torch.manual_seed(0)
    policy = reinforce.Policy(3, space, 8, -0.5)
    obs = torch.randn(5, 3)
    actions = policy.act(obs)
    scores = reinforce.per_step_scores(policy, obs, actions)
    for t in range(5):
        policy.zero_grad()
        policy(obs[t:t + 1]).log_prob(actions[t:t + 1]).sum().backward()
        direct = torch.cat([p.grad.reshape(-1) for p in policy.parameters()])
        assert torch.allclose(scores[t], direct, atol=1e-6)


# --- off-policy importance sampling ---------------------------------------------------------------

def off_policy_of(theta, trajs, behavior_probs, gamma, mode, **kwargs):
    behavior_log_probs = behavior_probs.log()[trajs.states, trajs.actions]
    return lambda lp: vmap(lambda l, bl, r: off_policy_surrogate(l, bl, r, gamma, mode=mode,
                                                                 **kwargs))(
        lp, behavior_log_probs, trajs.rewards)


@given(st.integers(1, 8), gammas, st.integers(0, 10**6))
def test_off_policy_surrogates_are_the_contract_formulas(T, gamma, seed):
    """Values, not only gradients: the modes differ in variance, which expectations cannot see."""
    g = torch.Generator().manual_seed(seed)
    lp, blp, r = (torch.randn(T, generator=g, dtype=torch.float64) for _ in range(3))
    rho = (lp - blp).exp()
    disc = gamma ** torch.arange(T, dtype=torch.float64)
    q = torch.stack([sum(gamma ** (k - t) * r[k] for k in range(t, T)) for t in range(T)])
    expected = {
        "trajectory": rho.prod() * (disc * r).sum(),
        "per_decision": sum(disc[t] * r[t] * rho[: t + 1].prod() for t in range(T)),
        "first_order": (rho * q).sum(),  # the contract: sum_t rho_t Q_t
    }
    for mode, value in expected.items():
        assert torch.allclose(off_policy_surrogate(lp, blp, r, gamma, mode=mode), value)
    assert torch.allclose(off_policy_surrogate(lp, blp, r, gamma, mode="first_order",
                                               discount_weighting=True), (disc * rho * q).sum())


@given(mdps, gammas, st.sampled_from(["trajectory", "per_decision"]))
def test_importance_sampling_is_unbiased_under_another_behaviour_policy(shape, gamma, mode):
    mdp, theta, _ = exact_problem(shape)
    behavior = policy_probs(random_theta(mdp, shape[3] + 1))
    trajs = enumerate_trajectories(mdp, behavior)  # probabilities under the behaviour policy
    estimate = expected_gradient(theta, trajs, off_policy_of(theta, trajs, behavior, gamma, mode))
    assert torch.allclose(estimate, exact_grad_J(mdp, theta, gamma), atol=EXACT)


@given(mdps, gammas)
def test_first_order_equals_on_policy_when_target_is_behaviour(shape, gamma):
    mdp, theta, trajs = exact_problem(shape)
    for weighting in (True, False):
        first_order = per_trajectory_gradients(theta, trajs, off_policy_of(
            theta, trajs, policy_probs(theta), gamma, "first_order", discount_weighting=weighting))
        on_policy = per_trajectory_gradients(theta, trajs, surrogate_of(
            trajs, gamma, discount_weighting=weighting))
        assert torch.allclose(first_order, on_policy, atol=1e-12)  # trajectory by trajectory


@given(mdps, gammas)
def test_first_order_is_biased_when_target_differs(shape, gamma):
    """It drops the ratio of state distributions: the lecture's approximation, visible here."""
    mdp, theta, _ = exact_problem(shape)
    behavior = policy_probs(random_theta(mdp, shape[3] + 1, scale=2.0))
    trajs = enumerate_trajectories(mdp, behavior)
    estimate = expected_gradient(theta, trajs, off_policy_of(
        theta, trajs, behavior, gamma, "first_order", discount_weighting=True))
    assert (estimate - exact_grad_J(mdp, theta, gamma)).norm() > 1e-5


# --- the rollout: whole episodes, autoreset steps never recorded ----------------------------------

class CountingEnv(gym.Env):
    """obs = [step within the episode]; ends at a random length, terminated or (rarely) cut."""
    observation_space = gym.spaces.Box(-1e6, 1e6, (1,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t, self.length = 0, int(self.np_random.integers(1, 9))
        return np.array([0.0], np.float32), {}

    def step(self, action):
        self.t += 1
        return np.array([self.t], np.float32), 1.0, self.t == self.length, False, {}


def test_collect_episodes_keeps_whole_episodes_and_skips_autoreset_steps():
    gym.register("CountingEnv-v0", entry_point=CountingEnv, max_episode_steps=6)
    envs = gym.make_vec("CountingEnv-v0", num_envs=3, vectorization_mode="sync")
    envs.reset(seed=0)
    policy = reinforce.Policy(1, envs.single_action_space, 8, -0.5)
    episodes, env_steps = reinforce.collect_episodes(envs, envs.single_action_space, policy, 11,
                                                     "cpu")
    assert len(episodes) == 11  # exactly the batch size, fixed before the episodes were played
    assert env_steps % 3 == 0 and env_steps >= sum(len(ep["rewards"]) for ep in episodes)
    assert max(ep["end_step"] for ep in episodes) == env_steps
    for ep in episodes:
        L = len(ep["rewards"])
        # a record that started on an autoreset step would not begin at 0 or would repeat one
        assert [o[0] for o in ep["obs"]] == list(range(L))
        assert ep["final_obs"][0] == L
        assert ep["terminated"] == (L < 6) or L == 6  # length 6 is cut by the time limit
    assert any(not ep["terminated"] for ep in episodes) and any(ep["terminated"] for ep in episodes)


class ConstantValue(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c

    def forward(self, obs):
        return torch.full((obs.shape[0], 1), self.c)


class GradientRecorder:
    def __init__(self, params):
        self.params, self.grads = list(params), []

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        self.grads.append(torch.cat([p.grad.reshape(-1) for p in self.params]))


def test_update_bootstraps_truncated_episodes_only():
    """policy_update's gradient is the surrogate's, with bootstrap V(final obs) iff truncated."""
    torch.manual_seed(0)
    policy = reinforce.Policy(2, gym.spaces.Discrete(2), 8, -0.5)
    c, gamma = 7.0, 0.9
    rng = np.random.default_rng(0)
    episodes = [{"obs": list(rng.normal(size=(L, 2)).astype(np.float32)),
                 "actions": list(rng.integers(0, 2, L)), "rewards": list(rng.normal(size=L)),
                 "terminated": term, "final_obs": np.zeros(2, np.float32)}
                for L, term in ((3, True), (4, False), (2, False))]
    cfg = reinforce.Config(gamma=gamma, max_grad_norm=float("inf"), value_steps=0)
    recorder = GradientRecorder(policy.parameters())
    reinforce.policy_update(policy, ConstantValue(c), recorder, None, episodes, cfg, "cpu")
    surrogates = []
    for ep in episodes:
        obs, actions = torch.tensor(np.array(ep["obs"])), torch.tensor(ep["actions"])
        rewards = torch.tensor(ep["rewards"], dtype=torch.float32)
        surrogates.append(reinforce_surrogate(
            policy(obs).log_prob(actions), rewards, gamma, baseline=c,
            bootstrap=0.0 if ep["terminated"] else c))
    expected = torch.autograd.grad(-torch.stack(surrogates).mean(), list(policy.parameters()))
    assert torch.allclose(recorder.grads[0], torch.cat([g.reshape(-1) for g in expected]),
                          atol=1e-6)


# --- learning ---------------------------------------------------------------------------------------

@pytest.mark.slow
def test_learns_cartpole_far_better_than_random(tmp_path):
    """Random actions score about 22 on CartPole-v1; 100k steps of REINFORCE beat 150."""
    result = reinforce.train(reinforce.Config(total_timesteps=100_000, seed=1, quiet=True,
                                              run_dir=str(tmp_path)))
    assert result["eval_return_mean"] > 150


@pytest.mark.slow
def test_gaussian_policy_learns_a_continuous_task(tmp_path):
    random_return = register_reach_env("ReachEnv-v0")
    result = reinforce.train(reinforce.Config(env_id="ReachEnv-v0", total_timesteps=40_000,
                                              batch_episodes=100, seed=1, quiet=True,
                                              run_dir=str(tmp_path), learning_rate=3e-3))
    # Random actions wander (about -40); steering to 0 from |x| <= 3 costs about -3.
    assert result["eval_return_mean"] > random_return / 2
    assert result["eval_return_mean"] > -12


# --- reinforce.py's own flags ---------------------------------------------------------------------

def run_main(capsys, *args):
    reinforce.main([*args, "--quiet"])
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


@pytest.mark.parametrize("args, message", [
    (["--gamma", "1.5"], "--gamma"),
    (["--learning-rate", "-1"], "--learning-rate"),
    (["--baseline", "median"], "--baseline"),
    (["--ent-coef", "nan"], "--ent-coef"),
    (["--init-log-std", "inf"], "--init-log-std"),
    (["--off-policy-epochs", "2", "--estimator", "total"], "--estimator reward-to-go"),
    (["--off-policy-epochs", "2", "--off-policy-mode", "trajectory"], "--estimator total"),
    (["--off-policy-epochs", "2", "--off-policy-mode", "per_decision", "--baseline", "none",
      "--no-discount-weighting"], "--discount-weighting"),
    (["--off-policy-epochs", "2", "--off-policy-mode", "per_decision"], "--baseline none"),
])
def test_bad_hyperparameters_are_one_line_and_exit_status_2(args, message, tmp_path, capsys):
    run = ["--run-dir", str(tmp_path / "run"), "--quiet"]
    assert message in refused(reinforce.main, args + run, capsys)
    assert not (tmp_path / "run").exists()  # refused before anything ran


def test_the_last_batch_runs_whole_and_the_checkpoint_keeps_v(tmp_path, capsys):
    """Batches are whole episodes, so the run ends past the budget, at the last episode's end;
    model.pt carries V(s) too (benchmarks/reinforce_variance.py reuses it)."""
    result = run_main(capsys, "--total-timesteps", "3000", "--batch-episodes", "10",
                      "--eval-episodes", "1", "--run-dir", str(tmp_path))
    assert result["global_step"] >= 3000
    rows = open(tmp_path / "progress.csv").read().splitlines()[1:]
    assert int(rows[-1].split(",")[0]) == result["global_step"] and len(rows) % 10 == 0
    updates = open(tmp_path / "updates.csv").read().splitlines()[1:]
    assert len(updates) == len(rows) // 10  # one update per batch of 10 episodes
    assert int(updates[-1].split(",")[1]) == result["global_step"]
    ckpt = torch.load(tmp_path / "model.pt", weights_only=True)
    assert ckpt["value"] is not None and ckpt["policy"]


@pytest.mark.parametrize("flags", [
    ["--baseline", "none", "--estimator", "total"],
    ["--baseline", "mean"],
    ["--baseline", "optimal", "--estimator", "total"],
    ["--off-policy-epochs", "3"],
    ["--off-policy-epochs", "2", "--off-policy-mode", "per_decision", "--baseline", "none"],
    ["--off-policy-epochs", "2", "--off-policy-mode", "trajectory", "--baseline", "none",
     "--estimator", "total"],
    ["--env-id", "Pendulum-v1", "--ent-coef", "0.01"],
])
def test_every_variant_trains_and_logs_finite_losses(flags, tmp_path, capsys):
    run_main(capsys, *flags, "--total-timesteps", "1200", "--batch-episodes", "8",
             "--eval-episodes", "1", "--run-dir", str(tmp_path))
    rows = open(tmp_path / "updates.csv").read().splitlines()[1:]
    assert rows and all(np.isfinite(float(x)) for row in rows for x in row.split(","))


def test_act_draws_as_categorical_does_and_greedy_is_argmax():
    check_act_draws_as_categorical_does(reinforce)
