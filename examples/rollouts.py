"""Shared by the examples/check_*.py scripts: random rollouts, the hand-worked minimal case,
the float round-off tolerance, and the agree / disagree tally. Needs no peer library.

Rollouts are time-major [T, N] numpy arrays (float64, and bool flags), stored the gymnasium
way: terminated[t] (s_{t+1} is terminal), truncated[t] (a time limit cut the episode),
episode_end = terminated | truncated, next_values[t] = V(s_{t+1}), the final observation's value
where the episode ended.
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import gae  # noqa: E402  (the file next door: copy it beside these scripts to use them elsewhere)

EPS32, EPS64 = float(np.finfo(np.float32).eps), float(np.finfo(np.float64).eps)


def random_rollout(rng, T, N):
    """A [T, N] rollout: several episodes per env, at least one termination and one truncation.

    next_values[t] = V(s_{t+1}) within an episode, V(final observation) where it ended (the
    critic's guess, which a correct estimator must ignore after a termination)."""
    ended = rng.random((T, N)) < 0.15
    terminated = ended & (rng.random((T, N)) < 0.5)
    first, second = rng.choice(T * N, 2, replace=False)
    terminated.flat[first], terminated.flat[second] = True, False
    truncated = ended & ~terminated
    truncated.flat[second] = True
    values = rng.normal(size=(T, N))                      # V(s_t)
    last_values = rng.normal(size=N)                      # V(s_T), the rollout's bootstrap
    final_values = rng.normal(size=(T, N))                # V(final obs) where an episode ended
    following = np.concatenate([values[1:], last_values[None]])
    next_values = np.where(terminated | truncated, final_values, following)
    return {"rewards": rng.normal(size=(T, N)), "values": values, "next_values": next_values,
            "last_values": last_values, "terminated": terminated, "truncated": truncated,
            "episode_end": terminated | truncated,
            "gamma": float(rng.uniform(0.9, 1.0)),
            "lam": float(rng.choice([rng.uniform(0.0, 1.0), 0.95, 1.0]))}


def horizon(T, discount):
    """How many terms a discounted sum really has: sum_k discount^k over T steps."""
    return T if discount >= 1.0 else min(T, 1.0 / (1.0 - discount))


def largest(*arrays):
    """The largest magnitude among the arrays (tensors too), at least 1."""
    return max(1.0, *(float(np.abs(np.asarray(a, np.float64)).max()) for a in arrays))


def deltas(ro):
    """|delta_t| = |r_t + gamma (1 - terminated_t) V(s_{t+1}) - V(s_t)|, in float64."""
    return np.abs(ro["rewards"] + ro["gamma"] * ~ro["terminated"] * ro["next_values"]
                  - ro["values"])


def tolerance(eps, steps, magnitude, delta=0.0, cutoff=0.0):
    """Allowed |ours - theirs| for a discounted sum with `steps` effective terms (H):
    eps H (2 M + H D / 2). Each step rounds a few numbers of size <= M (the largest input or
    result), errors only shrink afterwards (times gamma lam <= 1): 2 eps H M; rounding gamma lam
    itself to the working precision changes sum_k (gamma lam)^k delta_k by <= eps H^2 D / 2
    (D = max |delta|). A peer that drops the series' terms below `cutoff` adds cutoff H D."""
    return eps * steps * (2.0 * magnitude + steps * delta / 2.0) + cutoff * steps * delta


class Tally:
    """Per compared function: the largest |ours - theirs| and whether it stayed in tolerance."""

    def __init__(self):
        self.rows = {}

    def add(self, name, ours, theirs, tol):
        diff = float(np.abs(np.asarray(ours, np.float64) - np.asarray(theirs, np.float64)).max())
        worst, allowed, ok = self.rows.get(name, (0.0, tol, True))
        self.rows[name] = (max(worst, diff), tol if diff >= worst else allowed,
                           ok and diff <= tol)

    def report(self):
        for name, (worst, allowed, ok) in self.rows.items():
            print(f"  {name}: {'agree' if ok else 'disagree'}, largest |difference| "
                  f"{worst:.1e} (allowed {allowed:.1e})")
        return all(ok for _, _, ok in self.rows.values())


def as32(rollout):
    """The rollout rounded to float32 values (kept in float64): what float32 storage holds."""
    return {k: v.astype(np.float32).astype(np.float64) if isinstance(v, np.ndarray)
            and v.dtype == np.float64 else v for k, v in rollout.items()}


def ours_gae(ro, dtype=torch.float64):
    """gae.compute_gae on a rollout: (advantages, returns), [T, N] tensors in `dtype`."""
    t = {k: torch.as_tensor(ro[k], dtype=dtype) for k in ("rewards", "values", "next_values")}
    return gae.compute_gae(t["rewards"], t["values"], t["next_values"],
                           torch.as_tensor(ro["terminated"]), torch.as_tensor(ro["episode_end"]),
                           ro["gamma"], ro["lam"])


# 3 steps, 1 env, gamma 0.9, lam 0.5: step 1 is truncated (V(final obs) = 4), step 2 starts a
# new episode and terminates (V(next) = 7 must be ignored). By hand:
#   delta_0 = 1 + 0.9 * 1.0 - 0.5 = 1.4, delta_1 = 2 + 0.9 * 4 - 1.0 = 4.6, delta_2 = 3 - 0.2 = 2.8
#   A_2 = 2.8,  A_1 = 4.6 (the episode ended),  A_0 = 1.4 + 0.9 * 0.5 * 4.6 = 3.47
MINIMAL = {"rewards": np.array([[1.0], [2.0], [3.0]]), "values": np.array([[0.5], [1.0], [0.2]]),
           "next_values": np.array([[1.0], [4.0], [7.0]]), "last_values": np.array([7.0]),
           "terminated": np.array([[False], [False], [True]]),
           "truncated": np.array([[False], [True], [False]]),
           "episode_end": np.array([[False], [True], [True]]), "gamma": 0.9, "lam": 0.5}
MINIMAL_ADVANTAGES = [3.47, 4.6, 2.8]


def conclude(ok, who, their_advantages):
    """The minimal case as `who` computes it beside the textbook's answer, then the verdict; exits
    0 when every function agreed, 1 otherwise."""
    print(f"  minimal case (step 1 truncated, step 2 terminated; gamma 0.9, lam 0.5): textbook "
          f"A = {MINIMAL_ADVANTAGES} (A_0 = 1.4 + 0.45 * 4.6), {who} gives "
          f"{[round(float(a), 4) for a in np.asarray(their_advantages).flatten()]}")
    print("every function agrees" if ok else "DISAGREEMENT: see the lines marked disagree")
    sys.exit(0 if ok else 1)
