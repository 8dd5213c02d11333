"""GradientEstimate (pgbook.gradient_estimate): per-episode samples of a gradient and their statistics."""

import numpy as np
import pytest

import pgbook as pg


def test_batch_means_are_means_of_disjoint_consecutive_batches():
    samples = np.random.default_rng(0).standard_normal((10, 2, 3))
    estimate = pg.GradientEstimate(samples)
    means = estimate.batch_means(3)
    assert means.shape == (3, 2, 3)  # the tenth episode is dropped
    np.testing.assert_allclose(means[1], samples[3:6].mean(axis=0))
    np.testing.assert_allclose(estimate.batch_means(1), samples)
    with pytest.raises(ValueError, match="size must be at most n_episodes=10"):
        estimate.batch_means(11)
    with pytest.raises(ValueError, match="size must be at least 1"):
        estimate.batch_means(0)


def test_an_estimate_needs_at_least_one_episode():
    with pytest.raises(ValueError, match="per_episode must hold at least one episode"):
        pg.GradientEstimate(np.zeros((0, 2)))


def test_cosine_or_nan_is_the_cosine_or_nan_where_it_is_undefined():
    from pgbook.stats import cosine_or_nan

    a, b = np.array([3.0, 4.0]), np.array([4.0, 3.0])
    assert cosine_or_nan(a, b) == pytest.approx(24 / 25, rel=1e-15)
    assert cosine_or_nan(a, b) == pg.stats.cosine_similarity(a, b)
    for zero_or_nan in (np.zeros(2), np.array([np.nan, 1.0])):
        assert np.isnan(cosine_or_nan(zero_or_nan, b)) and np.isnan(cosine_or_nan(a, zero_or_nan))
