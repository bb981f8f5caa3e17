"""PPO: proximal policy optimization (Schulman, Wolski, Dhariwal, Radford, Klimov, 2017).

An on-policy gradient step uses its batch once. PPO reuses it for K epochs of minibatch updates
by maximising a surrogate that stops rewarding a policy for moving far from pi_old, the policy
that collected the batch (a first-order stand-in for TRPO's KL trust region, 2015):

    rho_t = pi_theta(a_t|s_t) / pi_old(a_t|s_t)
    L^CLIP = E_t[ min(rho_t A_t, clip(rho_t, 1 - eps, 1 + eps) A_t) ]       (section 3)
    L^KLPEN = E_t[ rho_t A_t - beta KL[pi_old(.|s_t), pi_theta(.|s_t)] ],    (section 4)
      beta halved when the KL d < d_targ / 1.5, doubled when d > 1.5 d_targ

L^CLIP is a pessimistic (lower) bound on the unclipped objective and equals it to first order at
theta = theta_old, where its gradient is the vanilla policy gradient E_t[grad log pi A_t].
A_t is GAE (Schulman et al., 2016): delta_t = r_t + gamma (1 - terminated_t) V(s_{t+1}) - V(s_t),
A_t = delta_t + gamma lam (1 - episode_end_t) A_{t+1}; V(s) regresses on the returns A_t + V(s_t).
Algorithm 1, actor-critic style: N envs run pi_old for T steps, then K epochs over minibatches
of M <= NT transitions maximise L - c_1 L^VF + c_2 S[pi].

A time-limit truncation is bootstrapped from V(final observation); termination is not. The vector
env autoresets in the same step (AutoresetMode.SAME_STEP: the final observation comes in
info["final_obs"]), so no step of the batch spans two episodes and none is wasted on a reset.

Usage:
    python ppo.py                                        # CartPole-v1, 100k steps, clip objective
    python ppo.py --objective kl-penalty --seed 2
    python ppo.py --env-id Pendulum-v1 --total-timesteps 200000 --num-envs 4 --num-steps 512 \
        --minibatch-size 64 --update-epochs 10 --gamma 0.9 --gae-lambda 0.95
    python ppo.py --eval-only --checkpoint runs/<run>/model.pt --eval-episodes 20
"""
import argparse
import copy
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

CHOICES = {"objective": ("clip", "kl-penalty"), "normalize": ("auto", "on", "off")}
STAT_NAMES = ["policy_loss", "value_loss", "entropy", "approx_kl", "clip_frac"]  # updates.csv


@dataclass
class Config:
    env_id: str = "CartPole-v1"  # gymnasium id: flat Box observations, Discrete or Box actions
    total_timesteps: int = 100_000  # env steps to train for, all envs together
    seed: int = 1  # seeds torch, numpy, the envs and their action spaces
    device: str = "auto"  # auto, cpu, cuda or cuda:N
    num_envs: int = 8  # N: parallel envs (actors)
    async_envs: bool = False  # gymnasium AsyncVectorEnv (one process per env) instead of sync
    num_steps: int = 32  # T: steps per env in one rollout; a batch holds N*T transitions
    minibatch_size: int = 256  # M <= N*T transitions per gradient step
    update_epochs: int = 20  # K: passes over each batch
    gamma: float = 0.98  # discount factor
    gae_lambda: float = 0.8  # GAE lambda: 0 is the one-step TD error, 1 the Monte Carlo return
    objective: str = "clip"  # clip (L^CLIP) or kl-penalty (adaptive L^KLPEN)
    clip_eps: float = 0.2  # eps of clip(rho, 1 - eps, 1 + eps); also the value clip range
    kl_beta: float = 1.0  # initial beta of the KL penalty
    kl_target: float = 0.01  # d_targ of the adaptive KL penalty
    target_kl: float = 0.0  # stop an update's epochs once the approximate KL passes this; 0 = never
    learning_rate: float = 1e-3  # Adam step size
    anneal_lr: bool = True  # decay the learning rate linearly to 0
    anneal_clip: bool = True  # decay eps linearly to 0
    norm_adv: bool = True  # standardise the advantages of each minibatch
    ent_coef: float = 0.0  # c_2: entropy bonus
    vf_coef: float = 0.5  # c_1: value loss weight
    clip_vloss: bool = False  # clip V's change per update to eps, pessimistically
    max_grad_norm: float = 0.5  # clip the gradient's global norm to this
    hidden_size: int = 64  # width of the two hidden layers of the actor and the critic
    init_log_std: float = 0.0  # initial log std of the Gaussian policy (Box actions)
    normalize: str = "auto"  # obs normalisation + reward scaling: auto (Box actions), on, off
    eval_episodes: int = 10  # deterministic evaluation episodes at the end
    run_dir: str = ""  # default runs/ppo__<env>__<seed>__<unix time>
    checkpoint: str = ""  # model.pt to load with --eval-only
    eval_only: bool = False  # load --checkpoint and only evaluate it
    tensorboard: bool = False  # also write TensorBoard events
    quiet: bool = False  # no progress lines


# ---------------------------------------------------------------------------------------------
# The public API: pure functions of tensors. No env, no global state, no randomness.
# ---------------------------------------------------------------------------------------------

def compute_gae(rewards, values, next_values, terminated, episode_end, gamma, lam):
    """(advantages, returns) by generalized advantage estimation, time-major [T] or [T, N].

    delta_t = r_t + gamma (1 - terminated_t) next_values_t - values_t
    A_t = delta_t + gamma lam (1 - episode_end_t) A_{t+1},  A_T = 0;  returns = A + values.
    next_values_t is V(s_{t+1}) of the true next state (the final observation of a truncated
    episode); terminated / episode_end are bool or 0/1 tensors.
    """
    not_terminal = 1.0 - terminated.to(rewards.dtype)
    not_end = 1.0 - episode_end.to(rewards.dtype)
    deltas = rewards + gamma * not_terminal * next_values - values
    running = torch.zeros_like(deltas[0])
    advantages = []
    for t in reversed(range(deltas.shape[0])):
        running = deltas[t] + gamma * lam * not_end[t] * running
        advantages.append(running)
    advantages = torch.stack(advantages[::-1])
    return advantages, advantages + values


def ppo_clip_objective(log_probs, old_log_probs, advantages, clip_eps):
    """L^CLIP = mean_t min(rho_t A_t, clip(rho_t, 1 - eps, 1 + eps) A_t), rho = exp(lp - old_lp).

    The gradient flows through log_probs only; old_log_probs and advantages are constants.
    """
    ratio = (log_probs - old_log_probs.detach()).exp()
    advantages = advantages.detach()
    return torch.min(ratio * advantages,
                     ratio.clamp(1.0 - clip_eps, 1.0 + clip_eps) * advantages).mean()


def ppo_kl_penalty_objective(log_probs, old_log_probs, advantages, kl, beta):
    """L^KLPEN = mean_t (rho_t A_t - beta KL_t), KL_t = KL[pi_old(.|s_t), pi_theta(.|s_t)]."""
    ratio = (log_probs - old_log_probs.detach()).exp()
    return (ratio * advantages.detach() - beta * kl).mean()


def adapt_kl_beta(beta, kl, kl_target):
    """The paper's rule: halve beta when d < d_targ / 1.5, double it when d > 1.5 d_targ."""
    if kl < kl_target / 1.5:
        return beta / 2.0
    if kl > kl_target * 1.5:
        return beta * 2.0
    return beta


def value_loss(values, old_values, returns, clip_eps=None):
    """0.5 mean (V - R)^2, or with clip_eps the pessimistic
    0.5 mean max((V - R)^2, (V_old + clip(V - V_old, -eps, eps) - R)^2)."""
    loss = (values - returns.detach()) ** 2
    if clip_eps is not None:
        clipped = old_values.detach() + (values - old_values.detach()).clamp(-clip_eps, clip_eps)
        loss = torch.max(loss, (clipped - returns.detach()) ** 2)
    return 0.5 * loss.mean()


# ---------------------------------------------------------------------------------------------
# Networks and normalisation
# ---------------------------------------------------------------------------------------------

def mlp(in_dim, out_dim, hidden, out_gain):
    """Tanh MLP, orthogonal init: gain sqrt(2) in hidden layers; a small policy head starts pi
    near uniform."""
    layers = [nn.Linear(in_dim, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(),
              nn.Linear(hidden, out_dim)]
    for layer, gain in zip(layers[::2], (math.sqrt(2), math.sqrt(2), out_gain)):
        nn.init.orthogonal_(layer.weight, gain)
        nn.init.zeros_(layer.bias)
    return nn.Sequential(*layers)


class Agent(nn.Module):
    """Actor pi_theta(a|s) (softmax, or N(mu(s), diag(exp(log_std))^2) with a state-independent
    log std) and a separate critic V(s)."""

    def __init__(self, obs_dim, action_space, hidden, init_log_std):
        super().__init__()
        self.discrete = isinstance(action_space, gym.spaces.Discrete)
        act_dim = int(action_space.n) if self.discrete else action_space.shape[0]
        self.actor = mlp(obs_dim, act_dim, hidden, 0.01)
        self.critic = mlp(obs_dim, 1, hidden, 1.0)
        if not self.discrete:
            self.log_std = nn.Parameter(torch.full((act_dim,), float(init_log_std)))

    def dist(self, obs):
        # validate_args=False: argument checks cost more than the tiny networks themselves
        if self.discrete:
            return torch.distributions.Categorical(logits=self.actor(obs), validate_args=False)
        mean = self.actor(obs)
        normal = torch.distributions.Normal(mean, self.log_std.exp().expand_as(mean),
                                            validate_args=False)
        return torch.distributions.Independent(normal, 1, validate_args=False)

    def value(self, obs):
        return self.critic(obs).squeeze(-1)

    def act(self, obs, deterministic=False):
        dist = self.dist(obs)
        if not deterministic:
            return dist.sample()
        return dist.base_dist.mean if not self.discrete else dist.logits.argmax(-1)


class RunningMeanStd:
    """Mean and variance of a stream of batches, merged exactly (Chan et al., 1979)."""

    def __init__(self, shape=()):
        self.mean, self.var, self.count = np.zeros(shape), np.ones(shape), 1e-4

    def update(self, x):
        batch_mean, batch_var, n = x.mean(0), x.var(0), x.shape[0]
        delta, total = batch_mean - self.mean, self.count + n
        self.mean = self.mean + delta * n / total
        self.var = (self.var * self.count + batch_var * n
                    + delta**2 * self.count * n / total) / total
        self.count = total


class Normalizer:
    """Observation normalisation, and reward scaling by the std of the discounted return
    (Engstrom et al., 2020). Updated while training; frozen (update=False) at evaluation."""

    def __init__(self, obs_dim, num_envs, gamma, enabled, clip=10.0):
        self.enabled, self.gamma, self.clip = enabled, gamma, clip
        self.obs_rms, self.ret_rms = RunningMeanStd((obs_dim,)), RunningMeanStd()
        self.ret = np.zeros(num_envs)  # running discounted return of each env's episode

    def obs(self, obs, update=False):
        if not self.enabled:
            return obs
        if update:
            self.obs_rms.update(obs)
        scaled = (obs - self.obs_rms.mean) / np.sqrt(self.obs_rms.var + 1e-8)
        return np.clip(scaled, -self.clip, self.clip)

    def reward(self, rewards, episode_end):
        if not self.enabled:
            return rewards
        self.ret = self.gamma * self.ret + rewards
        self.ret_rms.update(self.ret)
        self.ret[episode_end] = 0.0
        return np.clip(rewards / np.sqrt(self.ret_rms.var + 1e-8), -self.clip, self.clip)

    def state_dict(self):
        return {"enabled": self.enabled, "obs_mean": self.obs_rms.mean.tolist(),
                "obs_var": self.obs_rms.var.tolist(), "obs_count": self.obs_rms.count,
                "ret_var": float(self.ret_rms.var)}

    def load_state_dict(self, state):
        if len(state["obs_mean"]) != self.obs_rms.mean.shape[0]:
            raise ValueError("observation size differs")
        self.enabled = state["enabled"]
        self.obs_rms.mean = np.array(state["obs_mean"])
        self.obs_rms.var = np.array(state["obs_var"])
        self.obs_rms.count, self.ret_rms.var = state["obs_count"], np.array(state["ret_var"])


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
    positive = ("total_timesteps", "num_envs", "num_steps", "minibatch_size", "update_epochs",
                "learning_rate", "max_grad_norm", "hidden_size", "kl_target", "kl_beta")
    for name in positive:
        if not getattr(cfg, name) > 0:
            raise ConfigError(f"--{name.replace('_', '-')} must be > 0, got {getattr(cfg, name)}")
    if not 0.0 < cfg.gamma <= 1.0:
        raise ConfigError(f"--gamma must be in (0, 1], got {cfg.gamma}")
    if not 0.0 <= cfg.gae_lambda <= 1.0:
        raise ConfigError(f"--gae-lambda must be in [0, 1], got {cfg.gae_lambda}")
    if not 0.0 < cfg.clip_eps < 1.0:
        raise ConfigError(f"--clip-eps must be in (0, 1), got {cfg.clip_eps}")
    if cfg.norm_adv and cfg.minibatch_size < 2:  # one advantage has no standard deviation
        raise ConfigError("--minibatch-size must be >= 2 with --norm-adv (or give --no-norm-adv)")
    if cfg.minibatch_size > cfg.num_envs * cfg.num_steps:
        raise ConfigError(f"--minibatch-size {cfg.minibatch_size} exceeds the batch N*T = "
                          f"{cfg.num_envs * cfg.num_steps}")
    for name in ("ent_coef", "vf_coef", "target_kl", "eval_episodes"):
        if getattr(cfg, name) < 0:
            raise ConfigError(f"--{name.replace('_', '-')} must be >= 0, got {getattr(cfg, name)}")


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


def make_env(env_id, num_envs=None, async_envs=False):
    """One env (num_envs None) or a vector env autoresetting in the same step; checks spaces."""
    try:
        env = gym.make(env_id) if num_envs is None else gym.make_vec(
            env_id, num_envs=num_envs, vectorization_mode="async" if async_envs else "sync",
            vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP})
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


def save_checkpoint(path, agent, normalizer, cfg):
    tmp = path + ".tmp"  # write, then rename: a crash never leaves a half-written model
    torch.save({"algo": "ppo", "config": dataclasses.asdict(cfg), "agent": agent.state_dict(),
                "normalizer": normalizer.state_dict()}, tmp)
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------

def rollout_storage(T, N, obs_space, act_space, device):
    """The [T, N, ...] tensors one rollout fills, allocated on the device."""
    discrete = isinstance(act_space, gym.spaces.Discrete)
    return {
        "obs": torch.zeros((T, N) + obs_space.shape, device=device),
        "actions": torch.zeros((T, N) + act_space.shape, device=device,
                               dtype=torch.long if discrete else torch.float32),
        **{k: torch.zeros(T, N, device=device)
           for k in ("log_probs", "values", "rewards", "final_values")},
        **{k: torch.zeros(T, N, dtype=torch.bool, device=device)
           for k in ("terminated", "episode_end")},
    }


def collect_rollout(envs, agent, normalizer, obs, buf, act_space, episode_stats):
    """Run pi_old for T steps of the N envs into the preallocated [T, N] tensors of `buf`.

    obs: the current normalised observations [N, obs_dim]. Adds buf["next_values"], V(s_{t+1}).
    Returns the next observations, and the episodes finished as (step t, env, return, length);
    `episode_stats` holds each env's running raw return and length.
    """
    device = buf["values"].device
    finished = []
    for t in range(buf["values"].shape[0]):
        obs_t = torch.as_tensor(obs, dtype=torch.float32, device=device)
        with torch.no_grad():
            dist = agent.dist(obs_t)
            actions = dist.sample()
            buf["obs"][t], buf["actions"][t] = obs_t, actions
            buf["log_probs"][t], buf["values"][t] = dist.log_prob(actions), agent.value(obs_t)
        raw_next, rewards, terminated, truncated, info = envs.step(
            to_env_action(actions.cpu().numpy(), act_space))
        episode_end = terminated | truncated
        episode_stats["return"] += rewards
        episode_stats["length"] += 1
        for i in np.flatnonzero(episode_end):
            finished.append((t, i, float(episode_stats["return"][i]),
                             int(episode_stats["length"][i])))
        episode_stats["return"][episode_end], episode_stats["length"][episode_end] = 0.0, 0
        buf["rewards"][t] = torch.as_tensor(normalizer.reward(rewards, episode_end), device=device)
        buf["terminated"][t] = torch.as_tensor(terminated, device=device)
        buf["episode_end"][t] = torch.as_tensor(episode_end, device=device)
        obs = normalizer.obs(raw_next, update=True)  # after a reset: the next episode's s_0
        if episode_end.any():  # V(s_{t+1}) of an ended episode: its final observation's value
            final_obs = np.stack(info["final_obs"][episode_end])
            with torch.no_grad():
                buf["final_values"][t, torch.as_tensor(episode_end, device=device)] = agent.value(
                    torch.as_tensor(normalizer.obs(final_obs), dtype=torch.float32, device=device))
    with torch.no_grad():
        last_values = agent.value(torch.as_tensor(obs, dtype=torch.float32, device=device))
    # next_values_t = V(s_{t+1}): the next step's V(s) within an episode, the final observation's
    # value where the episode ended (used only when truncated), V(s_T) after the last step.
    next_values = torch.cat([buf["values"][1:], last_values[None]])
    buf["next_values"] = torch.where(buf["episode_end"], buf["final_values"], next_values)
    return obs, finished


def ppo_update(agent, opt, batch, cfg, clip_eps, kl_beta):
    """K epochs of shuffled minibatches on one flat batch. Returns one stats dict per epoch."""
    old_agent = copy.deepcopy(agent) if cfg.objective == "kl-penalty" else None
    n = batch["values"].shape[0]
    epochs = []
    for _ in range(cfg.update_epochs):
        sums = []  # per minibatch: policy loss, value loss, entropy, approx KL, clip fraction
        order = torch.randperm(n, device=batch["values"].device)
        starts = range(0, n - cfg.minibatch_size + 1, cfg.minibatch_size)  # drop a ragged tail
        for start in starts:
            mb = {k: v[order[start:start + cfg.minibatch_size]] for k, v in batch.items()}
            dist = agent.dist(mb["obs"])
            log_probs = dist.log_prob(mb["actions"])
            advantages = mb["advantages"]
            if cfg.norm_adv:
                advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
            if cfg.objective == "clip":
                objective = ppo_clip_objective(log_probs, mb["log_probs"], advantages, clip_eps)
            else:
                with torch.no_grad():
                    old_dist = old_agent.dist(mb["obs"])
                kl = torch.distributions.kl_divergence(old_dist, dist)
                objective = ppo_kl_penalty_objective(log_probs, mb["log_probs"], advantages, kl,
                                                     kl_beta)
            v_loss = value_loss(agent.value(mb["obs"]), mb["values"], mb["returns"],
                                clip_eps if cfg.clip_vloss else None)
            entropy = dist.entropy().mean()
            loss = -objective + cfg.vf_coef * v_loss - cfg.ent_coef * entropy  # L^CLIP+VF+S
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(agent.parameters(), cfg.max_grad_norm)
            opt.step()
            with torch.no_grad():
                log_ratio = log_probs - mb["log_probs"]
                # KL[pi_old, pi] ~ E_old[(rho - 1) - log rho]: unbiased and never negative
                sums.append(torch.stack([-objective, v_loss, entropy,
                                         (log_ratio.exp() - 1 - log_ratio).mean(),
                                         ((log_ratio.exp() - 1).abs() > clip_eps).float().mean()]))
        epochs.append(dict(zip(STAT_NAMES, torch.stack(sums).mean(0).tolist())))
        if cfg.target_kl and epochs[-1]["approx_kl"] > cfg.target_kl:
            break  # pi moved far enough from pi_old: the rest of the batch is off-policy
    if old_agent is not None:  # d = E_s KL[pi_old, pi] over the whole batch, for beta's rule
        with torch.no_grad():
            epochs[-1]["kl"] = torch.distributions.kl_divergence(
                old_agent.dist(batch["obs"]), agent.dist(batch["obs"])).mean().item()
    return epochs


def train(cfg):
    """Train an agent with PPO; return the result dict printed as the last stdout line."""
    check_config(cfg)
    device = resolve_device(cfg.device)
    # Small MLPs on a CPU: one thread is as fast as several at these sizes and leaves the
    # other cores to the envs and to other runs.
    torch.set_num_threads(1)
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    envs, obs_space, act_space = make_env(cfg.env_id, cfg.num_envs, cfg.async_envs)
    raw_obs, _ = envs.reset(seed=cfg.seed)  # later resets continue these seeded generators
    envs.action_space.seed(cfg.seed)
    normalize = cfg.normalize == "on" or (cfg.normalize == "auto"
                                          and isinstance(act_space, gym.spaces.Box))
    normalizer = Normalizer(obs_space.shape[0], cfg.num_envs, cfg.gamma, normalize)
    obs = normalizer.obs(raw_obs, update=True)

    run_dir = cfg.run_dir or os.path.join(
        "runs", f"ppo__{cfg.env_id.replace('/', '-')}__{cfg.seed}__{int(time.time())}")
    os.makedirs(run_dir, exist_ok=True)
    with open(os.path.join(run_dir, "config.json"), "w") as f:
        json.dump(dataclasses.asdict(cfg), f, indent=2)
    progress = CsvLog(os.path.join(run_dir, "progress.csv"),
                      ["global_step", "episode_return", "episode_length", "wall_time_s"])
    updates = CsvLog(os.path.join(run_dir, "updates.csv"),
                     ["update", "epoch", "global_step", "learning_rate", "clip_eps", "kl_beta"]
                     + STAT_NAMES)
    writer = None
    if cfg.tensorboard:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise ConfigError("--tensorboard needs the tensorboard package: "
                              "pip install tensorboard") from None
        writer = SummaryWriter(run_dir)

    agent = Agent(obs_space.shape[0], act_space, cfg.hidden_size, cfg.init_log_std).to(device)
    try:  # the fused kernel: 4x faster steps on these small nets (CPU support from torch 2.4)
        opt = torch.optim.Adam(agent.parameters(), lr=cfg.learning_rate, eps=1e-5, fused=True)
    except RuntimeError:
        opt = torch.optim.Adam(agent.parameters(), lr=cfg.learning_rate, eps=1e-5)
    T, N = cfg.num_steps, cfg.num_envs
    buf = rollout_storage(T, N, obs_space, act_space, device)  # preallocated once, on the device
    episode_stats = {"return": np.zeros(N), "length": np.zeros(N, dtype=int)}
    num_updates = -(-cfg.total_timesteps // (T * N))  # whole rollouts, at least total_timesteps
    global_step, kl_beta, recent = 0, cfg.kl_beta, []
    start = last_print = time.time()
    try:
        for update in range(1, num_updates + 1):
            frac = 1.0 - (update - 1) / num_updates  # linear annealing, 1 -> 1/num_updates
            lr = cfg.learning_rate * (frac if cfg.anneal_lr else 1.0)
            clip_eps = cfg.clip_eps * (frac if cfg.anneal_clip else 1.0)
            for group in opt.param_groups:
                group["lr"] = lr
            obs, finished = collect_rollout(envs, agent, normalizer, obs, buf, act_space,
                                            episode_stats)
            for t, _, ep_return, ep_length in finished:
                recent = (recent + [ep_return])[-20:]
                progress.write([global_step + (t + 1) * N, ep_return, ep_length,
                                round(time.time() - start, 3)])
                if writer:
                    writer.add_scalar("charts/episode_return", ep_return, global_step + (t + 1) * N)
            global_step += T * N
            advantages, returns = compute_gae(buf["rewards"], buf["values"], buf["next_values"],
                                              buf["terminated"], buf["episode_end"], cfg.gamma,
                                              cfg.gae_lambda)
            batch = {k: buf[k].reshape((T * N,) + buf[k].shape[2:])
                     for k in ("obs", "actions", "log_probs", "values")}
            batch["advantages"], batch["returns"] = advantages.reshape(-1), returns.reshape(-1)
            epochs = ppo_update(agent, opt, batch, cfg, clip_eps, kl_beta)
            for epoch, stats in enumerate(epochs, 1):
                updates.write([update, epoch, global_step, f"{lr:.6g}", f"{clip_eps:.6g}",
                               f"{kl_beta:.6g}"] + [f"{stats[k]:.6g}" for k in STAT_NAMES])
            if cfg.objective == "kl-penalty":
                kl_beta = adapt_kl_beta(kl_beta, epochs[-1]["kl"], cfg.kl_target)
            if writer:
                for k in STAT_NAMES:
                    writer.add_scalar(f"losses/{k}", epochs[-1][k], global_step)
            now = time.time()
            if not cfg.quiet and (now - last_print >= 2.0 or update == num_updates):
                last_print = now
                sps = global_step / (now - start)
                eta = (num_updates * T * N - global_step) / max(sps, 1e-9)
                mean_return = f"{np.mean(recent):.1f}" if recent else "n/a"
                print(f"step {global_step}/{cfg.total_timesteps} | return {mean_return}"
                      f" (last {len(recent)}) | {sps:.0f} steps/s | {eta:.0f} s left",
                      file=sys.stderr, flush=True)
    finally:  # on Ctrl-C or an error too: keep what was learned
        save_checkpoint(os.path.join(run_dir, "model.pt"), agent, normalizer, cfg)
        envs.close()
        for log in (progress, updates):
            log.file.close()
        if writer:
            writer.close()
    train_time = time.time() - start

    returns = evaluate(agent, cfg.env_id, cfg.eval_episodes, cfg.seed, device, normalizer)
    return result_dict(cfg, returns, run_dir, global_step=global_step,
                       train_time_s=round(train_time, 3), sps=round(global_step / train_time, 1))


def evaluate(agent, env_id, episodes, seed, device, normalizer):
    """Returns of `episodes` deterministic episodes (argmax or mean action), seeded from `seed`,
    with the observation statistics frozen."""
    env, _, act_space = make_env(env_id)
    returns = []
    for i in range(episodes):
        obs, _ = env.reset(seed=seed + 10_000 + i)  # fixed seeds: --eval-only reproduces these
        done, total = False, 0.0
        while not done:
            obs_t = torch.as_tensor(normalizer.obs(obs[None]), dtype=torch.float32, device=device)
            with torch.no_grad():
                action = agent.act(obs_t, deterministic=True)[0].cpu().numpy()
            obs, reward, terminated, truncated, _ = env.step(to_env_action(action, act_space))
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    env.close()
    return np.array(returns)


def result_dict(cfg, returns, run_dir, **extra):
    return {"algo": "ppo", "env_id": cfg.env_id, "seed": cfg.seed,
            "total_timesteps": cfg.total_timesteps,
            "eval_return_mean": float(np.mean(returns)) if len(returns) else None,
            "eval_return_std": float(np.std(returns)) if len(returns) else None,
            "train_time_s": None, "sps": None, "run_dir": run_dir, **extra}


def evaluate_checkpoint(given):
    """--eval-only: rebuild the agent and its frozen normalisation from a checkpoint."""
    path = given.get("checkpoint", "")
    if not path:
        raise ConfigError("--eval-only needs --checkpoint PATH")
    if not os.path.isfile(path):
        raise ConfigError(f"checkpoint not found: {path}")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        cfg = dataclasses.replace(Config(**ckpt["config"]), **given)
    except Exception as e:  # unreadable, or written by another program or version
        raise ConfigError(f"{path} is not a ppo.py checkpoint ({type(e).__name__})") from None
    if ckpt.get("algo") != "ppo":
        raise ConfigError(f"{path} was written by {ckpt.get('algo')!r}, not ppo.py")
    check_config(cfg)
    device = resolve_device(cfg.device)
    torch.set_num_threads(1)
    env, obs_space, act_space = make_env(cfg.env_id)
    env.close()
    agent = Agent(obs_space.shape[0], act_space, cfg.hidden_size, cfg.init_log_std)
    normalizer = Normalizer(obs_space.shape[0], 1, cfg.gamma, False)
    try:
        agent.load_state_dict(ckpt["agent"])
        normalizer.load_state_dict(ckpt["normalizer"])
    except (RuntimeError, ValueError, KeyError):
        raise ConfigError(f"{path} does not match {cfg.env_id}'s observation or action "
                          "space") from None
    returns = evaluate(agent.to(device), cfg.env_id, cfg.eval_episodes, cfg.seed, device,
                       normalizer)
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
    parser = ArgumentParser(prog="ppo.py", argument_default=argparse.SUPPRESS,
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
        print(f"ppo.py: error: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("ppo.py: interrupted; the model and logs written so far are kept", file=sys.stderr)
        sys.exit(130)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
