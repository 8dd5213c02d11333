r"""Scale and direction of a gradient estimate against a reference vector: the best positive factor, the
angle with a confidence interval, and the relative variance against the estimate's own mean.

An estimator whose expectation is :math:`c\,\nabla J` with :math:`c > 0` ascends J like the exact gradient
with a step size c times as large; one whose expectation points elsewhere does not. These functions separate
the two.

Examples
--------
>>> import pgbook as pg
>>> mdp, policy = pg.examples.random_mdp(4, 2, gamma=0.9, seed=0), pg.TabularSoftmax(4, 2)
>>> theta = policy.init_params(seed=0)
>>> batch = pg.sample_episodes(mdp, policy, theta, 20_000, max_steps=300, seed=0)
>>> halved = pg.GradientEstimate(0.5 * pg.reward_to_go(batch, policy, theta).per_episode)
>>> exact = pg.exact_gradient(mdp, policy, theta)
>>> round(fit_scale(halved, exact), 1)
0.5
>>> low, high = angle_interval(halved, exact, 1e-3)
>>> bool(low == 0.0 and high < 20)
True
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import ndtri, stdtrit

from pgbook.arguments import as_real, as_real_array
from pgbook.gradient_estimate import GradientEstimate
from pgbook.stats import check_against


def fit_scale(estimate: GradientEstimate, vector: Any) -> float:
    r"""The positive factor :math:`c \ge 0` that makes :math:`c\,v` closest to the estimate's mean in standard
    errors: :math:`\min_{c \ge 0} \sum_i (\bar g_i - c v_i)^2 / \mathrm{SE}_i^2`, so
    :math:`c = \max(0, \sum_i \bar g_i v_i / \mathrm{SE}_i^2 \,/\, \sum_i v_i^2 / \mathrm{SE}_i^2)`
    (components whose samples are all equal are left out; 0 when v is 0)."""
    vector = check_against(estimate, vector, "vector")
    errors = estimate.standard_error
    spread = errors > 0
    if not spread.any():  # no noise anywhere: ordinary least squares
        spread, errors = np.ones_like(spread), np.ones_like(errors)
    weights = 1.0 / errors[spread] ** 2
    denominator = float(np.sum(weights * vector[spread] ** 2))
    if denominator == 0.0:
        return 0.0
    return max(float(np.sum(weights * estimate.mean[spread] * vector[spread])) / denominator, 0.0)


def angle(a: Any, b: Any) -> float:
    """The angle between two vectors in degrees, in [0, 180] (nan when either is 0)."""
    a, b = as_real_array("a", a).ravel(), as_real_array("b", b).ravel()
    norms = np.linalg.norm(a) * np.linalg.norm(b)
    if norms == 0:
        return float("nan")
    return float(np.degrees(np.arccos(np.clip(a @ b / norms, -1.0, 1.0))))


def noise_radius(estimate: GradientEstimate, false_alarm: float) -> float:
    r"""A radius :math:`\rho` with :math:`\Pr(\|\bar g - E\hat g\| > \rho) \le` ``false_alarm`` for the mean of
    the K samples, by Gaussian concentration of a norm (large-sample, the mean taken as Gaussian):
    :math:`\rho = \sqrt{\operatorname{tr}\Sigma} + \sqrt{2 \lambda_{\max}(\Sigma) \log(1/\alpha)}` with
    :math:`\Sigma` the covariance of the mean, times the ratio of Student's t quantile with K − 1 degrees of
    freedom to the normal one (Σ is estimated from the samples)."""
    false_alarm = as_real("false_alarm", false_alarm, within="(0, 1)")
    K = estimate.n_episodes
    if K < 2:
        raise ValueError("a noise radius needs at least two samples")
    samples = estimate.per_episode.reshape(K, -1)
    centred = (samples - samples.mean(axis=0)) / np.sqrt((K - 1) * K)  # rows: Σ = centredᵀ centred
    trace = float(np.sum(centred**2))
    if samples.shape[1] <= 512:
        largest = float(np.linalg.eigvalsh(centred.T @ centred)[-1])
    else:
        largest = float(np.linalg.norm(centred, 2) ** 2)
    t_ratio = float(-stdtrit(K - 1, false_alarm / 2) / -ndtri(false_alarm / 2))
    return t_ratio * (np.sqrt(trace) + np.sqrt(2.0 * max(largest, 0.0) * np.log(1.0 / false_alarm)))


def angle_interval(estimate: GradientEstimate, vector: Any, false_alarm: float) -> tuple[float, float]:
    r"""A confidence interval, in degrees, for the angle between the estimator's expectation and ``vector``.

    Every mean within :func:`noise_radius` ρ of the sample mean :math:`\bar g` lies in a cone of half-angle
    :math:`\beta = \arcsin(\rho / \|\bar g\|)` around :math:`\bar g`, so the angle is within β of the sample
    angle: :math:`[\max(0, \hat\phi - \beta), \min(180, \hat\phi + \beta)]`, with probability at least
    :math:`1 - \mathtt{false\_alarm}`. When ρ ≥ ‖ḡ‖ the expectation may be 0 and the interval is [0, 180]."""
    vector = check_against(estimate, vector, "vector")
    false_alarm = as_real("false_alarm", false_alarm, within="(0, 1)")
    sample_angle = angle(estimate.mean, vector)
    if np.isnan(sample_angle):
        return float("nan"), float("nan")
    radius, norm = noise_radius(estimate, false_alarm), float(np.linalg.norm(estimate.mean))
    if radius >= norm:
        return 0.0, 180.0
    half = float(np.degrees(np.arcsin(radius / norm)))
    return max(0.0, sample_angle - half), min(180.0, sample_angle + half)


def own_relative_variance(estimate: GradientEstimate) -> float:
    r"""κ against the estimator's own mean: :math:`\operatorname{tr}\operatorname{Cov}(\hat g) /
    \|E\hat g\|^2`, with :math:`\|E\hat g\|^2` estimated without bias by :math:`\|\bar g\|^2 -
    \operatorname{tr}\operatorname{Cov}/K`; nan when that is not positive (the mean is lost in the noise).
    Unlike κ against ∇J it does not change when the estimator is multiplied by a constant."""
    trace = estimate.covariance_trace
    squared = float(np.sum(estimate.mean**2)) - trace / estimate.n_episodes
    return trace / squared if squared > 0 else float("nan")
