"""Exact evaluation (pgbook.evaluation): objectives, values and visitation against their defining equations
(start distribution × values, the Bellman equation, the sum of discounted occupancies, Monte Carlo)."""

import numpy as np
import pytest
from hypothesis import given, settings

import pgbook as pg

from cases import problems


@settings(max_examples=50)
@given(problems())
def test_batched_objectives_equal_one_at_a_time(problem):
    """exact_objectives (one stacked solve) gives exact_objective's value at every θ of the stack."""
    mdp, policy, theta = problem
    thetas = np.stack([theta, -theta, theta + np.random.default_rng(0).normal(size=theta.shape)])
    one_at_a_time = np.array([pg.exact_objective(mdp, policy, t) for t in thetas])
    scale = np.abs(one_at_a_time).max() + np.abs(mdp.R).max()
    np.testing.assert_allclose(pg.exact_objectives(mdp, policy, thetas), one_at_a_time, rtol=1e-10, atol=1e-12 * scale)


def test_batched_objectives_reject_a_single_theta():
    mdp, policy = pg.examples.short_corridor(), pg.examples.short_corridor_policy()
    with pytest.raises(ValueError, match=r"thetas must be a stack of parameters, shape \(n >= 1, \*\(2,\)\)"):
        pg.exact_objectives(mdp, policy, pg.examples.corridor_params(0.5))


@given(problems())
def test_objective_is_start_distribution_times_values(problem):
    mdp, policy, theta = problem
    values = pg.state_values(mdp, policy, theta)
    assert np.isclose(pg.exact_objective(mdp, policy, theta), mdp.initial @ values, rtol=1e-12, atol=1e-12)


@given(problems())
def test_values_satisfy_bellman_equation(problem):
    """V(s) = Σ_a π(a|s) Q(s,a) and Q(s,a) = R(s,a) + γ Σ P(s'|s,a) V(s'), checked by substitution."""
    mdp, policy, theta = problem
    pi = policy.probabilities(theta)
    values = pg.state_values(mdp, policy, theta)
    q_values = pg.action_values(mdp, policy, theta)
    scale = max(np.abs(values).max(), 1.0)
    np.testing.assert_allclose(np.sum(pi * q_values, axis=1), values, rtol=0, atol=1e-9 * scale)
    np.testing.assert_allclose(
        q_values, mdp.R + mdp.gamma * np.einsum("sat,t->sa", mdp.P, values), rtol=0, atol=1e-9 * scale
    )
    np.testing.assert_allclose(
        pg.advantages(mdp, policy, theta), q_values - values[:, None], rtol=0, atol=1e-12 * scale
    )
    assert np.all(values[mdp.terminal] == 0.0)


@given(problems())
def test_visitation_is_the_sum_of_discounted_occupancies(problem):
    """d = Σ_t γ^t μ_t with μ_{t+1} = μ_t P_π restricted to live states, summed until it is negligible."""
    mdp, policy, theta = problem
    P_pi, _ = mdp.markov_chain(policy.probabilities(theta))
    P_pi[:, mdp.terminal] = 0.0  # the episode is over on reaching a terminal state
    occupancy = np.where(mdp.terminal, 0.0, mdp.initial)
    series = np.zeros(mdp.n_states)
    discount = 1.0
    for _ in range(100_000):
        series += discount * occupancy
        occupancy = occupancy @ P_pi
        discount *= mdp.gamma
        if discount * occupancy.sum() < 1e-14:
            break
    else:
        raise AssertionError("the series did not converge")
    visitation = pg.discounted_visitation(mdp, policy, theta)
    np.testing.assert_allclose(visitation, series, rtol=1e-9, atol=1e-12)
    normalized = pg.discounted_visitation(mdp, policy, theta, normalized=True)
    np.testing.assert_allclose(normalized, visitation / visitation.sum(), rtol=1e-12)
    if not mdp.terminal.any():
        assert np.isclose(visitation.sum(), 1 / (1 - mdp.gamma), rtol=1e-10)


def test_visitation_total_is_the_expected_discounted_episode_length():
    """Σ_s d(s) = E[(1 − γ^T)/(1 − γ)], checked by Monte Carlo (4.5 standard errors: a false failure has
    probability 6.8e-6); on this γ = 0.95 problem it is clearly not the expected length E[T]."""
    problem = pg.estimator_check.standard_problems()[3]
    mdp, policy, theta = problem.mdp, problem.policy, problem.theta
    total = pg.discounted_visitation(mdp, policy, theta).sum()
    batch = pg.sample_episodes(mdp, policy, theta, 100_000, max_steps=1_000, seed=5)
    assert batch.terminated.all()
    discounted_lengths = (1 - mdp.gamma**batch.lengths) / (1 - mdp.gamma)
    error = discounted_lengths.std(ddof=1) / np.sqrt(batch.n_episodes)
    assert abs(discounted_lengths.mean() - total) < 4.5 * error
    assert batch.lengths.mean() - total > 50 * error
