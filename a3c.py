"""A3C: asynchronous advantage actor-critic (Mnih et al., 2016).

"Asynchronous Methods for Deep Reinforcement Learning" (ICML 2016): several actor-learners
share one set of parameters theta (policy pi_theta(a|s) and value V(s)). Each has its own
environment and a local copy theta'. Repeatedly it copies theta' <- theta, plays t_max steps
(fewer if the episode ends), and forms the n-step returns bootstrapped from V,

    R_t = sum_{k<m} gamma^k r_{t+k} + gamma^m (1 - terminated) V(s_{t+m}),  A_t = R_t - V(s_t),

m = the steps left in the segment. The gradient of the segment's loss
sum_t [-log pi(a_t|s_t) A_t - beta H(pi(.|s_t)) + c_v (R_t - V(s_t))^2 / 2], clipped in norm,
is applied to the shared theta by a shared Adam with no lock and no replay (Hogwild, Recht et
al. 2011): the workers' different states decorrelate the updates, not a buffer. The step size
decays linearly to 0, as in the paper, which trained on CPU threads and beat GPU DQN variants
in wall time (its Table 1). A2C (actor_critic.py) is the synchronous, batched version.

Episodes: each worker steps one `gym.make` env and resets it itself, so no autoreset step can
enter a segment. A time-limit truncation bootstraps from V(final observation); a termination
does not. `--recurrent` is the paper's LSTM agent: the hidden state is carried across segments
(gradients stop at the segment's start) and reset at episode ends. `--device`: where the
workers compute (cpu by default: stepping one env at a time, a GPU pays a launch and a copy per
step; theta and SharedAdam stay in CPU shared memory). Worker k uses seed + k; with
--num-workers > 1, OS scheduling orders the updates, so only --num-workers 1 is reproducible.

Usage:
    python a3c.py                                         # CartPole-v1, 2 workers
    python a3c.py --env-id Pendulum-v1 --num-workers 4 --total-timesteps 2000000 --seed 3
    python a3c.py --eval-only --checkpoint runs/<run>/model.pt --eval-episodes 20
"""
import contextlib
import queue
import traceback
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch
import torch.multiprocessing as mp
import torch.nn as nn
from torch.distributions import Categorical, Independent, Normal

CHOICES = {}
LIMITS = {"gamma": "0 < x <= 1", "init_log_std": "abs(x) <= 20", "learning_rate": "0 < x < inf",
          **{k: "x > 0" for k in ("total_timesteps", "num_workers", "t_max", "hidden_size",
                                  "max_grad_norm")}, "eval_episodes": "x >= 0",
          **{k: "0 <= x < inf" for k in ("ent_coef", "vf_coef")}}  # exp(20) is a float32
STAT_NAMES = ["policy_loss", "value_loss", "entropy", "grad_norm", "adam_step"]  # updates.csv
SPAWN = mp.get_context("spawn")  # fork would copy torch's and CUDA's state: unsafe
ENV_SETTINGS = {"CartPole-v1": {}}  # tuned settings per env id, under the flags given: the defaults


@dataclass
class Config:
    env_id: str = "CartPole-v1"  # gymnasium id: flat Box observations, Discrete or Box actions
    total_timesteps: int = 200_000  # env steps to train for, all workers together
    seed: int = 1  # worker k seeds torch, numpy, its env and action space with seed + k
    device: str = "cpu"  # where workers compute (auto, cpu, cuda, cuda:N); cpu: see the docstring
    num_workers: int = 2  # asynchronous actor-learner processes
    t_max: int = 20  # steps per segment, the n of the n-step returns
    gamma: float = 0.99  # discount factor
    learning_rate: float = 1e-3  # SharedAdam step size
    ent_coef: float = 0.01  # entropy bonus beta
    vf_coef: float = 0.5  # weight c_v of the value loss
    max_grad_norm: float = 40.0  # clip each worker's gradient norm to this
    anneal_lr: bool = True  # decay the step size linearly to 0 over training, as the paper
    hidden_size: int = 64  # width of the hidden layers (and of the LSTM)
    recurrent: bool = False  # LSTM policy and value, hidden state carried across segments
    init_log_std: float = -0.5  # initial log std of the Gaussian policy (Box actions)
    eval_episodes: int = 10  # deterministic evaluation episodes at the end
    run_dir: str = ""  # default runs/a3c__<env>__<seed>__<unix time>
    checkpoint: str = ""  # model.pt to load with --eval-only
    eval_only: bool = False  # load --checkpoint and only evaluate it
    tensorboard: bool = False  # also write TensorBoard events
    quiet: bool = False  # no progress lines


def check_config(cfg):
    if cfg.seed + cfg.num_workers > 2**32:  # worker k seeds numpy with seed + k
        raise ConfigError(f"--seed must be in [0, 2**32 - num_workers], got {cfg.seed}")


def as_tensors(where, **named):  # lists and numpy arrays too; one shape for all of them
    device = next((x.device for x in named.values() if torch.is_tensor(x)), None)
    tensors = [torch.as_tensor(x, device=device) for x in named.values()]  # a tensor: itself
    if len({x.shape for x in tensors}) > 1:  # broadcasting them would give a wrong answer
        shapes = " and ".join(f"{name} {list(x.shape)}" for name, x in zip(named, tensors))
        raise ValueError(f"{where}: {shapes} must have one shape")
    return tensors


def n_step_returns(rewards, next_values, terminated, episode_end, gamma, n):
    """R_t = sum_{k<m} gamma^k r_{t+k} + gamma^m (1 - terminated_{t+m-1}) V(s_{t+m}).

    Time-major [T] or [T, N] (T = 0: empty). m = min(n, steps to the end of t's episode or of the
    rollout). next_values[t] = V(s_{t+1}), of the final observation if truncated; terminated[t]:
    s_{t+1} is terminal; episode_end[t]: terminated or truncated after step t."""
    rewards, next_values, terminated, episode_end = as_tensors(
        "n_step_returns", rewards=rewards, next_values=next_values, terminated=terminated,
        episode_end=episode_end)
    if rewards.dim() == 0 or not 0 <= gamma <= 1 or not n >= 1:
        raise ValueError(f"n_step_returns: want rewards [T] or [T, N], gamma in [0, 1], n >= 1; "
                         f"got {list(rewards.shape)}, {gamma}, {n}")
    if (terminated.bool() & ~episode_end.bool()).any():  # e.g. truncated passed as episode_end
        raise ValueError("n_step_returns: episode_end must be true wherever terminated is")
    T, terminated, episode_end = rewards.shape[0], terminated.bool(), episode_end.bool()
    dtype = torch.promote_types(torch.result_type(rewards, 1.0), next_values.dtype)  # ints: float
    bootstrap = gamma * torch.where(terminated, 0.0, next_values).to(dtype)  # no V after s_T
    ends = torch.cat([episode_end[:-1], torch.ones_like(episode_end[-1:])])  # episode or rollout
    # closing: r_t, + gamma V(s_{t+1}) if windows end at t (or after n steps); decay: 0 past ends
    closing, decay = rewards + torch.where(ends, bootstrap, 0.0), gamma * (~ends).to(dtype)
    returns, weight = torch.zeros_like(rewards, dtype=dtype), torch.ones_like(rewards, dtype=dtype)
    for k in range(min(n, T)):  # weight[t] = gamma^k while step t+k is in t's window, then 0
        term = closing[k:] if k < n - 1 else rewards[k:] + bootstrap[k:]
        returns[:T - k] += torch.where(weight > 0, weight * term, 0.0)  # 0 * inf would be NaN
        weight = weight[:-1] * decay[k:-1]  # a new tensor: autograd saved the old one
    return returns


def a3c_loss(log_probs, values, entropies, returns, ent_coef, vf_coef):
    """sum_t [-log pi(a_t|s_t) A_t - beta H_t + c_v (R_t - V(s_t))^2 / 2], A_t = R_t - V(s_t).

    Summed over a segment's [T] steps, as the paper accumulates gradients; A_t, R_t: constants."""
    log_probs, values, entropies, returns = as_tensors(
        "a3c_loss", log_probs=log_probs, values=values, entropies=entropies, returns=returns)
    policy_loss = -(log_probs * (returns - values).detach()).sum()  # A_t, a constant
    value_loss = 0.5 * ((returns.detach() - values) ** 2).sum()
    entropy = entropies.sum()
    loss = policy_loss - ent_coef * entropy + vf_coef * value_loss
    return loss, {"policy_loss": policy_loss.detach(), "value_loss": value_loss.detach(),
                  "entropy": entropy.detach() / entropies.shape[0]}


class SharedAdam(torch.optim.Adam):
    """Adam with its step counts and moments in shared memory, made once over the shared model's
    parameters before the workers start: all step the same statistics (no lock). Serially, Adam."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        # fused: one kernel for all parameters, 72-78 us a step, not foreach's 222; state in place
        super().__init__(params, lr, betas, eps, weight_decay, fused=True)
        for group in self.param_groups:
            for p in group["params"]:
                if p.device.type != "cpu":
                    raise ValueError("SharedAdam needs parameters in CPU (shared) memory")
                state = self.state[p]  # the lazy initialisation of Adam, done now and shared
                state["step"] = torch.zeros((), dtype=torch.float32).share_memory_()
                state["exp_avg"] = torch.zeros_like(p).share_memory_()
                state["exp_avg_sq"] = torch.zeros_like(p).share_memory_()


def push_gradients(local_model, shared_model):
    """Hand the local gradients to theta's parameters every update (a copy only off a GPU): each
    zero_grad() makes new ones, so a version assigning .grad once steps with the first forever."""
    for local, shared in zip(local_model.parameters(), shared_model.parameters()):
        shared.grad = None if local.grad is None else local.grad.to("cpu")


class ActorCritic(nn.Module):
    """pi_theta(a|s) and V(s): two MLPs, or (recurrent) one LSTM trunk with two heads."""

    def __init__(self, obs_dim, action_space, hidden, init_log_std, recurrent=False):
        super().__init__()
        self.discrete = isinstance(action_space, gym.spaces.Discrete)
        self.recurrent, self.hidden = recurrent, hidden
        act_dim = int(action_space.n) if self.discrete else action_space.shape[0]
        if recurrent:  # the paper's LSTM agent: policy and value share the trunk
            self.encoder = nn.Sequential(nn.Linear(obs_dim, hidden), nn.Tanh())
            self.lstm = nn.LSTM(hidden, hidden)
            self.pi, self.v = nn.Linear(hidden, act_dim), nn.Linear(hidden, 1)
        else:
            self.pi, self.v = (nn.Sequential(nn.Linear(obs_dim, hidden), nn.Tanh(), nn.Linear(
                hidden, hidden), nn.Tanh(), nn.Linear(hidden, out)) for out in (act_dim, 1))
        if not self.discrete:
            self.log_std = nn.Parameter(torch.full((act_dim,), init_log_std))
        self.register_buffer("anchor", torch.empty(0), persistent=False)  # trunk's device, cheaply

    def initial_state(self, batch, device):  # the LSTM's (h, c) at an episode's start, or None
        return (torch.zeros(batch, self.hidden, device=device),) * 2 if self.recurrent else None

    def forward(self, obs, state=None):
        """One env's obs [T, obs_dim] in order (an array too) -> (pi(.|s), V(s) [T], next state)."""
        features, state = self.trunk(obs, state)
        # validate_args=False: the argument checks cost more than this small network
        dist = (Categorical(logits=self.pi(features), validate_args=False) if self.discrete else
                Independent(Normal(self.pi(features), self.log_std.exp(), validate_args=False), 1))
        return dist, self.v(features).squeeze(-1), state

    @torch.no_grad()
    def act(self, obs, state=None):  # a ~ pi(.|s) as dist.sample() draws it, at less cost: no
        features, state = self.trunk(obs, state)  # graph, no V, no distribution object and no
        out = self.pi(features)  # logsumexp (softmax(logits): Categorical's probs up to rounding)
        return (torch.multinomial(out.softmax(-1), 1).squeeze(-1) if self.discrete
                else torch.normal(out, self.log_std.exp())), state

    def trunk(self, obs, state):  # what pi and V read: the observations, or the LSTM's h_t
        obs = torch.as_tensor(obs, dtype=torch.float32, device=self.anchor.device)
        return self.lstm(self.encoder(obs), state) if self.recurrent else (obs, state)


def build_model(cfg, obs_space, act_space):
    return ActorCritic(obs_space.shape[0], act_space, cfg.hidden_size, cfg.init_log_std,
                       cfg.recurrent)


def play_segment(model, env, act_space, obs, state, t_max, take_step):
    """Up to t_max steps of the current episode with pi_theta', acting only (no graph is kept);
    take_step() reserves one step of the shared budget: its global number, or None when spent.
    Returns the segment (s_t, a_t, r_t, the recurrent state at s_0; the end flags; V(s_T) of the
    last observation, the final one when truncated), and the observation and state reached."""
    segment = {"observations": [], "actions": [], "rewards": [], "first_state": state}
    while len(segment["rewards"]) < t_max and (global_step := take_step()) is not None:
        action, state = model.act(obs[None], state)
        segment["observations"].append(obs)
        segment["actions"].append(action)
        obs, reward, terminated, truncated, _ = env.step(  # an int checks fastest
            int(action) if model.discrete else action[0].cpu().numpy())
        segment["rewards"].append(float(reward))
        segment.update(terminated=terminated, truncated=truncated, global_step=global_step)
        if terminated or truncated:  # a segment never spans two episodes
            break
    with torch.no_grad():  # the bootstrap V(s_T) (no pi, no distribution); ignored if terminal
        segment["next_value"] = model.v(model.trunk(obs[None], state)[0]).squeeze(-1)
    return segment, obs, state


def learn(local_model, shared, segment, cfg):
    """One Hogwild update: the gradient of the segment's loss at theta', applied to theta. With
    theta' as it played, one batched pass equals the paper's t_max accumulated gradients."""
    shared_model, optimizer, counter = shared[:3]
    dist, values, _ = local_model(np.array(segment["observations"]), segment["first_state"])
    R, returns = 0.0 if segment["terminated"] else segment["next_value"].item(), []  # R_T
    for reward in reversed(segment["rewards"]):  # the paper's loop, R_t = r_t + gamma R_{t+1}:
        returns.insert(0, R := reward + cfg.gamma * R)  # n_step_returns of one segment, cheaply
    loss, stats = a3c_loss(dist.log_prob(torch.cat(segment["actions"])), values, dist.entropy(),
                           torch.tensor(returns, device=values.device), cfg.ent_coef, cfg.vf_coef)
    local_model.zero_grad()
    loss.backward()
    stats["grad_norm"] = nn.utils.clip_grad_norm_(local_model.parameters(), cfg.max_grad_norm)
    push_gradients(local_model, shared_model)
    if cfg.anneal_lr:  # this process's copy of the step size, from the shared progress
        optimizer.param_groups[0]["lr"] = cfg.learning_rate * max(
            0.0, 1 - counter.value / cfg.total_timesteps)
    optimizer.step()  # on the shared theta, with the shared Adam statistics, no lock
    stats["adam_step"] = optimizer.state[next(shared_model.parameters())]["step"]
    return {k: f"{stats[k].item():.6g}" for k in STAT_NAMES}  # a row of updates.csv


def worker(rank, cfg, device, shared, parent_pid, run_dir):
    """Actor-learner k, a process: theta' <- theta, a segment, an update of theta, and again,
    until the budget is spent. A failure reaches the main process in one line, and a file."""
    shared_model, _, counter, stop, messages = shared

    def take_step():
        with counter.get_lock():  # the shared step counter ends training exactly on budget
            if counter.value >= cfg.total_timesteps:
                return None
            counter.value += 1
            return counter.value

    try:
        torch.set_num_threads(1)  # more threads per worker would only fight the other workers
        torch.manual_seed(cfg.seed + rank)
        np.random.seed(cfg.seed + rank)
        env, obs_space, act_space = make_env(cfg.env_id)
        env.action_space.seed(cfg.seed + rank)
        obs, _ = env.reset(seed=cfg.seed + rank)
        local_model = build_model(cfg, obs_space, act_space).to(device)
        torch.set_flush_denormal(True)  # as RunLog in main; after the env (numpy 1's finfo warns)
        state, ep_return, ep_length = local_model.initial_state(1, device), 0.0, 0
        while not stop.value and os.getppid() == parent_pid:  # until told to stop or orphaned
            with torch.no_grad():  # theta' <- theta
                torch._foreach_copy_([*local_model.parameters()], [*shared_model.parameters()])
            segment, obs, state = play_segment(local_model, env, act_space, obs, state,
                                               cfg.t_max, take_step)
            if not segment["rewards"]:  # the budget is spent
                break
            ep_return += sum(segment["rewards"])
            ep_length += len(segment["rewards"])
            if segment["terminated"] or segment["truncated"]:
                messages.put(("episode", segment["global_step"], ep_return, ep_length))
                obs, _ = env.reset()
                state, ep_return, ep_length = local_model.initial_state(1, device), 0.0, 0
            row = learn(local_model, shared, segment, cfg)
            messages.put(("update", segment["global_step"], dict(worker=rank, **row)))
        env.close()
        messages.close()  # flush this worker's messages to the pipe, then skip the interpreter's
        messages.join_thread()  # teardown: 0.5-0.8 s with torch loaded, and nothing is left to
        os._exit(0)  # write (the main process waits for this exit to end training)
    except Exception as e:
        path = os.path.join(run_dir, f"worker{rank}_error.txt")
        with open(path, "w") as f:
            traceback.print_exc(file=f)
        messages.put(("error", f"worker {rank} failed: {type(e).__name__}: {e} "
                               f"(traceback in {path})"))
        sys.exit(1)


def start_workers(cfg, device, shared, run_dir):
    """The workers, started with SIGINT and SIGTERM ignored (exec keeps that): Ctrl-C and kill
    reach this process alone, which stops them by `stop`, none amid a message or holding a lock."""
    workers = [SPAWN.Process(target=worker, daemon=True, args=(
        rank, cfg, device, shared, os.getpid(), run_dir)) for rank in range(cfg.num_workers)]
    handlers = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        for p in workers:
            p.start()
    finally:
        for s, handler in handlers.items():
            signal.signal(s, handler)
    return workers


def drain(messages, handle, timeout=0.0):  # every message waiting; the first up to timeout s
    with contextlib.suppress(queue.Empty):
        while True:
            handle(*messages.get(timeout=timeout))
            timeout = 0.0


def stop_workers(workers, stop, messages, handle, timeout=5.0):
    """Ask the workers to stop; kill those still running after `timeout` s: no orphans."""
    stop.value, deadline = 1, time.time() + timeout
    while any(p.is_alive() for p in workers) and time.time() < deadline:
        drain(messages, handle, 0.02)  # a worker cannot exit while its messages are unread
    for p in workers:
        p.kill()  # a no-op for those that have exited
        p.join()
    drain(messages, handle)


def train(cfg):
    """Train with A3C; return the result dict printed as the last stdout line."""
    device = setup(cfg)  # seeds the shared theta's initialisation
    obs_space, act_space = make_env(cfg.env_id)[1:]  # (the env itself is not needed)
    shared_model = build_model(cfg, obs_space, act_space).share_memory()  # stays on the CPU
    shared = (shared_model, SharedAdam(shared_model.parameters(), lr=cfg.learning_rate),
              SPAWN.Value("q", 0), SPAWN.Value("b", 0, lock=False), SPAWN.Queue())
    log = RunLog(cfg, ["update", "global_step", "worker"] + STAT_NAMES + ["wall_time_s"])
    (counter, stop, messages), errors, n_updates, interrupted = shared[2:], [], 0, []
    handlers = {s: signal.signal(s, lambda *_: interrupted.append(1))  # Ctrl-C, kill: a flag the
                for s in (signal.SIGINT, signal.SIGTERM)}  # loop reads, not a mid-read exception

    def handle(kind, *message):  # what a worker reports: an episode, an update, an error
        nonlocal n_updates
        if kind == "episode":
            log.episode(*message)
        elif kind == "update":
            n_updates, (step, row) = n_updates + 1, message
            log.update(step, update=n_updates, global_step=step, **row,
                       wall_time_s=round(time.time() - log.start, 3))
        else:
            errors.append(message[0])

    try:  # on Ctrl-C, a kill or a worker's failure too: no process outlives this one, theta kept
        workers = start_workers(cfg, device, shared, log.dir)
        try:
            while not (errors or interrupted) and not any(p.exitcode for p in workers) and any(
                    p.is_alive() for p in workers):
                drain(messages, handle, 0.1)
                log.show(counter.get_obj().value)  # unlocked: a killed worker may hold the lock
        finally:
            stop_workers(workers, stop, messages, handle)
    finally:
        log.close(model=shared_model.state_dict())
        for s, handler in handlers.items():  # as they were
            signal.signal(s, handler)
    if interrupted:  # raised only now: mid-read it would garble the queue; main() exits with 130
        raise KeyboardInterrupt
    errors += [f"worker {k} exited with code {p.exitcode}" for k, p in enumerate(workers)
               if p.exitcode]
    if errors:  # sys.exit(message): one line on stderr, exit status 1
        sys.exit(f"{NAME}.py: error: {errors[0]}")
    train_time, global_step = time.time() - log.start, counter.value
    log.show(global_step, last=True)
    return result(cfg, evaluate(shared_model.to(device), cfg, device), log.dir,
                  global_step=global_step, num_workers=cfg.num_workers, updates=n_updates,
                  train_time_s=round(train_time, 3), sps=round(global_step / train_time, 1))


@torch.no_grad()
def evaluate(model, cfg, device):
    """Returns of cfg.eval_episodes deterministic episodes (argmax or mean action)."""
    env, returns = make_env(cfg.env_id)[0], np.zeros(cfg.eval_episodes)
    for i in range(cfg.eval_episodes):
        obs, _ = env.reset(seed=cfg.seed + 10_000 + i)  # fixed seeds: --eval-only repeats them
        state, done = model.initial_state(1, device), False
        while not done:
            dist, _, state = model(obs[None], state)
            action = dist.logits.argmax(-1) if model.discrete else dist.mean
            obs, reward, terminated, truncated, _ = env.step(action[0].cpu().numpy())
            returns[i] += reward
            done = terminated or truncated
    env.close()
    return returns


def load_agent(cfg, ckpt, obs_space, act_space, device):
    (model := build_model(cfg, obs_space, act_space)).load_state_dict(ckpt["model"])
    return cfg, model.to(device)


# === The same in every file below this line (but NAME): flags, envs, logs, checkpoints, main ===
import argparse, csv, dataclasses, inspect, json, os, re, signal, sys, time  # noqa: E401,E402
NAME = "a3c"
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
