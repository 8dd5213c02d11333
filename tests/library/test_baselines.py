"""One baseline vocabulary (pgbook.baselines): every public function that takes a ``baseline`` accepts the same
spellings for the same thing, and refuses the others in the same words."""

import importlib
import inspect
import pkgutil

import numpy as np
import pytest

import pgbook as pg
from pgbook.baselines import parse_baseline

MDP = pg.examples.random_mdp(4, 2, gamma=0.8, seed=0)
POLICY = pg.TabularSoftmax(4, 2)
THETA = POLICY.init_params(seed=0)
BATCH = pg.sample_episodes(MDP, POLICY, THETA, 8, max_steps=30, seed=1)


TASK = pg.sequences.token_task(["0 a's", "1 a's", "2 a's", "3 a's"], pg.sequences.counting_reward, horizon=3)
TOKENS = pg.TabularSoftmax(TASK.mdp.n_states, TASK.mdp.n_actions)
TOKEN_THETA = TOKENS.init_params(seed=0)
GROUPS = pg.sequences.sample_groups(TASK, TOKENS, TOKEN_THETA, 3, 5, seed=1)


def _bandit_reward(actions):
    return -((actions[:, 0] - 1.0) ** 2)


# Every public function with a `baseline` argument: a call with everything else fixed, and the kinds it accepts.
CALLS = {
    "pgbook.estimators.reinforce": (
        lambda baseline: pg.reinforce(BATCH, POLICY, THETA, baseline=baseline).per_episode,
        ("none", "constant", "values", "mean", "optimal", "learned", "normalized"),
    ),
    "pgbook.estimators.reward_to_go": (
        lambda baseline: pg.reward_to_go(BATCH, POLICY, THETA, baseline=baseline).per_episode,
        ("none", "constant", "values", "mean", "optimal", "learned"),
    ),
    "pgbook.gaussian.gaussian_score_gradient": (
        lambda baseline: (
            pg.gaussian_score_gradient(_bandit_reward, [0.0], 0.5, 10, seed=0, baseline=baseline).per_episode
        ),
        ("none", "constant", "optimal"),
    ),
    "pgbook.variance.variance_decomposition": (
        lambda baseline: np.array(
            [
                getattr(pg.variance.variance_decomposition(MDP, POLICY, THETA, baseline=baseline), term)
                for term in ("state", "action", "trajectory")
            ]
        ),  # fmt: skip
        ("none", "constant", "values"),
    ),
    "pgbook.variance.one_sample_estimates": (
        lambda baseline: (
            pg.variance.one_sample_estimates(
                MDP, POLICY, THETA, 10, baseline=baseline, max_steps=30, seed=2
            ).per_episode
        ),
        ("none", "constant", "values"),
    ),
    "pgbook.sequences.group_update": (
        lambda baseline: pg.sequences.group_update(TASK, TOKENS, TOKEN_THETA, GROUPS, baseline=baseline).per_episode,
        ("none", "values", "mean", "group mean"),
    ),
    "pgbook.sequences.expected_group_update": (
        lambda baseline: pg.sequences.expected_group_update(TASK, TOKENS, TOKEN_THETA, 3, baseline=baseline),
        ("none", "values", "mean", "group mean"),
    ),
    "pgbook.sequences.group_variance": (
        lambda baseline: np.array(pg.sequences.group_variance(TASK, TOKENS, TOKEN_THETA, 3, baseline=baseline)),
        ("none", "values", "mean"),
    ),
}
# A values table V[s] has one entry per state of the problem the call uses (per prompt, for a group update).
VALUES = {"pgbook.sequences.group_variance": np.linspace(-1.0, 1.0, TASK.mdp.n_states)}
# `baseline` there is something else: the reader's own function, which the exercise checks.
NOT_A_BASELINE_ARGUMENT = {"pgbook.exercises.check_optimal_state_baseline", "pgbook.baselines.parse_baseline"}
SPELLINGS = {
    "constant": 1.5,
    "values": np.linspace(-1.0, 1.0, 4),
    "mean": "mean",
    "group mean": "group mean",
    "optimal": "optimal",
    "learned": "learned",
    "normalized": "normalized",
}


def functions_taking_a_baseline() -> set[str]:
    found = set()
    for module_info in pkgutil.iter_modules(pg.__path__):
        if module_info.name in ("figures", "plotting"):  # presentation: labels, not the vocabulary
            continue
        module = importlib.import_module(f"pgbook.{module_info.name}")
        for name, value in vars(module).items():
            if name.startswith("_") or not inspect.isfunction(value) or value.__module__ != module.__name__:
                continue
            if "baseline" in inspect.signature(value).parameters:
                found.add(f"{module.__name__}.{name}")
    return found


def test_every_public_function_taking_a_baseline_is_checked_here():
    assert functions_taking_a_baseline() == set(CALLS) | NOT_A_BASELINE_ARGUMENT


@pytest.mark.parametrize("name", sorted(CALLS))
def test_no_baseline_is_none_spelled_either_way_and_the_default(name):
    call, _ = CALLS[name]
    np.testing.assert_array_equal(call(None), call("none"))
    module, function = name.rsplit(".", 1)
    assert inspect.signature(getattr(importlib.import_module(module), function)).parameters["baseline"].default is None


@pytest.mark.parametrize("name", sorted(CALLS))
def test_each_function_accepts_its_kinds_and_refuses_the_others_naming_what_it_accepts(name):
    call, accepts = CALLS[name]
    for kind, spelling in {**SPELLINGS, "values": VALUES.get(name, SPELLINGS["values"])}.items():
        if kind in accepts:
            assert np.all(np.isfinite(call(spelling))), kind
        else:
            with pytest.raises(ValueError, match="^baseline must be None, ") as refused:
                call(spelling)
            assert str(refused.value) == str(_refusal(accepts, spelling)), kind
    with pytest.raises(ValueError, match="baseline must be None"):
        call("nothing")
    with pytest.raises(TypeError, match="baseline must be an array of real numbers"):
        call({"b": 1})


def _refusal(accepts, spelling) -> ValueError:
    try:
        parse_baseline(spelling, accepts=accepts)
    except ValueError as error:
        return error
    raise AssertionError(f"{spelling!r} was accepted")


def test_a_constant_or_a_constant_table_is_the_same_baseline():
    """A number b and the table V[s] = b are the same baseline wherever both are accepted and b(s) is used as is
    (variance_decomposition, one_sample_estimates); the estimators differ by design (REINFORCE's array is the
    start state's value)."""
    for name in ("pgbook.variance.variance_decomposition", "pgbook.variance.one_sample_estimates"):
        call, _ = CALLS[name]
        np.testing.assert_array_equal(call(1.5), call(np.full(4, 1.5)))


def test_a_state_value_table_of_the_wrong_length_is_named():
    with pytest.raises(ValueError, match=r"baseline must have shape \(4,\); got \(3,\)"):
        pg.variance.variance_decomposition(MDP, POLICY, THETA, baseline=np.zeros(3))
    with pytest.raises(ValueError, match=r"baseline must have shape \(4,\); got \(3,\)"):
        pg.reward_to_go(BATCH, POLICY, THETA, baseline=np.zeros(3))
    with pytest.raises(ValueError, match="baseline must be a number or an array V"):
        pg.reinforce(BATCH, POLICY, THETA, baseline=np.zeros((4, 2)))
