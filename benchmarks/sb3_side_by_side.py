"""Ours against stable-baselines3 (and sb3-contrib), seed by seed, in one run on one machine.

For each seed it trains our file, then sb3's counterpart with RL Zoo's tuned hyperparameters
(rl-baselines3-zoo's hyperparams/<algo>.yml for the env), each in its own subprocess with one
torch thread, alternating so both see the same machine load. It records each run's training
wall time (the learning loop only, as our files' train_time_s) and its mean return over 10
deterministic evaluation episodes, and writes
benchmarks/results/sb3_side_by_side_<algo>_<env>.json.

    pip install -r requirements-bench.txt
    python benchmarks/sb3_side_by_side.py --algo ppo --seeds 5
    python benchmarks/sb3_side_by_side.py --algo a2c --seeds 3
"""
import argparse
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# RL Zoo's entries (DLR-RM/rl-baselines3-zoo, hyperparams/*.yml). Ours run with their own
# defaults on the same budget (ppo.py's defaults are RL Zoo's PPO settings).
SETUPS = {
    "ppo": {"env": "CartPole-v1", "ours": ["ppo.py"], "steps": 100_000, "n_envs": 8,
            "sb3": dict(n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20,
                        ent_coef=0.0, learning_rate="lin_0.001", clip_range="lin_0.2")},
    "a2c": {"env": "CartPole-v1", "ours": ["actor_critic.py"], "steps": 500_000, "n_envs": 8,
            "sb3": dict(ent_coef=0.0)},
    "trpo": {"env": "CartPole-v1", "ours": ["npg_trpo.py", "--algo", "trpo"], "steps": 100_000,
             "n_envs": 2,
             "sb3": dict(n_steps=512, batch_size=512, cg_damping=1e-3, gae_lambda=0.98,
                         gamma=0.99, learning_rate=1e-3, n_critic_updates=20)},
    "dqn": {"env": "CartPole-v1", "ours": ["dqn_ddpg.py"], "steps": 50_000, "n_envs": 1,
            "sb3": dict(learning_rate=2.3e-3, batch_size=64, buffer_size=100_000,
                        learning_starts=1000, gamma=0.99, target_update_interval=10,
                        train_freq=256, gradient_steps=128, exploration_fraction=0.16,
                        exploration_final_eps=0.04, policy_kwargs=dict(net_arch=[256, 256]))},
    "ddpg": {"env": "Pendulum-v1", "ours": ["dqn_ddpg.py"], "steps": 20_000, "n_envs": 1,
             "sb3": dict(gamma=0.98, buffer_size=200_000, learning_starts=10_000,
                         action_noise="normal_0.1", gradient_steps=-1,
                         train_freq=(1, "episode"), learning_rate=1e-3,
                         policy_kwargs=dict(net_arch=[400, 300]))},
}


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
    if algo == "trpo":
        from sb3_contrib import TRPO as cls
    else:
        cls = {"ppo": PPO, "a2c": A2C, "dqn": DQN, "ddpg": DDPG}[algo]
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


def cpu_model():
    """The processor's model name ('AMD EPYC', 'Intel(R) Xeon(R) ...'), as benchmarks/run.py."""
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def last_json_line(cmd):
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stderr.strip().splitlines()[-1:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--algo", choices=sorted(SETUPS), default="ppo")
    parser.add_argument("--seeds", type=int, default=5, help="seeds 1..SEEDS")
    parser.add_argument("--sb3-only-seed", type=int, help=argparse.SUPPRESS)  # the subprocess
    parser.add_argument("--sb3-steps", type=int, help=argparse.SUPPRESS)  # its budget
    args = parser.parse_args()
    if args.sb3_only_seed is not None:
        return print(json.dumps(train_sb3(args.algo, args.sb3_only_seed, args.sb3_steps)))
    setup, pairs = SETUPS[args.algo], []
    for seed in range(1, args.seeds + 1):
        run_dir = os.path.join(ROOT, "benchmarks", "out", f"sb3_side_by_side_{args.algo}",
                               f"ours_seed{seed}")
        ours = last_json_line([sys.executable, *setup["ours"], "--env-id", setup["env"],
                               "--seed", str(seed), "--quiet",
                               "--total-timesteps", str(setup["steps"]), "--run-dir", run_dir])
        theirs = last_json_line([sys.executable, __file__, "--algo", args.algo,
                                 "--sb3-only-seed", str(seed)])
        pair = {"seed": seed,
                "ours": {k: ours[k] for k in ("train_time_s", "eval_return_mean", "sps")},
                "sb3": {k: theirs[k] for k in ("train_time_s", "eval_return_mean", "sps")}}
        pairs.append(pair)
        print(f"seed {seed}: ours {pair['ours']['train_time_s']:.1f} s, eval "
              f"{pair['ours']['eval_return_mean']:.1f} | sb3 {pair['sb3']['train_time_s']:.1f}"
              f" s, eval {pair['sb3']['eval_return_mean']:.1f}", file=sys.stderr)
    med = lambda who, key: statistics.median(p[who][key] for p in pairs)
    git = lambda *a: subprocess.run(["git", *a], cwd=ROOT, capture_output=True,
                                    text=True).stdout.strip()
    out = {"what": f"{' '.join(setup['ours'])} against stable-baselines3 {args.algo.upper()} "
                   f"with RL Zoo's {setup['env']} hyperparameters, {setup['steps']:,} steps, "
                   "one torch thread each, alternating seed by seed",
           "command": f"python benchmarks/sb3_side_by_side.py --algo {args.algo} "
                      f"--seeds {args.seeds}",
           "sb3_kwargs": {k: str(v) for k, v in setup["sb3"].items()},
           "sb3_version": theirs["sb3_version"],
           "median_train_time_s": {"ours": med("ours", "train_time_s"),
                                   "sb3": med("sb3", "train_time_s")},
           "wall_time_ratio_ours_over_sb3": round(med("ours", "train_time_s")
                                                  / med("sb3", "train_time_s"), 3),
           "eval_return_mean": {w: round(statistics.fmean(p[w]["eval_return_mean"]
                                                          for p in pairs), 1)
                                for w in ("ours", "sb3")},
           "pairs": pairs,
           "rows": [{"seed": p["seed"], **{f"{who}_{k}": p[who][k] for who in ("ours", "sb3")
                                            for k in ("train_time_s", "eval_return_mean")}}
                    for p in pairs],
           "commit": git("rev-parse", "--short", "HEAD"),
           "ours_sha256": hashlib.sha256(open(os.path.join(ROOT, setup["ours"][0]), "rb")
                                         .read()).hexdigest()[:16],
           "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
           "machine": f"{cpu_model()}, {os.cpu_count()} cores"}
    env_name = setup["env"].split("-")[0].lower()
    path = os.path.join(ROOT, "benchmarks", "results",
                        f"sb3_side_by_side_{args.algo}_{env_name}.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
    print(json.dumps({k: out[k] for k in ("median_train_time_s", "wall_time_ratio_ours_over_sb3",
                                          "eval_return_mean")}))


if __name__ == "__main__":
    main()
