#!/bin/bash
# The ppo.py rows of the README's results table (about 25 minutes on 2 cores, one seed at a time).
set -e
cd "$(dirname "$0")/.."
P="--num-envs 4 --num-steps 512 --minibatch-size 64 --update-epochs 10 --gamma 0.9 --gae-lambda 0.95"
B="python benchmarks/run.py --algo ppo"
$B --env-id CartPole-v1 --seeds 5 --target 475 --name ppo_cartpole -- --total-timesteps 100000
$B --env-id CartPole-v1 --seeds 5 --target 475 --name ppo_cartpole_klpen -- \
  --total-timesteps 100000 --objective kl-penalty
$B --env-id Pendulum-v1 --seeds 5 --target -200 --name ppo_pendulum -- --total-timesteps 200000 $P
$B --env-id Pendulum-v1 --seeds 5 --target -200 --name ppo_pendulum_klpen -- \
  --total-timesteps 200000 $P --objective kl-penalty
