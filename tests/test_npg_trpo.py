"""Tests of npg_trpo.py, derived from the lecture's math: CG, the Fisher-vector product, the
natural step, the TRPO line search, parametrisation invariance, GAE, the SAME_STEP rollout and
what npg_trpo.py adds to the shared command line (its flags, its logs, its observation statistics).
The shared plumbing (exit codes, run dirs, checkpoints, Ctrl-C) is tested in test_contract.py."""
import copy
import json
import os
import warnings
from fractions import Fraction

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.vector import AutoresetMode
from hypothesis import given, strategies as st
from torch.func import functional_call
from torch.nn.utils import parameters_to_vector

import npg_trpo as nt
from cli import refused
from policies import check_act_draws_as_categorical_does
from mdp import (enumerate_trajectories, exact_grad_J, exact_values, expected_gradient,
                 policy_probs, random_mdp, random_theta)

F64 = torch.float64


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """As train() does: on 2 shared cores, a second torch thread only slows these small ops."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def random_spd_exact(n, scale_digits, seed):
    """A = S (B^T B + I) S and b, with small random integers: exact as Fractions. The diagonal
    S = diag(1 .. 10^scale_digits) sets the conditioning (up to about 10^(2 scale_digits))."""
    rng = np.random.default_rng(seed)
    B = rng.integers(-3, 4, (n, n))
    S = np.diag(10 ** rng.integers(0, scale_digits + 1, n))
    A = S @ (B.T @ B + np.eye(n, dtype=np.int64)) @ S
    b = rng.integers(-5, 6, n)
    if not b.any():
        b[0] = 1
    frac = np.vectorize(Fraction, otypes=[object])
    return frac(A), frac(b)


def solve_exact(A, b):
    """A^-1 b in rational arithmetic, by Gauss-Jordan elimination (A is SPD: no pivoting)."""
    M = np.concatenate([A, b[:, None]], 1)
    for i in range(len(b)):
        M[i] = M[i] / M[i, i]
        for j in range(len(b)):
            if j != i:
                M[j] = M[j] - M[j, i] * M[i]
    return M[:, -1]


spd_cases = st.tuples(st.integers(1, 6), st.integers(0, 3), st.integers(0, 10**6))


@given(spd_cases)
def test_conjugate_gradient_solves_exactly_after_n_iterations(case):
    """In exact (rational) arithmetic, not float64: in floating point, CG loses the
    A-conjugacy of its directions and needs more than n steps once A is ill-conditioned."""
    n, scale_digits, seed = case
    A, b = random_spd_exact(n, scale_digits, seed)
    x = nt.conjugate_gradient(lambda v: A @ v, b, iters=n, residual_tol=0)
    assert (x == solve_exact(A, b)).all()


@given(spd_cases, st.integers(1, 5))
def test_conjugate_gradient_minimises_quadratic_over_krylov_subspace(case, k):
    n, scale_digits, seed = case
    n = max(n, k + 1)  # k < n: the subspace is a proper one
    A, b = random_spd_exact(n, scale_digits, seed)
    K = np.stack([np.linalg.matrix_power(A, j) @ b for j in range(k)], 1)  # [n, k]
    # argmin over x = K c of 0.5 x^T A x - b^T x: (K^T A K) c = K^T b
    x_krylov = K @ solve_exact(K.T @ A @ K, K.T @ b)
    x = nt.conjugate_gradient(lambda v: A @ v, b, iters=k, residual_tol=0)
    assert (x == x_krylov).all()


def test_conjugate_gradient_on_tensors_keeps_dtype_leaves_b_and_stops_at_tolerance():
    g = torch.Generator().manual_seed(0)
    Q, _ = torch.linalg.qr(torch.randn(6, 6, generator=g, dtype=F64))
    A = Q @ torch.diag(torch.linspace(1.0, 2.0, 6, dtype=F64)) @ Q.T  # cond 2: no round-off
    b = torch.randn(6, generator=g, dtype=F64)
    b_before = b.clone()
    x = nt.conjugate_gradient(lambda v: A @ v, b, iters=6, residual_tol=0.0)
    assert x.dtype == F64 and torch.equal(b, b_before)
    assert torch.allclose(x, torch.linalg.solve(A, b), rtol=0, atol=1e-12)
    calls = []
    nt.conjugate_gradient(lambda v: calls.append(1) or A @ v, b, iters=6, residual_tol=1e300)
    assert calls == []  # ||b||^2 is below the tolerance: x = 0 with no product at all


def small_policy(discrete, seed=0):
    torch.manual_seed(seed)
    space = gym.spaces.Discrete(3) if discrete else gym.spaces.Box(-1, 1, (2,))
    policy = nt.Policy(3, space, hidden=6, init_log_std=-0.3).double()
    if not discrete:  # a log std that is not the same in every dimension
        policy.log_std.data = torch.tensor([-0.3, 0.4], dtype=F64)
    obs = torch.randn(16, 3, generator=torch.Generator().manual_seed(seed + 1), dtype=F64)
    return policy, obs


def flat_function(policy, fn):
    """theta -> fn(pi), where pi(obs) is the policy's distribution at flat parameters theta."""
    shapes = [(name, p.shape, p.numel()) for name, p in policy.named_parameters()]

    def f(theta):
        params, i = {}, 0
        for name, shape, size in shapes:
            params[name] = theta[i:i + size].reshape(shape)
            i += size
        return fn(lambda obs: functional_call(policy, params, (obs,)))
    return f


@pytest.mark.parametrize("discrete", [True, False])
@pytest.mark.parametrize("damping", [0.0, 0.3])
def test_fisher_vector_product_is_hessian_of_mean_kl_times_v(discrete, damping):
    policy, obs = small_policy(discrete)
    theta_old = parameters_to_vector(policy.parameters()).detach()
    with torch.no_grad():
        old = policy(obs)
    mean_kl = flat_function(policy, lambda pi: torch.distributions.kl_divergence(
        old, pi(obs)).mean())
    H = torch.autograd.functional.hessian(mean_kl, theta_old)
    v = torch.randn(theta_old.shape, generator=torch.Generator().manual_seed(3), dtype=F64)
    v_before = v.clone()
    Fv = nt.fisher_vector_product(policy, obs, v, damping)
    assert Fv.dtype == F64 and torch.equal(v, v_before)
    assert torch.allclose(Fv, H @ v + damping * v, rtol=0, atol=1e-10)
    # trpo_step's way: grad KL built once, with its graph, and reused by every product
    kl = torch.distributions.kl_divergence(old, policy(obs)).mean()
    kl_grad = parameters_to_vector(torch.autograd.grad(kl, list(policy.parameters()),
                                                       create_graph=True))
    for u in (v, -2 * v + 1):  # the graph outlives the first product
        Fu = nt.fisher_vector_product(policy, obs, u, damping, kl_grad=kl_grad)
        assert torch.allclose(Fu, H @ u + damping * u, rtol=0, atol=1e-10)


@pytest.mark.parametrize("discrete", [True, False])
@pytest.mark.parametrize("damping", [0.0, 0.3])
def test_fisher_vector_product_is_explicit_fisher_times_v(discrete, damping):
    """F = mean_s E_a[grad log pi grad log pi^T]: summed over actions (categorical) or, for the
    Gaussian, in closed form: the Fisher of N(mu, sigma) in (mu, log sigma) is diag(1/sigma^2, 2),
    so F = mean_s J_mu^T diag(1/sigma^2) J_mu on the mean's parameters and 2 I on log sigma."""
    policy, obs = small_policy(discrete)
    theta = parameters_to_vector(policy.parameters()).detach()
    P = theta.numel()
    if discrete:
        log_pi = flat_function(policy, lambda pi: pi(obs).logits)  # log pi(a|s), [S, A]
        scores = torch.autograd.functional.jacobian(log_pi, theta)  # [S, A, P]
        probs = log_pi(theta).exp()
        F = torch.einsum("sa,sap,saq->pq", probs, scores, scores) / len(obs)
    else:
        mean = flat_function(policy, lambda pi: pi(obs).mean)
        J = torch.autograd.functional.jacobian(mean, theta)  # [S, 2, P]
        inv_var = (-2 * policy.log_std.detach()).exp()
        F = torch.einsum("sip,i,siq->pq", J, inv_var, J) / len(obs)
        F[:2, :2] += 2 * torch.eye(2, dtype=F64)  # log_std comes first in parameters()
    v = torch.randn(P, generator=torch.Generator().manual_seed(4), dtype=F64)
    Fv = nt.fisher_vector_product(policy, obs, v, damping)
    assert torch.allclose(Fv, F @ v + damping * v, rtol=0, atol=1e-10)


def fisher_matrix(policy, obs, damping=0.0):
    P = sum(p.numel() for p in policy.parameters())
    return torch.stack([nt.fisher_vector_product(policy, obs, e, damping)
                        for e in torch.eye(P, dtype=F64)], 1)


@given(st.integers(1, 20), st.floats(0.0, 4.0), st.floats(1e-4, 1.0), st.integers(0, 10**6))
def test_natural_step_lies_on_the_quadratic_trust_region(n, log10_cond, max_kl, seed):
    """0.5 s^T F s = delta for any SPD F, with F^-1 g from a backward-stable solve: its round-off
    in s^T F s is about eps cond(F) <= 1e-12 relative for cond <= 1e4, far below 1e-10."""
    g = torch.Generator().manual_seed(seed)
    Q, _ = torch.linalg.qr(torch.randn(n, n, generator=g, dtype=F64))
    F = Q @ torch.diag(10 ** (log10_cond * torch.rand(n, generator=g, dtype=F64))) @ Q.T
    grad = torch.randn(n, generator=g, dtype=F64)
    Finv_g = torch.linalg.solve(F, grad)
    s = nt.natural_step(grad, Finv_g, max_kl)
    assert s.dtype == F64
    assert abs(0.5 * s @ F @ s - max_kl) <= 1e-10 * max_kl  # 0.5 s^T F s = delta
    assert torch.allclose(s / s.norm(), Finv_g / Finv_g.norm(), rtol=0, atol=1e-12)


def cartpole_batch(seed=0, num_steps=256):
    """A real batch: 2 CartPole envs, a fresh policy, GAE with a fresh value net, normalised."""
    torch.manual_seed(seed)
    envs, _, act_space = nt.make_env("CartPole-v1", 2, same_step=True)
    obs, _ = envs.reset(seed=seed)
    policy, value_net = nt.Policy(4, act_space, 64, 0.0), nt.mlp(4, 1, 64)
    batch, _, _ = nt.collect_rollout(envs, obs, policy, value_net, num_steps, act_space, None,
                                     "cpu")
    envs.close()
    adv, _ = nt.compute_gae(batch["rewards"], batch["values"], batch["next_values"],
                            batch["terminated"], batch["episode_end"], 0.99, 0.98)
    adv = adv.reshape(-1)
    return policy, batch["obs"].reshape(-1, 4), batch["actions"].reshape(-1), \
        (adv - adv.mean()) / adv.std()


def surrogate_and_kl(old_policy, policy, obs, actions, advantages):
    """Measured independently of trpo_step: L = mean rho A, and mean KL(pi_old || pi_new)."""
    with torch.no_grad():
        old, new = old_policy(obs), policy(obs)
        L = ((new.log_prob(actions) - old.log_prob(actions)).exp() * advantages).mean()
        return L.item(), torch.distributions.kl_divergence(old, new).mean().item()


@pytest.mark.parametrize("seed, damping, max_kl", [
    (2, 0.0, 0.01),  # the full step improves L but lands at 8.5 delta: only the KL test stops it
    (1, 1e-3, 0.05),  # the first 4 candidates lower L, the 4th inside the region: L test stops it
])
def test_trpo_line_search_keeps_kl_and_improves_where_npg_does_not(seed, damping, max_kl):
    """On these real batches the full natural step leaves the trust region or lowers the
    surrogate (the quadratic model is wrong that far out); TRPO backtracks to a step that does
    neither. A line search checking only one of the two conditions fails one of the cases."""
    policy, obs, actions, advantages = cartpole_batch(seed)
    L_old = advantages.mean().item()
    kwargs = dict(max_kl=max_kl, damping=damping, cg_iters=10, backtracks=10, backtrack_ratio=0.8)
    npg, trpo = copy.deepcopy(policy), copy.deepcopy(policy)
    npg_stats = nt.trpo_step(npg, obs, actions, advantages, line_search=False, **kwargs)
    trpo_stats = nt.trpo_step(trpo, obs, actions, advantages, line_search=True, **kwargs)
    L_npg, kl_npg = surrogate_and_kl(policy, npg, obs, actions, advantages)
    L_trpo, kl_trpo = surrogate_and_kl(policy, trpo, obs, actions, advantages)
    assert kl_npg > max_kl or L_npg < L_old  # NPG: the constraint or the improvement is lost
    assert npg_stats["accepted"] == 1 and npg_stats["ls_steps"] == 1
    assert trpo_stats["accepted"] == 1 and 1 < trpo_stats["ls_steps"] <= 10
    assert 0 < kl_trpo <= max_kl and L_trpo > L_old
    # updates.csv gets what was measured
    assert trpo_stats["kl"] == pytest.approx(kl_trpo, rel=1e-5)
    assert trpo_stats["improvement"] == pytest.approx(L_trpo - L_old, rel=1e-4)

    # With a single candidate, the one NPG takes, no step passes: the policy stays, rejected.
    stuck = copy.deepcopy(policy)
    stats = nt.trpo_step(stuck, obs, actions, advantages, line_search=True,
                         **dict(kwargs, backtracks=1))
    assert stats["accepted"] == 0 and stats["kl"] == 0.0 and stats["improvement"] == 0.0
    assert torch.equal(parameters_to_vector(stuck.parameters()),
                       parameters_to_vector(policy.parameters()))


def test_trpo_step_with_defaults_respects_trust_region_on_a_real_batch():
    policy, obs, actions, advantages = cartpole_batch(seed=1)
    old_policy = copy.deepcopy(policy)
    stats = nt.trpo_step(policy, obs, actions, advantages, max_kl=0.01)
    L_new, kl = surrogate_and_kl(old_policy, policy, obs, actions, advantages)
    assert stats["accepted"] == 1
    assert 0 < kl <= 0.01 and L_new > advantages.mean().item()
    # ... and every parameter owns its storage again (not a view into one flat vector), so
    # the policy computes bit for bit as the same weights reloaded from a checkpoint do.
    reloaded = copy.deepcopy(old_policy)
    reloaded.load_state_dict(policy.state_dict())
    assert len({p.untyped_storage().data_ptr() for p in policy.parameters()}) == \
        len(list(policy.parameters()))
    assert torch.equal(policy(obs).logits, reloaded(obs).logits)


class LinearSoftmax(torch.nn.Module):
    """Logits [W s, 0]: the last action's logit is pinned, so F is non-singular. The flat
    weights are theta = M phi; M = I is the plain parametrisation."""

    def __init__(self, phi, M):
        super().__init__()
        self.phi, self.M = torch.nn.Parameter(phi.clone()), M

    def forward(self, obs):
        W = (self.M @ self.phi).reshape(2, obs.shape[1])
        logits = torch.cat([obs @ W.T, torch.zeros(len(obs), 1, dtype=obs.dtype)], 1)
        return torch.distributions.Categorical(logits=logits)


def test_natural_step_is_invariant_to_linear_reparametrisation_plain_gradient_is_not():
    g = torch.Generator().manual_seed(0)
    obs = torch.randn(20, 3, generator=g, dtype=F64)
    actions = torch.randint(0, 3, (20,), generator=g)
    advantages = torch.randn(20, generator=g, dtype=F64)
    theta = 0.5 * torch.randn(6, generator=g, dtype=F64)
    M = torch.randn(6, 6, generator=g, dtype=F64) + 3 * torch.eye(6, dtype=F64)
    both = [LinearSoftmax(theta, torch.eye(6, dtype=F64)),
            LinearSoftmax(torch.linalg.solve(M, theta), M)]  # the same policy, two coordinates
    natural, plain = [], []
    for policy in both:
        L = (policy(obs).log_prob(actions) * advantages).mean()  # gradient = surrogate's g
        (grad,) = torch.autograd.grad(L, policy.phi)
        Finv_g = torch.linalg.solve(fisher_matrix(policy, obs), grad)  # exact, undamped
        for step, out in ((nt.natural_step(grad, Finv_g, 0.05), natural), (0.5 * grad, plain)):
            moved = LinearSoftmax(policy.phi.detach() + step, policy.M)
            out.append(moved(obs).probs.detach())
    assert torch.allclose(natural[0], natural[1], rtol=0, atol=1e-10)
    assert (plain[0] - plain[1]).abs().max() > 1e-2  # the negative control


@given(st.integers(0, 10**6), st.floats(0.5, 1.0), st.floats(0.0, 1.0))
def test_gae_with_exact_values_gives_exact_policy_gradient(seed, gamma, lam):
    """E[sum_t gamma^t grad log pi(a_t|s_t) A_t^GAE] = grad J for any lambda when V is exact,
    since E[delta_{t+l} | s_t, a_t] = 0 for l >= 1 and Q_t - V_t for l = 0."""
    mdp = random_mdp(2, 2, 3, seed)
    theta = random_theta(mdp, seed)
    probs = policy_probs(theta)
    trajs = enumerate_trajectories(mdp, probs)
    V, _ = exact_values(mdp, probs, gamma)
    values, next_values = trajs.values(V)
    term = trajs.terminated()
    adv, returns = nt.compute_gae(trajs.rewards.T, values.T, next_values.T, term.T, term.T,
                                  gamma, lam)  # time-major [H, K]
    discount = gamma ** torch.arange(trajs.horizon, dtype=F64)
    g = expected_gradient(theta, trajs, lambda lp: (discount * lp * adv.T).sum(1))
    assert torch.allclose(g, exact_grad_J(mdp, theta, gamma), rtol=0, atol=1e-10)
    assert torch.allclose(returns, adv + values.T)


def test_gae_bootstraps_truncation_not_termination():
    """[T=3, N=2]: env 0 truncated after step 1, env 1 terminated after step 1."""
    rewards = torch.tensor([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]], dtype=F64)
    values = torch.tensor([[0.5, 0.5], [0.25, 0.25], [0.1, 0.1]], dtype=F64)
    next_values = torch.tensor([[0.25, 0.25], [4.0, 4.0], [0.7, 0.7]], dtype=F64)
    terminated = torch.tensor([[False, False], [False, True], [False, False]])
    episode_end = torch.tensor([[False, False], [True, True], [False, False]])
    gamma, lam = 0.9, 0.8
    adv, _ = nt.compute_gae(rewards, values, next_values, terminated, episode_end, gamma, lam)
    d2 = 3.0 + gamma * 0.7 - 0.1  # the rollout's last step bootstraps V(s_3)
    d1_trunc, d1_term = 2.0 + gamma * 4.0 - 0.25, 2.0 - 0.25  # V(final obs) vs nothing
    d0 = 1.0 + gamma * 0.25 - 0.5
    expected = torch.tensor([[d0 + gamma * lam * d1_trunc, d0 + gamma * lam * d1_term],
                             [d1_trunc, d1_term], [d2, d2]], dtype=F64)
    assert torch.allclose(adv, expected, rtol=0, atol=1e-12)


def test_act_draws_as_categorical_does_and_greedy_is_argmax():
    check_act_draws_as_categorical_does(nt)


def test_rollout_records_true_final_observations_and_no_reset_steps():
    """Replays each env alone: every recorded (s_t, a_t, r_t, s_{t+1}) is a real transition,
    with s_{t+1} the final observation (not the next episode's first) where an episode ended."""
    limit, n, T, seed = 12, 2, 40, 5
    envs = gym.make_vec("CartPole-v1", num_envs=n, vectorization_mode="sync",
                        vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP},
                        max_episode_steps=limit)
    obs, _ = envs.reset(seed=seed)
    torch.manual_seed(seed)
    policy, value_net = nt.Policy(4, envs.single_action_space, 8, 0.0), nt.mlp(4, 1, 8)
    batch, _, _ = nt.collect_rollout(envs, obs, policy, value_net, T, envs.single_action_space,
                                     None, "cpu")
    envs.close()
    assert batch["terminated"].any() and (batch["episode_end"] & ~batch["terminated"]).any()
    for i in range(n):
        env = gym.make("CartPole-v1", max_episode_steps=limit)
        state, _ = env.reset(seed=seed + i)
        for t in range(T):
            assert np.allclose(batch["obs"][t, i].numpy(), state)
            state, r, term, trunc, _ = env.step(int(batch["actions"][t, i]))
            assert np.allclose(batch["next_obs"][t, i].numpy(), state)  # the true s_{t+1}
            assert (bool(batch["terminated"][t, i]), bool(batch["episode_end"][t, i]),
                    float(batch["rewards"][t, i])) == (term, term or trunc, r)
            if term or trunc:
                state, _ = env.reset()
        env.close()
    with torch.no_grad():
        assert torch.equal(batch["next_values"], value_net(batch["next_obs"]).squeeze(-1))


def run_main(argv, capsys):
    result = nt.main(argv)
    out = capsys.readouterr().out.strip().splitlines()
    assert json.loads(out[-1]) == result  # the last stdout line is the result
    return result


def test_tiny_pendulum_run_logs_its_steps_and_eval_only_restores_obs_statistics(tmp_path,
                                                                                capsys):
    run_dir = str(tmp_path / "run")
    result = run_main(["--env-id", "Pendulum-v1", "--total-timesteps", "600", "--num-steps",
                       "100", "--norm-obs", "--eval-episodes", "2", "--run-dir", run_dir,
                       "--quiet"], capsys)
    assert result["global_step"] == 600
    assert (result["algo"], result["variant"]) == ("npg_trpo", "trpo")
    with open(os.path.join(run_dir, "updates.csv")) as f:
        rows = f.read().splitlines()
    assert rows[0] == ("update,global_step,improvement,kl,ls_steps,accepted,cg_residual,"
                       "expected_improvement,entropy,value_loss") and len(rows) == 1 + 3
    with open(os.path.join(run_dir, "progress.csv")) as f:  # Pendulum truncates at 200 steps
        rows = [r.split(",") for r in f.read().splitlines()]
    assert [(r[0], r[2]) for r in rows[1:]] == [("399", "200"), ("400", "200")]
    # The evaluation saw normalised observations: the reloaded statistics must be the same.
    ckpt = torch.load(os.path.join(run_dir, "model.pt"), weights_only=True)
    assert ckpt["obs_rms"]["mean"].shape == (3,) and (ckpt["obs_rms"]["var"] != 1).all()
    again = run_main(["--eval-only", "--checkpoint", os.path.join(run_dir, "model.pt")], capsys)
    assert (again["eval_return_mean"], again["eval_return_std"]) == \
        (result["eval_return_mean"], result["eval_return_std"])


def test_one_env_never_updates_on_a_one_step_batch(tmp_path, capsys):
    """9 steps in rollouts of 4 leave 1: a 1-step batch has no advantage std (NaN). The last
    rollout takes 2 steps instead, so every update is a number and the run takes 10 steps."""
    run_dir = str(tmp_path / "run")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch warns of std() over one element
        result = run_main(["--num-envs", "1", "--num-steps", "4", "--total-timesteps", "9",
                           "--eval-episodes", "1", "--run-dir", run_dir, "--quiet"], capsys)
    assert result["global_step"] == 10
    with open(os.path.join(run_dir, "updates.csv")) as f:
        rows = [r.split(",") for r in f.read().splitlines()[1:]]
    assert [r[1] for r in rows] == ["4", "8", "10"]
    assert all(np.isfinite(float(x)) for r in rows for x in r)


@pytest.mark.parametrize("argv, message", [
    (["--max-kl", "0"], "--max-kl must satisfy 0 < x < inf"),
    (["--value-minibatch-size", "0"], "--value-minibatch-size must satisfy x > 0"),
    (["--backtrack-ratio", "1.5"], "--backtrack-ratio must satisfy 0 < x <= 1"),
    (["--gae-lambda", "-0.1"], "--gae-lambda must satisfy 0 <= x <= 1"),
    (["--damping", "-1"], "--damping must satisfy 0 <= x < inf"),
    (["--num-envs", "1", "--num-steps", "1"], "needs at least 2 steps"),
    (["--algo", "ppo"], "invalid choice"),
])
def test_bad_hyperparameter_is_one_line_error_and_exit_2(argv, message, capsys, tmp_path):
    run = ["--run-dir", str(tmp_path), "--total-timesteps", "64", "--quiet"]
    assert message in refused(nt.main, argv + run, capsys)


@pytest.mark.slow
@pytest.mark.parametrize("algo", ["trpo", "npg"])
def test_learns_cartpole_far_better_than_random(algo, tmp_path, capsys):
    """A uniformly random policy averages about 22 on CartPole-v1."""
    result = run_main(["--algo", algo, "--total-timesteps", "30000", "--run-dir",
                       str(tmp_path), "--quiet"], capsys)
    assert result["eval_return_mean"] > 200


@pytest.mark.slow
def test_trpo_learns_pendulum_far_better_than_random(tmp_path, capsys):
    """A random policy scores about -1200 on Pendulum-v1; swinging up needs a real policy."""
    result = run_main(["--env-id", "Pendulum-v1", "--total-timesteps", "100000", "--gamma",
                       "0.9", "--gae-lambda", "0.95", "--norm-obs", "--num-steps", "1024",
                       "--run-dir", str(tmp_path), "--quiet"], capsys)
    assert result["eval_return_mean"] > -600
