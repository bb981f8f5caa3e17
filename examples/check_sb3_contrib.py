"""Cross-check sb3-contrib against this project's pure functions (checked with sb3-contrib 2.9.2).

    common.utils.conjugate_gradient_solver (TRPO)          vs  npg_trpo.conjugate_gradient
    RecurrentRolloutBuffer.compute_returns_and_advantage   vs  gae.compute_gae

RecurrentPPO's buffer inherits sb3's GAE: the storage mapping is the one in check_sb3.py (sb3
adds gamma V(final observation) to the reward at a truncation; the buffer sees only episode
ends). sb3-contrib's conjugate gradient starts from x0 = 1e-4 N(0, 1) noise where ours starts
from 0: run to convergence the two give the same A^-1 b; stopped after k < dim iterations they
differ by the start's trace (printed below, not counted as a disagreement).
Exit status 0 when every function agrees, 1 otherwise, 2 when sb3-contrib is missing.

    pip install "sb3-contrib>=2.6,<3"
    python examples/check_sb3_contrib.py
"""
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]  # rollouts.py, and the algorithm files
import npg_trpo  # noqa: E402
from rollouts import (conclude, EPS32, EPS64, MINIMAL, Tally, as32,  # noqa: E402
                      deltas, horizon, largest, ours_gae, random_rollout, tolerance)

try:
    import sb3_contrib
    from gymnasium import spaces
    from sb3_contrib.common.recurrent.buffers import RecurrentRolloutBuffer
    from sb3_contrib.common.recurrent.type_aliases import RNNStates
    from sb3_contrib.common.utils import conjugate_gradient_solver
except ImportError:
    print("check_sb3_contrib.py: needs sb3-contrib: pip install sb3-contrib", file=sys.stderr)
    sys.exit(2)




def recurrent_gae(ro):
    """(advantages, returns) from RecurrentPPO's buffer, fed the way sb3 collects rollouts."""
    T, N = ro["rewards"].shape
    rewards = ro["rewards"] + ro["gamma"] * ro["truncated"] * ro["next_values"]
    buffer = RecurrentRolloutBuffer(T, spaces.Box(-1, 1, (1,)), spaces.Discrete(2),
                                    hidden_state_shape=(T, 1, N, 4), device="cpu",
                                    gae_lambda=ro["lam"], gamma=ro["gamma"], n_envs=N)
    hidden = (torch.zeros(1, N, 4), torch.zeros(1, N, 4))
    episode_start = np.ones(N, np.float32)
    for t in range(T):
        buffer.add(np.zeros((N, 1), np.float32), np.zeros((N, 1)), rewards[t], episode_start,
                   torch.as_tensor(ro["values"][t]), torch.zeros(N),
                   lstm_states=RNNStates(pi=hidden, vf=hidden))
        episode_start = ro["episode_end"][t].astype(np.float32)
    buffer.compute_returns_and_advantage(torch.as_tensor(ro["last_values"]),
                                         ro["episode_end"][-1])
    return buffer.advantages, buffer.returns


def random_spd(rng, dim):
    """A symmetric positive definite matrix with eigenvalues in [1, 10] (condition <= 10)."""
    q, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
    return torch.as_tensor(q @ np.diag(rng.uniform(1.0, 10.0, dim)) @ q.T)


def main():
    rng = np.random.default_rng(1)
    torch.manual_seed(1)  # sb3-contrib's solver draws its starting point from torch
    tally = Tally()
    early_gap = 0.0
    for _ in range(50):
        ro = as32(random_rollout(rng, int(rng.integers(4, 65)), int(rng.integers(1, 7))))
        H = horizon(ro["rewards"].shape[0], ro["gamma"] * ro["lam"])
        adv, ret = ours_gae(ro)
        theirs_adv, theirs_ret = recurrent_gae(ro)
        tol = tolerance(EPS32, H, largest(adv, ret, ro["rewards"], ro["values"],
                                          ro["next_values"]), deltas(ro).max())
        tally.add("compute_gae advantages vs RecurrentRolloutBuffer (float32)", adv, theirs_adv,
                  tol)
        tally.add("compute_gae returns vs RecurrentRolloutBuffer (float32)", ret, theirs_ret, tol)

        dim = int(rng.integers(2, 13))
        A, b = random_spd(rng, dim), torch.as_tensor(rng.normal(size=dim))
        exact = torch.linalg.solve(A, b)
        # 2 dim iterations: converged (residual round-off) from either starting point
        ours = npg_trpo.conjugate_gradient(lambda v: A @ v, b, iters=2 * dim, residual_tol=1e-28)
        theirs = conjugate_gradient_solver(lambda v: A @ v, b, max_iter=2 * dim,
                                           residual_tol=1e-28)
        # a solve's error is at most condition (10) times the residual's relative round-off
        tol = 10 * tolerance(EPS64, 2 * dim, largest(exact, b))
        tally.add("conjugate_gradient vs conjugate_gradient_solver, converged (float64)",
                  ours, theirs, tol)
        tally.add("conjugate_gradient vs torch.linalg.solve (float64)", ours, exact, tol)
        k = max(1, dim // 3)
        early_gap = max(early_gap, float((npg_trpo.conjugate_gradient(lambda v: A @ v, b, k)
                                          - conjugate_gradient_solver(lambda v: A @ v, b, k))
                                         .abs().max()))

    print(f"sb3-contrib {sb3_contrib.__version__} against this project's functions, 50 random "
          f"rollouts (T 4-64, 1-6 envs, terminations and truncations), 50 random SPD systems:")
    ok = tally.report()
    print(f"  note: stopped after dim/3 iterations the solvers differ by up to {early_gap:.1e}: "
          f"sb3-contrib starts from 1e-4 N(0, 1) noise, ours from 0")
    theirs_adv, _ = recurrent_gae(MINIMAL)
    conclude(ok, "RecurrentRolloutBuffer", theirs_adv)


if __name__ == "__main__":
    main()
