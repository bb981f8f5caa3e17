"""The lecture's variance story, measured: how noisy is each REINFORCE gradient estimate?

A policy (with its learned V) is trained briefly, then frozen. Independent batches of whole
episodes are drawn from it, and on each batch every estimator/baseline combination computes the
gradient that reinforce.py's training step would apply (its own `policy_update`, with an
optimiser stand-in that records the gradient instead of stepping). Over the batches:

    variance = E ||g_b - mean_b g_b||^2        (trace of the covariance of the estimate)

reported beside ||mean g||^2 and relative to the plainest estimator (total return, no baseline).
All variants see the same batches, so the comparison is paired. Baselines: mean and optimal are
computed from the batch itself, value is the frozen V(s).

    python benchmarks/reinforce_variance.py          # CartPole-v1, about a minute
"""
import argparse
import dataclasses
import os
import sys
import tempfile
import time

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
import reinforce  # noqa: E402
from common import RESULTS, git_commit, machine, write_json  # noqa: E402


class GradientRecorder:
    """Stands in for the optimiser: keeps each gradient, never changes the parameters."""

    def __init__(self, params):
        self.params, self.grads = list(params), []

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        self.grads.append(torch.cat([p.grad.reshape(-1) for p in self.params]).clone())


def plot(rows, path, summary):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    fig, ax = plt.subplots(figsize=(7, 3.5))
    labels = [f"{r['estimator'].replace('reward-', '')}\n{r['baseline']}" for r in rows]
    ax.bar(labels, [r["relative_variance"] for r in rows],
           color=["tab:blue"] * 4 + ["tab:orange"] * 4)
    ax.set(ylabel="gradient variance\n(relative to total, none)", yscale="log",
           title=f"REINFORCE gradient variance on {summary['env_id']}, "
                 f"{summary['args']['batches']} batches ({summary['commit']})")
    ax.tick_params(axis="x", labelsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--env-id", default="CartPole-v1")
    parser.add_argument("--pretrain-steps", type=int, default=40_000)
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--batch-episodes", type=int, default=16)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        reinforce.train(reinforce.Config(env_id=args.env_id, total_timesteps=args.pretrain_steps,
                                         seed=args.seed, quiet=True, eval_episodes=0,
                                         run_dir=tmp))
        ckpt = torch.load(os.path.join(tmp, "model.pt"), weights_only=True)
    cfg = reinforce.Config(**ckpt["config"])
    envs, obs_space, act_space = reinforce.make_env(args.env_id, 8)
    envs.reset(seed=args.seed + 1000)
    policy = reinforce.Policy(obs_space.shape[0], act_space, cfg.hidden_size, cfg.init_log_std)
    policy.load_state_dict(ckpt["policy"])
    value_net = reinforce.mlp(obs_space.shape[0], 1, cfg.hidden_size)
    value_net.load_state_dict(ckpt["value"])
    batches = [reinforce.collect_episodes(envs, act_space, policy, args.batch_episodes, "cpu")[0]
               for _ in range(args.batches)]

    rows = []
    for estimator in ("total", "reward-to-go"):
        for baseline in ("none", "mean", "optimal", "value"):
            variant = dataclasses.replace(cfg, estimator=estimator, baseline=baseline,
                                          max_grad_norm=float("inf"), ent_coef=0.0,
                                          value_steps=0, off_policy_epochs=1)
            recorder = GradientRecorder(policy.parameters())
            for episodes in batches:
                reinforce.policy_update(policy, value_net if baseline == "value" else None,
                                        recorder, None, episodes, variant, "cpu")
            grads = torch.stack(recorder.grads).double()  # [batches, P], ascent direction negated
            mean = grads.mean(0)
            rows.append({"estimator": estimator, "baseline": baseline,
                         "variance": ((grads - mean) ** 2).sum(1).mean().item(),
                         "mean_grad_sq_norm": (mean ** 2).sum().item()})
    plain = rows[0]["variance"]
    for r in rows:
        r["relative_variance"] = r["variance"] / plain
    summary = {"name": "reinforce_gradient_variance", "env_id": args.env_id, "args": vars(args),
               "episodes_per_batch": sum(len(b) for b in batches) / len(batches),
               "commit": git_commit(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
               "machine": machine(), "rows": rows}
    os.makedirs(RESULTS, exist_ok=True)
    write_json(os.path.join(RESULTS, "reinforce_gradient_variance.json"), summary, indent=2)
    plot(rows, os.path.join(RESULTS, "reinforce_gradient_variance.png"), summary)
    print("| estimator | baseline | gradient variance | relative to total/none | ||mean g||^2 |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['estimator']} | {r['baseline']} | {r['variance']:.4g} "
              f"| {r['relative_variance']:.3f} | {r['mean_grad_sq_norm']:.4g} |")


if __name__ == "__main__":
    main()
