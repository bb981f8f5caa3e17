"""DQN (Mnih et al., 2013/2015) and DDPG, the deep deterministic policy gradient (2016).

Q-learning is off-policy: any transition (s, a, r, s') says something about Q*(s, a). DQN fits a
network Q_phi to the targets y = r + gamma (1 - terminated) max_a' Q_phi-(s', a') on minibatches
from a replay buffer, with the target network phi- copied from phi every C steps (or Polyak-
averaged, --tau) so that the regression target does not move with every step; Huber loss,
epsilon-greedy exploration with a linearly decaying epsilon. Extensions: double DQN (van Hasselt
et al., 2016) picks a' = argmax Q_phi(s', .) and values it with Q_phi-, removing the max's
overestimation; the dueling head (Wang et al., 2016) Q = V(s) + A(s, a) - mean_a A(s, a);
proportional prioritized replay (Schaul et al., 2016) samples P(i) ~ (|delta_i| + eps)^alpha from
a sum tree and corrects the bias with weights (N P(i))^-beta, beta annealed to 1.
For continuous actions, DDPG (Lillicrap et al., 2016) learns the maximiser mu_theta(s) ~
argmax_a Q_phi(s, a) by ascending Q_phi(s, mu_theta(s)), whose gradient is the chain rule
dQ/da * dmu/dtheta (the deterministic policy gradient), with target networks for both and
Gaussian (or Ornstein-Uhlenbeck) exploration noise.

A time-limit truncation is not a terminal state: its transition is stored with terminated=False
and the true final observation, so its target bootstraps. Envs are a gymnasium vector env in its
default NEXT_STEP autoreset mode; the reset step after an episode's end is never stored.
Defaults shown as [dqn | ddpg] in Config are RL Zoo's tuned CartPole-v1 and Pendulum-v1 ones.

Usage:
    python dqn_ddpg.py                                         # DQN on CartPole-v1, 50k steps
    python dqn_ddpg.py --double --dueling --prioritized --seed 2
    python dqn_ddpg.py --env-id Pendulum-v1                    # DDPG, 20k steps
    python dqn_ddpg.py --eval-only --checkpoint runs/<run>/model.pt --eval-episodes 20
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
import torch.nn.functional as F
from torch.func import functional_call

CHOICES = {"algo": ("auto", "dqn", "ddpg"), "noise": ("normal", "ou")}
ALGO_DEFAULTS = {  # fields left at None take these, once the algorithm is known
    "dqn": dict(total_timesteps=50_000, learning_rate=2.3e-3, gamma=0.99, batch_size=64,
                learning_starts=1000, train_freq=256, gradient_steps=128, tau=1.0,
                target_update_interval=10, net_arch="256,256"),
    "ddpg": dict(total_timesteps=20_000, learning_rate=1e-3, gamma=0.98, batch_size=256,
                 learning_starts=10_000, train_freq=1, gradient_steps=1, tau=0.005,
                 target_update_interval=1, net_arch="400,300"),
}


@dataclass
class Config:
    env_id: str = "CartPole-v1"  # gymnasium id: flat Box observations, Discrete or Box actions
    algo: str = "auto"  # auto (dqn for Discrete actions, ddpg for Box), dqn or ddpg
    total_timesteps: int = None  # env steps to train for, all envs together [50000 | 20000]
    seed: int = 1  # seeds torch, numpy, the envs, their action spaces and the replay sampling
    device: str = "auto"  # auto, cpu, cuda or cuda:N
    num_envs: int = 1  # synchronous envs stepping together
    learning_rate: float = None  # Adam step size, of Q (dqn) or of actor and critic [2.3e-3 | 1e-3]
    gamma: float = None  # discount factor [0.99 | 0.98]
    buffer_size: int = 100_000  # replay capacity in transitions; the oldest are overwritten
    batch_size: int = None  # transitions per gradient step [64 | 256]
    learning_starts: int = None  # env steps of random actions before learning [1000 | 10000]
    train_freq: int = None  # env steps between training rounds [256 | 1]
    gradient_steps: int = None  # gradient steps per training round [128 | 1]
    tau: float = None  # target update phi- <- tau phi + (1 - tau) phi-; 1 copies [1.0 | 0.005]
    target_update_interval: int = None  # env steps between target updates (dqn) [10 | 1]
    net_arch: str = None  # hidden layer widths, comma-separated ["256,256" | "400,300"]
    exploration_fraction: float = 0.16  # dqn: share of training over which epsilon decays
    exploration_initial_eps: float = 1.0  # dqn: epsilon at the start
    exploration_final_eps: float = 0.04  # dqn: epsilon after the decay
    max_grad_norm: float = 10.0  # dqn: clip the gradient's norm to this
    double: bool = False  # dqn: double DQN targets
    dueling: bool = False  # dqn: dueling head V(s) + A(s, a) - mean_a A(s, a)
    prioritized: bool = False  # proportional prioritized replay instead of uniform
    per_alpha: float = 0.6  # priority exponent: P(i) ~ p_i^alpha
    per_beta: float = 0.4  # initial importance-weight exponent, annealed linearly to 1
    per_eps: float = 1e-6  # p_i = |delta_i| + eps keeps every transition sampleable
    noise: str = "normal"  # ddpg exploration noise: normal (Gaussian) or ou (Ornstein-Uhlenbeck)
    noise_std: float = 0.1  # ddpg: noise scale, as a fraction of half the action range
    ou_theta: float = 0.15  # ddpg: mean reversion of the OU noise per step
    eval_episodes: int = 10  # deterministic (greedy / mu(s)) evaluation episodes at the end
    run_dir: str = ""  # default runs/<dqn|ddpg>__<env>__<seed>__<unix time>
    checkpoint: str = ""  # model.pt to load with --eval-only
    eval_only: bool = False  # load --checkpoint and only evaluate it
    save_buffer: bool = False  # also store the replay buffer in model.pt
    tensorboard: bool = False  # also write TensorBoard events
    quiet: bool = False  # no progress lines


# --- The public API: pure functions. No env, no global state, no randomness. ---------------------

def dqn_targets(rewards, next_q_target, terminated, gamma, next_q_online=None):
    """y = r + gamma (1 - terminated) max_a Q_target(s', a), detached (a semi-gradient target).

    rewards, terminated: [B] or [T, N]; next_q_target, next_q_online: the same plus [..., A].
    With next_q_online (double DQN), the max becomes Q_target(s', argmax_a Q_online(s', a)).
    """
    if next_q_online is None:
        next_q = next_q_target.max(-1).values
    else:
        best = next_q_online.argmax(-1, keepdim=True)  # chosen by the online network,
        next_q = next_q_target.gather(-1, best).squeeze(-1)  # valued by the target network
    not_terminal = 1.0 - terminated.to(rewards.dtype)  # a terminal s' has value 0: no bootstrap
    return (rewards + gamma * not_terminal * next_q.to(rewards.dtype)).detach()


@torch.no_grad()
def soft_update(target, source, tau):
    """target <- tau source + (1 - tau) target, in place, parameter by parameter; tau=1 copies."""
    for t, s in zip(target.parameters(), source.parameters(), strict=True):
        t.mul_(1.0 - tau).add_(tau * s)  # two roundings, no fused multiply-add


def ddpg_actor_loss(critic, actor, obs):
    """-mean_s Q(s, mu(s)). Its gradient wrt the actor is the deterministic policy gradient
    -mean dQ/da|_{a=mu(s)} dmu/dtheta; the critic's parameters enter as constants, so the
    backward pass leaves no gradient in the critic."""
    params = {name: p.detach() for name, p in critic.named_parameters()}
    return -functional_call(critic, params, (obs, actor(obs))).mean()


def linear_schedule(start, end, duration, progress):
    """start -> end linearly while progress (the fraction of training done) goes 0 -> duration."""
    return start + min(progress / duration, 1.0) * (end - start) if duration > 0 else end


# --- Replay: a ring buffer, and a sum tree for prioritized sampling ------------------------------

class SumTree:
    """Leaves hold priorities, every inner node the sum of its two children (node 1 the root,
    node i's children 2i and 2i+1): proportional sampling and updates in O(log n)."""

    def __init__(self, capacity):
        self.n_leaves = 1 << max(capacity - 1, 0).bit_length()  # a power of two: one depth
        self.nodes = np.zeros(2 * self.n_leaves)

    @property
    def total(self):
        return self.nodes[1]

    def priorities(self, idx):
        return self.nodes[np.asarray(idx) + self.n_leaves]

    def update(self, idx, priorities):
        nodes = np.asarray(idx) + self.n_leaves
        self.nodes[nodes] = priorities
        while nodes[0] > 1:  # parents recomputed from their children, not incremented: no drift
            nodes = np.unique(nodes // 2)
            self.nodes[nodes] = self.nodes[2 * nodes] + self.nodes[2 * nodes + 1]

    def find(self, prefix):
        """For each prefix in [0, total): the leaf i with sum(p[:i]) <= prefix < sum(p[:i+1])."""
        node = np.ones(len(prefix), dtype=np.int64)
        while node[0] < self.n_leaves:
            left = self.nodes[2 * node]
            # never step into an empty subtree, which round-off could otherwise reach
            right = (prefix >= left) & (self.nodes[2 * node + 1] > 0)
            prefix = np.where(right, prefix - left, prefix)
            node = 2 * node + right
        return node - self.n_leaves


class ReplayBuffer:
    """Preallocated ring of transitions (s, a, r, s', terminated). s' is the true next state, the
    final observation when the episode was truncated; `terminated` alone decides bootstrapping."""
    FIELDS = ("obs", "actions", "rewards", "next_obs", "terminated")

    def __init__(self, capacity, obs_dim, action_shape, action_dtype, seed, prioritized=False,
                 alpha=0.6, eps=1e-6):
        self.obs = np.zeros((capacity, obs_dim), np.float32)
        self.actions = np.zeros((capacity, *action_shape), action_dtype)
        self.rewards = np.zeros(capacity, np.float32)
        self.next_obs = np.zeros((capacity, obs_dim), np.float32)
        self.terminated = np.zeros(capacity, bool)
        self.capacity, self.pos, self.size = capacity, 0, 0
        self.rng = np.random.default_rng(seed)
        self.tree = SumTree(capacity) if prioritized else None
        self.alpha, self.eps, self.max_priority = alpha, eps, 1.0

    def add(self, obs, actions, rewards, next_obs, terminated):
        idx = (self.pos + np.arange(len(rewards))) % self.capacity  # overwrites the oldest
        for name, value in zip(self.FIELDS, (obs, actions, rewards, next_obs, terminated)):
            getattr(self, name)[idx] = value
        self.pos = (self.pos + len(rewards)) % self.capacity
        self.size = min(self.size + len(rewards), self.capacity)
        if self.tree is not None and len(idx):
            self.tree.update(idx, self.max_priority)  # new transitions: sampled at least once

    def sample(self, batch_size, beta=1.0):
        """(indices, batch of numpy arrays, importance weights), from the filled slots only."""
        if self.tree is None:
            idx = self.rng.integers(0, self.size, batch_size)
            weights = np.ones(batch_size, np.float32)
        else:  # stratified: one uniform draw in each of batch_size equal slices of the mass
            segment = self.tree.total / batch_size
            idx = self.tree.find((np.arange(batch_size) + self.rng.random(batch_size)) * segment)
            probs = self.tree.priorities(idx) / self.tree.total  # P(i) = p_i^a / sum_k p_k^a
            weights = (self.size * probs) ** -beta  # w_i = (N P(i))^-beta, corrects the bias
            # normalised by the batch's largest weight: importance weights only shrink steps
            weights = (weights / weights.max()).astype(np.float32)
        batch = {name: getattr(self, name)[idx] for name in self.FIELDS}
        return idx, batch, weights

    def update_priorities(self, idx, td_errors):
        priorities = (np.abs(td_errors) + self.eps) ** self.alpha  # p_i^alpha
        self.tree.update(idx, priorities)
        self.max_priority = max(self.max_priority, float(priorities.max()))


# --- Networks ------------------------------------------------------------------------------------

def mlp(in_dim, out_dim, hidden):
    layers, width = [], in_dim
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        width = h
    return nn.Sequential(*layers, nn.Linear(width, out_dim))


class QNetwork(nn.Module):
    """Q_phi(s, .) for every discrete action; dueling: V(s) + A(s, a) - mean_a A(s, a)."""

    def __init__(self, obs_dim, n_actions, hidden, dueling=False):
        super().__init__()
        self.dueling = dueling
        if dueling:
            self.trunk = mlp(obs_dim, hidden[-1], hidden[:-1])
            self.value, self.advantage = nn.Linear(hidden[-1], 1), nn.Linear(hidden[-1], n_actions)
        else:
            self.net = mlp(obs_dim, n_actions, hidden)

    def forward(self, obs):
        if not self.dueling:
            return self.net(obs)
        features = F.relu(self.trunk(obs))
        advantages = self.advantage(features)  # the mean is subtracted so V and A are identifiable
        return self.value(features) + advantages - advantages.mean(-1, keepdim=True)


class Actor(nn.Module):
    """mu_theta(s): a tanh squashed into the action bounds [low, high]."""

    def __init__(self, obs_dim, act_space, hidden):
        super().__init__()
        self.net = mlp(obs_dim, act_space.shape[0], hidden)
        low, high = (torch.as_tensor(b, dtype=torch.float32)
                     for b in (act_space.low, act_space.high))
        self.register_buffer("scale", (high - low) / 2)
        self.register_buffer("center", (high + low) / 2)

    def forward(self, obs):
        return self.center + self.scale * torch.tanh(self.net(obs))


class Critic(nn.Module):
    """Q_phi(s, a) for a continuous action a: [B]."""

    def __init__(self, obs_dim, act_dim, hidden):
        super().__init__()
        self.net = mlp(obs_dim + act_dim, 1, hidden)

    def forward(self, obs, actions):
        return self.net(torch.cat([obs, actions], -1)).squeeze(-1)


# --- Environment, checks and logging -------------------------------------------------------------

class ConfigError(Exception):
    """Bad input from the user: reported in one line, exit status 2."""


def resolve_algo(cfg, act_space):
    """The Config with algo and every None default resolved; mismatches are ConfigErrors."""
    discrete = isinstance(act_space, gym.spaces.Discrete)
    algo = cfg.algo if cfg.algo != "auto" else ("dqn" if discrete else "ddpg")
    if algo == "dqn" and not discrete:
        raise ConfigError(f"--algo dqn needs Discrete actions; {cfg.env_id} has {act_space} "
                          "(use --algo ddpg)")
    if algo == "ddpg" and discrete:
        raise ConfigError(f"--algo ddpg needs Box actions; {cfg.env_id} has {act_space} "
                          "(use --algo dqn)")
    if algo == "ddpg" and not np.all(np.isfinite(np.r_[act_space.low, act_space.high])):
        raise ConfigError(f"--algo ddpg needs finite action bounds, {cfg.env_id} has {act_space}")
    if algo == "ddpg" and (cfg.double or cfg.dueling):
        raise ConfigError("--double and --dueling are DQN variants; drop them for ddpg")
    defaults = {k: v for k, v in ALGO_DEFAULTS[algo].items() if getattr(cfg, k) is None}
    cfg = dataclasses.replace(cfg, algo=algo, **defaults)
    check_config(cfg)
    return cfg


def hidden_sizes(net_arch):
    try:
        sizes = [int(h) for h in net_arch.split(",")]
    except ValueError:
        sizes = []
    if not sizes or min(sizes) <= 0:
        raise ConfigError(f"--net-arch must be positive widths like 256,256, not {net_arch!r}")
    return sizes


def check_config(cfg):
    if not 0 <= cfg.seed < 2**32:  # numpy's seed range
        raise ConfigError(f"--seed must be in [0, 2**32), got {cfg.seed}")
    for name, choices in CHOICES.items():
        if getattr(cfg, name) not in choices:
            raise ConfigError(f"--{name.replace('_', '-')} must be one of {', '.join(choices)}")
    positive = ("total_timesteps", "num_envs", "learning_rate", "buffer_size", "batch_size",
                "train_freq", "gradient_steps", "target_update_interval", "max_grad_norm",
                "per_eps")
    for name in positive:
        if not getattr(cfg, name) > 0:
            raise ConfigError(f"--{name.replace('_', '-')} must be > 0, got {getattr(cfg, name)}")
    unit = ("gamma", "tau", "exploration_fraction", "exploration_initial_eps",
            "exploration_final_eps", "per_alpha", "per_beta", "ou_theta")
    for name in unit:
        value, left_open = getattr(cfg, name), name in ("gamma", "tau")  # these two in (0, 1]
        if not (0.0 < value <= 1.0 or (value == 0.0 and not left_open)):
            raise ConfigError(f"--{name.replace('_', '-')} must be in {'(' if left_open else '['}"
                              f"0, 1], got {value}")
    if not (cfg.learning_starts >= 0 and cfg.noise_std >= 0 and cfg.eval_episodes >= 0):
        raise ConfigError("--learning-starts, --noise-std and --eval-episodes must be >= 0")
    hidden_sizes(cfg.net_arch)


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


def build_networks(cfg, obs_space, act_space, device):
    """The online networks: {"q": ...} for dqn, {"actor": ..., "critic": ...} for ddpg."""
    hidden, obs_dim = hidden_sizes(cfg.net_arch), obs_space.shape[0]
    if cfg.algo == "dqn":
        return {"q": QNetwork(obs_dim, int(act_space.n), hidden, cfg.dueling).to(device)}
    return {"actor": Actor(obs_dim, act_space, hidden).to(device),
            "critic": Critic(obs_dim, act_space.shape[0], hidden).to(device)}


class CsvLog:
    """A CSV file flushed row by row, so an interrupted run keeps its data."""

    def __init__(self, path, columns):
        self.file = open(path, "w", newline="")
        self.writer = csv.writer(self.file)
        self.writer.writerow(columns)

    def write(self, row):
        self.writer.writerow(row)
        self.file.flush()


def save_checkpoint(path, nets, cfg, buffer=None):
    state = {"algo": "dqn_ddpg", "config": dataclasses.asdict(cfg),
             **{name: net.state_dict() for name, net in nets.items()}}
    if buffer is not None:  # only with --save-buffer: it can be far larger than the networks
        state["buffer"] = {name: torch.from_numpy(getattr(buffer, name)[:buffer.size].copy())
                           for name in buffer.FIELDS}
        state["buffer_pos"] = buffer.pos
    tmp = path + ".tmp"  # write, then rename: a crash never leaves a half-written model
    torch.save(state, tmp)
    os.replace(tmp, path)


# --- Training ------------------------------------------------------------------------------------

def dqn_update(q_net, target_net, optimizer, batch, weights, gamma, double, max_grad_norm):
    """One gradient step of Q_phi on a minibatch; returns (loss, Q(s, a), TD errors Q(s, a) - y)."""
    with torch.no_grad():
        next_q_online = q_net(batch["next_obs"]) if double else None
        targets = dqn_targets(batch["rewards"], target_net(batch["next_obs"]),
                              batch["terminated"], gamma, next_q_online)
    q = q_net(batch["obs"]).gather(1, batch["actions"].long()[:, None]).squeeze(1)  # Q_phi(s, a)
    # Huber: quadratic near 0, linear beyond 1, so rare large TD errors cannot blow up a step
    loss = (weights * F.smooth_l1_loss(q, targets, reduction="none")).mean()
    optimizer.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(q_net.parameters(), max_grad_norm)
    optimizer.step()
    q = q.detach()
    return loss.item(), q, q - targets


def ddpg_update(nets, targets, actor_opt, critic_opt, batch, weights, gamma):
    """One step of the critic on y = r + gamma (1 - terminated) Q'(s', mu'(s')), then of the actor
    along the deterministic policy gradient. Returns (critic, actor loss, Q(s, a), TD errors)."""
    with torch.no_grad():
        next_q = targets["critic"](batch["next_obs"], targets["actor"](batch["next_obs"]))
        # mu'(s') stands in for argmax_a': the DQN target over a single action
        y = dqn_targets(batch["rewards"], next_q[:, None], batch["terminated"], gamma)
    q = nets["critic"](batch["obs"], batch["actions"])
    critic_loss = (weights * (q - y) ** 2).mean()
    critic_opt.zero_grad()
    critic_loss.backward()
    critic_opt.step()
    actor_loss = ddpg_actor_loss(nets["critic"], nets["actor"], batch["obs"])
    actor_opt.zero_grad()
    actor_loss.backward()
    actor_opt.step()
    q = q.detach()
    return critic_loss.item(), actor_loss.item(), q, q - y


def train(cfg):
    """Train DQN or DDPG; return the result dict printed as the last stdout line."""
    if cfg.algo not in CHOICES["algo"]:
        raise ConfigError(f"--algo must be one of {', '.join(CHOICES['algo'])}")
    device = resolve_device(cfg.device)
    if cfg.tensorboard:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise ConfigError("--tensorboard needs the tensorboard package: "
                              "pip install tensorboard") from None
    # Small MLPs on a CPU: one thread is about as fast as two and leaves a core to other runs.
    torch.set_num_threads(1)
    env, _, act_space = make_env(cfg.env_id)  # its spaces decide the algorithm and defaults
    env.close()
    cfg = resolve_algo(cfg, act_space)  # checks the config too, the seed among it
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    envs, obs_space, act_space = make_env(cfg.env_id, cfg.num_envs)
    obs, _ = envs.reset(seed=cfg.seed)  # later resets continue these seeded generators
    envs.action_space.seed(cfg.seed)
    rng = np.random.default_rng([cfg.seed, 0])  # exploration: epsilon, random actions, noise

    run_dir = cfg.run_dir or os.path.join(
        "runs", f"{cfg.algo}__{cfg.env_id.replace('/', '-')}__{cfg.seed}__{int(time.time())}")
    try:
        os.makedirs(run_dir, exist_ok=True)
        with open(os.path.join(run_dir, "config.json"), "w") as f:
            json.dump(dataclasses.asdict(cfg), f, indent=2)
    except OSError as e:
        envs.close()
        raise ConfigError(f"cannot write to --run-dir {run_dir}: {e.strerror}") from None
    progress = CsvLog(os.path.join(run_dir, "progress.csv"),
                      ["global_step", "episode_return", "episode_length", "wall_time_s"])
    stat_names = ["loss", "actor_loss", "q_mean", "td_abs_mean", "epsilon", "beta"]
    updates = CsvLog(os.path.join(run_dir, "updates.csv"), ["update", "global_step"] + stat_names)
    writer = SummaryWriter(run_dir) if cfg.tensorboard else None

    dqn, n = cfg.algo == "dqn", cfg.num_envs
    nets = build_networks(cfg, obs_space, act_space, device)
    targets = build_networks(cfg, obs_space, act_space, device)  # phi-, and theta- for ddpg
    for name, target in targets.items():
        target.load_state_dict(nets[name].state_dict())
        target.requires_grad_(False)
    # fused: one kernel for all parameters, a quarter faster on these small CPU networks
    opts = {name: torch.optim.Adam(net.parameters(), lr=cfg.learning_rate, fused=True)
            for name, net in nets.items()}
    buffer = ReplayBuffer(cfg.buffer_size, obs_space.shape[0], act_space.shape,
                          np.int64 if dqn else np.float32, [cfg.seed, 1], cfg.prioritized,
                          cfg.per_alpha, cfg.per_eps)
    half_range = None if dqn else (act_space.high - act_space.low) / 2
    noise = np.zeros((n, *act_space.shape))  # OU state per env

    global_step, update, recent = 0, 0, []
    since_train = since_target = 0
    ep_return, ep_length = np.zeros(n), np.zeros(n, dtype=np.int64)
    resetting = np.zeros(n, dtype=bool)  # env i's next step is gymnasium's autoreset step
    stats = dict.fromkeys(stat_names, float("nan"))
    start = last_print = time.time()
    try:
        while global_step < cfg.total_timesteps:
            progress_frac = global_step / cfg.total_timesteps
            obs_t = torch.as_tensor(obs, dtype=torch.float32, device=device)
            if dqn:  # epsilon-greedy, epsilon decaying linearly over exploration_fraction
                stats["epsilon"] = eps = linear_schedule(
                    cfg.exploration_initial_eps, cfg.exploration_final_eps,
                    cfg.exploration_fraction, progress_frac)
                with torch.no_grad():
                    actions = nets["q"](obs_t).argmax(-1).cpu().numpy()
                explore = (rng.random(n) < eps) | (global_step < cfg.learning_starts)
                actions = np.where(explore, rng.integers(act_space.n, size=n), actions)
            elif global_step < cfg.learning_starts:  # uniform random actions fill the buffer first
                actions = rng.uniform(act_space.low, act_space.high, (n, *act_space.shape))
            else:
                with torch.no_grad():
                    actions = nets["actor"](obs_t).cpu().numpy()
                gaussian = rng.standard_normal(noise.shape)
                if cfg.noise == "ou":  # x <- x - theta x + sigma eps: temporally correlated
                    noise = np.where(resetting[:, None], 0.0, noise)  # a fresh process per episode
                    noise = noise - cfg.ou_theta * noise + cfg.noise_std * gaussian
                else:
                    noise = cfg.noise_std * gaussian
                actions = np.clip(actions + noise * half_range, act_space.low, act_space.high)
            actions = actions.astype(buffer.actions.dtype)
            next_obs, rewards, terminated, truncated, _ = envs.step(actions)

            # gymnasium's NEXT_STEP autoreset: the step after an episode ends ignores the action,
            # gives reward 0 and returns the next episode's first observation. It is never stored,
            # so no transition spans two episodes; next_obs of a truncated step is the true final
            # observation, and only `terminated` stops the bootstrap.
            real = ~resetting
            buffer.add(obs[real], actions[real], rewards[real], next_obs[real], terminated[real])
            global_step += int(real.sum())
            # only steps after learning_starts count towards training rounds
            since_train = min(since_train + int(real.sum()),
                              max(global_step - cfg.learning_starts, 0))
            since_target += int(real.sum())
            ep_return += np.where(real, rewards, 0.0)
            ep_length += real
            for i in np.flatnonzero(real & (terminated | truncated)):
                recent = (recent + [float(ep_return[i])])[-20:]
                progress.write([global_step, float(ep_return[i]), int(ep_length[i]),
                                round(time.time() - start, 3)])
                if writer:
                    writer.add_scalar("charts/episode_return", ep_return[i], global_step)
                ep_return[i], ep_length[i] = 0.0, 0
            resetting = terminated | truncated
            obs = next_obs

            if since_train >= cfg.train_freq:
                # gradient_steps per train_freq env steps, whatever num_envs is
                rounds, since_train = divmod(since_train, cfg.train_freq)
                stats["beta"] = beta = linear_schedule(cfg.per_beta, 1.0, 1.0, progress_frac)
                for _ in range(rounds * cfg.gradient_steps):
                    idx, batch, weights = buffer.sample(cfg.batch_size, beta)
                    batch = {k: torch.as_tensor(v, device=device) for k, v in batch.items()}
                    weights = torch.as_tensor(weights, device=device)
                    if dqn:
                        stats["loss"], q, td = dqn_update(
                            nets["q"], targets["q"], opts["q"], batch, weights, cfg.gamma,
                            cfg.double, cfg.max_grad_norm)
                    else:
                        stats["loss"], stats["actor_loss"], q, td = ddpg_update(
                            nets, targets, opts["actor"], opts["critic"], batch, weights,
                            cfg.gamma)
                        for name in nets:  # Polyak averaging after every step
                            soft_update(targets[name], nets[name], cfg.tau)
                    if cfg.prioritized:
                        buffer.update_priorities(idx, td.cpu().numpy())
                update += 1
                stats["td_abs_mean"], stats["q_mean"] = td.abs().mean().item(), q.mean().item()
                updates.write([update, global_step] + [f"{stats[k]:.6g}" for k in stat_names])
                if writer:
                    for k in stat_names:
                        writer.add_scalar(f"losses/{k}", stats[k], global_step)
            if dqn and since_target >= cfg.target_update_interval:
                since_target %= cfg.target_update_interval
                soft_update(targets["q"], nets["q"], cfg.tau)  # tau = 1: the hard copy phi- <- phi

            now = time.time()
            if not cfg.quiet and (now - last_print >= 2.0 or global_step >= cfg.total_timesteps):
                last_print = now
                sps = global_step / (now - start)
                eta = (cfg.total_timesteps - global_step) / max(sps, 1e-9)
                print(f"step {global_step}/{cfg.total_timesteps} | return "
                      f"{np.mean(recent) if recent else float('nan'):.1f} (last {len(recent)}) | "
                      f"{sps:.0f} steps/s | {eta:.0f} s left", file=sys.stderr, flush=True)
    finally:  # on Ctrl-C or an error too: keep what was learned
        save_checkpoint(os.path.join(run_dir, "model.pt"), nets, cfg,
                        buffer if cfg.save_buffer else None)
        envs.close()
        for log in (progress, updates):
            log.file.close()
        if writer:
            writer.close()
    train_time = time.time() - start

    returns = evaluate(nets["q"] if dqn else nets["actor"], cfg.env_id, cfg.eval_episodes,
                       cfg.seed, device)
    return result(cfg, returns, global_step=global_step, train_time_s=round(train_time, 3),
                       sps=round(global_step / train_time, 1), run_dir=run_dir)


def result(cfg, returns, **extra):
    """The dict printed as the last stdout line (CONVENTIONS.md section 3)."""
    return {"algo": cfg.algo, "env_id": cfg.env_id, "seed": cfg.seed,
            "total_timesteps": cfg.total_timesteps,
            "eval_return_mean": float(np.mean(returns)) if len(returns) else None,
            "eval_return_std": float(np.std(returns)) if len(returns) else None, **extra}


def evaluate(policy, env_id, episodes, seed, device):
    """Returns of `episodes` deterministic episodes, seeded from `seed`. `policy` is a QNetwork
    (greedy action) or an Actor (mu(s))."""
    env, _, _ = make_env(env_id)
    returns = []
    for i in range(episodes):
        obs, _ = env.reset(seed=seed + 10_000 + i)  # fixed seeds: --eval-only reproduces these
        done, total = False, 0.0
        while not done:
            with torch.no_grad():
                out = policy(torch.as_tensor(obs, dtype=torch.float32, device=device)[None])[0]
            action = out.argmax().item() if isinstance(policy, QNetwork) else out.cpu().numpy()
            obs, reward, terminated, truncated, _ = env.step(action)
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
        raise ConfigError(f"{path} is not a dqn_ddpg.py checkpoint ({type(e).__name__})") from None
    if ckpt.get("algo") != "dqn_ddpg":
        raise ConfigError(f"{path} was written by {ckpt.get('algo')!r}, not dqn_ddpg.py")
    device = resolve_device(cfg.device)
    torch.set_num_threads(1)
    env, obs_space, act_space = make_env(cfg.env_id)
    env.close()
    cfg = resolve_algo(cfg, act_space)
    nets = build_networks(cfg, obs_space, act_space, torch.device("cpu"))
    try:
        for name, net in nets.items():
            net.load_state_dict(ckpt[name])
    except (RuntimeError, KeyError):
        raise ConfigError(f"{path} does not match {cfg.env_id}'s spaces or --algo "
                          f"{cfg.algo}") from None
    policy = (nets["q"] if cfg.algo == "dqn" else nets["actor"]).to(device)
    returns = evaluate(policy, cfg.env_id, cfg.eval_episodes, cfg.seed, device)
    return result(cfg, returns, train_time_s=None, sps=None, run_dir=os.path.dirname(path),
                       eval_only=True)


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
    parser = ArgumentParser(prog="dqn_ddpg.py", argument_default=argparse.SUPPRESS,
                            description=__doc__.split("\n")[0])
    for f in dataclasses.fields(Config):
        flag, text = "--" + f.name.replace("_", "-"), comments.get(f.name, "")
        if f.default is not None:  # the others name their [dqn | ddpg] defaults in the comment
            text += f" [{f.default}]"
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
        print(f"dqn_ddpg.py: error: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("dqn_ddpg.py: interrupted; the model and logs written so far are kept",
              file=sys.stderr)
        sys.exit(130)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
