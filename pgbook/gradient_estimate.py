r"""Per-episode gradient samples and their summaries: what every Monte-Carlo gradient estimator returns.

A :class:`GradientEstimate` keeps the samples :math:`\hat g_1, \dots, \hat g_N`, not only their mean, so that the
variance of an estimator can be studied and its unbiasedness tested (:mod:`pgbook.stats`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pgbook.arguments import as_count


@dataclass(frozen=True)
class GradientEstimate:
    """Per-episode gradient samples, shape (n_episodes, \\*param_shape), and their summaries."""

    per_episode: np.ndarray

    def __post_init__(self) -> None:
        shape = np.shape(self.per_episode)
        if len(shape) == 0 or shape[0] == 0:
            raise ValueError(
                f"per_episode must hold at least one episode's sample, shape (n_episodes >= 1, *param_shape); "
                f"got shape {shape}"
            )

    @property
    def n_episodes(self) -> int:
        return self.per_episode.shape[0]

    @property
    def mean(self) -> np.ndarray:
        """The estimate: the mean of the per-episode samples."""
        return self.per_episode.mean(axis=0)

    @property
    def standard_error(self) -> np.ndarray:
        """The standard error of each component of the mean, std / sqrt(n_episodes)."""
        if self.n_episodes < 2:
            raise ValueError("a standard error needs at least two episodes")
        return self.per_episode.std(axis=0, ddof=1) / np.sqrt(self.n_episodes)

    def batch_means(self, size: int) -> np.ndarray:
        """Means over disjoint batches of ``size`` consecutive episodes (a remainder is dropped), shape
        (n_episodes // size, \\*param_shape): how estimates from ``size`` episodes spread, without resampling.

        >>> GradientEstimate(np.arange(10.0)[:, None]).batch_means(4)
        array([[1.5],
               [5.5]])
        """
        size = as_count("size", size)
        if size > self.n_episodes:
            raise ValueError(f"size must be at most n_episodes={self.n_episodes}; got {size}")
        n_batches = self.n_episodes // size
        return self.per_episode[: n_batches * size].reshape(n_batches, size, *self.per_episode.shape[1:]).mean(axis=1)

    @property
    def covariance_trace(self) -> float:
        r"""The trace of the per-episode covariance, :math:`\operatorname{tr}\operatorname{Cov}(\hat g_i)`."""
        if self.n_episodes < 2:
            raise ValueError("a covariance needs at least two episodes")
        return float(self.per_episode.var(axis=0, ddof=1).sum())
