"""The Gaussian-policy estimators (pgbook.gaussian): unbiasedness, per-sample variances against their closed
forms, and the pathwise estimator's advantage over the score function with the optimal baseline.

Each statistical check is a z-test at 4.5 SE (false-failure probability 6.8e-6 two-sided, 3.4e-6 one-sided);
this file makes 15 of them, so a correct implementation fails here with probability below 1.1e-4 (and the
fixed seeds make every run the same).
"""

import numpy as np
import pytest

import pgbook as pg

Z = 4.5


def better(first, second):
    difference, error = pg.stats.variance_difference(first, second)
    return difference < -Z * error


@pytest.mark.parametrize("d, sigma", [(0.0, 1.0), (1.5, 0.5), (-2.0, 2.0)])
def test_gaussian_bandit_pathwise_beats_score_function_with_optimal_baseline(d, sigma):
    """a ~ N(θ, σ²), r = −(a − c)², d = θ − c: ∇J = −2d; per-sample variances 4σ² (pathwise) and
    6σ² + 8d² (score function with b* = −(3σ² + d²)), always larger."""
    c, n = 0.7, 200_000
    theta = np.array([c + d])
    score = pg.gaussian_score_gradient(lambda a: -((a[:, 0] - c) ** 2), theta, sigma, n, seed=10, baseline="optimal")
    pathwise = pg.gaussian_pathwise_gradient(lambda a: -((a[:, 0] - c) ** 2), theta, sigma, n, seed=10)
    for estimate, variance in ((score, 6 * sigma**2 + 8 * d**2), (pathwise, 4 * sigma**2)):
        assert abs(estimate.mean[0] + 2 * d) < Z * estimate.standard_error[0]
        squared = (estimate.per_episode[:, 0] - estimate.mean[0]) ** 2
        assert abs(squared.mean() - variance) < Z * squared.std() / np.sqrt(n)
    assert better(pathwise, score)


def test_gaussian_estimator_errors():
    with pytest.raises(ValueError, match="std must be positive"):
        pg.gaussian_score_gradient(lambda a: a[:, 0], [0.0], 0.0, 10, seed=0)
    with pytest.raises(ValueError, match=r"reward\(a\) must be a 1-dimensional array; got shape \(10, 2\)"):
        pg.gaussian_score_gradient(lambda a: a, [0.0, 1.0], 1.0, 10, seed=0)
    with pytest.raises(ValueError, match="reward must return a tensor"):
        pg.gaussian_pathwise_gradient(lambda a: a.detach().numpy()[:, 0], [0.0], 1.0, 10, seed=0)
    with pytest.raises(ValueError, match='baseline must be None, a number or "optimal"'):
        pg.gaussian_score_gradient(lambda a: a[:, 0], [0.0], 1.0, 10, seed=0, baseline="mean")
