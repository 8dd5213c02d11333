r"""The gradient explorer's numbers: Monte-Carlo policy-gradient estimates against the finite-difference and exact
gradients at every point of a θ grid, for every discount, number of episodes, estimator and baseline.

Computation only, with the core library's estimators and oracles (no widget, image or page: the explorer,
:mod:`pgbook.figures.explorer`, draws them). One pool of episodes is sampled at each grid point, from its own
seed (so that one point's pool can be drawn alone), and serves every discount: episodes do not depend on γ,
only the weighting of their rewards does (:meth:`pgbook.Batch.with_discount`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np

from pgbook.baselines import Baseline
from pgbook.batch import Batch
from pgbook.estimators import advantage_estimator, reinforce, reward_to_go
from pgbook.evaluation import advantages, exact_objective, state_values
from pgbook.figures.explorer_table import as_stored
from pgbook.finite_differences import finite_difference
from pgbook.gradient_estimate import GradientEstimate
from pgbook.gradients import exact_gradient
from pgbook.mdp import FiniteMDP
from pgbook.policies import Policy
from pgbook.sampling import sample_episodes
from pgbook.stats import cosine_or_nan

ESTIMATORS = ("REINFORCE", "reward-to-go", "exact advantage")
BASELINES = ("none", "mean", "optimal", "learned V(s)", "true V(s)")
"""The figure's labels for the baselines; :func:`library_baseline` says what each is in the library's vocabulary
(:mod:`pgbook.baselines`)."""
BATCH_BASELINES = ("mean", "optimal", "learned V(s)")  # estimated from the batch's other episodes
EPISODE_COUNTS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000)
# The estimator-and-baseline options, in the order of the table: exact advantage ignores the baseline (A is
# already centred), so it has one row.
OPTIONS = tuple((estimator, baseline) for estimator in ESTIMATORS[:2] for baseline in BASELINES) + (
    ("exact advantage", "none"),
)


def library_baseline(label: str, true_values: np.ndarray) -> Baseline:
    """The baseline a label of the figure stands for, in the library's vocabulary (``true_values``: the true
    V(s) at the point)."""
    return {"none": None, "learned V(s)": "learned", "true V(s)": true_values}.get(label, label)


@dataclass(frozen=True)
class Comparison:
    """The three gradients at one setting of the controls."""

    exact: np.ndarray
    finite_difference: np.ndarray
    estimate: np.ndarray
    standard_error: np.ndarray
    cosine: float
    n_episodes: int


class GradientGrid:
    r"""Monte-Carlo gradient estimates, finite differences and exact gradients over a grid of two parameters.

    Parameters
    ----------
    mdp_for_gamma : callable
        Returns the problem's :class:`~pgbook.FiniteMDP` for a discount γ (the same dynamics for every γ).
    policy : Policy
        A policy with two parameters.
    axis_values : sequence of float
        The grid of each parameter; a pool of episodes is sampled at every point of the grid (on first use).
    gammas : sequence of float
    max_steps, pool_size, seed
        Episode cut-off, episodes per pool (the largest N), and the seed from which each point's pool has its own.

    Examples
    --------
    >>> import pgbook as pg
    >>> grid = GradientGrid(pg.examples.short_corridor, pg.examples.corridor_recognising_policy(),
    ...                     axis_values=[-1.0, 1.0], gammas=[1.0], max_steps=1_000, pool_size=20)
    >>> result = grid.compare(theta_index=(0, 1), gamma=1.0, n_episodes=20, estimator="reward-to-go",
    ...                       baseline="true V(s)")
    >>> bool(np.allclose(result.exact, result.finite_difference, rtol=1e-6))
    True
    >>> grid.episode_counts, grid.estimates().shape  # (γ, θ₀ index, θ₁ index, option, N, mean and error)
    ((1, 2, 5, 10, 20), (1, 2, 2, 11, 5, 4))
    """

    def __init__(
        self,
        mdp_for_gamma: Callable[[float], FiniteMDP],
        policy: Policy,
        *,
        axis_values: Sequence[float],
        gammas: Sequence[float],
        max_steps: int,
        pool_size: int = 1_000,
        seed: int = 0,
    ) -> None:
        if policy.param_shape != (2,):
            raise ValueError(f"policy must have exactly two parameters; got shape {policy.param_shape}")
        self.policy = policy
        self.axis_values = np.asarray(axis_values, dtype=float)
        self.mdps = {float(gamma): mdp_for_gamma(float(gamma)) for gamma in gammas}
        self.gammas = tuple(self.mdps)
        self.episode_counts = tuple(n for n in EPISODE_COUNTS if n < pool_size) + (pool_size,)
        self.max_steps, self.pool_size = max_steps, pool_size
        self._seeds = np.random.SeedSequence(seed).spawn(self.axis_values.size**2)
        self._pools: dict[tuple[int, int], Batch] = {}

    @property
    def shape(self) -> tuple[int, int, int]:
        """(γ, θ₀ index, θ₁ index): the points of the grid."""
        return len(self.gammas), self.axis_values.size, self.axis_values.size

    def theta(self, theta_index: tuple[int, int]) -> np.ndarray:
        """The parameters at grid point (i, j)."""
        return np.array([self.axis_values[theta_index[0]], self.axis_values[theta_index[1]]])

    def pool(self, theta_index: tuple[int, int]) -> Batch:
        """The episodes sampled at grid point (i, j) (on first use, from that point's own seed), with the
        first discount."""
        i, j = (int(k) for k in theta_index)
        if (i, j) not in self._pools:
            self._pools[i, j] = sample_episodes(
                self.mdps[self.gammas[0]], self.policy, self.theta((i, j)), self.pool_size,
                max_steps=self.max_steps, seed=np.random.default_rng(self._seeds[i * self.axis_values.size + j]),
            )  # fmt: skip
        return self._pools[i, j]

    def compare(
        self, *, theta_index: tuple[int, int], gamma: float, n_episodes: int, estimator: str, baseline: str
    ) -> Comparison:
        """The exact, finite-difference and estimated gradients at one setting of the controls (``estimator``
        and ``baseline``: the figure's labels). Under ``"exact advantage"`` the baseline is ignored (the
        advantage is already centred)."""
        if estimator not in ESTIMATORS:
            raise ValueError(f"estimator must be one of {ESTIMATORS}; got {estimator!r}")
        if baseline not in BASELINES:
            raise ValueError(f"baseline must be one of {BASELINES}; got {baseline!r}")
        if gamma not in self.mdps:
            raise ValueError(f"gamma must be one of {self.gammas}; got {gamma}")
        if not 1 <= n_episodes <= self.episode_counts[-1]:
            raise ValueError(f"n_episodes must lie in [1, {self.episode_counts[-1]}]; got {n_episodes}")
        mdp, theta = self.mdps[gamma], self.theta(theta_index)
        exact = exact_gradient(mdp, self.policy, theta)
        numerical = finite_difference(lambda t: exact_objective(mdp, self.policy, t), theta)
        batch = _first(self.pool(theta_index), n_episodes).with_discount(mdp.gamma)
        estimate = self._estimate(batch, theta, estimator, baseline, *self._tables(mdp, theta))
        mean = estimate.mean
        error = estimate.standard_error if n_episodes > 1 else np.full(2, np.nan)
        zero = not np.any(as_stored(mean, exact) != 0)  # zero up to rounding: no cosine, as the table stores it
        return Comparison(exact, numerical, mean, error, np.nan if zero else cosine_or_nan(mean, exact), n_episodes)

    def estimates(self) -> np.ndarray:
        """Every estimate the figure can show, shape (γ, θ₀ index, θ₁ index, option, N, 4): the two components of
        the mean and of its standard error (NaN where undefined: N = 1, or a baseline that needs other episodes).
        Options are :data:`OPTIONS`. Slow: every option at every N, γ and θ (minutes for the book's grid)."""
        table = np.empty((*self.shape, len(OPTIONS), len(self.episode_counts), 4))
        for i, j in np.ndindex(self.shape[1:]):
            table[:, i, j] = self.estimates_at((i, j))
        return table

    def estimates_at(self, theta_index: tuple[int, int]) -> np.ndarray:
        """:meth:`estimates` at one point of the grid, shape (γ, option, N, 4)."""
        counts, theta, pool = self.episode_counts, self.theta(theta_index), self.pool(theta_index)
        table = np.full((len(self.gammas), len(OPTIONS), len(counts), 4), np.nan)
        for g, mdp in enumerate(self.mdps.values()):
            tables = self._tables(mdp, theta)
            for k, option in enumerate(OPTIONS):
                if option[1] in BATCH_BASELINES:  # each episode's sample depends on the others: one batch per N
                    estimates = [
                        self._estimate(_first(pool, n).with_discount(mdp.gamma), theta, *option, *tables)
                        for n in counts
                    ]
                else:  # each episode's sample is its own: the first N of the whole pool's
                    batch = _first(pool, counts[-1]).with_discount(mdp.gamma)
                    samples = self._estimate(batch, theta, *option, *tables)
                    estimates = [GradientEstimate(samples.per_episode[:n]) for n in counts]
                for m, (n, estimate) in enumerate(zip(counts, estimates, strict=True)):
                    table[g, k, m, :2] = estimate.mean
                    if n > 1:
                        table[g, k, m, 2:] = estimate.standard_error
        return table

    @cached_property
    def gradients(self) -> tuple[np.ndarray, np.ndarray]:
        """The exact and finite-difference gradients at every grid point, each of shape (γ, θ₀ index, θ₁ index, 2)."""
        exact, numerical = np.empty((*self.shape, 2)), np.empty((*self.shape, 2))
        for g, i, j in np.ndindex(self.shape):
            mdp, theta = self.mdps[self.gammas[g]], self.theta((i, j))
            exact[g, i, j] = exact_gradient(mdp, self.policy, theta)
            numerical[g, i, j] = finite_difference(lambda t, mdp=mdp: exact_objective(mdp, self.policy, t), theta)
        return exact, numerical

    def _tables(self, mdp: FiniteMDP, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The true V(s) and A(s, a) at θ: the true baseline and the exact advantage."""
        return state_values(mdp, self.policy, theta), advantages(mdp, self.policy, theta)

    def _estimate(
        self, batch: Batch, theta: np.ndarray, estimator: str, baseline: str, values: np.ndarray, advantage: np.ndarray
    ) -> GradientEstimate:
        """The library's estimator for this option (``values``, ``advantage``: the true V and A at θ)."""
        if estimator == "exact advantage":
            return advantage_estimator(batch, self.policy, theta, advantage)
        if baseline in BATCH_BASELINES and batch.n_episodes < 2:  # needs other episodes
            return GradientEstimate(np.full((1, 2), np.nan))
        estimate = reinforce if estimator == "REINFORCE" else reward_to_go  # REINFORCE: the start state's value
        return estimate(batch, self.policy, theta, baseline=library_baseline(baseline, values))


def _first(pool: Batch, n_episodes: int) -> Batch:
    """The first ``n_episodes`` of the pool, cut to their longest episode."""
    batch = pool.subset(slice(0, n_episodes))
    horizon = max(int(batch.lengths.max()), 1)
    return replace(
        batch, states=batch.states[:, :horizon], actions=batch.actions[:, :horizon],
        rewards=batch.rewards[:, :horizon], alive=batch.alive[:, :horizon],
    )  # fmt: skip
