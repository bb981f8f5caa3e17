#!/usr/bin/env bash
# Every figure of benchmarks/RESULTS.md and the README, from scratch: two lanes of single-thread runs
# side by side (one per core of a 2-core machine), then the A3C rows alone (they use both
# cores), then the study scripts, the plots and the tables of both. Over 4 hours on 2 cores
# (the per-file rows about 2, the comparison with stable-baselines3 about 2.2). The comparison
# needs `pip install -r requirements-bench.txt` (SB3_PYTHON may name another interpreter that
# has it).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p benchmarks/out
R="python benchmarks/run.py"
SB3_PYTHON="${SB3_PYTHON:-python}"
C="--env-id CartPole-v1 --seeds 5 --target 475"
P="--env-id Pendulum-v1 --seeds 5"
# Pendulum-v1 and MuJoCo runs take their tuned settings from the file's ENV_SETTINGS

lane_a() {
  $R --algo ppo $C --name ppo_cartpole -- --total-timesteps 100000
  $R --algo ppo $C --name ppo_cartpole_klpen -- --total-timesteps 100000 --objective kl-penalty
  $R --algo ppo $P --target -200 --name ppo_pendulum -- --total-timesteps 200000
  $R --algo ppo $P --target -200 --name ppo_pendulum_klpen -- --total-timesteps 200000 \
    --objective kl-penalty
  $R --algo reinforce $C --name reinforce_cartpole -- --total-timesteps 500000
  for est in total reward-to-go; do
    for base in none mean optimal value; do
      $R --algo reinforce $C --name "reinforce_variance_${est}_${base}" -- \
        --total-timesteps 150000 --estimator "$est" --baseline "$base"
    done
  done
  python benchmarks/reinforce_variance.py
  $R --algo gae $C --name gae_cartpole -- --total-timesteps 300000
  $R --algo gae $P --target -250 --name gae_pendulum -- --total-timesteps 500000
  $R --algo gae $P --target -250 --name gae_pendulum_1m -- --total-timesteps 1000000  # its default
  for lam in 0 0.5 0.9 0.95 0.97 1.0; do
    $R --algo gae $C --name "gae_cartpole_lam$lam" -- --total-timesteps 30000 --gae-lambda "$lam"
    $R --algo gae $P --target -250 --name "gae_pendulum_lam$lam" -- --total-timesteps 200000 \
      --gae-lambda "$lam"
  done
}

lane_b() {
  $R --algo actor_critic $C --name actor_critic_cartpole_batch -- --total-timesteps 500000
  $R --algo actor_critic $C --name actor_critic_cartpole_batch_shared -- \
    --total-timesteps 500000 --shared-trunk
  $R --algo actor_critic --env-id CartPole-v1 --seeds 3 --target 475 \
    --name actor_critic_cartpole_online -- --mode online --total-timesteps 30000 --learning-rate 1e-3
  for algo in trpo npg; do
    $R --algo npg_trpo $C --name "npg_trpo_${algo}_cartpole" -- --algo $algo --total-timesteps 100000
    $R --algo npg_trpo $C --name "npg_trpo_${algo}_cartpole_damping0.01" -- --algo $algo \
      --total-timesteps 100000 --damping 0.01
    $R --algo npg_trpo $P --target -250 --name "npg_trpo_${algo}_pendulum" -- --algo $algo \
      --total-timesteps 300000
  done
  $R --algo dqn_ddpg $C --name dqn_ddpg_dqn_cartpole -- --total-timesteps 50000
  $R --algo dqn_ddpg $C --name dqn_ddpg_double_cartpole -- --total-timesteps 50000 --double
  $R --algo dqn_ddpg $C --name dqn_ddpg_dueling_cartpole -- --total-timesteps 50000 --dueling
  $R --algo dqn_ddpg $P --target -200 --name dqn_ddpg_ddpg_pendulum -- --total-timesteps 20000
}

$R --algo random --env-id CartPole-v1 --name random_cartpole -- --num-envs 8 --total-timesteps 500000
lane_a > benchmarks/out/lane_a.log 2>&1 &
lane_b > benchmarks/out/lane_b.log 2>&1 &
wait
for workers in 1 2 4; do  # the same budget, 1, 2 and 4 Hogwild workers
  $R --algo a3c $C --name "a3c_cartpole_workers$workers" -- --total-timesteps 150000 \
    --num-workers "$workers"
done
$R --algo a3c $C --name a3c_cartpole_default -- --total-timesteps 200000  # python a3c.py
# the issue's target row: 2 workers, a smaller step size and a longer run
$R --algo a3c $C --name a3c_cartpole -- --total-timesteps 300000 --num-workers 2 --learning-rate 5e-4
# ppo.py on MuJoCo (needs gymnasium[mujoco]): its ENV_SETTINGS hold the settings of CleanRL's
# ppo_continuous_action.py (value clipping aside); targets: CleanRL's published 1M-step returns on
# the v4 envs
$R --algo ppo --env-id Hopper-v5 --seeds 3 --target 2383 --name ppo_hopper -- \
  --total-timesteps 1000000 > benchmarks/out/lane_a.log 2>&1 &
$R --algo ppo --env-id HalfCheetah-v5 --seeds 3 --target 1443 --name ppo_halfcheetah -- \
  --total-timesteps 1000000 > benchmarks/out/lane_b.log 2>&1 &
wait
# every file beside stable-baselines3 (benchmarks/compare.py), two lanes of pairs, then the A3C
# pair alone (it uses both cores); it also draws benchmarks/results/compare_<env>.png
CMP="$SB3_PYTHON benchmarks/compare.py"
$CMP --pairs ppo ppo_10_epochs ppo_pendulum dqn ddpg > benchmarks/out/lane_a.log 2>&1 &
$CMP --pairs a2c trpo trpo_pendulum npg reinforce gae > benchmarks/out/lane_b.log 2>&1 &
wait
$CMP --pairs a3c
# the barest loop of each file's work at its compare.py settings, beside ours (and sb3 where it
# has the algorithm): alone, as it times
$SB3_PYTHON benchmarks/speed_floor.py
# where each file's training time goes, rollout and update, beside the floor's two parts (alone)
python benchmarks/loop_split.py
# beside CleanRL's own ppo.py and dqn.py, where CLEANRL names a checkout and CLEANRL_PYTHON its
# venv (the setup: benchmarks/vs_cleanrl.py's docstring)
if [ -n "${CLEANRL:-}" ]; then
  python benchmarks/vs_cleanrl.py --cleanrl "$CLEANRL" --python "$CLEANRL_PYTHON"
fi
python benchmarks/gae_lambda_sweep.py
python benchmarks/gae_exact_bias_variance.py
python benchmarks/trust_region_stats.py npg_trpo_npg_cartpole npg_trpo_trpo_cartpole \
  npg_trpo_npg_cartpole_damping0.01 npg_trpo_trpo_cartpole_damping0.01
$R --readme
