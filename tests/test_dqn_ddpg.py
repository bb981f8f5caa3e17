"""dqn_ddpg.py: the targets, the updates and the replay, each against its defining formula."""
import json
import math
import os
import re

import gymnasium as gym
import numpy as np
import pytest
import torch
import torch.nn as nn
from hypothesis import given, strategies as st

from dqn_ddpg import (ALGO_DEFAULTS, DDPG, DQN, Actor, Config, Critic, QNetwork,
                      ReplayBuffer, ddpg_actor_loss, dqn_targets, main, mlp, resolve,
                      soft_update)
from cli import refused
from envs import CARTPOLE_RANDOM_BEST_MEAN_OF_10, best_mean_return

F64 = torch.float64


# --------------------------------------------------------------------------------------------
# dqn_targets, soft_update, ddpg_actor_loss
# --------------------------------------------------------------------------------------------

@given(st.sampled_from([(7,), (5, 3)]), st.integers(2, 4), st.floats(0.0, 1.0),
       st.integers(0, 10**6))
def test_dqn_targets_match_the_formula(shape, n_actions, gamma, seed):
    g = torch.Generator().manual_seed(seed)
    rewards = torch.randn(shape, generator=g, dtype=F64)
    next_q = torch.randn(*shape, n_actions, generator=g, dtype=F64)
    terminated = torch.rand(shape, generator=g) < 0.3
    before = (rewards.clone(), next_q.clone(), terminated.clone())
    y = dqn_targets(rewards, next_q, terminated, gamma)
    flat = [r + (0.0 if d else gamma * max(q)) for r, q, d in
            zip(rewards.reshape(-1).tolist(), next_q.reshape(-1, n_actions).tolist(),
                terminated.reshape(-1).tolist())]
    assert y.shape == shape and y.dtype == F64
    assert torch.allclose(y.reshape(-1), torch.tensor(flat, dtype=F64), rtol=0, atol=1e-12)
    for old, new in zip(before, (rewards, next_q, terminated)):
        assert torch.equal(old, new)  # inputs untouched


def test_double_dqn_selects_with_online_and_values_with_target():
    rewards = torch.tensor([1.0, 2.0, 3.0], dtype=F64)
    terminated = torch.tensor([False, False, True])
    next_q_target = torch.tensor([[5.0, 1.0, 0.0], [0.0, 4.0, 2.0], [9.0, 9.0, 9.0]], dtype=F64)
    next_q_online = torch.tensor([[0.0, 3.0, 1.0], [0.0, 1.0, 7.0], [1.0, 0.0, 0.0]], dtype=F64)
    gamma = 0.5
    double = dqn_targets(rewards, next_q_target, terminated, gamma, next_q_online)
    # online argmax: actions 1 and 2; their target values 1 and 2; the last s' is terminal
    assert torch.equal(double, torch.tensor([1.0 + 0.5 * 1.0, 2.0 + 0.5 * 2.0, 3.0], dtype=F64))
    plain = dqn_targets(rewards, next_q_target, terminated, gamma)  # negative control
    assert torch.equal(plain, torch.tensor([1.0 + 0.5 * 5.0, 2.0 + 0.5 * 4.0, 3.0], dtype=F64))


def test_dqn_targets_are_constants():
    next_q = torch.randn(4, 2, requires_grad=True)
    y = dqn_targets(torch.zeros(4), next_q, torch.zeros(4, dtype=torch.bool), 0.9, next_q * 2)
    assert not y.requires_grad and y.dtype == torch.float32


@pytest.mark.parametrize("tau", [0.005, 0.3, 1.0])
def test_soft_update_is_exact(tau):
    torch.manual_seed(0)
    target, source = nn.Linear(3, 2).double(), nn.Linear(3, 2).double()
    old_t = [p.detach().clone() for p in target.parameters()]
    old_s = [p.detach().clone() for p in source.parameters()]
    soft_update(target, source, tau)
    for t, ot, s, os_ in zip(target.parameters(), old_t, source.parameters(), old_s):
        assert torch.equal(t, (1.0 - tau) * ot + tau * os_)  # bit for bit
        assert torch.equal(s, os_)
    if tau == 1.0:
        assert all(torch.equal(t, s) for t, s in zip(target.parameters(), source.parameters()))


def test_soft_update_with_tau_1_copies_even_a_diverged_target():
    target, source = nn.Linear(3, 2), nn.Linear(3, 2)
    with torch.no_grad():
        target.weight[0, 0], target.bias[1] = float("inf"), float("nan")  # 0 * inf: NaN
    soft_update(target, source, 1.0)
    assert all(torch.equal(t, s) for t, s in zip(target.parameters(), source.parameters()))


def test_soft_update_refuses_other_shapes_or_counts_before_it_changes_anything():
    """copy_ and add_ broadcast: a [1, 2] weight would fill a [2, 2] one without a word, and a
    source with more parameters was caught only after the target's had all been updated."""
    two_layers = lambda out: nn.Sequential(nn.Linear(3, 2), nn.Linear(2, out))
    for tau in (0.5, 1.0):
        for target, source, message in [(two_layers(2), two_layers(1), "soft_update: .*shapes"),
                                        (nn.Linear(3, 2), two_layers(2), "zip")]:
            before = [p.detach().clone() for p in target.parameters()]
            with pytest.raises(ValueError, match=message):
                soft_update(target, source, tau)
            assert all(torch.equal(p, b) for p, b in zip(target.parameters(), before))


def test_ddpg_actor_loss_gradient_is_the_chain_rule():
    torch.manual_seed(3)
    act_space = gym.spaces.Box(np.float32([-2.0, 0.0]), np.float32([2.0, 1.0]))
    actor, critic = Actor(act_space, *mlp(3, 2, [8])).double(), Critic(*mlp(5, 1, [8])).double()
    obs = torch.randn(5, 3, dtype=F64)
    ddpg_actor_loss(critic, actor, obs).backward()
    assert all(p.grad is None for p in critic.parameters())  # the critic is a constant here
    got = torch.cat([p.grad.reshape(-1) for p in actor.parameters()])

    # explicit: -(1/B) sum_i dQ/da(s_i, mu(s_i)) . dmu(s_i)/dtheta
    actions = actor(obs).detach().requires_grad_(True)
    (dq_da,) = torch.autograd.grad(critic(obs, actions).sum(), actions)  # [B, act_dim]
    params = dict(actor.named_parameters())
    jac = torch.autograd.functional.jacobian(
        lambda *ps: torch.func.functional_call(actor, dict(zip(params, ps)), (obs,)),
        tuple(p.detach() for p in params.values()))
    dmu = torch.cat([j.reshape(5, 2, -1) for j in jac], -1)  # [B, act_dim, P]
    expected = -torch.einsum("ba,bap->p", dq_da, dmu) / 5
    assert torch.allclose(got, expected, rtol=0, atol=1e-12)
    assert expected.abs().max() > 1e-3  # a gradient that is not trivially zero


def bare_agent(cls, nets, targets, opts, **cfg):
    """A DQN or DDPG around given networks and optimizers: enough for its update step."""
    agent = object.__new__(cls)
    agent.cfg, agent.nets, agent.targets, agent.opts = Config(**cfg), nets, targets, opts
    agent.stats = {}
    return agent


def test_ddpg_update_targets_terminations_and_polyak_averaging():
    torch.manual_seed(4)
    act_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)

    def networks():
        return {"actor": Actor(act_space, *mlp(3, 2, [8])).double(),
                "critic": Critic(*mlp(5, 1, [8])).double()}
    nets, targets = networks(), networks()
    opts = {k: torch.optim.SGD(net.parameters(), lr=0.0) for k, net in nets.items()}
    batch = {"obs": torch.randn(6, 3, dtype=F64), "actions": torch.rand(6, 2, dtype=F64),
             "rewards": torch.randn(6, dtype=F64), "next_obs": torch.randn(6, 3, dtype=F64),
             "terminated": torch.tensor([True, False, False, True, False, False])}
    weights = torch.rand(6, dtype=F64)
    with torch.no_grad():  # y = r + gamma (1 - terminated) Q'(s', mu'(s')), before the update
        next_q = targets["critic"](batch["next_obs"], targets["actor"](batch["next_obs"]))
        y = batch["rewards"] + 0.9 * (1.0 - batch["terminated"].double()) * next_q
        expected_q = nets["critic"](batch["obs"], batch["actions"])
    old_targets = {k: [p.clone() for p in net.parameters()] for k, net in targets.items()}
    agent = bare_agent(DDPG, nets, targets, opts, gamma=0.9, tau=0.25)
    q, td = agent.update(batch, weights)
    assert torch.allclose(q, expected_q, rtol=0, atol=1e-12)
    assert torch.allclose(td, expected_q - y, rtol=0, atol=1e-12)
    assert agent.stats["loss"] == pytest.approx(
        (weights * (expected_q - y) ** 2).mean().item(), abs=1e-12)
    for k in nets:  # theta- <- tau theta + (1 - tau) theta-, after every step (lr 0: theta fixed)
        for t, old, p in zip(targets[k].parameters(), old_targets[k], nets[k].parameters()):
            assert torch.equal(t, old * 0.75 + 0.25 * p) and not torch.equal(t, old)


def cartpole_dqn(**overrides):
    cfg = resolve(Config(**overrides), gym.spaces.Discrete(2))
    return DQN(cfg, gym.spaces.Box(-1, 1, (4,)), gym.spaces.Discrete(2), torch.device("cpu"))


def test_epsilon_and_beta_schedules():
    # epsilon 1 -> 0.04 over the first 16% of training, then flat; beta 0.4 -> 1 over all of it
    agent, obs, rng = cartpole_dqn(net_arch="4"), np.zeros((1, 4)), np.random.default_rng(0)
    epsilons = []
    for progress in (0.0, 0.08, 0.16, 0.5):
        agent.act(obs, 0, progress, np.zeros(1, bool), rng)
        epsilons.append(agent.stats["epsilon"])
    assert epsilons == pytest.approx([1.0, 0.52, 0.04, 0.04], abs=1e-12)
    agent = cartpole_dqn(net_arch="4", exploration_fraction=0.0)  # no decay phase at all
    agent.act(obs, 0, 0.0, np.zeros(1, bool), rng)
    assert agent.stats["epsilon"] == 0.04
    buffer = ReplayBuffer(8, 4, (), np.int64, 0)
    buffer.add(np.zeros((8, 4)), np.zeros(8), np.zeros(8), np.zeros((8, 4)), np.zeros(8, bool))
    assert agent.learn(buffer, 1, 0.25)["beta"] == "0.55"


def test_dqn_acts_epsilon_greedily_drawing_random_actions_only_for_the_envs_that_explore():
    """Per env: explore with probability epsilon (1 before learning_starts), then a uniform random
    action; otherwise argmax_a Q(s, a). A replica generator replays the draws: one uniform per
    env, then, if any env explores, one random action per env (used where an env explores)."""
    torch.manual_seed(0)
    agent = cartpole_dqn(net_arch="8", num_envs=64, learning_starts=100, exploration_fraction=1.0,
                         exploration_initial_eps=0.5, exploration_final_eps=0.0)
    obs = 10 * np.random.default_rng(1).standard_normal((64, 4)).astype(np.float32)
    with torch.no_grad():
        greedy = agent.nets["q"](torch.as_tensor(obs)).argmax(-1).numpy()
    assert 0 < greedy.sum() < 64  # both actions greedy somewhere: a random one can differ
    rng, replica, resetting = np.random.default_rng(2), np.random.default_rng(2), np.zeros(64, bool)
    for step, progress, eps in [(100, 0.0, 0.5), (99, 0.0, 1.0), (100, 1.0, 0.0), (100, 0.0, 0.5)]:
        explore = replica.random(64) < eps
        expected = (np.where(explore, replica.integers(2, size=64), greedy) if explore.any()
                    else greedy)
        np.testing.assert_array_equal(agent.act(obs, step, progress, resetting, rng), expected)
        assert rng.bit_generator.state == replica.bit_generator.state  # the same draws, no more
        assert agent.stats["epsilon"] == (0.5 if progress == 0 else 0.0)
    assert not explore.all() and explore.any()  # the last call mixed both kinds of env


@pytest.mark.parametrize("loss", ["huber", "mse"])
def test_dqn_loss_is_huber_or_the_squared_td_error(loss):
    """One update on TD errors of 0.5 and 3 (the two sides of Huber's bend at 1), by hand: Huber
    0.5 d^2 for |d| <= 1, |d| - 0.5 beyond; mse d^2. Both steps terminal: y = r."""
    agent = cartpole_dqn(net_arch="4", loss=loss)
    batch = {"obs": torch.zeros(2, 4), "actions": torch.zeros(2), "next_obs": torch.zeros(2, 4),
             "terminated": torch.ones(2, dtype=torch.bool)}
    with torch.no_grad():
        q0 = agent.nets["q"](batch["obs"])[0, 0].item()
    batch["rewards"] = torch.tensor([q0 - 0.5, q0 + 3.0])
    agent.update(batch, torch.ones(2))
    expected = (0.5 * 0.25 + 2.5) / 2 if loss == "huber" else (0.25 + 9.0) / 2
    assert agent.stats["loss"] == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("loss", ["huber", "mse"])
def test_uniform_replay_takes_the_step_of_importance_weights_all_1_bit_for_bit(loss):
    """Uniform replay takes td_loss's own mean, prioritized replay the mean of weights times each
    TD loss: at weights of 1 the same number, so the same steps, to the last bit."""
    rng = np.random.default_rng(0)
    batches = [{"obs": torch.as_tensor(rng.standard_normal((64, 4)), dtype=torch.float32),
                "actions": torch.as_tensor(rng.integers(0, 2, 64)),
                "rewards": torch.as_tensor(3 * rng.standard_normal(64), dtype=torch.float32),
                "next_obs": torch.as_tensor(rng.standard_normal((64, 4)), dtype=torch.float32),
                "terminated": torch.as_tensor(rng.random(64) < 0.2)} for _ in range(20)]
    runs = {}
    for prioritized, weight in [(False, 1.0), (True, 1.0), (True, 0.5)]:
        torch.manual_seed(0)
        agent = cartpole_dqn(net_arch="32,32", loss=loss, prioritized=prioritized)
        for batch in batches:
            q, td = agent.update(batch, torch.full((64,), weight))
        runs[prioritized, weight] = [*agent.nets["q"].parameters(), q, td]
    assert all(torch.equal(a, b) for a, b in zip(runs[False, 1.0], runs[True, 1.0]))
    assert not torch.equal(runs[True, 1.0][0], runs[True, 0.5][0])  # the weights reach the step


@pytest.mark.parametrize("prioritized", [False, True])
def test_learn_draws_uniform_batches_first_and_prioritized_ones_after_each_step(prioritized):
    """Uniform replay draws a round's batches before its first step (the buffer's own generator:
    the indices one draw at a time would give); prioritized replay draws each batch after the
    step before it has moved the priorities, as the sum tree's total shows."""
    agent, rng = cartpole_dqn(net_arch="8", prioritized=prioritized), np.random.default_rng(1)
    buffer = ReplayBuffer(64, 4, (), np.int64, 0, prioritized)
    buffer.add(rng.standard_normal((64, 4)), rng.integers(0, 2, 64), rng.standard_normal(64),
               rng.standard_normal((64, 4)), rng.random(64) < 0.1)
    events, sample, update = [], buffer.sample, agent.update
    buffer.sample = lambda *args: events.append(
        ("sample", None if buffer.tree is None else buffer.tree[1])) or sample(*args)
    agent.update = lambda *args: events.append(("update", None)) or update(*args)
    agent.learn(buffer, 3, 0.5)
    if not prioritized:
        assert [kind for kind, _ in events] == ["sample"] * 3 + ["update"] * 3
    else:
        assert [kind for kind, _ in events] == ["sample", "update"] * 3
        totals = [total for kind, total in events if kind == "sample"]
        assert totals[0] == 64.0 and len(set(totals)) == 3  # each draw after new priorities


def test_dqn_copies_the_target_each_time_the_step_passes_a_multiple_of_c():
    agent, rng = cartpole_dqn(net_arch="4", target_update_interval=10), np.random.default_rng(0)
    copies = []
    for step in (0, 3, 9, 10, 12, 19, 25, 26, 29, 31):  # steps at acting, 1 or more apart
        with torch.no_grad():
            agent.nets["q"].net[0].bias += 1.0  # a learning step, between two actions
        agent.act(np.zeros((1, 4)), step, 0.0, np.zeros(1, bool), rng)
        copies.append(torch.equal(agent.targets["q"].net[0].bias, agent.nets["q"].net[0].bias))
    assert copies == [False, False, False, True, False, False, True, False, False, True]


@pytest.mark.parametrize("noise", ["normal", "ou"])
def test_ddpg_noise_scales_to_the_action_range_and_ou_restarts_each_episode(noise):
    """a = clip(mu(s) + x_t (high - low) / 2, low, high), x_t = sigma eps_t, or OU's
    x_t = x_{t-1} - theta x_{t-1} + sigma eps_t from x = 0 at each episode's first step."""
    space = gym.spaces.Box(np.float32([-2.0, 0.0]), np.float32([2.0, 10.0]))
    cfg = resolve(Config(algo="ddpg", net_arch="8", noise=noise, noise_std=0.3, ou_theta=0.2,
                         learning_starts=0, num_envs=2), space)
    agent = DDPG(cfg, gym.spaces.Box(-1, 1, (3,)), space, torch.device("cpu"))
    obs, x = np.ones((2, 3), np.float32), np.zeros((2, 2))
    with torch.no_grad():
        mu = agent.nets["actor"](torch.as_tensor(obs)).numpy()
    rng, same_draws = np.random.default_rng(0), np.random.default_rng(0)
    for resetting in np.array([[False, False], [True, False], [False, False]]):
        eps = 0.3 * same_draws.standard_normal((2, 2))
        x = np.where(resetting[:, None], 0.0, x) * 0.8 + eps if noise == "ou" else eps
        expected = np.clip(mu + x * np.float32([2.0, 5.0]), space.low, space.high)
        assert not np.array_equal(expected, np.clip(mu, space.low, space.high))  # noise shows
        np.testing.assert_allclose(agent.act(obs, 10, 0.5, resetting, rng), expected, rtol=1e-6)


def test_actor_stays_in_bounds_and_dueling_mean_is_value():
    act_space = gym.spaces.Box(np.float32([-2.0, 0.5]), np.float32([2.0, 1.0]))
    actor = Actor(act_space, *mlp(3, 2, [8]))
    with torch.no_grad():
        a = actor(100 * torch.randn(256, 3))
    assert (a >= torch.tensor([-2.0, 0.5])).all() and (a <= torch.tensor([2.0, 1.0])).all()
    q_net = QNetwork(3, 4, [8, 8], dueling=True)
    obs = torch.randn(6, 3)
    with torch.no_grad():
        value = q_net.value(torch.relu(q_net.net(obs))).squeeze(-1)
        assert torch.allclose(q_net(obs).mean(-1), value, atol=1e-6)  # mean_a A = 0


# --------------------------------------------------------------------------------------------
# Q-learning's fixed point on a tabular MDP, one-hot observations and a linear Q
# --------------------------------------------------------------------------------------------

def tabular_dataset(S=3, A=2, K=4, gamma=0.9, seed=0):
    """Every (s, a) appears K times; its next states (S = the terminal outcome) in the exact
    proportions of P(.|s, a), so the data's own MDP is the MDP. Rewards r(s, a, s') are small
    enough that every TD error near Q* lies in the Huber loss' quadratic region."""
    g = torch.Generator().manual_seed(seed)
    eye = torch.eye(S, dtype=F64)
    obs, actions, rewards, next_obs, terminated = [], [], [], [], []
    P = torch.zeros(S, A, S + 1, dtype=F64)
    R = 0.05 * torch.rand(S, A, S + 1, generator=g, dtype=F64)
    for s in range(S):
        for a in range(A):
            outcomes = torch.multinomial(torch.ones(S + 1), K, replacement=True, generator=g)
            for j in outcomes.tolist():
                P[s, a, j] += 1.0 / K
                obs.append(eye[s])
                actions.append(a)
                rewards.append(R[s, a, j])
                # a terminal s' still has an observation (here s's own), whose Q must be ignored
                next_obs.append(eye[j] if j < S else eye[s])
                terminated.append(j == S)
    batch = {"obs": torch.stack(obs), "actions": torch.tensor(actions),
             "rewards": torch.stack(rewards), "next_obs": torch.stack(next_obs),
             "terminated": torch.tensor(terminated)}
    Q = torch.zeros(S, A, dtype=F64)  # value iteration: Q = sum_s' P (r + gamma V(s')), V(T) = 0
    for _ in range(2000):
        V = torch.cat([Q.max(1).values, torch.zeros(1, dtype=F64)])
        Q = (P * (R + gamma * V)).sum(-1)
    assert P[..., S].min() < 1 and P[..., S].max() > 0  # some transitions terminate, not all
    return batch, Q


def fit_linear_q(batch, gamma, double, S=3, A=2):
    """DQN's own update, full batch, the target network copied every 3 gradient steps."""
    torch.set_num_threads(1)  # as train() does: on tiny tensors threads only add waiting
    torch.manual_seed(0)
    q_net = nn.Linear(S, A, bias=False).double()  # one-hot s: Q(s, a) = W[a, s]
    target_net = nn.Linear(S, A, bias=False).double()
    soft_update(target_net, q_net, 1.0)
    opt = torch.optim.SGD(q_net.parameters(), lr=0.9 * S * A)  # 90% of the way to the target
    weights = torch.ones(len(batch["rewards"]), dtype=F64)
    agent = bare_agent(DQN, {"q": q_net}, {"q": target_net}, {"q": opt}, gamma=gamma,
                       double=double, max_grad_norm=math.inf)
    for _ in range(200):  # ~ value iteration: the error shrinks by about gamma per round
        for _ in range(3):
            agent.update(batch, weights)
        soft_update(target_net, q_net, 1.0)
    return q_net.weight.detach().T  # [S, A]


@pytest.mark.parametrize("double", [False, True])
def test_dqn_with_linear_q_converges_to_q_star(double):
    batch, q_star = tabular_dataset(gamma=0.9)
    q = fit_linear_q(batch, 0.9, double)
    assert torch.allclose(q, q_star, rtol=0, atol=1e-8)
    # negative control: treating terminations as bootstrapped moves the fixed point
    wrong = dict(batch, terminated=torch.zeros_like(batch["terminated"]))
    assert (fit_linear_q(wrong, 0.9, double) - q_star).abs().max() > 1e-2


# --------------------------------------------------------------------------------------------
# Replay buffer and sum tree
# --------------------------------------------------------------------------------------------

def filled_buffer(capacity, n, prioritized=False, seed=0):
    buffer = ReplayBuffer(capacity, 2, (), np.int64, seed, prioritized)
    for k in range(n):
        obs = np.full((1, 2), k, np.float32)
        buffer.add(obs, np.array([k]), np.array([float(k)]), obs + 0.5, np.array([k % 3 == 0]))
    return buffer


@pytest.mark.parametrize("prioritized", [False, True])
def test_ring_buffer_overwrites_oldest_first_and_keeps_terminated(prioritized):
    """The first add writes rows 0-2 (a slice), the second 3, 0, 1 (it wraps around): the rows,
    and with prioritized replay the leaves of the rows written, which take the largest priority."""
    buffer = ReplayBuffer(4, 2, (), np.int64, 0, prioritized)
    for start in (0, 3):  # two adds of 3 transitions each: the second wraps around
        k = np.arange(start, start + 3)
        buffer.add(np.stack([k, k], 1), k, k.astype(float), np.stack([k, k], 1) + 0.5, k % 2 == 1)
        if prioritized and start == 0:
            buffer.update_priorities(np.arange(3), np.array([8.0, 2.0, 0.5]))
    assert buffer.size == 4 and buffer.pos == 2
    assert buffer.data["rewards"].tolist() == [4.0, 5.0, 2.0, 3.0]
    assert buffer.data["actions"].tolist() == [4, 5, 2, 3]
    assert buffer.data["terminated"].tolist() == [False, True, False, True]
    assert buffer.data["next_obs"][:, 0].tolist() == [4.5, 5.5, 2.5, 3.5]
    if prioritized:  # rows 3, 0, 1: the largest p^alpha yet (row 0's); row 2 keeps its own
        top, low = ((np.array([8.0, 0.5]) + buffer.eps) ** buffer.alpha).tolist()
        assert buffer.tree[buffer.n_leaves:].tolist() == [top, top, low, top]
        assert buffer.tree[1] == pytest.approx(3 * top + low, rel=1e-12)


@pytest.mark.parametrize("prioritized", [False, True])
def test_sampling_only_filled_slots(prioritized):
    buffer = filled_buffer(16, 5, prioritized)
    for _ in range(50):
        idx, batch, weights = buffer.sample(32, beta=0.5)
        assert idx.min() >= 0 and idx.max() < 5
        assert np.array_equal(batch["rewards"], idx.astype(np.float32))  # rows stay together
        assert np.array_equal(batch["terminated"], idx % 3 == 0)
        assert np.array_equal(batch["next_obs"][:, 0], idx + 0.5)
        assert weights.shape == (32,) and weights.max() == 1.0
    assert len(np.unique(np.concatenate([buffer.sample(32)[0] for _ in range(10)]))) == 5


def chi_square_p_value(counts, probs):
    expected = counts.sum() * probs
    stat = ((counts - expected) ** 2 / expected).sum()
    df = len(counts) - 1
    return torch.special.gammaincc(torch.tensor(df / 2, dtype=F64),
                                   torch.tensor(stat / 2, dtype=F64)).item()


def test_prioritized_sampling_follows_priorities():
    n, alpha = 10, 0.6
    buffer = filled_buffer(n, n, prioritized=True, seed=1)
    buffer.alpha = alpha
    td_errors = np.array([0.1, 0.5, 1.0, 2.0, 0.0, 3.0, 0.2, 0.7, 1.5, 0.05])
    buffer.update_priorities(np.arange(n), td_errors)
    probs = (np.abs(td_errors) + buffer.eps) ** alpha
    probs /= probs.sum()
    counts = np.zeros(n)
    beta = 0.4
    for _ in range(1000):
        idx, _, weights = buffer.sample(32, beta)
        np.add.at(counts, idx, 1)
        w = (n * probs[idx]) ** -beta  # the importance weights of Schaul et al.
        assert np.allclose(weights, w / w.max(), rtol=1e-6)
    assert chi_square_p_value(counts, probs) > 1e-3
    # the test has power: the same counts reject uniform sampling and alpha = 1
    assert chi_square_p_value(counts, np.full(n, 1 / n)) < 1e-12
    p1 = np.abs(td_errors) + buffer.eps
    assert chi_square_p_value(counts, p1 / p1.sum()) < 1e-12


class FixedDraws:
    """Stands in for the buffer's generator: random(n) returns the given uniforms."""

    def __init__(self, uniforms):
        self.uniforms = np.asarray(uniforms, dtype=float)

    def random(self, n):
        assert n == len(self.uniforms)
        return self.uniforms


# A priority is 0 (here: an empty leaf) or at least a run's smallest, eps^alpha = (1e-6)^0.6,
# about 2.5e-4. From 1e-6 to 1e3 spans nine orders of magnitude, and no subnormal priority makes
# sample()'s weight (N P(i))^-beta overflow (the CI log of 2026-12-04 showed that warning here).
PRIORITIES = st.one_of(st.just(0.0), st.floats(1e-6, 1e3))


@given(st.integers(1, 20), st.lists(st.tuples(st.integers(0, 19), PRIORITIES),
                                     min_size=1, max_size=60))
def test_sum_tree_totals_stay_exact_under_updates(capacity, updates):
    buffer = filled_buffer(capacity, capacity, prioritized=True)
    buffer.set_priorities(np.arange(capacity), 0.0)
    leaves = np.zeros(capacity)
    for i, p in updates:
        i %= capacity
        buffer.set_priorities(np.array([i]), p)
        leaves[i] = p
    tree, inner = buffer.tree, np.arange(1, buffer.n_leaves)
    # each inner node is exactly the sum of its children: no drift, however many updates
    assert np.array_equal(tree[inner], tree[2 * inner] + tree[2 * inner + 1])
    assert np.array_equal(tree[buffer.n_leaves:buffer.n_leaves + capacity], leaves)
    assert tree[1] == pytest.approx(math.fsum(leaves), rel=1e-12, abs=0)
    if tree[1] > 0:  # prefix sums map to the right leaves, never to an empty one
        buffer.rng = FixedDraws(np.zeros(50))  # prefixes k total / 50, k = 0..49
        found = buffer.sample(50)[0]
        assert (leaves[found] > 0).all() and np.all(np.diff(found) >= 0)
        # the middle of leaf i's interval [sum p[:i], sum p[:i+1]) finds leaf i
        for i in np.flatnonzero(leaves > 1e-6 * tree[1]):
            buffer.rng = FixedDraws([(leaves[:i].sum() + leaves[i] / 2) / tree[1]])
            assert buffer.sample(1)[0].tolist() == [i]


# --------------------------------------------------------------------------------------------
# The training loop: what enters the buffer, the command line, the outputs
# --------------------------------------------------------------------------------------------

gym.register(id="DqnDdpgShortCartPole-v0", max_episode_steps=15,
             entry_point="gymnasium.envs.classic_control.cartpole:CartPoleEnv")

TINY_DQN = ["--total-timesteps", "300", "--learning-starts", "100", "--train-freq", "50",
            "--gradient-steps", "2", "--net-arch", "16", "--eval-episodes", "2", "--quiet"]


def run_main(args, capsys):
    result = main(args)
    out = capsys.readouterr().out.strip().splitlines()
    assert json.loads(out[-1]) == result  # the last stdout line is the result as JSON
    return result


def assert_eval_only_reproduces(result, episodes, capsys):
    again = run_main(["--eval-only", "--checkpoint", os.path.join(result["run_dir"], "model.pt"),
                      "--eval-episodes", str(episodes)], capsys)
    assert again["eval_only"] and again["algo"] == result["algo"]
    assert again["eval_return_mean"] == result["eval_return_mean"]
    assert again["eval_return_std"] == result["eval_return_std"]


def assert_exits_2(args, message, capsys):
    line = refused(main, args, capsys)
    assert message in line, line


def test_buffer_holds_true_transitions_with_truncation_and_autoreset(tmp_path, capsys):
    """With 2 vector envs and a 15-step time limit: every stored (s, a, s') obeys CartPole's
    Euler step (a reset would break it), `terminated` is exactly the failure condition, and
    time-limit endings are stored as non-terminal with their true final observation."""
    run_dir = str(tmp_path / "run")
    result = run_main(TINY_DQN + ["--env-id", "DqnDdpgShortCartPole-v0", "--num-envs", "2",
                                  "--save-buffer", "--run-dir", run_dir], capsys)
    buf = torch.load(os.path.join(run_dir, "model.pt"), weights_only=True)["buffer"]
    obs, next_obs = buf["obs"].double(), buf["next_obs"].double()
    assert len(obs) == result["global_step"] >= 300
    assert torch.allclose(next_obs[:, 0], obs[:, 0] + 0.02 * obs[:, 1], atol=1e-5)  # x += tau x'
    assert torch.allclose(next_obs[:, 2], obs[:, 2] + 0.02 * obs[:, 3], atol=1e-5)
    # negative control: pairing each obs with another transition's next_obs breaks the check
    assert not torch.allclose(next_obs[1:, 0], obs[:-1, 0] + 0.02 * obs[:-1, 1], atol=1e-5)
    failed = (next_obs[:, 0].abs() > 2.4) | (next_obs[:, 2].abs() > 12 * 2 * math.pi / 360)
    assert torch.equal(buf["terminated"], failed)
    rows = np.loadtxt(os.path.join(run_dir, "progress.csv"), delimiter=",", skiprows=1, ndmin=2)
    # every episode shorter than the limit terminated; at least one ended by truncation alone,
    # and its last transition is stored as not terminal
    assert (rows[:, 2] < 15).sum() <= buf["terminated"].sum() < len(rows)
    assert rows[:, 2].sum() <= len(obs) < rows[:, 2].sum() + 2 * 15  # + unfinished episodes
    # reward 1 a step: a return is its length, neither counting an autoreset step (reward 0)
    assert (rows[:, 1] == rows[:, 2]).all() and (rows[:, 2] > 0).all()


def test_max_grad_norm_inf_is_no_clipping(tmp_path, capsys):
    """inf skips the clipping; a norm far above every gradient's clips by 1.0 exactly: the same
    weights bit for bit. A small norm does clip, and changes them (the check can fail)."""
    weights = {}
    for norm in ("inf", "1e9", "1e-3"):
        run_main(TINY_DQN + ["--max-grad-norm", norm, "--run-dir", str(tmp_path / norm)], capsys)
        weights[norm] = torch.load(tmp_path / norm / "model.pt", weights_only=True)["q"]
    assert all(torch.equal(v, weights["1e9"][k]) for k, v in weights["inf"].items())
    assert not all(torch.equal(v, weights["1e-3"][k]) for k, v in weights["inf"].items())


def test_dqn_variants_run_resolve_their_defaults_and_eval_only_rebuilds_them(tmp_path, capsys):
    run_dir = str(tmp_path / "dqn")
    result = run_main(TINY_DQN + ["--double", "--dueling", "--prioritized", "--run-dir",
                                  run_dir], capsys)
    assert result["algo"] == "dqn_ddpg" and result["variant"] == "dqn"
    config = json.load(open(os.path.join(run_dir, "config.json")))
    assert config["algo"] == "dqn" and config["net_arch"] == "16" and config["gamma"] == 0.99
    assert config["noise"] is None  # DDPG's flags stay unset in a DQN run
    assert "buffer" not in torch.load(os.path.join(run_dir, "model.pt"), weights_only=True)
    assert_eval_only_reproduces(result, 2, capsys)  # the dueling head, rebuilt from config


def test_ddpg_run_with_ou_noise_and_eval_only_reproduces(tmp_path, capsys):
    run_dir = str(tmp_path / "ddpg")
    result = run_main(["--env-id", "Pendulum-v1", "--total-timesteps", "300", "--learning-starts",
                       "100", "--batch-size", "32", "--net-arch", "16,16", "--noise", "ou",
                       "--eval-episodes", "1", "--quiet", "--run-dir", run_dir], capsys)
    assert result["variant"] == "ddpg" and result["global_step"] == 300
    updates = np.loadtxt(os.path.join(run_dir, "updates.csv"), delimiter=",", skiprows=1)
    assert len(updates) == 200  # train_freq 1: one round per step after learning_starts
    assert_eval_only_reproduces(result, 1, capsys)


def test_each_algorithm_resolves_its_own_defaults():
    dqn = resolve(Config(), gym.spaces.Discrete(2))
    ddpg = resolve(Config(env_id="Pendulum-v1"), gym.spaces.Box(-2.0, 2.0, (1,), np.float32))
    # RL Zoo's tuned CartPole-v1 and Pendulum-v1 settings, as before the flags were split
    assert (dqn.algo, dqn.total_timesteps, dqn.learning_rate, dqn.gamma, dqn.batch_size,
            dqn.learning_starts, dqn.train_freq, dqn.gradient_steps, dqn.tau,
            dqn.target_update_interval, dqn.net_arch, dqn.exploration_fraction,
            dqn.exploration_initial_eps, dqn.exploration_final_eps, dqn.max_grad_norm,
            dqn.double, dqn.dueling) == ("dqn", 50_000, 2.3e-3, 0.99, 64, 1000, 256, 128, 1.0,
                                         10, "256,256", 0.16, 1.0, 0.04, 10.0, False, False)
    assert (ddpg.algo, ddpg.total_timesteps, ddpg.learning_rate, ddpg.gamma, ddpg.batch_size,
            ddpg.learning_starts, ddpg.train_freq, ddpg.gradient_steps, ddpg.tau, ddpg.net_arch,
            ddpg.noise, ddpg.noise_std, ddpg.ou_theta) == (
        "ddpg", 20_000, 1e-3, 0.98, 256, 10_000, 1, 1, 0.005, "400,300", "normal", 0.1, 0.15)
    assert dqn.noise is dqn.noise_std is dqn.ou_theta is None
    assert ddpg.double is ddpg.dueling is ddpg.max_grad_norm is ddpg.exploration_fraction is None
    given = resolve(Config(gamma=0.5, batch_size=7), gym.spaces.Discrete(2))
    assert (given.gamma, given.batch_size) == (0.5, 7)  # what was given stays


def test_help_tags_each_flag_of_one_algorithm(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split("options:")[1].split())
    dqn, ddpg = (set(ALGO_DEFAULTS[a]) for a in ("dqn", "ddpg"))
    for name in Config.__dataclass_fields__:
        tag = "[DQN]" if name in dqn - ddpg else "[DDPG]" if name in ddpg - dqn else None
        flag = "--" + name.replace("_", "-")
        helps = re.findall(rf"{flag}(?:, --no-{flag[2:]})?(?: [A-Z_]+| {{[a-z,]+}})? +(\S+)",
                           text)
        assert helps and all((h == tag) if tag else not h.startswith("[D") for h in helps), flag
    assert {"target_update_interval", "double", "dueling", "noise", "ou_theta"} <= dqn ^ ddpg


def test_a_buffer_too_big_for_memory_is_refused_before_the_logs_are_written(tmp_path, capsys):
    args = ["--buffer-size", str(10**15), "--run-dir", str(tmp_path / "r"), "--quiet"]  # 16 PB
    assert_exits_2(args, "allocate", capsys)
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("args, message", [
    (["--env-id", "Pendulum-v1", "--algo", "dqn"], "dqn needs Discrete actions"),
    (["--algo", "ddpg"], "ddpg needs Box actions"),
    (["--env-id", "Pendulum-v1", "--dueling"], "--dueling: dqn only"),
    (["--env-id", "Pendulum-v1", "--no-double", "--max-grad-norm", "1"],
     "--max-grad-norm --double: dqn only"),
    (["--noise", "ou"], "--noise: ddpg only"),
    (["--env-id", "Pendulum-v1", "--loss", "mse"], "--loss: dqn only"),
    (["--algo", "dqn", "--ou-theta", "0.2", "--noise-std", "0.3"],
     "--noise-std --ou-theta: ddpg only"),
    (["--net-arch", "64,-1"], "--net-arch"),
    (["--net-arch", "a"], "--net-arch"),
    (["--net-arch", "64,\u00b2"], "--net-arch"),  # a digit to isdigit(), not to int()
    (["--env-id", "Pendulum-v1", "--noise-std", "nan"], "--noise-std"),
    (["--target-update-interval", "0"], "--target-update-interval"),
])
def test_bad_algorithm_flags_exit_2_with_one_line(args, message, tmp_path, capsys):
    assert_exits_2(args + ["--run-dir", str(tmp_path / "r"), "--quiet"], message, capsys)


@pytest.mark.parametrize("args, advice, fixed", [
    (["--env-id", "Pendulum-v1", "--algo", "dqn", "--double"], "use --algo ddpg without --double",
     ["--env-id", "Pendulum-v1", "--algo", "ddpg"]),
    (["--env-id", "Pendulum-v1", "--dueling"], "drop it", ["--env-id", "Pendulum-v1"]),
    (["--env-id", "Pendulum-v1", "--algo", "dqn", "--noise", "ou"], "has Box(-2.0, 2.0, (1,), "
     "float32): use --algo ddpg", ["--env-id", "Pendulum-v1", "--algo", "ddpg", "--noise", "ou"]),
    (["--noise", "ou", "--noise-std", "0.2"], "drop them", []),
])
def test_the_advice_of_an_algorithm_error_works_when_followed(args, advice, fixed, tmp_path,
                                                                capsys):
    tiny = ["--total-timesteps", "50", "--learning-starts", "20", "--net-arch", "8",
            "--eval-episodes", "1", "--quiet"]
    assert_exits_2(args + tiny + ["--run-dir", str(tmp_path / "a")], advice, capsys)
    run_main(fixed + tiny + ["--run-dir", str(tmp_path / "b")], capsys)


def test_eval_only_on_an_env_of_other_actions_says_to_drop_env_id(tmp_path, capsys):
    run_dir = str(tmp_path / "cp")
    result = run_main(TINY_DQN + ["--total-timesteps", "50", "--run-dir", run_dir], capsys)
    checkpoint = os.path.join(run_dir, "model.pt")
    assert_exits_2(["--eval-only", "--checkpoint", checkpoint, "--env-id", "Pendulum-v1"],
                   "drop --env-id", capsys)
    assert_exits_2(["--eval-only", "--checkpoint", checkpoint, "--noise", "ou"],
                   "--noise: ddpg only", capsys)
    assert_exits_2(["--eval-only", "--checkpoint", checkpoint, "--algo", "ddpg"],
                   "or --algo", capsys)
    assert_eval_only_reproduces(result, 2, capsys)  # all three advices: drop what was given


# --------------------------------------------------------------------------------------------
# Learning: far better than random on small budgets
# --------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_dqn_learns_cartpole(tmp_path, capsys):
    """Small nets, one gradient step per env step in rounds of 64: faster on a CPU than the
    256-256 default. DQN's return on CartPole rises and falls between training rounds (seeds
    1-5 here ended 15k steps at a greedy return of 95 to 500, and a CI run once ended seed 1 at
    15), so the final evaluation alone is no test of learning; the training curve is.
    Random actions never average more than 36 over 10 episodes in a row; here every seed's
    best 10-episode mean was 212 to 500."""
    result = run_main(["--total-timesteps", "15000", "--net-arch", "64,64", "--train-freq", "64",
                       "--gradient-steps", "64", "--eval-episodes", "5", "--quiet",
                       "--run-dir", str(tmp_path)], capsys)
    assert best_mean_return(result["run_dir"]) > 3 * CARTPOLE_RANDOM_BEST_MEAN_OF_10


@pytest.mark.slow
def test_ddpg_learns_pendulum(tmp_path, capsys):
    # a random policy averages about -1200 on Pendulum-v1
    result = run_main(["--env-id", "Pendulum-v1", "--total-timesteps", "6000",
                       "--learning-starts", "1000", "--batch-size", "128", "--net-arch", "64,64",
                       "--eval-episodes", "5", "--quiet", "--run-dir", str(tmp_path)], capsys)
    assert result["eval_return_mean"] > -400
