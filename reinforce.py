"""REINFORCE: the likelihood-ratio policy gradient (Williams, 1992).

Objective J(theta) = E_{tau ~ p_theta}[sum_t gamma^t r_t]. Because
p_theta(tau) grad log p_theta(tau) = grad p_theta(tau), and the dynamics do not depend on theta,

    grad J = E[ sum_t grad log pi_theta(a_t|s_t) * R(tau) ]                    (total return)
           = E[ sum_t gamma^t grad log pi_theta(a_t|s_t) * G_t ],  G_t = sum_{k>=t} gamma^(k-t) r_k
                                                                        (reward-to-go, causality)

and subtracting a baseline b(s_t) leaves the expectation unchanged, since
E[grad log pi(a|s) b(s)] = b(s) grad sum_a pi(a|s) = 0, while it can cut the variance:
the lecture's optimal constant is b* = E[||g||^2 R] / E[||g||^2], g = grad log p_theta(tau)
(for the reward-to-go form, b* = E[<h, f>] / E[||h||^2] with h = sum_t w_t grad log pi_t and
f = sum_t w_t grad log pi_t G_t, which is the same formula when w_t = 1 and G_t = R).
Off-policy, importance sampling reweights trajectories drawn from a behaviour policy by
rho_t = pi_theta(a_t|s_t) / pi_beta(a_t|s_t) (whole product, per decision, or first order).

Dropping gamma^t from the reward-to-go estimator, as most code does, biases it for gamma < 1.
Here it is kept by default (`discount_weighting`). A truncated episode (time limit) is
bootstrapped with V(final observation) when a value baseline exists; without one the Monte
Carlo return simply stops at the cut.

Each update averages over exactly `--batch-episodes` whole episodes from `--num-envs`
synchronous envs: the batch is the first E episodes started, fixed before they are played.
(Stopping at a step count instead would make the number of episodes depend on their lengths,
and the batch mean would lean towards long episodes.)

Usage:
    python reinforce.py                                   # CartPole-v1, reward-to-go, value baseline
    python reinforce.py --baseline optimal --estimator total --total-timesteps 200000
    python reinforce.py --env-id Pendulum-v1 --total-timesteps 300000 --seed 2
    python reinforce.py --eval-only --checkpoint runs/<run>/model.pt --eval-episodes 20
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
from torch.func import functional_call, grad, vmap

CHOICES = {
    "estimator": ("total", "reward-to-go"),
    "baseline": ("none", "mean", "optimal", "value"),
    "off_policy_mode": ("trajectory", "per_decision", "first_order"),
}


@dataclass
class Config:
    env_id: str = "CartPole-v1"  # gymnasium id: Box observations, Discrete or Box actions
    total_timesteps: int = 500_000  # env steps to train for, all envs together
    seed: int = 1  # seeds torch, numpy, the envs and their action spaces
    device: str = "auto"  # auto, cpu, cuda or cuda:N
    num_envs: int = 8  # synchronous envs collecting the episodes of a batch
    batch_episodes: int = 16  # whole episodes averaged in one update
    estimator: str = "reward-to-go"  # total: G_0 weights every step; reward-to-go: G_t
    baseline: str = "value"  # none, mean (batch mean), optimal (b*, from the batch), value (V(s))
    discount_weighting: bool = True  # weight step t by gamma^t (reward-to-go; unbiased)
    gamma: float = 0.99  # discount factor
    learning_rate: float = 1e-3  # Adam step size of the policy
    value_learning_rate: float = 1e-3  # Adam step size of V(s)
    value_steps: int = 25  # full-batch regression steps of V(s) on the returns per update
    hidden_size: int = 64  # width of the two hidden layers
    init_log_std: float = -0.5  # initial log std of the Gaussian policy (Box actions)
    ent_coef: float = 0.0  # entropy bonus coefficient
    max_grad_norm: float = 1.0  # clip the policy gradient's norm to this
    off_policy_epochs: int = 1  # gradient steps per batch; > 1 importance-weights the reuse
    off_policy_mode: str = "first_order"  # trajectory, per_decision or first_order
    eval_episodes: int = 10  # deterministic evaluation episodes at the end
    run_dir: str = ""  # default runs/reinforce__<env>__<seed>__<unix time>
    checkpoint: str = ""  # model.pt to load with --eval-only
    eval_only: bool = False  # load --checkpoint and only evaluate it
    tensorboard: bool = False  # also write TensorBoard events
    quiet: bool = False  # no progress lines


# --- The public API: pure functions of tensors. No env, no global state, no randomness. ----------

def discounted_returns(rewards, gamma, bootstrap=0.0):
    """G_t = sum_{k>=t} gamma^(k-t) r_k + gamma^(T-t) bootstrap, time-major ([T] or [T, N]).

    `bootstrap` is V(s_T) for a trajectory cut by a time limit, 0 when it terminated.
    """
    running = torch.as_tensor(bootstrap, dtype=rewards.dtype, device=rewards.device)
    returns = []
    for r in reversed(rewards.unbind(0)):
        running = r + gamma * running  # G_t = r_t + gamma G_{t+1}
        returns.append(running)
    return torch.stack(returns[::-1])


def reinforce_surrogate(log_probs, rewards, gamma=1.0, *, reward_to_go=True, baseline=None,
                        discount_weighting=True, bootstrap=0.0):
    """Scalar whose gradient is the one-trajectory estimate sum_t w_t grad log pi(a_t|s_t) (R_t - b_t).

    log_probs: [T] log pi_theta(a_t|s_t), carrying the graph. rewards: [T].
    R_t = G_t (reward_to_go) or G_0 (the whole return) at every step.
    w_t = gamma^t when reward_to_go and discount_weighting, else 1.
    baseline: None, a float, or a [T] tensor b_t; it is never differentiated.
    bootstrap: V(s_T) added to the returns of a truncated trajectory.
    """
    returns = discounted_returns(rewards, gamma, bootstrap)
    weight = torch.ones_like(returns)
    if reward_to_go:
        if discount_weighting:
            t = torch.arange(returns.shape[0], dtype=returns.dtype, device=returns.device)
            weight = gamma**t
    else:
        returns = returns[0].expand_as(returns)  # R(tau) = G_0 weights every step
    if baseline is not None:
        returns = returns - torch.as_tensor(baseline, dtype=returns.dtype,
                                            device=returns.device).detach()
    return (weight * log_probs * returns.detach()).sum()


def optimal_baseline(scores, returns, per_component=False, weights=None, *, return_scores=None):
    """The variance-minimising constant baseline b* = sum_i ||g_i||^2 R_i / sum_i ||g_i||^2.

    scores: [N, P], g_i = sum_t grad log pi(a_t|s_t) of trajectory i. returns: [N], R_i.
    per_component: one baseline per parameter, b_j = sum_i g_ij^2 R_i / sum_i g_ij^2 ([P]).
    weights: optional [N] probabilities of the trajectories (an exact expectation), else 1/N.
    return_scores: for an estimator sum_t w_t grad log pi_t (R_t - b) such as reward-to-go, pass
      scores h_i = sum_t w_t grad log pi_t and return_scores f_i = sum_t w_t grad log pi_t R_t
      ([N, P]); then b* = sum_i <h_i, f_i> / sum_i ||h_i||^2 and `returns` is not used.
    Where every g_i is zero the baseline cannot change the estimate and 0 is returned.
    """
    if return_scores is None:
        return_scores = scores * returns[:, None]  # f_i = g_i R_i: the total-return estimator
    weights = torch.ones(scores.shape[0], dtype=scores.dtype, device=scores.device) \
        if weights is None else weights
    cross, sq = scores * return_scores, scores**2  # [N, P]
    if not per_component:
        cross, sq = cross.sum(1, keepdim=True), sq.sum(1, keepdim=True)  # [N, 1]
    num = (weights[:, None] * cross).sum(0)
    den = (weights[:, None] * sq).sum(0)
    b = torch.where(den > 0, num / torch.where(den > 0, den, torch.ones_like(den)), 0.0)
    return b if per_component else b[0]


def off_policy_surrogate(log_probs, behavior_log_probs, rewards, gamma=1.0, *,
                         mode="per_decision", baseline=None, discount_weighting=False,
                         bootstrap=0.0):
    """Importance-sampled objective for a trajectory drawn from a behaviour policy beta.

    Its gradient at the target policy theta is the off-policy estimate of grad J(theta),
    with rho_t = pi_theta(a_t|s_t) / beta(a_t|s_t):
      "trajectory":   (prod_t rho_t) sum_t gamma^t r_t                     (unbiased)
      "per_decision": sum_t gamma^t r_t prod_{k<=t} rho_k                 (unbiased, causal)
      "first_order":  sum_t w_t rho_t (Q_t - b_t), Q_t the reward-to-go, no gradient through
                      Q_t; w_t = 1 as in the lecture, or gamma^t with discount_weighting (then
                      exact when theta = beta, like reward-to-go). It drops the ratio of state
                      distributions, so it is biased when theta != beta.
    baseline, bootstrap (first_order only): as in `reinforce_surrogate`.
    """
    log_rho = log_probs - behavior_log_probs.detach()
    t = torch.arange(rewards.shape[0], dtype=rewards.dtype, device=rewards.device)
    discount = gamma**t
    if mode == "trajectory":
        return log_rho.sum().exp() * (discount * rewards).sum()
    if mode == "per_decision":
        return (discount * rewards * log_rho.cumsum(0).exp()).sum()
    if mode == "first_order":
        advantages = discounted_returns(rewards, gamma, bootstrap)
        if baseline is not None:
            advantages = advantages - torch.as_tensor(baseline, dtype=rewards.dtype,
                                                      device=rewards.device)
        weight = discount if discount_weighting else torch.ones_like(discount)
        return (weight * log_rho.exp() * advantages.detach()).sum()
    raise ValueError(f"mode must be one of {CHOICES['off_policy_mode']}, not {mode!r}")


# --- Networks ------------------------------------------------------------------------------------

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
        # validate_args=False keeps the distributions usable under torch.func.vmap
        if self.discrete:
            return torch.distributions.Categorical(logits=self.net(obs), validate_args=False)
        normal = torch.distributions.Normal(self.net(obs), self.log_std.exp(), validate_args=False)
        return torch.distributions.Independent(normal, 1)

    def act(self, obs, deterministic=False):
        dist = self(obs)
        if not deterministic:
            return dist.sample()
        return dist.logits.argmax(-1) if self.discrete else dist.mean


def per_step_scores(policy, obs, actions):
    """grad_theta log pi(a_t|s_t) of every step, flattened over the parameters: [B, P]."""
    params = {k: v.detach() for k, v in policy.named_parameters()}

    def log_prob(p, o, a):
        return functional_call(policy, p, (o[None],)).log_prob(a[None]).sum()

    per_step = vmap(grad(log_prob), in_dims=(None, 0, 0))(params, obs, actions)
    return torch.cat([g.reshape(obs.shape[0], -1) for g in per_step.values()], 1)


# --- Environment, checks and logging -------------------------------------------------------------

class ConfigError(Exception):
    """Bad input from the user: reported in one line, exit status 2."""


def check_config(cfg):
    if not 0 <= cfg.seed < 2**32:  # numpy's seed range
        raise ConfigError(f"--seed must be in [0, 2**32), got {cfg.seed}")
    for name, choices in CHOICES.items():
        if getattr(cfg, name) not in choices:
            raise ConfigError(f"--{name.replace('_', '-')} must be one of {', '.join(choices)}")
    for f in dataclasses.fields(cfg):
        if f.type is float and not math.isfinite(getattr(cfg, f.name)):
            raise ConfigError(f"--{f.name.replace('_', '-')} must be finite")
    positive = ("total_timesteps", "num_envs", "batch_episodes", "learning_rate",
                "value_learning_rate", "hidden_size", "max_grad_norm", "off_policy_epochs")
    for name in positive:
        if not getattr(cfg, name) > 0:
            raise ConfigError(f"--{name.replace('_', '-')} must be > 0, got {getattr(cfg, name)}")
    if not 0.0 < cfg.gamma <= 1.0:
        raise ConfigError(f"--gamma must be in (0, 1], got {cfg.gamma}")
    if cfg.ent_coef < 0 or cfg.value_steps < 0 or cfg.eval_episodes < 0:
        raise ConfigError("--ent-coef, --value-steps and --eval-episodes must be >= 0")
    if cfg.off_policy_epochs > 1 and cfg.off_policy_mode == "first_order" \
            and cfg.estimator == "total":
        raise ConfigError("--off-policy-mode first_order weights steps by the reward-to-go: "
                          "use --estimator reward-to-go")
    if cfg.off_policy_epochs > 1 and cfg.off_policy_mode != "first_order" \
            and cfg.baseline != "none":
        raise ConfigError(f"--off-policy-mode {cfg.off_policy_mode} takes no baseline: "
                          "use --baseline none, or --off-policy-mode first_order")


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
    return device


def make_env(env_id, num_envs=None):
    """One env (num_envs None) or a synchronous vector env; unsupported spaces are errors."""
    try:
        env = gym.make(env_id) if num_envs is None else gym.make_vec(
            env_id, num_envs=num_envs, vectorization_mode="sync")
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


def save_checkpoint(path, policy, value_net, cfg):
    tmp = path + ".tmp"  # write, then rename: a crash never leaves a half-written model
    torch.save({"algo": "reinforce", "config": dataclasses.asdict(cfg),
                "policy": policy.state_dict(),
                "value": None if value_net is None else value_net.state_dict()}, tmp)
    os.replace(tmp, path)


# --- Training ------------------------------------------------------------------------------------

def collect_episodes(envs, act_space, policy, n_episodes, device):
    """Play the N envs until `n_episodes` whole episodes are finished: the first n_episodes
    started, a set fixed before any of them is played. An env that is done while others still
    play idles: the episodes its autoreset starts are not recorded. Returns (episodes,
    env_steps), env_steps counting every step of every env, the idle ones too."""
    obs, _ = envs.reset()
    n = envs.num_envs
    current = [{"obs": [], "actions": [], "rewards": []} for _ in range(n)]
    active = np.arange(n) < n_episodes  # env i plays an episode that belongs to this batch
    started = int(active.sum())
    resetting = np.zeros(n, dtype=bool)  # env i's next step is gymnasium's autoreset step
    finished, env_steps = [], 0
    while active.any():
        with torch.no_grad():
            actions = policy.act(torch.as_tensor(obs, dtype=torch.float32, device=device))
        actions = actions.cpu().numpy()
        next_obs, rewards, terminated, truncated, _ = envs.step(to_env_action(actions, act_space))
        env_steps += n
        # gymnasium's NEXT_STEP autoreset: the step after an episode ends ignores the action,
        # gives reward 0 and returns the next episode's first observation. It is never recorded,
        # so no transition spans two episodes, and next_obs at the end is the true final state.
        for i in np.flatnonzero(active & ~resetting):
            ep = current[i]
            ep["obs"].append(obs[i])
            ep["actions"].append(actions[i])
            ep["rewards"].append(rewards[i])
            if terminated[i] or truncated[i]:
                finished.append(dict(ep, terminated=bool(terminated[i]), final_obs=next_obs[i],
                                     end_step=env_steps))
                current[i] = {"obs": [], "actions": [], "rewards": []}
                active[i] = started < n_episodes  # decided before the next episode is played
                started += int(active[i])
        resetting = terminated | truncated
        obs = next_obs
    return finished, env_steps


def policy_update(policy, value_net, opt, value_opt, episodes, cfg, device):
    """One REINFORCE update on a batch of whole episodes, then the fit of V(s). Returns stats."""
    lengths = [len(ep["rewards"]) for ep in episodes]
    obs = torch.as_tensor(np.concatenate([ep["obs"] for ep in episodes]), dtype=torch.float32,
                          device=device)  # [B, obs_dim], B = all steps of the batch
    actions = torch.as_tensor(np.concatenate([ep["actions"] for ep in episodes]), device=device)
    if not policy.discrete:
        actions = actions.float()
    rewards = torch.as_tensor(np.concatenate([ep["rewards"] for ep in episodes]),
                              dtype=torch.float32, device=device)
    reward_to_go = cfg.estimator == "reward-to-go"

    # Truncated episodes are bootstrapped with V(final observation) when V exists.
    bootstrap = torch.zeros(len(episodes), device=device)
    baseline = torch.zeros_like(rewards)
    if value_net is not None:
        truncated = torch.tensor([not ep["terminated"] for ep in episodes], device=device)
        final_obs = torch.as_tensor(np.stack([ep["final_obs"] for ep in episodes]),
                                    dtype=torch.float32, device=device)
        with torch.no_grad():
            bootstrap = value_net(final_obs).squeeze(-1) * truncated
            baseline = value_net(obs).squeeze(-1)  # b_t = V(s_t), fitted on earlier batches
    returns = [discounted_returns(r, cfg.gamma, b)  # G_t of each episode
               for r, b in zip(rewards.split(lengths), bootstrap)]
    first_returns = torch.stack([g[0] for g in returns])  # G_0 = R(tau) per episode
    if cfg.baseline == "mean":  # the batch's average of the return the estimator uses
        baseline.fill_(torch.cat(returns).mean() if reward_to_go else first_returns.mean())
    elif cfg.baseline == "optimal":  # b* = E[<h, f>] / E[||h||^2], see optimal_baseline
        steps = [torch.arange(n, dtype=torch.float32, device=device) for n in lengths]
        if reward_to_go:  # h = sum_t w_t grad log pi_t, f = sum_t w_t grad log pi_t G_t
            w = torch.cat([cfg.gamma**t if cfg.discount_weighting else torch.ones_like(t)
                           for t in steps])
            step_returns = torch.cat(returns)
        else:  # h = g = sum_t grad log pi_t, f = g R(tau)
            w = torch.ones_like(rewards)
            step_returns = torch.repeat_interleave(first_returns, torch.tensor(lengths,
                                                                               device=device))
        episode = torch.repeat_interleave(torch.arange(len(episodes), device=device),
                                          torch.tensor(lengths, device=device))
        scores = per_step_scores(policy, obs, actions)  # [B, P]
        per_episode = lambda x: torch.zeros(len(episodes), x.shape[1], device=device) \
            .index_add_(0, episode, x)
        baseline.fill_(optimal_baseline(per_episode(w[:, None] * scores), None, return_scores=
                                        per_episode((w * step_returns)[:, None] * scores)))
    baselines = baseline.split(lengths)

    with torch.no_grad():
        behavior_log_probs = policy(obs).log_prob(actions)

    def estimate(lp, blp, r, b, v):  # the surrogate of one episode
        if cfg.off_policy_epochs == 1:  # on-policy: the likelihood-ratio estimator itself
            return reinforce_surrogate(lp, r, cfg.gamma, reward_to_go=reward_to_go, baseline=b,
                                       discount_weighting=cfg.discount_weighting, bootstrap=v)
        # K > 1: the same batch again, importance-weighted towards the current policy
        return off_policy_surrogate(lp, blp, r, cfg.gamma, mode=cfg.off_policy_mode,
                                    baseline=b if cfg.off_policy_mode == "first_order" else None,
                                    discount_weighting=cfg.discount_weighting, bootstrap=v)

    for _ in range(cfg.off_policy_epochs):
        dist = policy(obs)
        surrogates = [estimate(*ep) for ep in zip(
            dist.log_prob(actions).split(lengths), behavior_log_probs.split(lengths),
            rewards.split(lengths), baselines, bootstrap)]
        entropy = dist.entropy().mean()
        # grad J ~ (1/N) sum_i (estimate of trajectory i), ascended by descending its negative
        loss = -torch.stack(surrogates).mean() - cfg.ent_coef * entropy
        opt.zero_grad()
        loss.backward()
        grad_norm = nn.utils.clip_grad_norm_(policy.parameters(), cfg.max_grad_norm)
        opt.step()

    value_loss = torch.zeros(())
    if value_net is not None:  # regress V(s_t) on the (bootstrapped) returns G_t
        targets = torch.cat(returns)
        for _ in range(cfg.value_steps):
            value_loss = ((value_net(obs).squeeze(-1) - targets) ** 2).mean()
            value_opt.zero_grad()
            value_loss.backward()
            value_opt.step()
    with torch.no_grad():
        approx_kl = (behavior_log_probs - policy(obs).log_prob(actions)).mean()
    return {"policy_loss": loss.item(), "value_loss": value_loss.item(),
            "entropy": entropy.item(), "baseline_mean": baseline.mean().item(),
            "grad_norm": grad_norm.item(), "approx_kl": approx_kl.item()}


def train(cfg):
    """Train a policy with REINFORCE; return the result dict printed as the last stdout line."""
    check_config(cfg)
    device = resolve_device(cfg.device)
    # Small MLPs on a CPU: one thread is as fast as two on a 2-core machine (measured: 40k env
    # steps/s collecting with 8 CartPole envs either way) at half the CPU time.
    torch.set_num_threads(1)
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    envs, obs_space, act_space = make_env(cfg.env_id, cfg.num_envs)
    envs.reset(seed=cfg.seed)  # later resets continue these seeded generators
    envs.action_space.seed(cfg.seed)

    run_dir = cfg.run_dir or os.path.join(
        "runs", f"reinforce__{cfg.env_id.replace('/', '-')}__{cfg.seed}__{int(time.time())}")
    os.makedirs(run_dir, exist_ok=True)
    with open(os.path.join(run_dir, "config.json"), "w") as f:
        json.dump(dataclasses.asdict(cfg), f, indent=2)
    progress = CsvLog(os.path.join(run_dir, "progress.csv"),
                      ["global_step", "episode_return", "episode_length", "wall_time_s"])
    stat_names = ["policy_loss", "value_loss", "entropy", "baseline_mean", "grad_norm",
                  "approx_kl"]
    updates = CsvLog(os.path.join(run_dir, "updates.csv"), ["update", "global_step"] + stat_names)
    writer = None
    if cfg.tensorboard:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise ConfigError("--tensorboard needs the tensorboard package: "
                              "pip install tensorboard") from None
        writer = SummaryWriter(run_dir)

    policy = Policy(obs_space.shape[0], act_space, cfg.hidden_size, cfg.init_log_std).to(device)
    opt = torch.optim.Adam(policy.parameters(), lr=cfg.learning_rate)
    value_net = value_opt = None
    if cfg.baseline == "value":
        value_net = mlp(obs_space.shape[0], 1, cfg.hidden_size).to(device)
        value_opt = torch.optim.Adam(value_net.parameters(), lr=cfg.value_learning_rate)

    global_step, update, recent = 0, 0, []
    start = last_print = time.time()
    model_path = os.path.join(run_dir, "model.pt")
    try:
        while global_step < cfg.total_timesteps:
            episodes, env_steps = collect_episodes(envs, act_space, policy, cfg.batch_episodes,
                                                   device)
            for ep in episodes:  # logged at the env step where each one finished
                ep_return = float(np.sum(ep["rewards"]))
                recent = (recent + [ep_return])[-20:]
                progress.write([global_step + ep["end_step"], ep_return, len(ep["rewards"]),
                                round(time.time() - start, 3)])
                if writer:
                    writer.add_scalar("charts/episode_return", ep_return,
                                      global_step + ep["end_step"])
            global_step += env_steps
            stats = policy_update(policy, value_net, opt, value_opt, episodes, cfg, device)
            update += 1
            updates.write([update, global_step] + [f"{stats[k]:.6g}" for k in stat_names])
            if writer:
                for k in stat_names:
                    writer.add_scalar(f"losses/{k}", stats[k], global_step)
            now = time.time()
            if not cfg.quiet and (now - last_print >= 2.0 or global_step >= cfg.total_timesteps):
                last_print = now
                sps = global_step / (now - start)
                eta = max(cfg.total_timesteps - global_step, 0) / max(sps, 1e-9)
                print(f"step {global_step}/{cfg.total_timesteps} | return {np.mean(recent):.1f}"
                      f" (last {len(recent)}) | {sps:.0f} steps/s | {eta:.0f} s left",
                      file=sys.stderr, flush=True)
    finally:  # on Ctrl-C or an error too: keep what was learned
        save_checkpoint(model_path, policy, value_net, cfg)
        envs.close()
        for log in (progress, updates):
            log.file.close()
        if writer:
            writer.close()
    train_time = time.time() - start

    returns = evaluate(policy, cfg.env_id, cfg.eval_episodes, cfg.seed, device)
    return result(cfg, returns, global_step=global_step, train_time_s=round(train_time, 3),
                  sps=round(global_step / train_time, 1), run_dir=run_dir)


def evaluate(policy, env_id, episodes, seed, device):
    """Returns of `episodes` deterministic episodes (argmax or mean action), seeded from `seed`."""
    env, _, act_space = make_env(env_id)
    returns = []
    for i in range(episodes):
        obs, _ = env.reset(seed=seed + 10_000 + i)  # fixed seeds: --eval-only reproduces these
        done, total = False, 0.0
        while not done:
            with torch.no_grad():
                action = policy.act(torch.as_tensor(obs, dtype=torch.float32, device=device)[None],
                                    deterministic=True)[0].cpu().numpy()
            obs, reward, terminated, truncated, _ = env.step(to_env_action(action, act_space))
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    env.close()
    return np.array(returns)


def evaluate_checkpoint(given):
    """--eval-only: rebuild the policy from a checkpoint and evaluate it."""
    path = given.get("checkpoint", "")
    if not path:
        raise ConfigError("--eval-only needs --checkpoint PATH")
    if not os.path.isfile(path):
        raise ConfigError(f"checkpoint not found: {path}")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        cfg = dataclasses.replace(Config(**ckpt["config"]), **given)
    except Exception as e:  # unreadable, or written by another program or version
        raise ConfigError(f"{path} is not a reinforce.py checkpoint ({type(e).__name__})") from None
    if ckpt.get("algo") != "reinforce":
        raise ConfigError(f"{path} was written by {ckpt.get('algo')!r}, not reinforce.py")
    check_config(cfg)
    device = resolve_device(cfg.device)
    torch.set_num_threads(1)
    env, obs_space, act_space = make_env(cfg.env_id)
    env.close()
    policy = Policy(obs_space.shape[0], act_space, cfg.hidden_size, cfg.init_log_std)
    try:
        policy.load_state_dict(ckpt["policy"])
    except RuntimeError:
        raise ConfigError(f"{path} does not match {cfg.env_id}'s observation or action "
                          "space") from None
    returns = evaluate(policy.to(device), cfg.env_id, cfg.eval_episodes, cfg.seed, device)
    return result(cfg, returns, train_time_s=None, sps=None, run_dir=os.path.dirname(path),
                  eval_only=True)


def result(cfg, returns, **extra):
    """The dict printed as the last stdout line (CONVENTIONS.md section 3)."""
    has = len(returns) > 0
    return {"algo": "reinforce", "env_id": cfg.env_id, "seed": cfg.seed,
            "total_timesteps": cfg.total_timesteps,
            "eval_return_mean": float(np.mean(returns)) if has else None,
            "eval_return_std": float(np.std(returns)) if has else None, **extra}


# --- Command line: one flag per Config field, so the two cannot drift apart ----------------------

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
    parser = ArgumentParser(prog="reinforce.py", argument_default=argparse.SUPPRESS,
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
        print(f"reinforce.py: error: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("reinforce.py: interrupted; the model and logs written so far are kept",
              file=sys.stderr)
        sys.exit(130)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
