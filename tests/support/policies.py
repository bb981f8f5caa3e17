"""Checks of a Policy(obs_dim, action_space, hidden, init_log_std) shared by the files whose
discrete act() draws from softmax(logits) without building a Categorical (gae, npg_trpo,
reinforce)."""
import gymnasium as gym
import torch


def check_act_draws_as_categorical_does(module):
    """act() skips the Categorical object: softmax(logits) is its probs up to rounding (not bit
    for bit: Categorical normalises the logits first), and one seed draws the same actions from
    both on 1000 states with logits from about -14 to 16; greedy is the argmax."""
    torch.manual_seed(0)
    policy = module.Policy(4, gym.spaces.Discrete(3), 16, 0.0)
    obs = 4 * torch.randn(1000, 4)
    with torch.no_grad():
        policy.net[-1].weight.mul_(20)  # far from uniform, where draws tell more
        logits = policy.net(obs)
        torch.manual_seed(1)
        drawn = policy.act(obs)
        torch.manual_seed(1)
        assert torch.equal(drawn, torch.distributions.Categorical(logits=logits).sample())
        assert torch.equal(policy.act(obs, deterministic=True), logits.argmax(-1))
    assert 0.1 < logits.softmax(-1).max(-1).values.mean() < 0.99 and len(drawn.unique()) == 3
