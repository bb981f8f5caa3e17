"""Cross-check tianshou against this project's pure functions (checked with tianshou 2.0.1).

    Algorithm.compute_episodic_return   vs  gae.compute_gae           (GAE, lambda-returns)
    Algorithm.compute_nstep_return      vs  actor_critic.n_step_returns

tianshou 2.0 keeps these as static methods of tianshou.algorithm.algorithm_base.Algorithm
(before 2.0 they were on tianshou.policy.BasePolicy: not checked here). They read a
replay buffer: one sub-buffer per env in a VectorReplayBuffer, each transition stored with
obs, rew, terminated, truncated and obs_next (the final observation where an episode ended).
Mapping: v_s = values, v_s_ = next_values (tianshou zeroes it where terminated), end flag =
terminated or truncated, and an episode still open at the buffer's end is bootstrapped, as
ours is at the rollout's end. compute_episodic_return returns (returns, advantages): the
other order from ours, and flat in the buffer's order (env by env), not [T, N].
Each random rollout has several envs, several episodes, terminations AND truncations.
Exit status 0 when every function agrees, 1 otherwise, 2 when tianshou is missing.

    pip install "tianshou>=2.0,<2.1"
    python examples/check_tianshou.py
"""
import os
import sys
import warnings

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]  # rollouts.py, and the algorithm files
import actor_critic  # noqa: E402  (the files next door: copy them beside this script elsewhere)
from rollouts import (conclude, EPS64, MINIMAL, Tally, as32, deltas,  # noqa: E402
                      horizon, largest, ours_gae, random_rollout, tolerance)

try:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import tianshou
        from tianshou.algorithm.algorithm_base import Algorithm
        from tianshou.data import Batch, VectorReplayBuffer
except ImportError:
    print("check_tianshou.py: needs tianshou 2.x: pip install 'tianshou>=2.0'", file=sys.stderr)
    sys.exit(2)


def fill_buffer(ro):
    """A VectorReplayBuffer with one sub-buffer per env; obs = (t, env) and obs_next = (t, env)
    ("the state after step t") say where each transition came from."""
    T, N = ro["rewards"].shape
    buffer = VectorReplayBuffer(total_size=T * N, buffer_num=N)
    for t in range(T):
        where = np.stack([np.full(N, t), np.arange(N)], 1).astype(np.float64)
        buffer.add(Batch(obs=where, act=np.zeros(N), rew=ro["rewards"][t],
                         terminated=ro["terminated"][t], truncated=ro["truncated"][t],
                         obs_next=where, info=Batch()), buffer_ids=list(range(N)))
    batch, indices = buffer.sample(0)  # everything, in the buffer's order
    t, n = batch.obs.astype(int).T
    return buffer, batch, indices, t, n


def tianshou_gae(ro):
    """tianshou's (returns, advantages) as [T, N] arrays (it computes in float64, numpy)."""
    buffer, batch, indices, t, n = fill_buffer(ro)
    returns, advantages = Algorithm.compute_episodic_return(
        batch, buffer, indices, v_s_=ro["next_values"][t, n], v_s=ro["values"][t, n],
        gamma=ro["gamma"], gae_lambda=ro["lam"])
    out_adv, out_ret = np.zeros_like(ro["rewards"]), np.zeros_like(ro["rewards"])
    out_adv[t, n], out_ret[t, n] = advantages, returns
    return out_ret, out_adv


def tianshou_nstep(ro, steps):
    """tianshou's n-step targets with V(obs_next) as the target network's value, [T, N]."""
    buffer, batch, indices, t, n = fill_buffer(ro)

    def target_q_fn(buf, idx):  # V(obs_next) of the transitions `steps` ahead
        nt, nn = buf[idx].obs_next.astype(int).T
        return torch.as_tensor(ro["next_values"][nt, nn])

    out = Algorithm.compute_nstep_return(batch, buffer, indices, target_q_fn,
                                         gamma=ro["gamma"], n_step=steps)
    result = np.zeros_like(ro["rewards"])
    result[t, n] = np.asarray(out.returns).reshape(-1)
    return result


def main():
    rng = np.random.default_rng(3)
    tally = Tally()
    for _ in range(40):
        ro = as32(random_rollout(rng, int(rng.integers(4, 65)), int(rng.integers(1, 7))))
        T = ro["rewards"].shape[0]
        H = horizon(T, ro["gamma"] * ro["lam"])
        adv, ret = ours_gae(ro)
        M = largest(adv, ret, ro["rewards"], ro["values"], ro["next_values"])
        their_ret, their_adv = tianshou_gae(ro)
        tol = tolerance(EPS64, H, M, deltas(ro).max())
        tally.add("compute_gae advantages vs compute_episodic_return (float64)", adv, their_adv,
                  tol)
        tally.add("compute_gae returns vs compute_episodic_return (float64)", ret, their_ret, tol)
        steps = int(rng.integers(1, 6))
        ours_n = actor_critic.n_step_returns(
            *(torch.as_tensor(ro[k]) for k in ("rewards", "next_values", "terminated",
                                               "episode_end")), ro["gamma"], steps)
        tally.add("n_step_returns vs compute_nstep_return (float64)", ours_n,
                  tianshou_nstep(ro, steps),
                  tolerance(EPS64, steps, largest(ours_n, ro["rewards"], ro["next_values"]),
                            largest(ro["rewards"])))

    print(f"tianshou {tianshou.__version__} against this project's functions, 40 random "
          f"rollouts (T 4-64, 1-6 envs, terminations and truncations), against our float64:")
    ok = tally.report()
    _, their_adv = tianshou_gae(MINIMAL)
    conclude(ok, "compute_episodic_return", their_adv)


if __name__ == "__main__":
    main()
