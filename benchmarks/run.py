"""Benchmark one algorithm file on one env over several seeds; every README figure comes from here.

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
    python benchmarks/run.py --readme                    # regenerate the README's tables
    python benchmarks/run.py --plot out.png NAME NAME    # several results on one figure
"""
import argparse
import csv
import fnmatch
import glob
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "benchmarks", "results")


def git_commit():
    def git(*args):
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout
    commit = git("rev-parse", "--short", "HEAD").strip() or "unknown"
    # results files are outputs: a redrawn plot does not make the code that runs differ
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", ".",
                ":!benchmarks/results").strip()
    return commit + ("+dirty" if dirty else "")


# Flags renamed since a result ran (#15: one name for one thing across files): old words ->
# today's. same_behaviour.py runs a row's base side with the old names and its head side with
# these; the comparison table shows a row's command as it is spelled today.
RENAMES = {
    "npg_trpo": {("--normalize-obs",): ("--norm-obs",),
                 ("--value-minibatch",): ("--value-minibatch-size",)},
    "ppo": {("--normalize", "on"): ("--norm-obs",), ("--normalize", "off"): ("--no-norm-obs",),
            ("--normalize", "auto"): ()},
    "a3c": {("--value-coef",): ("--vf-coef",)},
}


def todays_flags(algo, words):
    """words (a command's flags) with every renamed flag of algo spelled as today."""
    out, i = [], 0
    while i < len(words):
        old = next((o for o in RENAMES.get(algo, {}) if tuple(words[i:i + len(o)]) == o), None)
        out += RENAMES[algo][old] if old else [words[i]]
        i += len(old) if old else 1
    return out


def file_sha256(algo):
    """The algorithm file's content hash: pins the code a result came from, committed or not."""
    path = os.path.join(ROOT, f"{algo}.py")
    return hashlib.sha256(open(path, "rb").read()).hexdigest()[:16] if os.path.isfile(path) else None


def vouched_hashes(recorded_sha, checks=()):
    """The file hashes a result stands for: the one it ran at, and each hash that a behaviour
    check (benchmarks/same_behaviour.py, its `behaviour_checks`) found to behave the same seed
    for seed as one already in the set, followed check by check from the recorded one."""
    hashes, grown = {recorded_sha}, True
    while grown:
        new = {c["sha256"] for c in checks if c["base_sha256"] in hashes} - hashes
        hashes, grown = hashes | new, bool(new)
    return hashes


def changed_since(recorded_sha, algo, checks=()):
    """The mark a table puts beside a result: '' when it ran at the algorithm file's hash;
    ' (checked same at COMMIT)' when a behaviour check leads from its hash to the file's (the
    commit of the check that reached it); ' (file changed since)' otherwise."""
    now = file_sha256(algo)
    if now == recorded_sha:
        return ""
    if now in vouched_hashes(recorded_sha, checks):
        head = next(c["head"] for c in checks if c["sha256"] == now)
        return f" (checked same at {head})"
    return " (file changed since)"


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()}, Python {platform.python_version()}"


def target_reached(progress_csv, target, window):
    """(global step, training seconds) at the first episode where the mean return of the last
    `window` episodes >= target; (None, None) if it never does."""
    steps, returns, seconds = read_progress(progress_csv)
    for i in range(len(returns)):
        recent = returns[max(0, i - window + 1): i + 1]
        if len(recent) == window and sum(recent) / window >= target:
            return steps[i], seconds[i]
    return None, None


def read_progress(progress_csv):
    steps, returns, seconds = [], [], []
    with open(progress_csv) as f:
        for row in csv.DictReader(f):
            steps.append(int(row["global_step"]))
            returns.append(float(row["episode_return"]))
            seconds.append(float(row["wall_time_s"]))
    return steps, returns, seconds


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


def is_summary(s):
    return isinstance(s, dict) and "runs" in s and "eval_return_mean" in s


def source_commit(summary):
    """The commit the result's numbers belong to: the recorded one when the tree was clean,
    else the first commit whose algorithm file has the recorded sha256 (the file that ran)."""
    commit, sha = summary["commit"], summary.get("algo_sha256")
    if not commit.endswith("+dirty") or not sha or summary["algo"] == "random":
        return commit
    git = lambda *a: subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True).stdout
    for c in reversed(git("log", "--format=%h", "--", f"{summary['algo']}.py").split()):
        blob = subprocess.run(["git", "show", f"{c}:{summary['algo']}.py"], cwd=ROOT,
                              capture_output=True).stdout
        if hashlib.sha256(blob).hexdigest()[:len(sha)] == sha:
            return f"{c} (file)"
    return commit


def run_on(summary):
    """The date and processor of a result, e.g. '2026-11-22, Intel Xeon'."""
    cpu = summary.get("machine", "").split(",")[0].replace("(R)", "").replace(" Processor", "")
    return f"{summary.get('date', '?')[:10]}, {cpu.strip() or '?'}"


def table(patterns=()):
    """Markdown lines of the results files (all, or those whose name matches a pattern)."""
    lines = ["| name | env | seeds | eval return (mean ± std over seeds) | seeds >= target "
             "| median steps to target | median train s to target | train s | steps/s | commit | run on |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for path in sorted(glob.glob(os.path.join(RESULTS, "*.json"))):
        name = os.path.basename(path)[:-5]
        if patterns and not any(fnmatch.fnmatch(name, p) for p in patterns):
            continue
        s = json.load(open(path))
        if not is_summary(s):  # a study's own file (gradient variance, lambda sweep, ...)
            continue
        ev = ("-" if s["eval_return_mean"] is None
              else f"{s['eval_return_mean']:.1f} ± {s['eval_return_std']:.1f}")
        tgt = "-" if s["target"] is None else f"{s['seeds_reaching_target']}/{s['seeds']} (>= {s['target']:g})"
        med = s["median_steps_to_target"]
        med = "-" if med is None else f"{med:,.0f} ({s['seeds_with_training_return_at_target']} seeds)"
        sec = s.get("median_train_s_to_target")
        sec = "-" if sec is None else f"{sec:.1f}"
        t = "-" if s["mean_train_time_s"] is None else f"{s['mean_train_time_s']:.0f}"
        sps = "-" if s["mean_sps"] is None else f"{s['mean_sps']:,.0f}"
        recorded = s.get("algo_sha256")  # a result of an older version of the file is marked
        stale = (changed_since(recorded, s["algo"], s.get("behaviour_checks", ()))
                 if recorded else "")
        lines.append(f"| {s['name']} | {s['env_id']} | {s['seeds']} | {ev} | {tgt} "
                     f"| {med} | {sec} | {t} | {sps} | {source_commit(s)}{stale} | {run_on(s)} |")
    return lines


def study_table(name, key, columns):
    """Markdown lines of the rows summary[key] of a study's results file (a list of dicts)."""
    rows = json.load(open(os.path.join(RESULTS, f"{name}.json")))[key]
    cell = lambda v: f"{v:.4g}" if isinstance(v, float) else str(v)
    return (["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
            + ["| " + " | ".join(cell(r.get(c, "-")) for c in columns) + " |" for r in rows])


def compare_table():
    """Markdown lines of every benchmarks/results/compare_*.json (benchmarks/compare.py), in
    compare.py's order, then a line per pair whose sb3 side is only the closest counterpart."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from compare import PAIRS  # noqa: E402  (the order and notes of the pairs)
    both = lambda s, key, fmt: " / ".join("-" if s[w][key] is None else fmt.format(s[w][key])
                                          for w in ("ours", "sb3"))
    lines = ["| pair | ours | sb3 | env | steps | seeds | eval return: ours | eval return: sb3 "
             "| seeds >= target: ours / sb3 | median steps to target: ours / sb3 "
             "| median train s: ours / sb3 | ours / sb3 time | steps/s: ours / sb3 | commit | run on |",
             "|" + "---|" * 15]
    notes = []
    for name in PAIRS:
        path = os.path.join(RESULTS, f"compare_{name}.json")
        if not os.path.exists(path):
            continue
        s = json.load(open(path))
        ev = lambda w: f"{s[w]['eval_return_mean']:.1f} ± {s[w]['eval_return_std']:.1f}"
        to_target = lambda w: ("-" if s[w]["median_steps_to_target"] is None else
                               f"{s[w]['median_steps_to_target']:,.0f} "
                               f"({s[w]['seeds_with_training_return_at_target']})")
        stale = changed_since(s["algo_sha256"], s["algo"], s.get("behaviour_checks", ()))
        sb3 = f"{s['sb3_algo']} ({s['sb3_version']})" + ("*" if s["note"] else "")
        command = " ".join(todays_flags(s["algo"], s["ours_command"].split()))
        lines.append(f"| {name} | {command} | {sb3} | {s['env_id']} "
                     f"| {s['total_timesteps']:,} | {s['seeds']} | {ev('ours')} | {ev('sb3')} "
                     f"| {both(s, 'seeds_eval_at_target', '{}')} (>= {s['target']:g}) "
                     f"| {to_target('ours')} / {to_target('sb3')} "
                     f"| {both(s, 'median_train_time_s', '{:.1f}')} "
                     f"| {s['wall_time_ratio_ours_over_sb3']:.2f} "
                     f"| {both(s, 'median_sps', '{:,.0f}')} "
                     f"| {source_commit(s)}{stale} | {run_on(s)} |")
        if s["note"]:
            notes.append(f"- \\* {name}: {s['note']}.")
    return lines + ([""] + notes if notes else [])


def floor_table():
    """Markdown lines of benchmarks/results/speed_floor.json (benchmarks/speed_floor.py)."""
    path = os.path.join(RESULTS, "speed_floor.json")
    if not os.path.exists(path):
        return []
    s = json.load(open(path))
    lines = ["| pair | ours | gradient steps | ms per gradient step | env steps | ms per env step "
             "| floor s | ours s | sb3 s | floor / sb3 | ours / sb3 | eval return: ours / sb3 "
             "| commit | run on |", "|" + "---|" * 14]
    for name, r in s["pairs"].items():
        stale = changed_since(r["ours_sha256"], r["ours_command"].split()[0][:-3],
                              r.get("behaviour_checks", ()))
        lines.append(f"| {name} | {r['ours_command']} | {r['gradient_steps']:,} "
                     f"| {r['grad_s'] * 1e3:.2f} | {r['env_steps']:,} | {r['env_s'] * 1e3:.3f} "
                     f"| {r['floor_s']:.1f} | {r['ours_s']:.1f} | {r['sb3_s']:.1f} "
                     f"| {r['floor_over_sb3']:.2f} | {r['ours_over_sb3']:.2f} "
                     f"| {r['ours_eval']:.1f} / {r['sb3_eval']:.1f} "
                     f"| {s['commit']}{stale} | {run_on(s)} |")
    return lines


def render_readme(text):
    """The README with each table between `<!-- results: PATTERN ... -->` (or `<!-- compare -->`,
    `<!-- floor -->`, `<!-- study: NAME KEY COLUMN ... -->`) and `<!-- end results -->`
    regenerated from the results files: the README's figures are never typed by hand."""
    out, patterns = [], None
    for line in text.splitlines():
        if line.startswith("<!-- results:"):
            patterns = line[len("<!-- results:"):-len("-->")].split()
            out += [line, *table(patterns)]
        elif line.startswith("<!-- compare"):
            patterns = []
            out += [line, *compare_table()]
        elif line.startswith("<!-- floor"):
            patterns = []
            out += [line, *floor_table()]
        elif line.startswith("<!-- study:"):
            patterns = line[len("<!-- study:"):-len("-->")].split()
            out += [line, *study_table(patterns[0], patterns[1], patterns[2:])]
        elif line.startswith("<!-- end results"):
            out.append(line)
            patterns = None
        elif patterns is None:
            out.append(line)
    return "\n".join(out) + "\n"


def update_readme():
    path = os.path.join(ROOT, "README.md")
    text = render_readme(open(path).read())
    with open(path, "w") as f:
        f.write(text)


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
                        help="regenerate the README's results tables and exit")
    parser.add_argument("--plot", metavar="PNG", help="plot the named results on one figure")
    args, extra = parser.parse_known_args(argv)
    extra = [a for a in extra if a != "--"]
    if args.table:
        return print("\n".join(table(extra)))
    if args.readme:
        return update_readme()
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
    with open(out, "w") as f:
        json.dump(summary, f, indent=2)
    plot([summary], out[:-5] + ".png",
         f"{summary['algo']} on {summary['env_id']} ({summary['commit']})")
    print(json.dumps({k: summary[k] for k in ("name", "eval_return_mean", "eval_return_std",
                                              "seeds_reaching_target", "median_steps_to_target",
                                              "mean_train_time_s", "mean_sps")}))


if __name__ == "__main__":
    main()
