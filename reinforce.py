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

Dropping gamma^t from the reward-to-go estimator, as most code does, biases it for gamma < 1; it is
kept by default (`discount_weighting`). A truncated episode (time limit) is bootstrapped with
V(final observation) if there is a value baseline, else the Monte Carlo return stops at the cut.

Each update averages over exactly `--batch-episodes` whole episodes from `--num-envs` synchronous
envs: the first E episodes started, fixed before they are played (stopping at a step count would
make their number depend on their lengths, and the batch mean lean towards long episodes).

Usage:
    python reinforce.py                                  # CartPole-v1, reward-to-go, value baseline
    python reinforce.py --baseline optimal --estimator total --total-timesteps 200000
    python reinforce.py --env-id Pendulum-v1 --total-timesteps 300000 --seed 2
    python reinforce.py --eval-only --checkpoint runs/<run>/model.pt --eval-episodes 20
"""
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch
import torch.nn as nn
from torch.func import functional_call, grad, vmap

CHOICES = {"estimator": ("total", "reward-to-go"), "baseline": ("none", "mean", "optimal", "value"),
           "off_policy_mode": ("trajectory", "per_decision", "first_order")}
LIMITS = {"total_timesteps": "x > 0", "num_envs": "x > 0", "batch_episodes": "x > 0",
          "hidden_size": "x > 0", "off_policy_epochs": "x > 0", "value_steps": "x >= 0",
          "eval_episodes": "x >= 0", "gamma": "0 < x <= 1", "ent_coef": "0 <= x < inf",
          "learning_rate": "0 < x < inf", "value_learning_rate": "0 < x < inf",
          "max_grad_norm": "0 < x < inf", "init_log_std": "abs(x) <= 20"}  # exp(20): float32
ENV_SETTINGS = {"CartPole-v1": {}}  # tuned settings per env id, under the flags given: the defaults


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

def as_tensors(where, **named):  # lists and numpy arrays too; one shape for all of them
    device = next((x.device for x in named.values() if torch.is_tensor(x)), None)
    tensors = [torch.as_tensor(x, device=device) for x in named.values()]  # a tensor: itself
    if len({x.shape for x in tensors}) > 1:  # broadcasting them would give a wrong answer
        shapes = " and ".join(f"{name} {list(x.shape)}" for name, x in zip(named, tensors))
        raise ValueError(f"{where}: {shapes} must have one shape")
    return tensors


def discounted_returns(rewards, gamma, bootstrap=0.0):
    """G_t = sum_{k>=t} gamma^(k-t) r_k + gamma^(T-t) bootstrap, time-major ([T] or [T, N]).
    bootstrap: V(s_T) of a trajectory cut by a time limit, 0 if it terminated; a number or [N]."""
    (rewards,) = as_tensors("discounted_returns", rewards=rewards)
    if not isinstance(bootstrap, (int, float)):  # (a Python number keeps its full precision)
        bootstrap = torch.as_tensor(bootstrap, device=rewards.device)
        bootstrap = bootstrap.to(torch.result_type(rewards, bootstrap))  # a 0-d one: a number
    if rewards.dim() == 0 or np.shape(bootstrap) not in ((), rewards.shape[1:]) \
            or not 0 <= gamma <= 1:
        raise ValueError(f"discounted_returns: want rewards [T]/[T, N], bootstrap []/[N], gamma in "
                         f"[0, 1]; got {list(rewards.shape)}, {list(np.shape(bootstrap))}, {gamma}")
    running, returns = bootstrap, []
    for r in reversed(rewards.unbind(0)):
        running = r + gamma * running  # G_t = r_t + gamma G_{t+1}
        returns.append(running)
    return torch.stack(returns[::-1]) if returns else rewards + gamma * bootstrap  # T = 0: [0]


def reinforce_surrogate(log_probs, rewards, gamma=1.0, *, reward_to_go=True, baseline=None,
                        discount_weighting=True, bootstrap=0.0, returns=None):
    """Scalar with gradient sum_t w_t grad log pi(a_t|s_t) (R_t - b_t), the one-trajectory estimate.
    log_probs: [T] log pi_theta(a_t|s_t), carrying the graph, and rewards [T]; T = 0 gives 0.
    Both [T, N]: N trajectories (gamma^t down dim 0), the result the sum of their estimates.
    R_t = G_t (reward_to_go) or G_0; w_t = gamma^t if reward_to_go and discount_weighting, else 1.
    baseline: None, a number, or b_t shaped like rewards; it is never differentiated.
    bootstrap: V(s_T) of a truncated trajectory, a number or [N]. returns: G_t, if known."""
    log_probs, rewards = as_tensors("reinforce_surrogate", log_probs=log_probs, rewards=rewards)
    if np.ndim(baseline) > 0:  # b_t of each step, else None or one number
        rewards, baseline = as_tensors("reinforce_surrogate", rewards=rewards, baseline=baseline)
    returns = discounted_returns(rewards, gamma, bootstrap) if returns is None else as_tensors(
        "reinforce_surrogate", rewards=rewards, returns=returns)[1]  # G_t given: as rewards
    t = torch.arange(returns.shape[0], dtype=returns.dtype, device=returns.device)
    discount = gamma ** t.reshape(-1, *[1] * (returns.dim() - 1))  # gamma^t down dim 0
    weight = discount if reward_to_go and discount_weighting else torch.ones_like(returns)
    returns = returns if reward_to_go else returns[:1].expand_as(returns)  # R(tau) = G_0 at every t
    if baseline is not None:  # never differentiated: the returns are detached below
        returns = returns - (baseline if isinstance(baseline, (int, float)) else
                             torch.as_tensor(baseline, device=returns.device))
    return (weight * log_probs * returns.detach()).sum()


def optimal_baseline(scores, returns, per_component=False, weights=None, *, return_scores=None):
    """The variance-minimising constant baseline b* = sum_i ||g_i||^2 R_i / sum_i ||g_i||^2.
    scores: [N, P], g_i = sum_t grad log pi(a_t|s_t) of trajectory i. returns: [N], R_i.
    per_component: one baseline per parameter, b_j = sum_i g_ij^2 R_i / sum_i g_ij^2 ([P]).
    weights: optional [N] probabilities of the trajectories (an exact expectation), else 1/N.
    return_scores: for an estimator sum_t w_t grad log pi_t (R_t - b) such as reward-to-go, pass
      scores h_i = sum_t w_t grad log pi_t and return_scores f_i = sum_t w_t grad log pi_t R_t
      ([N, P]); then b* = sum_i <h_i, f_i> / sum_i ||h_i||^2 and `returns` is not used.
    Where every g_i is zero (N = 0 too) the baseline cannot change the estimate: 0 is returned."""
    (scores,) = as_tensors("optimal_baseline", scores=scores)
    weights = torch.ones(scores.shape[:1], dtype=scores.dtype, device=scores.device) \
        if weights is None else torch.as_tensor(weights, device=scores.device)
    per_trajectory = {"weights": weights} if return_scores is not None else \
        {"returns": torch.as_tensor(returns, device=scores.device), "weights": weights}
    for name, x in per_trajectory.items():  # one number per trajectory: [N]
        if scores.dim() != 2 or x.shape != scores.shape[:1]:
            raise ValueError(f"optimal_baseline: scores {list(scores.shape)} and {name} "
                             f"{list(x.shape)}: want [N, P] and [N]")
    if return_scores is None:  # f_i = g_i R_i: the total-return estimator
        return_scores = scores * per_trajectory["returns"][:, None]
    scores, return_scores = as_tensors("optimal_baseline", scores=scores,
                                       return_scores=return_scores)
    cross, sq = scores * return_scores, scores**2  # [N, P]
    if not per_component:
        cross, sq = cross.sum(1, keepdim=True), sq.sum(1, keepdim=True)  # [N, 1]
    num, den = (weights[:, None] * cross).sum(0), (weights[:, None] * sq).sum(0)
    b = torch.where(den > 0, num / torch.where(den > 0, den, torch.ones_like(den)), 0.0)
    return b if per_component else b[0]


def off_policy_surrogate(log_probs, behavior_log_probs, rewards, gamma=1.0, *,
                         mode="per_decision", baseline=None, discount_weighting=False,
                         bootstrap=0.0):
    """Importance-sampled objective for a trajectory drawn from a behaviour policy beta, whose
    gradient at theta estimates grad J(theta), with rho_t = pi_theta(a_t|s_t) / beta(a_t|s_t):
      "trajectory":   (prod_t rho_t) sum_t gamma^t r_t                     (unbiased)
      "per_decision": sum_t gamma^t r_t prod_{k<=t} rho_k                 (unbiased, causal)
      "first_order":  sum_t w_t rho_t (Q_t - b_t), Q_t the reward-to-go, no gradient through
                      Q_t; w_t = 1 as in the lecture, or gamma^t with discount_weighting (then
                      exact when theta = beta, like reward-to-go). It drops the ratio of state
                      distributions, so it is biased when theta != beta.
    baseline, bootstrap (first_order only): as in `reinforce_surrogate`. T = 0 gives 0."""
    log_probs, behavior_log_probs, rewards = as_tensors(
        "off_policy_surrogate", log_probs=log_probs, behavior_log_probs=behavior_log_probs,
        rewards=rewards)
    if rewards.dim() != 1 or not 0 <= gamma <= 1:
        raise ValueError(f"off_policy_surrogate: want one trajectory, rewards [T], and gamma in "
                         f"[0, 1]; got rewards {list(rewards.shape)} and gamma {gamma}")
    log_rho = log_probs - behavior_log_probs.detach()
    discount = gamma ** torch.arange(rewards.shape[0], dtype=rewards.dtype, device=rewards.device)
    if mode == "trajectory":
        return log_rho.sum().exp() * (discount * rewards).sum()
    if mode == "per_decision":
        return (discount * rewards * log_rho.cumsum(0).exp()).sum()
    if mode == "first_order":  # the on-policy surrogate with rho_t in place of log pi_t
        return reinforce_surrogate(log_rho.exp(), rewards, gamma, baseline=baseline,
                                   discount_weighting=discount_weighting, bootstrap=bootstrap)
    raise ValueError(f"mode must be one of {CHOICES['off_policy_mode']}, not {mode!r}")


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

    def forward(self, obs):  # validate_args=False keeps the distributions usable under vmap
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


def per_step_scores(policy, obs, actions):
    """grad_theta log pi(a_t|s_t) of every step, flattened over the parameters: [B, P]."""
    params = {k: v.detach() for k, v in policy.named_parameters()}
    log_prob = lambda p, o, a: functional_call(policy, p, (o[None],)).log_prob(a[None]).sum()
    per_step = vmap(grad(log_prob), in_dims=(None, 0, 0))(params, obs, actions)
    return torch.cat([g.reshape(obs.shape[0], -1) for g in per_step.values()], 1)


@torch.no_grad()  # acting builds no graph
def collect_episodes(envs, act_space, policy, n_episodes, device):
    """Play the N envs until the first `n_episodes` episodes started are finished. An env done
    while others still play idles: the episodes its autoreset starts are not recorded. Returns
    (episodes, env_steps), env_steps counting every step of every env, the idle ones too."""
    (obs, _), n = envs.reset(), envs.num_envs
    active, started = np.arange(n) < n_episodes, min(n, n_episodes)  # env i plays for this batch
    steps, first, ends = [], np.zeros(n, dtype=int), []  # first: where env i's episode began
    while active.any():
        actions = policy.act(torch.as_tensor(obs, device=device).float()).cpu().numpy()
        next_obs, rewards, terminated, truncated, _ = envs.step(actions)
        steps.append((obs, actions, rewards))  # all N envs at once: no Python loop per env
        for i in np.flatnonzero(active & (terminated | truncated)):  # next_obs[i]: final state
            ends.append((i, first[i], len(steps), bool(terminated[i]), next_obs[i], len(steps) * n))
            first[i] = len(steps) + 1  # past gymnasium's autoreset step (reward 0, never done)
            active[i] = started < n_episodes  # decided before the next episode is played
            started += int(active[i])
        obs = next_obs
    obs, actions, rewards = (np.stack(x) for x in zip(*steps))  # [steps, N, ...]
    return [{"obs": obs[a:b, i], "actions": actions[a:b, i], "rewards": rewards[a:b, i],
             "terminated": term, "final_obs": final_obs, "end_step": end_step}
            for i, a, b, term, final_obs, end_step in ends], len(steps) * n


def batch_baseline(policy, obs, actions, rewards, returns, lengths, cfg):
    """b_t of the "mean" and "optimal" baselines, the same constant at every step of the batch."""
    first_returns = torch.stack([g[0] for g in returns])  # G_0 = R(tau) per episode
    reward_to_go, device = cfg.estimator == "reward-to-go", rewards.device
    n = torch.tensor(lengths, device=device)
    if cfg.baseline == "mean":  # the batch's average of the return the estimator uses
        return torch.cat(returns).mean() if reward_to_go else first_returns.mean()
    if reward_to_go:  # h = sum_t w_t grad log pi_t, f = sum_t w_t grad log pi_t G_t
        w = torch.cat([cfg.gamma**torch.arange(L, dtype=torch.float32, device=device)
                       for L in lengths]) if cfg.discount_weighting else torch.ones_like(rewards)
        step_returns = torch.cat(returns)
    else:  # h = g = sum_t grad log pi_t, f = g R(tau)
        w, step_returns = torch.ones_like(rewards), torch.repeat_interleave(first_returns, n)
    episode = torch.repeat_interleave(torch.arange(len(lengths), device=device), n)
    scores = per_step_scores(policy, obs, actions)  # [B, P]
    per_episode = lambda x: x.new_zeros(len(lengths), x.shape[1]).index_add_(0, episode, x)
    h, f = per_episode(w[:, None] * scores), per_episode((w * step_returns)[:, None] * scores)
    return optimal_baseline(h, None, return_scores=f)  # b* = E[<h, f>] / E[||h||^2]


def policy_update(policy, value_net, opt, value_opt, episodes, cfg, device):
    """One REINFORCE update on a batch of whole episodes, then the fit of V(s). Returns stats."""
    lengths = [len(ep["rewards"]) for ep in episodes]
    batch = lambda key, join=np.concatenate, **kw: torch.as_tensor(
        join([ep[key] for ep in episodes]), device=device, **kw)  # [B, ...], B: all steps
    obs, rewards = batch("obs", dtype=torch.float32), batch("rewards", dtype=torch.float32)
    actions = batch("actions") if policy.discrete else batch("actions").float()
    bootstrap, baseline = torch.zeros(len(episodes), device=device), torch.zeros_like(rewards)
    if value_net is not None:  # a truncated episode is bootstrapped with V(final observation)
        truncated = torch.tensor([not ep["terminated"] for ep in episodes], device=device)
        final_obs = batch("final_obs", np.stack, dtype=torch.float32)
        with torch.no_grad():
            bootstrap = value_net(final_obs).squeeze(-1) * truncated
            baseline = value_net(obs).squeeze(-1)  # b_t = V(s_t), fitted on earlier batches
    T = max(lengths)  # G_t of all episodes in one recursion: [T, E], zeros on the left, so that
    padded = torch.stack([nn.functional.pad(r, (T - len(r), 0)) for r in rewards.split(lengths)], 1)
    G = discounted_returns(padded, cfg.gamma, bootstrap)  # each starts from its own bootstrap
    returns = [G[T - L:, j] for j, L in enumerate(lengths)]  # G_t of each episode
    if cfg.baseline in ("mean", "optimal"):
        baseline.fill_(batch_baseline(policy, obs, actions, rewards, returns, lengths, cfg))
    with torch.no_grad():
        behavior_log_probs = policy(obs).log_prob(actions)

    def estimate(lp, blp, r, b, v, g):  # the surrogate of one episode
        if cfg.off_policy_epochs > 1:  # the batch again, importance-weighted to the current policy
            return off_policy_surrogate(lp, blp, r, cfg.gamma, mode=cfg.off_policy_mode, baseline=b,
                                        discount_weighting=cfg.discount_weighting, bootstrap=v)
        return reinforce_surrogate(lp, r, cfg.gamma, baseline=b, returns=g, reward_to_go=(
            cfg.estimator == "reward-to-go"), discount_weighting=cfg.discount_weighting)
    for _ in range(cfg.off_policy_epochs):
        dist = policy(obs)
        surrogates = [estimate(*ep) for ep in zip(
            dist.log_prob(actions).split(lengths), behavior_log_probs.split(lengths),
            rewards.split(lengths), baseline.split(lengths), bootstrap, returns)]
        entropy = dist.entropy().mean()
        # grad J ~ (1/N) sum_i (estimate of trajectory i), ascended by descending its negative
        loss = -torch.stack(surrogates).mean() - cfg.ent_coef * entropy
        opt.zero_grad()
        loss.backward()
        grad_norm = nn.utils.clip_grad_norm_(policy.parameters(), cfg.max_grad_norm)
        opt.step()
    value_loss, targets = torch.zeros(()), torch.cat(returns)
    for _ in range(cfg.value_steps if value_net is not None else 0):  # fit V(s_t) to G_t
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
    device = setup(cfg)
    envs, obs_space, act_space = make_env(cfg.env_id, cfg.num_envs)
    envs.reset(seed=cfg.seed)  # later resets continue these seeded generators
    envs.action_space.seed(cfg.seed)
    policy = Policy(obs_space.shape[0], act_space, cfg.hidden_size, cfg.init_log_std).to(device)
    opt = torch.optim.Adam(policy.parameters(), lr=cfg.learning_rate)
    value_net = value_opt = None
    if cfg.baseline == "value":
        value_net = mlp(obs_space.shape[0], 1, cfg.hidden_size).to(device)
        value_opt = torch.optim.Adam(value_net.parameters(), lr=cfg.value_learning_rate)
    stats = ["policy_loss", "value_loss", "entropy", "baseline_mean", "grad_norm", "approx_kl"]
    log = RunLog(cfg, ["update", "global_step"] + stats)  # its clock: train_time_s starts here
    global_step, update = 0, 0
    try:
        while global_step < cfg.total_timesteps:  # whole episodes: the last batch may run over
            episodes, env_steps = collect_episodes(envs, act_space, policy, cfg.batch_episodes,
                                                   device)
            for ep in episodes:  # logged at the env step where each one finished
                log.episode(global_step + ep["end_step"], float(np.sum(ep["rewards"])),
                            len(ep["rewards"]))
            global_step += env_steps
            values = policy_update(policy, value_net, opt, value_opt, episodes, cfg, device)
            update += 1
            log.update(global_step, update=update, global_step=global_step,
                       **{k: f"{values[k]:.6g}" for k in stats})
            log.show(global_step, last=global_step >= cfg.total_timesteps)
    finally:  # on Ctrl-C, a kill or an error too: keep what was learned
        log.close(policy=policy.state_dict(),
                  value=None if value_net is None else value_net.state_dict())
        envs.close()
    train_time = time.time() - log.start
    return result(cfg, evaluate(policy, cfg, device), log.dir, global_step=global_step,
                  train_time_s=round(train_time, 3), sps=round(global_step / train_time, 1))


def evaluate(policy, cfg, device):
    """Returns of cfg.eval_episodes deterministic episodes (argmax or mean action)."""
    env, returns = make_env(cfg.env_id)[0], []
    for i in range(cfg.eval_episodes):
        obs, _ = env.reset(seed=cfg.seed + 10_000 + i)  # fixed seeds: --eval-only reproduces these
        done, total = False, 0.0
        while not done:
            with torch.no_grad():
                action = policy.act(torch.as_tensor(obs, dtype=torch.float32, device=device)[None],
                                    deterministic=True)[0].cpu().numpy()
            obs, reward, terminated, truncated, _ = env.step(action)
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    env.close()
    return np.array(returns)


def load_agent(cfg, ckpt, obs_space, act_space, device):  # --eval-only: the policy alone
    policy = Policy(obs_space.shape[0], act_space, cfg.hidden_size, cfg.init_log_std)
    policy.load_state_dict(ckpt["policy"])
    return cfg, policy.to(device)


def check_config(cfg):  # what LIMITS cannot say: the off-policy modes' estimator and baseline
    mode = cfg.off_policy_mode if cfg.off_policy_epochs > 1 else None  # None: on-policy
    own = {"trajectory": "total"}.get(mode, "reward-to-go")  # per_decision: gamma^t r_t too
    if mode and (cfg.estimator != own or mode == "per_decision" and not cfg.discount_weighting):
        fix = f"--estimator {own}" + " --discount-weighting" * (mode == "per_decision")
        raise ConfigError(f"--off-policy-mode {mode} weights steps as the {own} estimator: {fix}")
    if mode in ("trajectory", "per_decision") and cfg.baseline != "none":
        raise ConfigError(f"--off-policy-mode {mode} takes no baseline: "
                          "use --baseline none, or --off-policy-mode first_order")


# === The same in every file below this line (but NAME): flags, envs, logs, checkpoints, main ===
import argparse, csv, dataclasses, inspect, json, os, re, signal, sys, time  # noqa: E401,E402
NAME = "reinforce"
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
