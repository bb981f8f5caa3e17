"""Use gae.compute_gae as a test oracle: check stable-baselines3's GAE against it.

stable-baselines3 computes GAE inside its RolloutBuffer (compute_returns_and_advantage). This
script fills a buffer with random rewards, values and episode ends, runs sb3's computation, and
compares its advantages and returns with gae.compute_gae on the same numbers.

sb3's buffer knows only "the episode ended here" (it folds a time-limit truncation into the
reward, as r + gamma V(final observation), before the buffer sees it), so every episode end
here is a termination: terminated = episode_end.

    pip install stable-baselines3
    python examples/check_sb3_gae.py
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import gae  # noqa: E402  (the file next door: copy it beside this script to use it elsewhere)

try:
    from gymnasium import spaces
    from stable_baselines3.common.buffers import RolloutBuffer
except ImportError:
    print("check_sb3_gae.py: needs stable-baselines3: pip install stable-baselines3",
          file=sys.stderr)
    sys.exit(2)


def sb3_gae(rewards, values, dones, last_values, gamma, lam):
    """sb3's advantages and returns for [T, N] float32 arrays; dones[t]: the episode ended at t."""
    T, N = rewards.shape
    buffer = RolloutBuffer(T, spaces.Box(-1, 1, (1,)), spaces.Discrete(2), device="cpu",
                           gae_lambda=lam, gamma=gamma, n_envs=N)
    episode_start = np.zeros(N, np.float32)  # sb3 marks the step AFTER an episode end
    for t in range(T):
        buffer.add(np.zeros((N, 1), np.float32), np.zeros((N, 1)), rewards[t], episode_start,
                   torch.as_tensor(values[t]), torch.zeros(N))
        episode_start = dones[t]
    buffer.compute_returns_and_advantage(torch.as_tensor(last_values), dones[-1])
    return buffer.advantages, buffer.returns


def main():
    rng = np.random.default_rng(0)
    worst = 0.0
    for trial in range(100):
        T, N = int(rng.integers(1, 65)), int(rng.integers(1, 9))
        gamma, lam = float(rng.uniform(0.8, 1.0)), float(rng.uniform(0.0, 1.0))
        rewards = rng.normal(size=(T, N)).astype(np.float32)
        values = rng.normal(size=(T, N)).astype(np.float32)
        last_values = rng.normal(size=N).astype(np.float32)  # V(s_T), the rollout's bootstrap
        dones = (rng.random((T, N)) < 0.1).astype(np.float32)
        theirs_adv, theirs_ret = sb3_gae(rewards, values, dones, last_values, gamma, lam)

        next_values = np.concatenate([values[1:], last_values[None]])  # V(s_{t+1})
        ended = torch.as_tensor(dones).bool()
        ours_adv, ours_ret = gae.compute_gae(torch.as_tensor(rewards), torch.as_tensor(values),
                                             torch.as_tensor(next_values), ended, ended,
                                             gamma, lam)
        worst = max(worst, float(np.abs(theirs_adv - ours_adv.numpy()).max()),
                    float(np.abs(theirs_ret - ours_ret.numpy()).max()))
    print(f"stable-baselines3's GAE against gae.compute_gae on 100 random rollouts "
          f"(T <= 64, N <= 8, 10% episode ends): largest difference {worst:.2e}")
    if worst > 1e-4:  # float32 sums of at most 64 terms
        sys.exit("they disagree")
    print("they agree (float32 round-off)")


if __name__ == "__main__":
    main()
