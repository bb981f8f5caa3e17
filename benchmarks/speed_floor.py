"""How fast could PPO, DQN and DDPG be at RL Zoo's settings in eager PyTorch on this CPU?

The speed targets of ppo.py and dqn_ddpg.py ask for sb3's return in at most half sb3's wall
time at the same budget. With RL Zoo's settings the work is fixed: so many gradient steps on
so many transitions, so many env steps each with a forward pass to act. This script times that
work done by the barest loop we could write (the same networks, batch sizes and optimiser; no
logging, distribution objects, replay sampling or checks), one torch thread as in compare.py,
each timing the best of 5 (the least disturbed by other load):

    floor = gradient_steps x (seconds per bare gradient step)
          + env_steps x (seconds per env step, with the acting forward pass)

then trains sb3 and our file once each (one seed), in this run, and prints floor, ours and sb3
as seconds and as fractions of sb3's time. The floor is not a proven bound, but a floor near or
above 0.5 of sb3's time leaves an algorithm file, which adds storage, logs and checks to that
loop, no room to meet the target at these settings; well below it, the gap is our overhead.

    python benchmarks/speed_floor.py                   # ppo, dqn, ddpg: 14-17 min on 2 cores here
    python benchmarks/speed_floor.py --pairs ppo --no-train       # the floor only
"""
import argparse
import json
import os
import sys
import time

import gymnasium as gym
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402  (the machine, commit and file hash a result ran on)
from common import ROOT, last_json_line  # noqa: E402

RESULTS = os.path.join(ROOT, "benchmarks", "results", "speed_floor.json")


def mlp(sizes, activation=nn.ReLU):
    """Linear layers of the given widths, `activation` between them (sb3's default nets)."""
    layers = []
    for a, b in zip(sizes, sizes[1:]):
        layers += [nn.Linear(a, b), activation()]
    return nn.Sequential(*layers[:-1])


def per_call(fn, n, repeats=5, warmup=50):
    """Seconds per call of fn: the best of `repeats` timings of n // repeats calls (the least
    disturbed by other load: a floor, not an average)."""
    for _ in range(warmup):
        fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(n // repeats):
            fn()
        best = min(best, (time.perf_counter() - start) / (n // repeats))
    return best


def ppo_floor():
    """RL Zoo CartPole PPO: 8 envs x 32 steps, 20 epochs of one 256-transition minibatch."""
    actor, critic = mlp([4, 64, 64, 2], nn.Tanh), mlp([4, 64, 64, 1], nn.Tanh)
    params = [*actor.parameters(), *critic.parameters()]
    opt = torch.optim.Adam(params, lr=1e-3, eps=1e-5, fused=True)
    obs, act = torch.randn(256, 4), torch.randint(0, 2, (256,))
    old_lp, adv, ret = torch.full((256,), -0.69), torch.randn(256), torch.randn(256)

    def grad_step():
        lp = actor(obs).log_softmax(-1).gather(-1, act[:, None]).squeeze(-1)
        a = (adv - adv.mean()) / (adv.std() + 1e-8)
        ratio = (lp - old_lp).exp()
        surrogate = torch.min(ratio * a, ratio.clamp(0.8, 1.2) * a).mean()
        loss = -surrogate + 0.25 * ((critic(obs).squeeze(-1) - ret) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(params, 0.5)
        opt.step()

    envs = gym.make_vec("CartPole-v1", num_envs=8, vectorization_mode="sync")
    envs.reset(seed=1)
    state = {"obs": torch.zeros(8, 4)}

    def env_step():
        with torch.no_grad():
            logits = actor(state["obs"])
            critic(state["obs"])  # V(s_t), which the rollout stores for GAE
            a = torch.multinomial(logits.softmax(-1), 1).squeeze(-1)
        o, *_ = envs.step(a.numpy())
        state["obs"] = torch.as_tensor(o)

    rollouts = -(-100_000 // 256)
    return dict(gradient_steps=rollouts * 20, env_steps=rollouts * 32,
                grad_s=per_call(grad_step, 2000), env_s=per_call(env_step, 3000))


def dqn_floor():
    """RL Zoo CartPole DQN: 50k steps, 128 gradient steps of 64 every 256 after the first 1000."""
    q, q_target = mlp([4, 256, 256, 2]), mlp([4, 256, 256, 2])
    opt = torch.optim.Adam(q.parameters(), lr=2.3e-3, fused=True)
    obs, next_obs = torch.randn(64, 4), torch.randn(64, 4)
    act, rew, term = torch.randint(0, 2, (64, 1)), torch.ones(64), torch.zeros(64)

    def grad_step():
        with torch.no_grad():
            y = rew + 0.99 * (1 - term) * q_target(next_obs).max(-1).values
        loss = F.smooth_l1_loss(q(obs).gather(-1, act).squeeze(-1), y)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(q.parameters(), 10.0)
        opt.step()

    env = gym.make("CartPole-v1")
    state = {"obs": env.reset(seed=1)[0]}

    def env_step():
        with torch.no_grad():
            a = int(q(torch.as_tensor(state["obs"])).argmax())
        o, _, terminated, truncated, _ = env.step(a)
        state["obs"] = env.reset()[0] if terminated or truncated else o

    return dict(gradient_steps=(50_000 - 1000) // 256 * 128, env_steps=50_000,
                grad_s=per_call(grad_step, 2000), env_s=per_call(env_step, 5000))


def ddpg_floor():
    """RL Zoo Pendulum DDPG: 20k steps, one gradient step of 256 per step after the first 10k."""
    actor, critic = mlp([3, 400, 300, 1]), mlp([4, 400, 300, 1])
    actor_t, critic_t = mlp([3, 400, 300, 1]), mlp([4, 400, 300, 1])
    actor_opt = torch.optim.Adam(actor.parameters(), lr=1e-3, fused=True)
    critic_opt = torch.optim.Adam(critic.parameters(), lr=1e-3, fused=True)
    online = [*actor.parameters(), *critic.parameters()]
    target = [*actor_t.parameters(), *critic_t.parameters()]
    obs, next_obs, act = torch.randn(256, 3), torch.randn(256, 3), torch.randn(256, 1)
    rew, term = torch.randn(256), torch.zeros(256)

    def grad_step():
        with torch.no_grad():
            a2 = actor_t(next_obs).tanh() * 2
            y = rew + 0.98 * (1 - term) * critic_t(torch.cat([next_obs, a2], -1)).squeeze(-1)
        critic_loss = ((critic(torch.cat([obs, act], -1)).squeeze(-1) - y) ** 2).mean()
        critic_opt.zero_grad()
        critic_loss.backward()
        critic_opt.step()
        actor_loss = -critic(torch.cat([obs, actor(obs).tanh() * 2], -1)).mean()
        actor_opt.zero_grad()
        actor_loss.backward()  # also fills the critic's grads; its next zero_grad clears them
        actor_opt.step()
        with torch.no_grad():
            torch._foreach_lerp_(target, online, 0.005)

    env = gym.make("Pendulum-v1")
    state = {"obs": env.reset(seed=1)[0]}

    def env_step():
        with torch.no_grad():
            a = (actor(torch.as_tensor(state["obs"])).tanh() * 2).numpy()
        o, _, terminated, truncated, _ = env.step(a)
        state["obs"] = env.reset()[0] if terminated or truncated else o

    return dict(gradient_steps=10_000, env_steps=20_000,
                grad_s=per_call(grad_step, 500), env_s=per_call(env_step, 5000))


PAIRS = {"ppo": (ppo_floor, ["ppo.py"]), "dqn": (dqn_floor, ["dqn_ddpg.py"]),
         "ddpg": (ddpg_floor, ["dqn_ddpg.py", "--env-id", "Pendulum-v1"])}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", nargs="+", choices=sorted(PAIRS), default=list(PAIRS))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-train", action="store_true", help="time the floor only")
    args = parser.parse_args()
    torch.set_num_threads(1)  # as compare.py: one core per run, both sides
    torch.manual_seed(0)
    out = {"machine": common.machine(), "commit": common.git_commit(),
           "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "pairs": {}}
    for name in args.pairs:
        floor_fn, ours_cmd = PAIRS[name]
        f = floor_fn()
        f["floor_s"] = f["gradient_steps"] * f["grad_s"] + f["env_steps"] * f["env_s"]
        row = {k: round(v, 6) if isinstance(v, float) else v for k, v in f.items()}
        row["ours_command"] = " ".join(ours_cmd)
        row["ours_sha256"] = common.file_sha256(ours_cmd[0][:-3])  # the file ours ran
        print(f"{name}: {f['gradient_steps']} gradient steps x {f['grad_s'] * 1e3:.2f} ms + "
              f"{f['env_steps']} env steps x {f['env_s'] * 1e3:.3f} ms = floor "
              f"{f['floor_s']:.1f} s", flush=True)
        if not args.no_train:
            run_dir = os.path.join(ROOT, "benchmarks", "out", "speed_floor", name)
            ours = last_json_line([sys.executable, *ours_cmd, "--seed", str(args.seed),
                                   "--quiet", "--run-dir", run_dir])
            sb3 = last_json_line([sys.executable, os.path.join(ROOT, "benchmarks",
                                  "sb3_side_by_side.py"), "--algo", name, "--seed",
                                  str(args.seed)])
            sb3_s = sb3["train_time_s"]
            row.update(ours_s=ours["train_time_s"], sb3_s=sb3_s,
                       ours_eval=ours["eval_return_mean"], sb3_eval=sb3["eval_return_mean"],
                       floor_over_sb3=round(f["floor_s"] / sb3_s, 3),
                       ours_over_sb3=round(ours["train_time_s"] / sb3_s, 3))
            print(f"  ours {ours['train_time_s']:.1f} s (eval {ours['eval_return_mean']:.1f}), "
                  f"sb3 {sb3_s:.1f} s (eval {sb3['eval_return_mean']:.1f}): floor / sb3 "
                  f"{row['floor_over_sb3']:.2f}, ours / sb3 {row['ours_over_sb3']:.2f}",
                  flush=True)
        out["pairs"][name] = row
    if not args.no_train:
        with open(RESULTS, "w") as fh:
            json.dump(out, fh, indent=1)
        print(f"wrote {os.path.relpath(RESULTS, ROOT)}")


if __name__ == "__main__":
    main()
