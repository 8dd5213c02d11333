"""The update without γ^t: its field, its Jacobian, its circulation, against independent computations."""

import numpy as np
import pytest

import pgbook as pg
from pgbook.mistakes import expected_gradient, mistake
from pgbook.update_field import circulation, undiscounted_visitation, update_field, update_jacobian

MDP = pg.examples.random_mdp(4, 2, gamma=0.8, seed=0, n_terminal=1)
POLICY = pg.TabularSoftmax(4, 2)
THETA = POLICY.init_params(seed=0)


def test_visitation_is_the_expected_number_of_visits():
    """Against a sum over time of the state distribution (independent of the linear solve)."""
    pi = POLICY.probabilities(THETA)
    transition = np.einsum("sa,sat->st", pi, MDP.P) * ~MDP.terminal[:, None]
    occupancy, total = MDP.initial * ~MDP.terminal, np.zeros(4)
    for _ in range(2_000):
        total += occupancy
        occupancy = occupancy @ transition * ~MDP.terminal
    np.testing.assert_allclose(undiscounted_visitation(MDP, POLICY, THETA), total, rtol=1e-10)


def test_field_is_the_expected_undiscounted_estimator():
    """The mistake catalogue's finite-horizon tables give the same vector (long cut-off)."""
    expected = expected_gradient(MDP, POLICY, THETA, 3_000, [mistake("discount weights γᵗ dropped")])
    np.testing.assert_allclose(update_field(MDP, POLICY, THETA), expected, rtol=1e-9)


def test_jacobian_matches_finite_differences_of_the_field():
    numerical = np.stack(
        [
            pg.finite_difference(lambda t, i=i: update_field(MDP, POLICY, t).ravel()[i], THETA).ravel()
            for i in range(THETA.size)
        ]
    )
    np.testing.assert_allclose(update_jacobian(MDP, POLICY, THETA), numerical, atol=1e-7)


def test_the_hessian_of_j_is_symmetric_and_the_jacobian_of_u_is_not():
    jacobian = update_jacobian(MDP, POLICY, THETA)
    assert np.abs(jacobian - jacobian.T).max() > 1e-3
    gamma_one = pg.examples.random_mdp(4, 2, gamma=1.0, seed=0, n_terminal=1)  # then u = ∇J
    hessian = update_jacobian(gamma_one, POLICY, THETA)
    np.testing.assert_allclose(hessian, hessian.T, atol=1e-10)


def test_circulation_is_the_curl_times_the_area_on_a_small_loop():
    policy = pg.examples.corridor_recognising_policy()
    mdp, theta = pg.examples.short_corridor(gamma=0.8), np.array([0.5, -0.5])
    h = 1e-2
    loop = theta + h * np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) / 2
    jacobian = update_jacobian(mdp, policy, theta)
    curl = jacobian[1, 0] - jacobian[0, 1]
    assert abs(curl) > 1e-3
    assert circulation(mdp, policy, loop) / h**2 == pytest.approx(curl, rel=1e-4)


def test_continuing_problems_are_refused():
    with pytest.raises(ValueError, match="mdp must have terminal states"):
        update_field(pg.examples.random_mdp(3, 2, gamma=0.9, seed=0), pg.TabularSoftmax(3, 2), np.zeros((3, 2)))
