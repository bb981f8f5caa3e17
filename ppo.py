"""PPO: proximal policy optimization (Schulman, Wolski, Dhariwal, Radford, Klimov, 2017).

An on-policy gradient step uses its batch once. PPO reuses it for K epochs of minibatch updates
by maximising a surrogate that stops rewarding a policy for moving far from pi_old, the policy
that collected the batch (a first-order stand-in for TRPO's KL trust region, 2015):

    rho_t = pi_theta(a_t|s_t) / pi_old(a_t|s_t)
    L^CLIP = E_t[ min(rho_t A_t, clip(rho_t, 1 - eps, 1 + eps) A_t) ]     (section 3)
    L^KLPEN = E_t[ rho_t A_t - beta KL[pi_old(.|s_t), pi_theta(.|s_t)] ]  (section 4, beta adapted)

L^CLIP is a pessimistic (lower) bound on the unclipped objective and equals it to first order at
theta = theta_old, where its gradient is the vanilla policy gradient E_t[grad log pi A_t]. A_t is
GAE (compute_gae; Schulman et al., 2016), V(s) regresses on the returns A_t + V(s_t). Algorithm 1,
actor-critic style: N envs run pi_old for T steps, then K epochs over minibatches of M <= NT
transitions maximise L - c_1 L^VF + c_2 S[pi].

Truncation (a time limit) is bootstrapped from V(final observation), termination is not. Envs
autoreset in the same step (AutoresetMode.SAME_STEP, info["final_obs"]): no batch step is a reset.

Usage:
    python ppo.py                        # CartPole-v1, 100k steps, L^CLIP (--objective kl-penalty)
    python ppo.py --env-id Pendulum-v1   # 200k steps with its tuned settings (ENV_SETTINGS)
    python ppo.py --eval-only --checkpoint runs/<run>/model.pt --eval-episodes 20
"""
import copy
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch
import torch.nn as nn

CHOICES = {"objective": ("clip", "kl-penalty")}
LIMITS = {"gamma": "0 < x <= 1", "gae_lambda": "0 <= x <= 1", "clip_eps": "0 < x < 1",
          **{k: "x > 0" for k in ("total_timesteps", "num_envs", "num_steps", "minibatch_size",
                                  "update_epochs", "max_grad_norm", "hidden_size")},
          **{k: "0 < x < inf" for k in ("learning_rate", "kl_target")}, "eval_episodes": "x >= 0",
          **{k: "0 <= x < inf" for k in ("ent_coef", "vf_coef", "target_kl")},
          "kl_beta": "1e-10 <= x <= 1e10", "init_log_std": "abs(x) <= 20"}  # exp(20): float32
STAT_NAMES = ["policy_loss", "value_loss", "entropy", "approx_kl", "clip_frac"]  # updates.csv
ENV_SETTINGS = {  # tuned settings by env id, under the flags given (--help lists them)
    "CartPole-v1": {},  # the defaults: RL Zoo's CartPole-v1 settings
    "Pendulum-v1": dict(total_timesteps=200_000, num_envs=4, num_steps=512, minibatch_size=64,
                        update_epochs=10, gamma=0.9, gae_lambda=0.95),
    **dict.fromkeys(("Hopper-v5", "HalfCheetah-v5"), dict(  # CleanRL's MuJoCo settings
        total_timesteps=1_000_000, num_envs=1, num_steps=2048, minibatch_size=64,
        update_epochs=10, learning_rate=3e-4, gamma=0.99, gae_lambda=0.95, anneal_clip=False))}


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
    norm_obs: bool = None  # normalise observations and scale rewards; default: on for Box actions
    eval_episodes: int = 10  # deterministic evaluation episodes at the end
    run_dir: str = ""  # default runs/ppo__<env>__<seed>__<unix time>
    checkpoint: str = ""  # model.pt to load with --eval-only
    eval_only: bool = False  # load --checkpoint and only evaluate it
    tensorboard: bool = False  # also write TensorBoard events
    quiet: bool = False  # no progress lines


def as_tensors(where, **named):  # lists and numpy arrays too; one shape for all of them
    device = next((x.device for x in named.values() if torch.is_tensor(x)), None)
    tensors = [torch.as_tensor(x, device=device) for x in named.values()]  # a tensor: itself
    if len({x.shape for x in tensors}) > 1:  # broadcasting them would give a wrong answer
        shapes = " and ".join(f"{name} {list(x.shape)}" for name, x in zip(named, tensors))
        raise ValueError(f"{where}: {shapes} must have one shape")
    return tensors


def compute_gae(rewards, values, next_values, terminated, episode_end, gamma, lam):
    """(advantages, returns) by generalized advantage estimation, time-major [T] or [T, N].
    delta_t = r_t + gamma (1 - terminated_t) next_values_t - values_t
    A_t = delta_t + gamma lam (1 - episode_end_t) A_{t+1},  A_T = 0;  returns = A + values.
    next_values_t = V(s_{t+1}), the final observation's if truncated; terminated/episode_end 0/1."""
    rewards, values, next_values, terminated, episode_end = as_tensors(
        "compute_gae", rewards=rewards, values=values, next_values=next_values,
        terminated=terminated, episode_end=episode_end)
    if rewards.dim() == 0 or len(rewards) == 0 or not (0 <= gamma <= 1 and 0 <= lam <= 1):
        raise ValueError(f"compute_gae: want rewards [T] or [T, N] with T >= 1, gamma and lam in "
                         f"[0, 1]; got {list(rewards.shape)}, {gamma}, {lam}")
    if (terminated.bool() & ~episode_end.bool()).any():  # e.g. truncated passed as episode_end
        raise ValueError("compute_gae: episode_end must be true wherever terminated is")
    deltas = rewards + gamma * (1.0 - terminated.to(next_values.dtype)) * next_values - values
    advantages, running, not_end = torch.zeros_like(deltas), 0.0, 1.0 - episode_end.to(deltas.dtype)
    for t in reversed(range(deltas.shape[0])):
        running = advantages[t] = deltas[t] + gamma * lam * not_end[t] * running
    return advantages, advantages + values


def ppo_clip_objective(log_probs, old_log_probs, advantages, clip_eps):
    """L^CLIP = mean_t min(rho_t A_t, clip(rho_t, 1 - eps, 1 + eps) A_t), rho = exp(lp - old_lp).
    The gradient flows through log_probs only; old_log_probs and advantages are constants."""
    log_probs, old_log_probs, advantages = as_tensors(
        "ppo_clip_objective", log_probs=log_probs, old_log_probs=old_log_probs,
        advantages=advantages)
    if not clip_eps > 0:
        raise ValueError(f"ppo_clip_objective: clip_eps must be > 0, not {clip_eps}")
    ratio, advantages = (log_probs - old_log_probs.detach()).exp(), advantages.detach()
    return torch.min(ratio * advantages,
                     ratio.clamp(1.0 - clip_eps, 1.0 + clip_eps) * advantages).mean()


def ppo_kl_penalty_objective(log_probs, old_log_probs, advantages, kl, beta):
    """L^KLPEN = mean_t (rho_t A_t - beta KL_t), KL_t = KL[pi_old(.|s_t), pi_theta(.|s_t)]."""
    log_probs, old_log_probs, advantages, kl = as_tensors(
        "ppo_kl_penalty_objective", log_probs=log_probs, old_log_probs=old_log_probs,
        advantages=advantages, kl=kl)
    if not beta >= 0:
        raise ValueError(f"ppo_kl_penalty_objective: beta must be >= 0, not {beta}")
    return ((log_probs - old_log_probs.detach()).exp() * advantages.detach() - beta * kl).mean()


def adapt_kl_beta(beta, kl, kl_target):
    """The paper's rule: halve beta when d < d_targ / 1.5, double it when d > 1.5 d_targ."""
    if not (beta > 0 and kl_target > 0):
        raise ValueError(f"adapt_kl_beta: beta and kl_target must be > 0; got {beta}, {kl_target}")
    beta = beta / 2.0 if kl < kl_target / 1.5 else beta * 2.0 if kl > kl_target * 1.5 else beta
    return min(max(beta, 1e-10), 1e10)  # --kl-beta's range: halved for ever, a float reaches 0


def value_loss(values, old_values, returns, clip_eps=None):
    """0.5 mean (V - R)^2, or with clip_eps the pessimistic
    0.5 mean max((V - R)^2, (V_old + clip(V - V_old, -eps, eps) - R)^2)."""
    values, returns = as_tensors("value_loss", values=values, returns=returns)
    loss = (values - returns.detach()) ** 2
    if clip_eps is not None:
        values, old_values = as_tensors("value_loss", values=values, old_values=old_values)
        if not clip_eps > 0:
            raise ValueError(f"value_loss: clip_eps must be > 0 (or None), not {clip_eps}")
        clipped = old_values.detach() + (values - old_values.detach()).clamp(-clip_eps, clip_eps)
        loss = torch.max(loss, (clipped - returns.detach()) ** 2)
    return 0.5 * loss.mean()


def mlp(in_dim, out_dim, hidden, out_gain):
    """Tanh MLP, orthogonal init: gain sqrt(2), and a small policy head starts pi near uniform."""
    layers = [nn.Linear(in_dim, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(),
              nn.Linear(hidden, out_dim)]
    for layer, gain in zip(layers[::2], (np.sqrt(2), np.sqrt(2), out_gain)):
        nn.init.orthogonal_(layer.weight, gain)
        nn.init.zeros_(layer.bias)
    return nn.Sequential(*layers)


class Agent(nn.Module):
    """Actor pi(a|s): softmax or N(mu(s), diag(exp(log_std))^2), log_std free of s; critic V(s)."""
    def __init__(self, obs_dim, action_space, hidden, init_log_std):
        super().__init__()
        self.discrete = isinstance(action_space, gym.spaces.Discrete)
        act_dim = int(action_space.n) if self.discrete else action_space.shape[0]
        self.actor, self.critic = mlp(obs_dim, act_dim, hidden, 0.01), mlp(obs_dim, 1, hidden, 1.0)
        if not self.discrete:
            self.log_std = nn.Parameter(torch.full((act_dim,), float(init_log_std)))

    def dist(self, obs):  # validate_args=False: argument checks cost more than these tiny nets
        if self.discrete:
            return torch.distributions.Categorical(logits=self.actor(obs), validate_args=False)
        return torch.distributions.Independent(torch.distributions.Normal(
            self.actor(obs), self.log_std.exp(), validate_args=False), 1, validate_args=False)

    def sample(self, obs):  # a ~ pi(.|s) and log pi(a|s), as dist.sample() and dist.log_prob(a)
        if self.discrete:  # normalised and drawn as Categorical does, without its object per step
            log_pi = (logits := self.actor(obs)) - logits.logsumexp(-1, keepdim=True)
            actions = torch.multinomial(log_pi.softmax(-1), 1)
            return actions.squeeze(-1), log_pi.gather(-1, actions).squeeze(-1)
        actions = (dist := self.dist(obs)).sample()
        return actions, dist.log_prob(actions)

    def value(self, obs):
        return self.critic(obs).squeeze(-1)


class RunningMeanStd:  # mean and variance of a stream of batches, merged exactly (Chan et al.)
    def __init__(self, shape=()):
        self.mean, self.var, self.count = np.zeros(shape), np.ones(shape), 1e-4

    def update(self, x):
        n, delta, total = x.shape[0], x.mean(0) - self.mean, self.count + x.shape[0]
        self.var = (self.var * self.count + x.var(0) * n
                    + delta**2 * self.count * n / total) / total
        self.mean, self.count = self.mean + delta * n / total, total


class Normalizer:
    """Obs normalisation, reward scaling by the discounted return's std (Engstrom et al., 2020)."""
    def __init__(self, obs_dim, num_envs, gamma, enabled, clip=10.0):
        self.enabled, self.gamma, self.clip, self.ret = enabled, gamma, clip, np.zeros(num_envs)
        self.obs_rms, self.ret_rms = RunningMeanStd((obs_dim,)), RunningMeanStd()

    def obs(self, obs, update=False):
        if self.enabled and update:
            self.obs_rms.update(obs)
        return np.clip((obs - self.obs_rms.mean) / np.sqrt(self.obs_rms.var + 1e-8), -self.clip,
                       self.clip) if self.enabled else obs

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
        self.enabled, self.obs_rms.count = state["enabled"], state["obs_count"]
        self.obs_rms.mean, self.obs_rms.var, self.ret_rms.var = (
            np.array(state[k]) for k in ("obs_mean", "obs_var", "ret_var"))


def rollout_storage(T, N, obs_space, act_space, device):
    action_dtype = torch.long if isinstance(act_space, gym.spaces.Discrete) else torch.float32
    buf = {k: torch.zeros(T, N, device=device) for k in ("log_probs", "values", "final_values")}
    return {**buf, "obs": torch.zeros((T, N) + obs_space.shape, device=device),
            "actions": torch.zeros((T, N) + act_space.shape, dtype=action_dtype, device=device)}


@torch.no_grad()
def collect_rollout(envs, agent, normalizer, obs, buf, episodes):
    """Run pi_old for T steps of the N envs into `buf` ([T, N]), adding buf["next_values"] =
    V(s_{t+1}). obs: normalised observations [N, obs_dim]; episodes: each env's running raw return
    and length. Returns the next obs and the finished episodes as (step t, env, return, length)."""
    device, finished, T = buf["values"].device, [], buf["values"].shape[0]
    env_out = np.zeros((3, T, len(obs)), np.float32)  # rewards, terminated, episode_end (0/1)
    for t in range(T):
        buf["obs"][t] = obs_t = torch.as_tensor(obs, dtype=torch.float32, device=device)
        actions, buf["log_probs"][t] = agent.sample(obs_t)
        buf["actions"][t], buf["values"][t] = actions, agent.value(obs_t)
        raw_next, rewards, terminated, truncated, info = envs.step(actions.cpu().numpy())
        episode_end = terminated | truncated
        episodes["return"] += rewards
        episodes["length"] += 1
        finished += [(t, i, float(episodes["return"][i]), int(episodes["length"][i]))
                     for i in np.flatnonzero(episode_end)]
        episodes["return"][episode_end], episodes["length"][episode_end] = 0.0, 0
        env_out[:, t] = normalizer.reward(rewards, episode_end), terminated, episode_end
        obs = normalizer.obs(raw_next, update=True)  # after a reset: the next episode's s_0
        if episode_end.any():  # V(s_{t+1}) of an ended episode: its final observation's value
            final_obs = np.stack(info["final_obs"][episode_end])
            buf["final_values"][t, torch.as_tensor(episode_end, device=device)] = agent.value(
                torch.as_tensor(normalizer.obs(final_obs), dtype=torch.float32, device=device))
    buf["rewards"], buf["terminated"], buf["episode_end"] = torch.as_tensor(env_out, device=device)
    last_values = agent.value(torch.as_tensor(obs, dtype=torch.float32, device=device))
    next_values = torch.cat([buf["values"][1:], last_values[None]])
    buf["next_values"] = torch.where(buf["episode_end"].bool(), buf["final_values"], next_values)
    return obs, finished


def ppo_update(agent, opt, batch, cfg, clip_eps, kl_beta):
    """K epochs of shuffled minibatches on one flat batch. Returns one stats dict per epoch."""
    old_agent = copy.deepcopy(agent).requires_grad_(False) if cfg.objective != "clip" else None
    n, epochs, params = batch["values"].shape[0], [], list(agent.parameters())
    for _ in range(cfg.update_epochs):
        sums, order = [], torch.randperm(n, device=batch["values"].device)
        for start in range(0, n - cfg.minibatch_size + 1, cfg.minibatch_size):  # drop a ragged tail
            mb = {k: v[order[start:start + cfg.minibatch_size]] for k, v in batch.items()}
            dist = agent.dist(mb["obs"])
            log_probs, advantages = dist.log_prob(mb["actions"]), mb["advantages"]
            if cfg.norm_adv:
                advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
            if cfg.objective == "clip":
                objective = ppo_clip_objective(log_probs, mb["log_probs"], advantages, clip_eps)
            else:
                kl = torch.distributions.kl_divergence(old_agent.dist(mb["obs"]), dist)  # to pi_old
                objective = ppo_kl_penalty_objective(log_probs, mb["log_probs"], advantages, kl,
                                                     kl_beta)
            v_loss = value_loss(agent.value(mb["obs"]), mb["values"], mb["returns"],
                                clip_eps if cfg.clip_vloss else None)
            with torch.set_grad_enabled(cfg.ent_coef != 0):  # at 0 a logged statistic only
                entropy = dist.entropy().mean()
            loss = -objective + cfg.vf_coef * v_loss - cfg.ent_coef * entropy  # L^CLIP+VF+S
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(params, cfg.max_grad_norm)
            opt.step()
            with torch.no_grad():  # KL[pi_old, pi] ~ E_old[(rho - 1) - log rho]: unbiased, >= 0
                rho_1 = (log_ratio := log_probs - mb["log_probs"]).exp() - 1  # rho - 1
                sums.append(torch.stack([-objective, v_loss, entropy, (rho_1 - log_ratio).mean(),
                                         (rho_1.abs() > clip_eps).float().mean()]))
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
    device = setup(cfg)
    envs, obs_space, act_space = make_env(cfg.env_id, cfg.num_envs, same_step=True,
                                          async_envs=cfg.async_envs)
    norm_obs = isinstance(act_space, gym.spaces.Box) if cfg.norm_obs is None else cfg.norm_obs
    normalizer = Normalizer(obs_space.shape[0], cfg.num_envs, cfg.gamma, norm_obs)
    obs = normalizer.obs(envs.reset(seed=cfg.seed)[0], update=True)  # the envs seeded once, here
    envs.action_space.seed(cfg.seed)
    agent = Agent(obs_space.shape[0], act_space, cfg.hidden_size, cfg.init_log_std).to(device)
    # fused: one kernel for all parameters, 4x faster steps on these small nets
    opt = torch.optim.Adam(agent.parameters(), lr=cfg.learning_rate, eps=1e-5, fused=True)
    T, N, global_step, kl_beta = cfg.num_steps, cfg.num_envs, 0, cfg.kl_beta
    buf = rollout_storage(T, N, obs_space, act_space, device)  # preallocated once, on the device
    episodes = {"return": np.zeros(N), "length": np.zeros(N, dtype=int)}  # each env's, so far
    num_updates = -(-cfg.total_timesteps // (T * N))  # whole rollouts, at least total_timesteps
    log = RunLog(cfg, ["update", "epoch", "global_step", "learning_rate", "clip_eps", "kl_beta"]
                 + STAT_NAMES)
    try:
        for update in range(1, num_updates + 1):
            frac = 1.0 - (update - 1) / num_updates  # linear annealing, 1 -> 1/num_updates
            opt.param_groups[0]["lr"] = lr = cfg.learning_rate * (frac if cfg.anneal_lr else 1.0)
            clip_eps = cfg.clip_eps * (frac if cfg.anneal_clip else 1.0)
            obs, finished = collect_rollout(envs, agent, normalizer, obs, buf, episodes)
            for t, _, ep_return, ep_length in finished:
                log.episode(global_step + (t + 1) * N, ep_return, ep_length)
            global_step += T * N
            buf["advantages"], buf["returns"] = compute_gae(
                buf["rewards"], buf["values"], buf["next_values"], buf["terminated"],
                buf["episode_end"], cfg.gamma, cfg.gae_lambda)
            batch = {k: buf[k].flatten(0, 1) for k in  # [T, N, ...] -> [T*N, ...]
                     ("obs", "actions", "log_probs", "values", "advantages", "returns")}
            epochs = ppo_update(agent, opt, batch, cfg, clip_eps, kl_beta)
            for epoch, stats in enumerate(epochs, 1):
                row = dict(learning_rate=lr, clip_eps=clip_eps, kl_beta=kl_beta, **stats)
                log.update(global_step, update=update, epoch=epoch, global_step=global_step,
                           **{k: f"{v:.6g}" for k, v in row.items()})
            if cfg.objective == "kl-penalty":
                kl_beta = adapt_kl_beta(kl_beta, epochs[-1]["kl"], cfg.kl_target)
            log.show(global_step, last=update == num_updates)
    finally:  # on Ctrl-C or an error too: keep what was learned
        envs.close()
        log.close(agent=agent.state_dict(), normalizer=normalizer.state_dict())
    train_time = time.time() - log.start
    return result(cfg, evaluate((agent, normalizer), cfg, device), log.dir, global_step=global_step,
                  train_time_s=round(train_time, 3), sps=round(global_step / train_time, 1))


@torch.no_grad()
def evaluate(agent, cfg, device):
    """cfg.eval_episodes deterministic returns of agent = (Agent, Normalizer), statistics frozen."""
    (agent, normalizer), env, returns = agent, make_env(cfg.env_id)[0], np.zeros(cfg.eval_episodes)
    for i in range(cfg.eval_episodes):
        obs, _ = env.reset(seed=cfg.seed + 10_000 + i)  # fixed seeds: --eval-only reproduces them
        terminated = truncated = False
        while not (terminated or truncated):
            obs_t = torch.as_tensor(normalizer.obs(obs[None]), dtype=torch.float32, device=device)
            dist = agent.dist(obs_t)  # the deterministic action: argmax, or the mean
            action = (dist.logits.argmax(-1) if agent.discrete else dist.mean)[0].cpu().numpy()
            obs, reward, terminated, truncated, _ = env.step(action)
            returns[i] += float(reward)
    env.close()
    return returns


def load_agent(cfg, ckpt, obs_space, act_space, device):  # the agent, obs statistics: --eval-only
    agent = Agent(obs_space.shape[0], act_space, cfg.hidden_size, cfg.init_log_std)
    agent.load_state_dict(ckpt["agent"])
    normalizer = Normalizer(obs_space.shape[0], 1, cfg.gamma, False)
    normalizer.load_state_dict(ckpt["normalizer"])
    return cfg, (agent.to(device), normalizer)


def check_config(cfg):
    if cfg.norm_adv and cfg.minibatch_size < 2:  # one advantage has no standard deviation
        raise ConfigError("--minibatch-size must be >= 2 with --norm-adv (or give --no-norm-adv)")
    if cfg.minibatch_size > cfg.num_envs * cfg.num_steps:
        raise ConfigError(f"--minibatch-size {cfg.minibatch_size} exceeds the batch N*T = "
                          f"{cfg.num_envs * cfg.num_steps}")


# === The same in every file below this line (but NAME): flags, envs, logs, checkpoints, main ===
import argparse, csv, dataclasses, inspect, json, os, re, signal, sys, time  # noqa: E401,E402
NAME = "ppo"
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
