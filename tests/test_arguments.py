"""Bad input raises ValueError or TypeError naming the argument, never a NaN or a deep traceback."""

import numpy as np
import pytest

import pgbook as pg

from conftest import corridor_batch


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
    mdp = pg.examples.short_corridor()
    policy = pg.TabularSoftmax(4, 2)
    always_left = np.zeros((4, 2))
    always_left[0, 1] = -800.0  # π(right | 0) = e^-800, which is 0 in float64
    for function in (pg.exact_objective, pg.exact_gradient, pg.autodiff_gradient, pg.state_values):
        with pytest.raises(ValueError, match=r"from states \[0\] it never terminates"):
            function(mdp, policy, always_left)
    with pytest.raises(ValueError, match="never terminates"):
        pg.discounted_visitation(mdp, policy, always_left)


def test_policy_and_theta_must_fit():
    mdp = pg.examples.random_mdp(3, 2, seed=0)
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
        (lambda: pg.examples.bandit([]), ValueError, "means must name at least one arm"),
        (lambda: pg.examples.corridor_params(1.0), ValueError, "p_right must lie strictly between 0 and 1"),
        (lambda: pg.examples.corridor_params("half"), TypeError, "p_right must be a real number"),
        (lambda: pg.examples.random_mdp(3, 2, n_terminal=3), ValueError, "n_terminal must be smaller"),
        (lambda: pg.examples.random_mdp(3, 2, concentration=0), ValueError, "concentration must be a positive"),
        (lambda: pg.examples.gridworld(1, 1), ValueError, "at least two cells"),
        (lambda: pg.examples.gridworld(slip=2), ValueError, "slip must lie in [0, 1]"),
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


# Issue 11, items 6-9: every bad input gets an error naming it. --------------------------------------------


def test_float32_probabilities_are_accepted_and_the_message_shows_the_sum_found():
    rng = np.random.default_rng(0)
    P = rng.dirichlet(np.ones(3), size=(3, 2)).astype(np.float32)
    initial = np.full(3, 1 / 3, dtype=np.float32)
    assert np.abs(P.astype(np.float64).sum(axis=-1) - 1).max() > 1e-9  # rows off by float32 rounding
    mdp = pg.FiniteMDP(P, np.zeros((3, 2)), gamma=0.9, initial=initial)
    np.testing.assert_allclose(mdp.P.sum(axis=-1), 1.0, atol=1e-6)
    P[0, 0, 0] += 1e-3
    with pytest.raises(ValueError, match=r"the slice at index \(0, 0\) sums to 1\.00099.* \(allowed error 7\.63e-06\)"):
        pg.FiniteMDP(P, np.zeros((3, 2)), gamma=0.9, initial=initial)
    with pytest.raises(ValueError, match=r"sums to 1\.000000(1|09).* \(allowed error 1e-09\)"):  # float64: tight
        pg.FiniteMDP([[[0.5, 0.5000001]], [[0.0, 1.0]]], [[0.0], [0.0]], gamma=0.9, initial=[1.0, 0.0])


def test_finite_mdp_env_follows_gymnasium_conventions():
    import gymnasium

    env = pg.FiniteMDPEnv(pg.examples.short_corridor())
    with pytest.raises(gymnasium.error.ResetNeeded, match=r"call reset\(\) before step\(\)"):
        env.step(0)
    env.reset(seed=0)
    for action in (-1, 2, 5, 1.5, True, "1"):
        with pytest.raises(ValueError, match=r"action must be an int in \[0, 2\) \(the action_space Discrete\(2\)\)"):
            env.step(action)
    env.step(np.int64(1))  # numpy integers are actions too
    actions = np.random.default_rng(0).integers(2, size=10_000)  # the corridor ends within ~100 random steps
    terminated = False
    for action in actions:
        terminated = env.step(int(action))[2]
        if terminated:
            break
    assert terminated
    with pytest.raises(gymnasium.error.ResetNeeded):  # the episode is over
        env.step(1)


def corridor_gae(**options):
    batch, policy, theta = corridor_batch(), pg.examples.short_corridor_policy(), pg.examples.corridor_params(0.3)
    return pg.gae_estimator(batch, policy, theta, values=np.zeros(4), **options)


def module_policy_for(width):
    import torch

    return pg.ModulePolicy(torch.nn.Linear(width, 2), 2)


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: pg.TabularSoftmax(2, 2).init_params(seed=-1), ValueError, "seed must be a non-negative int; got -1"),
        (
            lambda: pg.sample_episodes(
                pg.examples.bandit([1.0]), pg.TabularSoftmax(1, 1), np.zeros((1, 1)), 2, max_steps=1, seed=-5
            ),
            ValueError,
            "seed must be a non-negative int",
        ),
        (lambda: corridor_gae(lam="0.5"), TypeError, "lam must be a real number in"),
        (lambda: corridor_gae(lam=1.5), ValueError, r"lam must lie in \[0, 1\]"),
        (
            lambda: pg.reinforce(
                corridor_batch().subset(slice(0, 1)),
                pg.examples.short_corridor_policy(),
                pg.examples.corridor_params(0.3),
                baseline="normalized",
            ),
            ValueError,
            'baseline="normalized" needs at least two episodes',
        ),
        (
            lambda: pg.TabularSoftmax(2, 2).init_params(seed=0, scale=np.nan),
            ValueError,
            "scale must contain only finite numbers",
        ),
        (lambda: module_policy_for(3).init_params(seed=0, scale=np.inf), ValueError, "scale must contain only finite"),
        (lambda: pg.stats.two_sided_threshold(0.01, 0), ValueError, "n_tests must be at least 1; got 0"),
        (lambda: pg.stats.two_sided_threshold(1.5, 10), ValueError, "false_alarm must lie strictly between 0 and 1"),
    ],
    ids=[
        "seed-init",
        "seed-sample",
        "lam-string",
        "lam-range",
        "normalized-one-episode",
        "scale-nan",
        "module-scale-inf",
        "threshold-no-tests",
        "threshold-false-alarm",
    ],
)
def test_item_9_inputs_are_named(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_normalized_returns_refuse_equal_returns():
    mdp, policy = pg.examples.bandit([1.0, 1.0]), pg.TabularSoftmax(1, 2)
    batch = pg.sample_episodes(mdp, policy, np.zeros((1, 2)), 10, max_steps=1, seed=0)
    with pytest.raises(ValueError, match="every episode has return 1: the normalized returns are undefined"):
        pg.reinforce(batch, policy, np.zeros((1, 2)), baseline="normalized")


def sample_corridor_environment(policy):
    """Four episodes of the short corridor as a Gymnasium environment (observations 4 wide), seed 0."""
    env = lambda: pg.FiniteMDPEnv(pg.examples.short_corridor())  # noqa: E731
    return pg.environments.sample_environment(
        env, policy, policy.init_params(seed=0), 4, gamma=1.0, max_steps=50, seed=0
    )


def test_fit_state_values_refuses_an_environment_batch():
    import torch

    policy = pg.ModulePolicy(torch.nn.Linear(4, 2), 2)
    batch = sample_corridor_environment(policy)
    with pytest.raises(ValueError, match="fit_state_values needs the states of a finite MDP"):
        pg.fit_state_values(batch, 4)


def test_module_policy_with_the_wrong_observation_width_is_named():
    import torch

    policy = pg.ModulePolicy(torch.nn.Linear(3, 2), 2)  # the corridor's observations are 4 wide
    with pytest.raises(ValueError, match=r"module could not take observations of shape \(4, 4\) \(obs_dim = 4\)"):
        sample_corridor_environment(policy)


def test_theta_may_be_a_tensor_that_requires_grad():
    import torch

    policy, mdp = pg.examples.short_corridor_policy(), pg.examples.short_corridor()
    theta = torch.tensor(pg.examples.corridor_params(0.3), requires_grad=True)
    np.testing.assert_array_equal(
        pg.exact_gradient(mdp, policy, theta), pg.exact_gradient(mdp, policy, theta.detach().numpy())
    )
