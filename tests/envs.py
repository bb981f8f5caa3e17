"""Tiny gymnasium envs shared by several test files."""
import gymnasium as gym
import numpy as np


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
