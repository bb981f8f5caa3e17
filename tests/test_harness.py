"""The harness checks itself: enumeration, forward DP and backward DP must agree."""
import torch
from hypothesis import given, strategies as st

from mdp import (enumerate_trajectories, exact_J, exact_values, policy_probs, random_mdp,
                 random_theta, expected_gradient, exact_grad_J)

shapes = st.tuples(st.integers(2, 3), st.integers(2, 3), st.integers(3, 4), st.integers(0, 10**6))


@given(shapes, st.floats(0.5, 1.0))
def test_enumeration_dp_and_backward_values_agree(shape, gamma):
    S, A, H, seed = shape
    mdp = random_mdp(S, A, H, seed)
    theta = random_theta(mdp, seed)
    probs = policy_probs(theta)
    trajs = enumerate_trajectories(mdp, probs)
    assert trajs.states.shape == (S**H * A**H, H)
    discount = gamma ** torch.arange(H, dtype=torch.float64)
    J_enum = trajs.prob @ (trajs.rewards * discount).sum(1)
    V, Q = exact_values(mdp, probs, gamma)
    assert torch.allclose(J_enum, exact_J(mdp, theta, gamma), atol=1e-12)
    assert torch.allclose(mdp.init @ V[0], J_enum, atol=1e-12)
    # Bellman consistency: Q_t(s, a) = r(s, a) + gamma E[V_{t+1}(s')].
    assert torch.allclose(Q[H - 1], mdp.R)
    assert torch.allclose(Q[0], mdp.R + gamma * mdp.P @ V[1])


def test_per_trajectory_gradient_matches_autograd_on_one_trajectory():
    mdp = random_mdp(2, 3, 3, seed=1)
    theta = random_theta(mdp, 1)
    trajs = enumerate_trajectories(mdp, policy_probs(theta))
    k = 17
    surrogate = lambda lp: (lp * trajs.rewards).sum(1) ** 2  # any nonlinear function works
    from mdp import per_trajectory_gradients
    grads = per_trajectory_gradients(theta, trajs, surrogate)
    th = theta.clone().requires_grad_(True)
    lp = torch.log_softmax(th, -1)[trajs.states[k], trajs.actions[k]]
    (direct,) = torch.autograd.grad(((lp * trajs.rewards[k]).sum()) ** 2, th)
    assert torch.allclose(grads[k], direct.reshape(-1), atol=1e-12)


def test_score_function_identity_gives_exact_gradient():
    """The likelihood-ratio identity itself: E[grad log p(tau) R(tau)] = grad J."""
    mdp = random_mdp(3, 2, 4, seed=5)
    theta = random_theta(mdp, 5)
    trajs = enumerate_trajectories(mdp, policy_probs(theta))
    total = trajs.rewards.sum(1)
    g = expected_gradient(theta, trajs, lambda lp: lp.sum(1) * total)
    assert torch.allclose(g, exact_grad_J(mdp, theta, 1.0), atol=1e-10)
