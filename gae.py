"""Policy gradient with Generalized Advantage Estimation (Schulman et al., 2016, ICLR).

The policy gradient grad J = E[ sum_t grad log pi_theta(a_t|s_t) A_t ] needs an advantage
estimate A_t. The n-step advantages trade bias for variance,

    A^(n)_t = sum_{k<n} gamma^k r_{t+k} + gamma^n V(s_{t+n}) - V(s_t)
            = sum_{l<n} gamma^l delta_{t+l},   delta_t = r_t + gamma V(s_{t+1}) - V(s_t):

a short n leans on the (biased) critic, a long n on the (noisy) sampled rewards. GAE takes
their exponentially weighted average, computed backwards in one pass:

    A^GAE_t = (1 - lam) (A^(1)_t + lam A^(2)_t + lam^2 A^(3)_t + ...)
            = sum_l (gamma lam)^l delta_{t+l} = delta_t + gamma lam A^GAE_{t+1}.

lam = 0 is the one-step actor-critic (A2C) advantage delta_t; lam = 1 is the Monte Carlo
return minus V(s_t), unbiased whatever V is; with the true V every lam is unbiased. V is fitted
to the lambda-returns A^GAE_t + V(s_t). A terminated episode has V(s_{t+1}) = 0; a truncated one
(time limit) is bootstrapped with V(final observation), and so is the cut at a rollout's end.
As in the paper, the update drops the gamma^t weight of the discounted gradient: gamma acts as
a variance-reduction parameter of an estimate of the undiscounted objective's gradient.

Envs are gymnasium vector envs with the default NEXT_STEP autoreset: the step after an episode
ends only resets that env (action ignored, reward 0) and is masked out of every batch.

Usage:
    python gae.py                                                  # CartPole-v1, lam = 0.95
    python gae.py --env-id Pendulum-v1 --total-timesteps 500000 --norm-obs --gamma 0.9 \
        --num-steps 8 --learning-rate 1e-3 --value-epochs 3 --value-minibatches 1 --anneal-lr
    python gae.py --eval-only --checkpoint runs/<run>/model.pt --eval-episodes 20
"""
import argparse
import csv
import dataclasses
import inspect
import json
import math
import os
import sys
import time
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch
import torch.nn as nn


@dataclass
class Config:
    env_id: str = "CartPole-v1"  # gymnasium id: flat Box observations, Discrete or Box actions
    total_timesteps: int = 300_000  # env steps to train for, all envs together
    seed: int = 1  # seeds torch, numpy, the envs and their action spaces
    device: str = "auto"  # auto, cpu, cuda or cuda:N
    num_envs: int = 8  # N synchronous envs
    num_steps: int = 32  # T: steps per env in one rollout; one policy step per rollout
    gamma: float = 0.99  # discount factor
    gae_lambda: float = 0.95  # lam: 0 is the TD residual (A2C), 1 the Monte Carlo advantage
    learning_rate: float = 3e-3  # Adam step size of the policy
    value_learning_rate: float = 1e-3  # Adam step size of V(s)
    value_epochs: int = 5  # passes of V(s) regression over each rollout
    value_minibatches: int = 4  # minibatches per pass of V(s) regression
    hidden_size: int = 64  # width of the two hidden layers of each network
    init_log_std: float = -0.5  # initial log std of the Gaussian policy (Box actions)
    ent_coef: float = 0.0  # entropy bonus coefficient
    max_grad_norm: float = 0.5  # clip the policy gradient's norm to this
    anneal_lr: bool = False  # decay both step sizes linearly to 0 over training
    norm_adv: bool = True  # standardise the advantages of each rollout
    norm_obs: bool = False  # standardise observations by running mean/std (saved in model.pt)
    eval_episodes: int = 10  # deterministic evaluation episodes at the end
    run_dir: str = ""  # default runs/gae__<env>__<seed>__<unix time>
    checkpoint: str = ""  # model.pt to load with --eval-only
    eval_only: bool = False  # load --checkpoint and only evaluate it
    tensorboard: bool = False  # also write TensorBoard events
    quiet: bool = False  # no progress lines


# ---------------------------------------------------------------------------------------------
# The public API: a pure function of tensors. No env, no global state, no randomness.
# ---------------------------------------------------------------------------------------------

def compute_gae(rewards, values, next_values, terminated, episode_end, gamma, lam):
    """Generalized advantage estimates and lambda-returns, time-major ([T] or [T, N]).

    rewards: r_t. values: V(s_t). next_values: V(s_{t+1}) of the true next state (the final
    observation when the episode ended at t). terminated: s_{t+1} is terminal, so it is not
    bootstrapped. episode_end: terminated or truncated, the recursion stops after step t.
    The rollout's last step is bootstrapped with next_values[T-1] unless it terminated.
    Returns (advantages, returns) with returns = advantages + values, in rewards' dtype/device.
    """
    not_terminal = 1.0 - terminated.to(rewards.dtype)
    continues = 1.0 - episode_end.to(rewards.dtype)
    deltas = rewards + gamma * not_terminal * next_values - values  # delta_t
    running = torch.zeros_like(deltas[0])
    advantages = []
    for t in reversed(range(deltas.shape[0])):  # A_t = delta_t + gamma lam A_{t+1}, backwards
        running = deltas[t] + gamma * lam * continues[t] * running
        advantages.append(running)
    advantages = torch.stack(advantages[::-1])
    return advantages, advantages + values  # the lambda-return is V's regression target


# ---------------------------------------------------------------------------------------------
# Networks
# ---------------------------------------------------------------------------------------------

def mlp(in_dim, out_dim, hidden):
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.Tanh(), nn.Linear(hidden, hidden),
                         nn.Tanh(), nn.Linear(hidden, out_dim))


class Policy(nn.Module):
    """pi_theta(a|s): softmax over logits (Discrete) or N(mu(s), diag(exp(log_std))^2) (Box)."""

    def __init__(self, obs_dim, action_space, hidden, init_log_std):
        super().__init__()
        self.discrete = isinstance(action_space, gym.spaces.Discrete)
        act_dim = int(action_space.n) if self.discrete else action_space.shape[0]
        self.net = mlp(obs_dim, act_dim, hidden)
        if not self.discrete:
            self.log_std = nn.Parameter(torch.full((act_dim,), init_log_std))

    def forward(self, obs):
        if self.discrete:
            return torch.distributions.Categorical(logits=self.net(obs))
        return torch.distributions.Independent(
            torch.distributions.Normal(self.net(obs), self.log_std.exp()), 1)

    def act(self, obs, deterministic=False):
        dist = self(obs)
        if not deterministic:
            return dist.sample()
        return dist.logits.argmax(-1) if self.discrete else dist.mean


class ObsNorm(nn.Module):
    """Running mean and variance of the observations; buffers, so they travel in state_dict."""

    def __init__(self, obs_dim):
        super().__init__()
        self.register_buffer("mean", torch.zeros(obs_dim, dtype=torch.float64))
        self.register_buffer("var", torch.ones(obs_dim, dtype=torch.float64))
        self.register_buffer("count", torch.zeros((), dtype=torch.float64))

    def forward(self, obs):
        # clipped at 10 std, so that one outlier cannot saturate the tanh units
        std = (self.var + 1e-8).sqrt()
        return ((obs - self.mean.to(obs)) / std.to(obs)).clamp(-10.0, 10.0)

    def update(self, batch):
        """Merge a batch [B, obs_dim] into the statistics (Chan et al.'s parallel formula)."""
        batch = batch.to(self.mean)
        n, mean, var = batch.shape[0], batch.mean(0), batch.var(0, correction=0)
        total = self.count + n
        delta = mean - self.mean
        m2 = self.var * self.count + var * n + delta**2 * self.count * n / total
        self.mean.add_(delta * n / total)
        self.var.copy_(m2 / total)
        self.count.copy_(total)


# ---------------------------------------------------------------------------------------------
# Environment, checks and logging
# ---------------------------------------------------------------------------------------------

class ConfigError(Exception):
    """Bad input from the user: reported in one line, exit status 2."""


def check_config(cfg):
    if not 0 <= cfg.seed < 2**32:  # numpy's seed range
        raise ConfigError(f"--seed must be in [0, 2**32), got {cfg.seed}")
    positive = ("total_timesteps", "num_envs", "num_steps", "learning_rate",
                "value_learning_rate", "value_minibatches", "hidden_size", "max_grad_norm")
    for name in positive:
        if not getattr(cfg, name) > 0:
            raise ConfigError(f"--{name.replace('_', '-')} must be > 0, got {getattr(cfg, name)}")
    if not 0.0 < cfg.gamma <= 1.0:
        raise ConfigError(f"--gamma must be in (0, 1], got {cfg.gamma}")
    if not 0.0 <= cfg.gae_lambda <= 1.0:
        raise ConfigError(f"--gae-lambda must be in [0, 1], got {cfg.gae_lambda}")
    if not (cfg.ent_coef >= 0 and cfg.value_epochs >= 0 and cfg.eval_episodes >= 0):
        raise ConfigError("--ent-coef, --value-epochs and --eval-episodes must be >= 0")


def resolve_device(name):
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"--device must be auto, cpu, cuda or cuda:N, not {name!r}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"--device {name}: CUDA is not available on this machine")
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        raise ConfigError(f"--device {name}: only {torch.cuda.device_count()} CUDA device(s)")
    if device.type not in ("cpu", "cuda"):
        raise ConfigError(f"--device must be auto, cpu, cuda or cuda:N, not {name!r}")
    return device


def make_env(env_id, num_envs=None):
    """One env (num_envs None) or a synchronous vector env; unsupported spaces are errors."""
    try:
        env = gym.make(env_id) if num_envs is None else gym.make_vec(
            env_id, num_envs=num_envs, vectorization_mode="sync",
            vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.NEXT_STEP})
    except (gym.error.Error, ImportError, ModuleNotFoundError) as e:
        raise ConfigError(f"cannot make env {env_id!r}: {e}") from None
    obs_space = env.single_observation_space if num_envs else env.observation_space
    act_space = env.single_action_space if num_envs else env.action_space
    if not (isinstance(obs_space, gym.spaces.Box) and len(obs_space.shape) == 1):
        env.close()
        raise ConfigError(f"{env_id}: observations must be a flat Box, got {obs_space}")
    box = isinstance(act_space, gym.spaces.Box) and len(act_space.shape) == 1
    if not (isinstance(act_space, gym.spaces.Discrete) or box):
        env.close()
        raise ConfigError(f"{env_id}: actions must be Discrete or a flat Box, got {act_space}")
    return env, obs_space, act_space


def to_env_action(actions, act_space):
    """Gaussian samples are clipped to the bounds only here, on their way to the env."""
    if isinstance(act_space, gym.spaces.Box):
        return np.clip(actions, act_space.low, act_space.high)
    return actions


class CsvLog:
    """A CSV file flushed row by row, so an interrupted run keeps its data."""

    def __init__(self, path, columns):
        self.file = open(path, "w", newline="")
        self.writer = csv.writer(self.file)
        self.writer.writerow(columns)

    def write(self, row):
        self.writer.writerow(row)
        self.file.flush()


def save_checkpoint(path, policy, value_net, obs_norm, cfg):
    tmp = path + ".tmp"  # write, then rename: a crash never leaves a half-written model
    torch.save({"algo": "gae", "config": dataclasses.asdict(cfg), "policy": policy.state_dict(),
                "value": value_net.state_dict(), "obs_norm": obs_norm.state_dict()}, tmp)
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------

def collect_rollout(envs, policy, value_net, normalize, state, num_steps, device):
    """T steps of the N envs, time-major. `state` (obs, resetting, episode sums) carries over
    from one rollout to the next and is updated in place. Returns the batch and the finished
    episodes as (valid steps into this rollout, return, length)."""
    act_space = envs.single_action_space
    raw_obs, actions, rewards, terminated, episode_end, valid = [], [], [], [], [], []
    episodes, steps = [], 0
    for _ in range(num_steps):
        raw_obs.append(torch.as_tensor(state["obs"], dtype=torch.float32, device=device))
        with torch.no_grad():
            action = policy.act(normalize(raw_obs[-1]))
        next_obs, reward, term, trunc, _ = envs.step(to_env_action(action.cpu().numpy(),
                                                                    act_space))
        # NEXT_STEP autoreset: a step taken right after an episode ended only resets the env;
        # it is masked out, so no transition spans two episodes. When an episode ends at t,
        # next_obs is its true final observation, fed to V as obs of step t+1.
        real = ~state["resetting"]
        for lst, x in ((actions, action), (rewards, reward), (terminated, term),
                       (episode_end, term | trunc), (valid, real)):
            lst.append(torch.as_tensor(x, device=device))
        steps += int(real.sum())
        state["ep_return"] += np.where(real, reward, 0.0)
        state["ep_length"] += real
        for i in np.flatnonzero(real & (term | trunc)):
            episodes.append((steps, float(state["ep_return"][i]), int(state["ep_length"][i])))
            state["ep_return"][i], state["ep_length"][i] = 0.0, 0
        state["resetting"] = term | trunc
        state["obs"] = next_obs
    raw_obs.append(torch.as_tensor(state["obs"], dtype=torch.float32, device=device))
    all_obs = normalize(torch.stack(raw_obs))  # [T+1, N, obs_dim]; the statistics are frozen
    with torch.no_grad():
        all_values = value_net(all_obs).squeeze(-1)  # [T+1, N]
    batch = {"obs": all_obs[:-1], "raw_obs": torch.stack(raw_obs[:-1]),
             "actions": torch.stack(actions),
             "rewards": torch.stack(rewards).float(), "terminated": torch.stack(terminated),
             "episode_end": torch.stack(episode_end), "valid": torch.stack(valid),
             "values": all_values[:-1], "next_values": all_values[1:]}  # each [T, N, ...]
    return batch, episodes


def update(policy, value_net, opt, value_opt, batch, cfg, generator):
    """One policy-gradient step on the rollout, then the regression of V(s). Returns stats."""
    advantages, returns = compute_gae(batch["rewards"], batch["values"], batch["next_values"],
                                      batch["terminated"], batch["episode_end"], cfg.gamma,
                                      cfg.gae_lambda)  # [T, N]
    valid = batch["valid"]  # only now flatten: the recursion needed the time axis
    obs, actions = batch["obs"][valid], batch["actions"][valid]
    advantages, returns = advantages[valid], returns[valid]
    if cfg.norm_adv:  # a per-batch scale and shift: the step size no longer tracks reward scale
        advantages = (advantages - advantages.mean()) / (advantages.std(correction=0) + 1e-8)
    dist = policy(obs)
    entropy = dist.entropy().mean()
    # grad J ~ mean_t grad log pi(a_t|s_t) A^GAE_t, ascended by descending its negative
    policy_loss = -(dist.log_prob(actions) * advantages).mean() - cfg.ent_coef * entropy
    opt.zero_grad()
    policy_loss.backward()
    grad_norm = nn.utils.clip_grad_norm_(policy.parameters(), cfg.max_grad_norm)
    opt.step()

    value_loss = torch.zeros(())
    size = math.ceil(obs.shape[0] / cfg.value_minibatches)
    for _ in range(cfg.value_epochs):  # V(s_t) regressed on the lambda-returns
        for idx in torch.randperm(obs.shape[0], generator=generator).to(obs.device).split(size):
            value_loss = ((value_net(obs[idx]).squeeze(-1) - returns[idx]) ** 2).mean()
            value_opt.zero_grad()
            value_loss.backward()
            value_opt.step()
    residual = returns - batch["values"][valid]  # how much of the targets V already explained
    explained = 1 - residual.var(correction=0) / returns.var(correction=0).clamp_min(1e-8)
    return {"policy_loss": policy_loss.item(), "value_loss": value_loss.item(),
            "entropy": entropy.item(), "grad_norm": grad_norm.item(),
            "explained_variance": explained.item()}


def train(cfg):
    """Train a policy with GAE advantages; return the result dict printed as the last line."""
    check_config(cfg)
    device = resolve_device(cfg.device)
    # Small MLPs on a CPU: one thread is as fast as several here and leaves the other cores
    # to other runs (the benchmarks run one process per seed).
    torch.set_num_threads(1)
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    generator = torch.Generator().manual_seed(cfg.seed)  # V's minibatch order
    envs, obs_space, act_space = make_env(cfg.env_id, cfg.num_envs)
    first_obs, _ = envs.reset(seed=cfg.seed)  # later resets continue these seeded generators
    envs.action_space.seed(cfg.seed)

    run_dir = cfg.run_dir or os.path.join(
        "runs", f"gae__{cfg.env_id.replace('/', '-')}__{cfg.seed}__{int(time.time())}")
    os.makedirs(run_dir, exist_ok=True)
    with open(os.path.join(run_dir, "config.json"), "w") as f:
        json.dump(dataclasses.asdict(cfg), f, indent=2)
    progress = CsvLog(os.path.join(run_dir, "progress.csv"),
                      ["global_step", "episode_return", "episode_length", "wall_time_s"])
    stat_names = ["policy_loss", "value_loss", "entropy", "grad_norm", "explained_variance",
                  "learning_rate"]
    updates = CsvLog(os.path.join(run_dir, "updates.csv"), ["update", "global_step"] + stat_names)
    writer = None
    if cfg.tensorboard:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise ConfigError("--tensorboard needs the tensorboard package: "
                              "pip install tensorboard") from None
        writer = SummaryWriter(run_dir)

    obs_dim = obs_space.shape[0]
    policy = Policy(obs_dim, act_space, cfg.hidden_size, cfg.init_log_std).to(device)
    value_net = mlp(obs_dim, 1, cfg.hidden_size).to(device)
    obs_norm = ObsNorm(obs_dim).to(device)
    opt = torch.optim.Adam(policy.parameters(), lr=cfg.learning_rate)
    value_opt = torch.optim.Adam(value_net.parameters(), lr=cfg.value_learning_rate)
    state = {"obs": first_obs, "resetting": np.zeros(cfg.num_envs, dtype=bool),
             "ep_return": np.zeros(cfg.num_envs), "ep_length": np.zeros(cfg.num_envs, dtype=int)}
    normalize = obs_norm if cfg.norm_obs else nn.Identity()
    if cfg.norm_obs:
        obs_norm.update(torch.as_tensor(first_obs, device=device))

    global_step, update_index, recent = 0, 0, []
    start = last_print = time.time()
    try:
        while global_step < cfg.total_timesteps:
            # the last rollout is shortened so that training stops near total_timesteps
            num_steps = min(cfg.num_steps,
                            math.ceil((cfg.total_timesteps - global_step) / cfg.num_envs))
            batch, episodes = collect_rollout(envs, policy, value_net, normalize, state,
                                              num_steps, device)
            for steps, ep_return, ep_length in episodes:
                recent = (recent + [ep_return])[-20:]
                progress.write([global_step + steps, ep_return, ep_length,
                                round(time.time() - start, 3)])
                if writer:
                    writer.add_scalar("charts/episode_return", ep_return, global_step + steps)
            if not batch["valid"].any():  # a short last rollout of reset steps only
                continue
            if cfg.anneal_lr:  # late steps small: one noisy batch cannot undo what was learned
                frac = 1.0 - global_step / cfg.total_timesteps
                opt.param_groups[0]["lr"] = frac * cfg.learning_rate
                value_opt.param_groups[0]["lr"] = frac * cfg.value_learning_rate
            global_step += int(batch["valid"].sum())
            stats = update(policy, value_net, opt, value_opt, batch, cfg, generator)
            stats["learning_rate"] = opt.param_groups[0]["lr"]
            if cfg.norm_obs:  # frozen during the rollout and its update, so both saw one pi
                obs_norm.update(batch["raw_obs"][batch["valid"]])
            update_index += 1
            updates.write([update_index, global_step] + [f"{stats[k]:.6g}" for k in stat_names])
            if writer:
                for k in stat_names:
                    writer.add_scalar(f"losses/{k}", stats[k], global_step)
            now = time.time()
            if not cfg.quiet and (now - last_print >= 2.0 or global_step >= cfg.total_timesteps):
                last_print = now
                sps = global_step / (now - start)
                eta = (cfg.total_timesteps - global_step) / max(sps, 1e-9)
                mean_return = f"{np.mean(recent):.1f}" if recent else "n/a"
                print(f"step {global_step}/{cfg.total_timesteps} | return {mean_return}"
                      f" (last {len(recent)}) | {sps:.0f} steps/s | {eta:.0f} s left",
                      file=sys.stderr, flush=True)
    finally:  # on Ctrl-C or an error too: keep what was learned
        save_checkpoint(os.path.join(run_dir, "model.pt"), policy, value_net, obs_norm, cfg)
        envs.close()
        for log in (progress, updates):
            log.file.close()
        if writer:
            writer.close()
    train_time = time.time() - start

    returns = evaluate(policy, normalize, cfg.env_id, cfg.eval_episodes, cfg.seed, device)
    return result_dict(cfg, returns, run_dir, global_step=global_step,
                       train_time_s=round(train_time, 3), sps=round(global_step / train_time, 1))


def evaluate(policy, normalize, env_id, episodes, seed, device):
    """Returns of `episodes` deterministic episodes (argmax or mean action), seeded from `seed`.
    normalize: the run's ObsNorm, or nn.Identity() when observations were not normalised."""
    env, _, act_space = make_env(env_id)
    returns = []
    for i in range(episodes):
        obs, _ = env.reset(seed=seed + 10_000 + i)  # fixed seeds: --eval-only reproduces these
        done, total = False, 0.0
        while not done:
            obs = torch.as_tensor(obs, dtype=torch.float32, device=device)[None]
            with torch.no_grad():
                action = policy.act(normalize(obs), deterministic=True)
            obs, reward, terminated, truncated, _ = env.step(
                to_env_action(action[0].cpu().numpy(), act_space))
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    env.close()
    return np.array(returns)


def result_dict(cfg, returns, run_dir, **extra):
    return {"algo": "gae", "env_id": cfg.env_id, "seed": cfg.seed,
            "total_timesteps": cfg.total_timesteps, "gae_lambda": cfg.gae_lambda,
            "eval_return_mean": float(np.mean(returns)) if len(returns) else None,
            "eval_return_std": float(np.std(returns)) if len(returns) else None,
            "train_time_s": None, "sps": None, "run_dir": run_dir, **extra}


def evaluate_checkpoint(given):
    """--eval-only: rebuild the policy (and observation statistics) and evaluate it."""
    path = given.get("checkpoint", "")
    if not path:
        raise ConfigError("--eval-only needs --checkpoint PATH")
    if not os.path.isfile(path):
        raise ConfigError(f"checkpoint not found: {path}")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        cfg = dataclasses.replace(Config(**ckpt["config"]), **given)
    except Exception as e:  # unreadable, or written by another program or version
        raise ConfigError(f"{path} is not a gae.py checkpoint ({type(e).__name__})") from None
    if ckpt.get("algo") != "gae":
        raise ConfigError(f"{path} was written by {ckpt.get('algo')!r}, not gae.py")
    check_config(cfg)
    device = resolve_device(cfg.device)
    torch.set_num_threads(1)
    env, obs_space, act_space = make_env(cfg.env_id)
    env.close()
    policy = Policy(obs_space.shape[0], act_space, cfg.hidden_size, cfg.init_log_std)
    obs_norm = ObsNorm(obs_space.shape[0])
    try:
        policy.load_state_dict(ckpt["policy"])
        obs_norm.load_state_dict(ckpt["obs_norm"])
    except (RuntimeError, KeyError):
        raise ConfigError(f"{path} does not match {cfg.env_id}'s observation or action "
                          "space") from None
    normalize = obs_norm.to(device) if cfg.norm_obs else nn.Identity()
    returns = evaluate(policy.to(device), normalize, cfg.env_id, cfg.eval_episodes, cfg.seed,
                       device)
    return result_dict(cfg, returns, os.path.dirname(path), eval_only=True)


# ---------------------------------------------------------------------------------------------
# Command line: one flag per Config field, so the two cannot drift apart
# ---------------------------------------------------------------------------------------------

class ArgumentParser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit status 2 (argparse adds a usage block)
        self.exit(2, f"{self.prog}: error: {message}\n")


def parse_args(argv=None):
    """The flags that were given, as {field: value}; the rest keep Config's defaults."""
    comments = {}  # the one-line comment beside each field becomes its --help text
    try:
        for line in inspect.getsource(Config).splitlines():
            name, _, comment = line.partition("#")
            if ":" in name and comment:
                comments[name.split(":")[0].strip()] = comment.strip()
    except OSError:
        pass
    parser = ArgumentParser(prog="gae.py", argument_default=argparse.SUPPRESS,
                            description=__doc__.split("\n")[0])
    for f in dataclasses.fields(Config):
        flag, text = "--" + f.name.replace("_", "-"), f"{comments.get(f.name, '')} [{f.default}]"
        if f.type is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, help=text)
        else:
            parser.add_argument(flag, type=f.type, help=text)
    return vars(parser.parse_args(argv))


def main(argv=None):
    given = parse_args(argv)
    try:
        result = evaluate_checkpoint(given) if given.get("eval_only") else train(Config(**given))
    except ConfigError as e:
        print(f"gae.py: error: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("gae.py: interrupted; the model and logs written so far are kept", file=sys.stderr)
        sys.exit(130)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
