"""Advantage actor-critic: online (one transition at a time) and batch (A2C, Mnih et al., 2016).

The policy gradient grad J = E[sum_t gamma^t grad log pi_theta(a_t|s_t) psi_t] holds for
psi_t = G_t (unbiased, very high variance), Q(s_t, a_t), the advantage A = Q - V, or
G_t - V(s_t) (unbiased whatever V is). The actor is pi_theta; the critic V_w estimates V^pi,
and since Q(s, a) = E[r + gamma V(s')], one transition gives the advantage estimate
(Konda & Tsitsiklis, 2000; Sutton et al., 2000)

    A(s_t, a_t) ~ r_t + gamma V_w(s_{t+1}) - V_w(s_t)                     (one-step TD error)
    A(s_t, a_t) ~ sum_{k<m} gamma^k r_{t+k} + gamma^m V_w(s_{t+m}) - V_w(s_t)      (n-step)

The critic regresses V_w(s_t) on the same targets, computed with w held fixed ("not a target
network, just fixate parameters from the previous step"): a semi-gradient, no gradient flows
into the target. With the exact V the one-step estimator is unbiased; with an imperfect critic
it is biased (the bias vanishes as n reaches the episode's end: the return minus a baseline).
A terminated episode has V(terminal) = 0; one cut by a time limit is bootstrapped from
V(final observation), as is the end of every rollout.

--mode online is the lecture's algorithm: sample a, observe r and s', update V_w towards
r + gamma V_w(s'), re-estimate A with the updated critic, take a policy step (batch size 1:
noisy). --mode batch is A2C: N synchronous envs, n-step rollouts, one update per rollout of
the summed policy, value (--vf-coef) and entropy (--ent-coef) losses, gradient clipping.
--shared-trunk puts both heads on one feature extractor (the lecture's option 2). As in A3C,
the updates weigh every state alike, without gamma^t: the usual practice, though for gamma < 1
it is not exactly the gradient of the discounted J (Thomas, 2014).
Vector envs run in gymnasium's SAME_STEP autoreset mode: every step of a rollout is a real
transition, and a finished episode's last observation comes from info["final_obs"].

Usage:
    python actor_critic.py                                      # A2C on CartPole-v1
    python actor_critic.py --mode online --total-timesteps 50000 --learning-rate 1e-3
    python actor_critic.py --env-id Pendulum-v1 --shared-trunk --total-timesteps 200000
    python actor_critic.py --eval-only --checkpoint runs/<run>/model.pt --eval-episodes 20
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
from gymnasium.vector import AutoresetMode

CHOICES = {"mode": ("batch", "online")}


@dataclass
class Config:
    env_id: str = "CartPole-v1"  # gymnasium id: flat Box observations, Discrete or Box actions
    mode: str = "batch"  # batch: A2C on N envs; online: one transition per update
    total_timesteps: int = 500_000  # env steps to train for, all envs together
    seed: int = 1  # seeds torch, numpy, the envs and their action spaces
    device: str = "auto"  # auto, cpu, cuda or cuda:N
    num_envs: int = 8  # synchronous envs of a rollout (batch mode)
    n_steps: int = 5  # rollout length per env and n of the n-step returns (batch mode)
    shared_trunk: bool = False  # one feature extractor under both heads (option 2)
    gamma: float = 0.99  # discount factor
    learning_rate: float = 7e-4  # Adam step size, actor and critic
    vf_coef: float = 0.5  # weight of the critic's squared TD error in the loss
    ent_coef: float = 0.0  # entropy bonus coefficient
    max_grad_norm: float = 0.5  # clip the gradient's global norm to this (batch mode)
    hidden_size: int = 64  # width of the two hidden layers
    init_log_std: float = 0.0  # initial log std of the Gaussian policy (Box actions)
    eval_episodes: int = 10  # deterministic evaluation episodes at the end
    run_dir: str = ""  # default runs/actor_critic__<env>__<seed>__<unix time>
    checkpoint: str = ""  # model.pt to load with --eval-only
    eval_only: bool = False  # load --checkpoint and only evaluate it
    tensorboard: bool = False  # also write TensorBoard events
    quiet: bool = False  # no progress lines


# ---------------------------------------------------------------------------------------------
# The public API: pure functions of tensors. No env, no global state, no randomness.
# ---------------------------------------------------------------------------------------------

def td_targets(rewards, next_values, terminated, gamma):
    """One-step targets y_t = r_t + gamma (1 - terminated_t) V(s_{t+1}), any shape ([T], [T, N]).

    next_values[t] is V of the true next state (the final observation of a truncated
    episode). A terminal state is worth 0, whatever the critic says about it.
    """
    bootstrap = torch.where(terminated.bool(), torch.zeros_like(next_values), next_values)
    return rewards + gamma * bootstrap


def n_step_returns(rewards, next_values, terminated, episode_end, gamma, n):
    """n-step targets, time-major ([T] or [T, N]):

        y_t = sum_{k<m} gamma^k r_{t+k} + gamma^m (1 - terminated_{t+m-1}) V(s_{t+m}),

    m = min(n, steps to the end of the episode, steps to the end of the rollout).
    episode_end[t] = terminated[t] or truncated[t]: the trajectory stops after step t.
    n = 1 gives `td_targets`; n >= T gives the return, bootstrapped at truncation or rollout end.
    """
    T = rewards.shape[0]
    terminated, episode_end = terminated.bool(), episode_end.bool()
    closes_at = episode_end.clone()
    closes_at[-1] = True  # the rollout's end cuts every window that reaches it
    bootstrap = torch.where(terminated, torch.zeros_like(next_values), next_values)

    def ahead(x, k):  # x_{t+k} at row t; rows past the rollout are padding, never used
        return torch.cat([x[k:], torch.zeros_like(x[:k])])

    returns = torch.zeros_like(rewards)
    open_ = torch.ones_like(episode_end)  # the window of y_t still runs at step t+k
    for k in range(min(n, T)):
        returns = returns + torch.where(open_, gamma**k * ahead(rewards, k), 0.0)
        closing = open_ & (ahead(closes_at, k) | (k == n - 1))
        # the window closes after step t+k: add gamma^(k+1) V(s_{t+k+1}), 0 if terminal
        returns = returns + torch.where(closing, gamma ** (k + 1) * ahead(bootstrap, k), 0.0)
        open_ = open_ & ~closing
    return returns


# ---------------------------------------------------------------------------------------------
# Networks
# ---------------------------------------------------------------------------------------------

def layer(in_dim, out_dim, gain):
    """Orthogonal weights, zero bias (A2C's init): a near-uniform first policy for gain 0.01."""
    linear = nn.Linear(in_dim, out_dim)
    nn.init.orthogonal_(linear.weight, gain)
    nn.init.zeros_(linear.bias)
    return linear


def body(in_dim, hidden):
    return nn.Sequential(layer(in_dim, hidden, 2**0.5), nn.Tanh(),
                         layer(hidden, hidden, 2**0.5), nn.Tanh())


class ActorCritic(nn.Module):
    """pi_theta(a|s) and V_w(s): two separate MLPs (option 1) or two heads on one trunk (option 2).

    The policy is a softmax over logits (Discrete) or N(mu(s), diag(exp(log_std))^2) (Box).
    """

    def __init__(self, obs_dim, action_space, hidden, shared_trunk, init_log_std):
        super().__init__()
        self.discrete = isinstance(action_space, gym.spaces.Discrete)
        act_dim = int(action_space.n) if self.discrete else action_space.shape[0]
        self.trunk = body(obs_dim, hidden) if shared_trunk else nn.Identity()
        if shared_trunk:
            self.policy_net = layer(hidden, act_dim, 0.01)
            self.value_net = layer(hidden, 1, 1.0)
        else:
            self.policy_net = nn.Sequential(body(obs_dim, hidden), layer(hidden, act_dim, 0.01))
            self.value_net = nn.Sequential(body(obs_dim, hidden), layer(hidden, 1, 1.0))
        if not self.discrete:
            self.log_std = nn.Parameter(torch.full((act_dim,), float(init_log_std)))

    def forward(self, obs):
        """(pi(.|s), V(s)) for observations [..., obs_dim]; V has shape [...]."""
        features = self.trunk(obs)
        out = self.policy_net(features)
        # validate_args=False: the checks cost more than the networks at batch size 1 (online)
        if self.discrete:
            dist = torch.distributions.Categorical(logits=out, validate_args=False)
        else:
            dist = torch.distributions.Independent(torch.distributions.Normal(
                out, self.log_std.exp(), validate_args=False), 1, validate_args=False)
        return dist, self.value_net(features).squeeze(-1)

    def value(self, obs):
        return self.value_net(self.trunk(obs)).squeeze(-1)

    def act(self, obs, deterministic=False):
        dist, _ = self(obs)
        if not deterministic:
            return dist.sample()
        return dist.logits.argmax(-1) if self.discrete else dist.mean


def actor_critic_losses(agent, obs, actions, rewards, next_obs, terminated, episode_end,
                        gamma, n):
    """(policy_loss, value_loss, entropy) of a [T, N] batch of transitions.

    The targets y_t are n-step returns whose V(s_{t+m}) is computed with the critic's current
    parameters held fixed: value_loss = mean (y_t - V_w(s_t))^2 / 2 has the semi-gradient
    -(y_t - V_w(s_t)) grad V_w(s_t). The advantage y_t - V_w(s_t) is a constant to the actor.
    """
    dist, values = agent(obs)  # [T, N]
    with torch.no_grad():  # fixed parameters: no gradient flows into the bootstrap target
        next_values = agent.value(next_obs)
    targets = n_step_returns(rewards, next_values, terminated, episode_end, gamma, n)
    advantages = (targets - values).detach()  # A_t ~ y_t - V_w(s_t)
    policy_loss = -(dist.log_prob(actions) * advantages).mean()  # grad log pi(a_t|s_t) A_t
    value_loss = 0.5 * ((targets - values) ** 2).mean()
    return policy_loss, value_loss, dist.entropy().mean()


# ---------------------------------------------------------------------------------------------
# Environment, checks and logging
# ---------------------------------------------------------------------------------------------

class ConfigError(Exception):
    """Bad input from the user: reported in one line, exit status 2."""


def check_config(cfg):
    if not 0 <= cfg.seed < 2**32:  # numpy's seed range
        raise ConfigError(f"--seed must be in [0, 2**32), got {cfg.seed}")
    for name, choices in CHOICES.items():
        if getattr(cfg, name) not in choices:
            raise ConfigError(f"--{name.replace('_', '-')} must be one of {', '.join(choices)}")
    positive = ("total_timesteps", "num_envs", "n_steps", "learning_rate", "max_grad_norm",
                "hidden_size")
    for name in positive:
        if not getattr(cfg, name) > 0:
            raise ConfigError(f"--{name.replace('_', '-')} must be > 0, got {getattr(cfg, name)}")
    if not 0.0 < cfg.gamma <= 1.0:
        raise ConfigError(f"--gamma must be in (0, 1], got {cfg.gamma}")
    for name in ("vf_coef", "ent_coef", "eval_episodes"):
        if not getattr(cfg, name) >= 0:
            raise ConfigError(f"--{name.replace('_', '-')} must be >= 0, got {getattr(cfg, name)}")
    if not math.isfinite(cfg.init_log_std):
        raise ConfigError(f"--init-log-std must be finite, got {cfg.init_log_std}")


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
    """One env (num_envs None) or a synchronous SAME_STEP vector env; bad spaces are errors."""
    try:
        env = gym.make(env_id) if num_envs is None else gym.make_vec(
            env_id, num_envs=num_envs, vectorization_mode="sync",
            vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP})
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


def save_checkpoint(path, agent, cfg):
    tmp = path + ".tmp"  # write, then rename: a crash never leaves a half-written model
    torch.save({"algo": "actor_critic", "config": dataclasses.asdict(cfg),
                "agent": agent.state_dict()}, tmp)
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------

def collect_rollout(envs, act_space, agent, obs, n_steps, device):
    """n_steps synchronous steps of N envs: a dict of [T, N] tensors, and the next observations.

    SAME_STEP autoreset: when env i's episode ends at step t, the returned observation is
    already the next episode's first one, so next_obs[t, i] is taken from info["final_obs"]:
    no transition spans two episodes, and a truncated episode is bootstrapped from its true
    last state.
    """
    batch = {k: [] for k in ("obs", "actions", "rewards", "next_obs", "terminated",
                             "episode_end")}
    for _ in range(n_steps):
        with torch.no_grad():
            actions = agent.act(torch.as_tensor(obs, dtype=torch.float32, device=device))
        actions = actions.cpu().numpy()
        next_obs, rewards, terminated, truncated, info = envs.step(to_env_action(actions,
                                                                                 act_space))
        true_next_obs = next_obs.copy()
        for i in np.flatnonzero(info.get("_final_obs", ())):
            true_next_obs[i] = info["final_obs"][i]
        for key, value in (("obs", obs), ("actions", actions), ("rewards", rewards),
                           ("next_obs", true_next_obs), ("terminated", terminated),
                           ("episode_end", terminated | truncated)):
            batch[key].append(value)
        obs = next_obs
    batch = {k: torch.as_tensor(np.stack(v), device=device) for k, v in batch.items()}
    for key in ("obs", "rewards", "next_obs"):
        batch[key] = batch[key].float()
    if not agent.discrete:
        batch["actions"] = batch["actions"].float()
    return batch, obs


def gradient_step(agent, opt, loss, max_grad_norm=float("inf")):
    opt.zero_grad()
    loss.backward()
    grad_norm = nn.utils.clip_grad_norm_(agent.parameters(), max_grad_norm)
    opt.step()
    return grad_norm.item()


def online_update(agent, opt, batch, cfg):
    """The lecture's online step on one transition ([1, 1] tensors): critic first, then actor."""
    args = (batch["obs"], batch["actions"], batch["rewards"], batch["next_obs"],
            batch["terminated"], batch["episode_end"], cfg.gamma, 1)
    _, value_loss, _ = actor_critic_losses(agent, *args)
    # Update V_w(s) towards r + gamma V_w(s'), the target held fixed. No clipping here: it would
    # shrink the rare large TD errors at terminal states and not the many small ones, and the
    # critic would drift towards V = 1 / (1 - gamma).
    gradient_step(agent, opt, value_loss)
    # A ~ r + gamma V_w(s') - V_w(s) with the updated critic, then the policy step
    policy_loss, _, entropy = actor_critic_losses(agent, *args)
    grad_norm = gradient_step(agent, opt, policy_loss - cfg.ent_coef * entropy)
    return {"policy_loss": policy_loss.item(), "value_loss": value_loss.item(),
            "entropy": entropy.item(), "grad_norm": grad_norm}


def batch_update(agent, opt, batch, cfg):
    """A2C: one gradient step on the whole [T, N] rollout."""
    policy_loss, value_loss, entropy = actor_critic_losses(
        agent, batch["obs"], batch["actions"], batch["rewards"], batch["next_obs"],
        batch["terminated"], batch["episode_end"], cfg.gamma, cfg.n_steps)
    loss = policy_loss + cfg.vf_coef * value_loss - cfg.ent_coef * entropy
    grad_norm = gradient_step(agent, opt, loss, cfg.max_grad_norm)
    return {"policy_loss": policy_loss.item(), "value_loss": value_loss.item(),
            "entropy": entropy.item(), "grad_norm": grad_norm}


def train(cfg):
    """Train an actor-critic; return the result dict printed as the last stdout line."""
    check_config(cfg)
    device = resolve_device(cfg.device)
    # Small MLPs on a CPU: batches of 40 transitions are too small for intra-op threads to pay
    # off, and one thread leaves the other cores to other runs.
    torch.set_num_threads(1)
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    run_dir = cfg.run_dir or os.path.join(
        "runs", f"actor_critic__{cfg.env_id.replace('/', '-')}__{cfg.seed}__{int(time.time())}")
    try:
        os.makedirs(run_dir, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"cannot create --run-dir {run_dir}: {e.strerror}") from None
    online = cfg.mode == "online"  # online: a [T, N] = [1, 1] rollout per update
    n_envs, n_steps = (1, 1) if online else (cfg.num_envs, cfg.n_steps)
    envs, obs_space, act_space = make_env(cfg.env_id, n_envs)
    obs, _ = envs.reset(seed=cfg.seed)  # later resets continue these seeded generators
    envs.action_space.seed(cfg.seed)

    with open(os.path.join(run_dir, "config.json"), "w") as f:
        json.dump(dataclasses.asdict(cfg), f, indent=2)
    progress = CsvLog(os.path.join(run_dir, "progress.csv"),
                      ["global_step", "episode_return", "episode_length", "wall_time_s"])
    stat_names = ["policy_loss", "value_loss", "entropy", "grad_norm"]
    # one row per 1000 env steps, averaged over its updates (online mode updates every step)
    updates = CsvLog(os.path.join(run_dir, "updates.csv"), ["updates", "global_step"] + stat_names)
    writer = None
    if cfg.tensorboard:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise ConfigError("--tensorboard needs the tensorboard package: "
                              "pip install tensorboard") from None
        writer = SummaryWriter(run_dir)

    agent = ActorCritic(obs_space.shape[0], act_space, cfg.hidden_size, cfg.shared_trunk,
                        cfg.init_log_std).to(device)
    opt = torch.optim.Adam(agent.parameters(), lr=cfg.learning_rate, eps=1e-5)
    ep_return, ep_length = np.zeros(n_envs), np.zeros(n_envs, dtype=int)
    global_step, update, recent, stat_sums, last_row = 0, 0, [], [], 0
    start = last_print = time.time()
    try:
        while global_step < cfg.total_timesteps:
            batch, obs = collect_rollout(envs, act_space, agent, obs, n_steps, device)
            stats = (online_update if online else batch_update)(agent, opt, batch, cfg)
            update += 1
            stat_sums.append([stats[k] for k in stat_names])
            rewards, ends = batch["rewards"].cpu().numpy(), batch["episode_end"].cpu().numpy()
            for t in range(rewards.shape[0]):
                global_step += n_envs
                ep_return += rewards[t]
                ep_length += 1
                for i in np.flatnonzero(ends[t]):
                    recent = (recent + [ep_return[i]])[-20:]
                    progress.write([global_step, float(ep_return[i]), int(ep_length[i]),
                                    round(time.time() - start, 3)])
                    if writer:
                        writer.add_scalar("charts/episode_return", ep_return[i], global_step)
                    ep_return[i], ep_length[i] = 0.0, 0
            if global_step - last_row >= 1000 or global_step >= cfg.total_timesteps:
                means = np.mean(stat_sums, 0)
                updates.write([update, global_step] + [f"{m:.6g}" for m in means])
                if writer:
                    for k, m in zip(stat_names, means):
                        writer.add_scalar(f"losses/{k}", m, global_step)
                stat_sums, last_row = [], global_step
            now = time.time()
            if not cfg.quiet and (now - last_print >= 2.0 or global_step >= cfg.total_timesteps):
                last_print = now
                sps = global_step / (now - start)
                eta = (cfg.total_timesteps - global_step) / max(sps, 1e-9)
                mean_return = f"{np.mean(recent):.1f}" if recent else "-"
                print(f"step {global_step}/{cfg.total_timesteps} | return {mean_return}"
                      f" (last {len(recent)}) | {sps:.0f} steps/s | {eta:.0f} s left",
                      file=sys.stderr, flush=True)
    finally:  # on Ctrl-C or an error too: keep what was learned
        save_checkpoint(os.path.join(run_dir, "model.pt"), agent, cfg)
        envs.close()
        for log in (progress, updates):
            log.file.close()
        if writer:
            writer.close()
    train_time = time.time() - start

    returns = evaluate(agent, cfg.env_id, cfg.eval_episodes, cfg.seed, device)
    return result_dict(cfg, returns, run_dir, global_step=global_step,
                       train_time_s=round(train_time, 3), sps=round(global_step / train_time, 1))


def result_dict(cfg, returns, run_dir, **extra):
    return {"algo": "actor_critic", "env_id": cfg.env_id, "seed": cfg.seed,
            "total_timesteps": cfg.total_timesteps, "mode": cfg.mode,
            "shared_trunk": cfg.shared_trunk,
            "eval_return_mean": float(np.mean(returns)) if len(returns) else None,
            "eval_return_std": float(np.std(returns)) if len(returns) else None,
            "train_time_s": None, "sps": None, "run_dir": run_dir, **extra}


def evaluate(agent, env_id, episodes, seed, device):
    """Returns of `episodes` deterministic episodes (argmax or mean action), seeded from `seed`."""
    env, _, act_space = make_env(env_id)
    returns = []
    for i in range(episodes):
        obs, _ = env.reset(seed=seed + 10_000 + i)  # fixed seeds: --eval-only reproduces these
        done, total = False, 0.0
        while not done:
            with torch.no_grad():
                action = agent.act(torch.as_tensor(obs, dtype=torch.float32, device=device)[None],
                                   deterministic=True)[0].cpu().numpy()
            obs, reward, terminated, truncated, _ = env.step(to_env_action(action, act_space))
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    env.close()
    return np.array(returns)


def evaluate_checkpoint(given):
    """--eval-only: rebuild the agent from a checkpoint and evaluate it."""
    path = given.get("checkpoint", "")
    if not path:
        raise ConfigError("--eval-only needs --checkpoint PATH")
    if not os.path.isfile(path):
        raise ConfigError(f"checkpoint not found: {path}")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        cfg = dataclasses.replace(Config(**ckpt["config"]), **given)
    except Exception as e:  # unreadable, or written by another program or version
        raise ConfigError(f"{path} is not an actor_critic.py checkpoint "
                          f"({type(e).__name__})") from None
    if ckpt.get("algo") != "actor_critic":
        raise ConfigError(f"{path} was written by {ckpt.get('algo')!r}, not actor_critic.py")
    check_config(cfg)
    device = resolve_device(cfg.device)
    torch.set_num_threads(1)
    env, obs_space, act_space = make_env(cfg.env_id)
    env.close()
    agent = ActorCritic(obs_space.shape[0], act_space, cfg.hidden_size, cfg.shared_trunk,
                        cfg.init_log_std)
    try:
        agent.load_state_dict(ckpt["agent"])
    except RuntimeError:
        raise ConfigError(f"{path} does not match {cfg.env_id}'s spaces or --shared-trunk "
                          f"{cfg.shared_trunk}") from None
    returns = evaluate(agent.to(device), cfg.env_id, cfg.eval_episodes, cfg.seed, device)
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
    parser = ArgumentParser(prog="actor_critic.py", argument_default=argparse.SUPPRESS,
                            description=__doc__.split("\n")[0])
    for f in dataclasses.fields(Config):
        flag, text = "--" + f.name.replace("_", "-"), f"{comments.get(f.name, '')} [{f.default}]"
        if f.type is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, help=text)
        else:
            parser.add_argument(flag, type=f.type, choices=CHOICES.get(f.name), help=text)
    return vars(parser.parse_args(argv))


def main(argv=None):
    given = parse_args(argv)
    try:
        result = evaluate_checkpoint(given) if given.get("eval_only") else train(Config(**given))
    except ConfigError as e:
        print(f"actor_critic.py: error: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("actor_critic.py: interrupted; the model and logs written so far are kept",
              file=sys.stderr)
        sys.exit(130)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
