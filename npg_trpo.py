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
V(info["final_obs"]); the envs autoreset in SAME_STEP mode, so every step is a real transition.

Usage:
    python npg_trpo.py                     # TRPO on CartPole-v1, 100k steps; NPG: --algo npg
    python npg_trpo.py --env-id Pendulum-v1   # 300k steps with its tuned settings (ENV_SETTINGS)
    python npg_trpo.py --eval-only --checkpoint runs/<run>/model.pt --eval-episodes 20
"""
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch
import torch.nn as nn
from torch.nn.utils import parameters_to_vector, vector_to_parameters

CHOICES = {"algo": ("trpo", "npg")}
LIMITS = {**{k: "x > 0" for k in ("total_timesteps", "num_envs", "num_steps", "cg_iters",
                                  "backtracks", "value_minibatch_size", "hidden_size")},
          "max_kl": "0 < x < inf", "value_learning_rate": "0 < x < inf", "gamma": "0 < x <= 1",
          "backtrack_ratio": "0 < x <= 1", "gae_lambda": "0 <= x <= 1", "damping": "0 <= x < inf",
          "value_epochs": "x >= 0", "eval_episodes": "x >= 0", "init_log_std": "abs(x) <= 20"}
ENV_SETTINGS = {  # tuned settings by env id, under the flags given (--help lists them)
    "CartPole-v1": {},  # the defaults: RL Zoo's CartPole-v1 TRPO settings
    "Pendulum-v1": dict(total_timesteps=300_000, gamma=0.9, gae_lambda=0.95, norm_obs=True,
                        num_steps=1024)}


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
    value_minibatch_size: int = 128  # minibatch size of that regression
    hidden_size: int = 64  # width of the two hidden layers of both networks
    init_log_std: float = 0.0  # initial log std of the Gaussian policy (Box actions)
    norm_obs: bool = False  # standardise observations by running mean/std (saved in model.pt)
    eval_episodes: int = 10  # deterministic evaluation episodes at the end
    run_dir: str = ""  # default runs/npg_trpo__<env>__<seed>__<unix time>
    checkpoint: str = ""  # model.pt to load with --eval-only
    eval_only: bool = False  # load --checkpoint and only evaluate it
    tensorboard: bool = False  # also write TensorBoard events
    quiet: bool = False  # no progress lines


def check_config(cfg):  # the range rules are in LIMITS
    if cfg.num_envs * cfg.num_steps < 2:
        raise ConfigError("a batch (--num-envs x --num-steps) needs at least 2 steps to "
                          "normalise its advantages")


# --- The public API: pure functions of tensors. No env, no global state, no randomness ---
def as_tensors(where, **named):  # lists and numpy arrays too; one shape for all of them
    device = next((x.device for x in named.values() if torch.is_tensor(x)), None)
    tensors = [torch.as_tensor(x, device=device) for x in named.values()]  # a tensor: itself
    if len({x.shape for x in tensors}) > 1:  # broadcasting them would give a wrong answer
        shapes = " and ".join(f"{name} {list(x.shape)}" for name, x in zip(named, tensors))
        raise ValueError(f"{where}: {shapes} must have one shape")
    return tensors


def conjugate_gradient(Avp, b, iters=10, residual_tol=1e-10):
    """x ~ A^-1 b for a symmetric positive definite A known only through Avp(v) = A v.

    After k steps x minimises 0.5 x^T A x - b^T x over the Krylov subspace span(b, ..., A^(k-1) b):
    x = A^-1 b after dim(b) steps, in exact arithmetic. Stops once ||b - A x||^2 <= residual_tol.
    Only @, + and scalar * are used, never in place: b may also be a numpy array of Fractions."""
    if not (isinstance(b, np.ndarray) and b.dtype == object):
        (b,) = as_tensors("conjugate_gradient", b=b)
    if b.ndim != 1 or not (iters >= 0 and residual_tol >= 0):
        raise ValueError(f"conjugate_gradient: want b [P], iters >= 0, residual_tol >= 0; got "
                         f"{list(b.shape)}, {iters}, {residual_tol}")
    x, r, p, rr = 0 * b, b, b, b @ b  # r = b - A x at x = 0; p: A-conjugate search directions
    for _ in range(iters):
        if rr <= residual_tol:
            break
        Ap = Avp(p)
        alpha = rr / (p @ Ap)  # exact minimisation along p
        x, r = x + alpha * p, r - alpha * Ap
        rr_new = r @ r
        p, rr = r + (rr_new / rr) * p, rr_new
    return x


def fisher_vector_product(policy, obs, v, damping=0.0, kl_grad=None):
    """(F + damping I) v, F = Hessian of mean_s KL(pi_old(.|s) || pi_theta(.|s)) at theta_old.

    policy(obs) returns a torch Distribution; v is flat over policy.parameters(); obs and v are
    taken in the parameters' dtype and device. pi_old is the policy as it is now, held constant,
    so the KL and its gradient vanish at theta_old and the Hessian is the Fisher matrix."""
    params = list(policy.parameters())
    obs, v = (torch.as_tensor(x, dtype=params[0].dtype, device=params[0].device) for x in (obs, v))
    if v.shape != (sum(p.numel() for p in params),) or not damping >= 0:
        raise ValueError(f"fisher_vector_product: want v flat over policy.parameters() and "
                         f"damping >= 0; got v {list(v.shape)}, damping {damping}")
    if kl_grad is None:  # else grad KL, flat, with its graph: one for many products (CG's)
        with torch.no_grad():
            old = policy(obs)  # pi_old: same numbers, no graph
        kl = torch.distributions.kl_divergence(old, policy(obs)).mean()
        kl_grad = parameters_to_vector(torch.autograd.grad(kl, params, create_graph=True))
    Fv = parameters_to_vector(torch.autograd.grad(kl_grad @ v, params, retain_graph=True))
    return Fv + damping * v  # F v = grad(grad KL . v)


def natural_step(g, Finv_g, max_kl):
    """s = sqrt(2 max_kl / (g^T F^-1 g)) F^-1 g: the step to the edge 0.5 s^T F s = max_kl."""
    g, Finv_g = as_tensors("natural_step", g=g, Finv_g=Finv_g)
    if g.dim() != 1 or not max_kl > 0:
        raise ValueError(f"natural_step: want g [P] and max_kl > 0; got {list(g.shape)}, {max_kl}")
    g, Finv_g = (x.to(torch.result_type(g, Finv_g)) for x in (g, Finv_g))  # @ does not promote
    gFg = g @ Finv_g
    # zero unless g^T F^-1 g > 0 (no gradient, or a failed solve): no ascent direction is known
    return torch.sqrt(2 * max_kl / gFg) * Finv_g if gFg > 0 else torch.zeros_like(Finv_g)


def compute_gae(rewards, values, next_values, terminated, episode_end, gamma, lam):
    """(advantages, returns), time-major [T] or [T, N]. next_values[t] = V(s_{t+1}), the final
    observation's value where the episode ended. terminated[t]: s_{t+1} is terminal, no bootstrap.
    episode_end[t]: terminated or truncated, the advantage recursion stops after step t."""
    rewards, values, next_values, terminated, episode_end = as_tensors(
        "compute_gae", rewards=rewards, values=values, next_values=next_values,
        terminated=terminated, episode_end=episode_end)
    if rewards.dim() == 0 or len(rewards) == 0 or not (0 <= gamma <= 1 and 0 <= lam <= 1):
        raise ValueError(f"compute_gae: want rewards [T] or [T, N] with T >= 1, gamma and lam in "
                         f"[0, 1]; got {list(rewards.shape)}, {gamma}, {lam}")
    if (terminated.bool() & ~episode_end.bool()).any():  # e.g. truncated passed as episode_end
        raise ValueError("compute_gae: episode_end must be true wherever terminated is")
    not_term = 1.0 - terminated.to(next_values.dtype)
    deltas = rewards + gamma * not_term * next_values - values  # delta_t, the TD error
    not_end = 1.0 - episode_end.to(deltas.dtype)
    advantages, running = torch.zeros_like(deltas), torch.zeros_like(deltas[0])
    for t in reversed(range(rewards.shape[0])):  # A_t = delta_t + gamma lam A_{t+1}
        running = advantages[t] = deltas[t] + gamma * lam * not_end[t] * running
    return advantages, advantages + values


# --- Networks and the policy update ---
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

    def forward(self, obs):  # validate_args=False: no checks of our own outputs at each step
        if self.discrete:
            return torch.distributions.Categorical(logits=self.net(obs), validate_args=False)
        normal = torch.distributions.Normal(self.net(obs), self.log_std.exp(), validate_args=False)
        return torch.distributions.Independent(normal, 1)

    def act(self, obs, deterministic=False):
        if self.discrete and not deterministic:  # a ~ softmax(logits), without Categorical's
            # object and logsumexp: a cost at every env step, and the probabilities the same
            return torch.multinomial(self.net(obs).softmax(-1), 1).squeeze(-1)  # up to rounding
        dist = self(obs)
        if not deterministic:
            return dist.sample()
        return dist.logits.argmax(-1) if self.discrete else dist.mean


def trpo_step(policy, obs, actions, advantages, max_kl, damping=0.1, cg_iters=15,
              line_search=True, backtracks=10, backtrack_ratio=0.8):
    """One NPG (line_search=False) or TRPO update of `policy` in place, on a batch. Returns stats.

    obs, actions, advantages: flat over the batch's steps. Stats: improvement L_new - L_old and
    kl (measured after the step; 0 when rejected), ls_steps (tries), accepted, diagnostics."""
    params = list(policy.parameters())
    old_params = parameters_to_vector(params).detach()
    with torch.no_grad():
        old_dist = policy(obs)
        old_log_probs = old_dist.log_prob(actions)

    def surrogate_and_kl():
        dist = policy(obs)
        L = ((dist.log_prob(actions) - old_log_probs).exp() * advantages).mean()  # L(theta)
        return L, torch.distributions.kl_divergence(old_dist, dist).mean()

    L_old, kl_old = surrogate_and_kl()  # one forward pass for g and for every F v below
    g = parameters_to_vector(torch.autograd.grad(L_old, params, retain_graph=True))  # grad L
    kl_grad = parameters_to_vector(torch.autograd.grad(kl_old, params, create_graph=True))
    Fvp = lambda v: fisher_vector_product(policy, obs, v, damping, kl_grad)  # noqa: E731
    Finv_g = conjugate_gradient(Fvp, g, cg_iters)
    cg_residual = (Fvp(Finv_g) - g).norm()  # ||(F + damping I) x - g|| of x ~ F^-1 g
    step = natural_step(g, Finv_g, max_kl)
    expected_improvement = g @ step  # what the linear model of L predicts for the full step
    accepted, ls_steps = False, 0
    with torch.no_grad():
        for k in range(backtracks if line_search else 1):
            vector_to_parameters(old_params + backtrack_ratio**k * step, params)
            L_new, kl = surrogate_and_kl()
            ls_steps, accepted = k + 1, not line_search or bool(L_new > L_old and kl <= max_kl)
            if accepted:
                break
        if not accepted:  # no candidate passed: the policy stays where it was
            vector_to_parameters(old_params, params)
            L_new, kl = L_old, torch.zeros(())
        # vector_to_parameters leaves views into one flat vector, and matmuls on views can round
        # differently (AVX-512) from --eval-only's reloaded model: give each its own storage back.
        for p in params:
            p.data = p.data.clone()
    return {"improvement": (L_new - L_old).item(), "kl": kl.item(), "ls_steps": ls_steps,
            "accepted": int(accepted), "entropy": old_dist.entropy().mean().item(),
            "cg_residual": cg_residual.item(), "expected_improvement": expected_improvement.item()}


class RunningMeanStd:
    """Running mean and variance of observations (parallel Welford merge), for --norm-obs."""

    def __init__(self, shape):
        self.mean, self.var, self.count = np.zeros(shape), np.ones(shape), 1e-4

    def update(self, batch):
        mean, var, n = batch.mean(0), batch.var(0), batch.shape[0]
        delta, total = mean - self.mean, self.count + n
        self.var = (self.var * self.count + var * n + delta**2 * self.count * n / total) / total
        self.mean, self.count = self.mean + delta * n / total, total

    def normalize(self, obs):
        return np.clip((obs - self.mean) / np.sqrt(self.var + 1e-8), -10.0, 10.0)


# --- Training ---
@torch.no_grad()  # acting and V(s) need no graph
def collect_rollout(envs, obs, policy, value_net, num_steps, act_space, obs_rms, device):
    """num_steps steps of every env from `obs`. Returns (batch: dict of [T, N, ...] tensors,
    the obs to continue from, the raw observations [T, N, obs_dim] for the normaliser)."""
    norm, steps = (obs_rms.normalize if obs_rms is not None else lambda o: o), []
    as_t = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float32, device=device)  # noqa
    for _ in range(num_steps):
        actions = policy.act(as_t(norm(obs))).cpu().numpy()
        next_obs, rewards, terminated, truncated, info = envs.step(actions)
        true_next = next_obs.copy()  # s_{t+1}: the final observation where an episode ended
        for i in np.flatnonzero(info.get("_final_obs", np.zeros(len(obs), bool))):
            true_next[i] = info["final_obs"][i]
        steps.append((obs, actions, rewards, true_next, terminated, terminated | truncated))
        obs = next_obs
    raw_obs, actions, rewards, true_next, terminated, episode_end = map(np.stack, zip(*steps))
    batch = {"obs": as_t(norm(raw_obs)), "next_obs": as_t(norm(true_next)),  # [T, N, ...]
             "actions": as_t(actions).long() if policy.discrete else as_t(actions),
             "rewards": as_t(rewards), "terminated": as_t(terminated).bool(),
             "episode_end": as_t(episode_end).bool()}
    batch["values"] = value_net(batch["obs"]).squeeze(-1)  # V(s_t), [T, N]
    batch["next_values"] = value_net(batch["next_obs"]).squeeze(-1)  # V(s_{t+1}), [T, N]
    return batch, obs, raw_obs


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


def log_episodes(log, rewards, ends, global_step, ep_return, ep_length):
    """Finished episodes into progress.csv, in the order their steps happened ([T, N] arrays)."""
    for t in range(rewards.shape[0]):
        ep_return += rewards[t]
        ep_length += 1
        for i in np.flatnonzero(ends[t]):
            log.episode(global_step + t * rewards.shape[1] + i + 1, ep_return[i], ep_length[i])
            ep_return[i], ep_length[i] = 0.0, 0


def learn(policy, value_net, value_opt, batch, cfg, generator):
    """One policy update (NPG or TRPO) on the GAE advantages, then V(s) regression. Stats."""
    flat = lambda x: x.reshape(-1, *x.shape[2:])  # noqa: E731  [T, N, ...] -> [T*N, ...]
    advantages, returns = map(flat, compute_gae(
        batch["rewards"], batch["values"], batch["next_values"], batch["terminated"],
        batch["episode_end"], cfg.gamma, cfg.gae_lambda))
    advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    stats = trpo_step(policy, flat(batch["obs"]), flat(batch["actions"]), advantages,
                      cfg.max_kl, cfg.damping, cfg.cg_iters, cfg.algo == "trpo", cfg.backtracks,
                      cfg.backtrack_ratio)
    stats["value_loss"] = fit_value(value_net, value_opt, flat(batch["obs"]), returns,
                                    cfg.value_epochs, cfg.value_minibatch_size, generator)
    return stats


STATS = ["improvement", "kl", "ls_steps", "accepted", "cg_residual", "expected_improvement",
         "entropy", "value_loss"]  # the columns of updates.csv after update, global_step


def train(cfg):
    """Train a policy with NPG or TRPO; return the result dict printed as the last stdout line."""
    device = setup(cfg)
    envs, obs_space, act_space = make_env(cfg.env_id, cfg.num_envs, same_step=True)
    obs, _ = envs.reset(seed=cfg.seed)  # later autoresets continue these seeded generators
    envs.action_space.seed(cfg.seed)
    obs_dim = obs_space.shape[0]
    policy = Policy(obs_dim, act_space, cfg.hidden_size, cfg.init_log_std).to(device)
    value_net = mlp(obs_dim, 1, cfg.hidden_size).to(device)
    # fused: one kernel for all parameters; V's regression 1.6x as fast on CartPole (measured)
    value_opt = torch.optim.Adam(value_net.parameters(), lr=cfg.value_learning_rate, fused=True)
    obs_rms = RunningMeanStd(obs_dim) if cfg.norm_obs else None
    if obs_rms is not None:
        obs_rms.update(obs)
    generator = torch.Generator().manual_seed(cfg.seed)  # the value regression's minibatches
    log = RunLog(cfg, ["update", "global_step"] + STATS)
    global_step, updates = 0, 0
    ep_return, ep_length = np.zeros(cfg.num_envs), np.zeros(cfg.num_envs, dtype=int)
    try:
        while global_step < cfg.total_timesteps:
            left = -(-(cfg.total_timesteps - global_step) // cfg.num_envs)  # steps per env to go
            num_steps = min(cfg.num_steps, max(left, 2 // cfg.num_envs))  # std needs 2 a batch
            batch, obs, raw_obs = collect_rollout(envs, obs, policy, value_net, num_steps,
                                                  act_space, obs_rms, device)
            log_episodes(log, batch["rewards"].cpu().numpy(), batch["episode_end"].cpu().numpy(),
                         global_step, ep_return, ep_length)
            global_step, updates = global_step + num_steps * cfg.num_envs, updates + 1
            if obs_rms is not None:  # new statistics apply from the next rollout on
                obs_rms.update(raw_obs.reshape(-1, obs_dim))
            stats = learn(policy, value_net, value_opt, batch, cfg, generator)
            log.update(global_step, update=updates, global_step=global_step,
                       **{k: f"{stats[k]:.6g}" for k in STATS})
            log.show(global_step, last=global_step >= cfg.total_timesteps)
    finally:  # on Ctrl-C, SIGTERM or an error too: keep what was learned
        log.close(policy=policy.state_dict(), value=value_net.state_dict(),
                  obs_rms=None if obs_rms is None else {
                      "mean": torch.as_tensor(obs_rms.mean), "var": torch.as_tensor(obs_rms.var)})
        envs.close()
    train_time, returns = time.time() - log.start, evaluate((policy, obs_rms), cfg, device)
    return result(cfg, returns, log.dir, global_step=global_step, variant=cfg.algo,
                  train_time_s=round(train_time, 3), sps=round(global_step / train_time, 1))


def evaluate(agent, cfg, device):
    """Returns of cfg.eval_episodes greedy episodes of agent = (policy, obs_rms or None)."""
    (policy, obs_rms), env, returns = agent, make_env(cfg.env_id)[0], []
    for i in range(cfg.eval_episodes):
        obs, _ = env.reset(seed=cfg.seed + 10_000 + i)  # fixed seeds: --eval-only reproduces these
        done, total = False, 0.0
        while not done:
            if obs_rms is not None:
                obs = obs_rms.normalize(obs)
            with torch.no_grad():
                action = policy.act(torch.as_tensor(obs, dtype=torch.float32, device=device)[None],
                                    deterministic=True)[0].cpu().numpy()
            obs, reward, terminated, truncated, _ = env.step(action)
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    env.close()
    return np.array(returns)


def load_agent(cfg, ckpt, obs_space, act_space, device):
    """--eval-only: (policy, obs_rms) as train saved them; a mismatch raises an error."""
    policy = Policy(obs_space.shape[0], act_space, cfg.hidden_size, cfg.init_log_std)
    policy.load_state_dict(ckpt["policy"])
    obs_rms = None if ckpt["obs_rms"] is None else RunningMeanStd(obs_space.shape[0])
    if obs_rms is not None:
        obs_rms.mean, obs_rms.var = (ckpt["obs_rms"][k].numpy() for k in ("mean", "var"))
        if obs_rms.mean.shape != obs_space.shape:
            raise ValueError("observation statistics of another shape")
    return cfg, (policy.to(device), obs_rms)


# === The same in every file below this line (but NAME): flags, envs, logs, checkpoints, main ===
import argparse, csv, dataclasses, inspect, json, os, re, signal, sys, time  # noqa: E401,E402
NAME = "npg_trpo"
SOURCES = {}  # the settings a flag or the env table set: by configure, for main's run only


class ConfigError(Exception):
    """Bad input from the user: reported in one line, exit status 2."""


def check(cfg):  # cfg against LIMITS (rules on x such as "0 < x <= 1"), CHOICES, check_config
    rules = {"seed": "0 <= x < 2**32", **LIMITS, **{k: f"x in {c}" for k, c in CHOICES.items()}}
    for name, rule in rules.items():  # seed: numpy's range; None: set later; eval: our own text
        if (x := getattr(cfg, name)) is not None and not eval(rule, {"x": x, "inf": float("inf")}):
            raise ConfigError(f"--{name.replace('_', '-')} must satisfy {rule}, got {x!r}")
    return check_config(cfg) or cfg  # (check_config raises, or returns None)


def setup(cfg):  # check cfg, seed torch and numpy; returns the device to train on
    if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", check(cfg).device):
        raise ConfigError(f"--device must be auto, cpu, cuda or cuda:N, not {cfg.device!r}")
    auto = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(auto if cfg.device == "auto" else cfg.device)
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        raise ConfigError(f"--device {cfg.device}: {torch.cuda.device_count()} CUDA devices here")
    torch.set_num_threads(1)  # small nets: 1 thread as fast as 2, half the CPU time (measured)
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    return device


def make_env(env_id, num_envs=None, same_step=False, async_envs=False):  # one or num_envs envs
    mode = gym.vector.AutoresetMode["SAME_STEP" if same_step else "NEXT_STEP"]  # of a vector env
    try:
        env = gym.make(env_id) if num_envs is None else gym.make_vec(
            env_id, num_envs=num_envs, vectorization_mode="async" if async_envs else "sync",
            vector_kwargs={"autoreset_mode": mode})
    except (gym.error.Error, ImportError) as e:
        raise ConfigError(f"cannot make env {env_id!r}: {e}") from None
    obs_space = env.single_observation_space if num_envs else env.observation_space
    act_space = env.single_action_space if num_envs else env.action_space
    flat = [isinstance(s, gym.spaces.Box) and len(s.shape) == 1 for s in (obs_space, act_space)]
    if not flat[0] or not (flat[1] or isinstance(act_space, gym.spaces.Discrete)):
        raise ConfigError(f"{env_id}: needs flat Box observations and Discrete or flat Box "
                          f"actions, got {obs_space} and {act_space}")
    if flat[1]:  # Gaussian samples are clipped to the bounds only on their way into the env
        env = (gym.wrappers.vector if num_envs else gym.wrappers).TransformAction(
            env, lambda actions: np.clip(actions, act_space.low, act_space.high), None)
    return env, obs_space, act_space


class RunLog:  # the run dir: config.json, progress.csv, updates.csv, TensorBoard, model.pt
    def __init__(self, cfg, columns=None):
        if cfg.tensorboard:  # no tensorboard package: an ImportError (one line) before any file
            from torch.utils.tensorboard import SummaryWriter
        self.cfg, self.columns, self.start, self.last_print, self.recent = \
            cfg, columns, time.time(), 0.0, []
        self.dir = cfg.run_dir or os.path.join(
            "runs", f"{NAME}__{cfg.env_id.replace('/', '-')}__{cfg.seed}__{int(self.start)}")
        try:
            os.makedirs(self.dir, exist_ok=bool(cfg.run_dir))  # a default dir is not shared
            with open(os.path.join(self.dir, "config.json"), "w") as f:
                json.dump({**dataclasses.asdict(cfg), "settings_from": SOURCES}, f, indent=2)
            self.files = [open(os.path.join(self.dir, name), "w", newline="", buffering=1)
                          for name in ["progress.csv"] + (["updates.csv"] if columns else [])]
        except OSError as e:  # (line-buffered files: each CSV row is on disk once written)
            raise ConfigError(f"--run-dir {self.dir}: {e.strerror or e}") from None
        self.csv = [csv.writer(f) for f in self.files]
        headers = (["global_step", "episode_return", "episode_length", "wall_time_s"], columns)
        for writer, header in zip(self.csv, headers):
            writer.writerow(header)
        self.writer = cfg.tensorboard and SummaryWriter(self.dir)
        if cfg.env_id not in ENV_SETTINGS and not cfg.quiet:  # said once, before any progress
            print(f"{NAME}.py: no tuned settings for {cfg.env_id}: the defaults", file=sys.stderr)
        torch.set_flush_denormal(True)  # till close(): Adam's moments decay into slow denormals

    def episode(self, step, episode_return, length):
        self.recent = (self.recent + [float(episode_return)])[-20:]
        self.csv[0].writerow([step, episode_return, length, round(time.time() - self.start, 3)])
        if self.writer:
            self.writer.add_scalar("charts/episode_return", float(episode_return), step)

    def update(self, step, **values):  # a row of updates.csv: values by column, as given
        self.csv[1].writerow([values.get(c, "") for c in self.columns])
        for k, v in values.items() if self.writer else ():
            self.writer.add_scalar(f"update/{k}", float(v), step)

    def show(self, step, last=False):  # the progress line, every 2 s and at the end (last)
        now, total = time.time(), self.cfg.total_timesteps
        if self.cfg.quiet or (now - self.last_print < 2.0 and not last):
            return
        self.last_print, sps = now, step / max(now - self.start, 1e-9)
        mean = (f"return {np.mean(self.recent):.1f} (mean of the last {len(self.recent)} "
                "episodes)" if self.recent else "no episode finished yet")
        left = f"{max(total - step, 0) / sps:.0f} s left" if sps else "starting"
        at = f"{step}/{total}" if step <= total else f"{step} (budget {total}; whole batches)"
        print(f"step {at} | {mean} | {sps:.0f} steps/s | {left}", file=sys.stderr, flush=True)

    def close(self, **checkpoint):  # close the logs; model.pt: the config and the given state
        torch.set_flush_denormal(False)  # process-wide: the caller's floats as they were
        for f in self.files + ([self.writer] if self.writer else []):
            f.close()
        if checkpoint:  # written to a temporary name, then renamed: never half a file
            path = os.path.join(self.dir, "model.pt")
            torch.save({"algo": NAME, "config": dataclasses.asdict(self.cfg), **checkpoint},
                       path + ".tmp")
            os.replace(path + ".tmp", path)


def result(cfg, returns, run_dir, **extra):  # what train() returns and main() prints last
    mean, std = (float(np.mean(returns)), float(np.std(returns))) if len(returns) else (None,) * 2
    return {"algo": NAME, "env_id": cfg.env_id, "seed": cfg.seed, "total_timesteps":
            cfg.total_timesteps, "eval_return_mean": mean, "eval_return_std": std,
            "train_time_s": None, "sps": None, "run_dir": run_dir, **extra}


def evaluate_checkpoint(given):  # --eval-only: rebuild the agent, evaluate it as at the end
    if not os.path.isfile(path := given.get("checkpoint", "")):
        raise ConfigError(f"no file {path!r}" if path else "--eval-only needs --checkpoint")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # not a file that torch.save wrote
        raise ConfigError(f"{path} is not a checkpoint ({type(e).__name__})") from None
    writer = f"{ckpt.get('algo')}.py" if isinstance(ckpt, dict) else "another program"
    if writer != f"{NAME}.py":
        raise ConfigError(f"{path} was written by {writer}, not {NAME}.py")
    try:
        cfg = dataclasses.replace(Config(**ckpt["config"]), **given)
    except (KeyError, TypeError):
        raise ConfigError(f"{path} was written by another version of {NAME}.py") from None
    device = setup(cfg)
    obs_space, act_space = make_env(cfg.env_id)[1:]  # (the env itself is not needed)
    try:
        cfg, agent = load_agent(cfg, ckpt, obs_space, act_space, device)
    except (RuntimeError, ValueError, KeyError):
        raise ConfigError(f"{path} does not fit {cfg.env_id}'s spaces or these settings") from None
    return result(cfg, evaluate(agent, cfg, device), os.path.dirname(path), eval_only=True)


def parse_args(argv=None):  # {field: value} of the flags given; a field's comment is its help
    lines = [line.partition("#") for line in inspect.getsource(Config).splitlines()]
    comments = {name.split(":")[0].strip(): text.strip() for name, _, text in lines if text}
    parser = argparse.ArgumentParser(prog=f"{NAME}.py", argument_default=argparse.SUPPRESS,
                                     description=__doc__.split("\n")[0],
                                     epilog=f"Tuned settings by --env-id: {ENV_SETTINGS}")
    parser.error = lambda message: parser.exit(2, f"{NAME}.py: error: {message}\n")  # one line
    for f in dataclasses.fields(Config):
        text = comments.get(f.name, "") + ("" if f.default is None else f" [{f.default}]")
        kind = {"action": argparse.BooleanOptionalAction} if f.type is bool else {
            "type": f.type, "choices": CHOICES.get(f.name)}
        parser.add_argument("--" + f.name.replace("_", "-"), help=text, **kind)
    return vars(parser.parse_args(argv))


def configure(given):  # Config: the flags given, over ENV_SETTINGS[--env-id], over the defaults
    table = ENV_SETTINGS.get(given.get("env_id", Config.env_id), {})
    SOURCES.clear()  # then: the settings a flag or the table gave, for the run's config.json
    SOURCES.update({**dict.fromkeys(table, "env table"), **dict.fromkeys(given, "command line")})
    return Config(**{**table, **given})


def main(argv=None):
    given = parse_args(argv)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # a plain kill acts as Ctrl-C:
    try:  # a KeyboardInterrupt, so that train's `finally` saves the model
        out = evaluate_checkpoint(given) if given.get("eval_only") else train(configure(given))
    except (ConfigError, ImportError, MemoryError) as e:  # a missing package; too big a buffer
        print(f"{NAME}.py: error: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print(f"{NAME}.py: interrupted; the model and the logs so far are kept", file=sys.stderr)
        sys.exit(130)
    finally:  # the record was this run's: a later train() from Python gets none
        SOURCES.clear()
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
