"""The update without γ^t: its field, its Jacobian, its circulation, against independent computations."""

import numpy as np
import pytest

import pgbook as pg
from pgbook.mistakes import expected_gradient, mistake
from pgbook.update_field import (
    circulation,
    coordination_counterexample,
    expected_update,
    flow,
    line_integral,
    undiscounted_visitation,
    update_jacobian,
)

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
    np.testing.assert_allclose(expected_update(MDP, POLICY, THETA), expected, rtol=1e-9)


def test_jacobian_matches_finite_differences_of_the_field():
    numerical = np.stack(
        [
            pg.finite_difference(lambda t, i=i: expected_update(MDP, POLICY, t).ravel()[i], THETA).ravel()
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
        expected_update(pg.examples.random_mdp(3, 2, gamma=0.9, seed=0), pg.TabularSoftmax(3, 2), np.zeros((3, 2)))


# The counterexample: every number against its closed form (pencil and paper, no linear algebra)


@pytest.mark.parametrize("gamma", [0.3, 0.5, 0.7, 0.9])
def test_counterexample_matches_its_closed_forms(gamma):
    mdp, policy = coordination_counterexample(gamma)
    undiscounted, _ = coordination_counterexample(1.0)
    for p in (0.1, 0.3, 0.5, 0.77, 0.95):
        theta, q = np.array([np.log(p / (1 - p))]), 1 - p
        assert pg.exact_objective(mdp, policy, theta) == pytest.approx(gamma**2 * (1 - p * q), rel=1e-12)
        assert pg.exact_objective(undiscounted, policy, theta) == pytest.approx(1 - p * q, rel=1e-12)
        assert pg.autodiff_gradient(mdp, policy, theta)[0] == pytest.approx(gamma**2 * p * q * (2 * p - 1), abs=1e-14)
        assert expected_update(mdp, policy, theta)[0] == pytest.approx(
            (gamma**2 + gamma - 1) * p * q * (2 * p - 1), abs=1e-14
        )


def _enumerated_two_parameter_counterexample(gamma, theta):
    """J_γ and E[Σ_t G_t ∇log π(a_t|s_t)] of the two-parameter counterexample, by listing its eight episodes
    (three decisions each) with their probabilities: no visitation, no values, no library call."""
    p, p_de = 1 / (1 + np.exp(-theta[0])), 1 / (1 + np.exp(-theta[1]))
    objective, update = 0.0, np.zeros(2)
    for first, second, third in np.ndindex(2, 2, 2):  # 0 = L, 1 = R
        # A: L → B, R → C; B: L → E, R ends; C: R → D, L ends; E: R pays 2, L 1; D: L pays 2, R 1
        ends = (first == 0 and second == 1) or (first == 1 and second == 0)
        if ends and third == 1:
            continue  # the episode ended after two decisions: count it once, with third = 0
        actions = (first, second) if ends else (first, second, third)
        probabilities = [p if a == 1 else 1 - p for a in actions[:2]]
        if not ends:
            probabilities.append(p_de if third == 1 else 1 - p_de)
        reward = 0.0 if ends else (1.0 + (third == 1)) if first == 0 else (1.0 + (third == 0))
        weight = np.prod(probabilities)
        objective += weight * gamma**2 * reward
        for t, a in enumerate(actions):  # G_t = γ^(2−t) r, ∇log π = (a − Pr(R)) in this step's parameter
            score = np.zeros(2)
            score[0 if t < 2 else 1] = a - (p if t < 2 else p_de)
            update += weight * gamma ** (2 - t) * reward * score
    return objective, update


@pytest.mark.parametrize("gamma", [0.3, 0.5, 0.9])
def test_two_parameter_counterexample_against_its_episodes_and_its_curl(gamma):
    mdp, policy = coordination_counterexample(gamma, n_params=2)
    for theta in (np.array([0.0, 0.0]), np.array([1.0, 3.0]), np.array([-0.7, 1.4])):
        objective, update = _enumerated_two_parameter_counterexample(gamma, theta)
        assert pg.exact_objective(mdp, policy, theta) == pytest.approx(objective, rel=1e-12)
        np.testing.assert_allclose(expected_update(mdp, policy, theta), update, rtol=1e-12, atol=1e-15)
        # the curl worked by hand: (γ² + γ − 2) pq p̃q̃ (the is-it-a-gradient curl exercise)
        p, p_de = 1 / (1 + np.exp(-theta[0])), 1 / (1 + np.exp(-theta[1]))
        jacobian = update_jacobian(mdp, policy, theta)
        curl = (gamma**2 + gamma - 2) * p * (1 - p) * p_de * (1 - p_de)
        assert jacobian[1, 0] - jacobian[0, 1] == pytest.approx(curl, rel=1e-10)


def test_following_the_update_ends_at_the_worst_policy_below_the_golden_ratio():
    mdp, policy = coordination_counterexample(0.5)
    for start in (-3.0, 2.0):
        _, path, _ = flow(mdp, policy, [start], 1000.0, n_points=5)
        assert policy.probabilities(path[-1])[0, 1] == pytest.approx(0.5, abs=1e-9)
    # above (√5 − 1)/2 the factor γ² + γ − 1 is positive and the update heads for p = 1
    mdp, policy = coordination_counterexample(0.7)
    _, path, _ = flow(mdp, policy, [0.5], 200.0, n_points=5)
    assert policy.probabilities(path[-1])[0, 1] > 0.95


def test_line_integral_of_the_gradient_is_the_change_in_j_and_flow_work_is_consistent():
    mdp, policy = coordination_counterexample(0.5, n_params=2)
    start = np.array([1.0, 3.0])
    _, path, work = flow(mdp, policy, start, 10.0, field="gradient", n_points=3)
    gain = pg.exact_objective(mdp, policy, path[-1]) - pg.exact_objective(mdp, policy, start)
    assert work == pytest.approx(gain, rel=1e-8)
    assert line_integral(mdp, policy, start, path[-1], field="gradient") == pytest.approx(gain, rel=1e-10)
    _, path, work = flow(mdp, policy, start, 40.0, n_points=3)
    assert abs(work + line_integral(mdp, policy, path[-1], start)) > 1e-2  # the update's loop does not close
    with pytest.raises(ValueError, match="field must be"):
        flow(mdp, policy, start, 1.0, field="natural")
    with pytest.raises(ValueError, match="n_params must be 1 or 2"):
        coordination_counterexample(0.5, n_params=3)
