"""Where each algorithm file's training time goes, beside its speed floor.

speed_floor.py says how far each file is from the barest loop of the same work; this script
says where the difference is. For each of its pairs (the same file, flags and seed 1) it trains
the file in a fresh Python process with a timer around the function that collects transitions
(the rollout: acting and stepping the envs) and the one that makes the gradient steps (the
update). "other" is the rest of the file's train_time_s (the time speed_floor.py compares):
the loop's bookkeeping, logs, the checkpoint and some setup. Each timer adds two perf_counter
calls per call of what it wraps. Beside each, the floor's per-call times from
benchmarks/results/speed_floor.json (its latest run of that pair) and its two parts: its env
steps (with the acting forward pass), against the file's rollout, and its gradient steps,
against its update.

Two files are special. dqn_ddpg.py steps its envs inside train() itself: its rollout column is
agent.act alone, the env steps are in "other". a3c.py's worker is a spawned process, whose
functions cannot be timed from here: its worker function runs in this process instead (one
worker, as the pair runs it, with the shared model, SharedAdam, counter and stop event that
train() makes, a plain queue for its messages, left unread, and the os._exit that ends a worker
process made a no-op), so that run has no process start or exit, no main process and no logs;
its rollout is play_segment (which also computes the bootstrap V(s_T) of each segment) and its
update learn.

    python benchmarks/loop_split.py                  # every pair: about 6 minutes on 2 cores
    python benchmarks/loop_split.py --pairs a2c a3c

Writes benchmarks/results/loop_split.json (pairs not run keep their rows), with each file's
hash, the commit, date and machine; `python benchmarks/run.py --readme` makes RESULTS.md's table
of it. Run it alone on the machine: it times.
"""
import argparse
import importlib
import json
import os
import queue
import sys
import tempfile
import time
from unittest import mock

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402  (the machine, commit and file hash a result ran on)
from common import RESULTS, ROOT, last_json_line  # noqa: E402
from speed_floor import PAIRS  # noqa: E402  (each pair's command: the same runs as the floor's)

OUT = os.path.join(RESULTS, "loop_split.json")
# pair: the functions timed, as "name" or "Class.name" in the file: rollout, update
PARTS = {"ppo": ("collect_rollout", "ppo_update"), "dqn": ("DQN.act", "Agent.learn"),
         "ddpg": ("DDPG.act", "Agent.learn"), "a2c": ("collect_rollout", "batch_update"),
         "trpo": ("collect_rollout", "learn"), "npg": ("collect_rollout", "learn"),
         "gae": ("collect_rollout", "update"),
         "reinforce": ("collect_episodes", "policy_update"), "a3c": ("play_segment", "learn")}


def timed(owner, attr, clock):
    """Wrap owner.attr (a function of a module or a class) so that its calls add to clock."""
    f = getattr(owner, attr)

    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return f(*args, **kwargs)
        finally:
            clock["s"] += time.perf_counter() - start
            clock["calls"] += 1

    setattr(owner, attr, wrapper)


class Messages(queue.Queue):  # the worker's messages, left unread: no pipe to flush at its end
    def close(self):
        pass

    def join_thread(self):
        pass


def a3c_worker_in_process(mod, cfg):
    """a3c.py's train() up to starting the workers, then worker 0 run here: its time, steps."""
    mod.setup(cfg)
    obs_space, act_space = mod.make_env(cfg.env_id)[1:]
    shared_model = mod.build_model(cfg, obs_space, act_space).share_memory()
    shared = (shared_model, mod.SharedAdam(shared_model.parameters(), lr=cfg.learning_rate),
              mod.SPAWN.Value("q", 0), mod.SPAWN.Value("b", 0, lock=False), Messages())
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as run_dir, mock.patch.object(os, "_exit"):  # returns
        mod.worker(0, cfg, mod.torch.device("cpu"), shared, os.getppid(), run_dir)
    return time.perf_counter() - start, shared[2].value


def split_one(name):
    """Train pair `name`'s file here with its parts timed; print the split as one JSON line."""
    ours_cmd = PAIRS[name][1]
    sys.path.insert(0, ROOT)
    mod = importlib.import_module(ours_cmd[0][:-3])
    clocks = {part: {"s": 0.0, "calls": 0} for part in ("rollout", "update")}
    for part, where in zip(clocks, PARTS[name]):
        owner, _, attr = where.rpartition(".")
        timed(getattr(mod, owner) if owner else mod, attr, clocks[part])
    with tempfile.TemporaryDirectory() as run_dir:
        cfg = mod.configure(mod.parse_args([*ours_cmd[1:], "--seed", "1", "--quiet",
                                            "--run-dir", run_dir]))
        if name == "a3c":
            train_s, steps = a3c_worker_in_process(mod, cfg)
        else:  # train_time_s: the file's own training time, evaluation apart (speed_floor's)
            out = mod.train(cfg)
            train_s, steps = out["train_time_s"], out["global_step"]
    row = {"train_s": round(train_s, 3), "global_step": steps}
    for part in ("rollout", "update"):
        c = clocks[part]
        row[part] = {"calls": c["calls"], "s": round(c["s"], 3),
                     "us_per_call": round(c["s"] / max(c["calls"], 1) * 1e6, 1)}
    row["other_s"] = round(train_s - row["rollout"]["s"] - row["update"]["s"], 3)
    print(json.dumps(row))


def with_floor(name, row):
    """row, and the floor's per-call times for the pair from speed_floor.json, if it has them."""
    path = os.path.join(RESULTS, "speed_floor.json")
    floor = json.load(open(path))["pairs"].get(name, {}) if os.path.exists(path) else {}
    if "grad_s" in floor:
        row["floor"] = {k: floor[k] for k in ("grad_s", "env_s", "gradient_steps", "env_steps",
                                              "unit", "env_unit", "floor_s", "commit", "date")}
    return row


def show(name, row):
    r, u = row["rollout"], row["update"]
    line = (f"{name}: train {row['train_s']:.1f} s = rollout {r['s']:.1f} ({r['calls']} calls) + "
            f"update {u['s']:.1f} ({u['calls']} calls) + other {row['other_s']:.1f}")
    if "floor" in row:  # the floor's env steps and gradient steps, at its own counts
        f = row["floor"]
        line += (f" | floor {f['floor_s']:.1f} s = env steps {f['env_s'] * f['env_steps']:.1f} "
                 f"+ gradient steps {f['grad_s'] * f['gradient_steps']:.1f}")
    print(line, flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", nargs="+", choices=sorted(PARTS), default=list(PARTS))
    parser.add_argument("--one", choices=sorted(PARTS), help=argparse.SUPPRESS)  # a child run
    args = parser.parse_args()
    if args.one:
        return split_one(args.one)
    out = {"machine": common.machine(), "commit": common.git_commit(),
           "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "pairs": {}}
    for name in args.pairs:
        row = last_json_line([sys.executable, os.path.abspath(__file__), "--one", name])
        row = with_floor(name, {"command": " ".join(PAIRS[name][1]), **row,
                                "sha256": common.file_sha256(PAIRS[name][1][0][:-3])})
        show(name, row)
        out["pairs"][name] = row
    if os.path.exists(OUT):  # the pairs not run keep their rows, with their own run's stamp
        old = json.load(open(OUT))
        for name, row in old["pairs"].items():
            if name not in out["pairs"]:
                out["pairs"][name] = {**row, **{k: old[k] for k in ("machine", "commit", "date")
                                                if k not in row}}
        out["pairs"] = {name: out["pairs"][name] for name in PARTS if name in out["pairs"]}
    common.write_json(OUT, out)
    print(f"wrote {os.path.relpath(OUT, ROOT)}")


if __name__ == "__main__":
    main()
