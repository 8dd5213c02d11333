"""The estimators' variance orderings that theory predicts, checked with paired comparisons on the same episodes.

`pg.stats.variance_difference(a, b)` estimates tr Cov(a) − tr Cov(b) and its standard error from the same
episodes. "Not worse" means the difference is below +4.5 SE; "better" means below −4.5 SE. Each check is a
z-test at 4.5 SE (false-failure probability 3.4e-6 one-sided, 6.8e-6 two-sided); this file makes 50 of
them, so a correct implementation fails here with probability below 3.4e-4 (and the fixed seeds make every
run the same). The Gaussian estimators' orderings are in test_gaussian.py.
"""

import numpy as np
import pytest

import pgbook as pg

from cases import estimator_problems

Z = 4.5


def not_worse(first, second):
    difference, error = pg.stats.variance_difference(first, second)
    return difference <= Z * error


def better(first, second):
    difference, error = pg.stats.variance_difference(first, second)
    return difference < -Z * error


@pytest.fixture(scope="module")
def episodes():
    problems = estimator_problems()
    return {
        name: (mdp, policy, theta, pg.sample_episodes(mdp, policy, theta, 30_000, max_steps=steps, seed=8))
        for name, (mdp, policy, theta, steps) in problems.items()
        if name in ("corridor", "continuing", "episodic")
    }


@pytest.mark.slow
@pytest.mark.parametrize("problem", ["corridor", "continuing", "episodic"])
def test_optimal_constant_baseline_is_never_worse_than_another_constant(episodes, problem):
    mdp, policy, theta, batch = episodes[problem]
    optimal = pg.reinforce(batch, policy, theta, baseline="optimal")
    returns = batch.returns()
    constants = np.quantile(returns, [0.05, 0.25, 0.5, 0.75, 0.95])
    others = [pg.reinforce(batch, policy, theta, baseline=b) for b in ("none", "mean", *constants)]
    assert all(not_worse(optimal, other) for other in others)
    assert better(optimal, others[0]), "b* should clearly beat no baseline here"


@pytest.mark.slow
@pytest.mark.parametrize("problem", ["corridor", "continuing", "episodic"])
def test_optimal_constant_is_never_worse_for_reward_to_go_either(episodes, problem):
    """b* = E⟨u, v⟩/E‖v‖² with u = Σ γ^t G_t ∇log π, v = Σ γ^t ∇log π minimises E‖u − b v‖² over constants."""
    mdp, policy, theta, batch = episodes[problem]
    optimal = pg.reward_to_go(batch, policy, theta, baseline="optimal")
    constants = np.quantile(batch.returns(), [0.05, 0.5, 0.95])
    others = [pg.reward_to_go(batch, policy, theta, baseline=b) for b in ("none", "mean", *constants)]
    assert all(not_worse(optimal, other) for other in others)


@pytest.mark.slow
@pytest.mark.parametrize("problem", ["corridor", "continuing", "episodic"])
def test_reward_to_go_with_state_values_beats_reward_to_go(episodes, problem):
    mdp, policy, theta, batch = episodes[problem]
    plain = pg.reward_to_go(batch, policy, theta)
    with_values = pg.reward_to_go(batch, policy, theta, baseline=pg.state_values(mdp, policy, theta))
    assert better(with_values, plain)


@pytest.mark.slow
@pytest.mark.parametrize("problem", ["continuing", "episodic"])
def test_reward_to_go_beats_whole_return_reinforce(episodes, problem):
    """Causality: later actions do not answer for earlier rewards (ORACLES.md: κ 36 500 → 1 270)."""
    mdp, policy, theta, batch = episodes[problem]
    assert better(pg.reward_to_go(batch, policy, theta), pg.reinforce(batch, policy, theta))


def test_softmax_bandit_variance_closed_form():
    """Single-sample score estimator on a softmax bandit (ORACLES.md): E‖ĝ‖² = Σ_a π_a w_a (μ_a − b)²
    (deterministic rewards, σ_r = 0), w_a = 1 − 2π_a + ‖π‖²; minimised at b* = Σ π_a w_a μ_a / Σ π_a w_a.
    The library's estimated b* matches the true b*'s variance, and the mean reward is worse."""
    means = np.array([1.0, -0.5, 2.0, 0.3])
    mdp, policy = pg.examples.bandit(means), pg.TabularSoftmax(1, 4)
    theta = np.array([[0.5, -1.0, 0.2, 1.5]])
    pi = policy.probabilities(theta)[0]
    w = 1 - 2 * pi + pi @ pi
    b_star = np.sum(pi * w * means) / np.sum(pi * w)
    batch = pg.sample_episodes(mdp, policy, theta, 200_000, max_steps=1, seed=9)
    for b in (0.0, pi @ means, b_star, 3.0):
        squared_norms = np.sum(pg.reinforce(batch, policy, theta, baseline=b).per_episode ** 2, axis=(1, 2))
        expected = np.sum(pi * w * (means - b) ** 2)
        assert abs(squared_norms.mean() - expected) < Z * squared_norms.std() / np.sqrt(squared_norms.size)
    estimated = pg.reinforce(batch, policy, theta, baseline="optimal")
    exact_optimum = pg.reinforce(batch, policy, theta, baseline=b_star)
    difference, error = pg.stats.variance_difference(estimated, exact_optimum)
    assert abs(difference) < Z * error
    assert better(exact_optimum, pg.reinforce(batch, policy, theta, baseline="mean"))
