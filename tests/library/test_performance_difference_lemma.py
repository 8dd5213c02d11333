"""The performance-difference lemma against the exact objectives and against sampled advantages.

Sampled check: along episodes of the new policy, Σ_t γ^t A_old(s_t, a_t) is an unbiased estimate of
J(new) − J(old); the test requires |z| < 4.5 for each of 3 problems (false-failure rate < 3 × 6.8e-6).
"""

import numpy as np
import pytest
from hypothesis import given, settings

import pgbook as pg

from cases import problems


@settings(max_examples=60)
@given(problems(max_states=5, max_actions=3))
def test_performance_difference_is_the_difference_of_objectives(problem):
    mdp, policy, theta = problem
    new_theta = theta + np.random.default_rng(0).normal(size=theta.shape)
    difference = pg.exact_objective(mdp, policy, new_theta) - pg.exact_objective(mdp, policy, theta)
    scale = max(abs(pg.exact_objective(mdp, policy, theta)), abs(difference), 1e-12)
    assert pg.performance_difference(mdp, policy, theta, new_theta) == pytest.approx(difference, abs=1e-9 * scale)
    assert pg.performance_difference(mdp, policy, theta, theta) == pytest.approx(0.0, abs=1e-9 * scale)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sampled_advantages_of_the_new_policy_average_to_the_difference(seed):
    mdp = pg.examples.random_mdp(4, 3, gamma=0.9, seed=seed, n_terminal=1)
    policy = pg.TabularSoftmax(4, 3)
    old, new = policy.init_params(seed=seed), policy.init_params(seed=seed + 10)
    batch = pg.sample_episodes(mdp, policy, new, 20_000, max_steps=300, seed=seed)
    A = pg.advantages(mdp, policy, old)
    per_episode = (batch.discounts() * batch.alive * A[batch.states, batch.actions]).sum(axis=1)
    z = (per_episode.mean() - pg.performance_difference(mdp, policy, old, new)) / (
        per_episode.std(ddof=1) / np.sqrt(batch.n_episodes)
    )
    assert abs(z) < 4.5
