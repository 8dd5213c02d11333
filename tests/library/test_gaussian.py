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
    variances = pg.quadratic_bandit_variances(d, sigma)
    for estimate, variance in ((score, variances["score, optimal baseline"]), (pathwise, variances["pathwise"])):
        assert abs(estimate.mean[0] + 2 * d) < Z * estimate.standard_error[0]
        squared = (estimate.per_episode[:, 0] - estimate.mean[0]) ** 2
        assert abs(squared.mean() - variance) < Z * squared.std() / np.sqrt(n)
    assert better(pathwise, score)


@pytest.mark.parametrize("gap, std", [(0.0, 1.0), (1.5, 0.5), (-2.0, 2.0), (-1.0, 0.05)])
def test_quadratic_bandit_variances_against_quadrature(gap, std):
    """The closed forms against Gauss-Hermite quadrature of each estimator's definition (exact for polynomials
    in ε of degree < 40 with 20 nodes): ĝ = ε/σ · (r − b) with b = 0 and with the optimal constant
    b* = E[ε² r] / E[ε²], and the pathwise ĝ = r'(a) = −2(Δ + σε)."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(20)
    weights = weights / weights.sum()
    reward = -((gap + std * nodes) ** 2)
    b_star = weights @ (nodes**2 * reward) / (weights @ nodes**2)
    assert b_star == pytest.approx(-(3 * std**2 + gap**2), rel=1e-12)
    samples = {
        "score, no baseline": nodes / std * reward,
        "score, optimal baseline": nodes / std * (reward - b_star),
        "pathwise": -2 * (gap + std * nodes),
    }
    variances = pg.quadratic_bandit_variances(gap, std)
    assert set(variances) == set(samples)
    for name, estimates in samples.items():
        mean = weights @ estimates
        assert mean == pytest.approx(-2 * gap, abs=1e-9)
        assert float(variances[name]) == pytest.approx(weights @ (estimates - mean) ** 2, rel=1e-9)
    with pytest.raises(ValueError, match="std must be positive"):
        pg.quadratic_bandit_variances(gap, [std, 0.0])


def test_gaussian_estimator_errors():
    with pytest.raises(ValueError, match="std must be positive"):
        pg.gaussian_score_gradient(lambda a: a[:, 0], [0.0], 0.0, 10, seed=0)
    with pytest.raises(ValueError, match=r"reward\(a\) must be a 1-dimensional array; got shape \(10, 2\)"):
        pg.gaussian_score_gradient(lambda a: a, [0.0, 1.0], 1.0, 10, seed=0)
    with pytest.raises(ValueError, match="reward must return a tensor"):
        pg.gaussian_pathwise_gradient(lambda a: a.detach().numpy()[:, 0], [0.0], 1.0, 10, seed=0)
    with pytest.raises(ValueError, match='baseline must be None, a number or "optimal"'):
        pg.gaussian_score_gradient(lambda a: a[:, 0], [0.0], 1.0, 10, seed=0, baseline="mean")
