"""The fitted factor, the angle's confidence interval and κ against the estimator's own mean."""

import numpy as np
import pytest

import pgbook as pg
from pgbook.direction import angle, angle_interval, fit_scale, noise_radius, own_relative_variance


def test_fit_scale_is_the_positive_least_squares_factor():
    vector = np.array([1.0, -2.0, 0.5])
    noise = np.array([[0.3, 0.1, -0.2], [-0.3, -0.1, 0.2]])
    samples = pg.GradientEstimate(3.0 * vector + noise)  # the mean is exactly 3 v
    assert fit_scale(samples, vector) == pytest.approx(3.0)
    assert fit_scale(pg.GradientEstimate(-3.0 * vector + noise), vector) == 0.0  # pointing away: no positive factor
    assert fit_scale(samples, np.zeros(3)) == 0.0
    with pytest.raises(ValueError, match=r"vector must have shape \(3,\)"):
        fit_scale(samples, np.zeros(2))


def test_angle():
    assert angle([1.0, 0.0], [1.0, 1.0]) == pytest.approx(45.0)
    assert angle([1.0, 0.0], [-1.0, 0.0]) == pytest.approx(180.0)
    assert np.isnan(angle([0.0, 0.0], [1.0, 0.0]))


def test_the_angle_interval_covers_the_true_angle():
    """400 data sets of 200 Gaussian samples whose mean is 30° from v, in 6 dimensions with unequal noise: the
    interval at false_alarm = 0.05 misses the true angle in at most 5% of them. Fewer than 90% covered has
    probability below 1e-6 (binomial tail); the seed is fixed."""
    rng = np.random.default_rng(0)
    vector = np.array([1.0, 0, 0, 0, 0, 0])
    mean = np.array([np.cos(np.radians(30)), np.sin(np.radians(30)), 0, 0, 0, 0])
    scales = np.array([1.0, 2.0, 0.5, 1.5, 1.0, 3.0])
    covered, widths = 0, []
    for _ in range(400):
        samples = pg.GradientEstimate(mean + scales * rng.standard_normal((200, 6)))
        low, high = angle_interval(samples, vector, 0.05)
        covered += low <= 30.0 <= high
        widths.append(high - low)
    assert covered >= 360
    assert np.median(widths) < 120  # informative: not [0, 180]


def test_noise_radius_bounds_the_error_of_the_mean():
    rng = np.random.default_rng(1)
    misses = 0
    for _ in range(200):
        samples = pg.GradientEstimate(rng.standard_normal((100, 4)) * [1.0, 0.1, 0.1, 0.1])
        misses += np.linalg.norm(samples.mean) > noise_radius(samples, 0.05)
    assert misses <= 20  # at most 5% expected; above 10% has probability below 1e-3


def test_own_relative_variance_does_not_change_with_a_factor():
    rng = np.random.default_rng(2)
    samples = rng.standard_normal((1_000, 3)) + [1.0, 2.0, 0.0]
    assert own_relative_variance(pg.GradientEstimate(samples)) == pytest.approx(
        own_relative_variance(pg.GradientEstimate(0.1 * samples))
    )
    noise = rng.standard_normal((500, 3))
    assert np.isnan(own_relative_variance(pg.GradientEstimate(np.vstack([noise, -noise]))))  # a mean of exactly 0
