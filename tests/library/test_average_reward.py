"""The average-reward setting: its theorem against finite differences, and its link to discounted values."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import pgbook as pg


@st.composite
def continuing_problems(draw):
    n_states, n_actions = draw(st.integers(1, 6)), draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**32 - 1))
    mdp = pg.examples.random_mdp(n_states, n_actions, gamma=draw(st.floats(0.0, 0.95)), seed=seed)
    policy = pg.TabularSoftmax(n_states, n_actions)
    return mdp, policy, np.random.default_rng(seed).uniform(-2, 2, policy.param_shape)


@given(continuing_problems())
def test_average_reward_theorem_matches_central_differences(problem):
    mdp, policy, theta = problem
    numerical = pg.finite_difference(lambda t: pg.average_reward(mdp, policy, t), theta)
    scale = max(np.abs(mdp.R).max(), 1.0)
    np.testing.assert_allclose(pg.average_reward_gradient(mdp, policy, theta), numerical, rtol=1e-6, atol=1e-8 * scale)


@given(continuing_problems())
def test_stationary_weighting_of_discounted_values_is_average_reward_over_one_minus_gamma(problem):
    """Σ_s d_π(s) V_γ(s) = r̄ / (1 − γ): weighting discounted values by the stationary distribution (the
    notes' objective) measures the average reward, not the discounted return from the start."""
    mdp, policy, theta = problem
    d = pg.stationary_distribution(mdp, policy, theta)
    np.testing.assert_allclose(d @ mdp.markov_chain(policy.probabilities(theta))[0], d, atol=1e-12)
    expected = pg.average_reward(mdp, policy, theta) / (1 - mdp.gamma)
    assert np.isclose(d @ pg.state_values(mdp, policy, theta), expected, rtol=1e-9, atol=1e-12)


def test_average_reward_needs_a_continuing_unichain_problem():
    with pytest.raises(ValueError, match="for continuing problems"):
        pg.average_reward(pg.examples.short_corridor(), pg.examples.short_corridor_policy(), np.zeros(2))
    P = np.zeros((2, 1, 2))
    P[0, 0, 0] = P[1, 0, 1] = 1.0  # two absorbing states: two stationary distributions
    mdp = pg.FiniteMDP(P, np.zeros((2, 1)), gamma=0.5, initial=[0.5, 0.5])
    with pytest.raises(ValueError, match="more than one stationary distribution"):
        pg.stationary_distribution(mdp, pg.TabularSoftmax(2, 1), np.zeros((2, 1)))
