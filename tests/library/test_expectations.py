"""The exact expectation of GAE(λ) with a fixed critic, against Monte-Carlo means and its known limits."""

import numpy as np
import pytest

import pgbook as pg
from pgbook.expectations import expected_gae_advantages, expected_gae_gradient


def problem(gamma, n_terminal):
    mdp = pg.examples.random_mdp(5, 3, gamma=gamma, seed=6, n_terminal=n_terminal)
    policy = pg.TabularSoftmax(5, 3)
    theta = policy.init_params(seed=6)
    wrong_critic = pg.state_values(mdp, policy, theta) + np.random.default_rng(6).normal(0.0, 1.0, 5)
    return mdp, policy, theta, wrong_critic


@pytest.mark.parametrize("lam", [0.0, 0.5, 1.0])
def test_limits(lam):
    mdp, policy, theta, critic = problem(0.9, 0)
    exact = pg.exact_gradient(mdp, policy, theta)
    true_values = pg.state_values(mdp, policy, theta)
    np.testing.assert_allclose(expected_gae_gradient(mdp, policy, theta, true_values, lam), exact, atol=1e-10)
    biased = expected_gae_gradient(mdp, policy, theta, critic, lam)
    if lam == 1.0:  # Monte-Carlo returns: the critic is only a baseline
        np.testing.assert_allclose(biased, exact, atol=1e-10)
        np.testing.assert_allclose(
            expected_gae_advantages(mdp, policy, theta, critic, 1.0),
            pg.action_values(mdp, policy, theta) - critic[:, None],
            atol=1e-10,
        )
    else:
        assert np.abs(biased - exact).max() > 1e-2


# 2 problems × 3 values of λ × 15 parameters = 90 z-scores, each |z| < 4.5: false-failure probability < 6.2e-4.
@pytest.mark.slow  # statistical: 30,000 episodes per problem
@pytest.mark.parametrize(("gamma", "n_terminal"), [(0.8, 0), (1.0, 1)])
def test_monte_carlo_mean_of_gae_matches_its_exact_expectation(gamma, n_terminal):
    mdp, policy, theta, critic = problem(gamma, n_terminal)
    batch = pg.sample_episodes(mdp, policy, theta, 30_000, max_steps=100, seed=2)  # 0.8^100 ≈ 2e-10
    if n_terminal:
        assert batch.terminated.mean() > 0.999
        batch = batch.subset(batch.terminated)  # the rare truncated episode would bootstrap from the critic
    for lam in (0.0, 0.6, 0.95):
        estimate = pg.gae_estimator(batch, policy, theta, values=critic, lam=lam)
        expected = expected_gae_gradient(mdp, policy, theta, critic, lam)
        z = pg.stats.z_scores(estimate, expected)
        assert np.abs(z).max() < 4.5, (lam, z)


def test_bad_arguments():
    mdp, policy, theta, critic = problem(0.9, 0)
    with pytest.raises(ValueError, match="lam must lie in"):
        expected_gae_gradient(mdp, policy, theta, critic, 1.5)
    with pytest.raises(ValueError, match="values must have shape"):
        expected_gae_gradient(mdp, policy, theta, critic[:3], 0.5)
