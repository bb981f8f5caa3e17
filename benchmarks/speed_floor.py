"""How fast could each algorithm file be, at the settings it is compared at, in eager PyTorch on
this CPU?

At fixed settings the work is fixed: so many gradient steps (or updates) on so many
transitions, so many env steps each with a forward pass to act. This script times that work
done by the barest loop we could write (the same networks, batch sizes and optimiser as the
file; no logging, distribution objects, replay sampling, return recursions or checks), one
torch thread as in compare.py, denormal floats flushed to 0 as every file does (since
2026-12-07; before, the floors of DQN and DDPG could slow down as their Adam moments decayed),
each timing the best of 5 (the least disturbed by other load):

    floor = gradient_steps x (seconds per bare gradient step, or per update where one update
            holds several: the pair's line says which)
          + env_steps x (seconds per env step, with the acting forward pass)

Each part timed apart, in a tight loop, runs with its code and data hot in the CPU's caches. A
file cannot do that: it alternates acting and learning, and each evicts what the other needs.
So each pair also times its floor's two functions interleaved as the file runs them (its
`cycle`: k gradient steps or updates, then m env steps; ppo 20 then 32, a2c 1 then 5, a3c 1
then 20, DQN 128 then 256), the best of 5 timings of about 2 s of cycles:

    floor_interleaved = cycles x (seconds per cycle) + (env steps in no cycle) x (per env step)

Both are kept. ours / floor, the first, is #18's yardstick; ours / floor_interleaved says how
much of it is the cost of alternating, which no loop of this work avoids (2026-12-06, one
process, denormals flushed: a2c's cycle took 1.16 times its parts' sum, a3c's 1.11, ppo's
1.03, DQN's 1.02-1.04).

Pairs: ppo, dqn and ddpg at RL Zoo's settings, where the speed targets of ppo.py and dqn_ddpg.py
ask for sb3's return in at most half sb3's wall time; and every other file at the settings
benchmarks/compare.py runs it with (benchmarks/pairs.py: the file's defaults at the pair's
budget): a2c (actor_critic.py, 500k steps), trpo and npg (npg_trpo.py --algo trpo / npg, 100k),
gae (gae.py, 300k), reinforce (reinforce.py, 500k) and a3c (a3c.py --num-workers 1, 200k: one
worker doing all the work, so that ours and the floor do the same; compare.py's pair runs 2
Hogwild workers). Each floor function's docstring says what it counts and how.

Then it trains our file (one seed) and, where sb3 has the algorithm (ppo, dqn, ddpg, a2c, trpo:
sb3_side_by_side.py), sb3, each --repeats times (3 unless given), alternating, timing the floor
anew (fresh networks and env) before each round, and counts each side's fastest, the floor's
too: the least disturbed by other load. (One run of ours against one floor timing measured the
VM's speed drift, up to a third within the hour here, as much as our overhead.) Every time is
kept: floor_runs_s, ours_runs_s, sb3_runs_s. It prints floor, ours and ours / floor, and for
those pairs sb3's time and floor and ours as fractions of it. The floor is not a proven bound,
but a floor near or above 0.5 of sb3's time leaves an algorithm file, which adds storage, logs
and checks to that loop, no room to meet the target at these settings; well below it, the gap
is our overhead. ours / floor measures that overhead for every file.

    python benchmarks/speed_floor.py     # every pair, 3 runs a side: about an hour on 2 cores
    python benchmarks/speed_floor.py --pairs ppo dqn ddpg         # about 45 min of that;
                                                # the other pairs keep their rows in the JSON
    python benchmarks/speed_floor.py --pairs trpo npg --repeats 1    # one run a side: 2-3 min
    python benchmarks/speed_floor.py --pairs trpo --no-train      # the floor only: 5-10 s a pair

The estimate, per run of each side: about 1 min of floor timings (5-10 s a pair with
--no-train), 14-17 min for ppo, dqn and ddpg (measured with one run a side), and about 6 min
for the others: our files' mean_train_time_s in their benchmarks/results rows (a2c 44 s, trpo
17, npg 17, gae 22, reinforce 26, a3c with one worker 105 at 200k, scaled from 79 at 150k) plus
sb3's A2C and TRPO (about 48 and 31 s, scaled by the ratios in compare_a2c.json and
compare_trpo.json), plus each run's start and evaluation.
"""
import argparse
import json
import os
import sys
import time

import gymnasium as gym
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import parameters_to_vector, vector_to_parameters

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402  (the machine, commit and file hash a result ran on)
from common import ROOT, last_json_line  # noqa: E402

RESULTS = os.path.join(ROOT, "benchmarks", "results", "speed_floor.json")


def mlp(sizes, activation=nn.ReLU):
    """Linear layers of the given widths, `activation` between them (sb3's default nets)."""
    layers = []
    for a, b in zip(sizes, sizes[1:]):
        layers += [nn.Linear(a, b), activation()]
    return nn.Sequential(*layers[:-1])


def per_call(fn, n, repeats=5, warmup=50):
    """Seconds per call of fn: the best of `repeats` timings of n // repeats calls (the least
    disturbed by other load: a floor, not an average)."""
    for _ in range(warmup):
        fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(n // repeats):
            fn()
        best = min(best, (time.perf_counter() - start) / (n // repeats))
    return best


def ppo_floor():
    """RL Zoo CartPole PPO: 8 envs x 32 steps, 20 epochs of one 256-transition minibatch."""
    actor, critic = mlp([4, 64, 64, 2], nn.Tanh), mlp([4, 64, 64, 1], nn.Tanh)
    params = [*actor.parameters(), *critic.parameters()]
    opt = torch.optim.Adam(params, lr=1e-3, eps=1e-5, fused=True)
    obs, act = torch.randn(256, 4), torch.randint(0, 2, (256,))
    old_lp, adv, ret = torch.full((256,), -0.69), torch.randn(256), torch.randn(256)

    def grad_step():
        lp = actor(obs).log_softmax(-1).gather(-1, act[:, None]).squeeze(-1)
        a = (adv - adv.mean()) / (adv.std() + 1e-8)
        ratio = (lp - old_lp).exp()
        surrogate = torch.min(ratio * a, ratio.clamp(0.8, 1.2) * a).mean()
        loss = -surrogate + 0.25 * ((critic(obs).squeeze(-1) - ret) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(params, 0.5)
        opt.step()

    envs = gym.make_vec("CartPole-v1", num_envs=8, vectorization_mode="sync")
    envs.reset(seed=1)
    state = {"obs": torch.zeros(8, 4)}

    def env_step():
        with torch.no_grad():
            logits = actor(state["obs"])
            critic(state["obs"])  # V(s_t), which the rollout stores for GAE
            a = torch.multinomial(logits.softmax(-1), 1).squeeze(-1)
        o, *_ = envs.step(a.numpy())
        state["obs"] = torch.as_tensor(o)

    rollouts = -(-100_000 // 256)
    return dict(gradient_steps=rollouts * 20, env_steps=rollouts * 32, grad_step=grad_step,
                env_step=env_step, calls=(2000, 3000), unit="gradient steps",
                env_unit="steps of 8 envs", cycle=(20, 32))


def dqn_floor():
    """RL Zoo CartPole DQN: 50k steps, 128 gradient steps of 64 every 256 after the first 1000."""
    q, q_target = mlp([4, 256, 256, 2]), mlp([4, 256, 256, 2])
    opt = torch.optim.Adam(q.parameters(), lr=2.3e-3, fused=True)
    obs, next_obs = torch.randn(64, 4), torch.randn(64, 4)
    act, rew, term = torch.randint(0, 2, (64, 1)), torch.ones(64), torch.zeros(64)

    def grad_step():
        with torch.no_grad():
            y = rew + 0.99 * (1 - term) * q_target(next_obs).max(-1).values
        loss = F.smooth_l1_loss(q(obs).gather(-1, act).squeeze(-1), y)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(q.parameters(), 10.0)
        opt.step()

    env = gym.make("CartPole-v1")
    state = {"obs": env.reset(seed=1)[0]}

    def env_step():
        with torch.no_grad():
            a = int(q(torch.as_tensor(state["obs"])).argmax())
        o, _, terminated, truncated, _ = env.step(a)
        state["obs"] = env.reset()[0] if terminated or truncated else o

    return dict(gradient_steps=(50_000 - 1000) // 256 * 128, env_steps=50_000,
                grad_step=grad_step, env_step=env_step, calls=(2000, 5000),
                unit="gradient steps", env_unit="env steps", cycle=(128, 256))


def ddpg_floor():
    """RL Zoo Pendulum DDPG: 20k steps, one gradient step of 256 per step after the first 10k."""
    actor, critic = mlp([3, 400, 300, 1]), mlp([4, 400, 300, 1])
    actor_t, critic_t = mlp([3, 400, 300, 1]), mlp([4, 400, 300, 1])
    actor_opt = torch.optim.Adam(actor.parameters(), lr=1e-3, fused=True)
    critic_opt = torch.optim.Adam(critic.parameters(), lr=1e-3, fused=True)
    online = [*actor.parameters(), *critic.parameters()]
    target = [*actor_t.parameters(), *critic_t.parameters()]
    obs, next_obs, act = torch.randn(256, 3), torch.randn(256, 3), torch.randn(256, 1)
    rew, term = torch.randn(256), torch.zeros(256)

    def grad_step():
        with torch.no_grad():
            a2 = actor_t(next_obs).tanh() * 2
            y = rew + 0.98 * (1 - term) * critic_t(torch.cat([next_obs, a2], -1)).squeeze(-1)
        critic_loss = ((critic(torch.cat([obs, act], -1)).squeeze(-1) - y) ** 2).mean()
        critic_opt.zero_grad()
        critic_loss.backward()
        critic_opt.step()
        actor_loss = -critic(torch.cat([obs, actor(obs).tanh() * 2], -1)).mean()
        actor_opt.zero_grad()
        actor_loss.backward()  # also fills the critic's grads; its next zero_grad clears them
        actor_opt.step()
        with torch.no_grad():
            torch._foreach_lerp_(target, online, 0.005)

    env = gym.make("Pendulum-v1")
    state = {"obs": env.reset(seed=1)[0]}

    def env_step():
        with torch.no_grad():
            a = (actor(torch.as_tensor(state["obs"])).tanh() * 2).numpy()
        o, _, terminated, truncated, _ = env.step(a)
        state["obs"] = env.reset()[0] if terminated or truncated else o

    return dict(gradient_steps=10_000, env_steps=20_000, grad_step=grad_step,
                env_step=env_step, calls=(500, 5000), unit="gradient steps",
                env_unit="env steps", cycle=(1, 1))


# The files' own settings (benchmarks/pairs.py's PAIRS: each file's defaults at the pair's
# budget), on CartPole-v1: 4 observations, 2 actions, episodes cut at 500 steps. Their networks
# are two-hidden-layer tanh MLPs of width 64 (hidden_size), separate for pi and V. Advantages
# and returns are random tensors: their recursion (GAE, n-step, discounted returns) is left
# out, as in ppo_floor; so are entropy terms whose coefficient is 0, every diagnostic (KL,
# explained variance, CG residual) and every copy to logs. Counts are those of a run that has
# no episode end inside a rollout where one would add work; each docstring says how.

def policy_and_value():
    return mlp([4, 64, 64, 2], nn.Tanh), mlp([4, 64, 64, 1], nn.Tanh)


def vector_env_step(actor, num_envs, same_step):
    """One step of num_envs sync CartPole envs (the file's autoreset mode), acting by a sample of
    pi(.|s): the policy's forward pass on [num_envs, 4] observations."""
    envs = gym.make_vec("CartPole-v1", num_envs=num_envs, vectorization_mode="sync",
                        vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode[
                            "SAME_STEP" if same_step else "NEXT_STEP"]})
    state = {"obs": torch.as_tensor(envs.reset(seed=1)[0])}

    def env_step():
        with torch.no_grad():
            a = torch.multinomial(actor(state["obs"]).softmax(-1), 1).squeeze(-1)
        state["obs"] = torch.as_tensor(envs.step(a.numpy())[0])

    return env_step


def fit_value(critic, opt, obs, ret, epochs, minibatch_size):
    """V(s)'s regression on the returns: epochs x shuffled minibatches, an Adam step each."""
    for _ in range(epochs):
        perm = torch.randperm(len(obs))
        for o, y in zip(obs[perm].split(minibatch_size), ret[perm].split(minibatch_size)):
            value_loss = ((critic(o).squeeze(-1) - y) ** 2).mean()
            opt.zero_grad()
            value_loss.backward()
            opt.step()


def log_prob(actor, obs, act):
    return actor(obs).log_softmax(-1).gather(-1, act[..., None]).squeeze(-1)


def a2c_floor():
    """actor_critic.py's defaults (A2C, batch mode) at 500k steps: 8 envs (SAME_STEP autoreset)
    x 5-step rollouts; per rollout one gradient step of the summed policy and 0.5 x value loss
    on all 40 transitions ([5, 8]), with V(s_{t+1}) of the 40 next states computed first (no
    gradient), the gradient norm clipped to 0.5, Adam (eps 1e-5, fused as the file's since
    2026-12-07; foreach before). ent_coef 0. Every rollout is 40 env steps, whatever the
    episodes do: exact counts."""
    actor, critic = policy_and_value()
    params = [*actor.parameters(), *critic.parameters()]
    opt = torch.optim.Adam(params, lr=7e-4, eps=1e-5, fused=True)
    obs, next_obs, act = torch.randn(5, 8, 4), torch.randn(5, 8, 4), torch.randint(0, 2, (5, 8))
    ret = torch.randn(5, 8)  # the n-step returns, bootstrapped from V(next_obs)

    def grad_step():
        with torch.no_grad():
            critic(next_obs)  # V(s_{t+1}), held fixed in the targets
        values = critic(obs).squeeze(-1)
        advantages = (ret - values).detach()
        loss = -(log_prob(actor, obs, act) * advantages).mean() \
            + 0.5 * 0.5 * ((ret - values) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(params, 0.5)
        opt.step()

    # 500_000 / (8 envs x 5 steps) = 12_500 rollouts, one gradient step each; 12_500 x 5 = 62_500
    # steps of the 8 envs
    return dict(gradient_steps=500_000 // 40, env_steps=500_000 // 40 * 5, grad_step=grad_step,
                env_step=vector_env_step(actor, 8, same_step=True), calls=(2000, 3000),
                unit="gradient steps", env_unit="steps of 8 envs", cycle=(1, 5))


def trust_region_floor(line_search):
    """npg_trpo.py's defaults (RL Zoo's CartPole TRPO settings) at 100k steps, --algo trpo
    (line_search) or npg: 2 envs (SAME_STEP autoreset) x 512 steps, a batch of 1024. One update:
    V of the 1024 states and of their 1024 next states (no gradient, for GAE); one policy
    forward pass that gives the surrogate's gradient g and the mean KL's gradient (kept as a
    graph); 15 conjugate-gradient iterations (cg_iters), each a Fisher-vector product (one
    backward pass through that graph, + damping 0.1 v); the step sqrt(2 x 0.01 / g'x) x; TRPO:
    ONE line-search candidate (a forward pass: surrogate and KL, accepted or not), though the
    file may try up to 10; NPG: none. Then V's regression: 10 epochs x 8 minibatches of 128,
    Adam (fused, as the file's). Like the file, it reuses the KL's gradient graph across the
    Fisher-vector products; it leaves out the CG residual (a diagnostic)."""
    actor, critic = policy_and_value()
    params = list(actor.parameters())
    value_opt = torch.optim.Adam(critic.parameters(), lr=1e-3, fused=True)
    obs, next_obs, act = torch.randn(1024, 4), torch.randn(1024, 4), torch.randint(0, 2, (1024,))
    adv, ret = torch.randn(1024), torch.randn(1024)

    def flat_grad(y, **kw):
        return torch.cat([g.reshape(-1) for g in torch.autograd.grad(y, params, **kw)])

    def grad_step():
        with torch.no_grad():
            critic(obs), critic(next_obs)  # V(s_t), V(s_{t+1}) for GAE
        log_pi = actor(obs).log_softmax(-1)  # [1024, 2], at theta_old
        old_log_pi = log_pi.detach()
        lp = log_pi.gather(-1, act[:, None]).squeeze(-1)
        surrogate = ((lp - lp.detach()).exp() * adv).mean()
        g = flat_grad(surrogate, retain_graph=True)
        kl = (old_log_pi.exp() * (old_log_pi - log_pi)).sum(-1).mean()
        kl_grad = flat_grad(kl, create_graph=True)
        x, r, p, rr = torch.zeros_like(g), g, g, g @ g
        for _ in range(15):  # conjugate gradient on (F + 0.1 I) x = g
            Fp = flat_grad(kl_grad @ p, retain_graph=True) + 0.1 * p
            alpha = rr / (p @ Fp)
            x, r = x + alpha * p, r - alpha * Fp
            rr_new = r @ r
            p, rr = r + rr_new / rr * p, rr_new
        step = (2 * 0.01 / (g @ x)).sqrt() * x
        with torch.no_grad():
            theta_old = parameters_to_vector(params)
            vector_to_parameters(theta_old + step, params)
            if line_search:  # one candidate: its surrogate and KL, and the test on both
                new_log_pi = actor(obs).log_softmax(-1)
                new_lp = new_log_pi.gather(-1, act[:, None]).squeeze(-1)
                new_surrogate = ((new_lp - lp).exp() * adv).mean()
                new_kl = (old_log_pi.exp() * (old_log_pi - new_log_pi)).sum(-1).mean()
                bool(new_surrogate > surrogate and new_kl <= 0.01)
            vector_to_parameters(theta_old, params)  # back, so that each timed call is alike
        fit_value(critic, value_opt, obs, ret, epochs=10, minibatch_size=128)  # 8 minibatches

    # 100_000 // (2 envs x 512) = 97 full updates (the 98th, on the last 672 steps, is left
    # out); ceil(100_000 / 2) = 50_000 steps of the 2 envs (the last rollout has 336)
    return dict(gradient_steps=100_000 // 1024, env_steps=-(-100_000 // 2), grad_step=grad_step,
                env_step=vector_env_step(actor, 2, same_step=True), calls=(50, 3000),
                unit="updates", env_unit="steps of 2 envs", cycle=(1, 512))


def trpo_floor():
    return trust_region_floor(line_search=True)


def npg_floor():
    return trust_region_floor(line_search=False)


trpo_floor.__doc__ = npg_floor.__doc__ = trust_region_floor.__doc__


def gae_floor():
    """gae.py's defaults at 300k steps: 8 envs (NEXT_STEP autoreset) x 32 steps, a batch of 256.
    One update: V of the 33 x 8 states of the rollout (no gradient, for GAE); one policy
    gradient step on the 256 transitions (advantages standardised, the norm clipped to 0.5);
    then V's regression, 5 epochs x 4 minibatches of 64; two Adams (fused as the file's since
    2026-12-07; foreach from 12e7893, the single-tensor default before).
    Counts as if no step were an autoreset step: a run has one more env's step per episode (a
    reset, masked out of the batch), so more rollouts and updates than counted here."""
    actor, critic = policy_and_value()
    opt = torch.optim.Adam(actor.parameters(), lr=3e-3, fused=True)
    value_opt = torch.optim.Adam(critic.parameters(), lr=1e-3, fused=True)
    all_obs, act = torch.randn(33, 8, 4), torch.randint(0, 2, (256,))
    obs, adv, ret = all_obs[:-1].reshape(256, 4), torch.randn(256), torch.randn(256)

    def grad_step():
        with torch.no_grad():
            critic(all_obs)  # V(s_t) and V(s_{t+1}), one pass over [T+1, N]
        a = (adv - adv.mean()) / (adv.std(correction=0) + 1e-8)
        loss = -(log_prob(actor, obs, act) * a).mean()
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(actor.parameters(), 0.5)
        opt.step()
        fit_value(critic, value_opt, obs, ret, epochs=5, minibatch_size=64)  # 4 minibatches

    # 300_000 // 256 = 1171 full updates (the 1172nd, on the last 224 steps, is left out);
    # ceil(300_000 / 8) = 37_500 steps of the 8 envs (1171 x 32 + a last rollout of 28)
    return dict(gradient_steps=300_000 // 256, env_steps=-(-300_000 // 8), grad_step=grad_step,
                env_step=vector_env_step(actor, 8, same_step=False), calls=(300, 3000),
                unit="updates", env_unit="steps of 8 envs", cycle=(1, 32))


def reinforce_floor():
    """reinforce.py's defaults at 500k steps: reward-to-go with gamma^t weights and the learned
    value baseline; 8 envs (NEXT_STEP autoreset) play the first 16 episodes started. One update
    on a batch of B transitions: V of the B states and of the 16 final observations (no
    gradient: baseline and bootstrap); one policy gradient step (the per-episode surrogates'
    mean, the norm clipped to 1.0); then 25 full-batch regression steps of V; two Adams (not
    fused). The counts are those of a run whose every episode lasts CartPole's 500 steps: the
    fewest updates a 500k run can make (a batch is then 2 waves of 8 episodes, 500 + 1 reset +
    500 = 1001 steps of the 8 envs, the most it can be), each on the largest batch, B = 16 x 500.
    A real run has short episodes early: many more, smaller updates (more per-update overhead,
    which the floor leaves out) and, through envs idling while a batch's last episodes finish,
    somewhat fewer than the 63 x 8000 transitions counted here."""
    actor, critic = policy_and_value()
    opt = torch.optim.Adam(actor.parameters(), lr=1e-3)
    value_opt = torch.optim.Adam(critic.parameters(), lr=1e-3)
    obs, final_obs, act = torch.randn(8000, 4), torch.randn(16, 4), torch.randint(0, 2, (8000,))
    ret = torch.randn(8000)  # G_t of each episode, bootstrapped where it was truncated
    weight = (0.99 ** torch.arange(500.0)).repeat(16)  # gamma^t within each episode

    def grad_step():
        with torch.no_grad():
            critic(final_obs)  # V(final observation): the bootstrap of a truncated episode
            baseline = critic(obs).squeeze(-1)  # b_t = V(s_t)
        loss = -(weight * log_prob(actor, obs, act) * (ret - baseline)).sum() / 16
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(actor.parameters(), 1.0)
        opt.step()
        for _ in range(25):  # V(s_t) regressed on G_t, full batch
            value_loss = ((critic(obs).squeeze(-1) - ret) ** 2).mean()
            value_opt.zero_grad()
            value_loss.backward()
            value_opt.step()

    # a batch counts at most 1001 x 8 = 8008 env steps, so a 500k run makes at least
    # ceil(500_000 / 8008) = 63 updates; it steps the 8 envs at least 500_000 / 8 = 62_500 times
    return dict(gradient_steps=-(-500_000 // 8008), env_steps=500_000 // 8, grad_step=grad_step,
                env_step=vector_env_step(actor, 8, same_step=False), calls=(25, 3000),
                unit="updates", env_unit="steps of 8 envs",
                cycle=(1, 500_000 // 8 // 63))  # the env steps spread over the updates: 992


def a3c_floor():
    """a3c.py's defaults at 200k steps with --num-workers 1 (the pair's command: compare.py's
    a3c pair runs 2 Hogwild workers, whose updates depend on the OS's scheduling): one worker
    does all the work. Per env step, a forward pass of pi on the one observation to act (no
    gradient: the update recomputes the segment's forward pass in one batch, as the file does).
    Per segment of 20 steps (t_max), one gradient step: V(s_T) (no gradient, the bootstrap), pi
    and V on the 20 states, the summed policy, 0.01 x entropy and 0.5 x value losses, the norm
    clipped to 40, the step size annealed, SharedAdam's step (Adam, fused as the file's since
    2026-12-07, after foreach=True and before it foreach=False). With one worker the local and
    shared parameters are the same: the file's copies between them per segment are left out.
    Counts: every segment 20 steps long; each episode that ends inside a segment makes a shorter
    one, so a run makes more updates than counted here."""
    actor, critic = policy_and_value()
    params = [*actor.parameters(), *critic.parameters()]
    opt = torch.optim.Adam(params, lr=1e-3, fused=True)
    obs, last_obs, act = torch.randn(20, 4), torch.randn(1, 4), torch.randint(0, 2, (20,))
    ret = torch.randn(20)  # the n-step returns, bootstrapped from V(s_T)

    def grad_step():
        with torch.no_grad():
            critic(last_obs)  # V(s_T)
        log_pi = actor(obs).log_softmax(-1)
        entropy = -(log_pi.exp() * log_pi).sum()
        values = critic(obs).squeeze(-1)
        advantages = (ret - values).detach()
        loss = -(log_pi.gather(-1, act[:, None]).squeeze(-1) * advantages).sum() \
            - 0.01 * entropy + 0.5 * 0.5 * ((ret - values) ** 2).sum()
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(params, 40.0)
        opt.param_groups[0]["lr"] = 1e-3 * 0.5  # annealed: 1e-3 x (1 - steps so far / budget)
        opt.step()

    env = gym.make("CartPole-v1")
    state = {"obs": env.reset(seed=1)[0]}

    def env_step():
        with torch.no_grad():
            a = int(torch.multinomial(actor(torch.as_tensor(state["obs"])).softmax(-1), 1))
        o, _, terminated, truncated, _ = env.step(a)
        state["obs"] = env.reset()[0] if terminated or truncated else o

    # 200_000 / 20 = 10_000 segments of 20 steps, one update each; 200_000 env steps
    return dict(gradient_steps=200_000 // 20, env_steps=200_000, grad_step=grad_step,
                env_step=env_step, calls=(2000, 5000), unit="gradient steps",
                env_unit="env steps", cycle=(1, 20))


# pair: the floor, our command at the pair's settings, sb3_side_by_side.py's --algo (None:
# sb3 has no such algorithm; benchmarks/compare.py sets such files beside a relative)
PAIRS = {"ppo": (ppo_floor, ["ppo.py"], "ppo"), "dqn": (dqn_floor, ["dqn_ddpg.py"], "dqn"),
         "ddpg": (ddpg_floor, ["dqn_ddpg.py", "--env-id", "Pendulum-v1"], "ddpg"),
         "a2c": (a2c_floor, ["actor_critic.py"], "a2c"),
         "trpo": (trpo_floor, ["npg_trpo.py", "--algo", "trpo"], "trpo"),
         "npg": (npg_floor, ["npg_trpo.py", "--algo", "npg"], None),
         "gae": (gae_floor, ["gae.py"], None),
         "reinforce": (reinforce_floor, ["reinforce.py"], None),
         "a3c": (a3c_floor, ["a3c.py", "--num-workers", "1"], None)}


def time_floor(f, cycles_s=2.0):
    """The timings of a floor function's result f, and the floors they add up to; the cycles
    timed for about cycles_s seconds (5 at least)."""
    (n_grad, n_env), out = f["calls"], {k: f[k] for k in (
        "gradient_steps", "env_steps", "unit", "env_unit")}
    out["grad_s"] = per_call(f["grad_step"], n_grad, warmup=min(50, n_grad // 5))
    out["env_s"] = per_call(f["env_step"], n_env, warmup=min(50, n_env // 5))
    out["floor_s"] = f["gradient_steps"] * out["grad_s"] + f["env_steps"] * out["env_s"]
    # The same work as the file orders it: k gradient steps (or updates), then m env steps, and
    # again; the env steps no cycle holds (before learning starts, a last short rollout) apart.
    k, m = out["cycle"] = f["cycle"]
    cycles = f["gradient_steps"] // k
    cycle = lambda: ([f["grad_step"]() for _ in range(k)], [f["env_step"]() for _ in range(m)])
    n = max(5, round(cycles_s / (k * out["grad_s"] + m * out["env_s"])))
    out["cycle_s"] = per_call(cycle, n, warmup=1)
    out["floor_interleaved_s"] = cycles * out["cycle_s"] + (f["env_steps"] - cycles * m) * out[
        "env_s"]
    return out


def best_of_runs(commands, repeats, between=lambda: None):
    """Run each command `repeats` times, alternating (A B A B ...: both sides meet the same load
    and drift), calling between() before every round but the first; returns, per command, the
    result of its fastest run (the least disturbed, as the floor is the best of its timings)
    with `runs_s`, every run's train_time_s, in order."""
    results = [[] for _ in commands]
    for k in range(repeats):
        if k:
            between()
        for runs, cmd in zip(results, commands):
            runs.append(last_json_line(cmd))
    return [{**min(runs, key=lambda r: r["train_time_s"]),
             "runs_s": [r["train_time_s"] for r in runs]} for runs in results]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", nargs="+", choices=sorted(PAIRS), default=list(PAIRS))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3,
                        help="training runs of ours (and of sb3), alternating; the best counts")
    parser.add_argument("--no-train", action="store_true", help="time the floor only")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error(f"--repeats must be >= 1, not {args.repeats}")
    # checked before any pair runs: a missing sb3_contrib stopped a run at trpo, 28 minutes in,
    # on 2026-12-07 (the pairs before it kept their rows)
    sb3 = [PAIRS[p][2] for p in args.pairs if PAIRS[p][2] and not args.no_train]
    if missing := common.sb3_missing(sb3):
        parser.error(f"the sb3 side needs {' and '.join(missing)}, not installed: pip install "
                     f"{' '.join(missing)} (or --no-train)")
    torch.set_num_threads(1)  # as compare.py: one core per run, both sides
    # as every file trains: Adam's moments of units whose gradient stays 0 decay into denormal
    # floats, many times slower on this CPU (unflushed, DQN's floor timed interleaved after
    # its tight loops took 1.37 times their sum on 2026-12-07; flushed, 1.04)
    torch.set_flush_denormal(True)
    torch.manual_seed(0)
    out = {"machine": common.machine(), "commit": common.git_commit(),
           "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "pairs": {}}
    for name in args.pairs:
        floor_fn, ours_cmd, sb3_algo = PAIRS[name]
        floors = []

        def time_the_floor():  # fresh networks and env each time, timed before each round
            floors.append(f := time_floor(floor_fn()))
            print(f"{name}: {f['gradient_steps']} {f['unit']} x {f['grad_s'] * 1e3:.2f} ms + "
                  f"{f['env_steps']} {f['env_unit']} x {f['env_s'] * 1e3:.3f} ms = floor "
                  f"{f['floor_s']:.1f} s; interleaved ({f['cycle'][0]} then {f['cycle'][1]}, "
                  f"{f['cycle_s'] * 1e3:.1f} ms a cycle) {f['floor_interleaved_s']:.1f} s",
                  flush=True)

        time_the_floor()
        ours = sb3 = None
        if not args.no_train:
            run_dir = os.path.join(ROOT, "benchmarks", "out", "speed_floor", name)
            commands = [[sys.executable, *ours_cmd, "--seed", str(args.seed), "--quiet",
                         "--run-dir", run_dir]]
            if sb3_algo:
                commands.append([sys.executable, os.path.join(
                    ROOT, "benchmarks", "sb3_side_by_side.py"), "--algo", sb3_algo, "--seed",
                    str(args.seed)])
            ours, *sb3 = best_of_runs(commands, args.repeats, between=time_the_floor)
        f = min(floors, key=lambda x: x["floor_s"])  # each side's best, the floor's too
        fi = min(floors, key=lambda x: x["floor_interleaved_s"])  # (from its own timing)
        row = {k: round(v, 6) if isinstance(v, float) else v for k, v in f.items()}
        row.update(cycle_s=round(fi["cycle_s"], 6),
                   floor_interleaved_s=round(fi["floor_interleaved_s"], 3),
                   floor_runs_s=[round(x["floor_s"], 3) for x in floors],
                   floor_interleaved_runs_s=[round(x["floor_interleaved_s"], 3) for x in floors],
                   ours_command=" ".join(ours_cmd),
                   ours_sha256=common.file_sha256(ours_cmd[0][:-3]))  # the file ours ran
        if ours is not None:
            row.update(ours_s=ours["train_time_s"], ours_runs_s=ours["runs_s"],
                       ours_eval=ours["eval_return_mean"],
                       ours_over_floor=round(ours["train_time_s"] / f["floor_s"], 3),
                       ours_over_floor_interleaved=round(
                           ours["train_time_s"] / fi["floor_interleaved_s"], 3))
            line = (f"  ours {ours['train_time_s']:.1f} s (runs {ours['runs_s']}; eval "
                    f"{ours['eval_return_mean']:.1f}): ours / floor {row['ours_over_floor']:.2f}"
                    f", over the interleaved floor {row['ours_over_floor_interleaved']:.2f}")
            if sb3:
                sb3_s = sb3[0]["train_time_s"]
                row.update(sb3_s=sb3_s, sb3_runs_s=sb3[0]["runs_s"],
                           sb3_eval=sb3[0]["eval_return_mean"],
                           floor_over_sb3=round(f["floor_s"] / sb3_s, 3),
                           ours_over_sb3=round(ours["train_time_s"] / sb3_s, 3))
                line += (f"; sb3 {sb3_s:.1f} s (runs {sb3[0]['runs_s']}; eval "
                         f"{sb3[0]['eval_return_mean']:.1f}): floor / sb3 "
                         f"{row['floor_over_sb3']:.2f}, ours / sb3 {row['ours_over_sb3']:.2f}")
            print(line, flush=True)
        out["pairs"][name] = row
        if not args.no_train:  # each pair as it ends: a run stopped later keeps the pairs done
            write(out)


def write(out):
    """out's pairs into RESULTS; the pairs it lacks keep their rows there, with their own run's
    commit, date and machine. Written to a temporary file, then renamed: never half a file."""
    if os.path.exists(RESULTS):
        with open(RESULTS) as fh:
            out = merged(json.load(fh), out)
    common.write_json(RESULTS, out)
    print(f"wrote {os.path.relpath(RESULTS, ROOT)}", flush=True)


def merged(old, new):
    """new's pairs, and old's pairs that new did not run, in PAIRS' order. Every pair carries the
    commit, date and machine of the run that made it (old files have them only at the top)."""
    run = lambda doc: {k: doc[k] for k in ("commit", "date", "machine")}
    pairs = {**{name: {**run(old), **row} for name, row in old["pairs"].items()},
             **{name: {**run(new), **row} for name, row in new["pairs"].items()}}
    return {**run(new), "pairs": {name: pairs[name] for name in PAIRS if name in pairs}}


if __name__ == "__main__":
    main()
