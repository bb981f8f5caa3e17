"""actor_critic.py: n-step targets, the lecture's bias table shown exactly, the semi-gradient.

Expectations are sums over every trajectory of a tiny tabular MDP (tests/support/mdp.py), compared with
grad J(theta) in closed form; nothing is sampled except in the learning tests.
"""
import dataclasses

import gymnasium as gym
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import actor_critic
from actor_critic import ActorCritic, actor_critic_losses, n_step_returns, td_targets
from envs import CARTPOLE_RANDOM_BEST_MEAN_OF_10, best_mean_return
from mdp import (enumerate_trajectories, exact_grad_J, exact_values, expected_gradient,
                 policy_probs, random_mdp, random_theta)

EXACT = 1e-8  # float64 sums of at most 6561 terms: round-off is ~1e-14


def close(a, b, atol=EXACT):
    """|a - b| <= atol elementwise: an absolute tolerance only (allclose's rtol is 1e-5)."""
    return torch.allclose(a, b, rtol=0, atol=atol)


# --- n_step_returns and td_targets against their definitions ----------------------------------

@st.composite
def rollouts(draw):
    """Random [T, N] rewards, next values and episode ends (terminated, truncated or neither)."""
    T, N, seed = draw(st.integers(1, 8)), draw(st.integers(1, 3)), draw(st.integers(0, 10**6))
    p_term, p_trunc = draw(st.floats(0, 0.5)), draw(st.floats(0, 0.5))
    g = torch.Generator().manual_seed(seed)
    rewards = torch.randn(T, N, generator=g, dtype=torch.float64)
    next_values = 10 * torch.randn(T, N, generator=g, dtype=torch.float64)
    terminated = torch.rand(T, N, generator=g, dtype=torch.float64) < p_term
    truncated = (torch.rand(T, N, generator=g, dtype=torch.float64) < p_trunc) & ~terminated
    return rewards, next_values, terminated, terminated | truncated


def brute_force_n_step(rewards, next_values, terminated, episode_end, gamma, n):
    """Walk forward from each t until n steps, the episode's end or the rollout's end."""
    T, N = rewards.shape
    out = torch.zeros_like(rewards)
    for i in range(N):
        for t in range(T):
            k, total = 0, 0.0
            while True:
                total += gamma**k * rewards[t + k, i]
                if k + 1 == n or episode_end[t + k, i] or t + k == T - 1:
                    if not terminated[t + k, i]:
                        total += gamma ** (k + 1) * next_values[t + k, i]
                    break
                k += 1
            out[t, i] = total
    return out


@given(rollouts(), st.floats(0.0, 1.0), st.integers(1, 10))
def test_n_step_returns_is_the_definition(rollout, gamma, n):
    got = n_step_returns(*rollout, gamma, n)
    assert got.dtype == torch.float64 and got.shape == rollout[0].shape
    assert close(got, brute_force_n_step(*rollout, gamma, n), atol=1e-12)
    # a single trajectory [T] gives the same numbers as a column of [T, N]
    column = n_step_returns(*(x[:, 0] for x in rollout), gamma, n)
    assert close(column, got[:, 0], atol=1e-12)


@given(rollouts(), st.floats(0.0, 1.0), st.integers(1, 10))
def test_n_step_returns_differentiate_as_the_definition_in_rewards_and_values(rollout, gamma, n):
    """y is linear in r and V: d y_t / d r_{t+k} = gamma^k inside t's window, d y_t / d V = the
    bootstrap's gamma^m or 0; autograd must reach both (no saved tensor changed in place)."""
    rewards, next_values, terminated, episode_end = rollout
    direction = torch.randn(rewards.shape, dtype=torch.float64,
                            generator=torch.Generator().manual_seed(int(1e6 * gamma) + n))
    grads = []
    for targets in (n_step_returns, brute_force_n_step):
        r, v = rewards.clone().requires_grad_(), next_values.clone().requires_grad_()
        y = targets(r, v, terminated, episode_end, gamma, n)
        grads.append(torch.autograd.grad((y * direction).sum(), (r, v), materialize_grads=True))
    assert all(close(got, want, atol=1e-12) for got, want in zip(*grads))
    assert grads[0][0].abs().sum() > 0  # r_t enters y_t with weight 1: a gradient to compare


@given(rollouts(), st.floats(0.0, 1.0))
def test_one_step_returns_are_td_targets(rollout, gamma):
    rewards, next_values, terminated, episode_end = rollout
    expected = rewards + gamma * (1 - terminated.double()) * next_values  # r + gamma (1-term) V(s')
    assert close(td_targets(rewards, next_values, terminated, gamma), expected,
                          atol=1e-12)
    assert close(n_step_returns(*rollout, gamma, 1), expected, atol=1e-12)


@given(rollouts(), st.floats(0.0, 1.0), st.integers(0, 5))
def test_long_n_gives_the_return_bootstrapped_only_at_truncation_or_rollout_end(rollout, gamma,
                                                                                extra):
    rewards, next_values, terminated, episode_end = rollout
    T = rewards.shape[0]
    # backward recursion G_t = r_t + gamma * (G_{t+1} inside the episode, else the bootstrap)
    bootstrap = torch.where(terminated, 0.0, next_values)
    G = torch.zeros_like(rewards)
    following = bootstrap[-1]
    for t in reversed(range(T)):
        following = torch.where(episode_end[t], bootstrap[t], following)
        G[t] = rewards[t] + gamma * following
        following = G[t]
    assert close(n_step_returns(*rollout, gamma, T + extra), G, atol=1e-12)


def test_pure_functions_keep_dtype_and_leave_inputs_alone():
    rewards = torch.tensor([1.0, 2.0, 3.0])
    next_values = torch.tensor([0.5, float("inf"), 2.0])  # a terminal state's V is never used
    terminated = torch.tensor([False, True, False])
    inputs = [x.clone() for x in (rewards, next_values, terminated)]
    for out in (td_targets(rewards, next_values, terminated, 0.9),
                n_step_returns(rewards, next_values, terminated, terminated, 0.9, 3)):
        assert out.dtype == torch.float32 and out.shape == (3,) and torch.isfinite(out).all()
    assert close(n_step_returns(rewards, next_values, terminated, terminated, 0.9, 3),
                          torch.tensor([1 + 0.9 * 2, 2.0, 3 + 0.9 * 2.0]))
    for before, after in zip(inputs, (rewards, next_values, terminated)):
        assert torch.equal(before, after)


@pytest.mark.parametrize("shape", [(0,), (0, 3)])
def test_an_empty_rollout_gives_empty_returns_of_the_promoted_dtype(shape):
    """T = 0 (every n >= T): no rows to stack; integer rewards promote to V's float dtype."""
    empty = torch.zeros(shape, dtype=torch.bool)
    got = n_step_returns(torch.zeros(shape, dtype=torch.int64), torch.zeros(shape), empty, empty,
                         0.9, 5)
    assert got.shape == shape and got.dtype == torch.float32


# --- the lecture's bias table, exactly ---------------------------------------------------------

mdps = st.tuples(st.integers(2, 3), st.integers(2, 3), st.integers(3, 4), st.integers(0, 10**6))


def exact_problem(shape, gamma, perturbation_seed=None):
    """MDP, theta, every trajectory, and V_t(s_t), V_{t+1}(s_{t+1}) of the exact or a wrong V."""
    S, A, H, seed = shape
    mdp = random_mdp(S, A, H, seed)
    theta = random_theta(mdp, seed)
    probs = policy_probs(theta)
    trajs = enumerate_trajectories(mdp, probs)
    V, Q = exact_values(mdp, probs, gamma)
    if perturbation_seed is not None:  # an imperfect critic; V_H = 0 stays (terminal)
        g = torch.Generator().manual_seed(perturbation_seed)
        V = V + torch.cat([torch.randn(H, S, generator=g, dtype=torch.float64),
                           torch.zeros(1, S, dtype=torch.float64)])
    return mdp, theta, trajs, V, Q


def estimator(trajs, gamma, psi):
    """lp [K, H] -> [K]: the per-trajectory estimate sum_t gamma^t grad log pi(a_t|s_t) psi_t."""
    discount = gamma ** torch.arange(trajs.horizon, dtype=torch.float64)
    return lambda lp: (discount * lp * psi).sum(1)


def one_step_advantages(trajs, V, gamma):
    values, next_values = trajs.values(V)
    return td_targets(trajs.rewards, next_values, trajs.terminated(), gamma) - values


def n_step_advantages(trajs, V, gamma, n):
    values, next_values = trajs.values(V)
    term = trajs.terminated()
    return n_step_returns(trajs.rewards.T, next_values.T, term.T, term.T, gamma, n).T - values


def rewards_to_go(trajs, gamma):
    discount = gamma ** torch.arange(trajs.horizon, dtype=torch.float64)
    return (trajs.rewards * discount).flip(1).cumsum(1).flip(1) / discount  # G_t


def predicted_td_bias(mdp, theta, V_error, gamma):
    """With V' = V + e: E[one-step estimate] - grad J
    = sum_t gamma^(t+1) E[grad log pi(a_t|s_t) e_{t+1}(s_{t+1})]
    = grad_theta sum_t gamma^(t+1) sum_{s,a} d_t(s) pi_theta(a|s) sum_s' P(s'|s,a) e_{t+1}(s'),
    the state distribution d_t held fixed: a forward-DP formula, not the enumeration."""
    theta = theta.detach().clone().requires_grad_(True)
    pi = torch.softmax(theta, -1)
    d = mdp.init
    total = torch.zeros((), dtype=torch.float64)
    for t in range(mdp.horizon - 1):  # at the last step the successor is terminal: no bootstrap
        total = total + gamma ** (t + 1) * (d[:, None] * pi * (mdp.P @ V_error[t + 1])).sum()
        d = torch.einsum("s,sa,sat->t", d, pi, mdp.P).detach()
    (grad,) = torch.autograd.grad(total, theta)
    return grad.reshape(-1)


@settings(max_examples=10)  # each example enumerates up to 6561 trajectories five times
@given(mdps, st.floats(0.5, 1.0))
def test_one_step_advantage_with_the_exact_critic_is_unbiased(shape, gamma):
    mdp, theta, trajs, V, Q = exact_problem(shape, gamma)
    psi = one_step_advantages(trajs, V, gamma)  # r_t + gamma V(s_{t+1}) - V(s_t)
    exact = exact_grad_J(mdp, theta, gamma)
    assert close(expected_gradient(theta, trajs, estimator(trajs, gamma, psi)), exact,
                          atol=EXACT)
    # the other rows of the table with exact V and Q: G_t, Q(s_t, a_t), Q - V, G_t - V
    values, _ = trajs.values(V)
    q = Q[torch.arange(trajs.horizon), trajs.states, trajs.actions]
    for psi in (rewards_to_go(trajs, gamma), q, q - values, rewards_to_go(trajs, gamma) - values):
        assert close(expected_gradient(theta, trajs, estimator(trajs, gamma, psi)),
                              exact, atol=EXACT)


@settings(max_examples=10)
@given(mdps, st.floats(0.5, 1.0), st.integers(0, 10**6))
def test_a_wrong_critic_biases_the_td_advantage_but_not_return_minus_baseline(shape, gamma, seed):
    mdp, theta, trajs, V_wrong, _ = exact_problem(shape, gamma, perturbation_seed=seed)
    _, _, _, V, _ = exact_problem(shape, gamma)
    exact = exact_grad_J(mdp, theta, gamma)

    def expectation(psi):
        return expected_gradient(theta, trajs, estimator(trajs, gamma, psi))

    # r + gamma V'(s') - V'(s): biased, by exactly the bootstrap error's correlation with the score
    td = expectation(one_step_advantages(trajs, V_wrong, gamma))
    predicted = predicted_td_bias(mdp, theta, V_wrong - V, gamma)
    assert close(td - exact, predicted, atol=EXACT)
    assert predicted.norm() > 1e-3  # the bias is really there: the test can tell
    # G_t - V'(s_t): the critic only as a baseline, unbiased whatever its error
    values_wrong, _ = trajs.values(V_wrong)
    assert close(expectation(rewards_to_go(trajs, gamma) - values_wrong), exact,
                          atol=EXACT)
    # n-step: n >= H reaches the episode's end and is the same unbiased estimator
    assert close(expectation(n_step_advantages(trajs, V_wrong, gamma, trajs.horizon)),
                          exact, atol=EXACT)
    assert close(expectation(n_step_advantages(trajs, V_wrong, gamma, 1)), td,
                          atol=EXACT)


def test_n_step_bias_shrinks_to_zero_as_n_reaches_the_horizon():
    """The bias of the n-step advantage with a wrong critic: nonzero for n < H, zero at n = H."""
    gamma, shape = 0.9, (3, 2, 4, 11)
    mdp, theta, trajs, V_wrong, _ = exact_problem(shape, gamma, perturbation_seed=3)
    exact = exact_grad_J(mdp, theta, gamma)
    biases = [(expected_gradient(theta, trajs, estimator(
        trajs, gamma, n_step_advantages(trajs, V_wrong, gamma, n))) - exact).norm()
        for n in range(1, trajs.horizon + 1)]
    assert all(b > 1e-3 for b in biases[:-1]) and biases[-1] < EXACT


# --- the critic's semi-gradient and the actor's constant advantage -----------------------------

def random_batch(T=5, N=3, obs_dim=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    obs = torch.randn(T, N, obs_dim, generator=g, dtype=torch.float64)
    next_obs = torch.randn(T, N, obs_dim, generator=g, dtype=torch.float64)
    actions = torch.randint(0, 3, (T, N), generator=g)
    rewards = torch.randn(T, N, generator=g, dtype=torch.float64)
    terminated = torch.rand(T, N, generator=g) < 0.2
    episode_end = terminated | (torch.rand(T, N, generator=g) < 0.2)
    return obs, actions, rewards, next_obs, terminated, episode_end


@pytest.mark.parametrize("shared_trunk", [False, True])
@pytest.mark.parametrize("n", [1, 3])
def test_critic_update_is_a_semi_gradient(shared_trunk, n):
    """grad of the value loss = -mean (y_t - V(s_t)) grad V(s_t): nothing through V(s_{t+m})."""
    torch.manual_seed(0)
    agent = ActorCritic(4, gym.spaces.Discrete(3), 16, shared_trunk, 0.0).double()
    obs, actions, rewards, next_obs, terminated, episode_end = random_batch()
    gamma, params = 0.9, list(agent.parameters())
    _, value_loss, _ = actor_critic_losses(agent, obs, actions, rewards, next_obs, terminated,
                                           episode_end, gamma, n)
    got = torch.autograd.grad(value_loss, params, allow_unused=True)

    values = agent.value(obs)
    targets = n_step_returns(rewards, agent.value(next_obs), terminated, episode_end, gamma, n)
    semi = torch.autograd.grad(values, params, grad_outputs=-(targets - values).detach()
                               / values.numel(), retain_graph=True, allow_unused=True)
    full = torch.autograd.grad(0.5 * ((targets - values) ** 2).mean(), params,
                               allow_unused=True)  # the residual gradient: target differentiated
    flat = [torch.cat([torch.zeros(p.numel(), dtype=p.dtype) if g is None else g.reshape(-1)
                       for g, p in zip(grads, params)]) for grads in (got, semi, full)]
    assert close(flat[0], flat[1], atol=1e-12)
    assert (flat[0] - flat[2]).norm() > 1e-3  # a target computed without detaching is caught


@pytest.mark.parametrize("shared_trunk", [False, True])
@pytest.mark.parametrize("space", [gym.spaces.Discrete(3), gym.spaces.Box(-1, 1, (2,))],
                         ids=["discrete", "gaussian"])
def test_agent_gives_its_distributions_numbers_and_draws(space, shared_trunk):
    """forward's log pi(a|s) and entropy are bit for bit those of torch's Categorical / Normal on
    the same outputs (no object is built for them); act's greedy actions are theirs, and one seed
    draws the same actions (discrete: from softmax(logits), Categorical's probs up to rounding)."""
    torch.manual_seed(0)
    agent, obs = ActorCritic(4, space, 16, shared_trunk, -0.5), torch.randn(64, 4)
    for p in agent.parameters():
        p.data.normal_()  # far from uniform: every action has its own log pi
    out = agent.policy_net(agent.trunk(obs))
    normal = lambda: torch.distributions.Normal(out, agent.log_std.exp())
    dist = (torch.distributions.Categorical(logits=out) if agent.discrete else
            torch.distributions.Independent(normal(), 1))
    torch.manual_seed(1)
    actions = agent.act(obs)
    torch.manual_seed(1)
    assert torch.equal(actions, dist.sample())  # the same random numbers, the same draws
    assert len(actions.unique(dim=0)) > 1  # the draws vary: the check compares something
    log_probs, entropy, values = agent(obs, actions)
    assert torch.equal(log_probs, dist.log_prob(actions)) and torch.equal(entropy, dist.entropy())
    assert torch.equal(values, agent.value(obs))
    greedy = dist.logits.argmax(-1) if agent.discrete else dist.mean
    assert torch.equal(agent.act(obs, deterministic=True), greedy)


@pytest.mark.parametrize("shared_trunk", [False, True])
def test_advantage_is_a_constant_to_the_actor(shared_trunk):
    """The policy loss moves no critic parameter: grad log pi(a|s) A, with A held fixed."""
    torch.manual_seed(0)
    agent = ActorCritic(4, gym.spaces.Discrete(3), 16, shared_trunk, 0.0).double()
    obs, actions, *rest = random_batch()
    policy_loss, _, _ = actor_critic_losses(agent, obs, actions, *rest, 0.9, 5)
    grads = torch.autograd.grad(policy_loss, list(agent.value_net.parameters()),
                                allow_unused=True)
    assert all(g is None or not g.any() for g in grads)
    (actor_grad,) = torch.autograd.grad(policy_loss, agent.policy_net.weight if shared_trunk
                                        else agent.policy_net[-1].weight)
    assert actor_grad.norm() > 0


def test_online_step_updates_the_critic_then_takes_the_advantage_from_it():
    """The lecture's order: w <- w - lr grad (y - V_w(s))^2 / 2, then A = r + gamma V_w(s') - V_w(s)
    with the new w, then theta <- theta + lr A grad log pi(a|s). Replayed by hand with SGD."""
    torch.manual_seed(0)
    agent = ActorCritic(4, gym.spaces.Discrete(3), 16, False, 0.0).double()
    obs, next_obs = torch.randn(1, 1, 4, dtype=torch.float64), torch.randn(1, 1, 4,
                                                                            dtype=torch.float64)
    batch = {"obs": obs, "actions": torch.tensor([[2]]),
             "rewards": torch.tensor([[0.7]], dtype=torch.float64),
             "next_obs": next_obs, "terminated": torch.tensor([[False]]),
             "episode_end": torch.tensor([[False]])}
    cfg = actor_critic.Config(gamma=0.9, max_grad_norm=1e-3, ent_coef=0.0)  # online: no clipping
    lr, gamma = 0.5, cfg.gamma
    critic, actor = agent.value_net, agent.policy_net
    w = [p.detach().clone() for p in critic.parameters()]
    theta = [p.detach().clone() for p in actor.parameters()]
    actor_critic.online_update(agent, torch.optim.SGD(agent.parameters(), lr=lr), batch, cfg)

    def V(params, x):
        return torch.func.functional_call(critic, dict(zip(dict(critic.named_parameters()),
                                                           params)), (x,)).squeeze(-1)

    y = 0.7 + gamma * V(w, next_obs).detach()
    w_req = [p.clone().requires_grad_(True) for p in w]
    grads = torch.autograd.grad((0.5 * (y - V(w_req, obs)) ** 2).sum(), w_req)
    new_w = [p - lr * g for p, g in zip(w, grads)]
    for p, expected in zip(critic.parameters(), new_w):
        assert close(p, expected, atol=1e-12)

    def policy_step(advantage):
        th = [p.clone().requires_grad_(True) for p in theta]
        logits = torch.func.functional_call(actor, dict(zip(dict(actor.named_parameters()), th)),
                                            (obs,))
        log_prob = torch.log_softmax(logits, -1)[0, 0, 2]
        return [p - lr * g for p, g in zip(theta, torch.autograd.grad(-log_prob * advantage, th))]

    with torch.no_grad():
        new_advantage = 0.7 + gamma * V(new_w, next_obs) - V(new_w, obs)
        old_advantage = 0.7 + gamma * V(w, next_obs) - V(w, obs)
    for p, expected, stale in zip(actor.parameters(), policy_step(new_advantage),
                                  policy_step(old_advantage)):
        assert close(p, expected, atol=1e-12)
    assert not close(new_advantage, old_advantage, atol=1e-3)  # the order matters


# --- the rollout: SAME_STEP autoreset, final observations, no transition across episodes -------

class CounterEnv(gym.Env):
    """obs = [step within the episode, episode number]; even episodes terminate after 3 steps,
    odd ones run until the time limit (5) cuts them. Reward 1 on every real step."""
    observation_space = gym.spaces.Box(0, 1e6, (2,), np.float32)
    action_space = gym.spaces.Discrete(2)
    episode = -1

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t, self.episode = 0, self.episode + 1
        return np.array([0, self.episode], np.float32), {}

    def step(self, action):
        self.t += 1
        terminated = self.episode % 2 == 0 and self.t == 3
        return np.array([self.t, self.episode], np.float32), 1.0, terminated, False, {}


gym.register("ACCounter-v0", entry_point=CounterEnv, max_episode_steps=5)


def test_rollout_keeps_episodes_apart_and_ends_them_at_their_true_last_state():
    envs, _, act_space = actor_critic.make_env("ACCounter-v0", 2, same_step=True)
    obs, _ = envs.reset(seed=0)
    agent = ActorCritic(2, act_space, 8, False, 0.0)
    batch, last_obs = actor_critic.collect_rollout(envs, act_space, agent, obs, 20, "cpu")
    o, nxt = batch["obs"].numpy(), batch["next_obs"].numpy()
    end, term = batch["episode_end"].numpy(), batch["terminated"].numpy()
    assert o.shape == (20, 2, 2) and (batch["rewards"] == 1).all()  # no reset step recorded
    for t in range(20):
        for i in range(2):
            step, episode = o[t, i]
            assert (nxt[t, i] == [step + 1, episode]).all()  # the true successor, final or not
            assert end[t, i] == (step + 1 == (3 if episode % 2 == 0 else 5))
            assert term[t, i] == (end[t, i] and episode % 2 == 0)  # odd ones are truncated
            following = o[t + 1, i] if t < 19 else last_obs[i]
            assert (following == ([0, episode + 1] if end[t, i] else nxt[t, i])).all()
    assert term.any() and (end & ~term).any()
    envs.close()


# --- this file's own flags: its modes, its limits, its checkpoint ---------------------------------

@pytest.mark.parametrize("mode, shared_trunk, env_id", [
    ("batch", False, "CartPole-v1"), ("online", True, "CartPole-v1"),
    ("batch", True, "Pendulum-v1"), ("online", False, "Pendulum-v1")])
def test_every_mode_and_layout_trains_on_discrete_and_box_actions(mode, shared_trunk, env_id,
                                                                  tmp_path):
    result = actor_critic.train(actor_critic.Config(
        mode=mode, shared_trunk=shared_trunk, env_id=env_id, total_timesteps=400, num_envs=2,
        eval_episodes=2, quiet=True, run_dir=str(tmp_path)))
    assert (result["mode"], result["shared_trunk"], result["global_step"]) == \
        (mode, shared_trunk, 400)
    if env_id == "Pendulum-v1":  # 200-step episodes cut by the time limit: 400 steps, 2
        rows = open(tmp_path / "progress.csv").read().splitlines()[1:]
        assert [r.split(",")[2] for r in rows] == ["200", "200"]
    updates = open(tmp_path / "updates.csv").read().splitlines()
    assert all(np.isfinite(float(x)) for r in updates[1:] for x in r.split(","))
    # online: one update per transition; batch: one per rollout of num_envs x n_steps = 10
    assert updates[-1].split(",")[:2] == [str(400 if mode == "online" else 40), "400"]


@pytest.mark.parametrize("field, value", [
    ("gamma", 1.5), ("gamma", 0.0), ("n_steps", 0), ("num_envs", -2), ("learning_rate", -1.0),
    ("max_grad_norm", 0.0), ("hidden_size", 0), ("vf_coef", -0.5), ("ent_coef", float("nan")),
    ("mode", "offline"), ("init_log_std", float("inf")), ("init_log_std", float("nan"))])
def test_out_of_range_settings_are_refused_by_their_flag(field, value):
    with pytest.raises(actor_critic.ConfigError, match=f"--{field.replace('_', '-')} "):
        actor_critic.check(actor_critic.Config(**{field: value}))


def test_the_edges_of_the_ranges_are_accepted():
    actor_critic.check(actor_critic.Config(gamma=1.0, vf_coef=0.0, ent_coef=0.0, eval_episodes=0,
                                           init_log_std=-5.0, mode="online"))


def test_load_agent_restores_the_agent_and_refuses_the_other_trunk_layout():
    cfg = actor_critic.Config(env_id="Pendulum-v1")
    obs_space, act_space = gym.spaces.Box(-1, 1, (3,)), gym.spaces.Box(-2, 2, (1,))
    torch.manual_seed(0)
    saved = ActorCritic(3, act_space, cfg.hidden_size, False, 0.3).state_dict()
    torch.manual_seed(1)  # another init: only the checkpoint can make the two agree
    _, agent = actor_critic.load_agent(cfg, {"agent": saved}, obs_space, act_space, "cpu")
    assert saved.keys() == agent.state_dict().keys()
    assert all(torch.equal(saved[k], v) for k, v in agent.state_dict().items())
    with pytest.raises(RuntimeError):
        actor_critic.load_agent(dataclasses.replace(cfg, shared_trunk=True), {"agent": saved},
                                obs_space, act_space, "cpu")


# --- learning -----------------------------------------------------------------------------------
# Random actions score about 22 on CartPole-v1, and never more than 36 averaged over 10 episodes
# in a row. A2C's return on CartPole rises and dips along the way, hence a budget past the first
# dip: at 100k steps seeds 1-5 here scored 166 to 500 with separate networks and 115 to 162
# with the shared trunk (which learns more slowly: see benchmarks/RESULTS.md).

@pytest.mark.slow
@pytest.mark.parametrize("shared_trunk", [False, True])
def test_a2c_learns_cartpole_far_better_than_random(shared_trunk, tmp_path):
    result = actor_critic.train(actor_critic.Config(
        total_timesteps=100_000, shared_trunk=shared_trunk, seed=1, quiet=True,
        run_dir=str(tmp_path)))
    assert result["eval_return_mean"] > 75


@pytest.mark.slow
def test_online_actor_critic_learns_cartpole_far_better_than_random(tmp_path):
    """One update per transition is noisy: its greedy return can collapse and recover (seeds
    1-5 here ended 12k steps at 10 to 298), so the test reads the training curve. Every seed's
    best 10-episode mean within 10k steps was 151 to 443."""
    result = actor_critic.train(actor_critic.Config(
        mode="online", total_timesteps=10_000, learning_rate=1e-3, seed=1, quiet=True,
        run_dir=str(tmp_path)))
    assert best_mean_return(result["run_dir"]) > 3 * CARTPOLE_RANDOM_BEST_MEAN_OF_10
