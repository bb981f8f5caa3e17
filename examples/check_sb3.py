"""Cross-check stable-baselines3 against this project's pure functions (checked with sb3 2.9.2).

    RolloutBuffer.compute_returns_and_advantage   vs  gae.compute_gae
    ReplayBuffer + DQN.train()'s target formula   vs  dqn_ddpg.dqn_targets
    NStepReplayBuffer + the same target formula   vs  actor_critic.n_step_returns
    PPO.train()'s clipped surrogate formula       vs  ppo.ppo_clip_objective

sb3's buffers are real sb3 code, called here. The DQN target and the PPO loss live inside
sb3's train() methods and cannot be called alone: the two lines below repeat the formulas as
sb3's train() writes them, applied to what sb3's buffers return.

Mapping sb3's storage to our arguments, truncation included:
- RolloutBuffer: at a time-limit truncation, sb3's collect_rollouts() adds gamma V(final
  observation) to the reward before the buffer sees it, and the buffer knows only "an episode
  ended here" (episode_starts[t + 1]). So sb3's reward = r + gamma truncated V(final obs),
  sb3's done = episode_end, and our call gets terminated, episode_end and next_values (the
  final observation's value where the episode ended).
- ReplayBuffer: dones = terminated or truncated plus infos[i]["TimeLimit.truncated"]; the
  sampled `dones` are dones * (1 - timeouts) = terminated; next_observations holds the final
  observation at an episode's end.
Each random rollout has several envs, several episodes, terminations AND truncations.
Exit status 0 when every function agrees, 1 otherwise, 2 when sb3 is missing.

    pip install "stable-baselines3>=2.6,<3"     # or: pip install -r requirements-peers.txt
    python examples/check_sb3.py
"""
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]  # rollouts.py, and the algorithm files
import actor_critic  # noqa: E402  (the files next door: copy them beside this script elsewhere)
import dqn_ddpg  # noqa: E402
import ppo  # noqa: E402
from rollouts import (conclude, EPS32, MINIMAL, Tally, as32, deltas,  # noqa: E402
                      horizon, largest, ours_gae, random_rollout, tolerance)

try:
    import stable_baselines3
    from gymnasium import spaces
    from stable_baselines3.common.buffers import NStepReplayBuffer, ReplayBuffer, RolloutBuffer
except ImportError:
    print("check_sb3.py: needs stable-baselines3: pip install stable-baselines3", file=sys.stderr)
    sys.exit(2)

def sb3_gae(ro):
    """sb3's (advantages, returns) from its RolloutBuffer, fed the way collect_rollouts() does."""
    T, N = ro["rewards"].shape
    # the reward sb3 stores: r + gamma V(final observation) at a truncation
    rewards = ro["rewards"] + ro["gamma"] * ro["truncated"] * ro["next_values"]
    buffer = RolloutBuffer(T, spaces.Box(-1, 1, (1,)), spaces.Discrete(2), device="cpu",
                           gae_lambda=ro["lam"], gamma=ro["gamma"], n_envs=N)
    episode_start = np.ones(N, np.float32)  # sb3 marks the step AFTER an episode's end
    for t in range(T):
        buffer.add(np.zeros((N, 1), np.float32), np.zeros((N, 1)), rewards[t], episode_start,
                   torch.as_tensor(ro["values"][t]), torch.zeros(N))
        episode_start = ro["episode_end"][t].astype(np.float32)
    # last_values: V(s_T); ignored (dones = 1) where the last step ended an episode
    buffer.compute_returns_and_advantage(torch.as_tensor(ro["last_values"]),
                                         ro["episode_end"][-1])
    return buffer.advantages, buffer.returns


def fill_replay(buffer, ro):
    """One transition per step and env; obs = (t, env) so a sample says where it came from."""
    T, N = ro["rewards"].shape
    for t in range(T):
        obs = np.stack([np.full(N, t), np.arange(N)], 1).astype(np.float32)
        infos = [{"TimeLimit.truncated": bool(ro["truncated"][t, n])} for n in range(N)]
        # next_obs (t, env) names "the state after step t": the final observation at an end
        buffer.add(obs, obs.copy(), np.zeros((N, 1)), ro["rewards"][t], ro["episode_end"][t],
                   infos)


def sb3_dqn_target(samples, next_q, gamma):
    """DQN.train()'s target as sb3 2.9 writes it, on a sample of sb3's replay buffer."""
    t, n = samples.next_observations.long().T
    next_q_values = torch.as_tensor(next_q)[t, n].max(dim=1).values.reshape(-1, 1)
    discounts = samples.discounts if samples.discounts is not None else gamma
    target = samples.rewards + (1 - samples.dones) * discounts * next_q_values
    return samples.observations.long().T, target.flatten()


def sb3_ppo_objective(log_probs, old_log_probs, advantages, clip_range):
    """PPO.train()'s policy loss as sb3 2.9 writes it (advantages already normalised there)."""
    ratio = torch.exp(log_probs - old_log_probs)
    policy_loss = -torch.min(advantages * ratio,
                             advantages * torch.clamp(ratio, 1 - clip_range, 1 + clip_range)).mean()
    return -policy_loss  # sb3 minimises the loss; ours is the objective


def main():
    rng = np.random.default_rng(0)
    np.random.seed(0)  # sb3's replay buffers draw the env index of each sample from numpy
    torch.manual_seed(0)
    tally = Tally()
    for _ in range(50):
        ro = as32(random_rollout(rng, int(rng.integers(4, 65)), int(rng.integers(1, 7))))
        T, N = ro["rewards"].shape
        H = horizon(T, ro["gamma"] * ro["lam"])

        adv, ret = ours_gae(ro)
        sb3_adv, sb3_ret = sb3_gae(ro)
        tol = tolerance(EPS32, H, largest(adv, ret, ro["rewards"], ro["values"],
                                          ro["next_values"]), deltas(ro).max())
        tally.add("compute_gae advantages vs RolloutBuffer (sb3 float32)", adv, sb3_adv, tol)
        tally.add("compute_gae returns vs RolloutBuffer (sb3 float32)", ret, sb3_ret, tol)
        adv32, ret32 = ours_gae(ro, torch.float32)
        tally.add("compute_gae float32 vs float64 (ours)", torch.cat([adv, ret]),
                  torch.cat([adv32, ret32]), tol)

        # replay: next_q[t, n] = Q_target(state after step t, .) over 3 actions
        next_q = rng.normal(size=(T, N, 3)).astype(np.float32).astype(np.float64)
        r, next_q_t = torch.as_tensor(ro["rewards"]), torch.as_tensor(next_q)
        term, end = torch.as_tensor(ro["terminated"]), torch.as_tensor(ro["episode_end"])
        ours_1 = dqn_ddpg.dqn_targets(r, next_q_t, term, ro["gamma"])
        buffer = ReplayBuffer((T + 1) * N, spaces.Box(-1e3, 1e3, (2,)), spaces.Discrete(3),
                              device="cpu", n_envs=N, handle_timeout_termination=True)
        fill_replay(buffer, ro)
        (t, n), theirs = sb3_dqn_target(buffer._get_samples(np.arange(T).repeat(3)), next_q,
                                        ro["gamma"])
        tally.add("dqn_targets vs ReplayBuffer + DQN.train() formula (sb3 float32)",
                  ours_1[t, n], theirs, tolerance(EPS32, 1, largest(ours_1, next_q, r)))

        steps = int(rng.integers(1, 6))
        ours_n = actor_critic.n_step_returns(r, next_q_t.max(-1).values, term, end,
                                             ro["gamma"], steps)
        buffer = NStepReplayBuffer((T + 1) * N, spaces.Box(-1e3, 1e3, (2,)), spaces.Discrete(3),
                                   device="cpu", n_envs=N, handle_timeout_termination=True,
                                   n_steps=steps, gamma=ro["gamma"])
        fill_replay(buffer, ro)
        (t, n), theirs = sb3_dqn_target(buffer._get_samples(np.arange(T).repeat(3)), next_q,
                                        ro["gamma"])
        tally.add("n_step_returns vs NStepReplayBuffer + DQN.train() formula (sb3 float32)",
                  ours_n[t, n], theirs,
                  tolerance(EPS32, steps, largest(ours_n, next_q, r), largest(r)))

        log_probs, old_log_probs = torch.randn(T * N) * 0.3, torch.randn(T * N) * 0.3
        advantages, clip_eps = torch.randn(T * N), float(rng.uniform(0.05, 0.3))
        ours_clip = ppo.ppo_clip_objective(log_probs, old_log_probs, advantages, clip_eps)
        tally.add("ppo_clip_objective vs PPO.train() formula (float32)", ours_clip,
                  sb3_ppo_objective(log_probs, old_log_probs, advantages, clip_eps),
                  tolerance(EPS32, 1, largest(advantages * (log_probs - old_log_probs).exp())))

    print(f"stable-baselines3 {stable_baselines3.__version__} against this project's "
          f"functions, 50 random rollouts (T 4-64, 1-6 envs, terminations and truncations):")
    ok = tally.report()
    sb3_adv, _ = sb3_gae(MINIMAL)
    conclude(ok, "sb3", sb3_adv)


if __name__ == "__main__":
    main()
