"""Bad input raises ValueError or TypeError naming the argument, never a NaN or a deep traceback."""

import numpy as np
import pytest

import pgbook as pg

from cases import corridor_batch


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
        (lambda: pg.examples.random_mdp(3, 2, concentration=0), ValueError, "concentration must lie in (0, inf)"),
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
        (lambda t: 0.0, [0.0], {"step": 0.0}, ValueError, "step must lie in (0, inf); got 0.0"),
        (lambda t: 0.0, [0.0], {"step": np.nan}, ValueError, "step must lie in (0, inf); got nan"),
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
            "scale must be finite; got nan",
        ),
        (lambda: module_policy_for(3).init_params(seed=0, scale=np.inf), ValueError, "scale must be finite; got inf"),
        (lambda: pg.stats.two_sided_threshold(0.01, 0), ValueError, "n_tests must be at least 1; got 0"),
        (lambda: pg.stats.two_sided_threshold(1.5, 10), ValueError, r"false_alarm must lie in \(0, 1\); got 1.5"),
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


# Issue 24, goal 8: each class of bad input, over every public function where it occurs. ---------------------
# The functions are found by their signatures (a parameter named mdp, policy, batch or system; one annotated
# float), so that a new public function joins these tests without being listed here.

EPISODIC = pg.examples.random_mdp(3, 2, gamma=0.9, seed=0, n_terminal=1)
CONTINUING = pg.examples.random_mdp(3, 2, gamma=0.9, seed=0)
POLICY = pg.TabularSoftmax(3, 2)
THETA = POLICY.init_params(seed=0)
SYSTEM = pg.lqr.LinearQuadratic(
    A=[[1.0, 0.2], [0.0, 0.9]], B=[[0.0], [1.0]], Q=np.eye(2), R=[[0.5]],
    initial_covariance=[[0.5, 0.1], [0.1, 0.3]], gamma=0.9,
)  # fmt: skip
SEQUENCES = pg.sequences.counting_task()
SEQUENCE_POLICY = pg.TabularSoftmax(SEQUENCES.mdp.n_states, SEQUENCES.mdp.n_actions)
SEQUENCE_GROUPS = pg.sequences.sample_groups(SEQUENCES, SEQUENCE_POLICY, np.zeros(SEQUENCE_POLICY.param_shape), 3, 4, 0)
# Records the library returns, or builds inside from arguments already checked (mistakes.Setting, Recipe and
# StepTables: the tables a diagnosis computes for one problem), are not constructed by users.
RESULT_RECORDS = {
    "ProblemResult", "EstimatorReport", "Match", "Diagnosis", "VarianceDecomposition", "Setting", "Recipe",
    "StepTables", "ImprovementBoundLines", "GradientDomination", "Lojasiewicz", "NaturalGradientBound", "PPOInnerLoop",
    "Smoothness", "PlateauSweep", "SoftOptimum", "TokenTask", "Groups",
}  # fmt: skip
OBJECTS = ("mdp", "policy", "batch", "system")


def public_functions() -> dict[str, object]:
    """The library's public functions and constructors, by qualified name (presentation and helpers aside)."""
    import importlib
    import inspect
    import pkgutil

    found = {}
    for module_info in pkgutil.iter_modules(pg.__path__):
        if module_info.name in ("figures", "plotting", "arguments", "lazy_torch", "exercises"):
            continue
        module = importlib.import_module(f"pgbook.{module_info.name}")
        for name, value in vars(module).items():
            if name.startswith("_") or getattr(value, "__module__", None) != module.__name__:
                continue
            if inspect.isfunction(value) or (inspect.isclass(value) and name not in RESULT_RECORDS):
                found[f"{module_info.name}.{name}"] = value
    return found


def parameters(function) -> dict:
    import inspect

    try:
        return dict(inspect.signature(function).parameters)
    except ValueError:  # a class without a signature of its own
        return {}


def valid_arguments(name: str, function) -> dict:
    """Arguments that ``function`` accepts, for each of its parameters without a default."""
    batch = sample_batch()
    table = {
        "mdp": CONTINUING if name.startswith("average_reward.") else EPISODIC,
        "policy": POLICY,
        "theta": THETA,
        "theta_old": THETA,
        "initial_theta": THETA,
        "behaviour_theta": THETA,
        "new_theta": THETA + 0.1,
        "thetas": np.stack([THETA, THETA + 0.1]),
        "corners": np.stack([THETA, THETA + 0.1, THETA - 0.1]),
        "batch": batch,
        "weights": np.ones(batch.rewards.shape),
        "advantages": np.zeros(batch.rewards.shape),
        "values": np.zeros(3),
        "lam": 0.5,
        "n_states": 3,
        "n_actions": 2,
        "critic": np.zeros((3, 2)),
        "system": SYSTEM,
        "gain": [[0.3, 0.8]],
        "states": [[1.0, 0.0]],
        "controls": [[0.5]],
        "noise_std": 0.1,
        "n_episodes": 64 if name == "estimator_check.check_estimator" else 4,
        "horizon": 5,
        "seed": 0,
        "max_steps": 20,
        "n_samples": 4,
        "n_runs": 2,
        "step_size": 0.1,
        "n_iterations": 1,
        "estimator": lambda b, p, t: pg.reward_to_go(b, p, t),
        "pi": POLICY.probabilities(THETA),
        "epsilon": 0.2,
        "rcond": 1e-12,
        "discount": 0.9,
        "gamma": 0.9,
        "false_alarm": 0.01,
        "n_tests": 3,
        "std": 0.5,
        "mean": [0.0],
        "reward": lambda a: -(a[:, 0] ** 2),
        "p_right": 0.3,
        "f": lambda t: float(np.sum(t**2)),
        "means": [0.0, 1.0],
        "P": EPISODIC.P,
        "R": EPISODIC.R,
        "initial": EPISODIC.initial,
        "A": SYSTEM.A,
        "B": SYSTEM.B,
        "Q": SYSTEM.Q,
        "initial_covariance": SYSTEM.initial_covariance,
        "name": "a problem",
        "n_steps": 4,
        "max_kl": 0.01,
        "product": lambda v: v,
        "b": np.ones(3),
        "mu": np.full(3, 1 / 3),
        "part": "sign",
        "code": "the gradient of −J",
        "problem": pg.Problem("a problem", EPISODIC, POLICY, THETA, 20),
        "problems": [pg.Problem("a problem", EPISODIC, POLICY, THETA, 20)],
        "samples": np.ones((8, *THETA.shape)),
        "estimate": pg.GradientEstimate(np.ones((8, *THETA.shape)) + np.arange(8.0)[:, None, None]),
        "estimates": [pg.GradientEstimate(np.ones((8, *THETA.shape)) + np.arange(8.0)[:, None, None])],
        "vector": np.ones(THETA.shape),
        "direction": np.ones(THETA.shape),
        "lengths": [3],
        "start": THETA,
        "end": THETA + 0.1,
        "duration": 0.5,
        "n_layers": 2,
        "width": 2,
        "temperature": 0.5,
        "state_weights": np.full(3, 1 / 3),
        "state_moment": np.eye(2),
        "env": None,  # set below, with a ModulePolicy
        "task": SEQUENCES,
        "groups": SEQUENCE_GROUPS,
        "group_size": 3,
        "n_groups": 4,
        "reference_theta": np.zeros(SEQUENCE_POLICY.param_shape),
        "kl_estimator": "k3",
        "success": 0.3,
        "prompts": ["0 a's"],
        "prompt": "1 a's",
        "text": "a.",
    }
    arguments = {
        parameter: table[parameter]
        for parameter, info in parameters(function).items()
        if info.default is info.empty and info.kind not in (info.VAR_POSITIONAL, info.VAR_KEYWORD)
    }
    if name == "environments.sample_environment":
        import torch

        arguments.update(env=lambda: pg.FiniteMDPEnv(EPISODIC), policy=pg.ModulePolicy(torch.nn.Linear(3, 2), 2))
        arguments["theta"] = arguments["policy"].init_params(seed=0)
    if name.startswith("convergence_theory.") and "mdp" in arguments:  # its theorems assume rewards in [0, 1]
        arguments["mdp"] = pg.examples.chain(3)
    if name == "gaussian.gaussian_pathwise_gradient":
        arguments["reward"] = lambda a: -(a[:, 0] ** 2)
    if name.startswith("sequences.") and "policy" in arguments:  # a policy for the tree of responses
        arguments.update(policy=SEQUENCE_POLICY, theta=np.zeros(SEQUENCE_POLICY.param_shape))
    if name == "sequences.token_task":
        arguments["reward"] = lambda prompt, text: float(text == "a.")
    if name == "lqr.LinearQuadratic":
        arguments.update(R=SYSTEM.R, gamma=0.9)
    return arguments


def sample_batch() -> pg.Batch:
    """Four episodes of EPISODIC under POLICY at THETA."""
    return pg.sample_episodes(EPISODIC, POLICY, THETA, 4, max_steps=20, seed=0)


def call(name: str, function, **changes):
    if name == "batch.Batch":  # a batch is made by sampling: its fields are checked on construction
        import dataclasses

        return dataclasses.replace(sample_batch(), **changes)
    arguments = valid_arguments(name, function)
    arguments.update(changes)
    return function(**arguments)


FUNCTIONS = public_functions()
NOT_YET: set[str] = set()  # public functions left out of these tables (none)
TAKING_OBJECTS = [
    (name, parameter)
    for name, function in FUNCTIONS.items()
    for parameter, info in parameters(function).items()
    if parameter in OBJECTS and name not in NOT_YET and info.default is not None  # None: the default's meaning
]


@pytest.mark.parametrize("name, parameter", TAKING_OBJECTS, ids=[f"{n}-{p}" for n, p in TAKING_OBJECTS])
def test_none_for_an_object_is_a_type_error_naming_it(name, parameter):
    """`kl_divergences(None, ...)` once raised AttributeError: every mdp, policy, batch and system is checked."""
    assert TAKING_OBJECTS  # the discovery found them
    with pytest.raises(TypeError, match=rf"^{parameter} must be a .*; got None"):
        call(name, FUNCTIONS[name], **{parameter: None})


def annotated_float(function) -> list[str]:
    return [name for name, info in parameters(function).items() if info.annotation in ("float", "float | None")]


TAKING_NUMBERS = [
    (name, parameter, bad)
    for name, function in FUNCTIONS.items()
    for parameter in annotated_float(function)
    for bad in ("0.2", None, np.array([0.2]))
    if name not in NOT_YET and not (bad is None and parameters(function)[parameter].default is None)
]


@pytest.mark.parametrize(
    "name, parameter, bad", TAKING_NUMBERS, ids=[f"{n}-{p}-{type(b).__name__}" for n, p, b in TAKING_NUMBERS]
)
def test_a_number_must_be_a_real_number(name, parameter, bad):
    """rcond="1e-12" and epsilon="0.2" were accepted, epsilon=np.array([0.2]) and None refused by numpy's words:
    every parameter annotated float is a real number, checked by name (None only where it is not the default)."""
    assert len(TAKING_NUMBERS) > 60  # the discovery found them
    with pytest.raises(TypeError, match=rf"^{parameter} must be a real number"):
        call(name, FUNCTIONS[name], **{parameter: bad})


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda: pg.TabularSoftmax(2, 2).init_params(seed=0, scale="1"), "scale must be a real number; got str '1'"),
        (lambda: pg.examples.short_corridor_policy().init_params(seed=0, scale=None), "scale must be a real number"),
    ],
)
def test_a_number_must_be_a_real_number_in_methods(make, words):
    """(A baseline, a number or an array or a word, is refused by one parser: tests/library/test_baselines.py.)"""
    with pytest.raises(TypeError, match=words):
        make()


TAKING_MDP_AND_POLICY = [
    name
    for name, function in FUNCTIONS.items()
    if {"mdp", "policy"} <= set(parameters(function)) and name not in NOT_YET
]


@pytest.mark.parametrize("name", TAKING_MDP_AND_POLICY)
def test_a_policy_for_another_mdp_is_named(name):
    """mistakes.expected_gradient with a 4-state policy on a 3-state MDP once failed in numpy's matmul."""
    other = pg.TabularSoftmax(4, 2)
    theta = other.init_params(seed=0)
    changes = {key: theta for key in parameters(FUNCTIONS[name]) if "theta" in key}
    if "thetas" in changes:
        changes["thetas"] = np.stack([theta, theta])
    if "corners" in parameters(FUNCTIONS[name]):
        changes["corners"] = np.stack([theta, theta + 0.1, theta - 0.1])
    with pytest.raises(ValueError, match="policy is for 4 states and 2 actions, but mdp has 3 states"):
        call(name, FUNCTIONS[name], policy=other, **changes)


def float32_softmax(shape, seed=0):
    """A softmax table computed in float32: its rows miss 1 by float32's rounding (~1e-8), not by 1e-9."""
    logits = np.random.default_rng(seed).normal(size=shape).astype(np.float32)
    table = np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)
    assert np.abs(table.astype(np.float64).sum(axis=-1) - 1).max() > 1e-9
    return table


@pytest.mark.parametrize(
    "method",
    ["check_policy_table", "markov_chain", "values_and_visitation", "state_values", "action_values",
     "discounted_visitation", "objective"],
)  # fmt: skip
def test_float32_policy_tables_are_accepted_at_their_precision(method):
    """mdp.objective(pi32) refused a float32 softmax whose rows sum to 1 ± 4.5e-8: the tolerance follows the dtype
    given, and a float32 row that is really wrong (off by 1e-3) is still refused."""
    pi32 = float32_softmax((3, 2))
    result = getattr(EPISODIC, method)(pi32)
    expected = getattr(EPISODIC, method)(pi32.astype(np.float64) / pi32.astype(np.float64).sum(1, keepdims=True))
    parts = lambda value: value if isinstance(value, tuple) else (value,)  # noqa: E731  markov_chain: a pair
    for got, want in zip(parts(result), parts(expected), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    pi32[0, 0] += 1e-3
    with pytest.raises(ValueError, match=r"pi must sum to 1 along its last axis; the slice at index \(0,\)"):
        getattr(EPISODIC, method)(pi32)


def test_float32_tables_everywhere_a_table_is_given():
    pis = float32_softmax((2, 3, 2))
    np.testing.assert_allclose(EPISODIC.objectives(pis), [EPISODIC.objective(pi) for pi in pis], rtol=1e-12)
    P, initial = float32_softmax((3, 2, 3), seed=1), float32_softmax((3,), seed=2)
    assert pg.FiniteMDP(P, np.zeros((3, 2)), gamma=0.9, initial=initial).P.dtype == np.float64
    with pytest.raises(ValueError, match="pis must sum to 1"):
        EPISODIC.objectives(pis.astype(np.float64) * 1.001)


@pytest.mark.parametrize(
    "function",
    [
        pg.update_field.expected_update,
        pg.update_field.update_jacobian,
        pg.update_field.undiscounted_visitation,
        lambda mdp, policy, theta: pg.update_field.circulation(mdp, policy, [theta, theta + 1, theta - 1], nodes=2),
    ],
    ids=["expected_update", "update_jacobian", "undiscounted_visitation", "circulation"],
)
def test_the_update_field_never_advises_gamma_below_one(function):
    """At γ = 0.9 the field's d_1 is still infinite for a policy that never ends: "use gamma < 1" was wrong."""
    mdp = pg.examples.short_corridor(gamma=0.9)
    always_left = np.zeros((4, 2))
    always_left[0, 1] = -800.0  # π(right | 0) = e^-800 = 0 in float64: state 0 loops for ever
    with pytest.raises(ValueError) as raised:
        function(mdp, pg.TabularSoftmax(4, 2), always_left)
    message = str(raised.value)
    assert "from states [0] it never terminates" in message and "whatever mdp.gamma" in message
    assert "gamma < 1" not in message


@pytest.mark.parametrize(
    "call_with, words",
    [
        (lambda p: pg.mistakes.expected_gradient(*p, 10, ["sign flipped"]), "mistakes must be a sequence of Mistake"),
        (lambda p: pg.mistakes.expected_gradient(*p, 10, "sign flipped"), "mistakes must be a sequence of Mistake"),
        (lambda p: pg.mistakes.diagnose([None], ["corridor"], [4.0]), "problems must hold pgbook.Problem objects"),
        (
            lambda p: pg.check_estimator(lambda b, q, t: pg.reinforce(b, q, t), problems=["corridor"]),
            "problems must hold pgbook.Problem objects",
        ),
    ],
    ids=["mistakes-list-of-names", "mistakes-one-name", "diagnose-problem-names", "check_estimator-problem-names"],
)
def test_names_where_objects_are_expected(call_with, words):
    """mistakes.expected_gradient(..., ["sign flipped"]) raised AttributeError: a name is not the object."""
    problem = (EPISODIC, POLICY, THETA)
    with pytest.raises(TypeError, match=words):
        call_with(problem)


@pytest.mark.parametrize(
    "call_with, words",
    [
        (lambda: pg.quadratic_bandit_variances([1, 2], [1, 2, 3]), r"gap and std must have shapes that broadcast"),
        (lambda: pg.stats.cosine_similarity(np.ones(2), np.ones(3)), "a and b must have the same number"),
        (lambda: pg.stats.z_scores(pg.GradientEstimate(np.eye(3)), np.zeros(2)), r"exact must have shape \(3,\)"),
        (
            lambda: pg.deterministic.lqr_action_value(SYSTEM, [[0.3, 0.8]], [[1.0, 0.0], [0.0, 1.0]], [[0.5]]),
            "states must have shape .* and controls .* with the same k",
        ),
    ],
    ids=["quadratic_bandit_variances", "cosine_similarity", "z_scores", "lqr_action_value"],
)
def test_arrays_that_must_agree_are_named_together(call_with, words):
    """quadratic_bandit_variances([1, 2], [1, 2, 3]) gave numpy's broadcast message."""
    with pytest.raises(ValueError, match=words):
        call_with()


@pytest.mark.parametrize(
    "call_with, words",
    [
        (
            lambda: pg.compatible_fit(EPISODIC, POLICY, THETA, features=np.zeros((3, 2, 0))),
            r"features must have at least one entry along every axis; got shape \(3, 2, 0\)",
        ),
        (lambda: pg.LinearSoftmax(np.zeros((3, 2, 0))), "features must have at least one state, action and feature"),
        (
            lambda: pg.gaussian_score_gradient(lambda a: a[:, 0], np.zeros(0), 1.0, 4, seed=0),
            r"mean must have at least one entry along every axis",
        ),
        (lambda: pg.examples.bandit([]), "means must name at least one arm"),
    ],
    ids=["compatible_fit-features", "LinearSoftmax-features", "gaussian-mean", "bandit-means"],
)
def test_empty_axes_are_named(call_with, words):
    """compatible_fit(features=np.zeros((3, 2, 0))) gave numpy's reshape message."""
    with pytest.raises(ValueError, match=words):
        call_with()


def annotated(function, kinds: tuple[str, ...]) -> list[str]:
    return [name for name, info in parameters(function).items() if any(kind in str(info.annotation) for kind in kinds)]


TAKING_FLAGS = [
    (name, parameter)
    for name, function in FUNCTIONS.items()
    for parameter in annotated(function, ("bool",))
    if name not in NOT_YET
]
TAKING_CALLABLES = [
    (name, parameter)
    for name, function in FUNCTIONS.items()
    for parameter in annotated(function, ("Callable", "Estimator"))
    if name not in NOT_YET and parameters(function)[parameter].default is not None  # None: the default's meaning
]


@pytest.mark.parametrize("bad", ["no", None, 1], ids=["string", "None", "int"])
@pytest.mark.parametrize("name, parameter", TAKING_FLAGS, ids=[f"{n}-{p}" for n, p in TAKING_FLAGS])
def test_a_flag_must_be_true_or_false(name, parameter, bad):
    """fisher_matrix(..., normalized="no") was taken as True (a non-empty string is truthy)."""
    assert len(TAKING_FLAGS) >= 3  # the discovery found them
    with pytest.raises(TypeError, match=rf"^{parameter} must be True or False"):
        call(name, FUNCTIONS[name], **{parameter: bad})


@pytest.mark.parametrize("name, parameter", TAKING_CALLABLES, ids=[f"{n}-{p}" for n, p in TAKING_CALLABLES])
def test_none_for_a_callable_is_named(name, parameter):
    """gaussian_score_gradient(None, ...) said "'NoneType' object is not callable"."""
    assert len(TAKING_CALLABLES) >= 5  # the discovery found them
    with pytest.raises(TypeError, match=rf"^{parameter} must be .*; got (None|NoneType)"):
        call(name, FUNCTIONS[name], **{parameter: None})
