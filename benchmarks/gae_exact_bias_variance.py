"""The bias-variance trade-off of GAE, enumerated exactly on tabular MDPs (tests/support/mdp.py).

For each lam, the estimate g = sum_t gamma^t grad log pi(a_t|s_t) A^GAE_t of one trajectory is
computed for every trajectory; its exact mean gives the bias |E g - grad J| and its exact total
variance E||g - E g||^2, once with the true V_t and once with V_t + N(0, 0.5^2) noise.
Writes benchmarks/results/gae_exact_bias_variance.json:

    python benchmarks/gae_exact_bias_variance.py
"""
import os
import sys

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "benchmarks"), os.path.join(ROOT, "tests"),
                os.path.join(ROOT, "tests", "support")]
from common import write_json  # noqa: E402
from mdp import exact_grad_J, exact_values, policy_probs, random_mdp, random_theta  # noqa: E402
from test_gae import gae_gradient  # noqa: E402

LAMS = [0.0, 0.5, 0.9, 0.95, 0.97, 1.0]
CRITICS = ("exact V", "V + N(0, 0.5^2) noise")
GAMMA = 0.99


def main():
    rows = []
    for seed in range(5):
        mdp = random_mdp(3, 2, 4, seed)
        theta = random_theta(mdp, seed)
        V, _ = exact_values(mdp, policy_probs(theta), GAMMA)
        noise = 0.5 * torch.randn(V.shape, dtype=V.dtype,
                                  generator=torch.Generator().manual_seed(100 + seed))
        exact = exact_grad_J(mdp, theta, GAMMA)
        for critic, values in zip(CRITICS, (V, V + noise)):
            for lam in LAMS:
                g, variance = gae_gradient(mdp, theta, GAMMA, lam, values)
                rows.append({"mdp_seed": seed, "critic": critic, "lam": lam,
                             "bias_norm": (g - exact).norm().item(),
                             "grad_J_norm": exact.norm().item(), "variance": variance.item()})
    summary = [{"critic": c, "lam": lam,
                "mean_bias_norm": sum(r["bias_norm"] for r in sel) / len(sel),
                "mean_variance": sum(r["variance"] for r in sel) / len(sel)}
               for c in CRITICS for lam in LAMS
               for sel in [[r for r in rows if r["critic"] == c and r["lam"] == lam]]]
    out = {"what": "exact bias |E g - grad J| and total variance E||g - E g||^2 of the "
                   "one-trajectory estimate g = sum_t gamma^t grad log pi(a_t|s_t) A^GAE_t",
           "setup": f"random_mdp(3 states, 2 actions, horizon 4, seed 0..4), "
                    f"theta = random_theta(seed), gamma {GAMMA}",
           "command": "python benchmarks/gae_exact_bias_variance.py", "rows": rows,
           "summary_rows": summary}
    path = os.path.join(ROOT, "benchmarks", "results", "gae_exact_bias_variance.json")
    write_json(path, out)
    for critic in CRITICS:
        print(critic, "(one column per MDP)")
        for lam in LAMS:
            sel = [r for r in rows if r["critic"] == critic and r["lam"] == lam]
            print(f"  lam {lam:4}: bias " + " ".join(f"{r['bias_norm']:.1e}" for r in sel)
                  + " | variance " + " ".join(f"{r['variance']:.3f}" for r in sel))


if __name__ == "__main__":
    main()
