"""Enumerating every trajectory: J and ∇J against the linear algebra and autodiff, and its refusals."""

import numpy as np
import pytest

import pgbook as pg
from pgbook.trajectories import enumerate_trajectories, layered_mdp


@pytest.mark.parametrize("gamma", [0.5, 0.9, 1.0])
def test_sums_over_trajectories_match_the_exact_objective_and_autodiff(gamma):
    mdp, policy = layered_mdp(3, 3, 2, gamma=gamma, seed=1), pg.TabularSoftmax(10, 2)
    theta = policy.init_params(seed=1)
    J, gradient, count = enumerate_trajectories(mdp, policy, theta, horizon=3)
    assert count == 6**3  # 3 starts × (2 actions × 3 successors)² × 2 actions: every path has positive probability
    assert J == pytest.approx(pg.exact_objective(mdp, policy, theta), rel=1e-12)
    np.testing.assert_allclose(gradient, pg.autodiff_gradient(mdp, policy, theta), atol=1e-12)


def test_every_episode_lasts_the_number_of_layers():
    mdp = layered_mdp(4, 2, 3, gamma=1.0, seed=2)
    pi = np.full((9, 3), 1 / 3)
    assert mdp.discounted_visitation(pi).sum() == pytest.approx(4.0)  # E[T] = 4 steps


def test_a_horizon_too_short_is_refused():
    mdp, policy = layered_mdp(3, 2, 2, seed=0), pg.TabularSoftmax(7, 2)
    with pytest.raises(ValueError, match="horizon must cover every episode"):
        enumerate_trajectories(mdp, policy, np.zeros((7, 2)), horizon=2)
