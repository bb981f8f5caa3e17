"""Natural policy gradient (Kakade, 2002) and TRPO (Schulman et al., 2015).

Maximise the surrogate L(theta) = E_t[pi_theta(a_t|s_t) / pi_old(a_t|s_t) A_t] subject to
mean_s KL(pi_old(.|s) || pi_theta(.|s)) <= delta. Linearise L at theta_old (gradient
g = E_t[grad log pi_theta(a_t|s_t) A_t]) and take the KL to second order: its Hessian at
theta_old is the Fisher matrix F = E[grad log pi grad log pi^T]. The solution of that model is

    theta_new = theta_old + sqrt(2 delta / (g^T F^-1 g)) F^-1 g,

with F^-1 g from conjugate gradient, which needs only Fisher-vector products F v (double
backprop of the mean KL), never F itself. Because F is the metric of the policy space, the step
F^-1 g does not depend on how the policy is parametrised, unlike the plain gradient. NPG takes
that step; TRPO backtracks along it (theta_old + ratio^k step) and accepts the first candidate
whose surrogate improved AND whose measured KL is at most delta; if none does, the policy stays.
A_t is GAE(gamma, lambda), normalised per batch; V(s) is regressed on the returns A_t + V(s_t).

Episodes end the gymnasium way: a terminated step is not bootstrapped, a truncated one is, with
V(final observation). The vector envs use AutoresetMode.SAME_STEP, so every recorded step is a
real transition and the final observation comes from info["final_obs"].

Usage:
    python npg_trpo.py                                    # TRPO on CartPole-v1, 100k steps
    python npg_trpo.py --algo npg --total-timesteps 100000 --seed 2   # NPG: no line search
    python npg_trpo.py --env-id Pendulum-v1 --total-timesteps 300000 --gamma 0.9 \
        --gae-lambda 0.95 --num-steps 1024 --normalize-obs
    python npg_trpo.py --eval-only --checkpoint runs/<run>/model.pt --eval-episodes 20
"""
import argparse
import csv
import dataclasses
import inspect
import json
import os
import sys
import time
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch
import torch.nn as nn
from gymnasium.vector import AutoresetMode
from torch.nn.utils import parameters_to_vector, vector_to_parameters

CHOICES = {"algo": ("trpo", "npg")}


@dataclass
class Config:
    algo: str = "trpo"  # trpo: natural step + line search on surrogate and KL; npg: the bare step
    env_id: str = "CartPole-v1"  # gymnasium id: flat Box observations, Discrete or Box actions
    total_timesteps: int = 100_000  # env steps to train for, all envs together
    seed: int = 1  # seeds torch, numpy, the envs and their action spaces
    device: str = "auto"  # auto, cpu, cuda or cuda:N
    num_envs: int = 2  # synchronous envs
    num_steps: int = 512  # steps per env per update: a batch holds num_envs * num_steps steps
    gamma: float = 0.99  # discount factor
    gae_lambda: float = 0.98  # GAE lambda: 0 is the one-step TD error, 1 the Monte Carlo return
    max_kl: float = 0.01  # delta, the trust region's radius in mean KL
    damping: float = 0.1  # F + damping I keeps CG well posed where F is near singular
    cg_iters: int = 15  # conjugate gradient iterations for F^-1 g
    backtracks: int = 10  # TRPO line search: tries ratio^k times the step, k < backtracks
    backtrack_ratio: float = 0.8  # TRPO line search: shrink factor between candidates
    value_learning_rate: float = 1e-3  # Adam step size of V(s)
    value_epochs: int = 10  # passes of V(s) regression over each batch
    value_minibatch: int = 128  # minibatch size of that regression
    hidden_size: int = 64  # width of the two hidden layers of both networks
    init_log_std: float = 0.0  # initial log std of the Gaussian policy (Box actions)
    normalize_obs: bool = False  # standardise observations by running mean/std (continuous tasks)
    eval_episodes: int = 10  # deterministic evaluation episodes at the end
    run_dir: str = ""  # default runs/<algo>__<env>__<seed>__<unix time>
    checkpoint: str = ""  # model.pt to load with --eval-only
    eval_only: bool = False  # load --checkpoint and only evaluate it
    tensorboard: bool = False  # also write TensorBoard events
    quiet: bool = False  # no progress lines


# ---------------------------------------------------------------------------------------------
# The public API: pure functions of tensors. No env, no global state, no randomness.
# ---------------------------------------------------------------------------------------------

def conjugate_gradient(Avp, b, iters=10, residual_tol=1e-10):
    """x ~ A^-1 b for a symmetric positive definite A known only through Avp(v) = A v.

    After k iterations x minimises 0.5 x^T A x - b^T x over the Krylov subspace
    span(b, Ab, ..., A^(k-1) b); after n = dim(b) iterations, in exact arithmetic, x = A^-1 b.
    Stops early once the squared residual ||b - A x||^2 is at most residual_tol.
    Only @, + and scalar * are used, never in place: b may also be a numpy array of Fractions.
    """
    x = 0 * b
    r = p = b  # residual b - A x for x = 0; p: search direction, A-conjugate to earlier ones
    rr = r @ r
    for _ in range(iters):
        if rr <= residual_tol:
            break
        Ap = Avp(p)
        alpha = rr / (p @ Ap)  # exact minimisation along p
        x = x + alpha * p
        r = r - alpha * Ap
        rr_new = r @ r
        p = r + (rr_new / rr) * p
        rr = rr_new
    return x


def fisher_vector_product(policy, obs, v, damping=0.0):
    """(F + damping I) v, F = Hessian of mean_s KL(pi_old(.|s) || pi_theta(.|s)) at theta_old.

    policy(obs) returns a torch Distribution; v is flat over policy.parameters(). pi_old is the
    policy as it is now, held constant, so the KL and its gradient vanish at theta_old and the
    Hessian is the Fisher matrix. Double backprop: F v = grad_theta (grad_theta KL . v).
    """
    params = list(policy.parameters())
    with torch.no_grad():
        old = policy(obs)  # pi_old: same numbers, no graph
    kl = torch.distributions.kl_divergence(old, policy(obs)).mean()
    kl_grad = parameters_to_vector(torch.autograd.grad(kl, params, create_graph=True))
    Fv = parameters_to_vector(torch.autograd.grad(kl_grad @ v, params))
    return Fv + damping * v


def natural_step(g, Finv_g, max_kl):
    """s = sqrt(2 max_kl / (g^T F^-1 g)) F^-1 g: the step to the edge 0.5 s^T F s = max_kl.

    Zero unless g^T F^-1 g > 0 (no gradient, or a failed solve): no ascent direction is known.
    """
    gFg = g @ Finv_g
    if not gFg > 0:
        return torch.zeros_like(Finv_g)
    return torch.sqrt(2 * max_kl / gFg) * Finv_g


def compute_gae(rewards, values, next_values, terminated, episode_end, gamma, lam):
    """(advantages, returns), time-major [T] or [T, N]. next_values[t] = V(s_{t+1}), the final
    observation's value where the episode ended. terminated[t]: s_{t+1} is terminal, no bootstrap.
    episode_end[t]: terminated or truncated, the advantage recursion stops after step t."""
    not_term, not_end = 1.0 - terminated.to(rewards.dtype), 1.0 - episode_end.to(rewards.dtype)
    deltas = rewards + gamma * not_term * next_values - values  # delta_t, the TD error
    advantages, running = torch.zeros_like(rewards), torch.zeros_like(rewards[0])
    for t in reversed(range(rewards.shape[0])):
        running = deltas[t] + gamma * lam * not_end[t] * running  # A_t = delta_t + g l A_{t+1}
        advantages[t] = running
    return advantages, advantages + values


# ---------------------------------------------------------------------------------------------
# Networks and the policy update
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
        mean = self.net(obs)
        normal = torch.distributions.Normal(mean, self.log_std.exp().expand_as(mean))
        return torch.distributions.Independent(normal, 1)

    def act(self, obs, deterministic=False):
        dist = self(obs)
        if not deterministic:
            return dist.sample()
        return dist.logits.argmax(-1) if self.discrete else dist.mean


def trpo_step(policy, obs, actions, advantages, max_kl, damping=0.1, cg_iters=15,
              line_search=True, backtracks=10, backtrack_ratio=0.8):
    """One NPG (line_search=False) or TRPO update of `policy` in place, on a batch. Returns stats.

    obs, actions, advantages: flat over the batch's steps. The surrogate is
    L(theta) = mean_t exp(log pi_theta - log pi_old) A_t, whose gradient at theta_old is g.
    Stats: improvement L_new - L_old and kl (measured after the step; 0 when rejected),
    ls_steps (candidates tried), accepted, cg_residual ||(F + damping I) x - g|| of x ~ F^-1 g.
    """
    params = list(policy.parameters())
    old_params = parameters_to_vector(params).detach()
    with torch.no_grad():
        old_dist = policy(obs)
        old_log_probs = old_dist.log_prob(actions)

    def surrogate_and_kl():
        dist = policy(obs)
        L = ((dist.log_prob(actions) - old_log_probs).exp() * advantages).mean()
        return L, torch.distributions.kl_divergence(old_dist, dist).mean()

    L_old, _ = surrogate_and_kl()
    g = parameters_to_vector(torch.autograd.grad(L_old, params))
    Fvp = lambda v: fisher_vector_product(policy, obs, v, damping)  # noqa: E731
    Finv_g = conjugate_gradient(Fvp, g, cg_iters)
    cg_residual = (Fvp(Finv_g) - g).norm()
    step = natural_step(g, Finv_g, max_kl)
    expected_improvement = g @ step  # what the linear model of L predicts for the full step

    accepted, ls_steps = False, 0
    with torch.no_grad():
        for k in range(backtracks if line_search else 1):
            vector_to_parameters(old_params + backtrack_ratio**k * step, params)
            L_new, kl = surrogate_and_kl()
            ls_steps = k + 1
            # TRPO accepts a step only if it improves L AND keeps the measured KL inside delta.
            if not line_search or (L_new > L_old and kl <= max_kl):
                accepted = True
                break
        if not accepted:  # no candidate passed: the policy stays where it was
            vector_to_parameters(old_params, params)
            L_new, kl = L_old, torch.zeros(())
        # vector_to_parameters leaves every parameter a view into one flat vector. Matrix
        # products on such views can round differently from those on the parameters' own
        # storage (seen with AVX-512 kernels), which would make the final evaluation differ
        # from --eval-only's reloaded model: give each parameter its own storage back.
        for p in params:
            p.data = p.data.clone()
    return {"improvement": (L_new - L_old).item(), "kl": kl.item(), "ls_steps": ls_steps,
            "accepted": int(accepted), "cg_residual": cg_residual.item(),
            "expected_improvement": expected_improvement.item(),
            "entropy": old_dist.entropy().mean().item()}


class RunningMeanStd:
    """Running mean and variance of observations (parallel Welford merge), for --normalize-obs."""

    def __init__(self, shape):
        self.mean, self.var, self.count = np.zeros(shape), np.ones(shape), 1e-4

    def update(self, batch):
        mean, var, n = batch.mean(0), batch.var(0), batch.shape[0]
        delta, total = mean - self.mean, self.count + n
        self.var = (self.var * self.count + var * n + delta**2 * self.count * n / total) / total
        self.mean, self.count = self.mean + delta * n / total, total

    def normalize(self, obs):
        return np.clip((obs - self.mean) / np.sqrt(self.var + 1e-8), -10.0, 10.0)


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
    positive = ("total_timesteps", "num_envs", "num_steps", "max_kl", "cg_iters", "backtracks",
                "value_learning_rate", "value_minibatch", "hidden_size")
    for name in positive:
        if not getattr(cfg, name) > 0:
            raise ConfigError(f"--{name.replace('_', '-')} must be > 0, got {getattr(cfg, name)}")
    for name in ("gamma", "backtrack_ratio"):
        if not 0.0 < getattr(cfg, name) <= 1.0:
            raise ConfigError(f"--{name.replace('_', '-')} must be in (0, 1], got "
                              f"{getattr(cfg, name)}")
    if not 0.0 <= cfg.gae_lambda <= 1.0:
        raise ConfigError(f"--gae-lambda must be in [0, 1], got {cfg.gae_lambda}")
    if cfg.num_envs * cfg.num_steps < 2:
        raise ConfigError("a batch (--num-envs x --num-steps) needs at least 2 steps to "
                          "normalise its advantages")
    if cfg.damping < 0 or cfg.value_epochs < 0 or cfg.eval_episodes < 0:
        raise ConfigError("--damping, --value-epochs and --eval-episodes must be >= 0")


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
    """One env (num_envs None) or a SAME_STEP-autoreset sync vector env; bad spaces are errors."""
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


def save_checkpoint(path, policy, value_net, obs_rms, cfg):
    tmp = path + ".tmp"  # write, then rename: a crash never leaves a half-written model
    torch.save({"algo": "npg_trpo", "config": dataclasses.asdict(cfg),
                "policy": policy.state_dict(), "value": value_net.state_dict(),
                "obs_rms": None if obs_rms is None else
                {"mean": torch.as_tensor(obs_rms.mean), "var": torch.as_tensor(obs_rms.var)}},
               tmp)
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------

def collect_rollout(envs, obs, policy, value_net, num_steps, act_space, obs_rms, device):
    """num_steps steps of every env from `obs`. Returns (batch: dict of [T, N, ...] tensors,
    the obs to continue from, the raw observations [T, N, obs_dim] for the normaliser).
    SAME_STEP autoreset: every step is a real transition; where an episode ended, s_{t+1} is
    info["final_obs"], not the next episode's first observation that `obs` continues with."""
    norm = (lambda o: obs_rms.normalize(o)) if obs_rms is not None else (lambda o: o)
    as_t = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float32, device=device)  # noqa
    keys = ("obs", "actions", "rewards", "next_obs", "terminated", "episode_end")
    batch = {k: [] for k in keys}
    raw_obs = []
    for _ in range(num_steps):
        with torch.no_grad():
            actions = policy.act(as_t(norm(obs))).cpu().numpy()
        next_obs, rewards, terminated, truncated, info = envs.step(to_env_action(actions,
                                                                                 act_space))
        true_next = next_obs.copy()  # s_{t+1}: the final observation where an episode ended
        for i in np.flatnonzero(info.get("_final_obs", np.zeros(len(obs), bool))):
            true_next[i] = info["final_obs"][i]
        raw_obs.append(obs)
        for k, v in zip(keys, (norm(obs), actions, rewards, norm(true_next), terminated,
                               terminated | truncated)):
            batch[k].append(v)
        obs = next_obs
    batch = {k: as_t(np.stack(v)) for k, v in batch.items()}  # [T, N, ...]
    batch["terminated"], batch["episode_end"] = (batch[k].bool() for k in ("terminated",
                                                                           "episode_end"))
    if policy.discrete:
        batch["actions"] = batch["actions"].long()
    with torch.no_grad():
        batch["values"] = value_net(batch["obs"]).squeeze(-1)  # V(s_t), [T, N]
        batch["next_values"] = value_net(batch["next_obs"]).squeeze(-1)  # V(s_{t+1}), [T, N]
    return batch, obs, np.stack(raw_obs)


def fit_value(value_net, value_opt, obs, returns, epochs, minibatch, generator):
    """Regress V(s_t) on the returns A_t + V_old(s_t) for `epochs` passes of minibatches."""
    loss = torch.zeros(())
    for _ in range(epochs):
        for idx in torch.randperm(len(obs), generator=generator).split(minibatch):
            loss = ((value_net(obs[idx]).squeeze(-1) - returns[idx]) ** 2).mean()
            value_opt.zero_grad()
            loss.backward()
            value_opt.step()
    return loss.item()


def train(cfg):
    """Train a policy with NPG or TRPO; return the result dict printed as the last stdout line."""
    check_config(cfg)
    device = resolve_device(cfg.device)
    # Small MLPs on a CPU: one thread is as fast as two for these batch sizes and leaves a
    # core to other runs (the same measurement as in reinforce.py).
    torch.set_num_threads(1)
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    envs, obs_space, act_space = make_env(cfg.env_id, cfg.num_envs)
    obs, _ = envs.reset(seed=cfg.seed)  # later autoresets continue these seeded generators
    envs.action_space.seed(cfg.seed)

    run_dir = cfg.run_dir or os.path.join(
        "runs", f"{cfg.algo}__{cfg.env_id.replace('/', '-')}__{cfg.seed}__{int(time.time())}")
    os.makedirs(run_dir, exist_ok=True)
    with open(os.path.join(run_dir, "config.json"), "w") as f:
        json.dump(dataclasses.asdict(cfg), f, indent=2)
    progress = CsvLog(os.path.join(run_dir, "progress.csv"),
                      ["global_step", "episode_return", "episode_length", "wall_time_s"])
    stat_names = ["improvement", "kl", "ls_steps", "accepted", "cg_residual",
                  "expected_improvement", "entropy", "value_loss"]
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
    value_opt = torch.optim.Adam(value_net.parameters(), lr=cfg.value_learning_rate)
    obs_rms = RunningMeanStd(obs_dim) if cfg.normalize_obs else None
    if obs_rms is not None:
        obs_rms.update(obs)
    generator = torch.Generator().manual_seed(cfg.seed)  # the value regression's minibatches

    global_step, update, recent = 0, 0, []
    ep_return, ep_length = np.zeros(cfg.num_envs), np.zeros(cfg.num_envs, dtype=int)
    start = last_print = time.time()
    model_path = os.path.join(run_dir, "model.pt")
    try:
        while global_step < cfg.total_timesteps:
            num_steps = min(cfg.num_steps, -(-(cfg.total_timesteps - global_step) // cfg.num_envs))
            batch, obs, raw_obs = collect_rollout(envs, obs, policy, value_net, num_steps,
                                                  act_space, obs_rms, device)
            rewards, ends = batch["rewards"].cpu().numpy(), batch["episode_end"].cpu().numpy()
            for t in range(num_steps):  # episode bookkeeping, in the order the steps happened
                ep_return += rewards[t]
                ep_length += 1
                for i in np.flatnonzero(ends[t]):
                    recent = (recent + [ep_return[i]])[-20:]
                    progress.write([global_step + t * cfg.num_envs + i + 1, ep_return[i],
                                    ep_length[i], round(time.time() - start, 3)])
                    if writer:
                        writer.add_scalar("charts/episode_return", ep_return[i], global_step)
                    ep_return[i], ep_length[i] = 0.0, 0
            global_step += num_steps * cfg.num_envs
            if obs_rms is not None:  # new statistics apply from the next rollout on
                obs_rms.update(raw_obs.reshape(-1, obs_dim))

            advantages, returns = compute_gae(batch["rewards"], batch["values"],
                                              batch["next_values"], batch["terminated"],
                                              batch["episode_end"], cfg.gamma, cfg.gae_lambda)
            flat = lambda x: x.reshape(-1, *x.shape[2:])  # noqa: E731  [T, N, ...] -> [T*N, ...]
            advantages = flat(advantages)
            advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
            stats = trpo_step(policy, flat(batch["obs"]), flat(batch["actions"]), advantages,
                              cfg.max_kl, cfg.damping, cfg.cg_iters, cfg.algo == "trpo",
                              cfg.backtracks, cfg.backtrack_ratio)
            stats["value_loss"] = fit_value(value_net, value_opt, flat(batch["obs"]),
                                            flat(returns), cfg.value_epochs,
                                            cfg.value_minibatch, generator)
            update += 1
            updates.write([update, global_step] + [f"{stats[k]:.6g}" for k in stat_names])
            if writer:
                for k in stat_names:
                    writer.add_scalar(f"update/{k}", stats[k], global_step)
            now = time.time()
            if not cfg.quiet and (now - last_print >= 2.0 or global_step >= cfg.total_timesteps):
                last_print = now
                sps = global_step / (now - start)
                eta = (cfg.total_timesteps - global_step) / max(sps, 1e-9)
                mean_return = f"{np.mean(recent):.1f}" if recent else "n/a"
                print(f"step {global_step}/{cfg.total_timesteps} | return {mean_return}"
                      f" (last {len(recent)}) | kl {stats['kl']:.4f} | {sps:.0f} steps/s | "
                      f"{eta:.0f} s left", file=sys.stderr, flush=True)
    finally:  # on Ctrl-C or an error too: keep what was learned
        save_checkpoint(model_path, policy, value_net, obs_rms, cfg)
        envs.close()
        for log in (progress, updates):
            log.file.close()
        if writer:
            writer.close()
    train_time = time.time() - start

    returns = evaluate(policy, cfg.env_id, cfg.eval_episodes, cfg.seed, device, obs_rms)
    return result_dict(cfg, returns, run_dir, global_step=global_step,
                       train_time_s=round(train_time, 3), sps=round(global_step / train_time, 1))


def result_dict(cfg, returns, run_dir, **extra):
    return {"algo": cfg.algo, "env_id": cfg.env_id, "seed": cfg.seed,
            "total_timesteps": cfg.total_timesteps,
            "eval_return_mean": float(np.mean(returns)) if len(returns) else None,
            "eval_return_std": float(np.std(returns)) if len(returns) else None,
            "run_dir": run_dir, **extra}


def evaluate(policy, env_id, episodes, seed, device, obs_rms=None):
    """Returns of `episodes` deterministic episodes (argmax or mean action), seeded from `seed`."""
    env, _, act_space = make_env(env_id)
    returns = []
    for i in range(episodes):
        obs, _ = env.reset(seed=seed + 10_000 + i)  # fixed seeds: --eval-only reproduces these
        done, total = False, 0.0
        while not done:
            if obs_rms is not None:
                obs = obs_rms.normalize(obs)
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
    """--eval-only: rebuild the policy (and observation statistics) from a checkpoint."""
    path = given.get("checkpoint", "")
    if not path:
        raise ConfigError("--eval-only needs --checkpoint PATH")
    if not os.path.isfile(path):
        raise ConfigError(f"checkpoint not found: {path}")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        cfg = dataclasses.replace(Config(**ckpt["config"]), **given)
    except Exception as e:  # unreadable, or written by another program or version
        raise ConfigError(f"{path} is not an npg_trpo.py checkpoint ({type(e).__name__})") from None
    if ckpt.get("algo") != "npg_trpo":
        raise ConfigError(f"{path} was written by {ckpt.get('algo')!r}, not npg_trpo.py")
    check_config(cfg)
    device = resolve_device(cfg.device)
    torch.set_num_threads(1)
    env, obs_space, act_space = make_env(cfg.env_id)
    env.close()
    policy = Policy(obs_space.shape[0], act_space, cfg.hidden_size, cfg.init_log_std)
    obs_rms = None
    try:
        policy.load_state_dict(ckpt["policy"])
        if ckpt["obs_rms"] is not None:
            obs_rms = RunningMeanStd(obs_space.shape[0])
            obs_rms.mean, obs_rms.var = (ckpt["obs_rms"][k].numpy() for k in ("mean", "var"))
            if obs_rms.mean.shape != obs_space.shape:
                raise RuntimeError
    except (RuntimeError, KeyError):
        raise ConfigError(f"{path} does not match {cfg.env_id}'s observation or action "
                          "space") from None
    returns = evaluate(policy.to(device), cfg.env_id, cfg.eval_episodes, cfg.seed, device,
                       obs_rms)
    return result_dict(cfg, returns, os.path.dirname(path), train_time_s=None, sps=None,
                       eval_only=True)


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
    parser = ArgumentParser(prog="npg_trpo.py", argument_default=argparse.SUPPRESS,
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
        print(f"npg_trpo.py: error: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("npg_trpo.py: interrupted; the model and logs written so far are kept",
              file=sys.stderr)
        sys.exit(130)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
