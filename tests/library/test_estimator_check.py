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
    "estimator, verdicts",
    [
        (lambda b, p, t: pg.reinforce(b, p, t, baseline="normalized"), {"scaled"}),  # 1/std: a factor only
        (lambda b, p, t: pg.reward_to_go(b, p, t, weighting="undiscounted").mean, None),
        (lambda b, p, t: -pg.reward_to_go(b, p, t).per_episode, {"biased"}),  # a sign error
        (lambda b, p, t: 2 * pg.reward_to_go(b, p, t).per_episode, {"scaled"}),  # like the notes' dropped factor
    ],
    ids=["normalized-returns", "undiscounted-mean-only", "sign", "factor"],
)
def test_estimators_that_are_not_unbiased_fail(estimator, verdicts):
    report = pg.check_estimator(estimator, n_episodes=5_000, seed=2)
    assert not report.passed and report.diagnosis is not None
    if verdicts is None:  # γᵗ dropped: invisible at γ = 1 and on a one-step bandit, a direction on the continuing MDP
        assert [r.verdict for r in report.results][:3] == ["unbiased", "unbiased", "biased"]
        assert "FAILED: biased in direction on random MDP, continuing" in str(report)
    else:
        assert {r.verdict for r in report.results} == verdicts
    if verdicts == {"scaled"}:
        assert report.verdict == "scaled" and "∇J up to a positive factor on every problem" in str(report)
        assert "[scaled]" in str(report) and "FAILED" not in str(report)
    if verdicts == {"biased"}:
        assert all(r.angle_interval[0] > 150 and r.angle > 175 for r in report.results)  # pointing away from ∇J


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
    assert not report.passed and report.verdict == "biased"
    assert all(np.isnan(result.cosine) for result in report.results)
    assert "biased: its mean is 0 where ∇J is not" in str(report)
    assert "FAILED" in str(report) and "cosine undefined (a zero vector)" in str(report)


def flat_problems():
    flat, single = pg.TabularSoftmax(1, 2), pg.TabularSoftmax(1, 1)
    return [
        pg.Problem("flat bandit", pg.examples.bandit([1.0, 1.0]), flat, flat.init_params(seed=0), 1),
        pg.Problem("one-armed bandit", pg.examples.bandit([2.0]), single, single.init_params(seed=0), 1),
    ]


def test_a_zero_exact_gradient_passes_a_correct_estimator():
    report = pg.check_estimator(
        lambda b, p, t: pg.reinforce(b, p, t), n_episodes=1_000, seed=0, problems=flat_problems()
    )
    assert report.passed, str(report)
    for result in report.results:
        assert not np.any(result.exact) and np.isnan(result.relative_variance)
    assert "κ = undefined (∇J = 0" in str(report)


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
    with pytest.raises(TypeError, match="problems must hold pgbook.Problem objects"):
        pg.check_estimator(lambda b, p, t: pg.reinforce(b, p, t), problems=["corridor"])


# Verdicts that separate scale from direction. Each verdict is a statistical outcome: an unbiased (or exactly
# scaled) estimator is called biased with probability at most false_alarm = 1e-3; seeds are fixed.


def per_step_mean(b, p, t):
    """The loss averaged over every step of the batch (what SB3, TorchRL and CleanRL do): ∇J / E[T] at γ = 1."""
    weights = b.discounts() * b.returns_to_go() * b.alive
    return pg.score_sums(b, p, t, weights).per_episode * b.n_episodes / b.alive.sum()


def episodic_problem(gamma=1.0):
    mdp = pg.examples.random_mdp(5, 2, gamma=gamma, seed=3, n_terminal=1)
    policy = pg.TabularSoftmax(5, 2)
    return pg.Problem("episodic", mdp, policy, policy.init_params(seed=4), 400)


def slow_mixing_problem():
    """A slow-mixing MDP (Dirichlet concentration 0.3) with θ scaled by 2, where dropping γᵗ turns the expected
    update 17° away from ∇J (2–3° on generic random MDPs)."""
    mdp = pg.examples.random_mdp(5, 2, gamma=0.9, seed=39, concentration=0.3)
    policy = pg.TabularSoftmax(5, 2)
    return pg.Problem("slow-mixing (γ=0.9)", mdp, policy, policy.init_params(seed=13, scale=2.0), 200)


def test_the_per_step_mean_is_scaled_by_one_over_the_expected_length():
    problem = episodic_problem()
    report = pg.check_estimator(per_step_mean, n_episodes=20_000, seed=4, problems=[problem])
    (result,) = report.results
    assert result.verdict == "scaled" and report.verdict == "scaled"
    expected_length = pg.mistakes.Setting.of(problem).tables.occupancy.sum()
    assert result.scale == pytest.approx(1 / expected_length, rel=0.05)  # about 12 SE of the fitted c
    assert f"∇J up to a factor c = {result.scale:.4g} (a step size {1 / result.scale:.3g} times smaller)" in str(report)
    assert result.angle_interval[0] == 0.0  # the direction is ∇J's
    kappa_rtg, _ = result.references["reward-to-go"]
    assert result.relative_variance == pytest.approx(kappa_rtg, rel=0.1)  # κ is scale-free: about rtg's


def test_gamma_dropped_is_biased_in_direction_on_a_slow_mixing_mdp():
    problem = slow_mixing_problem()
    report = pg.check_estimator(
        lambda b, p, t: pg.reward_to_go(b, p, t, weighting="undiscounted"), n_episodes=5_000, seed=5, problems=[problem]
    )
    (result,) = report.results
    assert result.verdict == "biased" and report.verdict == "biased"
    low, high = result.angle_interval
    assert 10 < low <= result.angle <= high < 25
    assert f"biased in direction by {result.angle:.1f}° [{low:.1f}°, {high:.1f}°]" in str(report)
    exact_angle = pg.direction.angle(
        pg.mistakes.expected_gradient(
            problem.mdp,
            problem.policy,
            problem.theta,
            problem.max_steps,
            [pg.mistakes.mistake("discount weights γᵗ dropped")],
        ),
        problem.gradient,
    )
    assert low <= exact_angle <= high  # the interval covers the exact angle (probability ≥ 1 − 1e-3)


def test_reward_to_go_is_unbiased_on_the_slow_mixing_mdp():
    report = pg.check_estimator(
        lambda b, p, t: pg.reward_to_go(b, p, t), n_episodes=5_000, seed=6, problems=[slow_mixing_problem()]
    )
    assert report.verdict == "unbiased" and report.results[0].angle_interval[0] == 0.0
    assert "PASSED: unbiased on every problem." in str(report) and report.diagnosis is None


def test_check_samples_gives_check_estimators_report_on_the_same_samples():
    problem = slow_mixing_problem()
    seen = []

    def recording(b, p, t):
        estimate = pg.reward_to_go(b, p, t, weighting="undiscounted")
        seen.append(estimate.per_episode)
        return estimate

    from_estimator = pg.check_estimator(recording, n_episodes=2_000, seed=7, problems=[problem])
    from_samples = pg.check_samples(seen[0], problem)
    for a, b in zip(from_estimator.results, from_samples.results, strict=True):
        for name in ("z", "scaled_z", "lower", "upper", "exact"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        for name in ("verdict", "scale", "angle", "angle_interval", "threshold", "relative_variance", "cosine"):
            assert getattr(a, name) == getattr(b, name), name
    assert str(from_estimator.diagnosis) == str(from_samples.diagnosis)
    assert from_estimator.conclusion() == from_samples.conclusion()
    assert "check_samples: 2000 gradient samples per problem" in str(from_samples)


def test_an_estimator_can_take_the_problem():
    problem = episodic_problem(gamma=0.9)

    def with_values(batch, policy, theta, problem):  # the exact V as a baseline, from the problem
        return pg.reward_to_go(batch, policy, theta, baseline=problem.values)

    def keyword(batch, policy, theta, *, problem):
        return pg.reward_to_go(batch, policy, theta, baseline=problem.values)

    for estimator in (with_values, keyword):
        report = pg.check_estimator(estimator, n_episodes=2_000, seed=8, problems=[problem])
        assert report.passed, str(report)
    old_style = pg.check_estimator(
        lambda b, p, t: pg.reward_to_go(b, p, t), n_episodes=2_000, seed=8, problems=[problem]
    )
    assert old_style.passed


def test_check_samples_errors():
    problem = episodic_problem()
    with pytest.raises(ValueError, match=r"must have shape \(K >= 2, \*\(5, 2\)\)"):
        pg.check_samples(np.zeros((10, 4)), problem)
    with pytest.raises(ValueError, match="hold nan or inf"):
        pg.check_samples(np.full((10, 5, 2), np.nan), problem)
    with pytest.raises(ValueError, match="one array per problem"):
        pg.check_samples([np.zeros((10, 5, 2))], [problem, problem])
    with pytest.raises(TypeError, match="problems must hold pgbook.Problem objects"):
        pg.check_samples(np.zeros((10, 5, 2)), "corridor")
    with pytest.raises(ValueError, match="needs each problem's critic; \\['episodic'\\] have none"):
        pg.check_samples(np.ones((10, 5, 2)), problem, catalogue=pg.mistakes.rollout_models(5))
    with pytest.raises(TypeError, match="catalogue must hold pgbook.mistakes.Mistake entries"):
        pg.check_samples(np.ones((10, 5, 2)), problem, catalogue=["sign flipped"])


def test_problem_arguments_and_exact_quantities():
    problem = episodic_problem(gamma=0.9)
    np.testing.assert_allclose(problem.values, pg.state_values(problem.mdp, problem.policy, problem.theta))
    np.testing.assert_allclose(problem.gradient, pg.exact_gradient(problem.mdp, problem.policy, problem.theta))
    assert problem.env().observation_space.shape == (5,)
    with pytest.raises(ValueError, match="critic must have shape"):
        pg.Problem("p", problem.mdp, problem.policy, problem.theta, 10, critic=np.zeros(3))
    with pytest.raises(ValueError, match=r"a ModulePolicy needs observations="):
        torch = pytest.importorskip("torch")
        pg.Problem("p", problem.mdp, pg.ModulePolicy(torch.nn.Linear(5, 2), 2), np.zeros(12), 10)
    with pytest.raises(ValueError, match="theta must have shape"):
        pg.Problem("p", problem.mdp, problem.policy, np.zeros(3), 10)


def test_check_samples_on_several_problems_and_diagnose_with_its_default_thresholds():
    """Samples of the per-step mean on two problems, diagnosed together: the factor is named on both, and
    pg.diagnose called directly, with its default thresholds, says the same."""
    problems = [episodic_problem(), episodic_problem(gamma=0.9)]
    samples = []
    for seed, problem in enumerate(problems):
        batch = pg.sample_episodes(problem.mdp, problem.policy, problem.theta, 20_000, max_steps=400, seed=seed)
        samples.append(pg.GradientEstimate(per_step_mean(batch, problem.policy, problem.theta)).batch_means(50))
    report = pg.check_samples(samples, problems)
    assert [r.verdict for r in report.results] == ["scaled", "scaled"]
    names = [[m.name for m in match.mistakes] for match in report.diagnosis.matches]
    assert ["loss averaged over all steps, not over episodes"] in names, str(report.diagnosis)
    direct = pg.diagnose([pg.GradientEstimate(s) for s in samples], problems)
    assert str(direct) == str(report.diagnosis)
