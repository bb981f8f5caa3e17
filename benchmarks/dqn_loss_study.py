"""DQN at CleanRL's CartPole-v1 settings: the Huber TD loss against the squared error (#18).

dqn_ddpg.py with CleanRL's dqn.py settings (Adam 2.5e-4, buffer 10,000, batch 128, one gradient
step every 10 env steps, the target copied every 500, epsilon 1 -> 0.05 over half the run,
10,000 random steps first, a 120-84 network, gamma 0.99, no gradient clipping), 500k steps,
seeds 1-3, --loss huber and --loss mse, two runs at a time. Then three 60k-step variants of seed
1 that separate the causes: Huber with a 10 times smaller step, the squared error with a 10
times larger one, and Huber with the target copied 10 times less often. For each run: the
final greedy return, and from updates.csv the mean Q(s, a) and mean |TD error| of the sampled
batch at a few steps (true Q is at most sum_k 0.99^k = 100 on CartPole-v1). Writes
benchmarks/results/dqn_loss_study.json.

    python benchmarks/dqn_loss_study.py        # about 12 minutes on 2 cores
"""
import csv
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import RESULTS, ROOT, file_sha256, git_commit, machine, write_json  # noqa: E402

CLEANRL = ["--env-id", "CartPole-v1", "--learning-rate", "2.5e-4", "--buffer-size", "10000",
           "--batch-size", "128", "--train-freq", "10", "--gradient-steps", "1",
           "--target-update-interval", "500", "--tau", "1.0", "--exploration-fraction", "0.5",
           "--exploration-initial-eps", "1.0", "--exploration-final-eps", "0.05",
           "--learning-starts", "10000", "--net-arch", "120,84", "--gamma", "0.99",
           "--max-grad-norm", "inf"]  # CleanRL's dqn.py clips no gradient
RUNS = [(f"{loss} seed {seed}", ["--loss", loss, "--seed", str(seed), "--total-timesteps",
                                 "500000"]) for seed in (1, 2, 3) for loss in ("huber", "mse")]
RUNS += [(name, ["--seed", "1", "--total-timesteps", "60000", *flags]) for name, flags in [
    ("huber, step 2.5e-5", ["--loss", "huber", "--learning-rate", "2.5e-5"]),
    ("mse, step 2.5e-3", ["--loss", "mse", "--learning-rate", "2.5e-3"]),
    ("huber, target every 5000", ["--loss", "huber", "--target-update-interval", "5000"])]]
AT_STEPS = (20_000, 40_000, 60_000, 200_000, 500_000)


def run(name, flags):
    run_dir = os.path.join(ROOT, "benchmarks", "out", "dqn_loss_study", name.replace(" ", "_")
                           .replace(",", ""))
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "dqn_ddpg.py"), *CLEANRL, *flags,
                           "--quiet", "--run-dir", run_dir], capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{name}: {proc.stderr.strip().splitlines()[-1:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    with open(os.path.join(run_dir, "updates.csv")) as f:
        updates = list(csv.DictReader(f))
    row = {"run": name, "flags": " ".join(flags), "eval_return_mean": result["eval_return_mean"]}
    for step in AT_STEPS:  # the last update at or before each step
        seen = [u for u in updates if int(u["global_step"]) <= step]
        if seen and int(updates[-1]["global_step"]) >= step * 0.99:
            row[f"q_mean@{step // 1000}k"] = round(float(seen[-1]["q_mean"]), 2)
            row[f"td_abs@{step // 1000}k"] = round(float(seen[-1]["td_abs_mean"]), 3)
    print(json.dumps(row), flush=True)
    return row


def main():
    start, sha = time.time(), file_sha256("dqn_ddpg")
    with ThreadPoolExecutor(2) as pool:  # one torch thread each: two runs on two cores
        rows = list(pool.map(lambda r: run(*r), RUNS))
    if file_sha256("dqn_ddpg") != sha:
        sys.exit("dqn_ddpg.py changed during the study: its figures would mix two versions")
    out = {"name": "dqn_loss_study", "algo": "dqn_ddpg", "algo_sha256": sha, "cleanrl_flags":
           " ".join(CLEANRL), "commit": git_commit(), "machine": machine(),
           "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
           "wall_time_s": round(time.time() - start, 1), "rows": rows}
    write_json(os.path.join(RESULTS, "dqn_loss_study.json"), out)


if __name__ == "__main__":
    main()
