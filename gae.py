"""Policy gradient with Generalized Advantage Estimation (Schulman et al., 2016, ICLR).

The policy gradient grad J = E[ sum_t grad log pi_theta(a_t|s_t) A_t ] needs an advantage
estimate A_t. The n-step advantages trade bias for variance,

    A^(n)_t = sum_{k<n} gamma^k r_{t+k} + gamma^n V(s_{t+n}) - V(s_t)
            = sum_{l<n} gamma^l delta_{t+l},   delta_t = r_t + gamma V(s_{t+1}) - V(s_t):

a short n leans on the (biased) critic, a long n on the (noisy) sampled rewards. GAE takes
their exponentially weighted average, computed backwards in one pass:

    A^GAE_t = (1 - lam) (A^(1)_t + lam A^(2)_t + lam^2 A^(3)_t + ...)
            = sum_l (gamma lam)^l delta_{t+l} = delta_t + gamma lam A^GAE_{t+1}.

lam = 0 is the one-step actor-critic (A2C) advantage delta_t; lam = 1 is the Monte Carlo return
minus V(s_t), unbiased whatever V is on whole episodes (one cut short ends in V); with the true V
every lam is unbiased. V is fitted to the lambda-returns A^GAE_t + V(s_t). A terminated episode
has V(s_{t+1}) = 0; a truncated one (time limit) is bootstrapped with V(final observation), and
so is the cut at a rollout's end. As in the paper, the update drops the gamma^t weight of the
discounted gradient: gamma acts as a variance-reduction parameter of an estimate of the
undiscounted objective's gradient.

Envs are gymnasium vector envs with the default NEXT_STEP autoreset: the step after an episode
ends only resets that env (action ignored, reward 0) and is masked out of every batch.

Usage:
    python gae.py                                                  # CartPole-v1, lam = 0.95
    python gae.py --env-id Pendulum-v1         # 1M steps with its tuned settings (ENV_SETTINGS)
    python gae.py --eval-only --checkpoint runs/<run>/model.pt --eval-episodes 20
"""
import math
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch
import torch.nn as nn


ENV_SETTINGS = {  # tuned settings by env id, under the flags given (--help lists them)
    "CartPole-v1": {},  # the defaults
    "Pendulum-v1": dict(total_timesteps=1_000_000, norm_obs=True, gamma=0.9, num_steps=8,
                        learning_rate=1e-3, value_epochs=3, value_minibatches=1, anneal_lr=True)}


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


# Each flag's range as a rule on its value x, refused in one line before anything runs; no flag
# here is limited to a fixed set of choices.
CHOICES = {}
LIMITS = {"total_timesteps": "x > 0", "num_envs": "x > 0", "num_steps": "x > 0",
          "learning_rate": "0 < x < inf", "value_learning_rate": "0 < x < inf",
          "value_minibatches": "x > 0", "hidden_size": "x > 0", "max_grad_norm": "x > 0",
          "gamma": "0 < x <= 1", "gae_lambda": "0 <= x <= 1", "ent_coef": "0 <= x < inf",
          "value_epochs": "x >= 0", "eval_episodes": "x >= 0", "init_log_std": "abs(x) <= 20"}


# ---------------------------------------------------------------------------------------------
# The public API: a pure function of tensors. No env, no global state, no randomness.
# ---------------------------------------------------------------------------------------------

def as_tensors(where, **named):  # lists and numpy arrays too; one shape for all of them
    device = next((x.device for x in named.values() if torch.is_tensor(x)), None)
    tensors = [torch.as_tensor(x, device=device) for x in named.values()]  # a tensor: itself
    if len({x.shape for x in tensors}) > 1:  # broadcasting them would give a wrong answer
        shapes = " and ".join(f"{name} {list(x.shape)}" for name, x in zip(named, tensors))
        raise ValueError(f"{where}: {shapes} must have one shape")
    return tensors


def compute_gae(rewards, values, next_values, terminated, episode_end, gamma, lam):
    """Generalized advantage estimates and lambda-returns, time-major ([T] or [T, N]).

    rewards: r_t. values: V(s_t). next_values: V(s_{t+1}) of the true next state (the final
    observation when the episode ended at t). terminated: s_{t+1} is terminal, so it is not
    bootstrapped. episode_end: terminated or truncated, the recursion stops after step t.
    The rollout's last step is bootstrapped with next_values[T-1] unless it terminated.
    The five arguments have one shape, T >= 1. Returns (advantages, returns) with returns =
    advantages + values, in the inputs' promoted dtype, on their device.
    """
    rewards, values, next_values, terminated, episode_end = as_tensors(
        "compute_gae", rewards=rewards, values=values, next_values=next_values,
        terminated=terminated, episode_end=episode_end)
    if rewards.dim() == 0 or len(rewards) == 0 or not (0 <= gamma <= 1 and 0 <= lam <= 1):
        raise ValueError(f"compute_gae: want rewards [T] or [T, N] with T >= 1, gamma and lam in "
                         f"[0, 1]; got {list(rewards.shape)}, {gamma}, {lam}")
    if (terminated.bool() & ~episode_end.bool()).any():  # e.g. truncated passed as episode_end
        raise ValueError("compute_gae: episode_end must be true wherever terminated is")
    not_terminal = 1.0 - terminated.to(next_values.dtype)
    deltas = rewards + gamma * not_terminal * next_values - values  # delta_t
    decay = gamma * lam * (1.0 - episode_end.to(deltas.dtype))  # 0 where the episode ended
    running = torch.zeros_like(deltas[0])
    advantages = []
    for t in reversed(range(deltas.shape[0])):  # A_t = delta_t + gamma lam A_{t+1}, backwards
        running = deltas[t] + decay[t] * running
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
        # validate_args=False: the checks cost a quarter of each env step and change no number
        if self.discrete:
            return torch.distributions.Categorical(logits=self.net(obs), validate_args=False)
        return torch.distributions.Independent(torch.distributions.Normal(
            self.net(obs), self.log_std.exp(), validate_args=False), 1, validate_args=False)

    def act(self, obs, deterministic=False):
        if self.discrete and not deterministic:  # a ~ softmax(logits), without Categorical's
            # object and logsumexp: a cost at every env step, and the probabilities the same
            return torch.multinomial(self.net(obs).softmax(-1), 1).squeeze(-1)  # up to rounding
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
# Training
# ---------------------------------------------------------------------------------------------

def collect_rollout(envs, policy, value_net, normalize, state, num_steps, device):
    """T steps of the N envs, time-major. `state` (obs, resetting, episode sums) carries over
    from one rollout to the next and is updated in place. Returns the batch and the finished
    episodes as (valid steps into this rollout, return, length)."""
    raw_obs, actions, rewards, terminated, episode_end, valid = [], [], [], [], [], []
    episodes, steps = [], 0
    for _ in range(num_steps):
        raw_obs.append(torch.as_tensor(state["obs"], dtype=torch.float32, device=device))
        with torch.no_grad():
            action = policy.act(normalize(raw_obs[-1]))
        next_obs, reward, term, trunc, _ = envs.step(action.cpu().numpy())
        # NEXT_STEP autoreset: a step taken right after an episode ended only resets the env;
        # it is masked out, so no transition spans two episodes. When an episode ends at t,
        # next_obs is its true final observation, fed to V as obs of step t+1.
        real = ~state["resetting"]
        for lst, x in ((actions, action), (rewards, reward), (terminated, term),
                       (episode_end, term | trunc), (valid, real)):
            lst.append(x)  # numpy arrays (the action a tensor): one conversion at the end
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
    stack = lambda xs: torch.as_tensor(np.stack(xs), device=device)
    batch = {"obs": all_obs[:-1], "raw_obs": torch.stack(raw_obs[:-1]),
             "actions": torch.stack(actions),
             "rewards": stack(rewards).float(), "terminated": stack(terminated),
             "episode_end": stack(episode_end), "valid": stack(valid),
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
        order = torch.randperm(obs.shape[0], generator=generator).to(obs.device)
        for o, y in zip(obs[order].split(size), returns[order].split(size)):  # shuffled, in parts
            value_loss = ((value_net(o).squeeze(-1) - y) ** 2).mean()
            value_opt.zero_grad()
            value_loss.backward()
            value_opt.step()
    residual = returns - batch["values"][valid]  # how much of the targets V already explained
    explained = 1 - residual.var(correction=0) / returns.var(correction=0).clamp_min(1e-8)
    return {"policy_loss": policy_loss.item(), "value_loss": value_loss.item(),
            "entropy": entropy.item(), "grad_norm": grad_norm.item(),
            "explained_variance": explained.item()}


STATS = ["policy_loss", "value_loss", "entropy", "grad_norm", "explained_variance",
         "learning_rate"]


def train(cfg):
    """Train a policy with GAE advantages; return the result dict printed as the last line."""
    device = setup(cfg)
    generator = torch.Generator().manual_seed(cfg.seed)  # V's minibatch order
    envs, obs_space, act_space = make_env(cfg.env_id, cfg.num_envs)
    first_obs, _ = envs.reset(seed=cfg.seed)  # later resets continue these seeded generators
    envs.action_space.seed(cfg.seed)
    obs_dim = obs_space.shape[0]
    policy = Policy(obs_dim, act_space, cfg.hidden_size, cfg.init_log_std).to(device)
    value_net = mlp(obs_dim, 1, cfg.hidden_size).to(device)
    obs_norm = ObsNorm(obs_dim).to(device)
    # fused: one kernel for all parameters, 3x faster steps on these small nets (49 us, not 141
    # for V's); V's regression makes 20 steps an update at the defaults
    opt = torch.optim.Adam(policy.parameters(), lr=cfg.learning_rate, fused=True)
    value_opt = torch.optim.Adam(value_net.parameters(), lr=cfg.value_learning_rate, fused=True)
    state = {"obs": first_obs, "resetting": np.zeros(cfg.num_envs, dtype=bool),
             "ep_return": np.zeros(cfg.num_envs), "ep_length": np.zeros(cfg.num_envs, dtype=int)}
    normalize = obs_norm if cfg.norm_obs else nn.Identity()
    if cfg.norm_obs:
        obs_norm.update(torch.as_tensor(first_obs, device=device))

    log = RunLog(cfg, ["update", "global_step"] + STATS)
    global_step, update_index = 0, 0
    try:
        while global_step < cfg.total_timesteps:
            # the last rollout is shortened so that training stops near total_timesteps
            num_steps = min(cfg.num_steps,
                            math.ceil((cfg.total_timesteps - global_step) / cfg.num_envs))
            batch, episodes = collect_rollout(envs, policy, value_net, normalize, state,
                                              num_steps, device)
            for steps, ep_return, ep_length in episodes:
                log.episode(global_step + steps, ep_return, ep_length)
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
            log.update(global_step, update=update_index, global_step=global_step,
                       **{k: f"{v:.6g}" for k, v in stats.items()})
            log.show(global_step, last=global_step >= cfg.total_timesteps)
    finally:  # on Ctrl-C, a kill or an error too: keep what was learned
        envs.close()
        log.close(policy=policy.state_dict(), value=value_net.state_dict(),
                  obs_norm=obs_norm.state_dict())
    train_time = time.time() - log.start
    returns = evaluate((policy, normalize), cfg, device)
    return result(cfg, returns, log.dir, gae_lambda=cfg.gae_lambda, global_step=global_step,
                  train_time_s=round(train_time, 3), sps=round(global_step / train_time, 1))


def evaluate(agent, cfg, device):
    """Returns of cfg.eval_episodes deterministic episodes (argmax or mean action). agent:
    (policy, normalize), normalize the run's ObsNorm or nn.Identity() without --norm-obs."""
    policy, normalize = agent
    env, _, act_space = make_env(cfg.env_id)
    returns = []
    for i in range(cfg.eval_episodes):
        obs, _ = env.reset(seed=cfg.seed + 10_000 + i)  # fixed seeds: --eval-only repeats these
        done, total = False, 0.0
        while not done:
            obs = torch.as_tensor(obs, dtype=torch.float32, device=device)[None]
            with torch.no_grad():
                action = policy.act(normalize(obs), deterministic=True)
            obs, reward, terminated, truncated, _ = env.step(action[0].cpu().numpy())
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    env.close()
    return np.array(returns)


def load_agent(cfg, ckpt, obs_space, act_space, device):
    """--eval-only: the policy and the observation statistics that the run saved."""
    policy = Policy(obs_space.shape[0], act_space, cfg.hidden_size, cfg.init_log_std)
    obs_norm = ObsNorm(obs_space.shape[0])
    policy.load_state_dict(ckpt["policy"])
    obs_norm.load_state_dict(ckpt["obs_norm"])
    trained_with = ckpt["config"]["norm_obs"]  # not a --no-norm-obs given now: the policy's input
    return cfg, (policy.to(device), obs_norm.to(device) if trained_with else nn.Identity())


def check_config(cfg):
    """No rule here spans two fields: LIMITS says them all."""


# === The same in every file below this line (but NAME): flags, envs, logs, checkpoints, main ===
import argparse, csv, dataclasses, inspect, json, os, re, signal, sys, time  # noqa: E401,E402
NAME = "gae"
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
