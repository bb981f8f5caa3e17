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
(gradients stop at the segment's start) and reset at episode ends. `--device` is where each
worker's local network computes; the shared model and SharedAdam stay in CPU shared memory.
The default is cpu: a worker steps one env at a time, so a 64-unit network on a GPU pays
kernel launches and host-device copies every step and a weight copy every segment, which
should cost more than the arithmetic it saves (compare with --device cuda where you have one).
Seeds: worker k uses seed + k. With --num-workers > 1 the order in which updates land on theta
depends on OS scheduling, so runs are not bitwise reproducible; --num-workers 1 is.

Usage:
    python a3c.py                                         # CartPole-v1, 2 workers
    python a3c.py --env-id Pendulum-v1 --num-workers 4 --total-timesteps 2000000 --seed 3
    python a3c.py --recurrent --num-workers 1 --total-timesteps 100000
    python a3c.py --eval-only --checkpoint runs/<run>/model.pt --eval-episodes 20
"""
import argparse
import csv
import dataclasses
import inspect
import json
import math
import os
import queue
import signal
import sys
import time
import traceback
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch
import torch.multiprocessing as mp
import torch.nn as nn


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
    value_coef: float = 0.5  # weight c_v of the value loss
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


# ---------------------------------------------------------------------------------------------
# The public API: pure functions of tensors, and the shared optimiser.
# ---------------------------------------------------------------------------------------------

def n_step_returns(rewards, next_values, terminated, episode_end, gamma, n):
    """R_t = sum_{k<m} gamma^k r_{t+k} + gamma^m (1 - terminated_{t+m-1}) V(s_{t+m}).

    Time-major [T] or [T, N]. m = min(n, steps to the end of t's episode or of the rollout).
    next_values[t] = V(s_{t+1}), the final observation's value where the episode was truncated;
    terminated[t]: s_{t+1} is terminal; episode_end[t]: terminated or truncated after step t.
    """
    T = rewards.shape[0]
    terminated = terminated.bool()
    episode_end = episode_end.bool()
    returns = torch.zeros_like(rewards)
    weight = torch.ones_like(rewards)  # gamma^k while step t+k still belongs to t's window
    for k in range(min(n, T)):
        w = weight[:T - k]
        returns[:T - k] = returns[:T - k] + w * rewards[k:]
        window_end = episode_end[k:].clone()  # the window of t = 0..T-k-1 closes at step t+k
        window_end[-1] = True  # the rollout's end
        if k == n - 1:
            window_end[:] = True
        bootstrap = w * gamma * torch.where(terminated[k:], 0.0, next_values[k:])  # no V after s_T
        returns[:T - k] = returns[:T - k] + torch.where(window_end, bootstrap, 0.0)
        weight[:T - k] = torch.where(window_end, 0.0, w * gamma)
    return returns


def a3c_loss(log_probs, values, entropies, returns, ent_coef, value_coef):
    """sum_t [-log pi(a_t|s_t) A_t - beta H_t + c_v (R_t - V(s_t))^2 / 2], A_t = R_t - V(s_t).

    Summed over the segment as in the paper's accumulated gradients. The advantage is a
    constant for the policy term, and the returns a constant target for V.
    """
    advantages = (returns - values).detach()
    policy_loss = -(log_probs * advantages).sum()
    value_loss = 0.5 * ((returns.detach() - values) ** 2).sum()
    entropy = entropies.sum()
    loss = policy_loss - ent_coef * entropy + value_coef * value_loss
    return loss, {"policy_loss": policy_loss.detach(), "value_loss": value_loss.detach(),
                  "entropy": entropy.detach() / entropies.shape[0]}


class SharedAdam(torch.optim.Adam):
    """Adam whose step counts and moment estimates live in shared memory.

    Created once, before the workers start, over the parameters of a model in shared memory.
    Every worker process then steps the same statistics (Hogwild: no lock). Run serially on a
    gradient sequence it gives exactly torch.optim.Adam's result.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        # foreach=False: the single-tensor path updates `step` in place, which keeps it shared.
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         foreach=False)
        for group in self.param_groups:
            for p in group["params"]:
                if p.device.type != "cpu":
                    raise ValueError("SharedAdam needs parameters in CPU (shared) memory")
                state = self.state[p]  # the lazy initialisation of Adam, done now and shared
                state["step"] = torch.zeros((), dtype=torch.float32).share_memory_()
                state["exp_avg"] = torch.zeros_like(p).share_memory_()
                state["exp_avg_sq"] = torch.zeros_like(p).share_memory_()


def push_gradients(local_model, shared_model):
    """Copy the local gradients onto the shared parameters, on every update.

    A widely copied version assigns the local .grad tensor once and later skips the copy,
    trusting that the local tensor keeps being reused; zero_grad(set_to_none=True) makes a new
    one each update, so the shared model would apply its first gradient forever.
    """
    for local, shared in zip(local_model.parameters(), shared_model.parameters()):
        shared.grad = None if local.grad is None else local.grad.to("cpu", copy=True)


# ---------------------------------------------------------------------------------------------
# Networks
# ---------------------------------------------------------------------------------------------

def mlp(in_dim, out_dim, hidden):
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.Tanh(), nn.Linear(hidden, hidden),
                         nn.Tanh(), nn.Linear(hidden, out_dim))


class ActorCritic(nn.Module):
    """pi_theta(a|s) and V(s): two MLPs, or (recurrent) one LSTM trunk with two heads."""

    def __init__(self, obs_dim, action_space, hidden, init_log_std, recurrent=False):
        super().__init__()
        self.discrete = isinstance(action_space, gym.spaces.Discrete)
        self.recurrent, self.hidden = recurrent, hidden
        act_dim = int(action_space.n) if self.discrete else action_space.shape[0]
        if recurrent:  # the paper's LSTM agent: policy and value share the trunk
            self.encoder = nn.Sequential(nn.Linear(obs_dim, hidden), nn.Tanh())
            self.lstm = nn.LSTMCell(hidden, hidden)
            self.pi, self.v = nn.Linear(hidden, act_dim), nn.Linear(hidden, 1)
        else:
            self.pi, self.v = mlp(obs_dim, act_dim, hidden), mlp(obs_dim, 1, hidden)
        if not self.discrete:
            self.log_std = nn.Parameter(torch.full((act_dim,), init_log_std))

    def initial_state(self, batch, device):
        """The LSTM's (h, c) at an episode's start; None for the feedforward network."""
        if not self.recurrent:
            return None
        return (torch.zeros(batch, self.hidden, device=device),) * 2

    def forward(self, obs, state=None):
        """obs [B, obs_dim] -> (distribution over actions, V(s) [B], next recurrent state)."""
        features = obs
        if self.recurrent:
            state = self.lstm(self.encoder(obs), state)
            features = state[0]
        value = self.v(features).squeeze(-1)
        if self.discrete:
            # validate_args=False: the argument checks cost more than this small network
            return (torch.distributions.Categorical(logits=self.pi(features), validate_args=False),
                    value, state)
        normal = torch.distributions.Normal(self.pi(features), self.log_std.exp(),
                                            validate_args=False)
        return torch.distributions.Independent(normal, 1), value, state

    def act(self, obs, state=None, deterministic=False):
        dist, _, state = self(obs, state)
        if not deterministic:
            return dist.sample(), state
        return (dist.logits.argmax(-1) if self.discrete else dist.mean), state


# ---------------------------------------------------------------------------------------------
# Environment, checks and logging
# ---------------------------------------------------------------------------------------------

class ConfigError(Exception):
    """Bad input from the user: reported in one line, exit status 2."""


class WorkerError(Exception):
    """A worker process failed: reported in one line, exit status 1."""


def check_config(cfg):
    if not (0 <= cfg.seed and cfg.seed + max(cfg.num_workers, 1) <= 2**32):  # worker k: seed + k
        raise ConfigError(f"--seed must be in [0, 2**32 - num_workers], got {cfg.seed}")
    for name in ("total_timesteps", "num_workers", "t_max", "learning_rate", "hidden_size",
                 "max_grad_norm"):
        if not getattr(cfg, name) > 0:
            raise ConfigError(f"--{name.replace('_', '-')} must be > 0, got {getattr(cfg, name)}")
    if not 0.0 < cfg.gamma <= 1.0:
        raise ConfigError(f"--gamma must be in (0, 1], got {cfg.gamma}")
    if not (cfg.ent_coef >= 0 and cfg.value_coef >= 0 and cfg.eval_episodes >= 0):  # NaN too
        raise ConfigError("--ent-coef, --value-coef and --eval-episodes must be >= 0")
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


def make_env(env_id):
    """One env; unsupported spaces are errors."""
    try:
        env = gym.make(env_id)
    except (gym.error.Error, ImportError, ModuleNotFoundError) as e:
        raise ConfigError(f"cannot make env {env_id!r}: {e}") from None
    obs_space, act_space = env.observation_space, env.action_space
    if not (isinstance(obs_space, gym.spaces.Box) and len(obs_space.shape) == 1):
        env.close()
        raise ConfigError(f"{env_id}: observations must be a flat Box, got {obs_space}")
    box = isinstance(act_space, gym.spaces.Box) and len(act_space.shape) == 1
    if not (isinstance(act_space, gym.spaces.Discrete) or box):
        env.close()
        raise ConfigError(f"{env_id}: actions must be Discrete or a flat Box, got {act_space}")
    return env, obs_space, act_space


def to_env_action(action, act_space):
    """Gaussian samples are clipped to the bounds only here, on their way to the env."""
    if isinstance(act_space, gym.spaces.Box):
        return np.clip(action, act_space.low, act_space.high)
    return int(action)


def build_model(cfg, obs_space, act_space):
    return ActorCritic(obs_space.shape[0], act_space, cfg.hidden_size, cfg.init_log_std,
                       cfg.recurrent)


class CsvLog:
    """A CSV file flushed row by row, so an interrupted run keeps its data."""

    def __init__(self, path, columns):
        self.file = open(path, "w", newline="")
        self.writer = csv.writer(self.file)
        self.writer.writerow(columns)

    def write(self, row):
        self.writer.writerow(row)
        self.file.flush()


def save_checkpoint(path, model, cfg):
    tmp = path + ".tmp"  # write, then rename: a crash never leaves a half-written model
    torch.save({"algo": "a3c", "config": dataclasses.asdict(cfg), "model": model.state_dict()},
               tmp)
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------------
# Training: the actor-learner processes, then the main process that starts and watches them
# ---------------------------------------------------------------------------------------------

def worker(rank, cfg, shared_model, optimizer, counter, stop, messages, parent_pid):
    """One actor-learner. Runs in its own process; failures are sent to the main process."""
    try:
        actor_learner(rank, cfg, shared_model, optimizer, counter, stop, messages, parent_pid)
    except Exception as e:
        with open(os.path.join(cfg.run_dir, f"worker{rank}_error.txt"), "w") as f:
            traceback.print_exc(file=f)
        messages.put(("error", rank, f"{type(e).__name__}: {e}"))
        sys.exit(1)


def play_segment(model, env, act_space, obs, state, t_max, take_step):
    """Up to t_max steps of the current episode with pi_theta', keeping the graph for the loss.

    take_step() reserves one step of the shared budget: its global number, or None when spent.
    Returns the segment (lists of log pi(a_t|s_t), H_t, V(s_t), r_t; the episode's end flags;
    V(s_T) of the last observation, the final one when truncated), the observation and the
    recurrent state reached. A segment never spans two episodes.
    """
    device = next(model.parameters()).device
    segment = {"log_probs": [], "entropies": [], "values": [], "rewards": [],
               "terminated": False, "truncated": False, "global_step": None}
    for _ in range(t_max):
        global_step = take_step()
        if global_step is None:
            break
        dist, value, state = model(torch.as_tensor(obs, dtype=torch.float32,
                                                   device=device)[None], state)
        action = dist.sample()
        obs, reward, terminated, truncated, _ = env.step(
            to_env_action(action[0].cpu().numpy(), act_space))
        segment["log_probs"].append(dist.log_prob(action)[0])
        segment["entropies"].append(dist.entropy()[0])
        segment["values"].append(value[0])
        segment["rewards"].append(float(reward))
        segment.update(terminated=terminated, truncated=truncated, global_step=global_step)
        if terminated or truncated:
            break
    with torch.no_grad():  # the bootstrap V(s_T); n_step_returns ignores it after a termination
        segment["next_value"] = model(torch.as_tensor(obs, dtype=torch.float32,
                                                      device=device)[None], state)[1]
    return segment, obs, state


def actor_learner(rank, cfg, shared_model, optimizer, counter, stop, messages, parent_pid):
    # Small networks: one thread per worker; more would only fight the other workers for cores.
    torch.set_num_threads(1)
    torch.manual_seed(cfg.seed + rank)
    np.random.seed(cfg.seed + rank)
    device = resolve_device(cfg.device)
    env, obs_space, act_space = make_env(cfg.env_id)
    env.action_space.seed(cfg.seed + rank)
    obs, _ = env.reset(seed=cfg.seed + rank)
    local_model = build_model(cfg, obs_space, act_space).to(device)
    state = local_model.initial_state(1, device)
    ep_return, ep_length = 0.0, 0

    def take_step():
        with counter.get_lock():  # the shared step counter ends training exactly on budget
            if counter.value >= cfg.total_timesteps:
                return None
            counter.value += 1
            return counter.value

    # Stop when told to, when the budget is spent, or when the main process died (orphaned).
    while not stop.is_set() and os.getppid() == parent_pid:
        local_model.load_state_dict(shared_model.state_dict())  # theta' <- theta
        if state is not None:  # carried across segments, but gradients stop here
            state = tuple(s.detach() for s in state)
        segment, obs, state = play_segment(local_model, env, act_space, obs, state, cfg.t_max,
                                           take_step)
        rewards, terminated = segment["rewards"], segment["terminated"]
        if not rewards:
            break
        ep_return, ep_length = ep_return + sum(rewards), ep_length + len(rewards)
        global_step = segment["global_step"]
        if terminated or segment["truncated"]:
            messages.put(("episode", rank, global_step, ep_return, ep_length))
            obs, _ = env.reset()
            state = local_model.initial_state(1, device)
            ep_return, ep_length = 0.0, 0

        values = torch.stack(segment["values"])  # [T]
        T = len(rewards)
        term, end = torch.zeros(T, dtype=torch.bool), torch.zeros(T, dtype=torch.bool)
        term[-1], end[-1] = terminated, terminated or segment["truncated"]
        returns = n_step_returns(torch.tensor(rewards, device=device),
                                 torch.cat([values[1:].detach(), segment["next_value"]]),
                                 term.to(device), end.to(device), cfg.gamma, cfg.t_max)
        loss, stats = a3c_loss(torch.stack(segment["log_probs"]), values,
                               torch.stack(segment["entropies"]), returns, cfg.ent_coef,
                               cfg.value_coef)
        local_model.zero_grad()
        loss.backward()
        grad_norm = nn.utils.clip_grad_norm_(local_model.parameters(), cfg.max_grad_norm)
        push_gradients(local_model, shared_model)
        if cfg.anneal_lr:  # this process's copy of the step size, from the shared progress
            optimizer.param_groups[0]["lr"] = cfg.learning_rate * max(
                0.0, 1 - counter.value / cfg.total_timesteps)
        optimizer.step()  # on the shared theta, with the shared Adam statistics, no lock
        adam_step = int(optimizer.state[next(shared_model.parameters())]["step"].item())
        messages.put(("update", rank, global_step, *(stats[k].item() for k in stats),
                      grad_norm.item(), adam_step))
    env.close()


def stop_workers(workers, stop, messages, handle, timeout=5.0):
    """Ask the workers to stop, then terminate and kill those that do not: no orphans."""
    stop.set()
    deadline = time.time() + timeout
    while any(p.is_alive() for p in workers) and time.time() < deadline:
        drain(messages, handle)  # a worker cannot exit while its queued messages are unread
        time.sleep(0.02)
    for p in workers:
        if p.is_alive():
            p.terminate()
    for p in workers:
        p.join(2.0)
        if p.is_alive():
            p.kill()
            p.join()
    drain(messages, handle)


def drain(messages, handle):
    while True:
        try:
            handle(messages.get_nowait())
        except queue.Empty:
            return


def train(cfg):
    """Train with A3C; return the result dict printed as the last stdout line."""
    check_config(cfg)
    device = resolve_device(cfg.device)
    torch.set_num_threads(1)  # the main process only logs and evaluates
    torch.manual_seed(cfg.seed)  # the shared model's initial theta
    np.random.seed(cfg.seed)
    env, obs_space, act_space = make_env(cfg.env_id)
    env.close()
    if cfg.tensorboard:  # checked before anything is written
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise ConfigError("--tensorboard needs the tensorboard package: "
                              "pip install tensorboard") from None
    cfg = dataclasses.replace(cfg, run_dir=cfg.run_dir or os.path.join(
        "runs", f"a3c__{cfg.env_id.replace('/', '-')}__{cfg.seed}__{int(time.time())}"))
    try:
        os.makedirs(cfg.run_dir, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"cannot create --run-dir {cfg.run_dir}: {e.strerror}") from None
    with open(os.path.join(cfg.run_dir, "config.json"), "w") as f:
        json.dump(dataclasses.asdict(cfg), f, indent=2)
    progress = CsvLog(os.path.join(cfg.run_dir, "progress.csv"),
                      ["global_step", "episode_return", "episode_length", "wall_time_s"])
    stat_names = ["policy_loss", "value_loss", "entropy", "grad_norm", "adam_step"]
    updates = CsvLog(os.path.join(cfg.run_dir, "updates.csv"),
                     ["update", "global_step", "worker"] + stat_names + ["wall_time_s"])
    writer = SummaryWriter(cfg.run_dir) if cfg.tensorboard else None

    shared_model = build_model(cfg, obs_space, act_space).share_memory()  # stays on the CPU
    optimizer = SharedAdam(shared_model.parameters(), lr=cfg.learning_rate)
    ctx = mp.get_context("spawn")  # fork would copy torch and CUDA state: unsafe
    counter, stop, messages = ctx.Value("q", 0), ctx.Event(), ctx.Queue()
    workers = [ctx.Process(target=worker, daemon=True, args=(
        rank, cfg, shared_model, optimizer, counter, stop, messages, os.getpid()))
        for rank in range(cfg.num_workers)]
    recent, errors, n_updates = [], [], 0
    start = last_print = time.time()

    def handle(message):
        nonlocal n_updates
        kind, rank, *rest = message
        wall = round(time.time() - start, 3)
        if kind == "episode":
            global_step, ep_return, ep_length = rest
            recent.append(ep_return)
            del recent[:-20]
            progress.write([global_step, ep_return, ep_length, wall])
            if writer:
                writer.add_scalar("charts/episode_return", ep_return, global_step)
        elif kind == "update":
            n_updates += 1
            updates.write([n_updates, rest[0], rank] + [f"{x:.6g}" for x in rest[1:]] + [wall])
            if writer:
                for name, x in zip(stat_names, rest[1:]):
                    writer.add_scalar(f"losses/{name}", x, rest[0])
        else:
            errors.append(f"worker {rank} failed: {rest[0]} "
                          f"(traceback in {cfg.run_dir}/worker{rank}_error.txt)")

    # Workers start with SIGINT ignored (inherited through exec): on Ctrl-C the main process
    # alone decides, stops them and saves the model.
    sigint = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        for p in workers:
            p.start()
    finally:
        signal.signal(signal.SIGINT, sigint)
    try:
        while any(p.is_alive() for p in workers) and not errors:
            try:
                handle(messages.get(timeout=0.1))
            except queue.Empty:
                pass
            if any(p.exitcode not in (None, 0) for p in workers):
                break
            now = time.time()
            if not cfg.quiet and now - last_print >= 2.0:
                last_print, step = now, counter.value
                sps = step / (now - start)
                print(f"step {step}/{cfg.total_timesteps} | return "
                      f"{np.mean(recent) if recent else float('nan'):.1f} (last {len(recent)})"
                      f" | {sps:.0f} steps/s | {(cfg.total_timesteps - step) / max(sps, 1e-9):.0f}"
                      " s left", file=sys.stderr, flush=True)
    finally:  # on Ctrl-C or a worker's failure too: no process outlives this one
        stop_workers(workers, stop, messages, handle)
        save_checkpoint(os.path.join(cfg.run_dir, "model.pt"), shared_model, cfg)
        for log in (progress, updates):
            log.file.close()
        if writer:
            writer.close()
    failed = [p for p in workers if p.exitcode not in (0, None)]
    if errors or failed:
        raise WorkerError(errors[0] if errors else f"worker {workers.index(failed[0])} "
                          f"exited with code {failed[0].exitcode}")
    train_time = time.time() - start
    global_step = counter.value

    returns = evaluate(shared_model.to(device), cfg.env_id, cfg.eval_episodes, cfg.seed, device)
    return {"algo": "a3c", "env_id": cfg.env_id, "seed": cfg.seed,
            "total_timesteps": cfg.total_timesteps, "global_step": global_step,
            "num_workers": cfg.num_workers, "updates": n_updates,
            "eval_return_mean": float(np.mean(returns)) if len(returns) else None,
            "eval_return_std": float(np.std(returns)) if len(returns) else None,
            "train_time_s": round(train_time, 3), "sps": round(global_step / train_time, 1),
            "run_dir": cfg.run_dir}


def evaluate(model, env_id, episodes, seed, device):
    """Returns of `episodes` deterministic episodes (argmax or mean action), seeded from `seed`."""
    env, _, act_space = make_env(env_id)
    returns = []
    for i in range(episodes):
        obs, _ = env.reset(seed=seed + 10_000 + i)  # fixed seeds: --eval-only reproduces these
        state = model.initial_state(1, device)
        done, total = False, 0.0
        while not done:
            with torch.no_grad():
                action, state = model.act(torch.as_tensor(obs, dtype=torch.float32,
                                                          device=device)[None],
                                          state, deterministic=True)
            obs, reward, terminated, truncated, _ = env.step(
                to_env_action(action[0].cpu().numpy(), act_space))
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    env.close()
    return np.array(returns)


def evaluate_checkpoint(given):
    """--eval-only: rebuild the model from a checkpoint and evaluate it."""
    path = given.get("checkpoint", "")
    if not path:
        raise ConfigError("--eval-only needs --checkpoint PATH")
    if not os.path.isfile(path):
        raise ConfigError(f"checkpoint not found: {path}")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        cfg = dataclasses.replace(Config(**ckpt["config"]), **given)
    except Exception as e:  # unreadable, or written by another program or version
        raise ConfigError(f"{path} is not an a3c.py checkpoint ({type(e).__name__})") from None
    if ckpt.get("algo") != "a3c":
        raise ConfigError(f"{path} was written by {ckpt.get('algo')!r}, not a3c.py")
    check_config(cfg)
    device = resolve_device(cfg.device)
    torch.set_num_threads(1)
    env, obs_space, act_space = make_env(cfg.env_id)
    env.close()
    model = build_model(cfg, obs_space, act_space)
    try:
        model.load_state_dict(ckpt["model"])
    except RuntimeError:
        raise ConfigError(f"{path} does not match {cfg.env_id}'s observation or action space "
                          "or the network flags") from None
    returns = evaluate(model.to(device), cfg.env_id, cfg.eval_episodes, cfg.seed, device)
    return {"algo": "a3c", "env_id": cfg.env_id, "seed": cfg.seed,
            "total_timesteps": cfg.total_timesteps,
            "eval_return_mean": float(np.mean(returns)) if len(returns) else None,
            "eval_return_std": float(np.std(returns)) if len(returns) else None,
            "train_time_s": None, "sps": None, "run_dir": os.path.dirname(path),
            "eval_only": True}


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
    parser = ArgumentParser(prog="a3c.py", argument_default=argparse.SUPPRESS,
                            description=__doc__.split("\n")[0])
    for f in dataclasses.fields(Config):
        flag, text = "--" + f.name.replace("_", "-"), f"{comments.get(f.name, '')} [{f.default}]"
        if f.type is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, help=text)
        else:
            parser.add_argument(flag, type=f.type, help=text)
    return vars(parser.parse_args(argv))


def main(argv=None):
    given = parse_args(argv)
    try:
        result = evaluate_checkpoint(given) if given.get("eval_only") else train(Config(**given))
    except ConfigError as e:
        print(f"a3c.py: error: {e}", file=sys.stderr)
        sys.exit(2)
    except WorkerError as e:
        print(f"a3c.py: error: {e}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("a3c.py: interrupted; the workers are stopped, the model and logs written so far "
              "are kept", file=sys.stderr)
        sys.exit(130)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
