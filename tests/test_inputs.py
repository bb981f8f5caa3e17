"""The input rule of CONTRIBUTING.md section 5, for the pure functions of all seven files (#17).

Inputs may be tensors, numpy arrays or lists; the outputs are tensors in the dtype torch's type
promotion gives the inputs; shapes that would broadcast into a wrong answer, and out-of-range
arguments, raise a ValueError naming them. Each file defines one helper, `as_tensors`, the same
text everywhere.
"""
import inspect

import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

import a3c
import actor_critic
import dqn_ddpg
import gae
import npg_trpo
import ppo
import reinforce

F32, F64 = torch.float32, torch.float64
ROLLOUT = dict(rewards=[1.0, 2.0, 3.0], values=[0.5, 0.25, 1.0], next_values=[0.25, 4.0, 2.0],
               terminated=[False, True, False], episode_end=[False, True, False])
GAES = [gae.compute_gae, ppo.compute_gae, npg_trpo.compute_gae]
N_STEPS = [actor_critic.n_step_returns, a3c.n_step_returns]


def forms(values):
    """The same numbers as a tensor, a numpy array and a list."""
    return [torch.tensor(values), np.array(values), list(values)]


def same(a, b):
    if isinstance(a, tuple):
        return all(same(x, y) for x, y in zip(a, b, strict=True))
    return torch.is_tensor(a) and a.dtype == b.dtype and torch.equal(a, b)


def test_the_helper_is_the_same_text_in_every_file_and_returns_tensors_as_themselves():
    texts = {inspect.getsource(m.as_tensors) for m in (reinforce, actor_critic, gae, npg_trpo, ppo,
                                                       a3c, dqn_ddpg)}
    assert len(texts) == 1
    t = torch.ones(3)
    got = gae.as_tensors("f", a=t, b=np.ones(3), c=[1.0, 2.0, 3.0])
    assert got[0] is t and all(torch.is_tensor(x) for x in got)
    with pytest.raises(ValueError, match=r"^f: a \[3\] and b \[3, 1\] must have one shape$"):
        gae.as_tensors("f", a=t, b=np.ones((3, 1)))


# --- numpy arrays and lists give what tensors give ------------------------------------------------

CALLS = {  # name: (function, positional inputs that take any form, other arguments)
    "discounted_returns": (reinforce.discounted_returns, [[1.0, 2.0, 3.0]], [0.9]),
    "reinforce_surrogate": (reinforce.reinforce_surrogate, [[-0.1, -0.2, -0.3], [1.0, 2.0, 3.0]],
                            [0.9]),
    "optimal_baseline": (reinforce.optimal_baseline, [[[1.0, 2.0], [0.5, -1.0]], [3.0, 1.0]], []),
    "off_policy_surrogate": (reinforce.off_policy_surrogate,
                             [[-0.1, -0.2], [-0.3, -0.1], [1.0, 2.0]], [0.9]),
    "td_targets": (actor_critic.td_targets, [[1.0, 2.0], [3.0, 4.0], [False, True]], [0.9]),
    "natural_step": (npg_trpo.natural_step, [[1.0, 2.0], [0.5, 0.25]], [0.01]),
    "ppo_clip_objective": (ppo.ppo_clip_objective, [[-0.1, -0.5], [-0.3, -0.2], [1.0, -2.0]],
                           [0.2]),
    "ppo_kl_penalty_objective": (ppo.ppo_kl_penalty_objective,
                                 [[-0.1, -0.5], [-0.3, -0.2], [1.0, -2.0], [0.1, 0.2]], [0.5]),
    "value_loss": (ppo.value_loss, [[1.0, 2.0], [1.5, 1.0], [3.0, 0.0]], [0.2]),
    "a3c_loss": (a3c.a3c_loss, [[-0.1, -0.5], [1.0, 2.0], [0.6, 0.7], [3.0, 0.0]], [0.01, 0.5]),
    "dqn_targets": (dqn_ddpg.dqn_targets, [[1.0, 2.0], [[0.0, 3.0], [5.0, 4.0]], [False, True]],
                    [0.9]),
}
for i, f in enumerate(GAES):
    CALLS[f"compute_gae {i}"] = (f, list(ROLLOUT.values()), [0.9, 0.8])
for i, f in enumerate(N_STEPS):
    CALLS[f"n_step_returns {i}"] = (f, list(ROLLOUT.values())[:1] + list(ROLLOUT.values())[2:],
                                    [0.9, 2])


@pytest.mark.parametrize("name", list(CALLS))
def test_numpy_arrays_and_lists_give_what_tensors_give(name):
    f, inputs, rest = CALLS[name]
    for form in (np.array, list):  # numpy's float64 stays float64; a list of floats is float32
        expected = f(*[torch.as_tensor(np.array(x) if form is np.array else x) for x in inputs],
                     *rest)
        got = f(*[form(x) for x in inputs], *rest)
        if name == "a3c_loss":  # (loss, stats)
            got, expected = got[0], expected[0]
        assert same(got, expected), (form, got, expected)


def test_conjugate_gradient_and_the_module_functions_take_lists_and_arrays():
    A = torch.tensor([[2.0, 0.5], [0.5, 1.0]], dtype=F64)
    Avp = lambda v: A.to(v.dtype) @ v  # noqa: E731
    x = npg_trpo.conjugate_gradient(Avp, torch.tensor([1.0, 2.0], dtype=F64), 2, 0.0)
    for b in ([1.0, 2.0], np.array([1.0, 2.0])):  # float32 and float64
        got = npg_trpo.conjugate_gradient(Avp, b, 2, 0.0)
        assert torch.is_tensor(got) and torch.allclose(got.double(), x)
    torch.manual_seed(0)
    policy = npg_trpo.Policy(3, __import__("gymnasium").spaces.Discrete(2), 4, 0.0)
    obs = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    P = sum(p.numel() for p in policy.parameters())
    v = np.linspace(-1, 1, P)  # float64: taken in the policy's float32
    expected = npg_trpo.fisher_vector_product(policy, torch.tensor(obs), torch.tensor(v, dtype=F32))
    assert torch.equal(npg_trpo.fisher_vector_product(policy, obs.tolist(), list(v)), expected)
    actor, critic = torch.nn.Linear(3, 1), dqn_ddpg.Critic(torch.nn.Linear(4, 1))
    expected = dqn_ddpg.ddpg_actor_loss(critic, actor, torch.tensor(obs))
    assert torch.equal(dqn_ddpg.ddpg_actor_loss(critic, actor, obs.tolist()), expected)


# --- the cases ----------------------------------------------------------------------------

def test_dqn_targets_refuse_b_by_1_rewards_against_b_values():
    """sb3's replay buffer hands out rewards [B, 1]: against [B] they made a [B, B] target."""
    rewards, next_q = torch.ones(4, 1), torch.zeros(4, 2)
    with pytest.raises(ValueError, match=r"rewards \[4, 1\], next_q_target \[4, 2\]"):
        dqn_ddpg.dqn_targets(rewards, next_q, torch.zeros(4, 1, dtype=torch.bool), 0.9)
    with pytest.raises(ValueError, match=r"dqn_targets: rewards \[4\] and terminated \[4, 1\]"):
        dqn_ddpg.dqn_targets(torch.ones(4), next_q, torch.zeros(4, 1), 0.9)
    with pytest.raises(ValueError, match=r"next_q_target \[4, 2\] and next_q_online \[4, 3\]"):
        dqn_ddpg.dqn_targets(torch.ones(4), next_q, torch.zeros(4), 0.9, torch.zeros(4, 3))
    # by hand: 1 + 0.9 * max(0, 3) = 3.7; terminal: 2; double DQN takes Q_target at argmax Q_online
    y = dqn_ddpg.dqn_targets([1.0, 2.0], [[0.0, 3.0], [5.0, 4.0]], [False, True], 0.9)
    assert torch.allclose(y, torch.tensor([3.7, 2.0]))
    y = dqn_ddpg.dqn_targets([1.0, 2.0], [[0.0, 3.0], [5.0, 4.0]], [False, False], 0.5,
                             [[1.0, 0.0], [0.0, 1.0]])
    assert torch.allclose(y, torch.tensor([1.0, 4.0]))


def test_reinforce_surrogate_on_a_square_batch_discounts_along_time():
    """[T, T]: gamma^t must run down dim 0 (time), not along the columns (trajectories)."""
    log_probs = torch.tensor([[1.0, 10.0], [100.0, 1000.0]])
    rewards = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    # column 0: G = (1, 0), w = (1, 0.5): 1 * 1 = 1; column 1: G = (0.5, 1): 10 * 0.5 + 0.5 * 1000
    expected = 1.0 + 10 * 0.5 + 0.5 * 1000 * 1.0
    got = reinforce.reinforce_surrogate(log_probs, rewards, 0.5)
    assert got.item() == expected


@given(st.integers(1, 6), st.integers(1, 4), st.floats(0.0, 1.0), st.booleans(), st.booleans(),
       st.integers(0, 10**6))
def test_reinforce_surrogate_on_t_by_n_is_the_sum_of_its_columns(T, N, gamma, reward_to_go,
                                                                discount_weighting, seed):
    g = torch.Generator().manual_seed(seed)
    lp, r, b = (torch.randn(T, N, generator=g, dtype=F64) for _ in range(3))
    v = torch.randn(N, generator=g, dtype=F64)
    kw = dict(reward_to_go=reward_to_go, discount_weighting=discount_weighting)
    whole = reinforce.reinforce_surrogate(lp, r, gamma, baseline=b, bootstrap=v, **kw)
    columns = sum(reinforce.reinforce_surrogate(lp[:, n], r[:, n], gamma, baseline=b[:, n],
                                                bootstrap=v[n], **kw) for n in range(N))
    assert torch.allclose(whole, columns, rtol=1e-12, atol=1e-12)
    returns = reinforce.discounted_returns(r, gamma, v)
    assert torch.equal(returns[:, 0], reinforce.discounted_returns(r[:, 0], gamma, v[0]))


@pytest.mark.parametrize("f", N_STEPS)
def test_n_step_returns_refuse_n_below_one_and_give_empty_for_t_zero(f):
    inputs = [ROLLOUT[k] for k in ("rewards", "next_values", "terminated", "episode_end")]
    for n in (0, -1):
        with pytest.raises(ValueError, match=f"n_step_returns: .*n >= 1; got .*, {n}$"):
            f(*inputs, 0.9, n)
    out = f(torch.zeros(0, 2), torch.zeros(0, 2), torch.zeros(0, 2), torch.zeros(0, 2), 0.9, 3)
    assert out.shape == (0, 2)
    # by hand, n = 2: 1 + 0.9 * 2 (terminal after step 1); 2; 3 + 0.9 * 2 (rollout's end)
    assert torch.allclose(f(*inputs, 0.9, 2), torch.tensor([2.8, 2.0, 4.8]))
    with pytest.raises(ValueError, match=r"rewards \[3\] and next_values \[3, 1\] and termi"):
        f(ROLLOUT["rewards"], np.ones((3, 1)), ROLLOUT["terminated"], ROLLOUT["episode_end"],
          0.9, 2)


@pytest.mark.parametrize("f", GAES + N_STEPS)
def test_a_termination_that_is_no_episode_end_is_refused(f):
    """terminated[t]: s_{t+1} is terminal, so the trajectory stops after t and episode_end[t]
    (terminated or truncated) must hold too. Passing truncated in its place is the usual slip;
    the recursion then ran on into the next episode's steps without a word."""
    def call(rollout):  # f's own arguments, in its order, then gamma and lam or n
        return f(*[rollout[k] for k in inspect.signature(f).parameters if k in rollout], 0.9, 1)

    with pytest.raises(ValueError, match=f"^{f.__name__}: episode_end must be true wherever "
                                         "terminated is$"):
        call(dict(ROLLOUT, episode_end=[False, False, True]))  # misses the termination at t = 1
    call(ROLLOUT)  # the same steps with the termination an episode end: accepted


@pytest.mark.parametrize("f", GAES)
def test_compute_gae_refuses_t_zero_and_mismatched_shapes(f):
    empty = [torch.zeros(0)] * 5
    with pytest.raises(ValueError, match=r"compute_gae: .*T >= 1.*got \[0\]"):
        f(*empty, 0.9, 0.9)
    bad = dict(ROLLOUT, values=np.ones((3, 1)))
    with pytest.raises(ValueError, match=r"compute_gae: rewards \[3\] and values \[3, 1\]"):
        f(*bad.values(), 0.9, 0.9)
    bad = dict(ROLLOUT, next_values=[1.0, 2.0])
    with pytest.raises(ValueError, match=r"rewards \[3\] and values \[3\] and next_values \[2\]"):
        f(*bad.values(), 0.9, 0.9)
    # by hand, gamma = 0.5, lam = 1: delta = (1 + .125 - .5, 2 - .25, 3 + 1 - 1) = (.625, 1.75, 3)
    # A_2 = 3, A_1 = 1.75 (the episode ends there), A_0 = 0.625 + 0.5 * 1.75
    advantages, returns = f(*ROLLOUT.values(), 0.5, 1.0)
    assert torch.allclose(advantages, torch.tensor([0.625 + 0.875, 1.75, 3.0]))
    assert torch.allclose(returns, advantages + torch.tensor(ROLLOUT["values"]))


# --- the dtype rule -------------------------------------------------------------------------------

@pytest.mark.parametrize("f", GAES)
def test_compute_gae_takes_the_promoted_dtype(f):
    rewards = torch.tensor(ROLLOUT["rewards"], dtype=F32)
    rest = [torch.tensor(ROLLOUT[k], dtype=F64) for k in ("values", "next_values")]
    advantages, returns = f(rewards, *rest, ROLLOUT["terminated"], ROLLOUT["episode_end"], 0.9,
                            0.9)
    assert advantages.dtype == returns.dtype == F64
    exact = f(rewards.double(), *rest, ROLLOUT["terminated"], ROLLOUT["episode_end"], 0.9, 0.9)
    assert torch.equal(advantages, exact[0])  # float32 rewards hold these values exactly


def test_every_function_takes_the_promoted_dtype():
    t32, t64 = torch.tensor([1.0, 2.0], dtype=F32), torch.tensor([0.5, 0.25], dtype=F64)
    no = torch.tensor([False, False])
    assert reinforce.discounted_returns(t32, 0.9, t64[0]).dtype == F32  # 0-d: like a number
    assert reinforce.discounted_returns(t32[:, None], 0.9, t64[:1]).dtype == F64
    assert reinforce.reinforce_surrogate(t32, t32, 0.9, baseline=t64).dtype == F64
    assert reinforce.reinforce_surrogate(t32, t64, 0.9).dtype == F64
    assert reinforce.optimal_baseline(t32[:, None], t64).dtype == F64
    assert reinforce.off_policy_surrogate(t32, t32, t64, 0.9).dtype == F64
    assert actor_critic.td_targets(t32, t64, no, 0.9).dtype == F64
    for f in N_STEPS:
        out = f(t32, t64, no, no, 0.9, 2)
        assert out.dtype == F64 and torch.equal(out, f(t32.double(), t64, no, no, 0.9, 2))
    assert npg_trpo.natural_step(t32, t64, 0.1).dtype == F64
    assert ppo.ppo_clip_objective(t32, t32, t64, 0.2).dtype == F64
    assert ppo.value_loss(t32, t32, t64, 0.2).dtype == F64
    assert a3c.a3c_loss(t32, t32, t32, t64, 0.0, 1.0)[0].dtype == F64
    assert dqn_ddpg.dqn_targets(t32, t64[:, None], no, 0.9).dtype == F64
    assert dqn_ddpg.dqn_targets([1, 2], [[3], [4]], [0, 1], 0.5).dtype == F32  # ints: the default


# --- out-of-range arguments -----------------------------------------------------------------------

def test_out_of_range_arguments_raise_value_errors_naming_them():
    r, no = [1.0, 2.0], [False, False]
    cases = [
        (lambda: reinforce.discounted_returns(r, 1.5), "discounted_returns: .*gamma"),
        (lambda: reinforce.discounted_returns(r, 0.9, [1.0, 2.0]),
         "bootstrap .*got \\[2\\], \\[2\\]"),
        (lambda: reinforce.discounted_returns(5.0, 0.9), "discounted_returns: want rewards"),
        (lambda: reinforce.reinforce_surrogate(r, r, -0.1), "gamma"),
        (lambda: reinforce.reinforce_surrogate(r, r, baseline=[[1.0], [2.0]]),
         "reinforce_surrogate: rewards \\[2\\] and baseline \\[2, 1\\]"),
        (lambda: reinforce.reinforce_surrogate(r, [r, r]),
         "log_probs \\[2\\] and rewards \\[2, 2\\]"),
        (lambda: reinforce.optimal_baseline([[1.0], [2.0]], [[1.0], [2.0]]),
         "optimal_baseline: scores \\[2, 1\\] and returns \\[2, 1\\]"),
        (lambda: reinforce.optimal_baseline([[1.0], [2.0]], r, weights=[1.0]),
         "optimal_baseline: scores \\[2, 1\\] and weights \\[1\\]"),
        (lambda: reinforce.off_policy_surrogate([r], [r], [r]), "one trajectory"),
        (lambda: reinforce.off_policy_surrogate(r, r, r, 2.0), "gamma"),
        (lambda: reinforce.reinforce_surrogate(r, r, returns=[1.0]),
         "reinforce_surrogate: rewards \\[2\\] and returns \\[1\\]"),
        (lambda: actor_critic.td_targets(r, r, no, 1.01), "td_targets: gamma"),
        (lambda: actor_critic.td_targets(r, [r], no, 0.9),
         "rewards \\[2\\] and next_values \\[1, 2\\]"),
        (lambda: npg_trpo.natural_step(r, r, 0.0), "natural_step: .*max_kl"),
        (lambda: npg_trpo.natural_step(r, [1.0], 0.1), "g \\[2\\] and Finv_g \\[1\\]"),
        (lambda: npg_trpo.conjugate_gradient(lambda v: v, [r], 3), "conjugate_gradient: want b"),
        (lambda: npg_trpo.conjugate_gradient(lambda v: v, r, -1), "iters"),
        (lambda: ppo.ppo_clip_objective(r, r, r, 0.0), "ppo_clip_objective: clip_eps"),
        (lambda: ppo.ppo_clip_objective(r, r, [r], 0.2), "advantages \\[1, 2\\]"),
        (lambda: ppo.ppo_kl_penalty_objective(r, r, r, r, -1.0), "beta"),
        (lambda: ppo.adapt_kl_beta(1.0, 0.1, 0.0), "kl_target"),
        (lambda: ppo.value_loss(r, r, r, -0.1), "value_loss: clip_eps"),
        (lambda: ppo.value_loss(r, [1.0], r, 0.2), "values \\[2\\] and old_values \\[1\\]"),
        (lambda: a3c.a3c_loss(r, r, r, [r], 0.0, 0.5), "a3c_loss: .*returns \\[1, 2\\]"),
        (lambda: dqn_ddpg.dqn_targets(r, [[1.0], [2.0]], no, -0.5), "dqn_targets: .*gamma"),
        (lambda: dqn_ddpg.soft_update(torch.nn.Linear(1, 1), torch.nn.Linear(1, 1), 1.5),
         "soft_update: tau"),
    ]
    for f in GAES:
        cases += [(lambda f=f: f(*ROLLOUT.values(), 1.1, 0.9), "compute_gae: .*gamma"),
                  (lambda f=f: f(*ROLLOUT.values(), 0.9, -0.1), "compute_gae: .*lam")]
    for f in N_STEPS:
        cases += [(lambda f=f: f(r, r, no, no, 1.5, 2), "n_step_returns: .*gamma")]
    for call, message in cases:
        with pytest.raises(ValueError, match=message):
            call()


def test_edges_of_the_ranges_are_accepted_and_empty_inputs_are_what_the_docstrings_say():
    r = [1.0, 2.0]
    assert torch.equal(reinforce.discounted_returns(r, 0.0), torch.tensor(r))
    assert reinforce.discounted_returns([], 0.9).shape == (0,)
    assert reinforce.discounted_returns(torch.zeros(0, 3), 0.9, [1.0, 2.0, 3.0]).shape == (0, 3)
    assert reinforce.reinforce_surrogate([], [], 1.0) == 0
    assert reinforce.reinforce_surrogate([], [], 1.0, reward_to_go=False) == 0
    assert reinforce.optimal_baseline(torch.zeros(0, 2), torch.zeros(0)) == 0
    for mode in ("trajectory", "per_decision", "first_order"):
        assert reinforce.off_policy_surrogate([], [], [], 1.0, mode=mode) == 0
    assert actor_critic.td_targets([], [], [], 1.0).shape == (0,)
    with torch.no_grad():
        net = torch.nn.Linear(1, 1)
        before = [p.clone() for p in net.parameters()]
        dqn_ddpg.soft_update(net, torch.nn.Linear(1, 1), 0.0)
        assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))
