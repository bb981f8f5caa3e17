"""Tiny gymnasium envs, and a reading of learning curves, shared by several test files."""
import os

import gymnasium as gym
import numpy as np

# A uniformly random policy on CartPole-v1 averages 22.1; over 2,000 of its episodes (seeds
# 0-1999), no 10 in a row averaged more than 36.2.
CARTPOLE_RANDOM_BEST_MEAN_OF_10 = 36.2


def best_mean_return(run_dir, window=10):
    """The highest mean return of `window` consecutive training episodes in run_dir's
    progress.csv: a reading of the learning curve that a late dip does not hide."""
    returns = np.loadtxt(os.path.join(run_dir, "progress.csv"), delimiter=",", skiprows=1,
                         ndmin=2)[:, 1]
    return float(np.convolve(returns, np.ones(window) / window, mode="valid").max())


class ReachEnv(gym.Env):
    """A continuous task: steer a point on a line to 0. Reward -|x|, actions in [-1, 1]."""
    observation_space = gym.spaces.Box(-10, 10, (1,), np.float32)
    action_space = gym.spaces.Box(-1, 1, (1,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.x = float(self.np_random.uniform(-3, 3))
        return np.array([self.x], np.float32), {}

    def step(self, action):
        self.x = float(np.clip(self.x + float(action[0]), -10, 10))
        return np.array([self.x], np.float32), -abs(self.x), False, False, {}


def register_reach_env(env_id, steps=20):
    """Register ReachEnv under env_id, every episode cut by a time limit of `steps`; return the
    mean return of a uniformly random policy over 50 episodes, the floor to beat."""
    gym.register(env_id, entry_point=ReachEnv, max_episode_steps=steps)
    env, returns = gym.make(env_id), []
    env.action_space.seed(0)
    for i in range(50):
        env.reset(seed=i)
        returns.append(sum(env.step(env.action_space.sample())[1] for _ in range(steps)))
    return float(np.mean(returns))


class EchoActionEnv(gym.Env):
    """obs = the action the env received (within [-9, 9]): shows what reached it. Actions are
    a Box from low to high (sequences, or broadcast against each other)."""

    def __init__(self, low=(-1.0,), high=(1.0,)):
        low, high = np.broadcast_arrays(np.float32(low), np.float32(high))
        self.action_space = gym.spaces.Box(low, high, dtype=np.float32)
        self.observation_space = gym.spaces.Box(-9.0, 9.0, self.action_space.shape, np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(self.observation_space.shape, np.float32), {}

    def step(self, action):
        return np.asarray(action, np.float32), 0.0, False, False, {}

