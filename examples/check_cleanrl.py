"""CleanRL's GAE, as its ppo.py computes it, against gae.compute_gae. Needs no install.

CleanRL (ppo.py, checked at commit fe8d8a0, 2026) stores one flag per step, dones[t] = "obs[t]
came right after an episode ended" = terminated[t-1] or truncated[t-1], and never looks at the
final observation of a truncated episode. Its recursion, written here in our words:

    next_nonterminal_t = 1 - dones[t+1]      (1 - next_done at the rollout's last step)
    delta_t = r_t + gamma V(s_{t+1}) next_nonterminal_t - V(s_t)
    A_t = delta_t + gamma lam next_nonterminal_t A_{t+1},   returns = A + V

So CleanRL is our compute_gae with terminated = episode_end: a truncation is treated as a
termination, and the gamma V(final observation) that the textbook adds at a time limit is
dropped. This script shows
- without truncations it agrees with ours exactly;
- with truncations ours reproduces it when given terminated = episode_end;
- the textbook answer minus CleanRL's is exactly the GAE of the missing terms gamma V(final obs)
  at the truncated steps (so nothing else differs), and a 3-step case worked by hand.
Exit status 0 when all of that holds, 1 otherwise.

    python examples/check_cleanrl.py
"""
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]  # rollouts.py, and the algorithm files
from rollouts import (EPS32, EPS64, MINIMAL, MINIMAL_ADVANTAGES, Tally, as32,  # noqa: E402
                      deltas, horizon, largest, ours_gae, random_rollout, tolerance)


def cleanrl_gae(rewards, values, dones, next_value, next_done, gamma, lam):
    """CleanRL's storage and loop: [T, N] tensors; dones[t]: obs[t] follows an episode end;
    next_value, next_done: V and the flag of the observation after the rollout."""
    T = rewards.shape[0]
    advantages = torch.zeros_like(rewards)
    last = torch.zeros_like(rewards[0])
    for t in reversed(range(T)):
        if t == T - 1:
            next_nonterminal, next_values = 1.0 - next_done, next_value
        else:
            next_nonterminal, next_values = 1.0 - dones[t + 1], values[t + 1]
        delta = rewards[t] + gamma * next_values * next_nonterminal - values[t]
        advantages[t] = last = delta + gamma * lam * next_nonterminal * last
    return advantages, advantages + values


def run_cleanrl(ro, dtype=torch.float64):
    """Our rollout in CleanRL's storage: dones shifted one step, no final observations."""
    r, v = (torch.as_tensor(ro[k], dtype=dtype) for k in ("rewards", "values"))
    ended = torch.as_tensor(ro["episode_end"], dtype=dtype)
    dones = torch.cat([torch.zeros_like(ended[:1]), ended[:-1]])  # flag of obs[t]
    # the observation after the rollout: V(s_T) unless the last step ended an episode (then
    # CleanRL holds the reset observation's value, multiplied by next_done = 1 anyway)
    return cleanrl_gae(r, v, dones, torch.as_tensor(ro["next_values"][-1], dtype=dtype),
                       ended[-1], ro["gamma"], ro["lam"])


def without_truncation(ro):
    """The same rollout with every truncation turned into a termination."""
    return dict(ro, terminated=ro["episode_end"].copy(),
                truncated=np.zeros_like(ro["truncated"]))


def main():
    rng = np.random.default_rng(4)
    tally = Tally()
    raw_gap = 0.0
    for _ in range(50):
        ro = as32(random_rollout(rng, int(rng.integers(4, 65)), int(rng.integers(1, 7))))
        T = ro["rewards"].shape[0]
        H = horizon(T, ro["gamma"] * ro["lam"])
        plain = without_truncation(ro)
        adv, ret = ours_gae(plain)
        M, D = largest(adv, ret, ro["rewards"], ro["values"], ro["next_values"]), \
            deltas(plain).max()
        c_adv, c_ret = run_cleanrl(ro)
        tally.add("compute_gae vs CleanRL's GAE, no truncation (every end a termination, float64)",
                  torch.cat([adv, ret]), torch.cat([c_adv, c_ret]), tolerance(EPS64, H, M, D))
        c32_adv, c32_ret = run_cleanrl(ro, torch.float32)
        tally.add("compute_gae vs CleanRL's GAE in float32, no truncation",
                  torch.cat([adv, ret]), torch.cat([c32_adv, c32_ret]),
                  tolerance(EPS32, H, M, D))

        true_adv, true_ret = ours_gae(ro)  # the textbook: truncations bootstrapped
        raw_gap = max(raw_gap, float((true_adv - c_adv).abs().max()))
        # the missing terms: gamma V(final obs) at each truncation, discounted back by gamma lam
        missing = dict(ro, rewards=ro["gamma"] * ro["truncated"] * ro["next_values"],
                       values=np.zeros_like(ro["values"]),
                       next_values=np.zeros_like(ro["values"]))
        gap_adv, _ = ours_gae(missing)
        tally.add("textbook minus CleanRL = GAE of the dropped gamma V(final obs) (float64)",
                  true_adv - c_adv, gap_adv, tolerance(EPS64, H, M, D))

    print("CleanRL's GAE formula (dones = terminated or truncated, no final observation) against "
          "gae.compute_gae, 50 random rollouts (T 4-64, 1-6 envs, terminations and truncations):")
    ok = tally.report()
    print(f"  with truncations: CleanRL's GAE differs from the textbook by up to {raw_gap:.2f} "
          f"(expected: it treats a truncation as a termination)")
    c_adv, _ = run_cleanrl(MINIMAL)
    ours_adv, _ = ours_gae(MINIMAL)
    print(f"  minimal case, 3 steps, gamma 0.9, lam 0.5, rewards 1 2 3, V(s_t) 0.5 1.0 0.2; "
          f"step 1 truncated with V(final obs) = 4, step 2 terminated:\n"
          f"    textbook: delta = 1 + 0.9*1.0 - 0.5 = 1.4, 2 + 0.9*4 - 1.0 = 4.6, 3 - 0.2 = 2.8;"
          f" A = [1.4 + 0.45*4.6, 4.6, 2.8] = {MINIMAL_ADVANTAGES}; compute_gae gives "
          f"{[round(float(a), 4) for a in ours_adv.flatten()]}\n"
          f"    CleanRL: delta_1 = 2 - 1.0 = 1.0 (no 0.9*4); A = [1.4 + 0.45*1.0, 1.0, 2.8] = "
          f"[1.85, 1.0, 2.8]; its formula gives {[round(float(a), 4) for a in c_adv.flatten()]}")
    print("every check holds" if ok else "DISAGREEMENT: see the lines marked disagree")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
