r"""A catalogue of known mistakes in policy-gradient code, with the exact expected value of each.

Every score-function estimator has the form :math:`\hat g = \frac1N \sum_i \sum_t c_t F_{i,t}
\nabla_\theta \log \pi_\theta(a_{i,t}|s_{i,t})`; the correct one (reward-to-go) has :math:`c_t = \gamma^t` and
:math:`F_{i,t} = G_{i,t}`. The usual mistakes change one piece of that recipe, so their expected values are
exact sums over the steps of an episode cut off after ``max_steps`` steps:

.. math::
    E[\hat g] = \sum_{t < H} c_t \sum_{s,a} &\Pr(s_t = s)\, \pi_\theta(a|s) \\
        &\times E[F_t | s_t = s, a_t = a] \\
        &\times \nabla_\theta \log \pi_\theta(a|s),

computed from the finite-horizon tables :math:`\Pr(s_t = s)`, :math:`E[G_t | s, a]` and
:math:`E[G_t^2 | s, a]` (backward recursions; rewards are deterministic, ``R[s, a]``). Mistakes that divide by
batch statistics (a mean over all steps, a normalisation) are given by their large-batch limit: the ratio
of the expectations, exact up to :math:`O(1/N)`.

:func:`diagnose` compares an estimator's means on several problems with each mistake (and each pair of
mistakes in different parts of the recipe) and names those it matches on every problem; it is what
:func:`pgbook.check_estimator` reports under "looks like". References: Nota & Thomas (2020) and Thomas (2014)
for the dropped :math:`\gamma^t`; Williams (1992) and Greensmith, Bartlett & Baxter (2004) for baselines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np

from pgbook.arguments import as_count, check_type
from pgbook.gradient_estimate import GradientEstimate
from pgbook.mdp import FiniteMDP
from pgbook.policies import Policy, policy_table
from pgbook.stats import z_scores


@dataclass(frozen=True)
class Mistake:
    """One known mistake: its name, the part of the recipe it changes, and what the code does."""

    name: str
    part: str  # "weights" (c_t), "target" (F_t), "average" or "sign"
    code: str

    def __str__(self) -> str:
        return self.name


#: The known mistakes, each changing one part of the reward-to-go recipe.
CATALOGUE: tuple[Mistake, ...] = (
    Mistake("discount weights γᵗ dropped", "weights", "w_t = G_t instead of γ^t G_t"),
    Mistake("discounting applied twice", "weights", "w_t = γ^t · (γ^t G_t): returns discounted from t = 0, times γ^t"),
    Mistake("score taken for the first step only", "weights", "only log π(a_0|s_0) enters the loss"),
    Mistake("reward-to-go off by one step", "target", "w_t = γ^t G_{t+1}: the reward r_t left out"),
    Mistake("action-dependent baseline Q(s, a)", "target", "w_t = γ^t (G_t − Q(s_t, a_t))"),
    Mistake("advantages normalised per batch", "target", "G_t replaced by (G_t − mean) / std over the batch's steps"),
    Mistake("episode returns normalised per batch", "target", "every step weighted by (G_0 − mean) / std of returns"),
    Mistake("loss averaged over all steps, not over episodes", "average", "divided by Σ_i T_i instead of N"),
    Mistake("sign flipped", "sign", "the gradient of −J (a loss minimised where it should be maximised)"),
)


def mistake(name: str) -> Mistake:
    """The catalogue's mistake of that name.

    >>> mistake("sign flipped").part
    'sign'
    """
    for candidate in CATALOGUE:
        if candidate.name == name:
            return candidate
    raise ValueError(f"no mistake named {name!r}; the catalogue has {[m.name for m in CATALOGUE]}")


@dataclass(frozen=True)
class StepTables:
    """Finite-horizon tables of an episode cut off after ``horizon`` steps.

    occupancy[t, s] = Pr(s_t = s, episode still running); returns[t, s, a] = E[G_t | s_t = s, a_t = a];
    squares[t, s, a] = E[G_t² | s, a]; next_returns[t, s, a] = E[G_{t+1} | s_t = s, a_t = a].
    """

    occupancy: np.ndarray
    returns: np.ndarray
    squares: np.ndarray
    next_returns: np.ndarray

    @classmethod
    def compute(cls, mdp: FiniteMDP, pi: np.ndarray, horizon: int) -> StepTables:
        n_states, n_actions = pi.shape
        gamma, live = mdp.gamma, (~mdp.terminal).astype(float)
        returns = np.empty((horizon, n_states, n_actions))
        squares, next_returns = np.empty_like(returns), np.empty_like(returns)
        value, second = np.zeros(n_states), np.zeros(n_states)  # E[G_{t+1} | s], E[G_{t+1}^2 | s]
        for t in reversed(range(horizon)):
            next_returns[t] = mdp.P @ value
            returns[t] = mdp.R + gamma * next_returns[t]
            squares[t] = mdp.R**2 + 2 * gamma * mdp.R * next_returns[t] + gamma**2 * (mdp.P @ second)
            value, second = np.sum(pi * returns[t], axis=1) * live, np.sum(pi * squares[t], axis=1) * live
        occupancy = np.empty((horizon, n_states))
        occupancy[0] = mdp.initial * live
        transition = np.einsum("sa,sat->st", pi, mdp.P)
        for t in range(1, horizon):
            occupancy[t] = (occupancy[t - 1] @ transition) * live
        return cls(occupancy, returns, squares, next_returns)


def expected_gradient(
    mdp: FiniteMDP, policy: Policy, theta: Any, max_steps: int, mistakes: Sequence[Mistake] = ()
) -> np.ndarray:
    r"""The exact expected value of the reward-to-go estimator with ``mistakes`` made, on episodes of at
    most ``max_steps`` steps (large-batch limit for the batch-normalised and per-step-averaged mistakes).

    With no mistake it is the policy gradient (up to the truncation at ``max_steps``).

    Examples
    --------
    >>> import pgbook as pg
    >>> mdp, policy = pg.examples.random_mdp(4, 2, gamma=0.9, seed=0), pg.TabularSoftmax(4, 2)
    >>> theta = policy.init_params(seed=1)
    >>> bool(np.allclose(expected_gradient(mdp, policy, theta, 400), pg.exact_gradient(mdp, policy, theta)))
    True
    >>> flipped = expected_gradient(mdp, policy, theta, 400, [mistake("sign flipped")])
    >>> bool(np.allclose(flipped, -pg.exact_gradient(mdp, policy, theta)))
    True
    """
    pi = policy_table(mdp, policy, theta)  # validates the arguments
    theta = policy.check_params(theta)
    max_steps = as_count("max_steps", max_steps)
    for m in mistakes:
        check_type("mistakes", m, Mistake, 'a sequence of Mistake objects (mistake("sign flipped") is one)')
    parts = [m.part for m in mistakes]
    if len(set(parts)) != len(parts):
        raise ValueError(f"mistakes must change different parts of the recipe; got {[str(m) for m in mistakes]}")
    return _expected(mdp, pi, StepTables.compute(mdp, pi, max_steps), policy.score(theta), mistakes)


def _expected(
    mdp: FiniteMDP, pi: np.ndarray, tables: StepTables, score: np.ndarray, mistakes: Sequence[Mistake]
) -> np.ndarray:
    """:func:`expected_gradient` from the problem's tables, computed once for all mistakes."""
    max_steps = tables.occupancy.shape[0]
    names = {m.name for m in mistakes}
    steps = np.arange(max_steps)
    weights = mdp.gamma**steps
    if "discount weights γᵗ dropped" in names:
        weights = np.ones(max_steps)
    elif "discounting applied twice" in names:
        weights = mdp.gamma ** (2 * steps)
    elif "score taken for the first step only" in names:
        weights = (steps == 0).astype(float)
    visits = tables.occupancy[:, :, None] * pi  # Pr(s_t = s, a_t = a)
    expected_steps = tables.occupancy.sum()
    target = tables.returns
    if "reward-to-go off by one step" in names:
        target = tables.next_returns
    elif "action-dependent baseline Q(s, a)" in names:
        target = tables.returns - mdp.action_values(pi)
    elif "advantages normalised per batch" in names:
        mean = np.sum(visits * tables.returns) / expected_steps
        spread = np.sqrt(max(np.sum(visits * tables.squares) / expected_steps - mean**2, 0.0))
        target = (tables.returns - mean) / (spread if spread > 0 else 1.0)
    elif "episode returns normalised per batch" in names:
        start = tables.occupancy[0][:, None] * pi
        mean, square = np.sum(start * tables.returns[0]), np.sum(start * tables.squares[0])
        spread = np.sqrt(max(square - mean**2, 0.0))
        # E[(G_0 - m) ∇log π(a_t|s_t)] = E[γ^t G_t ∇log π(a_t|s_t)]: the rewards before t do not correlate
        # with the score at t, so G_0 brings its own γ^t whatever the code's step weights
        if "score taken for the first step only" not in names:
            weights = mdp.gamma**steps
        target = tables.returns / (spread if spread > 0 else 1.0)
    pair_weights = np.einsum("t,tsa,tsa->sa", weights, visits, target)
    gradient = np.tensordot(pair_weights, score, axes=2)
    if "loss averaged over all steps, not over episodes" in names:
        gradient = gradient / expected_steps
    if "sign flipped" in names:
        gradient = -gradient
    return gradient


def candidates() -> list[tuple[Mistake, ...]]:
    """Every single mistake, then every pair of mistakes that change different parts of the recipe."""
    pairs = [pair for pair in combinations(CATALOGUE, 2) if pair[0].part != pair[1].part]
    return [(m,) for m in CATALOGUE] + pairs


@dataclass(frozen=True)
class Match:
    mistakes: tuple[Mistake, ...]
    max_abs_z: float  # the largest |z| over every component of every problem

    @property
    def name(self) -> str:
        return " + ".join(m.name for m in self.mistakes)


@dataclass(frozen=True)
class Diagnosis:
    """Which catalogued mistakes an estimator's means are consistent with, best first."""

    matches: list[Match]
    nearest: Match
    threshold: float
    n_candidates: int

    @property
    def found(self) -> bool:
        return bool(self.matches)

    def __str__(self) -> str:
        if not self.matches:
            return (
                f"looks like none of the {len(CATALOGUE)} catalogued mistakes nor the "
                f"{self.n_candidates - len(CATALOGUE)} pairs of them: the nearest, {self.nearest.name}, "
                f"is off by {self.nearest.max_abs_z:.1f} SE (threshold {self.threshold:.2f})"
            )
        best = self.matches[0]
        text = f"looks like: {best.name} — matches within {best.max_abs_z:.1f} SE on every problem"
        if len(self.matches) > 1:
            text += "; also consistent with: " + "; ".join(m.name for m in self.matches[1:4])
        return text


def diagnose(estimates: Sequence[GradientEstimate], problems: Sequence[Any], thresholds: Sequence[float]) -> Diagnosis:
    r"""Compare an estimator's results on ``problems`` with every catalogued mistake.

    A candidate matches when :math:`|\bar g - E[\hat g_{\text{mistake}}]| \le` threshold × SE in every
    component of every problem (the thresholds of :func:`pgbook.check_estimator`, so a true match is missed
    with probability at most its false-alarm rate). Single mistakes are tried first; pairs only if no
    single mistake matches. Matches are sorted by their largest :math:`|z|`.

    ``problems`` are :class:`pgbook.Problem` (anything with ``mdp``, ``policy``, ``theta``, ``max_steps``).

    The mistakes that use batch statistics (the two normalisations, the mean over all steps) are catalogued
    by their large-batch limit. An estimator that returns only its mean is run by check_estimator on 32
    sub-batches, whose finite-batch bias, of order 32/n_episodes, can then exceed the threshold: with the
    default 20,000 episodes a normalisation may be reported as the *nearest* mistake rather than a match;
    80,000 episodes make it a match.
    """
    if not len(estimates) == len(problems) == len(thresholds):
        raise ValueError("estimates, problems and thresholds must have the same length")
    setups = []
    for problem in problems:
        if not all(hasattr(problem, field) for field in ("mdp", "policy", "theta", "max_steps")):
            raise TypeError(f"problems must hold pgbook.Problem objects; got {type(problem).__name__}")
        theta = problem.policy.check_params(problem.theta)
        pi = policy_table(problem.mdp, problem.policy, theta)
        tables = StepTables.compute(problem.mdp, pi, as_count("max_steps", problem.max_steps))
        setups.append((problem.mdp, pi, tables, problem.policy.score(theta)))
    tried: list[Match] = []
    matches: list[Match] = []
    for size in (1, 2):
        for combo in (c for c in candidates() if len(c) == size):
            worst, fits = 0.0, True
            for estimate, setup, threshold in zip(estimates, setups, thresholds, strict=True):
                z = float(np.abs(z_scores(estimate, _expected(*setup, combo))).max())
                worst = max(worst, z)
                fits = fits and z <= threshold
            tried.append(Match(combo, worst))
            if fits:
                matches.append(Match(combo, worst))
        if matches:
            break
    nearest = min(tried, key=lambda m: m.max_abs_z)
    return Diagnosis(sorted(matches, key=lambda m: m.max_abs_z), nearest, float(max(thresholds)), len(candidates()))
