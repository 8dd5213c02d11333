r"""Statistics for comparing a gradient estimator with the exact gradient: bias, variance, direction.

Examples
--------
>>> import pgbook as pg
>>> mdp = pg.examples.bandit([1.0, 0.0])
>>> policy = pg.TabularSoftmax(1, 2)
>>> theta = np.zeros((1, 2))
>>> batch = pg.sample_episodes(mdp, policy, theta, 10_000, max_steps=1, seed=0)
>>> estimate = pg.reinforce(batch, policy, theta, baseline="mean")
>>> exact = pg.exact_gradient(mdp, policy, theta)
>>> bool(np.abs(z_scores(estimate, exact)).max() < 4.5), round(cosine_similarity(estimate.mean, exact), 3)
(True, 1.0)
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import stdtrit

from pgbook.arguments import as_count, as_real, as_real_array, check_shape
from pgbook.gradient_estimate import GradientEstimate


def z_scores(estimate: GradientEstimate, exact: Any) -> np.ndarray:
    r"""Per-component :math:`z = (\bar g - \nabla J) / \mathrm{SE}`, shaped like the gradient.

    For an unbiased estimator each z is approximately standard normal. A component whose samples are all
    equal has SE 0: its z is 0 if it equals the exact value and ±inf otherwise.
    """
    exact = check_against(estimate, exact)
    error = estimate.mean - exact
    standard_error = estimate.standard_error
    scale = max(np.abs(exact).max(initial=0.0), np.abs(estimate.mean).max(initial=0.0), 1e-300)
    z = np.zeros_like(error)
    spread = standard_error > 0
    z[spread] = error[spread] / standard_error[spread]
    mismatch = ~spread & (np.abs(error) > 1e-12 * scale)
    z[mismatch] = np.copysign(np.inf, error[mismatch])
    return z


def two_sided_threshold(false_alarm: float, n_tests: int, degrees_of_freedom: float = np.inf) -> float:
    r"""The :math:`|z|` threshold at which ``n_tests`` z-scores all pass with probability at least
    :math:`1 - \mathtt{false\_alarm}` (Bonferroni): a standard normal quantile, or Student's t with
    ``degrees_of_freedom`` when the standard errors come from that many degrees of freedom.

    >>> round(two_sided_threshold(0.01, 1000), 2)
    4.42
    >>> round(two_sided_threshold(0.01, 1000, degrees_of_freedom=31), 2)
    5.27
    """
    false_alarm = as_real("false_alarm", false_alarm, within="(0, 1)")
    n_tests = as_count("n_tests", n_tests)
    degrees_of_freedom = as_real("degrees_of_freedom", degrees_of_freedom, within="(0, inf]")
    return float(-stdtrit(degrees_of_freedom, false_alarm / (2 * n_tests)))  # upper quantile, by symmetry


def cosine_similarity(a: Any, b: Any) -> float:
    r""":math:`\langle a, b \rangle / (\|a\| \|b\|)` over all components; raises if either is zero."""
    a = as_real_array("a", a).ravel()
    b = as_real_array("b", b).ravel()
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same number of components; got {a.size} and {b.size}")
    norms = np.linalg.norm(a) * np.linalg.norm(b)
    if norms == 0.0:
        raise ValueError("the cosine similarity of a zero vector is undefined")
    return float(a @ b / norms)


def cosine_or_nan(a: np.ndarray, b: np.ndarray) -> float:
    r""":math:`\langle a, b \rangle / (\|a\| \|b\|)`, or NaN where it is undefined (a zero vector, or nan in either),
    for numpy arrays of the same size: unchecked, for loops over many estimates (:func:`cosine_similarity`
    checks its arguments and refuses a zero vector).

    >>> cosine_or_nan(np.array([1.0, 0.0]), np.array([1.0, 1.0])), cosine_or_nan(np.zeros(2), np.ones(2))
    (0.7071067811865475, nan)
    """
    a, b = np.ravel(a), np.ravel(b)
    norms = np.linalg.norm(a) * np.linalg.norm(b)
    return float(a @ b / norms) if norms > 0 else float("nan")


def relative_variance(estimate: GradientEstimate, exact: Any) -> float:
    r""":math:`\kappa = \operatorname{tr}\operatorname{Cov}(\hat g_i) / \|\nabla J\|^2`: the number of episodes
    after which the estimate's expected squared error equals :math:`\|\nabla J\|^2`.

    With N episodes the cosine to the exact gradient is about :math:`1/\sqrt{1 + \kappa/N}`.
    """
    exact = check_against(estimate, exact)
    squared_norm = float(np.sum(exact**2))
    if squared_norm == 0.0:
        raise ValueError("exact is zero: relative variance is undefined at a stationary point")
    return estimate.covariance_trace / squared_norm


def variance_difference(first: GradientEstimate, second: GradientEstimate) -> tuple[float, float]:
    r"""The difference of the two estimators' :math:`\operatorname{tr}\operatorname{Cov}` and its standard error,
    from samples computed on the *same* episodes (a paired comparison, far tighter than two separate ones).

    Returns ``(difference, standard_error)`` with difference = first − second.
    """
    if first.per_episode.shape != second.per_episode.shape:
        raise ValueError(
            f"the estimates must come from the same batch; got shapes {first.per_episode.shape} and "
            f"{second.per_episode.shape}"
        )
    n = first.n_episodes
    if n < 2:
        raise ValueError("a variance difference needs at least two episodes")

    def squared_deviation(estimate: GradientEstimate) -> np.ndarray:
        deviations = (estimate.per_episode - estimate.mean).reshape(n, -1)
        return np.sum(deviations**2, axis=1) * n / (n - 1)

    paired = squared_deviation(first) - squared_deviation(second)
    return float(paired.mean()), float(paired.std(ddof=1) / np.sqrt(n))


def check_against(estimate: GradientEstimate, vector: Any, name: str = "exact") -> np.ndarray:
    """``vector`` (named ``name``) as a float64 array shaped like one of ``estimate``'s samples, after checking
    that ``estimate`` is a :class:`pgbook.GradientEstimate`: the arguments of every comparison of an estimate
    with a vector (here and in :mod:`pgbook.direction`)."""
    if not isinstance(estimate, GradientEstimate):
        raise TypeError(f"estimate must be a pgbook.GradientEstimate; got {type(estimate).__name__}")
    vector = as_real_array(name, vector)
    check_shape(name, vector, estimate.per_episode.shape[1:])
    return vector


def leave_one_out_mean(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    r"""For each i, :math:`\sum_{j \ne i} w_j v_j / \sum_{j \ne i} w_j` (0 where the other weights are all 0)."""
    if values.size < 2:
        raise ValueError("a baseline estimated from the batch needs at least two episodes")
    numerator = np.sum(weights * values) - weights * values
    denominator = np.sum(weights) - weights
    return np.divide(numerator, denominator, out=np.zeros_like(values), where=denominator > 0)
