#!/usr/bin/env bash
# The reinforce.py figures of the README (issue 2). About 25 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
B="python benchmarks/run.py --algo reinforce --env-id CartPole-v1"
$B --seeds 5 --target 475 --name reinforce_cartpole -- --total-timesteps 500000
python benchmarks/run.py --algo random --env-id CartPole-v1 --name random_cartpole -- --num-envs 8 --total-timesteps 500000
# The lecture's variance story: every estimator and baseline on one budget.
for est in total reward-to-go; do
  for base in none mean optimal value; do
    $B --seeds 5 --target 475 --name "reinforce_variance_${est}_${base}" -- \
      --total-timesteps 150000 --estimator "$est" --baseline "$base"
  done
done
python benchmarks/reinforce_variance.py  # the gradient variance of every variant, measured directly
