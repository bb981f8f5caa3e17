"""How long an a3c.py run spends starting and ending its worker process, which the in-process
floor of speed_floor.py has not (RESULTS.md, "a3c.py's worker process").

Runs `a3c.py --num-workers 1` (seed 1, no evaluation) --runs times at --steps steps and reads
each run's outputs:

    start = wall_time_s of updates.csv's first row: the main process has logged the worker's
            first update (its interpreter, its imports, its first segment and optimiser step)
    end   = train_time_s - wall_time_s of its last row: from the last update logged to the main
            process seeing the worker exit

With --base, the file as it is at that commit (`git show BASE:a3c.py`, run from a temporary
folder) runs too, alternating with the working tree's, base first. These are phases, not whole
runs: on a 2-core VM whole runs of one file vary by more than the costs measured here.

    python benchmarks/a3c_process_costs.py                       # 5 runs of 100k steps: 2 min
    python benchmarks/a3c_process_costs.py --base 04ad0d7 --runs 3

Writes benchmarks/results/a3c_process_costs.json: per side, its commit, the file's hash, every
run's phases and their medians; the machine and date. Run it alone on the machine: it times.
"""
import argparse
import csv
import hashlib
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402  (the machine, commit and file hash a result ran on)
from common import RESULTS, ROOT, last_json_line  # noqa: E402

OUT = os.path.join(RESULTS, "a3c_process_costs.json")


def phases(script, steps):
    """One run of script (an a3c.py): its train_time_s, start and end, in seconds."""
    with tempfile.TemporaryDirectory() as run_dir:
        result = last_json_line([sys.executable, script, "--num-workers", "1", "--seed", "1",
                                 "--total-timesteps", str(steps), "--eval-episodes", "0",
                                 "--quiet", "--run-dir", run_dir])
        with open(os.path.join(run_dir, "updates.csv")) as f:
            rows = list(csv.DictReader(f))
    train = result["train_time_s"]
    return {"train_s": train, "start_s": float(rows[0]["wall_time_s"]),
            "end_s": round(train - float(rows[-1]["wall_time_s"]), 3)}


def summary(runs):
    return {f"median_{k}": round(statistics.median(r[k] for r in runs), 3) for k in runs[0]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--base", help="a commit: run its a3c.py too, alternating")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        scripts = {"head": os.path.join(ROOT, "a3c.py")}
        sides = {"head": {"commit": common.git_commit(), "sha256": common.file_sha256("a3c")}}
        if args.base:
            source = common.git("show", f"{args.base}:a3c.py")
            if not source:
                sys.exit(f"a3c_process_costs: no a3c.py at {args.base}")
            with open(os.path.join(tmp, "a3c.py"), "w") as f:
                f.write(source)
            scripts = {"base": os.path.join(tmp, "a3c.py"), **scripts}  # base first
            sides = {"base": {"commit": args.base, "sha256": hashlib.sha256(
                source.encode()).hexdigest()[:16]}, **sides}
        for i in range(args.runs):
            for name, script in scripts.items():
                sides[name].setdefault("runs", []).append(phases(script, args.steps))
                print(f"{name} run {i + 1}: {sides[name]['runs'][-1]}", flush=True)
    for side in sides.values():
        side.update(summary(side["runs"]))
    out = {"machine": common.machine(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
           "command": "a3c.py --num-workers 1 --seed 1 --eval-episodes 0",
           "steps": args.steps, "sides": sides}
    for name, side in sides.items():
        print(f"{name} ({side['commit']}): median start {side['median_start_s']} s, end "
              f"{side['median_end_s']} s, train {side['median_train_s']} s")
    common.write_json(OUT, out)
    print(f"wrote {os.path.relpath(OUT, ROOT)}")


if __name__ == "__main__":
    main()
