"""A change's own A/B: one algorithm file at two commits (or at a commit and in the working
tree), both loaded into one process and timed in turn, so both sides meet the same machine load
and the same warm interpreter. Runs of one file vary by 15-25% from one run to the next on a
2-core VM; a change smaller than that shows only in ratios measured side by side like this.

Two kinds of timing:

  whole runs (the default): the file's train() with the flags after `--` (and --quiet, no
      evaluation, a temporary run folder), --rounds runs a side; each run's train_time_s.
  a statement (--stmt): timed like timeit, --rounds timings of --number calls a side, in us a
      call. The side's module is `m`; --setup runs once a side first, in the same namespace.

    python benchmarks/ab.py --name a2c_returns --algo actor_critic --base 20e71d8 --head 050caf5 \\
        --rounds 10 -- --mode batch --total-timesteps 100000
    python benchmarks/ab.py --name a2c_returns_call --algo actor_critic --base 20e71d8 \\
        --setup "import torch; r = torch.rand(5, 8); ..." --stmt "m.n_step_returns(r, ...)"

--head is the working tree when not given. The sides take turns, base first, then head first,
and so on, after --warmup untimed rounds taken the same way (a process's first optimiser step
imports torch._dynamo, about a second: no side should pay it alone). a3c.py's train() starts
worker processes, which cannot import a file loaded so: time its runs with a3c_process_costs.py.

Writes benchmarks/results/ab_NAME.json: the command and the commit it ran at, each side's commit
and file hash, every timing, each side's best and median, and head over base: the bests', the
medians' and the median of the rounds' paired ratios. Run it alone on the machine: it times.
"""
import argparse
import hashlib
import importlib.util
import os
import shlex
import statistics
import sys
import tempfile
import time
import timeit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402  (the machine, commit and file hash a result ran on)
from common import RESULTS, ROOT  # noqa: E402

ALGOS = ("reinforce", "actor_critic", "gae", "npg_trpo", "ppo", "a3c", "dqn_ddpg")


def fail(message):  # bad input: one line, exit status 2
    print(f"ab.py: error: {message}", file=sys.stderr)
    sys.exit(2)


def on_side(name, fn):
    """fn() for the side called name; an error in its file, flags, --setup or --stmt: one line."""
    try:
        return fn()
    except Exception as e:  # the side's own failure, named; a timing needs no traceback
        fail(f"the {name} side failed: {type(e).__name__}: {(str(e).splitlines() or [''])[0]}")


def side_source(algo, commit):
    """(the file's text, its commit as recorded) at commit; the working tree's when None."""
    if commit is None:
        with open(os.path.join(ROOT, f"{algo}.py")) as f:
            return f.read(), common.git_commit()
    source = common.git("show", f"{commit}:{algo}.py")
    if not source:
        fail(f"no {algo}.py at {commit!r}")
    return source, common.git("rev-parse", "--short", commit).strip()


def load(name, source, folder):
    """source as a module of its own, named name (both sides live in one process)."""
    path = os.path.join(folder, f"{name}.py")
    with open(path, "w") as f:
        f.write(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


def whole_run(module, flags):
    """One train() of module with flags: its train_time_s."""
    with tempfile.TemporaryDirectory() as run_dir:
        words = [*flags, "--quiet", "--eval-episodes", "0", "--run-dir", run_dir]
        return module.train(module.configure(module.parse_args(words)))["train_time_s"]


def statement(module, setup, stmt, number):
    """A timer of stmt, `m` being module, after setup; it returns us a call."""
    namespace = {"m": module}
    exec(setup, namespace)
    timer = timeit.Timer(stmt, globals=namespace)
    timer.timeit(1)  # the first call's own costs (imports, allocations) out of every timing
    return lambda: timer.timeit(number) / number * 1e6


def ratios(base, head):
    """head over base: of the bests, of the medians, and the median of the paired ratios."""
    return {"best": round(min(head) / min(base), 3),
            "median": round(statistics.median(head) / statistics.median(base), 3),
            "paired": round(statistics.median(h / b for b, h in zip(base, head)), 3)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--name", required=True, help="the result's name: ab_NAME.json")
    parser.add_argument("--algo", required=True, choices=ALGOS)
    parser.add_argument("--base", required=True, help="a commit")
    parser.add_argument("--head", help="a commit; the working tree when not given")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--warmup", type=int, default=1, help="untimed rounds first")
    parser.add_argument("--stmt", help="time this statement instead of whole runs")
    parser.add_argument("--setup", default="pass", help="run once a side before --stmt")
    parser.add_argument("--number", type=int, default=1000, help="calls a --stmt timing")
    parser.add_argument("flags", nargs="*", help="train()'s flags, after --")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.warmup < 0 or args.number < 1:
        fail("--rounds and --number must be at least 1, --warmup at least 0")
    if not args.name.replace("_", "").isalnum():
        fail(f"--name must be letters, digits and underscores, not {args.name!r}")
    if args.stmt is None and args.algo == "a3c":
        fail("a3c.py's workers cannot import a file loaded in-process: for its whole runs use "
             "benchmarks/a3c_process_costs.py")
    if args.stmt is not None and args.flags:
        fail("train()'s flags go with whole runs, not with --stmt")
    sources = {"base": side_source(args.algo, args.base), "head": side_source(args.algo, args.head)}
    sides = {name: {"commit": commit, "sha256": hashlib.sha256(text.encode()).hexdigest()[:16],
                    "warmup": [], "timings": []} for name, (text, commit) in sources.items()}
    with tempfile.TemporaryDirectory() as folder:
        timers = {}
        for name, (text, _) in sources.items():
            module = on_side(name, lambda: load(f"ab_{name}_{args.algo}", text, folder))
            timers[name] = (on_side(name, lambda: statement(module, args.setup, args.stmt,
                                                            args.number)) if args.stmt
                            else lambda module=module: whole_run(module, args.flags))
        for i in range(args.warmup + args.rounds):
            for name in (("base", "head") if i % 2 == 0 else ("head", "base")):
                value = round(on_side(name, timers[name]), 3)
                sides[name]["warmup" if i < args.warmup else "timings"].append(value)
                print(f"{'warm-up' if i < args.warmup else 'round'} "
                      f"{i + 1 - args.warmup * (i >= args.warmup)} {name}: {value}", flush=True)
    for side in sides.values():
        side.update(best=min(side["timings"]), median=round(statistics.median(side["timings"]), 3))
    out = {"machine": common.machine(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
           "ran_at": common.git_commit(),  # the commit of this script (and of the working tree)
           "command": shlex.join(["benchmarks/ab.py", *(sys.argv[1:] if argv is None else argv)]),
           "algo": args.algo, "unit": "us a call" if args.stmt else "train_time_s",
           "sides": sides, "head_over_base": ratios(sides["base"]["timings"],
                                                    sides["head"]["timings"])}
    for name, side in sides.items():
        print(f"{name} ({side['commit']}): best {side['best']}, median {side['median']} "
              f"({out['unit']})")
    print(f"head over base: {out['head_over_base']}")
    common.write_json(path := os.path.join(RESULTS, f"ab_{args.name}.json"), out)
    print(f"wrote {os.path.relpath(path, ROOT)}")


if __name__ == "__main__":
    main()
