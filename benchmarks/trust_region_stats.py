"""How often NPG and TRPO leave the trust region, from the updates.csv of benchmark runs.

For each results name given, reads every seed's updates.csv (written by npg_trpo.py under
benchmarks/out/) and counts the updates whose measured KL(pi_old || pi_new) exceeded --max-kl,
and those whose surrogate fell (improvement < 0), with the largest KL seen. Writes
benchmarks/results/npg_trpo_trust_region.json.

    python benchmarks/trust_region_stats.py npg_trpo_npg_cartpole_damping0.01 \
        npg_trpo_trpo_cartpole_damping0.01 npg_trpo_npg_cartpole npg_trpo_trpo_cartpole
"""
import csv
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import ROOT, write_json  # noqa: E402

MAX_KL = 0.01  # npg_trpo.py's default delta; the benchmark rows do not change it

out = {}
for name in sys.argv[1:]:
    summary = json.load(open(os.path.join(ROOT, "benchmarks", "results", f"{name}.json")))
    kls, improvements = [], []
    for run in summary["runs"]:
        with open(os.path.join(ROOT, run["run_dir"], "updates.csv")) as f:
            for row in csv.DictReader(f):
                kls.append(float(row["kl"]))
                improvements.append(float(row["improvement"]))
    out[name] = {"updates": len(kls), "seeds": len(summary["runs"]),
                 "updates_with_kl_over_delta": sum(k > MAX_KL for k in kls),
                 "updates_with_surrogate_fallen": sum(i < 0 for i in improvements),
                 "max_kl": max(kls), "delta": MAX_KL, "results_date": summary["date"]}
    print(name, out[name])
write_json(os.path.join(ROOT, "benchmarks", "results", "npg_trpo_trust_region.json"),
           {"rows": [{"name": name, **row} for name, row in out.items()]})
