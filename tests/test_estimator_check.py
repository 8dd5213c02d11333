"""check_estimator: correct estimators pass, biased ones fail, and a broken estimator gets a clear error.

With false_alarm=1e-3 a correct estimator fails with probability at most 1e-3 per call (Bonferroni over
all components); the seeds are fixed, so each outcome below is the same on every run.
"""

import warnings

import numpy as np
import pytest

import pgbook as pg


@pytest.mark.slow  # 5,000 episodes on each standard problem per estimator: ~0.6 s each
@pytest.mark.parametrize(
    "estimator",
    [
        lambda b, p, t: pg.reward_to_go(b, p, t, baseline="learned"),  # a GradientEstimate
        lambda b, p, t: pg.reinforce(b, p, t, baseline="optimal").per_episode,  # per-episode samples
        lambda b, p, t: pg.reward_to_go(b, p, t).mean,  # only the mean: checked on 32 sub-batches
    ],
    ids=["estimate", "per-episode", "mean-only"],
)
def test_correct_estimators_pass(estimator):
    report = pg.check_estimator(estimator, n_episodes=5_000, seed=1)
    assert report.passed, str(report)
    assert "PASSED" in str(report)
    assert all(result.cosine > 0.95 for result in report.results)


@pytest.mark.slow  # 5,000 episodes on each standard problem per estimator: ~0.7 s each
@pytest.mark.parametrize(
    "estimator, failing",
    [
        (lambda b, p, t: pg.reinforce(b, p, t, baseline="normalized"), None),
        (lambda b, p, t: pg.reward_to_go(b, p, t, weighting="undiscounted").mean, [2, 3]),
        (lambda b, p, t: -pg.reward_to_go(b, p, t).per_episode, None),  # a sign error
        (
            lambda b, p, t: 2 * pg.reward_to_go(b, p, t).per_episode,
            None,
        ),  # a scale error, like the notes' dropped factor
    ],
    ids=["normalized-returns", "undiscounted-mean-only", "sign", "factor"],
)
def test_biased_estimators_fail(estimator, failing):
    report = pg.check_estimator(estimator, n_episodes=5_000, seed=2)
    assert not report.passed
    assert "FAILED" in str(report) and "BIASED?" in str(report)
    if failing is not None:
        assert [i for i, result in enumerate(report.results) if not result.passed] == failing


def test_report_intervals_and_references():
    report = pg.check_estimator(lambda b, p, t: pg.reward_to_go(b, p, t), n_episodes=5_000, seed=3)
    for result in report.results:
        assert np.all(result.lower <= result.upper)
        assert np.all((result.lower <= result.exact) & (result.exact <= result.upper))
        assert set(result.references) == {"REINFORCE", "reward-to-go", "reward-to-go with true V"}
        kappa_rtg, _ = result.references["reward-to-go"]
        assert np.isclose(result.relative_variance, kappa_rtg)  # the same estimator on the same episodes


@pytest.mark.parametrize(
    "estimator, error, words",
    [
        ("reward_to_go", TypeError, "estimator must be a callable"),
        (lambda b, p, t: np.zeros(7), ValueError, r"the estimator returned shape \(7,\)"),
        (lambda b, p, t: np.full(p.param_shape, np.nan), ValueError, "returned nan or inf"),
        (lambda b, p, t: "gradient", TypeError, "must return a GradientEstimate or an array of numbers"),
    ],
)
def test_broken_estimators_get_clear_errors(estimator, error, words):
    with pytest.raises(error, match=words):
        pg.check_estimator(estimator, n_episodes=1_000, seed=0)


def test_check_estimator_arguments():
    with pytest.raises(ValueError, match="n_episodes must be at least 64"):
        pg.check_estimator(lambda b, p, t: pg.reinforce(b, p, t), n_episodes=10)
    with pytest.raises(ValueError, match=r"false_alarm must lie in \(0, 1\); got 0.0"):
        pg.check_estimator(lambda b, p, t: pg.reinforce(b, p, t), false_alarm=0.0)


def zeros_estimate(b, p, t):
    return pg.GradientEstimate(np.zeros((b.n_episodes, *p.param_shape)))


@pytest.mark.parametrize(
    "estimator",
    [zeros_estimate, lambda b, p, t: np.zeros(p.param_shape)],
    ids=["per-episode", "mean-only"],
)
def test_an_estimator_returning_zeros_fails(estimator):
    """Zeros (what a Q(s, a) baseline gives on a one-step bandit) are a clear FAILED, not an exception."""
    report = pg.check_estimator(estimator, n_episodes=1_000, seed=0)
    assert not report.passed
    assert all(np.isnan(result.cosine) for result in report.results)
    assert "FAILED" in str(report) and "cosine to exact undefined (a zero vector)" in str(report)


def flat_problems():
    flat, single = pg.TabularSoftmax(1, 2), pg.TabularSoftmax(1, 1)
    return [
        pg.estimator_check.Problem("flat bandit", pg.examples.bandit([1.0, 1.0]), flat, flat.init_params(seed=0), 1),
        pg.estimator_check.Problem(
            "one-armed bandit", pg.examples.bandit([2.0]), single, single.init_params(seed=0), 1
        ),
    ]


def test_a_zero_exact_gradient_passes_a_correct_estimator():
    report = pg.check_estimator(
        lambda b, p, t: pg.reinforce(b, p, t), n_episodes=1_000, seed=0, problems=flat_problems()
    )
    assert report.passed, str(report)
    for result in report.results:
        assert not np.any(result.exact) and np.isnan(result.relative_variance)
    assert "κ = undefined (∇J = 0)" in str(report)


def test_an_estimator_that_edits_its_episodes_changes_nothing_else():
    def editing(b, p, t):  # the mistake of item 3: edit the batch in place after computing
        estimate = pg.reward_to_go(b, p, t)
        b.rewards[:] *= 3
        return estimate

    def editing_mean(b, p, t):  # the mean-only form: called again on sub-batches of the same episodes
        estimate = pg.reward_to_go(b, p, t).mean
        b.rewards[:] *= 3
        return estimate

    plain = pg.check_estimator(lambda b, p, t: pg.reward_to_go(b, p, t), n_episodes=1_000, seed=0)
    edited = pg.check_estimator(editing, n_episodes=1_000, seed=0)
    assert str(edited) == str(plain)  # references, z-scores, κ and cosines: all as if nothing was edited
    plain_mean = pg.check_estimator(lambda b, p, t: pg.reward_to_go(b, p, t).mean, n_episodes=1_024, seed=0)
    assert str(pg.check_estimator(editing_mean, n_episodes=1_024, seed=0)) == str(plain_mean)


def test_a_torch_estimator_can_wrap_the_arrays_without_warnings():
    torch = pytest.importorskip("torch")

    def shared(b, p, t):  # torch.from_numpy shares memory; a read-only array would make torch warn
        torch.from_numpy(b.rewards).mul_(3)
        return pg.reward_to_go(b, p, t)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = pg.check_estimator(shared, n_episodes=1_000, seed=0)
    plain = pg.check_estimator(lambda b, p, t: pg.reward_to_go(b, p, t), n_episodes=1_000, seed=0)
    assert [r.references for r in report.results] == [r.references for r in plain.results]


def test_an_empty_problem_list_is_refused():
    with pytest.raises(ValueError, match="problems must hold at least one Problem"):
        pg.check_estimator(lambda b, p, t: pg.reinforce(b, p, t), problems=[])
    with pytest.raises(TypeError, match="problems must hold pgbook.estimator_check.Problem objects"):
        pg.check_estimator(lambda b, p, t: pg.reinforce(b, p, t), problems=["corridor"])
