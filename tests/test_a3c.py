"""a3c.py: n-step returns, the A3C loss, SharedAdam and the worker processes.

The estimator's claims are checked exactly on every trajectory of a tiny tabular MDP
(tests/support/mdp.py). The process tests spawn real workers and look for any process left behind
through a marker in the environment that every descendant inherits.
"""
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid

import gymnasium as gym
import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
from hypothesis import given, settings, strategies as st
from torch.func import vmap

import a3c
from a3c import SharedAdam, a3c_loss, n_step_returns, push_gradients
from cli import refused
from envs import CARTPOLE_RANDOM_BEST_MEAN_OF_10, best_mean_return
from mdp import (enumerate_trajectories, exact_grad_J, exact_values, expected_gradient,
                 policy_probs, random_mdp, random_theta)
from terminal import popen_like_a_terminal

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXACT = 1e-8  # float64 sums of at most 6561 terms: round-off is ~1e-14

mdps = st.tuples(st.integers(2, 3), st.integers(2, 3), st.integers(3, 4), st.integers(0, 10**6))


def brute_force_n_step(rewards, next_values, terminated, episode_end, gamma, n):
    """The definition, one (t, env) at a time, in Python floats."""
    T, N = rewards.shape
    out = np.zeros((T, N))
    for i in range(N):
        for t in range(T):
            total, k = 0.0, 0
            while True:  # add r_{t+k} until the window (n steps, episode, rollout) closes
                total += gamma**k * float(rewards[t + k, i])
                last = t + k
                if k + 1 == n or episode_end[last, i] or last == T - 1:
                    break
                k += 1
            total += gamma ** (k + 1) * (1 - float(terminated[last, i])) * float(
                next_values[last, i])
            out[t, i] = total
    return out


def random_rollout(T, N, seed, p_end=0.3):
    g = torch.Generator().manual_seed(seed)
    rewards = torch.randn(T, N, generator=g, dtype=torch.float64)
    next_values = torch.randn(T, N, generator=g, dtype=torch.float64)
    episode_end = torch.rand(T, N, generator=g) < p_end
    terminated = episode_end & (torch.rand(T, N, generator=g) < 0.5)  # the rest: truncated
    return rewards, next_values, terminated, episode_end


# --- n_step_returns -----------------------------------------------------------------------------

@given(st.integers(1, 12), st.integers(1, 3), st.integers(1, 14), st.floats(0.5, 1.0),
       st.integers(0, 10**6))
def test_n_step_returns_is_the_definition(T, N, n, gamma, seed):
    rollout = random_rollout(T, N, seed)
    got = n_step_returns(*rollout, gamma, n)
    assert got.shape == (T, N) and got.dtype == torch.float64
    np.testing.assert_allclose(got.numpy(), brute_force_n_step(*rollout, gamma, n),
                               rtol=0, atol=EXACT)
    one = n_step_returns(*(x[:, 0] for x in rollout), gamma, n)  # [T] is the N = 1 case
    np.testing.assert_allclose(one.numpy(), got[:, 0].numpy(), rtol=0, atol=EXACT)


@given(st.integers(1, 12), st.integers(1, 3), st.integers(1, 14), st.floats(0.5, 1.0),
       st.integers(0, 10**6))
def test_n_step_returns_equals_actor_critic_py(T, N, n, gamma, seed):
    actor_critic = pytest.importorskip("actor_critic")
    rollout = random_rollout(T, N, seed)
    np.testing.assert_allclose(n_step_returns(*rollout, gamma, n).numpy(),
                               actor_critic.n_step_returns(*rollout, gamma, n).numpy(),
                               rtol=0, atol=EXACT)


def test_truncation_is_bootstrapped_and_termination_is_not():
    """Two steps, then the episode ends at t = 1 with V(final obs) = 10; gamma = 0.5, n = 5."""
    rewards, next_values = torch.tensor([1.0, 2.0, 4.0]), torch.tensor([3.0, 10.0, 8.0])
    end = torch.tensor([False, True, False])
    for terminated, tail in ((torch.tensor([False, False, False]), 10.0),
                             (torch.tensor([False, True, False]), 0.0)):
        got = n_step_returns(rewards, next_values, terminated, end, 0.5, 5)
        expected = [1 + 0.5 * 2 + 0.25 * tail, 2 + 0.5 * tail, 4 + 0.5 * 8]  # rollout end: V
        assert got.tolist() == expected
    # V(s_T) after a termination is never read: not even an infinite one leaks in (0 * inf = nan)
    got = n_step_returns(rewards, torch.tensor([3.0, float("inf"), 8.0]),
                         torch.tensor([False, True, False]), end, 0.5, 5)
    assert got.tolist() == [1 + 0.5 * 2, 2.0, 4 + 0.5 * 8]


def test_a_later_episodes_inf_or_nan_stays_out_of_a_closed_window():
    """Terminated at t = 0: y_0 = r_0, whatever the next episode's V holds."""
    for bad in (float("inf"), float("nan")):
        got = n_step_returns([1.0, 2.0], [0.0, bad], [True, False], [True, True], 0.9, 5)
        assert got[0].item() == 1.0


def test_n_step_returns_differentiate_as_actor_critic_pys():
    actor_critic = pytest.importorskip("actor_critic")
    grads = []
    for f in (n_step_returns, actor_critic.n_step_returns):
        rollout = random_rollout(6, 2, seed=5)
        rewards, next_values = (x.requires_grad_() for x in rollout[:2])
        f(*rollout, 0.9, 3).sum().backward()
        grads.append(torch.cat([rewards.grad, next_values.grad]))
    torch.testing.assert_close(grads[0], grads[1], rtol=0, atol=EXACT)
    assert grads[0].abs().sum() > 0


@pytest.mark.parametrize("gamma", [0.9, 1])
@pytest.mark.parametrize("name", ["a3c", "actor_critic"])
def test_integer_rewards_and_values_give_the_float_returns(name, gamma):
    f = pytest.importorskip(name).n_step_returns
    args = [[1, 1, 1], [0, 2, 0], [0, 0, 1], [0, 0, 1]]
    got = f(*args, gamma, 2)
    assert got.dtype == torch.float32
    assert torch.equal(got, f(*(torch.tensor(a, dtype=torch.float32) for a in args), gamma, 2))


def test_pure_functions_keep_dtype_and_device_and_leave_inputs_alone():
    rollout = random_rollout(7, 2, seed=3)
    rollout32 = tuple(x.float() if x.is_floating_point() else x for x in rollout)
    copies = [x.clone() for x in rollout32]
    returns = n_step_returns(*rollout32, 0.9, 3)
    assert returns.dtype == torch.float32 and returns.device == rollout32[0].device
    assert all(torch.equal(a, b) for a, b in zip(copies, rollout32))
    log_probs, values, ent = torch.randn(7), torch.randn(7), torch.rand(7)
    saved = [x.clone() for x in (log_probs, values, ent, returns)]
    loss, _ = a3c_loss(log_probs, values, ent, returns[:, 0], 0.01, 0.5)
    assert loss.dtype == torch.float32
    assert all(torch.equal(a, b) for a, b in
               zip(saved, (log_probs, values, ent, returns)))


def harness(shape, gamma):
    S, A, H, seed = shape
    mdp = random_mdp(S, A, H, seed)
    theta = random_theta(mdp, seed)
    probs = policy_probs(theta)
    trajs = enumerate_trajectories(mdp, probs)
    V, Q = exact_values(mdp, probs, gamma)
    values, next_values = trajs.values(V)  # [K, H]
    return mdp, theta, trajs, V, Q, values, next_values


def q_residual(trajs, Q, returns):
    """E[(R_t - Q_t(s_t, a_t)) 1{s_t = s, a_t = a}] for every t, s, a: zero iff unbiased."""
    L = returns.shape[1]  # the first L steps of every trajectory
    states, actions = trajs.states[:, :L], trajs.actions[:, :L]
    q = Q[torch.arange(L), states, actions]  # [K, L]
    onehot = torch.nn.functional.one_hot(states * Q.shape[2] + actions,
                                         Q.shape[1] * Q.shape[2]).double()  # [K, L, S*A]
    return torch.einsum("k,kt,ktj->tj", trajs.prob, returns - q, onehot)


@given(mdps, st.floats(0.5, 1.0), st.integers(1, 5))
def test_n_step_returns_with_the_true_V_are_unbiased_estimates_of_Q(shape, gamma, n):
    _, _, trajs, _, Q, _, next_values = harness(shape, gamma)
    term = trajs.terminated()
    returns = n_step_returns(trajs.rewards.T, next_values.T, term.T, term.T, gamma, n).T
    assert q_residual(trajs, Q, returns).abs().max() < EXACT
    if n < trajs.horizon:  # negative control: the same sum without the bootstrap V(s_{t+n})
        cut = n_step_returns(trajs.rewards.T, torch.zeros_like(next_values.T), term.T, term.T,
                             gamma, n).T
        assert q_residual(trajs, Q, cut).abs().max() > 1e-3


@given(mdps, st.floats(0.5, 1.0), st.integers(1, 5), st.integers(1, 3))
def test_cut_episodes_bootstrap_only_when_truncated(shape, gamma, n, length):
    """Keep the first L < H steps. Cut by the rollout or a time limit, V(s_L) stands in for the
    rest and R_t stays unbiased for Q_t; calling the cut a termination biases it."""
    _, _, trajs, _, Q, _, next_values = harness(shape, gamma)
    L = min(length, trajs.horizon - 1)
    rewards, nv = trajs.rewards[:, :L].T, next_values[:, :L].T
    no_end = torch.zeros_like(rewards, dtype=torch.bool)
    time_limit = no_end.clone()
    time_limit[-1] = True
    for end in (no_end, time_limit):  # the rollout's end, or a truncation
        returns = n_step_returns(rewards, nv, no_end, end, gamma, n).T
        assert q_residual(trajs, Q[:L], returns).abs().max() < EXACT
    wrong = n_step_returns(rewards, nv, time_limit, time_limit, gamma, n).T
    assert q_residual(trajs, Q[:L], wrong).abs().max() > 1e-3


class CountEnv(gym.Env):
    """Observation = steps taken; reward 1; terminates when it reaches `terminal_at`."""
    observation_space = gym.spaces.Box(0, 100, (1,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, terminal_at=100):
        self.terminal_at = terminal_at

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.k = 0
        return np.array([self.k], np.float32), {}

    def step(self, action):
        assert type(action) is int  # what play_segment passes for a Discrete space
        self.k += 1
        return np.array([self.k], np.float32), 1.0, self.k == self.terminal_at, False, {}


class ValueIsTenTimesObs(torch.nn.Module):
    """A stub of what play_segment uses: act (action 0, and a recurrent state that counts the
    steps), trunk (the observations as they are) and the value head v: V(s) = 10 s."""
    discrete = True

    def act(self, obs, state):
        return torch.zeros(obs.shape[0], dtype=torch.long), state + 1

    def trunk(self, obs, state):
        return torch.as_tensor(obs), state + 1

    def v(self, features):
        return 10 * features[:, :1]


@pytest.mark.parametrize("terminal_at, t_max, budget, expected", [
    (100, 5, 100, dict(T=3, terminated=False, truncated=True, next_value=30.0)),  # time limit
    (2, 5, 100, dict(T=2, terminated=True, truncated=False, next_value=20.0)),
    (100, 2, 100, dict(T=2, terminated=False, truncated=False, next_value=20.0)),  # t_max cut
    (100, 5, 1, dict(T=1, terminated=False, truncated=False, next_value=10.0)),  # budget spent
])
def test_a_segment_stops_at_the_episode_end_and_bootstraps_from_the_final_observation(
        terminal_at, t_max, budget, expected):
    env = gym.wrappers.TimeLimit(CountEnv(terminal_at), max_episode_steps=3)
    obs, _ = env.reset(seed=0)
    steps = iter(range(1, budget + 1))
    segment, obs, state = a3c.play_segment(ValueIsTenTimesObs(), env, env.action_space, obs,
                                           torch.tensor(0), t_max, lambda: next(steps, None))
    T = expected["T"]
    assert segment["rewards"] == [1.0] * T and int(state) == T and obs[0] == T
    assert [o[0] for o in segment["observations"]] == list(range(T))  # s_t, for learn()
    assert [a.tolist() for a in segment["actions"]] == [[0]] * T
    assert int(segment["first_state"]) == 0  # where learn() starts the recurrent model again
    assert (segment["terminated"], segment["truncated"]) == (expected["terminated"],
                                                             expected["truncated"])
    assert segment["next_value"].item() == expected["next_value"]  # V(s_T), never a reset obs
    assert segment["global_step"] == T


SPACES = [gym.spaces.Discrete(3), gym.spaces.Box(-1.0, 1.0, (2,), np.float32)]


@pytest.mark.parametrize("recurrent", [False, True])
@pytest.mark.parametrize("space", SPACES, ids=["discrete", "gaussian"])
def test_act_draws_what_the_distribution_would_sample(space, recurrent):
    """One seed, the same draws (discrete: from softmax(logits), Categorical's probs up to
    rounding, without its logsumexp)."""
    torch.manual_seed(0)
    model = a3c.ActorCritic(4, space, 16, -0.5, recurrent)
    for p in model.parameters():
        p.data.normal_(0.0, 3.0)  # far from uniform, even through the LSTM's bounded h_t
    obs, state = torch.randn(256, 4), model.initial_state(1, "cpu")  # one env's 256 steps
    torch.manual_seed(1)
    action, next_state = model.act(obs, state)
    torch.manual_seed(1)
    with torch.no_grad():  # (the LSTM's kernels with a graph round differently)
        dist, _, expected_state = model(obs, state)
    assert torch.equal(action, dist.sample())  # the same random numbers, the same draws
    assert (next_state is None) == (not recurrent)
    assert not recurrent or all(torch.equal(a, b) for a, b in zip(next_state, expected_state))
    assert len(action.unique(dim=0)) > 1  # the draws vary: the check compares something


def test_the_model_finds_its_device_by_an_anchor_that_checkpoints_leave_out():
    model = a3c.ActorCritic(4, gym.spaces.Discrete(2), 8, -0.5, recurrent=True)
    assert set(model.state_dict()) == {name for name, _ in model.named_parameters()}
    model.to("meta")  # where .to() moves the parameters, trunk puts the observations
    assert model.trunk(np.zeros((1, 4), np.float32), None)[0].device.type == "meta"


def per_step_gradient(model, segment, cfg):
    """The loss's gradient as the paper accumulates it: pi, V and H step by step, each with its
    own graph (V(s_T), without one, is the segment's)."""
    state, log_probs, values, entropies = segment["first_state"], [], [], []
    for obs, action in zip(segment["observations"], segment["actions"]):
        dist, value, state = model(obs[None], state)
        log_probs.append(dist.log_prob(action)[0])
        entropies.append(dist.entropy()[0])
        values.append(value[0])
    values, T = torch.stack(values), len(segment["rewards"])
    next_values = torch.cat([values[1:].detach(), segment["next_value"]])
    term, end = torch.zeros(T, dtype=torch.bool), torch.zeros(T, dtype=torch.bool)
    term[-1], end[-1] = segment["terminated"], segment["terminated"] or segment["truncated"]
    returns = n_step_returns(segment["rewards"], next_values, term, end, cfg.gamma, cfg.t_max)
    loss, _ = a3c_loss(torch.stack(log_probs), values, torch.stack(entropies), returns,
                       cfg.ent_coef, cfg.vf_coef)
    return torch.autograd.grad(loss, list(model.parameters()))


def a_segment(model, env, cfg, end):
    """Segments played as a worker plays them, until one that ends as `end` says, more than one
    step long and, where the model is recurrent, with a state carried in from the one before."""
    obs, state, fresh = env.reset(seed=cfg.seed)[0], model.initial_state(1, "cpu"), True
    while True:
        segment, obs, state = a3c.play_segment(model, env, env.action_space, obs, state,
                                               cfg.t_max, lambda: 1)
        ends = "terminated" if segment["terminated"] else (
            "truncated" if segment["truncated"] else "cut")
        if ends == end and len(segment["rewards"]) > 1 and not (cfg.recurrent and fresh):
            return segment
        fresh = ends != "cut"
        if fresh:
            obs, state = env.reset()[0], model.initial_state(1, "cpu")


@pytest.mark.parametrize("recurrent", [False, True])
@pytest.mark.parametrize("env_id, end", [("CartPole-v1", "terminated"), ("CartPole-v1", "cut"),
                                         ("Pendulum-v1", "truncated"), ("Pendulum-v1", "cut")])
def test_learn_applies_the_gradient_of_the_per_step_losses(env_id, end, recurrent):
    """learn() recomputes pi, V and H for the whole segment in one batched pass; theta' has not
    changed since the segment was played, so the gradient is the per-step one, to round-off."""
    cfg = a3c.Config(env_id=env_id, recurrent=recurrent, t_max=20, max_grad_norm=1e9, seed=3)
    env, obs_space, act_space = a3c.make_env(env_id)
    torch.manual_seed(cfg.seed)
    local, shared = (a3c.build_model(cfg, obs_space, act_space) for _ in range(2))
    shared.load_state_dict(local.state_dict())
    segment = a_segment(local, env, cfg, end)
    expected = per_step_gradient(local, segment, cfg)
    optimizer = SharedAdam(shared.parameters(), lr=0.0)  # theta stays, to compare with
    a3c.learn(local, (shared, optimizer, mp.Value("q", 0)), segment, cfg)
    for p, g in zip(shared.parameters(), expected):
        assert (p.grad - g).norm() <= 1e-5 * g.norm()  # float32 sums of T terms: ~1e-6 here


# --- the A3C loss -------------------------------------------------------------------------------

@settings(max_examples=10)  # each example differentiates up to 6561 trajectories
@given(mdps, st.integers(1, 5))
def test_a3c_policy_gradient_is_exact_for_gamma_one(shape, n):
    """E[sum_t grad log pi(a_t|s_t) (R_t - V(s_t))] = grad J: the minus gradient of the loss."""
    mdp, theta, trajs, _, _, values, next_values = harness(shape, 1.0)
    term = trajs.terminated()
    returns = n_step_returns(trajs.rewards.T, next_values.T, term.T, term.T, 1.0, n).T

    def surrogate(log_probs):  # [K, H] -> [K]: minus the loss of each trajectory
        return vmap(lambda lp, v, R: -a3c_loss(lp, v, torch.zeros_like(lp), R, 0.0, 0.0)[0])(
            log_probs, values, returns)

    g = expected_gradient(theta, trajs, surrogate)
    assert torch.allclose(g, exact_grad_J(mdp, theta, 1.0), rtol=0, atol=EXACT)


def test_loss_gradients_are_the_papers_accumulated_gradients():
    """d/d log pi_t = -A_t (no gradient reaches V through A), d/dV_t = -c_v (R_t - V_t),
    d/dH_t = -beta."""
    g = torch.Generator().manual_seed(0)
    log_probs, values, entropies, returns = (torch.randn(6, generator=g, dtype=torch.float64,
                                                         requires_grad=i < 3) for i in range(4))
    loss, stats = a3c_loss(log_probs, values, entropies, returns, ent_coef=0.03, vf_coef=0.7)
    d_lp, d_v, d_h = torch.autograd.grad(loss, (log_probs, values, entropies))
    advantages = (returns - values).detach()
    assert torch.allclose(d_lp, -advantages, rtol=0, atol=1e-12)
    assert torch.allclose(d_v, -0.7 * advantages, rtol=0, atol=1e-12)
    assert torch.allclose(d_h, torch.full_like(d_h, -0.03), rtol=0, atol=1e-12)
    assert abs(stats["value_loss"].item() - 0.5 * (advantages**2).sum().item()) < 1e-12


# --- SharedAdam and the gradient hand-over --------------------------------------------------------

def small_model(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(),
                               torch.nn.Linear(4, 2)).double()


def gradient_sequence(model, count, seed):
    g = torch.Generator().manual_seed(seed)
    return [[torch.randn(p.shape, generator=g, dtype=p.dtype) for p in model.parameters()]
            for _ in range(count)]


def backward_with(model, grads):
    """A fresh .grad equal to `grads`, made the way a worker makes it (set_to_none, backward)."""
    model.zero_grad(set_to_none=True)
    sum((p * g).sum() for p, g in zip(model.parameters(), grads)).backward()


def reference_adam(model, sequence, lr):
    reference = small_model()
    reference.load_state_dict(model.state_dict())
    adam = torch.optim.Adam(reference.parameters(), lr=lr)
    for grads in sequence:
        for p, g in zip(reference.parameters(), grads):
            p.grad = g.clone()
        adam.step()
    return reference, adam


def test_shared_adam_equals_adam_serially_and_its_state_is_shared():
    shared = small_model().share_memory()
    start = small_model()
    opt = SharedAdam(shared.parameters(), lr=0.05)
    local = small_model(seed=5)  # another theta': the gradient, not the weights, is handed over
    sequence = gradient_sequence(shared, 4, seed=1)
    for grads in sequence:
        backward_with(local, grads)
        push_gradients(local, shared)
        opt.step()
    reference, adam = reference_adam(start, sequence, lr=0.05)
    for p, q in zip(shared.parameters(), reference.parameters()):
        assert torch.allclose(p, q, rtol=0, atol=1e-12)
        for key in ("step", "exp_avg", "exp_avg_sq"):
            assert opt.state[p][key].is_shared()
            assert torch.allclose(opt.state[p][key].double(), adam.state[q][key].double(),
                                  rtol=0, atol=1e-12)


def test_gradients_reach_the_shared_model_every_time_not_only_the_first():
    shared, local = small_model().share_memory(), small_model()
    first, second = gradient_sequence(local, 2, seed=2)
    for grads in (first, second):
        backward_with(local, grads)
        push_gradients(local, shared)
        for p, g in zip(shared.parameters(), grads):
            assert torch.equal(p.grad, g)

    def push_once(local_model, shared_model):  # the widely copied version: a negative control
        for lp, sp in zip(local_model.parameters(), shared_model.parameters()):
            if sp.grad is not None:
                return
            sp._grad = lp.grad

    shared = small_model().share_memory()
    for grads in (first, second):
        backward_with(local, grads)
        push_once(local, shared)
    assert torch.equal(next(shared.parameters()).grad, first[0])  # stale: what the test catches


def steps_in_a_process(local, shared, optimizer, sequence, go, done):
    """Run in a spawned process: wait for `go`, then one worker's updates on the shared model."""
    go.wait()
    for grads in sequence:
        backward_with(local, grads)
        push_gradients(local, shared)
        optimizer.step()
    done.set()


def test_shared_adam_across_two_processes_is_one_adam_over_both_gradient_sequences():
    shared = small_model().share_memory()
    start = small_model()
    opt = SharedAdam(shared.parameters(), lr=0.05)
    ctx = mp.get_context("spawn")
    sequences = [gradient_sequence(shared, 3, seed=10), gradient_sequence(shared, 2, seed=20)]
    events = [(ctx.Event(), ctx.Event()) for _ in sequences]
    procs = [ctx.Process(target=steps_in_a_process, args=(small_model(seed=7 + i), shared, opt,
                                                          seq, go, done))
             for i, (seq, (go, done)) in enumerate(zip(sequences, events))]
    for p in procs:
        p.start()
    try:
        for go, done in events:  # one after the other, so the order of the steps is known
            go.set()
            assert done.wait(timeout=120)
        for p in procs:
            p.join(timeout=30)
            assert p.exitcode == 0
    finally:
        for p in procs:
            p.kill()
    reference, adam = reference_adam(start, sequences[0] + sequences[1], lr=0.05)
    for p, q in zip(shared.parameters(), reference.parameters()):
        assert opt.state[p]["step"].item() == 5  # both processes' steps, in one count
        assert torch.allclose(opt.state[p]["exp_avg_sq"], adam.state[q]["exp_avg_sq"],
                              rtol=0, atol=1e-12)
        assert torch.allclose(p, q, rtol=0, atol=1e-12)


# --- the command line contract --------------------------------------------------------------------

def run_main(args, capsys):
    """a3c.main in this process: (exit status, stdout, stderr)."""
    try:
        a3c.main(list(args))
        code = 0
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("args, message", [  # the shared cases: tests/test_contract.py
    (["--num-workers", "0"], "--num-workers"),
    (["--t-max", "0"], "--t-max"),
    (["--learning-rate", "-1"], "--learning-rate"),
    (["--ent-coef", "nan"], "--ent-coef"),
    (["--vf-coef", "-1"], "--vf-coef"),
    (["--env-id", "Pendulum-v1", "--init-log-std", "nan"], "--init-log-std"),
])
def test_bad_hyperparameters_are_one_line_and_exit_status_2(args, message, tmp_path, capsys):
    assert message in refused(a3c.main, ["--run-dir", str(tmp_path / "run"), *args], capsys)
    assert not (tmp_path / "run").exists()


def test_one_worker_run_writes_its_outputs_is_reproducible_and_eval_only_repeats_it(
        tmp_path, capsys):
    results = []
    for name in ("a", "b"):
        run_dir = tmp_path / name
        code, out, err = run_main(["--num-workers", "1", "--total-timesteps", "1500", "--seed",
                                   "3", "--eval-episodes", "3", "--run-dir", str(run_dir),
                                   "--quiet"], capsys)
        assert code == 0, err
        result = json.loads(out.strip().splitlines()[-1])
        for key in ("algo", "env_id", "seed", "total_timesteps", "eval_return_mean",
                    "eval_return_std", "train_time_s", "sps", "run_dir"):
            assert key in result
        assert result["global_step"] == 1500  # the shared counter stops exactly on budget
        assert json.load(open(run_dir / "config.json"))["num_workers"] == 1
        rows = open(run_dir / "progress.csv").read().splitlines()
        assert rows[0] == "global_step,episode_return,episode_length,wall_time_s"
        updates = open(run_dir / "updates.csv").read().splitlines()
        assert len(updates) > 75  # 1500 steps in segments of at most t_max = 20
        last = dict(zip(updates[0].split(","), updates[-1].split(",")))  # sent before os._exit
        assert (last["global_step"], last["adam_step"]) == ("1500", str(len(updates) - 1))
        model = torch.load(run_dir / "model.pt", weights_only=True)["model"]
        results.append(([r.split(",")[:3] for r in rows], [u.split(",")[:8] for u in updates],
                        model, result["eval_return_mean"]))
    (rows_a, updates_a, model_a, eval_a), (rows_b, updates_b, model_b, eval_b) = results
    assert rows_a == rows_b and updates_a == updates_b and eval_a == eval_b
    assert all(torch.equal(model_a[k], model_b[k]) for k in model_a)  # bitwise, one worker

    code, out, err = run_main(["--eval-only", "--checkpoint", str(tmp_path / "a" / "model.pt")],
                              capsys)
    replay = json.loads(out.strip().splitlines()[-1])
    assert code == 0 and (replay["eval_return_mean"], replay["eval_return_std"]) == \
        (result["eval_return_mean"], result["eval_return_std"])
    for flags, message in ((["--env-id", "Acrobot-v1"], "does not fit"),
                           (["--recurrent"], "does not fit")):
        assert message in refused(a3c.main, ["--eval-only", "--checkpoint",
                                             str(tmp_path / "a" / "model.pt"), *flags], capsys)


# --- worker processes: concurrency, learning, shutdown -------------------------------------------

def tagged_processes(tag):
    """Every live process whose environment carries the marker A3C_TEST_TAG=tag."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                if f"A3C_TEST_TAG={tag}".encode() in f.read().split(b"\0"):
                    with open(f"/proc/{pid}/stat") as s:
                        if s.read().rsplit(")", 1)[1].split()[0] != "Z":
                            found.append(int(pid))
        except OSError:
            pass
    return found


def assert_no_process_left(tag, within=10.0):
    deadline = time.time() + within
    while tagged_processes(tag) and time.time() < deadline:
        time.sleep(0.1)
    assert tagged_processes(tag) == []


def assert_one_line_error(proc, err, tag, expected):
    """The run ended with exit status 1 and one line on stderr, holding `expected`; none of its
    processes is left."""
    assert proc.returncode == 1, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], err
    assert_no_process_left(tag)


@contextlib.contextmanager
def group_killed_if_alive(proc):
    """Run the block; then kill proc's process group if proc outlived it: no test leaves a run."""
    try:
        yield
    finally:
        os.killpg(proc.pid, signal.SIGKILL) if proc.poll() is None else None


def stderr_once_ended(proc, timeout):
    """proc's stderr when it exits; its process group killed if it outlives `timeout` s."""
    with group_killed_if_alive(proc):
        return proc.communicate(timeout=timeout)[1]


def start_cli(run_dir, *args, worker=None):
    """a3c.py's command line in its own process group; worker: a function of this module that
    stands in for a3c.worker."""
    tag = uuid.uuid4().hex
    env = dict(os.environ, A3C_TEST_TAG=tag,
               PYTHONPATH=os.pathsep.join([ROOT, os.path.dirname(os.path.abspath(__file__)),
                                           os.path.join(os.path.dirname(
                                               os.path.abspath(__file__)), "support")]))
    program = [os.path.join(ROOT, "a3c.py")] if worker is None else [
        "-c", f"import a3c, test_a3c; a3c.worker = test_a3c.{worker}; a3c.main()"]
    proc = popen_like_a_terminal([sys.executable, *program, "--run-dir",
                             str(run_dir), "--quiet", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)  # its own process group, like a terminal's
    return proc, tag


def wait_for_episodes(proc, run_dir, count=2, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        path = run_dir / "progress.csv"
        if path.exists() and len(path.read_text().splitlines()) > count:
            return
        time.sleep(0.2)
    raise AssertionError(f"no episodes logged: {proc.poll()}")


@pytest.mark.slow
@pytest.mark.parametrize("how", ["Ctrl-C", "kill"])
def test_ctrl_c_or_kill_stops_every_worker_and_keeps_the_model(how, tmp_path):
    run_dir = tmp_path / "run"
    proc, tag = start_cli(run_dir, "--total-timesteps", "100000000", "--num-workers", "2")
    with group_killed_if_alive(proc):
        wait_for_episodes(proc, run_dir)
        assert len(tagged_processes(tag)) >= 3  # main, 2 workers (and the resource tracker)
        if how == "Ctrl-C":  # what a terminal sends: SIGINT to the whole group
            os.killpg(proc.pid, signal.SIGINT)
        else:  # a plain `kill`: SIGTERM to the main process alone, which must stop the workers
            proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert len(err.strip().splitlines()) == 1 and "interrupted" in err
    assert (run_dir / "model.pt").exists() and not (run_dir / "model.pt.tmp").exists()
    assert_no_process_left(tag)


def test_a_ctrl_c_while_a_message_is_read_ends_the_run_cleanly(tmp_path, monkeypatch):
    """A KeyboardInterrupt raised while the main process reads a message from the queue would
    leave the pipe mid-message: the next read unpickles garbage (EOFError, seen in CI). So Ctrl-C
    and kill only set a flag during training; train() stops the workers, keeps every message and
    the model, and raises KeyboardInterrupt at the end. The signal here lands inside drain()."""
    real_drain, read_on = a3c.drain, []

    def drain_hit_by_ctrl_c(messages, handle, timeout=0.0):
        if not read_on:  # the first read of the training loop: Ctrl-C arrives in the middle
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)  # the handler runs here: a KeyboardInterrupt would skip the rest
            read_on.append("read went on")
        return real_drain(messages, handle, timeout)

    monkeypatch.setattr(a3c, "drain", drain_hit_by_ctrl_c)
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt):
        a3c.train(a3c.Config(num_workers=1, total_timesteps=100_000_000, seed=1, quiet=True,
                             run_dir=str(tmp_path)))
    assert read_on == ["read went on"]
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
    assert (tmp_path / "model.pt").exists()
    rows = (tmp_path / "updates.csv").read_text().splitlines()
    assert all(len(r.split(",")) == len(rows[0].split(",")) for r in rows)  # whole rows only


class CrashEnv(gym.Wrapper):
    """CartPole that raises on its 30th step when seeded with an odd seed (worker 1 of seed 2)."""
    metadata = {"render_modes": []}  # gymnasium 1.1's make reads it off the class: a dict

    def __init__(self):
        super().__init__(gym.make("CartPole-v1"))
        self.crashes, self.steps = False, 0

    def reset(self, *, seed=None, options=None):
        if seed is not None:
            self.crashes = seed % 2 == 1
        return self.env.reset(seed=seed, options=options)

    def step(self, action):
        self.steps += 1
        if self.crashes and self.steps == 30:
            raise RuntimeError("the env broke")
        return self.env.step(action)


gym.register("A3CCrash-v0", entry_point=CrashEnv)


@pytest.mark.slow
def test_a_crashing_worker_ends_every_process_with_a_one_line_error(tmp_path):
    run_dir = tmp_path / "run"
    proc, tag = start_cli(run_dir, "--env-id", "test_a3c:A3CCrash-v0", "--seed", "2",
                          "--num-workers", "2", "--total-timesteps", "100000000")
    err = stderr_once_ended(proc, timeout=120)  # worker 0 alone would run for hours
    assert_one_line_error(proc, err, tag, "worker 1 failed: RuntimeError: the env broke")
    assert "the env broke" in (run_dir / "worker1_error.txt").read_text()
    assert (run_dir / "model.pt").exists()


@pytest.mark.slow
def test_a_worker_killed_without_a_word_ends_every_process_with_a_one_line_error(tmp_path):
    run_dir = tmp_path / "run"
    proc, tag = start_cli(run_dir, "--num-workers", "2", "--total-timesteps", "100000000")
    with group_killed_if_alive(proc):
        wait_for_episodes(proc, run_dir)
        workers = [pid for pid in tagged_processes(tag)
                   if b"spawn_main" in open(f"/proc/{pid}/cmdline", "rb").read()]
        assert len(workers) == 2
        os.kill(workers[0], signal.SIGKILL)  # no exception, no message: only its exit code
        _, err = proc.communicate(timeout=60)
    assert_one_line_error(proc, err, tag, "exited with code -9")


def dies_holding_the_step_counters_lock(rank, cfg, device, shared, parent_pid, run_dir):
    """A stand-in worker: rank 0 takes the shared step counter's lock and dies holding it, as a
    worker the OOM killer stops inside take_step() would; the others wait to be killed."""
    if rank == 0:
        shared[2].get_lock().acquire()
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(3600)


@pytest.mark.slow
def test_a_worker_killed_holding_a_lock_ends_every_process_with_a_one_line_error(tmp_path):
    """The main process takes no lock a worker may hold: before, it read the step counter
    through its lock for the progress line, and waited on the dead worker's lock forever."""
    run_dir = tmp_path / "run"
    proc, tag = start_cli(run_dir, "--num-workers", "2",
                          worker="dies_holding_the_step_counters_lock")
    err = stderr_once_ended(proc, timeout=60)
    assert_one_line_error(proc, err, tag, "worker 0 exited with code -9")


def test_a_worker_flushes_its_messages_before_it_exits_without_the_interpreters_teardown(
        tmp_path, monkeypatch):
    """os._exit skips the flush at a normal exit: the last messages must reach the pipe first,
    or (by how the threads happen to run) the last rows of updates.csv could be lost."""
    calls = []

    class Messages:  # records what the worker does with its queue, in order
        def put(self, message):
            calls.append(message[0])

        def __getattr__(self, name):  # close, join_thread
            return lambda: calls.append(name)

    monkeypatch.setattr(os, "_exit", lambda code: calls.append(("_exit", code)))
    cfg = a3c.Config(num_workers=1, total_timesteps=60, seed=1, quiet=True)
    obs_space, act_space = a3c.make_env(cfg.env_id)[1:]
    model = a3c.build_model(cfg, obs_space, act_space).share_memory()
    shared = (model, SharedAdam(model.parameters()), a3c.SPAWN.Value("q", 0),
              a3c.SPAWN.Value("b", 0, lock=False), Messages())
    a3c.worker(0, cfg, torch.device("cpu"), shared, os.getppid(), str(tmp_path))
    assert calls.count("update") >= 3 and "error" not in calls  # 60 steps: 3 segments or more
    assert calls[-4:] == ["update", "close", "join_thread", ("_exit", 0)]


@pytest.mark.slow
def test_workers_exit_when_the_main_process_is_killed(tmp_path):
    run_dir = tmp_path / "run"
    proc, tag = start_cli(run_dir, "--total-timesteps", "100000000", "--num-workers", "2")
    try:
        wait_for_episodes(proc, run_dir)
        proc.kill()  # SIGKILL to the main process only: it can clean up nothing
        proc.communicate(timeout=30)
        assert_no_process_left(tag)
    finally:
        os.killpg(proc.pid, signal.SIGKILL) if tagged_processes(tag) else None


@pytest.mark.slow
def test_two_workers_update_concurrently_and_learn_cartpole(tmp_path):
    """Random actions never average more than 36 over 10 CartPole-v1 episodes in a row. In
    benchmarks/results/a3c_cartpole_workers2.json every seed's training return reached 475
    within 66k steps, though two seeds ended 150k steps at a greedy return of about 200: the
    test reads the training curve."""
    result = a3c.train(a3c.Config(num_workers=2, total_timesteps=100_000, seed=1, quiet=True,
                                  run_dir=str(tmp_path)))
    rows = [r.split(",") for r in open(tmp_path / "updates.csv").read().splitlines()[1:]]
    workers = [int(r[2]) for r in rows]
    adam_steps = {w: [int(r[7]) for r in rows if int(r[2]) == w] for w in (0, 1)}
    # Both workers update while the other is running: each one's updates are interleaved with
    # the other's, and the shared Adam step count each sees includes the other's updates.
    for w in (0, 1):
        first, last = workers.index(w), len(workers) - 1 - workers[::-1].index(w)
        assert 1 - w in workers[first:last]
        assert max(adam_steps[w]) > len(adam_steps[w])
    assert best_mean_return(result["run_dir"]) > 3 * CARTPOLE_RANDOM_BEST_MEAN_OF_10


@pytest.mark.slow
@pytest.mark.parametrize("flags", [
    ["--recurrent"],
    ["--env-id", "Pendulum-v1"],
    ["--env-id", "Pendulum-v1", "--recurrent"],
])
def test_every_variant_trains_and_logs_finite_losses(flags, tmp_path, capsys):
    code, out, err = run_main([*flags, "--total-timesteps", "1000", "--quiet",
                               "--eval-episodes", "1", "--run-dir", str(tmp_path)], capsys)
    assert code == 0, err
    rows = open(tmp_path / "updates.csv").read().splitlines()[1:]
    assert rows and all(np.isfinite(float(x)) for row in rows for x in row.split(","))
    assert json.loads(out.strip().splitlines()[-1])["global_step"] == 1000
