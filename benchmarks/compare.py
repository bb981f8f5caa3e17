"""Every algorithm file against its stable-baselines3 counterpart, in one command.

For each pair below it trains ours and sb3's (or sb3-contrib's) with RL Zoo's tuned
hyperparameters on the same budget, seed by seed, alternating, each in its own process with one
torch thread (benchmarks/sb3_side_by_side.py does the sb3 side). Files without a counterpart
are paired with the closest one, named in `note`. For both sides it records the final
deterministic eval return (10 episodes), the env steps until the mean return of 10 training
episodes first reached the target, the training wall time and steps per second, and both
learning curves; it writes benchmarks/results/compare_<pair>.json and a plot of both curves,
compare_<pair>.png, then one figure per env with a panel per pair, compare_<env>.png.
benchmarks/run.py --readme turns the JSON files into the comparison tables (benchmarks/render.py).

    pip install -r requirements-bench.txt
    python benchmarks/compare.py                 # every pair, 5 seeds
    python benchmarks/compare.py --quick         # 1 seed, half budgets: benchmarks/out/compare_quick
    python benchmarks/compare.py --pairs ppo dqn --seeds 3
"""
import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import ROOT, last_json_line  # noqa: E402
from pairs import PAIRS, SETUPS, WINDOW  # noqa: E402



def side_summary(runs, target):
    """Mean/std of eval returns, medians of steps and seconds to target, over one side's seeds."""
    evals = [r["eval_return_mean"] for r in runs]
    reached = [r["steps_to_target"] for r in runs if r["steps_to_target"] is not None]
    return {"eval_return_mean": round(statistics.fmean(evals), 2),
            "eval_return_std": round(statistics.pstdev(evals), 2),
            "seeds_eval_at_target": sum(e >= target for e in evals),
            "median_steps_to_target": statistics.median(reached) if reached else None,
            "seeds_with_training_return_at_target": len(reached),
            "median_train_time_s": round(statistics.median(r["train_time_s"] for r in runs), 2),
            "median_sps": round(statistics.median(r["sps"] for r in runs), 1)}


def first_at_target(episodes, target):
    """Env step at which the mean of the last WINDOW training returns first reached target."""
    for i in range(WINDOW - 1, len(episodes)):
        if statistics.fmean(r for _, r in episodes[i - WINDOW + 1:i + 1]) >= target:
            return episodes[i][0]
    return None


def run_pair(name, seeds, out_dir, runs_dir, steps=None, budget_share=1.0):
    pair = PAIRS[name]
    setup = SETUPS[pair["sb3"]]
    env, ours_cmd = setup["env"], pair["ours"]
    algo = ours_cmd[0][:-3]  # the file's stem; its hash pins the code the figures came from
    sha = common.file_sha256(algo)
    full = pair.get("steps", setup["steps"])
    steps = steps or (full if budget_share == 1.0 else pair.get("quick_steps",
                                                                 int(budget_share * full)))
    runs = {"ours": [], "sb3": []}
    for seed in range(1, seeds + 1):
        run_dir = os.path.join(runs_dir, f"{name}_seed{seed}")
        ours = last_json_line([sys.executable, *ours_cmd, "--env-id", env, "--seed", str(seed),
                               "--quiet", "--total-timesteps", str(steps), "--run-dir", run_dir])
        ep_steps, returns, _ = common.read_progress(os.path.join(run_dir, "progress.csv"))
        theirs = last_json_line([sys.executable, os.path.join(ROOT, "benchmarks",
                                                              "sb3_side_by_side.py"),
                                 "--algo", pair["sb3"], "--seed", str(seed),
                                 "--steps", str(steps)])
        for who, result, episodes in (("ours", ours, list(zip(ep_steps, returns))),
                                      ("sb3", theirs, [tuple(e) for e in theirs["episodes"]])):
            runs[who].append({"seed": seed, "eval_return_mean": result["eval_return_mean"],
                              "train_time_s": result["train_time_s"], "sps": result["sps"],
                              "steps_to_target": first_at_target(episodes, pair["target"]),
                              "episodes": episodes})
        print(f"{name} seed {seed}: ours eval {ours['eval_return_mean']:.1f} in "
              f"{ours['train_time_s']:.1f} s | sb3 eval {theirs['eval_return_mean']:.1f} in "
              f"{theirs['train_time_s']:.1f} s", file=sys.stderr, flush=True)
    if common.file_sha256(algo) != sha:
        sys.exit(f"{algo}.py changed during the {name} runs: its figures would mix two versions")
    summary = {"pair": name, "ours_command": " ".join(ours_cmd), "algo": algo,
               "algo_sha256": sha, "sb3_algo": setup.get("algo", pair["sb3"]).upper(),
               "sb3_version": theirs["sb3_version"], "note": pair.get("note", ""),
               "env_id": env, "total_timesteps": steps, "seeds": seeds,
               "target": pair["target"], "window": WINDOW,
               "sb3_kwargs": {k: str(v) for k, v in setup["sb3"].items()},
               **{who: side_summary(runs[who], pair["target"]) for who in runs}}
    summary["wall_time_ratio_ours_over_sb3"] = round(summary["ours"]["median_train_time_s"]
                                                     / summary["sb3"]["median_train_time_s"], 3)
    summary.update(commit=common.git_commit(), date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                   machine=common.machine(), runs=runs)
    path = os.path.join(out_dir, f"compare_{name}.json")
    common.write_json(path, summary)
    plot_pair(summary, path[:-5] + ".png")
    return summary


def short_command(summary):
    """'npg_trpo.py --algo trpo', 'ppo.py --update-epochs 10': the file and the one flag that
    tells a pair apart from its file's other pairs, without the env's tuning flags."""
    words = summary["ours_command"].split()
    naming = (["--algo"], ["--num-workers"], ["--update-epochs"])
    return " ".join(words[:3] if words[1:2] in naming else words[:1])


def draw_pair(ax, summary, np):
    """Both sides' learning curves on one axis: the mean of the last WINDOW training returns,
    averaged over seeds (line), min-max over seeds (shaded), and the target."""
    for who, label in (("ours", short_command(summary)), ("sb3", f"sb3 {summary['sb3_algo']}")):
        curves = []
        for r in summary["runs"][who]:
            if len(r["episodes"]) >= WINDOW:
                s, y = np.array(r["episodes"], dtype=float).T
                curves.append((s[WINDOW - 1:], np.convolve(y, np.ones(WINDOW) / WINDOW, "valid")))
        if not curves:
            continue
        grid = np.linspace(0, min(s[-1] for s, _ in curves), 200)
        ys = np.array([np.interp(grid, s, y, left=np.nan) for s, y in curves])
        keep = ~np.isnan(ys).all(0)
        ax.plot(grid[keep], np.nanmean(ys[:, keep], 0), label=label)
        ax.fill_between(grid[keep], np.nanmin(ys[:, keep], 0), np.nanmax(ys[:, keep], 0),
                        alpha=0.2)
    ax.axhline(summary["target"], ls="--", c="gray", lw=1)
    ax.legend(fontsize=7, loc="lower right")


def pyplot():
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import numpy as np
    except ImportError:
        print("  (matplotlib not installed: no plot)", file=sys.stderr)
        return None, None
    return plt, np


def plot_pair(summary, path):
    plt, np = pyplot()
    if plt is None:
        return
    fig, ax = plt.subplots(figsize=(7, 4.5))
    draw_pair(ax, summary, np)
    ax.set(xlabel="env steps", ylabel=f"training return (mean of last {WINDOW})",
           title=f"{summary['env_id']}: {short_command(summary)} and sb3 {summary['sb3_algo']}, "
                 f"{summary['seeds']} seeds")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_envs(out_dir):
    """compare_<env>.png: one panel per pair on that env, ours beside sb3's, from every
    compare_<pair>.json in out_dir. Returns the paths written."""
    plt, np = pyplot()
    if plt is None:
        return []
    by_env = {}
    for name in PAIRS:  # in PAIRS' order
        path = os.path.join(out_dir, f"compare_{name}.json")
        if os.path.exists(path):
            s = json.load(open(path))
            by_env.setdefault(s["env_id"], []).append(s)
    written = []
    for env, summaries in by_env.items():
        cols = min(3, len(summaries))
        rows = -(-len(summaries) // cols)
        fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
        for ax, s in zip(axes.flat, summaries):
            draw_pair(ax, s, np)
            ax.set_title(f"{short_command(s)} | sb3 {s['sb3_algo']}, {s['seeds']} seeds",
                         fontsize=9)
            ax.tick_params(labelsize=7)
        for ax in axes.flat[len(summaries):]:
            ax.axis("off")
        fig.suptitle(f"{env}: mean of the last {WINDOW} training returns against env steps\n"
                     "(mean over seeds, min-max over seeds shaded, target dashed)", fontsize=10)
        fig.tight_layout()
        path = os.path.join(out_dir, f"compare_{env.split('-')[0].lower()}.png")
        fig.savefig(path, dpi=90)
        plt.close(fig)
        written.append(path)
    return written


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", nargs="+", choices=sorted(PAIRS), default=list(PAIRS))
    parser.add_argument("--seeds", type=int, default=5, help="seeds 1..SEEDS")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: 1 seed, half the budget (DDPG: all of it), "
                        "into benchmarks/out/compare_quick")
    parser.add_argument("--plots-only", action="store_true",
                        help="only redraw the per-env plots from the compare_*.json files")
    parser.add_argument("--steps", type=int, help=argparse.SUPPRESS)  # smoke tests: any budget
    args = parser.parse_args()
    sb3 = [SETUPS[PAIRS[p]["sb3"]].get("algo", PAIRS[p]["sb3"]) for p in args.pairs]
    if not args.plots_only and (missing := common.sb3_missing(sb3)):  # before any pair runs
        parser.error(f"the sb3 side needs {' and '.join(missing)}, not installed: pip install "
                     f"{' '.join(missing)}")
    seeds = 1 if args.quick else args.seeds
    runs_dir = os.path.join(ROOT, "benchmarks", "out", "compare_quick" if args.quick else "compare")
    out_dir = runs_dir if args.quick or args.steps else os.path.join(ROOT, "benchmarks", "results")
    os.makedirs(out_dir, exist_ok=True)
    if args.plots_only:
        return print("\n".join(plot_envs(out_dir)))
    start = time.time()
    for name in args.pairs:
        s = run_pair(name, seeds, out_dir, os.path.join(runs_dir, "runs"), args.steps,
                     budget_share=0.5 if args.quick else 1.0)
        print(json.dumps({"pair": name, "ours": s["ours"]["eval_return_mean"],
                          "sb3": s["sb3"]["eval_return_mean"],
                          "time_ratio": s["wall_time_ratio_ours_over_sb3"]}), flush=True)
    plot_envs(out_dir)
    print(f"compare: {len(args.pairs)} pairs, {seeds} seed(s) each, "
          f"{time.time() - start:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
