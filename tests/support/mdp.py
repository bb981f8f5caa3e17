"""The exact-expectation harness: every trajectory of a tiny tabular MDP, with its probability.

A policy-gradient estimator g(tau) is unbiased when E_tau[g(tau)] = grad J(theta). Sampling can
only show that up to a standard error; on an MDP small enough to enumerate, the expectation is a
finite sum, sum_k p(tau_k) g(tau_k), and the claim can be checked to float64 round-off.

What is here (float64 throughout, shared by the tests, never imported by an algorithm file):

- `random_mdp`: 2-3 states, 2-3 actions, horizon 3-4, random transitions and rewards r(s, a).
- A tabular softmax policy pi_theta(a|s) = softmax(theta[s])_a, theta of shape [S, A].
- `exact_J`: J(theta) = sum_t gamma^t E[r(s_t, a_t)] by forward dynamic programming over the
  state distribution; `exact_grad_J` differentiates it with autograd.
- `exact_values`: the time-dependent V_t(s) and Q_t(s, a) by backward dynamic programming.
- `enumerate_trajectories`: every (s_0, a_0, ..., s_{H-1}, a_{H-1}) with its probability.
- `per_trajectory_gradients`: grad_theta of a per-trajectory surrogate for all of them at once,
  from which `expected_gradient` and `gradient_variance` are exact weighted sums.

The episode ends at the horizon: step H-1 is `terminated`, and V_H = 0.
"""
from dataclasses import dataclass

import torch

DTYPE = torch.float64


@dataclass
class TabularMDP:
    init: torch.Tensor  # [S] initial state distribution
    P: torch.Tensor  # [S, A, S] transition probabilities p(s'|s, a)
    R: torch.Tensor  # [S, A] reward r(s, a)
    horizon: int

    @property
    def n_states(self):
        return self.P.shape[0]

    @property
    def n_actions(self):
        return self.P.shape[1]


def random_mdp(n_states, n_actions, horizon, seed):
    g = torch.Generator().manual_seed(seed)
    # Uniform points on the simplex, as normalised exponentials (Dirichlet takes no generator).
    init = -torch.rand(n_states, generator=g, dtype=DTYPE).log()
    init = init / init.sum()
    P = -torch.rand(n_states, n_actions, n_states, generator=g, dtype=DTYPE).log()
    P = P / P.sum(-1, keepdim=True)
    R = torch.randn(n_states, n_actions, generator=g, dtype=DTYPE)
    return TabularMDP(init, P, R, horizon)


def random_theta(mdp, seed, scale=1.0):
    g = torch.Generator().manual_seed(seed + 7919)
    return scale * torch.randn(mdp.n_states, mdp.n_actions, generator=g, dtype=DTYPE)


def policy_probs(theta):
    """pi_theta(a|s) of the tabular softmax policy: [S, A]."""
    return torch.softmax(theta, dim=-1)


def exact_J(mdp, theta, gamma):
    """J(theta) = sum_t gamma^t sum_{s,a} d_t(s) pi(a|s) r(s,a), differentiable in theta."""
    pi = policy_probs(theta)
    d = mdp.init  # d_t(s): probability of being in s at step t
    J = torch.zeros((), dtype=DTYPE)
    for t in range(mdp.horizon):
        joint = d[:, None] * pi  # [S, A]: P(s_t = s, a_t = a)
        J = J + gamma**t * (joint * mdp.R).sum()
        d = torch.einsum("sa,sat->t", joint, mdp.P)
    return J


def exact_grad_J(mdp, theta, gamma):
    theta = theta.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(exact_J(mdp, theta, gamma), theta)
    return grad.reshape(-1)


def exact_values(mdp, probs, gamma):
    """Backward DP for the policy `probs` [S, A]: V [H+1, S] with V_H = 0, and Q [H, S, A]."""
    H = mdp.horizon
    V = torch.zeros(H + 1, mdp.n_states, dtype=DTYPE)
    Q = torch.zeros(H, mdp.n_states, mdp.n_actions, dtype=DTYPE)
    for t in reversed(range(H)):
        Q[t] = mdp.R + gamma * torch.einsum("sat,t->sa", mdp.P, V[t + 1])
        V[t] = (probs * Q[t]).sum(-1)
    return V, Q


@dataclass
class Trajectories:
    """All K = S^H A^H trajectories, batch-first: states, actions, rewards are [K, H]."""
    states: torch.Tensor
    actions: torch.Tensor
    rewards: torch.Tensor
    prob: torch.Tensor  # [K], sums to 1

    @property
    def horizon(self):
        return self.states.shape[1]

    def log_probs(self, theta):
        """log pi_theta(a_t|s_t) for every trajectory and step: [K, H], differentiable."""
        return torch.log_softmax(theta, dim=-1)[self.states, self.actions]

    def values(self, V):
        """V_t(s_t) and V_{t+1}(s_{t+1}) (zero after the last step), each [K, H], from V [H+1, S]."""
        H = self.horizon
        t = torch.arange(H)
        values = V[t, self.states]
        next_values = torch.zeros_like(values)
        next_values[:, :-1] = V[t[1:], self.states[:, 1:]]
        return values, next_values

    def terminated(self):
        """[K, H] bool: only the last step ends the episode, and it is terminal."""
        term = torch.zeros(self.states.shape, dtype=torch.bool)
        term[:, -1] = True
        return term


def enumerate_trajectories(mdp, probs):
    """Every trajectory of `mdp` and its probability when actions are drawn from `probs` [S, A]."""
    S, A, H = mdp.n_states, mdp.n_actions, mdp.horizon
    grids = torch.cartesian_prod(*([torch.arange(S)] * H + [torch.arange(A)] * H))
    grids = grids.reshape(-1, 2 * H)
    states, actions = grids[:, :H], grids[:, H:]
    logp = mdp.init[states[:, 0]].log() + probs[states, actions].log().sum(1)
    logp = logp + mdp.P[states[:, :-1], actions[:, :-1], states[:, 1:]].log().sum(1)
    prob = logp.exp()
    assert abs(prob.sum().item() - 1.0) < 1e-10
    return Trajectories(states, actions, mdp.R[states, actions], prob)


def per_trajectory_gradients(theta, trajs, surrogate):
    """grad_theta of surrogate(tau_k) for every trajectory: [K, S*A].

    `surrogate(log_probs)` maps the [K, H] log-probabilities (a function of theta) to [K]
    per-trajectory surrogates. Each surrogate depends on theta only through its own row of
    log-probabilities, so one backward pass gives d surrogate_k / d log_probs[k, t], and the
    chain rule with the tabular score d log pi(a|s) / d theta finishes the job.
    """
    theta = theta.detach().clone().requires_grad_(True)
    log_probs = trajs.log_probs(theta)
    lp_leaf = log_probs.detach().requires_grad_(True)
    out = surrogate(lp_leaf)
    assert out.shape == (trajs.states.shape[0],), out.shape
    (coef,) = torch.autograd.grad(out.sum(), lp_leaf)  # [K, H]
    # score[s, a] = d log pi(a|s) / d theta, flattened: [S, A, S*A]
    score = torch.autograd.functional.jacobian(
        lambda th: torch.log_softmax(th, -1), theta.detach()).reshape(*theta.shape, -1)
    return torch.einsum("kt,ktp->kp", coef, score[trajs.states, trajs.actions])


def expected_gradient(theta, trajs, surrogate):
    """E_tau[grad surrogate(tau)] = sum_k p_k grad surrogate(tau_k): exact, no sampling."""
    return trajs.prob @ per_trajectory_gradients(theta, trajs, surrogate)


def gradient_variance(theta, trajs, surrogate):
    """Total variance E||g - E g||^2 of the per-trajectory gradient estimate g(tau)."""
    grads = per_trajectory_gradients(theta, trajs, surrogate)
    mean = trajs.prob @ grads
    return trajs.prob @ ((grads - mean) ** 2).sum(1)
