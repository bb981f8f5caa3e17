"""ppo.py and dqn_ddpg.py (--loss mse) against CleanRL's ppo.py and dqn.py, at CleanRL's settings.

For each pair it trains CleanRL's script and ours on CartPole-v1, seed by seed, one process at a
time, alternating which side goes first (CleanRL first on odd seeds, ours on even ones). CleanRL's
scripts run with their defaults (no tracking, no video) in their own Python environment; ours run
with flags that reproduce those defaults (PPO_FLAGS, dqn_loss_study.CLEANRL). Both sides use one
torch thread: ours call torch.set_num_threads(1); CleanRL does not, so its processes get
OMP_NUM_THREADS=1 and MKL_NUM_THREADS=1 (ours too), and CUDA_VISIBLE_DEVICES="" (ours: --device
cpu). CleanRL does not evaluate by default, so the returns compared are the training returns of
both sides; ours' greedy eval return (10 episodes) is recorded beside them. What no flag
matches: CleanRL's PPO treats a time-limit truncation as termination (ours bootstrap it); its DQN
acts epsilon-greedily from epsilon 1 in its 10,000 warm-up steps (ours: uniformly at random);
ours use fused Adam and gymnasium 1.x, CleanRL plain Adam and gymnasium 0.29.1.

Per run: the training time (CleanRL's own measure: its last global_step / its last charts/SPS,
SPS = global_step / (time.time() - start_time), start_time set just before its loop; ours:
train_time_s), the final training return (mean of the last 10 episodes) and the env steps at which
the mean of the last 10 training returns first reached 475. CleanRL prints SPS without its step,
so both its SPS and its episodic returns (charts/episodic_return) are read, with their global
steps, from its TensorBoard file, by its own interpreter. Per pair: medians over seeds, the ratio
of the median training times (ours / CleanRL) and the seeds reaching 475 on each side.

Set-up (CleanRL's code and environment stay outside this repository; fe8d8a03 is the commit
checked, with torch 2.13.0+cpu, gymnasium 0.29.1, numpy 1.26.4, tyro 1.0.17, tensorboard 2.21.0):

    git clone https://github.com/vwxyzjn/cleanrl ../cleanrl && git -C ../cleanrl checkout fe8d8a03
    python -m venv ../cleanrl-venv
    ../cleanrl-venv/bin/pip install torch==2.13.0 gymnasium==0.29.1 "numpy<2" tyro tensorboard

(numpy<2: gymnasium 0.29.1 predates numpy 2 and uses np.float_, gone in 2.0, in Acrobot;
CartPole runs either way. dqn.py's replay buffer comes from the checkout's cleanrl_utils, found
through PYTHONPATH, so stable-baselines3 is not needed.)

    python benchmarks/vs_cleanrl.py --cleanrl ../cleanrl --python ../cleanrl-venv/bin/python
    python benchmarks/vs_cleanrl.py --cleanrl DIR --python PY --pairs ppo --steps 20000 --seeds 1

A checkout that is not a git repository needs --cleanrl-commit. Only a run of the full budget
(--steps 500000) writes benchmarks/results/vs_cleanrl.json by default (keeping the rows of pairs
not run); a shorter one writes benchmarks/out/vs_cleanrl/vs_cleanrl.json unless --out says.
Run folders (ours' progress.csv, CleanRL's stdout and TensorBoard file) are kept under
benchmarks/out/vs_cleanrl/runs. The full run (2 pairs, 3 seeds, 500k steps, 12 runs one after
another) takes about 20 minutes on 2 cores: the rows in vs_cleanrl.json add up to 554 s of runs
for ppo (AMD EPYC) and 561 s for dqn (Xeon), each run's process_s.
"""
import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import ROOT, last_json_line  # noqa: E402
from compare import first_at_target  # noqa: E402  (mean of the last WINDOW returns >= target)
from dqn_loss_study import CLEANRL as DQN_FLAGS  # noqa: E402  (CleanRL dqn.py's settings)

FULL_STEPS, TARGET, WINDOW = 500_000, 475, 10
OUT = os.path.join(ROOT, "benchmarks", "out", "vs_cleanrl")
PPO_BATCH = 4 * 128  # CleanRL ppo.py: num_envs * num_steps; it runs total // batch iterations
# CleanRL ppo.py's Args defaults (at fe8d8a03) as ppo.py flags; num_minibatches 4 -> 512 / 4
PPO_FLAGS = ["--env-id", "CartPole-v1", "--num-envs", "4", "--num-steps", "128",
             "--minibatch-size", "128", "--update-epochs", "4", "--learning-rate", "2.5e-4",
             "--anneal-lr", "--gamma", "0.99", "--gae-lambda", "0.95", "--norm-adv",
             "--clip-eps", "0.2", "--no-anneal-clip", "--clip-vloss", "--ent-coef", "0.01",
             "--vf-coef", "0.5", "--max-grad-norm", "0.5", "--target-kl", "0",
             "--hidden-size", "64", "--no-norm-obs"]
PAIRS = {"ppo": dict(cleanrl="cleanrl/ppo.py", ours="ppo.py", flags=PPO_FLAGS,
                     budget=lambda steps: steps // PPO_BATCH * PPO_BATCH),  # its whole batches
         "dqn": dict(cleanrl="cleanrl/dqn.py", ours="dqn_ddpg.py",
                     flags=[*DQN_FLAGS, "--loss", "mse"],
                     budget=lambda steps: steps)}
THREADS = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
VERSIONS = ("import json, platform, gymnasium, numpy, torch; print(json.dumps({'python': "
            "platform.python_version(), 'gymnasium': gymnasium.__version__, 'numpy': "
            "numpy.__version__, 'torch': torch.__version__}))")
READ_TB = """import glob, json, sys
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
acc = EventAccumulator(glob.glob(sys.argv[1] + '/runs/*/events.out.tfevents.*')[0],
                       size_guidance={'scalars': 0})  # 0: every value, not a sample
acc.Reload()
print(json.dumps({t: [(e.step, e.value) for e in acc.Scalars(t)]
                  for t in ('charts/SPS', 'charts/episodic_return')}))"""


def cleanrl_commit(checkout, given=None):
    """The checkout's commit (+dirty when its tracked files differ), or the one given."""
    if given:
        return given
    git = lambda *a: subprocess.run(["git", "-C", checkout, *a], capture_output=True, text=True)
    head = git("rev-parse", "HEAD")
    if head.returncode != 0:
        sys.exit(f"{checkout} is not a git checkout: say its commit with --cleanrl-commit")
    dirty = git("status", "--porcelain", "--untracked-files=no").stdout.strip()
    return head.stdout.strip() + ("+dirty" if dirty else "")


def default_out(steps):
    """Only the full budget goes into the results tables; a short run stays in benchmarks/out."""
    return (os.path.join(common.RESULTS, "vs_cleanrl.json") if steps == FULL_STEPS
            else os.path.join(OUT, "vs_cleanrl.json"))


def final_return(episodes):
    """Mean of the last WINDOW training returns (fewer when the run had fewer)."""
    return round(statistics.fmean(r for _, r in episodes[-WINDOW:]), 2) if episodes else None


def run_cleanrl(pair, args, seed, steps):
    folder = os.path.join(OUT, "runs", f"cleanrl_{pair}_seed{seed}")
    shutil.rmtree(folder, ignore_errors=True)  # its runs/ folder: this run's events file only
    os.makedirs(folder)
    cmd = [args.python, os.path.join(args.cleanrl, PAIRS[pair]["cleanrl"]), "--env-id",
           "CartPole-v1", "--total-timesteps", str(steps), "--seed", str(seed)]
    env = {**os.environ, **THREADS, "CUDA_VISIBLE_DEVICES": "",
           "PYTHONPATH": os.path.abspath(args.cleanrl)}  # dqn.py imports cleanrl_utils
    start = time.time()
    with open(os.path.join(folder, "stdout.txt"), "w") as out:
        proc = subprocess.run(cmd, cwd=folder, env=env, stdout=out, stderr=subprocess.PIPE,
                              text=True)
    process_s = time.time() - start
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stderr.strip()[-2000:]}")
    tb = subprocess.run([args.python, "-c", READ_TB, folder], capture_output=True, text=True)
    if tb.returncode != 0:
        sys.exit(f"cannot read CleanRL's TensorBoard file in {folder}:\n{tb.stderr[-2000:]}")
    scalars = json.loads(tb.stdout.strip().splitlines()[-1])
    last_step, sps = scalars["charts/SPS"][-1]
    episodes = [(int(s), float(r)) for s, r in scalars["charts/episodic_return"]]
    return {"seed": seed, "train_time_s": round(last_step / sps, 2), "sps": sps,
            "last_sps_step": last_step, "process_s": round(process_s, 2),
            "episodes": len(episodes), "final_return": final_return(episodes),
            "steps_to_target": first_at_target(episodes, TARGET),
            "command": " ".join(["python", PAIRS[pair]["cleanrl"], *cmd[2:]])}


def run_ours(pair, seed, steps):
    run_dir = os.path.join(OUT, "runs", f"ours_{pair}_seed{seed}")
    words = [PAIRS[pair]["ours"], *PAIRS[pair]["flags"], "--total-timesteps",
             str(PAIRS[pair]["budget"](steps)), "--seed", str(seed), "--device", "cpu",
             "--eval-episodes", "10", "--quiet", "--run-dir", run_dir]
    start = time.time()
    result = last_json_line([sys.executable, *words])
    ep_steps, returns, _ = common.read_progress(os.path.join(run_dir, "progress.csv"))
    episodes = list(zip(ep_steps, returns))
    return {"seed": seed, "train_time_s": result["train_time_s"], "sps": result["sps"],
            "global_step": result["global_step"], "process_s": round(time.time() - start, 2),
            "episodes": len(episodes), "final_return": final_return(episodes),
            "steps_to_target": first_at_target(episodes, TARGET),
            "eval_return_mean": result["eval_return_mean"],
            "command": " ".join(["python", *words]).replace(ROOT + os.sep, "")}


def side_summary(runs):
    reached = [r["steps_to_target"] for r in runs if r["steps_to_target"] is not None]
    return {"median_train_time_s": round(statistics.median(r["train_time_s"] for r in runs), 2),
            "median_final_return": statistics.median(r["final_return"] for r in runs),
            "seeds_at_target": len(reached),
            "median_steps_to_target": statistics.median(reached) if reached else None}


def run_pair(pair, args, commit, versions):
    algo = PAIRS[pair]["ours"][:-3]
    sha = common.file_sha256(algo)
    their_file = os.path.join(args.cleanrl, PAIRS[pair]["cleanrl"])
    runs = {"cleanrl": [], "ours": []}
    for seed in range(1, args.seeds + 1):
        sides = ["cleanrl", "ours"] if seed % 2 else ["ours", "cleanrl"]  # alternate who is first
        for side in sides:
            runs[side].append(run_cleanrl(pair, args, seed, args.steps) if side == "cleanrl"
                              else run_ours(pair, seed, args.steps))
        c, o = runs["cleanrl"][-1], runs["ours"][-1]
        print(f"{pair} seed {seed}: CleanRL {c['train_time_s']:.1f} s, return "
              f"{c['final_return']}, 475 at {c['steps_to_target']} | ours {o['train_time_s']:.1f}"
              f" s, return {o['final_return']}, 475 at {o['steps_to_target']}, eval "
              f"{o['eval_return_mean']:.1f}", file=sys.stderr, flush=True)
    if common.file_sha256(algo) != sha:
        sys.exit(f"{algo}.py changed during the {pair} runs: its figures would mix two versions")
    cleanrl, ours = side_summary(runs["cleanrl"]), side_summary(runs["ours"])
    row = {"pair": pair, "cleanrl_file": PAIRS[pair]["cleanrl"], "cleanrl_commit": commit,
           "cleanrl_sha256": hashlib.sha256(open(their_file, "rb").read()).hexdigest()[:16],
           "ours_file": PAIRS[pair]["ours"], "algo": algo, "algo_sha256": sha,
           "env_id": "CartPole-v1", "steps": args.steps, "seeds": args.seeds,
           "target": TARGET, "window": WINDOW,
           "time_ratio_ours_over_cleanrl": round(ours["median_train_time_s"]
                                                 / cleanrl["median_train_time_s"], 3),
           **{f"cleanrl_{k}": v for k, v in cleanrl.items()},
           **{f"ours_{k}": v for k, v in ours.items()},
           "ours_median_eval_return": statistics.median(r["eval_return_mean"]
                                                        for r in runs["ours"]),
           "commit": common.git_commit(),
           "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
           "machine": common.machine(), "versions": versions, "threads": THREADS, "runs": runs}
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cleanrl", required=True, help="a CleanRL checkout")
    parser.add_argument("--cleanrl-commit", help="its commit, when it is not a git checkout")
    parser.add_argument("--python", required=True, help="an interpreter with CleanRL's packages")
    parser.add_argument("--pairs", nargs="+", choices=list(PAIRS), default=list(PAIRS))
    parser.add_argument("--seeds", type=int, default=3, help="seeds 1..SEEDS")
    parser.add_argument("--steps", type=int, default=FULL_STEPS, help="env steps per run")
    parser.add_argument("--out", help="the results file (default: see the module docstring)")
    args = parser.parse_args(argv)
    if args.steps < PPO_BATCH or args.seeds < 1:
        parser.error(f"--steps must be >= {PPO_BATCH} and --seeds >= 1")
    python = shutil.which(args.python)  # CleanRL runs in its run folder: absolute paths both
    if python is None or not os.path.isdir(args.cleanrl):
        parser.error(f"--python {args.python} or --cleanrl {args.cleanrl}: not found")
    args.python, args.cleanrl = os.path.abspath(python), os.path.abspath(args.cleanrl)
    out = args.out or default_out(args.steps)
    os.environ.update(THREADS)  # for ours too (last_json_line runs it in this environment)
    commit = cleanrl_commit(args.cleanrl, args.cleanrl_commit)
    versions = {side: json.loads(subprocess.run([py, "-c", VERSIONS], capture_output=True,
                                                text=True, check=True).stdout)
                for side, py in (("ours", sys.executable), ("cleanrl", args.python))}
    old = json.load(open(out))["rows"] if os.path.exists(out) else []
    rows = {r["pair"]: r for r in old}  # the rows of pairs not run this time stay
    start = time.time()
    for pair in args.pairs:
        rows[pair] = row = run_pair(pair, args, commit, versions)
        print(json.dumps({k: row[k] for k in (
            "pair", "time_ratio_ours_over_cleanrl", "cleanrl_median_train_time_s",
            "ours_median_train_time_s", "cleanrl_median_final_return", "ours_median_final_return",
            "cleanrl_seeds_at_target", "ours_seeds_at_target", "ours_median_eval_return")}),
            flush=True)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    common.write_json(out, {"name": "vs_cleanrl", "rows": [rows[p] for p in PAIRS if p in rows]})
    print(f"vs_cleanrl: {len(args.pairs)} pair(s), {args.seeds} seed(s), "
          f"{time.time() - start:.0f} s -> {os.path.relpath(out)}", file=sys.stderr)


if __name__ == "__main__":
    main()
