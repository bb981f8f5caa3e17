"""The GAE paper's lambda sweep: final eval return against lam, from benchmarks/run.py results.

Each point is one results file benchmarks/results/gae_<env>_lam<lam>.json, written by e.g.

    python benchmarks/run.py --algo gae --env-id CartPole-v1 --seeds 3 --name gae_cartpole_lam0.95 \
        -- --total-timesteps 100000 --gae-lambda 0.95

This script only reads those files: it writes results/gae_lambda_sweep.json (the table) and
results/gae_lambda_sweep.png (mean over seeds, with each seed as a dot): one line per
env and configuration (the flags other than --gae-lambda).

    python benchmarks/gae_lambda_sweep.py
"""
import glob
import json
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import RESULTS, write_json  # noqa: E402


def fixed_args(args):
    """The flags shared by the sweep's runs: all but --gae-lambda and its value."""
    i = args.index("--gae-lambda")
    return " ".join(args[:i] + args[i + 2:])


def main():
    table = {}
    for path in sorted(glob.glob(os.path.join(RESULTS, "gae_*_lam*.json"))):
        s = json.load(open(path))
        lam = float(re.search(r"_lam([0-9.]+)\.json$", path).group(1))
        evals = [r["eval_return_mean"] for r in s["runs"] if r.get("eval_return_mean") is not None]
        series = f"{s['env_id']}: {fixed_args(s['args'])}"  # one line per env and config
        table.setdefault(series, []).append({
            "lam": lam, "file": os.path.basename(path), "args": s["args"], "seeds": len(evals),
            "eval_return_mean": round(statistics.fmean(evals), 2),
            "eval_return_std": round(statistics.pstdev(evals), 2), "per_seed": evals})
    for rows in table.values():
        rows.sort(key=lambda r: r["lam"])
    flat = [{"series": series, "lam": r["lam"], "seeds": r["seeds"],
             "eval_return_mean": r["eval_return_mean"], "eval_return_std": r["eval_return_std"]}
            for series, rows in table.items() for r in rows]
    write_json(os.path.join(RESULTS, "gae_lambda_sweep.json"), {"rows": flat, "series": table})
    for series, rows in table.items():
        best = max(rows, key=lambda r: r["eval_return_mean"])
        print(series, "|", " ".join(f"lam {r['lam']:g}: {r['eval_return_mean']:.1f} "
                               f"± {r['eval_return_std']:.1f}" for r in rows),
              f"| best lam {best['lam']:g}")
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib not installed: no plot)")
        return
    envs = sorted({series.split(":")[0] for series in table})
    fig, axes = plt.subplots(1, len(envs), figsize=(6 * len(envs), 4.5), squeeze=False)
    for ax, env_id in zip(axes[0], envs):
        for series, rows in table.items():
            if series.split(":")[0] != env_id:
                continue
            line = ax.errorbar([r["lam"] for r in rows], [r["eval_return_mean"] for r in rows],
                               yerr=[r["eval_return_std"] for r in rows], marker="o", capsize=3,
                               label=f"{series.split(': ')[1]} ({rows[0]['seeds']} seeds)")
            for r in rows:
                ax.scatter([r["lam"]] * len(r["per_seed"]), r["per_seed"], s=8, alpha=0.5,
                           color=line[0].get_color())
        ax.set(xlabel="lambda", ylabel="final eval return (mean ± std over seeds)", title=env_id)
        ax.legend(fontsize=6, loc="lower center")
    fig.tight_layout()
    fig.savefig(os.path.join(RESULTS, "gae_lambda_sweep.png"), dpi=100)


if __name__ == "__main__":
    main()
