"""One stable-baselines3 (or sb3-contrib) run with RL Zoo's tuned hyperparameters: the sb3 side
of benchmarks/compare.py, which runs it in a subprocess seed by seed, alternating with ours.

pairs.SETUPS holds rl-baselines3-zoo's hyperparams/<algo>.yml entries for each env. The run uses one
torch thread, as our files do; it prints one JSON line: the training wall time (the learning
loop only, as our files' train_time_s), steps per second, the mean return of 10 deterministic
evaluation episodes and every training episode as (env steps so far, return).

    pip install -r requirements-bench.txt
    python benchmarks/sb3_side_by_side.py --algo ppo --seed 1
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pairs import SETUPS  # noqa: E402



def train_sb3(algo, seed, steps=None):
    """One sb3 run (in this subprocess): its training seconds, deterministic eval return and
    training episodes [(env steps so far, return)]. steps: the budget (default SETUPS')."""
    import gymnasium as gym
    import numpy as np
    import stable_baselines3
    import torch
    from stable_baselines3 import A2C, DDPG, DQN, PPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.noise import NormalActionNoise

    class EpisodeLog(BaseCallback):  # make_vec_env's Monitor puts each episode's return in info
        def __init__(self):
            super().__init__()
            self.episodes = []

        def _on_step(self):
            for info in self.locals.get("infos", []):
                if "episode" in info:
                    self.episodes.append((self.num_timesteps, float(info["episode"]["r"])))
            return True

    torch.set_num_threads(1)  # as our files: one core per run
    setup = SETUPS[algo]
    kwargs = dict(setup["sb3"])
    for key in ("learning_rate", "clip_range"):  # RL Zoo's lin_X: X * remaining progress
        if isinstance(kwargs.get(key), str):
            x = float(kwargs[key][4:])
            kwargs[key] = lambda progress, x=x: progress * x
    env = make_vec_env(setup["env"], n_envs=setup["n_envs"], seed=seed)
    if kwargs.get("action_noise") == "normal_0.1":  # RL Zoo: noise_type normal, noise_std 0.1
        n = env.action_space.shape[0]
        kwargs["action_noise"] = NormalActionNoise(np.zeros(n), 0.1 * np.ones(n))
    name = setup.get("algo", algo)  # the sb3 class: the setup's key unless it says
    if name == "trpo":
        from sb3_contrib import TRPO as cls
    else:
        cls = {"ppo": PPO, "a2c": A2C, "dqn": DQN, "ddpg": DDPG}[name]
    model = cls("MlpPolicy", env, seed=seed, device="cpu", **kwargs)
    steps = steps or setup["steps"]
    log = EpisodeLog()
    start = time.time()
    model.learn(total_timesteps=steps, callback=log)
    train_time = time.time() - start
    eval_env, returns = gym.make(setup["env"]), []
    discrete = isinstance(eval_env.action_space, gym.spaces.Discrete)
    for i in range(10):
        obs, _ = eval_env.reset(seed=seed + 10_000 + i)
        done, total = False, 0.0
        while not done:
            action, _ = model.predict(obs, deterministic=True)
            obs, reward, terminated, truncated, _ = eval_env.step(int(action) if discrete
                                                                   else action)
            total, done = total + float(reward), terminated or truncated
        returns.append(total)
    return {"train_time_s": round(train_time, 2), "eval_return_mean": float(np.mean(returns)),
            "sps": round(steps / train_time, 1), "episodes": log.episodes,
            "sb3_version": stable_baselines3.__version__}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--algo", choices=sorted(SETUPS), required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--steps", type=int, help="the budget (default: the setup's)")
    args = parser.parse_args()
    print(json.dumps(train_sb3(args.algo, args.seed, args.steps)))


if __name__ == "__main__":
    main()
