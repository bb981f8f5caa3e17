"""Cross-check TorchRL's functional value estimators against this project's pure functions
(checked with torchrl 0.14.1, tensordict 0.14.3).

    torchrl.objectives.value.functional          ours
    generalized_advantage_estimate          vs  gae.compute_gae  (advantages, returns)
    vec_generalized_advantage_estimate      vs  gae.compute_gae
    td0_return_estimate                     vs  actor_critic.td_targets
    td0_advantage_estimate                  vs  td_targets - values
    td1_return_estimate, vec_td1_...        vs  actor_critic.n_step_returns with n = T
    td_lambda_return_estimate, vec_td_...   vs  compute_gae's returns (the lambda-return)
    reward2go                               vs  reinforce.discounted_returns, episode by episode

Mapping: TorchRL puts time at dim -2 and wants a trailing feature dimension, [N, T, 1] for
our [T, N]: x.T.unsqueeze(-1). Its `done` is our episode_end, its `terminated` our terminated,
its next_state_value our next_values (the final observation's value where an episode ended).
Both return the same (advantages, value targets) order. TorchRL's td_lambda returns use only
next_state_value, so they equal our A + V when next_values[t] = values[t + 1] inside an
episode, as in any real rollout. The vec_ versions (and reward2go) drop the terms of the
geometric series below 1e-7 (their `thr`), so they agree to about 1e-7 relative, not to float64
round-off: the allowed difference below adds 1e-7 H M for them.
Each random rollout has several envs, several episodes, terminations AND truncations.
Exit status 0 when every function agrees, 1 otherwise, 2 when torchrl is missing.

    pip install "torchrl>=0.14,<0.15" "tensordict>=0.14,<0.15"
    python examples/check_torchrl.py
"""
import os
import sys
import warnings

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]  # rollouts.py, and the algorithm files
import actor_critic  # noqa: E402  (the files next door: copy them beside this script elsewhere)
import gae  # noqa: E402
import reinforce  # noqa: E402
from rollouts import (conclude, EPS32, EPS64, MINIMAL, Tally, as32,  # noqa: E402
                      horizon, largest, random_rollout, tolerance)

try:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. a C++ extension built for another torch
        import torchrl
        from torchrl.objectives.value import functional as F
except ImportError:
    print("check_torchrl.py: needs torchrl: pip install torchrl", file=sys.stderr)
    sys.exit(2)

SERIES_CUTOFF = 1e-7  # TorchRL's thr in the vectorised estimators


def to_torchrl(x):
    """Our time-major [T, N] -> TorchRL's [N, T, 1] (time at dim -2, a trailing feature dim)."""
    return x.T.unsqueeze(-1)


def from_torchrl(x):
    return x.squeeze(-1).T


def compare(tally, ro, dtype, exact_coefficients=False):
    """Every estimator on one rollout in `dtype`, against ours in float64.

    TorchRL's GAE and TD(0) multiply Python floats by integer masks ((~done).int()), which
    makes float32 tensors: gamma and gamma lam are rounded to float32 even for float64 inputs,
    so its float64 results are judged with float32's eps, and checked once more with gamma and
    lam exact in float32 (dyadic), where they agree to float64 round-off."""
    tag = "float32" if dtype == torch.float32 else "float64"
    eps = EPS64 if exact_coefficients else EPS32
    if exact_coefficients:
        tag += ", dyadic gamma and lam"
    r, v, nv = (torch.as_tensor(ro[k], dtype=dtype) for k in ("rewards", "values", "next_values"))
    term, end = torch.as_tensor(ro["terminated"]), torch.as_tensor(ro["episode_end"])
    gamma, lam = ro["gamma"], ro["lam"]
    T = r.shape[0]
    H, H1 = horizon(T, gamma * lam), horizon(T, gamma)
    ref = {k: torch.as_tensor(ro[k]) for k in ("rewards", "values", "next_values")}
    adv, ret = gae.compute_gae(ref["rewards"], ref["values"], ref["next_values"], term, end,
                               gamma, lam)  # float64: the reference for both dtypes
    td0 = actor_critic.td_targets(ref["rewards"], ref["next_values"], term, gamma)
    delta = float((td0 - ref["values"]).abs().max())
    M = largest(adv, ret, *ref.values())
    R, V, NV, TERM, END = map(to_torchrl, (r, v, nv, term, end))
    # the vectorised ones keep floor(log thr / log c) terms of c^k: the first dropped one can
    # be as large as thr / c, not below thr as documented
    cut, cut1 = SERIES_CUTOFF / max(gamma * lam, 1e-3), SERIES_CUTOFF / gamma

    for fn, c in ((F.generalized_advantage_estimate, 0.0),
                  (F.vec_generalized_advantage_estimate, cut)):
        their_adv, their_ret = fn(gamma, lam, V, NV, R, END, TERM)
        tol = tolerance(eps, H, M, delta, cutoff=c)
        tally.add(f"compute_gae vs {fn.__name__} advantages ({tag})", adv,
                  from_torchrl(their_adv), tol)
        tally.add(f"compute_gae vs {fn.__name__} returns ({tag})", ret,
                  from_torchrl(their_ret), tol)
        if exact_coefficients:
            break  # the vectorised one's cut-off is not round-off: checked in the main rows

    for fn, c in ((F.td_lambda_return_estimate, 0.0), (F.vec_td_lambda_return_estimate, cut)):
        if not (exact_coefficients and c):
            tally.add(f"compute_gae returns vs {fn.__name__} ({tag})", ret,
                      from_torchrl(fn(gamma, lam, NV, R, END, TERM)),
                      tolerance(eps, H, M, delta, cutoff=c))
    if exact_coefficients:
        return

    tally.add(f"td_targets vs td0_return_estimate ({tag})", td0,
              from_torchrl(F.td0_return_estimate(gamma, NV, R, TERM)), tolerance(eps, 1, M))
    tally.add(f"td_targets - values vs td0_advantage_estimate ({tag})", td0 - ref["values"],
              from_torchrl(F.td0_advantage_estimate(gamma, V, NV, R, END, TERM)),
              tolerance(eps, 1, M))

    mc = actor_critic.n_step_returns(ref["rewards"], ref["next_values"], term, end, gamma, T)
    rmax = largest(ref["rewards"], ref["next_values"])
    for fn, c in ((F.td1_return_estimate, 0.0), (F.vec_td1_return_estimate, cut1)):
        tally.add(f"n_step_returns(n=T) vs {fn.__name__} ({tag})", mc,
                  from_torchrl(fn(gamma, NV, R, END, TERM)),
                  tolerance(eps, H1, largest(mc, rmax), rmax, cutoff=c))

    # reward-to-go, no bootstrap: each episode (and the rollout's last piece) on its own
    ours_r2g = torch.zeros_like(ref["rewards"])
    for n in range(r.shape[1]):
        starts = [0] + [t + 1 for t in range(T - 1) if ro["episode_end"][t, n]]
        for a, b in zip(starts, starts[1:] + [T]):
            ours_r2g[a:b, n] = reinforce.discounted_returns(ref["rewards"][a:b, n], gamma)
    tally.add(f"discounted_returns vs reward2go ({tag})", ours_r2g,
              from_torchrl(F.reward2go(R, END, gamma)),
              tolerance(eps, H1, largest(ours_r2g, rmax), rmax, cutoff=cut1))


def minimal_case():
    """TorchRL's advantages of rollouts.MINIMAL (worked out by hand there)."""
    adv, _ = F.generalized_advantage_estimate(
        MINIMAL["gamma"], MINIMAL["lam"],
        *(to_torchrl(torch.as_tensor(MINIMAL[k])) for k in ("values", "next_values", "rewards",
                                                            "episode_end", "terminated")))
    return adv


def main():
    rng = np.random.default_rng(2)
    tally = Tally()
    for trial in range(40):
        # float32-exact inputs, so the float32 runs see the same numbers
        ro = as32(random_rollout(rng, int(rng.integers(4, 65)), int(rng.integers(1, 7))))
        for dtype in (torch.float64, torch.float32):
            compare(tally, ro, dtype)
        if trial < 10:  # gamma, lam and gamma lam exact in float32: float64 agrees to round-off
            ro["gamma"], ro["lam"] = float(rng.choice([0.875, 0.96875, 0.9921875])), \
                float(rng.choice([0.5, 0.75, 0.9375, 1.0]))
            compare(tally, ro, torch.float64, exact_coefficients=True)
    print(f"torchrl {torchrl.__version__} functional estimators against this project's "
          f"functions, 40 random rollouts (T 4-64, 1-6 envs, terminations and truncations), "
          f"against our float64:")
    ok = tally.report()
    one = torch.ones(1, 3, 1, dtype=torch.float64)
    try:
        F.vec_generalized_advantage_estimate(0.9, 0.0, one, one, one, one.bool(), one.bool())
        print("  note: vec_generalized_advantage_estimate accepts lmbda = 0")
    except Exception as err:  # torchrl 0.14.1: IndexError (its series of 0^k is empty)
        print(f"  note: vec_generalized_advantage_estimate(lmbda=0) raises "
              f"{type(err).__name__}; use generalized_advantage_estimate for lambda = 0")
    conclude(ok, "generalized_advantage_estimate", minimal_case())


if __name__ == "__main__":
    main()
