"""Benchmark one algorithm file on one env over several seeds: the rows of every results table.

Each seed runs the file as a subprocess (`python <algo>.py --env-id ENV --seed S --quiet ...`),
then the run's final JSON line and its progress.csv are read back. The summary, written to
benchmarks/results/<name>.json (and <name>.png when matplotlib is installed), holds per seed
and over seeds: final deterministic eval return, whether it reached the target, env steps until
the mean training return of the last --window episodes first reached the target, training wall
time and steps per second, with the commit, date and machine it ran on.

    python benchmarks/run.py --algo reinforce --env-id CartPole-v1 --seeds 5 --target 475 \
        --name reinforce_cartpole -- --total-timesteps 500000
    python benchmarks/run.py --algo random --env-id CartPole-v1 --name random_cartpole \
        -- --num-envs 8 --total-timesteps 200000        # steps/s floor: random actions only
    python benchmarks/run.py --table                     # markdown table of all results
    python benchmarks/run.py --table 'ppo_*'             # ... of some of them
    python benchmarks/run.py --readme                    # README.md's and RESULTS.md's tables
    python benchmarks/run.py --plot out.png NAME NAME    # several results on one figure
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import render  # noqa: E402  (the tables of README.md and benchmarks/RESULTS.md)
from common import (RESULTS, ROOT, file_sha256, git_commit, machine, read_progress,  # noqa: E402
                    target_reached, write_json)

def run_seed(args, seed, extra):
    run_dir = os.path.join(ROOT, "benchmarks", "out", args.name, f"seed{seed}")
    cmd = [sys.executable, os.path.join(ROOT, f"{args.algo}.py"), "--env-id", args.env_id,
           "--seed", str(seed), "--run-dir", run_dir, "--quiet", *extra]
    start = time.time()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.time() - start
    if proc.returncode != 0:
        err = (proc.stderr.strip().splitlines() or ["?"])[-1]
        print(f"  seed {seed}: FAILED (exit {proc.returncode}): {err}", file=sys.stderr)
        return {"seed": seed, "error": err, "wall_time_s": round(wall, 1)}
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    steps, seconds = (target_reached(os.path.join(run_dir, "progress.csv"), args.target,
                                     args.window) if args.target is not None else (None, None))
    row = {"seed": seed, "eval_return_mean": result["eval_return_mean"],
           "eval_return_std": result["eval_return_std"],
           "steps_to_target": steps, "train_s_to_target": seconds,
           "global_step": result.get("global_step", result["total_timesteps"]),
           "train_time_s": result["train_time_s"], "sps": result["sps"],
           "wall_time_s": round(wall, 1), "run_dir": os.path.relpath(run_dir, ROOT)}
    print(f"  seed {seed}: eval {row['eval_return_mean']:.1f}, steps to target "
          f"{row['steps_to_target']}, {row['train_time_s']:.0f} s, {row['sps']:.0f} steps/s",
          file=sys.stderr)
    return row


def random_floor(args, extra):
    """Steps/s of the same vector env driven by random actions: what no agent can beat."""
    import gymnasium as gym
    opts = argparse.ArgumentParser()
    opts.add_argument("--num-envs", type=int, default=8)
    opts.add_argument("--total-timesteps", type=int, default=200_000)
    opts = opts.parse_args(extra)
    envs = gym.make_vec(args.env_id, num_envs=opts.num_envs, vectorization_mode="sync")
    envs.reset(seed=1)
    envs.action_space.seed(1)
    start, steps = time.time(), 0
    while steps < opts.total_timesteps:
        envs.step(envs.action_space.sample())
        steps += opts.num_envs
    elapsed = time.time() - start
    return [{"seed": 1, "global_step": steps, "train_time_s": round(elapsed, 3),
             "sps": round(steps / elapsed, 1), "num_envs": opts.num_envs}]


def summarise(args, extra, rows, wall):
    ok = [r for r in rows if "error" not in r]
    evals = [r["eval_return_mean"] for r in ok if r.get("eval_return_mean") is not None]
    reached = [r["steps_to_target"] for r in ok if r.get("steps_to_target") is not None]
    seconds = [r["train_s_to_target"] for r in ok if r.get("train_s_to_target") is not None]
    mean = lambda xs: round(statistics.fmean(xs), 3) if xs else None
    return {
        "name": args.name, "algo": args.algo, "env_id": args.env_id, "args": extra,
        "seeds": len(rows), "failed_seeds": len(rows) - len(ok), "target": args.target,
        "window": args.window,
        "eval_return_mean": mean(evals),
        "eval_return_std": round(statistics.pstdev(evals), 3) if evals else None,
        "seeds_reaching_target": (sum(e >= args.target for e in evals)
                                  if args.target is not None else None),
        "median_steps_to_target": statistics.median(reached) if reached else None,
        "seeds_with_training_return_at_target": len(reached),
        "median_train_s_to_target": round(statistics.median(seconds), 1) if seconds else None,
        "mean_train_time_s": mean([r["train_time_s"] for r in ok]),
        "mean_sps": mean([r["sps"] for r in ok]),
        "wall_time_s": round(wall, 1), "commit": git_commit(),
        "algo_sha256": file_sha256(args.algo),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": machine(),
        "runs": rows,
    }


def mean_curve(summary, np):
    """Training return (mean of the last `window` episodes) on a common step grid, per seed:
    from the summary's stored curves, else from each run's progress.csv."""
    if "curves" in summary:
        c = summary["curves"]
        return np.array(c["steps"]), np.array(c["per_seed"], dtype=float)
    curves = []
    for r in summary["runs"]:
        if "run_dir" in r:
            steps, returns, _ = read_progress(os.path.join(ROOT, r["run_dir"], "progress.csv"))
            w = summary["window"]
            if len(returns) >= w:
                curves.append((np.array(steps[w - 1:]), np.convolve(returns, np.ones(w) / w, "valid")))
    if not curves:
        return None
    grid = np.linspace(0, min(s[-1] for s, _ in curves), 200)  # where every seed has data
    return grid, np.array([np.interp(grid, s, y, left=np.nan, right=np.nan) for s, y in curves])


def plot(summaries, path, title):
    """Mean over seeds (line) and min-max spread (shaded) of each summary's learning curve."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import numpy as np
    except ImportError:
        print("  (matplotlib not installed: no plot)", file=sys.stderr)
        return
    curves = [(s, mean_curve(s, np)) for s in summaries]
    curves = [(s, c) for s, c in curves if c is not None]
    if not curves:  # e.g. the random-action floor: no learning curve to draw
        return
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for s, (grid, ys) in curves:
        keep = ~np.isnan(ys).all(0)  # grid points before any seed's first full window
        grid, ys = grid[keep], ys[:, keep]
        label = s["name"] if len(summaries) > 1 else f"mean of {len(ys)} seeds"
        ax.plot(grid, np.nanmean(ys, 0), label=label)
        if len(curves) == 1:  # the spread of several results on one axis would hide them all
            ax.fill_between(grid, np.nanmin(ys, 0), np.nanmax(ys, 0), alpha=0.2, label="min-max")
    if summaries[0]["target"] is not None:
        ax.axhline(summaries[0]["target"], ls="--", c="gray", label="target")
    ax.set(xlabel="env steps", ylabel=f"training return (mean of last {summaries[0]['window']})",
           title=title)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--algo", help="algorithm file stem (ppo, reinforce, ...) or 'random'")
    parser.add_argument("--env-id", default="CartPole-v1")
    parser.add_argument("--seeds", type=int, default=5, help="runs seeds 1..SEEDS")
    parser.add_argument("--target", type=float, default=None, help="return to reach")
    parser.add_argument("--window", type=int, default=10, help="episodes in the training mean")
    parser.add_argument("--name", help="results file name (default <algo>_<env>)")
    parser.add_argument("--jobs", type=int, default=1, help="seeds run at once")
    parser.add_argument("--table", action="store_true",
                        help="print the results table (of the names or patterns given) and exit")
    parser.add_argument("--readme", action="store_true",
                        help="regenerate the tables of README.md and RESULTS.md and exit")
    parser.add_argument("--plot", metavar="PNG", help="plot the named results on one figure")
    args, extra = parser.parse_known_args(argv)
    extra = [a for a in extra if a != "--"]
    if args.table:
        return print("\n".join(render.table(extra)))
    if args.readme:
        return render.update()
    if args.plot:  # the remaining words name results files
        summaries = [json.load(open(os.path.join(RESULTS, f"{n}.json"))) for n in extra]
        return plot(summaries, args.plot, ", ".join(sorted({s["env_id"] for s in summaries})))
    if not args.algo:
        parser.error("--algo is required")
    if args.algo != "random" and not os.path.isfile(os.path.join(ROOT, f"{args.algo}.py")):
        parser.error(f"no such algorithm file: {args.algo}.py")
    args.name = args.name or f"{args.algo}_{args.env_id}".replace("/", "-")
    os.makedirs(RESULTS, exist_ok=True)
    print(f"{args.name}: {args.algo} on {args.env_id}, args {extra}",
          file=sys.stderr)
    start = time.time()
    if args.algo == "random":
        rows = random_floor(args, extra)
    else:
        with ThreadPoolExecutor(args.jobs) as pool:
            rows = list(pool.map(lambda s: run_seed(args, s, extra), range(1, args.seeds + 1)))
    summary = summarise(args, extra, rows, time.time() - start)
    try:  # keep the learning curves in the results file: plots need no run directories later
        import numpy as np
        grid, ys = mean_curve(summary, np)
        summary["curves"] = {"steps": [round(float(x), 1) for x in grid],
                             "per_seed": [[None if np.isnan(y) else round(float(y), 2)
                                           for y in row] for row in ys]}
    except (ImportError, TypeError):  # no numpy, or no seed with a full window (random floor)
        pass
    out = os.path.join(RESULTS, f"{args.name}.json")
    write_json(out, summary, indent=2)  # as every row file before it
    plot([summary], out[:-5] + ".png",
         f"{summary['algo']} on {summary['env_id']} ({summary['commit']})")
    print(json.dumps({k: summary[k] for k in ("name", "eval_return_mean", "eval_return_std",
                                              "seeds_reaching_target", "median_steps_to_target",
                                              "mean_train_time_s", "mean_sps")}))


if __name__ == "__main__":
    main()
