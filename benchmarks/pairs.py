"""The comparison with stable-baselines3, as data: for each sb3 counterpart, RL Zoo's tuned
hyperparameters (SETUPS: what benchmarks/sb3_side_by_side.py runs), and for each pair, how ours
runs beside it (PAIRS: what benchmarks/compare.py runs and the tables list, in this order)."""

# RL Zoo's entries (DLR-RM/rl-baselines3-zoo, hyperparams/*.yml): sb3's side only; PAIRS below
# say how ours run (ppo.py's defaults are RL Zoo's CartPole PPO settings).
SETUPS = {
    "ppo": {"env": "CartPole-v1", "steps": 100_000, "n_envs": 8,
            "sb3": dict(n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20,
                        ent_coef=0.0, learning_rate="lin_0.001", clip_range="lin_0.2")},
    "a2c": {"env": "CartPole-v1", "steps": 500_000, "n_envs": 8,
            "sb3": dict(ent_coef=0.0)},
    "trpo": {"env": "CartPole-v1", "steps": 100_000, "n_envs": 2,
             "sb3": dict(n_steps=512, batch_size=512, cg_damping=1e-3, gae_lambda=0.98,
                         gamma=0.99, learning_rate=1e-3, n_critic_updates=20)},
    "dqn": {"env": "CartPole-v1", "steps": 50_000, "n_envs": 1,
            "sb3": dict(learning_rate=2.3e-3, batch_size=64, buffer_size=100_000,
                        learning_starts=1000, gamma=0.99, target_update_interval=10,
                        train_freq=256, gradient_steps=128, exploration_fraction=0.16,
                        exploration_final_eps=0.04, policy_kwargs=dict(net_arch=[256, 256]))},
    "ddpg": {"env": "Pendulum-v1", "steps": 20_000, "n_envs": 1,
             "sb3": dict(gamma=0.98, buffer_size=200_000, learning_starts=10_000,
                         action_noise="normal_0.1", gradient_steps=-1,
                         train_freq=(1, "episode"), learning_rate=1e-3,
                         policy_kwargs=dict(net_arch=[400, 300]))},
    # Pendulum: RL Zoo's PPO and TRPO use gSDE (state-dependent exploration noise, resampled
    # every 4 steps); ours (compare.py's PAIRS) keep their plain Gaussian.
    "ppo_pendulum": {"algo": "ppo", "env": "Pendulum-v1", "steps": 200_000, "n_envs": 4,
                     "sb3": dict(n_steps=1024, gae_lambda=0.95, gamma=0.9, n_epochs=10,
                                 ent_coef=0.0, learning_rate=1e-3, clip_range=0.2, use_sde=True,
                                 sde_sample_freq=4)},
    "trpo_pendulum": {"algo": "trpo", "env": "Pendulum-v1", "steps": 300_000, "n_envs": 2,
                      "sb3": dict(n_steps=1024, gamma=0.9, n_critic_updates=15, use_sde=True,
                                  sde_sample_freq=4)},
}

WINDOW = 10  # training episodes in the mean that is compared with the target

# pair: our command (and its flags), the sb3 setup of SETUPS (RL Zoo's
# hyperparameters; its env, and its budget unless the pair says), the target return
PAIRS = {
    "ppo": dict(ours=["ppo.py"], sb3="ppo", target=475),
    "ppo_10_epochs": dict(ours=["ppo.py", "--update-epochs", "10"], sb3="ppo", target=475,
                          note="ours with half RL Zoo's 20 epochs (half the gradient steps); "
                               "sb3 keeps RL Zoo's settings"),
    "ppo_pendulum": dict(ours=["ppo.py"], sb3="ppo_pendulum", target=-200),  # its ENV_SETTINGS
    "a2c": dict(ours=["actor_critic.py"], sb3="a2c", target=475),
    "trpo": dict(ours=["npg_trpo.py", "--algo", "trpo"], sb3="trpo", target=475),
    "trpo_pendulum": dict(ours=["npg_trpo.py", "--algo", "trpo"], sb3="trpo_pendulum",
                          target=-250),  # with its ENV_SETTINGS, as every pair
    "dqn": dict(ours=["dqn_ddpg.py"], sb3="dqn", target=475),
    "ddpg": dict(ours=["dqn_ddpg.py"], sb3="ddpg", target=-200,
                 quick_steps=20_000),  # half of 20k would be all random warm-up (10k) steps
    "npg": dict(ours=["npg_trpo.py", "--algo", "npg"], sb3="trpo", target=475,
                note="no NPG in sb3: TRPO is NPG plus the line search"),
    "reinforce": dict(ours=["reinforce.py"], sb3="a2c", target=475, steps=500_000,
                      note="no REINFORCE in sb3: A2C is the closest policy-gradient method"),
    "gae": dict(ours=["gae.py"], sb3="a2c", target=475, steps=300_000,
                note="sb3's A2C with RL Zoo's settings (its GAE lambda is 1)"),
    "a3c": dict(ours=["a3c.py", "--num-workers", "2"], sb3="a2c", target=475, steps=200_000,
                note="no A3C in sb3: A2C is its synchronous version"),
}
