"""DQN (Mnih et al., 2013/2015) and DDPG, the deep deterministic policy gradient (2016).

DQN regresses Q_phi(s, a) on y = r + gamma (1 - terminated) max_a' Q_phi-(s', a') over minibatches
from a replay buffer, acting epsilon-greedily, with a target network phi- that follows phi every C
steps so that the regression target does not move with every step; double DQN (van Hasselt et al.,
2016), a dueling head (Wang et al., 2016) and prioritized replay (Schaul et al., 2016) are options.
For Box actions DDPG (Lillicrap et al., 2016) ascends Q_phi(s, mu_theta(s)) along the deterministic
policy gradient, with Gaussian or OU noise. --help tags [DQN] or [DDPG] a flag of one algorithm.

Usage:
    python dqn_ddpg.py --double --dueling --prioritized          # DQN on CartPole-v1, 50k steps
    python dqn_ddpg.py --env-id Pendulum-v1 --noise ou           # DDPG, 20k steps
    python dqn_ddpg.py --eval-only --checkpoint runs/<run>/model.pt --eval-episodes 20
"""
from dataclasses import dataclass, replace

import gymnasium as gym
import numpy as np
import torch
import torch.nn as nn

CHOICES = {"algo": ("auto", "dqn", "ddpg"), "noise": ("normal", "ou"), "loss": ("huber", "mse")}
LIMITS = {"gamma": "0 < x <= 1", "tau": "0 < x <= 1",
          "net_arch": "all(w.strip().isdecimal() and int(w) > 0 for w in x.split(','))",
          **dict.fromkeys(["learning_starts", "eval_episodes"], "x >= 0"),
          **dict.fromkeys(["total_timesteps", "num_envs", "buffer_size", "batch_size", "train_freq",
                           "gradient_steps", "target_update_interval", "max_grad_norm"], "x > 0"),
          "learning_rate": "0 < x < inf", "per_eps": "0 < x < inf", "noise_std": "0 <= x < inf",
          **dict.fromkeys(["exploration_fraction", "exploration_initial_eps", "ou_theta",
                           "exploration_final_eps", "per_alpha", "per_beta"], "0 <= x <= 1")}
ALGO_DEFAULTS = {  # what the fields left at None take; a field of one algorithm alone is its flag
    "dqn": dict(total_timesteps=50_000, learning_rate=2.3e-3, gamma=0.99, batch_size=64,
                learning_starts=1000, train_freq=256, gradient_steps=128, tau=1.0,
                net_arch="256,256", target_update_interval=10, exploration_fraction=0.16,
                exploration_initial_eps=1.0, exploration_final_eps=0.04, max_grad_norm=10.0,
                double=False, dueling=False, loss="huber"),
    "ddpg": dict(total_timesteps=20_000, learning_rate=1e-3, gamma=0.98, batch_size=256,
                 learning_starts=10_000, train_freq=1, gradient_steps=1, tau=0.005,
                 net_arch="400,300", noise="normal", noise_std=0.1, ou_theta=0.15)}
ENV_SETTINGS = {"CartPole-v1": {}, "Pendulum-v1": {}}  # tuned: DQN's and DDPG's defaults


@dataclass
class Config:
    env_id: str = "CartPole-v1"  # gymnasium id: flat Box observations, Discrete or Box actions
    algo: str = "auto"  # dqn, ddpg or auto (by action space); untagged: both; defaults [dqn | ddpg]
    total_timesteps: int = None  # env steps to train for, all envs together [50000 | 20000]
    seed: int = 1  # seeds torch, numpy, the envs, their action spaces and the replay sampling
    device: str = "auto"  # auto, cpu, cuda or cuda:N
    num_envs: int = 1  # synchronous envs stepping together
    learning_rate: float = None  # Adam step size, of Q or of actor and critic [2.3e-3 | 1e-3]
    gamma: float = None  # discount factor [0.99 | 0.98]
    buffer_size: int = 100_000  # replay capacity in transitions; the oldest are overwritten
    batch_size: int = None  # transitions per gradient step [64 | 256]
    learning_starts: int = None  # env steps of random actions before learning [1000 | 10000]
    train_freq: int = None  # env steps between training rounds [256 | 1]
    gradient_steps: int = None  # gradient steps per training round [128 | 1]
    tau: float = None  # target update phi- <- tau phi + (1 - tau) phi-; 1 copies [1.0 | 0.005]
    net_arch: str = None  # hidden layer widths, comma-separated ["256,256" | "400,300"]
    prioritized: bool = False  # proportional prioritized replay instead of uniform
    per_alpha: float = 0.6  # priority exponent: P(i) ~ p_i^alpha
    per_beta: float = 0.4  # initial importance-weight exponent, annealed linearly to 1
    per_eps: float = 1e-6  # p_i = |delta_i| + eps keeps every transition sampleable
    target_update_interval: int = None  # [DQN] env steps between target updates [10]
    exploration_fraction: float = None  # [DQN] share of training over which epsilon decays [0.16]
    exploration_initial_eps: float = None  # [DQN] epsilon at the start [1.0]
    exploration_final_eps: float = None  # [DQN] epsilon after the decay [0.04]
    max_grad_norm: float = None  # [DQN] clip the gradient's norm to this [10.0]
    loss: str = None  # [DQN] TD loss: huber (the DQN paper's clipped error) or mse [huber]
    double: bool = None  # [DQN] double DQN targets [False]
    dueling: bool = None  # [DQN] dueling head V(s) + A(s, a) - mean_a A(s, a) [False]
    noise: str = None  # [DDPG] exploration noise, Gaussian or Ornstein-Uhlenbeck [normal]
    noise_std: float = None  # [DDPG] noise scale, as a fraction of half the action range [0.1]
    ou_theta: float = None  # [DDPG] mean reversion of the OU noise per step [0.15]
    eval_episodes: int = 10  # deterministic (greedy / mu(s)) evaluation episodes at the end
    run_dir: str = ""  # default runs/dqn_ddpg__<env>__<seed>__<unix time>
    checkpoint: str = ""  # model.pt to load with --eval-only
    eval_only: bool = False  # load --checkpoint and only evaluate it
    save_buffer: bool = False  # also store the replay buffer in model.pt
    tensorboard: bool = False  # also write TensorBoard events
    quiet: bool = False  # no progress lines


def as_tensors(where, **named):  # lists and numpy arrays too; one shape for all of them
    device = next((x.device for x in named.values() if torch.is_tensor(x)), None)
    tensors = [torch.as_tensor(x, device=device) for x in named.values()]  # a tensor: itself
    if len({x.shape for x in tensors}) > 1:  # broadcasting them would give a wrong answer
        shapes = " and ".join(f"{name} {list(x.shape)}" for name, x in zip(named, tensors))
        raise ValueError(f"{where}: {shapes} must have one shape")
    return tensors


def dqn_targets(rewards, next_q_target, terminated, gamma, next_q_online=None):
    """y = r + gamma (1 - terminated) max_a Q_target(s', a), detached (a semi-gradient target).
    rewards, terminated: [B] or [T, N]; next_q_target, next_q_online: the same plus [..., A].
    With next_q_online (double DQN), the max becomes Q_target(s', argmax_a Q_online(s', a))."""
    rewards, terminated = as_tensors("dqn_targets", rewards=rewards, terminated=terminated)
    next_q_target = torch.as_tensor(next_q_target, device=rewards.device)
    if next_q_online is None:
        next_q = next_q_target.max(-1).values
    else:  # chosen by the online network, valued by the target network
        next_q_target, next_q_online = as_tensors("dqn_targets", next_q_target=next_q_target,
                                                  next_q_online=next_q_online)
        next_q = next_q_target.gather(-1, next_q_online.argmax(-1, keepdim=True)).squeeze(-1)
    if next_q.shape != rewards.shape or not 0 <= gamma <= 1:
        raise ValueError(f"dqn_targets: rewards {list(rewards.shape)}, next_q_target "
                         f"{list(next_q_target.shape)}, gamma {gamma}: want [*rewards, A], [0, 1]")
    return (rewards + gamma * (1.0 - terminated.to(next_q.dtype)) * next_q).detach()  # terminal: 0


@torch.no_grad()
def soft_update(target, source, tau):
    """target <- tau source + (1 - tau) target, in place, parameter by parameter; tau=1 copies."""
    pairs = list(zip(target.parameters(), source.parameters(), strict=True))  # all, then update
    if not 0 <= tau <= 1 or any(t.shape != s.shape for t, s in pairs):  # copy_ would broadcast
        raise ValueError(f"soft_update: tau must be in [0, 1] (is {tau}), the nets' shapes equal")
    for t, s in pairs:
        t.copy_(s) if tau == 1 else t.mul_(1.0 - tau).add_(tau * s)  # two roundings, no FMA


def ddpg_actor_loss(critic, actor, obs):
    """-mean_s Q(s, mu(s)). Its gradient wrt the actor is the deterministic policy gradient
    -mean dQ/da|_{a=mu(s)} dmu/dtheta; the critic's parameters enter as constants (no gradient)."""
    params = {name: p.detach() for name, p in critic.named_parameters()}
    obs = torch.as_tensor(obs).to(next(actor.parameters()))  # lists, arrays: the actor's dtype
    return -torch.func.functional_call(critic, params, (obs, actor(obs))).mean()


class ReplayBuffer:
    """Preallocated ring of (s, a, r, s', terminated); s' is the true next state (the final
    observation of a truncated episode): `terminated` alone decides bootstrapping. Prioritized: a
    sum tree, p_i^alpha in leaf i, inner node i (1: root) the sum of nodes 2i, 2i+1: O(log n)."""
    def __init__(self, capacity, obs_dim, action_shape, action_dtype, seed, prioritized=False,
                 alpha=0.6, eps=1e-6):
        shapes = {"obs": ((obs_dim,), np.float32), "actions": (action_shape, action_dtype),
                  "rewards": ((), np.float32), "next_obs": ((obs_dim,), np.float32),
                  "terminated": ((), bool)}
        self.data = {k: np.zeros((capacity, *shape), dtype) for k, (shape, dtype) in shapes.items()}
        self.capacity, self.pos, self.size, self.rng = capacity, 0, 0, np.random.default_rng(seed)
        self.n_leaves = 1 << max(capacity - 1, 0).bit_length()  # a power of two: one depth
        self.tree = np.zeros(2 * self.n_leaves) if prioritized else None
        self.alpha, self.eps, self.max_priority = alpha, eps, 1.0

    def add(self, *transitions):  # obs, actions, rewards, next_obs, terminated: [n, ...] each
        n, pos, cap = len(transitions[0]), self.pos, self.capacity  # the oldest are overwritten
        at = slice(pos, pos + n) if pos + n <= cap else np.arange(pos, pos + n) % cap  # slice: fast
        for array, values in zip(self.data.values(), transitions, strict=True):
            array[at] = values
        self.pos, self.size = (pos + n) % cap, min(self.size + n, cap)
        if self.tree is not None and n:  # new ones: the largest p_i^alpha yet
            self.set_priorities(np.arange(pos, pos + n) % cap, self.max_priority)

    def sample(self, n, beta=1.0):  # n indices, the batch, importance weights; filled slots only
        if self.tree is None:
            idx, weights = self.rng.integers(0, self.size, n), np.ones(n)
        else:  # stratified: a uniform prefix sum in each of n equal slices of the mass
            prefix, node = (np.arange(n) + self.rng.random(n)) * (self.tree[1] / n), np.ones(n, int)
            while node[0] < self.n_leaves:  # to the leaf i: sum(p[:i]) <= prefix < sum(p[:i+1])
                left = self.tree[2 * node]  # (never into an empty subtree, round-off or not)
                right = (prefix >= left) & (self.tree[2 * node + 1] > 0)
                prefix, node = np.where(right, prefix - left, prefix), 2 * node + right
            idx, probs = node - self.n_leaves, self.tree[node] / self.tree[1]  # P(i)
            weights = (self.size * probs) ** -beta  # w_i = (N P(i))^-beta, corrects the bias
            weights /= weights.max()  # so that importance weights only ever shrink a step
        return idx, {k: v[idx] for k, v in self.data.items()}, weights.astype(np.float32)

    def set_priorities(self, idx, priorities):  # the leaves idx, then their ancestors
        self.tree[nodes := np.asarray(idx) + self.n_leaves] = priorities
        while nodes[0] > 1:  # parents recomputed from their children, not incremented: no drift
            nodes = np.unique(nodes // 2)
            self.tree[nodes] = self.tree[2 * nodes] + self.tree[2 * nodes + 1]

    def update_priorities(self, idx, td_errors):
        self.set_priorities(idx, priorities := (np.abs(td_errors) + self.eps) ** self.alpha)
        self.max_priority = max(self.max_priority, float(priorities.max()))


def mlp(in_dim, out_dim, hidden):
    widths = [in_dim, *hidden]
    layers = [m for i, o in zip(widths, widths[1:]) for m in (nn.Linear(i, o), nn.ReLU())]
    return nn.Sequential(*layers, nn.Linear(widths[-1], out_dim))


class QNetwork(nn.Module):  # Q_phi(s, .), one per action; dueling: V(s) + A(s, a) - mean_a A(s, a)
    def __init__(self, obs_dim, n_actions, hidden, dueling=False):
        super().__init__()
        self.dueling, width = dueling, hidden[-1]
        self.net = mlp(obs_dim, width, hidden[:-1]) if dueling else mlp(obs_dim, n_actions, hidden)
        if dueling:  # V(s) and A(s, .), two heads on the last hidden layer
            self.value, self.advantage = nn.Linear(width, 1), nn.Linear(width, n_actions)

    def forward(self, obs):
        if not self.dueling:
            return self.net(obs)
        features = torch.relu(self.net(obs))
        advantages = self.advantage(features)  # the mean is subtracted so V and A are identifiable
        return self.value(features) + advantages - advantages.mean(-1, keepdim=True)


class Actor(nn.Sequential):  # mu_theta(s): an MLP's output, tanh-squashed into [low, high]
    def __init__(self, act_space, *layers):
        super().__init__(*layers)
        low, high = torch.tensor(np.stack([act_space.low, act_space.high]), dtype=torch.float32)
        self.register_buffer("scale", (high - low) / 2)
        self.register_buffer("center", (high + low) / 2)

    def forward(self, obs):
        return self.center + self.scale * torch.tanh(super().forward(obs))


class Critic(nn.Sequential):  # Q_phi(s, a) [B] for a continuous a: an MLP on (s, a) concatenated
    def forward(self, obs, actions):
        return super().forward(torch.cat([obs, actions], -1)).squeeze(-1)


def build_networks(cfg, obs_space, act_space, device):  # by name, as model.pt keeps them
    hidden, obs_dim = [int(h) for h in cfg.net_arch.split(",")], obs_space.shape[0]
    if cfg.algo == "dqn":
        return {"q": QNetwork(obs_dim, int(act_space.n), hidden, cfg.dueling).to(device)}
    return {"actor": Actor(act_space, *mlp(obs_dim, act_space.shape[0], hidden)).to(device),
            "critic": Critic(*mlp(obs_dim + act_space.shape[0], 1, hidden)).to(device)}


class Agent:  # what DQN and DDPG share: online networks, their targets phi- (theta-), an Adam each
    def __init__(self, cfg, obs_space, act_space, device):
        self.cfg, self.act_space, self.device = cfg, act_space, device
        self.nets = build_networks(cfg, obs_space, act_space, device)
        self.targets = build_networks(cfg, obs_space, act_space, device)
        for name, net in self.nets.items():  # phi- starts as phi, and gets no gradients
            self.targets[name].requires_grad_(False).load_state_dict(net.state_dict())
        self.opts = {name: torch.optim.Adam(net.parameters(), lr=cfg.learning_rate, fused=True)
                     for name, net in self.nets.items()}  # fused: a quarter faster on small nets
        self.stats = {k: np.nan for k in "loss actor_loss q_mean td_abs_mean epsilon beta".split()}
        self.last_step, self.noise = 0, np.zeros((cfg.num_envs, *act_space.shape))  # DQN's, OU's

    def learn(self, buffer, steps, progress):  # the row of updates.csv; beta: per_beta -> 1
        self.stats["beta"] = beta = self.cfg.per_beta + min(progress, 1) * (1 - self.cfg.per_beta)
        # uniform: every batch drawn before the first step (faster); prioritized: each moves P(i)
        draws = (buffer.sample(self.cfg.batch_size, beta) for _ in range(steps))
        for idx, batch, weights in draws if self.cfg.prioritized else list(draws):
            batch = {k: torch.as_tensor(v, device=self.device) for k, v in batch.items()}
            q, td = self.update(batch, torch.as_tensor(weights, device=self.device))
            if self.cfg.prioritized:
                buffer.update_priorities(idx, td.cpu().numpy())
        self.stats["td_abs_mean"], self.stats["q_mean"] = td.abs().mean().item(), q.mean().item()
        return {k: f"{v:.6g}" for k, v in self.stats.items()}

    def descend(self, name, loss, max_grad_norm=float("inf")):  # an Adam step of nets[name]
        self.opts[name].zero_grad()
        loss.backward()
        if max_grad_norm < float("inf"):  # inf: no clipping (as CleanRL's DQN)
            nn.utils.clip_grad_norm_(self.nets[name].parameters(), max_grad_norm)
        self.opts[name].step()
        return loss.item()


class DQN(Agent):
    def act(self, obs, step, progress, resetting, rng):  # epsilon-greedy; random before learning
        cfg, n, C = self.cfg, len(obs), self.cfg.target_update_interval
        if step // C > self.last_step // C:  # phi- <- phi each time step passes a multiple of C
            soft_update(self.targets["q"], self.nets["q"], cfg.tau)  # tau = 1: a copy
        f, e0, e1 = cfg.exploration_fraction, cfg.exploration_initial_eps, cfg.exploration_final_eps
        self.stats["epsilon"] = eps = e0 + min(progress / f, 1.0) * (e1 - e0) if f > 0 else e1
        explore, self.last_step = rng.random(n) < (eps if step >= cfg.learning_starts else 1), step
        if all(explore):  # no env acts greedily (epsilon is 1 before learning): no Q(s, .)
            return rng.integers(self.act_space.n, size=n)
        with torch.no_grad():
            q = self.nets["q"](torch.as_tensor(obs, dtype=torch.float32, device=self.device))
        greedy = q.argmax(-1).cpu().numpy()  # random actions drawn only if an env explores (at
        return (np.where(explore, rng.integers(self.act_space.n, size=n), greedy)  # epsilon 0.05,
                if any(explore) else greedy)  # 1 step in 20 with one env)

    def update(self, batch, weights):  # one step of Q_phi; returns Q(s, a), TD errors Q(s, a) - y
        with torch.no_grad():
            next_q_online = self.nets["q"](batch["next_obs"]) if self.cfg.double else None
            y = dqn_targets(batch["rewards"], self.targets["q"](batch["next_obs"]),
                            batch["terminated"], self.cfg.gamma, next_q_online)
        q = self.nets["q"](batch["obs"]).gather(1, batch["actions"].long()[:, None]).squeeze(1)
        td_loss = nn.functional.mse_loss if self.cfg.loss == "mse" else nn.functional.smooth_l1_loss
        loss = ((weights * td_loss(q, y, reduction="none")).mean() if self.cfg.prioritized else
                td_loss(q, y))  # uniform (weights 1): the same mean, fused; which loss when: README
        self.stats["loss"] = self.descend("q", loss, self.cfg.max_grad_norm)
        return q.detach(), q.detach() - y


class DDPG(Agent):
    def act(self, obs, step, progress, resetting, rng):  # random, later mu(s) plus noise
        cfg, low, high = self.cfg, self.act_space.low, self.act_space.high
        if step < cfg.learning_starts:
            return rng.uniform(low, high, (len(obs), *low.shape)).astype(np.float32)
        with torch.no_grad():
            mu = self.nets["actor"](torch.as_tensor(obs, dtype=torch.float32, device=self.device))
        noise = cfg.noise_std * rng.standard_normal(self.noise.shape)  # sigma eps: Gaussian noise
        if cfg.noise == "ou":  # x <- x - theta x + sigma eps: temporally correlated
            x = np.where(resetting[:, None], 0.0, self.noise)  # a fresh process per episode
            self.noise = noise = x - cfg.ou_theta * x + noise
        return np.clip(mu.cpu().numpy() + noise * ((high - low) / 2), low, high).astype(np.float32)

    def update(self, batch, weights):  # the critic's step, the actor's, the targets' averaging
        with torch.no_grad():  # mu'(s') stands in for argmax_a': the DQN target over one action
            next_q = self.targets["critic"](batch["next_obs"],
                                            self.targets["actor"](batch["next_obs"]))
            y = dqn_targets(batch["rewards"], next_q[:, None], batch["terminated"], self.cfg.gamma)
        q = self.nets["critic"](batch["obs"], batch["actions"])
        self.stats["loss"] = self.descend("critic", (weights * (q - y) ** 2).mean())
        actor_loss = ddpg_actor_loss(self.nets["critic"], self.nets["actor"], batch["obs"])
        self.stats["actor_loss"] = self.descend("actor", actor_loss)
        for name in self.nets:
            soft_update(self.targets[name], self.nets[name], self.cfg.tau)
        return q.detach(), q.detach() - y


def train(cfg):  # DQN or DDPG; returns the result dict, main's last line on stdout
    envs, obs_space, act_space = make_env(check(cfg).env_id, cfg.num_envs)
    device = setup(cfg := resolve(cfg, act_space))  # resolve: the algorithm and its defaults
    obs, _ = envs.reset(seed=cfg.seed)  # later resets continue these seeded generators
    envs.action_space.seed(cfg.seed)
    rng = np.random.default_rng([cfg.seed, 0])  # exploration: epsilon, random actions, noise
    agent = (DQN if cfg.algo == "dqn" else DDPG)(cfg, obs_space, act_space, device)
    buffer = ReplayBuffer(cfg.buffer_size, obs_space.shape[0], act_space.shape,  # before the
                          np.int64 if cfg.algo == "dqn" else np.float32, [cfg.seed, 1],  # logs:
                          cfg.prioritized, cfg.per_alpha, cfg.per_eps)  # a MemoryError is clean
    log = RunLog(cfg, ["update", "global_step", *agent.stats])
    global_step = update = trained = ep_return = ep_length = 0  # trained: rounds of train_freq
    resetting = np.zeros(cfg.num_envs, dtype=bool)  # env i's next step: an autoreset, never stored
    try:
        while global_step < cfg.total_timesteps:
            progress = global_step / cfg.total_timesteps
            actions = agent.act(obs, global_step, progress, resetting, rng)
            next_obs, rewards, terminated, truncated, info = envs.step(actions)
            keep = slice(None) if (real := ~resetting).all() else real  # none resetting: no copies
            buffer.add(obs[keep], actions[keep], rewards[keep], next_obs[keep], terminated[keep])
            global_step += int(real.sum())
            resetting, obs = terminated | truncated, next_obs
            ep_return, ep_length = ep_return * real + rewards, ep_length * real + real  # per env
            for i in resetting.nonzero()[0]:  # episodes that ended here
                log.episode(global_step, ep_return[i].item(), ep_length[i].item())
            rounds = max(global_step - cfg.learning_starts, 0) // cfg.train_freq - trained
            if rounds:  # gradient_steps per train_freq env steps past learning_starts
                trained, update = trained + rounds, update + 1
                log.update(global_step, update=update, global_step=global_step,
                           **agent.learn(buffer, rounds * cfg.gradient_steps, progress))
            log.show(global_step, last=global_step >= cfg.total_timesteps)
    finally:  # on Ctrl-C, a kill or an error too: keep what was learned
        envs.close()
        log.close(**{name: net.state_dict() for name, net in agent.nets.items()}, **({"buffer": {
            k: torch.from_numpy(v[:buffer.size].copy()) for k, v in buffer.data.items()},
            "buffer_pos": buffer.pos} if cfg.save_buffer else {}))
    t = time.time() - log.start
    return result(cfg, evaluate(agent.nets, cfg, device), log.dir, variant=cfg.algo,
                  global_step=global_step, train_time_s=round(t, 3), sps=round(global_step / t, 1))


def evaluate(nets, cfg, device):  # returns of greedy episodes, argmax_a Q(s, a) or mu(s)
    env, returns = make_env(cfg.env_id)[0], []
    for i in range(cfg.eval_episodes):  # fixed seeds: --eval-only reproduces these returns
        (obs, _), done, total = env.reset(seed=cfg.seed + 10_000 + i), False, 0.0
        while not done:
            with torch.no_grad():
                s = torch.as_tensor(obs, dtype=torch.float32, device=device)[None]
                action = (nets["q"](s).argmax().item() if "q" in nets else
                          nets["actor"](s)[0].cpu().numpy())
            obs, reward, terminated, truncated, _ = env.step(action)
            total, done = total + float(reward), terminated or truncated
        returns.append(total)
    env.close()
    return np.array(returns)


def load_agent(cfg, ckpt, obs_space, act_space, device):  # the networks, for --eval-only
    nets = build_networks(cfg := resolve(cfg, act_space), obs_space, act_space, device)
    for name, net in nets.items():
        net.load_state_dict(ckpt[name])
    return cfg, nets


def resolve(cfg, act_space):  # cfg with its algorithm, and that algorithm's defaults for None
    discrete = isinstance(act_space, gym.spaces.Discrete)
    algo = ("dqn" if discrete else "ddpg") if cfg.algo == "auto" else cfg.algo
    other = "ddpg" if algo == "dqn" else "dqn"
    own = {a: [f"--{k.replace('_', '-')}" for k in ALGO_DEFAULTS[a] if getattr(cfg, k) is not None
               and k not in ALGO_DEFAULTS[b]] for a, b in ((algo, other), (other, algo))}
    if own[other] and (cfg.eval_only or discrete == (algo == "dqn")):  # (a wrong --algo first)
        raise ConfigError(f"{' '.join(own[other])}: {other} only, and this run is {algo}; drop "
                          f"{'them' if own[other][1:] else 'it'}{' or --algo' * cfg.eval_only}")
    if discrete != (algo == "dqn"):  # a checkpoint's networks fit the env it was trained on
        fix = "drop --env-id" if cfg.eval_only else " ".join(
            [f"use --algo {other}"] + ["without", *own[algo]] * bool(own[algo]))
        raise ConfigError(f"{algo} needs {'Box' if discrete else 'Discrete'} actions; "
                          f"{cfg.env_id} has {act_space}: {fix}")
    if algo == "ddpg" and not np.isfinite(np.r_[act_space.low, act_space.high]).all():
        raise ConfigError(f"ddpg needs finite action bounds; {cfg.env_id} has {act_space}")
    return replace(cfg, algo=algo, **{k: v for k, v in ALGO_DEFAULTS[algo].items()
                                      if getattr(cfg, k) is None})


def check_config(cfg):  # LIMITS says the rest; resolve, that no flag is the other algorithm's
    pass


# === The same in every file below this line (but NAME): flags, envs, logs, checkpoints, main ===
import argparse, csv, dataclasses, inspect, json, os, re, signal, sys, time  # noqa: E401,E402
NAME = "dqn_ddpg"
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
