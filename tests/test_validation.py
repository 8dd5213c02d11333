"""Bad input raises ValueError or TypeError naming the argument, never a NaN or a deep traceback."""

import numpy as np
import pytest

import pgbook as pg


def two_state_mdp(**changes):
    arguments = dict(
        P=[[[0.5, 0.5], [1.0, 0.0]], [[0.0, 1.0], [0.0, 1.0]]],
        R=[[1.0, 0.0], [0.0, 0.0]],
        gamma=0.9,
        initial=[1.0, 0.0],
    )
    arguments.update(changes)
    return pg.FiniteMDP(**arguments)


@pytest.mark.parametrize(
    "changes, error, words",
    [
        (dict(P=[[[0.5, 0.6], [1.0, 0.0]], [[0.0, 1.0], [0.0, 1.0]]]), ValueError, "P must sum to 1"),
        (dict(P=[[[1.5, -0.5], [1.0, 0.0]], [[0.0, 1.0], [0.0, 1.0]]]), ValueError, "P must be non-negative"),
        (
            dict(P=[[[np.nan, 1.0], [1.0, 0.0]], [[0.0, 1.0], [0.0, 1.0]]]),
            ValueError,
            "P must contain only finite",
        ),
        (dict(P=np.ones((2, 2))), ValueError, "P must be a 3-dimensional array"),
        (dict(P=np.full((2, 2, 3), 1 / 3)), ValueError, "P must have shape (2, 2, 2)"),
        (dict(P="transitions"), TypeError, "P must be an array of real numbers"),
        (dict(P=[[[1, 0], [1]], [[0, 1], [0, 1]]]), TypeError, "P must be an array of real numbers"),
        (dict(R=[[1.0, 0.0]]), ValueError, "R must have shape (2, 2)"),
        (dict(R=[[1.0, np.inf], [0.0, 0.0]]), ValueError, "R must contain only finite"),
        (dict(R=[[True, False], [False, False]]), TypeError, "R must be an array of real numbers"),
        (dict(initial=[0.5, 0.4]), ValueError, "initial must sum to 1"),
        (dict(initial=[1.0]), ValueError, "initial must have shape (2,)"),
        (dict(initial=[-0.5, 1.5]), ValueError, "initial must be non-negative"),
        (dict(gamma=1.2), ValueError, "gamma must lie in [0, 1]"),
        (dict(gamma=-0.1), ValueError, "gamma must lie in [0, 1]"),
        (dict(gamma="0.9"), TypeError, "gamma must be a real number"),
        (dict(gamma=float("nan")), ValueError, "gamma must lie in [0, 1]"),
        (dict(gamma=1.0), ValueError, "gamma=1 needs terminal states"),
        (dict(terminal=[0]), ValueError, "terminal state 0 must be absorbing"),
        (dict(terminal=[2]), ValueError, "terminal indices must lie in [0, 2)"),
        (dict(terminal=["a"]), TypeError, "terminal must be a list of state indices"),
        (dict(terminal=[True]), ValueError, "terminal must have shape (2,)"),
        (
            dict(terminal=[1], R=[[1.0, 0.0], [0.0, 2.0]]),
            ValueError,
            "terminal state 1 must give zero reward",
        ),
    ],
)
def test_finite_mdp_rejects(changes, error, words):
    with pytest.raises(error) as raised:
        two_state_mdp(**changes)
    assert words in str(raised.value)


def test_finite_mdp_accepts_the_valid_version_and_is_read_only():
    mdp = two_state_mdp(terminal=[1], gamma=1.0)
    assert (mdp.n_states, mdp.n_actions) == (2, 2)
    with pytest.raises(ValueError, match="read-only"):
        mdp.P[0, 0, 0] = 0.0


def test_gamma_one_with_a_policy_that_never_terminates():
    """Left in state 0 loops forever: a policy that always takes it there has infinite undiscounted cost.

    States 1 and 2 still reach the end (through 2), so the error must name state 0 alone.
    """
    mdp = pg.envs.short_corridor()
    policy = pg.TabularSoftmax(4, 2)
    always_left = np.zeros((4, 2))
    always_left[0, 1] = -800.0  # π(right | 0) = e^-800, which is 0 in float64
    for function in (pg.exact_objective, pg.exact_gradient, pg.autodiff_gradient, pg.state_values):
        with pytest.raises(ValueError, match=r"from states \[0\] it never terminates"):
            function(mdp, policy, always_left)
    with pytest.raises(ValueError, match="never terminates"):
        pg.discounted_visitation(mdp, policy, always_left)


def test_policy_and_theta_must_fit():
    mdp = pg.envs.random_mdp(3, 2, seed=0)
    with pytest.raises(ValueError, match="policy is for 4 states and 2 actions, but mdp has 3 states"):
        pg.exact_gradient(mdp, pg.TabularSoftmax(4, 2), np.zeros((4, 2)))
    policy = pg.TabularSoftmax(3, 2)
    with pytest.raises(ValueError, match=r"theta must have shape \(3, 2\); got \(2, 3\)"):
        pg.exact_gradient(mdp, policy, np.zeros((2, 3)))
    with pytest.raises(ValueError, match="theta must contain only finite numbers"):
        pg.autodiff_gradient(mdp, policy, np.full((3, 2), np.nan))
    with pytest.raises(TypeError, match="theta must be an array of real numbers"):
        pg.exact_objective(mdp, policy, "zeros")
    with pytest.raises(TypeError, match="mdp must be a pgbook.FiniteMDP"):
        pg.exact_objective("mdp", policy, np.zeros((3, 2)))
    with pytest.raises(TypeError, match="policy must be a pgbook.Policy"):
        pg.exact_objective(mdp, "policy", np.zeros((3, 2)))


@pytest.mark.parametrize(
    "make, error, words",
    [
        (lambda: pg.TabularSoftmax(0, 2), ValueError, "n_states must be at least 1"),
        (lambda: pg.TabularSoftmax(2.5, 2), TypeError, "n_states must be an int"),
        (lambda: pg.LinearSoftmax(np.zeros((2, 2))), ValueError, "features must be a 3-dimensional"),
        (lambda: pg.LinearSoftmax(np.zeros((2, 2, 0))), ValueError, "at least one state, action and feature"),
        (lambda: pg.TabularSoftmax(2, 2).init_params(seed="0"), TypeError, "seed must be an int"),
        (lambda: pg.envs.bandit([]), ValueError, "means must name at least one arm"),
        (lambda: pg.envs.corridor_params(1.0), ValueError, "p_right must lie strictly between 0 and 1"),
        (lambda: pg.envs.corridor_params("half"), TypeError, "p_right must be a real number"),
        (lambda: pg.envs.random_mdp(3, 2, n_terminal=3), ValueError, "n_terminal must be smaller"),
        (lambda: pg.envs.random_mdp(3, 2, concentration=0), ValueError, "concentration must be a positive"),
        (lambda: pg.envs.gridworld(1, 1), ValueError, "at least two cells"),
        (lambda: pg.envs.gridworld(slip=2), ValueError, "slip must lie in [0, 1]"),
        (
            lambda: pg.TabularSoftmax(2, 2).weighted_probability_gradient(np.zeros((2, 2)), np.ones(2)),
            ValueError,
            "weights must be a 2-dimensional array",
        ),
    ],
)
def test_constructors_and_helpers_reject(make, error, words):
    with pytest.raises(error) as raised:
        make()
    assert words in str(raised.value)


@pytest.mark.parametrize(
    "f, theta, options, error, words",
    [
        ("not callable", [0.0], {}, TypeError, "f must be a callable"),
        (lambda t: t, [0.0, 1.0], {}, TypeError, "f must return a real number"),
        (lambda t: np.inf if t[0] > 0 else 0.0, [0.0], {}, ValueError, "f returned inf"),
        (lambda t: 0.0, [0.0], {"step": 0.0}, ValueError, "step must be a positive finite number"),
        (lambda t: 0.0, [0.0], {"step": np.nan}, ValueError, "step must be a positive finite number"),
        (lambda t: 0.0, [0.0], {"scheme": "backward"}, ValueError, 'scheme must be "central" or "forward"'),
        (lambda t: 0.0, [np.inf], {}, ValueError, "theta must contain only finite numbers"),
    ],
)
def test_finite_difference_rejects(f, theta, options, error, words):
    with pytest.raises(error) as raised:
        pg.finite_difference(f, np.array(theta), **options)
    assert words in str(raised.value)
