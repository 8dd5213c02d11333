"""The mistake catalogue and check_estimator's diagnosis.

The catalogue's exact expected values are checked two independent ways: with no mistake against the policy
gradient theorem's linear algebra, and for every mistake against the Monte-Carlo mean of an implementation
of that mistake written the way tutorials write it (a torch pseudo-loss and ``backward()``), through
check_estimator's diagnosis. Every statistical verdict uses check_estimator's thresholds, so a correct match
is missed with probability at most false_alarm = 1e-3 per call (Bonferroni over all components); seeds are
fixed, so each outcome below is the same on every run.
"""

import numpy as np
import pytest
import torch

import pgbook as pg
from pgbook.estimator_check import _run
from pgbook.mistakes import CATALOGUE, diagnose, expected_gradient, mistake

N_EPISODES = 20_000


# Estimators as tutorials write them: log-probabilities of the taken actions, a weight per step, a
# pseudo-loss, backward(); the gradient of J is minus the gradient of the loss.


def _log_pi_taken(batch, policy, theta):
    params = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
    log_pi = policy.torch_log_probabilities(params)[torch.as_tensor(batch.states), torch.as_tensor(batch.actions)]
    return params, log_pi, torch.as_tensor(batch.alive, dtype=torch.float64)


def _returns_to_go(batch):
    return torch.as_tensor(batch.returns_to_go())


def _discounts(batch):
    return torch.as_tensor(np.array(batch.discounts()))


def _gradient(params, loss):
    loss.backward()
    return -params.grad.numpy()


def correct(batch, policy, theta):
    params, log_pi, alive = _log_pi_taken(batch, policy, theta)
    loss = -(log_pi * _discounts(batch) * _returns_to_go(batch) * alive).sum() / batch.n_episodes
    return _gradient(params, loss)


def gamma_dropped(batch, policy, theta):
    params, log_pi, alive = _log_pi_taken(batch, policy, theta)
    loss = -(log_pi * _returns_to_go(batch) * alive).sum() / batch.n_episodes
    return _gradient(params, loss)


def discounted_twice(batch, policy, theta):
    params, log_pi, alive = _log_pi_taken(batch, policy, theta)
    returns_from_zero = _discounts(batch) * _returns_to_go(batch)  # Σ_{k≥t} γ^k r_k
    loss = -(log_pi * _discounts(batch) * returns_from_zero * alive).sum() / batch.n_episodes
    return _gradient(params, loss)


def first_step_only(batch, policy, theta):
    params, log_pi, alive = _log_pi_taken(batch, policy, theta)
    loss = -(log_pi[:, 0] * _returns_to_go(batch)[:, 0] * alive[:, 0]).sum() / batch.n_episodes
    return _gradient(params, loss)


def off_by_one(batch, policy, theta):
    params, log_pi, alive = _log_pi_taken(batch, policy, theta)
    next_returns = torch.nn.functional.pad(_returns_to_go(batch)[:, 1:], (0, 1))  # G_{t+1}, 0 after the end
    loss = -(log_pi * _discounts(batch) * next_returns * alive).sum() / batch.n_episodes
    return _gradient(params, loss)


def make_q_baseline(mdp):
    def q_baseline(batch, policy, theta):
        q = pg.action_values(mdp, policy, theta)[batch.states, batch.actions]
        params, log_pi, alive = _log_pi_taken(batch, policy, theta)
        advantages = _returns_to_go(batch) - torch.as_tensor(q)
        loss = -(log_pi * _discounts(batch) * advantages * alive).sum() / batch.n_episodes
        return _gradient(params, loss)

    return q_baseline


def normalised_advantages(batch, policy, theta):
    params, log_pi, alive = _log_pi_taken(batch, policy, theta)
    returns = _returns_to_go(batch)[alive.bool()]
    advantages = (_returns_to_go(batch) - returns.mean()) / returns.std()
    loss = -(log_pi * _discounts(batch) * advantages * alive).sum() / batch.n_episodes
    return _gradient(params, loss)


def mean_over_steps(batch, policy, theta):
    params, log_pi, alive = _log_pi_taken(batch, policy, theta)
    loss = -(log_pi * _discounts(batch) * _returns_to_go(batch))[alive.bool()].mean()
    return _gradient(params, loss)


def sign_flipped(batch, policy, theta):
    params, log_pi, alive = _log_pi_taken(batch, policy, theta)
    loss = (log_pi * _discounts(batch) * _returns_to_go(batch) * alive).sum() / batch.n_episodes
    return _gradient(params, loss)


def pytorch_example(batch, policy, theta):
    """The shape of PyTorch's REINFORCE example: returns-to-go normalised over the batch, no γ^t."""
    params, log_pi, alive = _log_pi_taken(batch, policy, theta)
    returns = _returns_to_go(batch)[alive.bool()]
    advantages = (_returns_to_go(batch) - returns.mean()) / (returns.std() + 1e-9)
    loss = -(log_pi * advantages * alive).sum() / batch.n_episodes
    return _gradient(params, loss)


def spinning_up_style(batch, policy, theta):
    """Reward-to-go without γ^t and the loss as a mean over every step of the batch."""
    params, log_pi, alive = _log_pi_taken(batch, policy, theta)
    loss = -(log_pi * _returns_to_go(batch))[alive.bool()].mean()
    return _gradient(params, loss)


PROBLEMS = pg.standard_problems()


def q_baseline(batch, policy, theta):
    """Subtracts the exact Q(s_t, a_t) of the problem's MDP (looked up by its policy)."""
    mdp = next(problem.mdp for problem in PROBLEMS if problem.policy is policy)
    return make_q_baseline(mdp)(batch, policy, theta)


def _check(estimator, seed):
    return pg.check_estimator(estimator, n_episodes=N_EPISODES, seed=seed, problems=PROBLEMS)


def test_no_mistake_is_the_policy_gradient():
    for problem in pg.standard_problems():
        expected = expected_gradient(problem.mdp, problem.policy, problem.theta, problem.max_steps)
        np.testing.assert_allclose(
            expected, pg.exact_gradient(problem.mdp, problem.policy, problem.theta), rtol=1e-9, atol=1e-12
        )


def test_truncated_expectation_matches_monte_carlo_of_a_short_cut_off():
    """With max_steps = 5 on a γ = 0.95 problem the truncation matters; the Monte-Carlo mean of the correct
    estimator on 5-step episodes agrees with the finite-horizon tables, not with the infinite-horizon ∇J."""
    mdp, policy = pg.examples.random_mdp(5, 2, gamma=0.95, seed=3), pg.TabularSoftmax(5, 2)
    theta = policy.init_params(seed=4)
    batch = pg.sample_episodes(mdp, policy, theta, 100_000, max_steps=5, seed=5)
    estimate = pg.reward_to_go(batch, policy, theta)
    truncated = expected_gradient(mdp, policy, theta, 5)
    threshold = pg.stats.two_sided_threshold(1e-3, truncated.size)
    assert np.abs(pg.stats.z_scores(estimate, truncated)).max() < threshold
    assert np.abs(pg.stats.z_scores(estimate, pg.exact_gradient(mdp, policy, theta))).max() > threshold


# Mistakes that divide by batch statistics (normalisations, a mean over all steps) are catalogued by their
# large-batch limit; on a mean-only estimator, run on 32 sub-batches, their finite-batch bias is O(32/n),
# so their tests use 80,000 episodes (sub-batches of 2,500). The two normalisations differ by less than 0.3%
# on these problems: either may come first, the test only asks that the right one matches.
BATCH_STATISTICS = 80_000


@pytest.mark.slow  # long statistical checks: 20,000–80,000 episodes on each of four problems
@pytest.mark.parametrize(
    "estimator, name, seed, n_episodes, first",
    [
        (gamma_dropped, "discount weights γᵗ dropped", 10, N_EPISODES, True),
        (discounted_twice, "discounting applied twice", 11, N_EPISODES, True),
        (first_step_only, "score taken for the first step only", 12, N_EPISODES, True),
        (off_by_one, "reward-to-go off by one step", 13, N_EPISODES, True),
        (q_baseline, "action-dependent baseline Q(s, a)", 14, N_EPISODES, True),
        (normalised_advantages, "advantages normalised per batch", 15, BATCH_STATISTICS, False),
        (mean_over_steps, "loss averaged over all steps, not over episodes", 16, BATCH_STATISTICS, True),
        (sign_flipped, "sign flipped", 17, N_EPISODES, True),
        (
            lambda b, p, t: pg.reinforce(b, p, t, baseline="normalized"),
            "episode returns normalised per batch",
            18,
            BATCH_STATISTICS,
            False,
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_each_mistake_is_named(estimator, name, seed, n_episodes, first):
    report = pg.check_estimator(estimator, n_episodes=n_episodes, seed=seed, problems=PROBLEMS)
    assert not report.passed
    assert report.diagnosis is not None and report.diagnosis.found, str(report)
    matched = [match.mistakes for match in report.diagnosis.matches]
    assert (mistake(name),) in (matched[:1] if first else matched), str(report.diagnosis)
    best = report.diagnosis.matches[0]
    assert f"looks like: {best.name} — matches within {best.max_abs_z:.1f} SE on every problem" in str(report)


@pytest.mark.slow  # long statistical checks: 20,000–80,000 episodes on each of four problems
@pytest.mark.parametrize(
    "estimator, names, seed",
    [
        (pytorch_example, {"discount weights γᵗ dropped", "advantages normalised per batch"}, 20),
        (spinning_up_style, {"discount weights γᵗ dropped", "loss averaged over all steps, not over episodes"}, 21),
    ],
    ids=["pytorch-example", "mean-over-steps-no-discount"],
)
def test_tutorial_code_with_two_mistakes_is_named(estimator, names, seed):
    report = pg.check_estimator(estimator, n_episodes=BATCH_STATISTICS, seed=seed, problems=PROBLEMS)
    assert report.diagnosis is not None and report.diagnosis.found, str(report)
    assert {m.name for m in report.diagnosis.matches[0].mistakes} == names, str(report.diagnosis)


@pytest.mark.slow  # long statistical checks: 20,000–80,000 episodes on each of four problems
@pytest.mark.parametrize(
    "estimator, seed",
    [
        (correct, 30),
        (lambda b, p, t: pg.reward_to_go(b, p, t, baseline="learned"), 31),
        (lambda b, p, t: pg.reinforce(b, p, t, baseline="optimal"), 32),
    ],
    ids=["tutorial-correct", "reward-to-go-learned", "reinforce-optimal"],
)
def test_correct_code_gets_no_diagnosis(estimator, seed):
    """The check passes (a false alarm has probability ≤ 1e-3), so nothing is diagnosed; and even forced
    to diagnose, the correct estimator's means match no catalogued mistake: every mistake differs from
    ∇J by many standard errors on some problem."""
    report = _check(estimator, seed)
    assert report.passed and report.diagnosis is None and "looks like" not in str(report)
    problems = PROBLEMS
    estimates, thresholds = [], []
    rng = np.random.default_rng(seed)
    for problem, result in zip(problems, report.results, strict=True):
        batch = pg.sample_episodes(
            problem.mdp, problem.policy, problem.theta, N_EPISODES, max_steps=problem.max_steps, seed=rng
        )
        estimates.append(_run(estimator, batch, problem)[0])  # what check_estimator does
        thresholds.append(result.threshold)
    diagnosis = diagnose(estimates, problems, thresholds)
    assert not diagnosis.found, str(diagnosis)


@pytest.mark.slow  # long statistical checks: 20,000–80,000 episodes on each of four problems
@pytest.mark.parametrize(
    "estimator, seed",
    [
        (lambda b, p, t: 2 * pg.reward_to_go(b, p, t).per_episode, 40),  # a dropped factor of 2
        (lambda b, p, t: pg.reward_to_go(b, p, t).per_episode + 0.05, 41),  # a constant offset
    ],
    ids=["factor-two", "offset"],
)
def test_estimators_outside_the_catalogue_match_nothing(estimator, seed):
    report = _check(estimator, seed)
    assert not report.passed and not report.diagnosis.found
    assert "looks like none of the 9 catalogued mistakes nor the" in str(report)


def test_catalogue_arguments():
    problem = pg.standard_problems()[2]
    with pytest.raises(ValueError, match="no mistake named 'typo'"):
        mistake("typo")
    with pytest.raises(ValueError, match="must change different parts of the recipe"):
        expected_gradient(
            problem.mdp, problem.policy, problem.theta, 10, [mistake("sign flipped"), mistake("sign flipped")]
        )
    with pytest.raises(ValueError, match="max_steps"):
        expected_gradient(problem.mdp, problem.policy, problem.theta, 0)
    assert len(CATALOGUE) == len({m.name for m in CATALOGUE})
