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
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch
import torch.nn as nn

CHOICES = {"mode": ("batch", "online")}
LIMITS = {"total_timesteps": "x > 0", "num_envs": "x > 0", "n_steps": "x > 0",
          "learning_rate": "0 < x < inf", "max_grad_norm": "x > 0", "hidden_size": "x > 0",
          "gamma": "0 < x <= 1", "vf_coef": "0 <= x < inf", "ent_coef": "0 <= x < inf",
          "eval_episodes": "x >= 0", "init_log_std": "abs(x) <= 20"}  # exp(20): float32
ENV_SETTINGS = {"CartPole-v1": {}}  # tuned settings per env id, under the flags given: the defaults


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
    vf_coef: float = 0.5  # weight of the critic's squared TD error in the loss (batch mode)
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

def as_tensors(where, **named):  # lists and numpy arrays too; one shape for all of them
    device = next((x.device for x in named.values() if torch.is_tensor(x)), None)
    tensors = [torch.as_tensor(x, device=device) for x in named.values()]  # a tensor: itself
    if len({x.shape for x in tensors}) > 1:  # broadcasting them would give a wrong answer
        shapes = " and ".join(f"{name} {list(x.shape)}" for name, x in zip(named, tensors))
        raise ValueError(f"{where}: {shapes} must have one shape")
    return tensors


def td_targets(rewards, next_values, terminated, gamma):
    """One-step targets y_t = r_t + gamma (1 - terminated_t) V(s_{t+1}), any shape ([T], [T, N]).

    next_values[t] is V of the true next state (the final observation of a truncated
    episode). A terminal state is worth 0, whatever the critic says about it. The three
    arguments have one shape; the result has their promoted dtype.
    """
    rewards, next_values, terminated = as_tensors(
        "td_targets", rewards=rewards, next_values=next_values, terminated=terminated)
    if not 0 <= gamma <= 1:
        raise ValueError(f"td_targets: gamma must be in [0, 1], not {gamma}")
    bootstrap = torch.where(terminated.bool(), torch.zeros_like(next_values), next_values)
    return rewards + gamma * bootstrap


def n_step_returns(rewards, next_values, terminated, episode_end, gamma, n):
    """n-step targets, time-major ([T] or [T, N]):

        y_t = sum_{k<m} gamma^k r_{t+k} + gamma^m (1 - terminated_{t+m-1}) V(s_{t+m}),

    m = min(n, steps to the end of the episode, steps to the end of the rollout).
    episode_end[t] = terminated[t] or truncated[t]: the trajectory stops after step t.
    n = 1 gives `td_targets`; n >= T gives the return, bootstrapped at truncation or rollout end.
    The four arguments have one shape; the result has their promoted dtype (T = 0: empty).
    """
    rewards, next_values, terminated, episode_end = as_tensors(
        "n_step_returns", rewards=rewards, next_values=next_values, terminated=terminated,
        episode_end=episode_end)
    if rewards.dim() == 0 or not 0 <= gamma <= 1 or not n >= 1:
        raise ValueError(f"n_step_returns: want rewards [T] or [T, N], gamma in [0, 1], n >= 1; "
                         f"got {list(rewards.shape)}, {gamma}, {n}")
    if (terminated.bool() & ~episode_end.bool()).any():  # e.g. truncated passed as episode_end
        raise ValueError("n_step_returns: episode_end must be true wherever terminated is")
    T = rewards.shape[0]
    rewards = rewards.to(torch.promote_types(torch.result_type(rewards, 1.0), next_values.dtype))
    terminated, episode_end = terminated.bool(), episode_end.bool()
    bootstrap = torch.where(terminated, torch.zeros_like(next_values), next_values)
    if n >= T:  # no window closes by length: the return, backwards (A2C's n = T: half the time)
        # y_t = r_t + gamma V(s_{t+1}) where t's window closes (its episode ends, or the rollout
        # at T - 1), else r_t + gamma y_{t+1}: one row at a time, stacked once at the end
        closed = (rewards + gamma * bootstrap).unbind()
        r, ends, returns = rewards.unbind(), episode_end.unbind(), list(closed[-1:])  # y_{T-1}
        for t in reversed(range(T - 1)):
            returns.insert(0, torch.where(ends[t], closed[t], r[t] + gamma * returns[0]))
        return torch.stack(returns) if T else rewards.clone()  # (T = 0: empty)

    closes_at = episode_end.clone()
    closes_at[-1:] = True  # the rollout's end cuts every window that reaches it
    returns = torch.zeros_like(rewards)
    # n < T: a window closes after n steps too. still_open [T - k]: y_t's window runs at step t+k
    goes_on, still_open = ~closes_at, torch.ones_like(episode_end)
    for k in range(n):
        # rows t < T - k, whose step t+k is in the rollout (every later window has closed)
        y = returns[:T - k]
        y += torch.where(still_open, gamma**k * rewards[k:], 0.0)
        closing = still_open if k == n - 1 else still_open & closes_at[k:]  # n steps: all close
        # the window closes after step t+k: add gamma^(k+1) V(s_{t+k+1}), 0 if terminal
        y += torch.where(closing, gamma ** (k + 1) * bootstrap[k:], 0.0)
        still_open = still_open[:-1] & goes_on[k:-1]  # a new mask: where() saved the old one
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

    def forward(self, obs, actions):
        """(log pi(a|s), entropy of pi(.|s), V(s)) for observations [..., obs_dim]: [...] each."""
        features = self.trunk(obs)
        if self.discrete:  # Categorical(logits)'s numbers, without building the object
            log_pi = self.log_pi(features)
            log_probs = log_pi.gather(-1, actions.unsqueeze(-1)).squeeze(-1)
            entropy = -(log_pi * log_pi.softmax(-1)).sum(-1)  # H = -sum_a pi(a|s) log pi(a|s)
        else:
            dist = self.gaussian(features)
            log_probs, entropy = dist.log_prob(actions), dist.entropy()
        return log_probs, entropy, self.value_net(features).squeeze(-1)

    def log_pi(self, features):  # log pi(.|s) over Discrete actions, normalised as Categorical does
        logits = self.policy_net(features)
        return logits - logits.logsumexp(-1, keepdim=True)  # (log_softmax rounds otherwise)

    def gaussian(self, features):  # pi(.|s) over Box actions
        # validate_args=False: the checks cost more than the networks at batch size 1 (online)
        return torch.distributions.Independent(torch.distributions.Normal(
            self.policy_net(features), self.log_std.exp(), validate_args=False), 1,
            validate_args=False)

    def value(self, obs):
        return self.value_net(self.trunk(obs)).squeeze(-1)

    def act(self, obs, deterministic=False):
        features = self.trunk(obs)  # acting needs no V(s): a third of the forward pass
        if self.discrete:  # a ~ softmax(logits), without Categorical's object and logsumexp: a
            # cost at every env step, and the probabilities the same up to rounding
            logits = self.policy_net(features)
            if deterministic:
                return logits.argmax(-1)
            return torch.multinomial(logits.softmax(-1), 1).squeeze(-1)
        dist = self.gaussian(features)
        return dist.mean if deterministic else dist.sample()


def actor_critic_losses(agent, obs, actions, rewards, next_obs, terminated, episode_end,
                        gamma, n):
    """(policy_loss, value_loss, entropy) of a [T, N] batch of transitions.

    The targets y_t are n-step returns whose V(s_{t+m}) is computed with the critic's current
    parameters held fixed: value_loss = mean (y_t - V_w(s_t))^2 / 2 has the semi-gradient
    -(y_t - V_w(s_t)) grad V_w(s_t). The advantage y_t - V_w(s_t) is a constant to the actor.
    """
    log_probs, entropy, values = agent(obs, actions)  # [T, N] each
    # fixed parameters: no gradient flows into the targets (inference mode: faster than no_grad)
    with torch.inference_mode():
        targets = n_step_returns(rewards, agent.value(next_obs), terminated, episode_end, gamma, n)
    advantages = (targets - values).detach()  # A_t ~ y_t - V_w(s_t)
    policy_loss = -(log_probs * advantages).mean()  # grad log pi(a_t|s_t) A_t
    value_loss = 0.5 * ((targets - values) ** 2).mean()
    return policy_loss, value_loss, entropy.mean()


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
    T, N, obs_dim = n_steps, *obs.shape
    action_dtype = np.int64 if agent.discrete else np.float32  # as agent.act returns them
    batch = {"obs": np.empty((T, N, obs_dim), np.float32),
             "actions": np.empty((T, N, *act_space.shape), action_dtype),
             "rewards": np.empty((T, N), np.float32),
             "next_obs": np.empty((T, N, obs_dim), np.float32),
             "terminated": np.empty((T, N), bool), "episode_end": np.empty((T, N), bool)}
    for t in range(T):
        with torch.inference_mode():  # no graph, no version counters: faster than no_grad
            actions = agent.act(torch.as_tensor(obs, dtype=torch.float32, device=device))
        actions = actions.cpu().numpy()
        next_obs, rewards, terminated, truncated, info = envs.step(actions)
        batch["obs"][t], batch["actions"][t], batch["rewards"][t] = obs, actions, rewards
        batch["next_obs"][t] = next_obs
        for i in np.flatnonzero(info.get("_final_obs", ())):
            batch["next_obs"][t, i] = info["final_obs"][i]
        batch["terminated"][t], batch["episode_end"][t] = terminated, terminated | truncated
        obs = next_obs
    return {k: torch.as_tensor(v, device=device) for k, v in batch.items()}, obs


def gradient_step(agent, opt, loss, max_grad_norm=float("inf")):
    opt.zero_grad()
    loss.backward()
    params = opt.param_groups[0]["params"]  # the agent's: a list, no walk over its modules
    grad_norm = nn.utils.clip_grad_norm_(params, max_grad_norm)
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
    loss = policy_loss + cfg.vf_coef * value_loss
    if cfg.ent_coef:  # (a zero coefficient's term would only add a backward pass of zeros)
        loss = loss - cfg.ent_coef * entropy
    grad_norm = gradient_step(agent, opt, loss, cfg.max_grad_norm)
    return {"policy_loss": policy_loss.item(), "value_loss": value_loss.item(),
            "entropy": entropy.item(), "grad_norm": grad_norm}


STATS = ("policy_loss", "value_loss", "entropy", "grad_norm")


def train(cfg):
    """Train an actor-critic; return the result dict printed as the last stdout line."""
    device = setup(cfg)
    online = cfg.mode == "online"  # online: a [T, N] = [1, 1] rollout per update
    n_envs, n_steps = (1, 1) if online else (cfg.num_envs, cfg.n_steps)
    envs, obs_space, act_space = make_env(cfg.env_id, n_envs, same_step=True)
    obs, _ = envs.reset(seed=cfg.seed)  # later resets continue these seeded generators
    envs.action_space.seed(cfg.seed)
    agent = ActorCritic(obs_space.shape[0], act_space, cfg.hidden_size, cfg.shared_trunk,
                        cfg.init_log_std).to(device)
    # fused: one kernel for all parameters, 3x faster steps on these small nets (72 us, not 215)
    opt = torch.optim.Adam(agent.parameters(), lr=cfg.learning_rate, eps=1e-5, fused=True)
    ep_return, ep_length = np.zeros(n_envs), np.zeros(n_envs, dtype=int)
    global_step, update, stats, last_row = 0, 0, [], 0
    log = RunLog(cfg, ["updates", "global_step", *STATS])  # the run dir, once the env is made
    try:
        while global_step < cfg.total_timesteps:
            batch, obs = collect_rollout(envs, act_space, agent, obs, n_steps, device)
            values = (online_update if online else batch_update)(agent, opt, batch, cfg)
            update += 1
            stats.append([values[k] for k in STATS])
            rewards, ends = batch["rewards"].cpu().numpy(), batch["episode_end"].cpu().numpy()
            for t in range(rewards.shape[0]):
                global_step += n_envs
                ep_return += rewards[t]
                ep_length += 1
                for i in np.flatnonzero(ends[t]):
                    log.episode(global_step, float(ep_return[i]), int(ep_length[i]))
                    ep_return[i], ep_length[i] = 0.0, 0
            done = global_step >= cfg.total_timesteps
            # one row per 1000 env steps, averaged over its updates (online mode updates every step)
            if global_step - last_row >= 1000 or done:
                log.update(global_step, updates=update, global_step=global_step,
                           **{k: f"{m:.6g}" for k, m in zip(STATS, np.mean(stats, 0))})
                stats, last_row = [], global_step
            log.show(global_step, last=done)
    finally:  # on Ctrl-C or an error too: keep what was learned
        log.close(agent=agent.state_dict())
        envs.close()
    train_time = time.time() - log.start
    return result(cfg, evaluate(agent, cfg, device), log.dir, mode=cfg.mode,
                  shared_trunk=cfg.shared_trunk, global_step=global_step,
                  train_time_s=round(train_time, 3), sps=round(global_step / train_time, 1))


def evaluate(agent, cfg, device):
    """Returns of cfg.eval_episodes deterministic episodes (argmax or mean action)."""
    env, _, act_space = make_env(cfg.env_id)
    returns = []
    for i in range(cfg.eval_episodes):
        obs, _ = env.reset(seed=cfg.seed + 10_000 + i)  # fixed seeds: --eval-only reproduces these
        done, total = False, 0.0
        while not done:
            with torch.no_grad():
                action = agent.act(torch.as_tensor(obs, dtype=torch.float32, device=device)[None],
                                   deterministic=True)[0].cpu().numpy()
            obs, reward, terminated, truncated, _ = env.step(action)
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    env.close()
    return np.array(returns)


def load_agent(cfg, ckpt, obs_space, act_space, device):
    """The agent of a checkpoint; another env's spaces or trunk layout raise a RuntimeError."""
    agent = ActorCritic(obs_space.shape[0], act_space, cfg.hidden_size, cfg.shared_trunk,
                        cfg.init_log_std)
    agent.load_state_dict(ckpt["agent"])
    return cfg, agent.to(device)


def check_config(cfg):  # LIMITS and CHOICES say it all
    pass


# === The same in every file below this line (but NAME): flags, envs, logs, checkpoints, main ===
import argparse, csv, dataclasses, inspect, json, os, re, signal, sys, time  # noqa: E401,E402
NAME = "actor_critic"
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
