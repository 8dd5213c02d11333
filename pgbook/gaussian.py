r"""Gaussian policies on one-step problems: the score-function and the pathwise gradient estimators.

For actions :math:`a = \theta + \sigma \varepsilon`, :math:`\varepsilon \sim \mathcal N(0, I)`, and
:math:`J(\theta) = E[r(a)]`:

.. math::
    \text{score function: } \hat g &= \frac{a - \theta}{\sigma^2} (r(a) - b), \\
    \text{pathwise: } \hat g &= \nabla_a r(a).

The score-function (log-derivative, likelihood-ratio) estimator needs only values of r; the pathwise
(reparameterization) estimator differentiates through :math:`a = \theta + \sigma\varepsilon` and needs
:math:`\nabla_a r`. Both use the same :math:`\varepsilon` for the same ``seed``, so their variances can be
compared on the same draws.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from pgbook.arguments import (
    as_count,
    as_real,
    as_real_array,
    as_seed,
    broadcast_together,
    check_callable,
    check_nonempty,
)
from pgbook.baselines import Baseline, parse_baseline
from pgbook.gradient_estimate import GradientEstimate
from pgbook.lazy_torch import torch
from pgbook.stats import leave_one_out_mean


def gaussian_score_gradient(
    reward: Callable[[np.ndarray], np.ndarray],
    mean: Any,
    std: float,
    n_samples: int,
    *,
    seed: int | np.random.Generator | None,
    baseline: Baseline = None,
) -> GradientEstimate:
    r"""Score-function samples :math:`\hat g_i = \varepsilon_i/\sigma \cdot (r(a_i) - b)` of :math:`\nabla_\theta J`.

    Parameters
    ----------
    reward : callable
        Maps actions of shape (n_samples, dim) to rewards of shape (n_samples,) (numpy).
    mean : array_like, shape (dim,)
        θ, the mean of the Gaussian policy.
    std : float
        σ > 0.
    baseline : None, float or "optimal"
        In the library's one vocabulary (:mod:`pgbook.baselines`): ``None`` (or ``"none"``) for none, a
        constant, or ``"optimal"``: :math:`b^* = E[\|\varepsilon\|^2 r] / E[\|\varepsilon\|^2]`, estimated
        leave-one-out.

    Examples
    --------
    With :math:`r(a) = -(a - a^*)^2`, :math:`\nabla J = -2(\theta - a^*)`:

    >>> estimate = gaussian_score_gradient(lambda a: -(a[:, 0] - 1.0) ** 2, [0.0], 0.5, 100_000, seed=0,
    ...                                    baseline="optimal")
    >>> bool(abs(estimate.mean[0] - 2.0) < 4.5 * estimate.standard_error[0])
    True
    """
    check_callable("reward", reward, "a callable of the actions returning one reward each")
    baseline = parse_baseline(baseline, accepts=("none", "constant", "optimal"))
    mean, std, noise = _draws(mean, std, n_samples, seed)
    rewards = as_real_array("reward(a)", reward(mean + std * noise), ndim=1)
    if rewards.shape != (noise.shape[0],):
        raise ValueError(f"reward must return one reward per action, shape ({noise.shape[0]},); got {rewards.shape}")
    if baseline.kind == "none":
        centred = rewards
    elif baseline.kind == "optimal":
        centred = rewards - leave_one_out_mean(rewards, np.sum(noise**2, axis=1))
    else:
        centred = rewards - baseline.value
    return GradientEstimate(noise / std * centred[:, None])


def gaussian_pathwise_gradient(
    reward: Callable[[torch.Tensor], torch.Tensor],
    mean: Any,
    std: float,
    n_samples: int,
    *,
    seed: int | np.random.Generator | None,
) -> GradientEstimate:
    r"""Pathwise samples :math:`\hat g_i = \nabla_a r(a)|_{a = \theta + \sigma \varepsilon_i}` of
    :math:`\nabla_\theta J`.

    ``reward`` maps a float64 tensor of actions, shape (n_samples, dim), to rewards of shape (n_samples,),
    differentiably, each reward depending on its own action only.

    Examples
    --------
    >>> estimate = gaussian_pathwise_gradient(lambda a: -(a[:, 0] - 1.0) ** 2, [0.0], 0.5, 100_000, seed=0)
    >>> bool(abs(estimate.mean[0] - 2.0) < 4.5 * estimate.standard_error[0])
    True
    """
    check_callable("reward", reward, "a callable of the actions returning one reward each")
    mean, std, noise = _draws(mean, std, n_samples, seed)
    actions = torch.tensor(mean + std * noise, dtype=torch.float64, requires_grad=True)
    rewards = reward(actions)
    if not isinstance(rewards, torch.Tensor) or rewards.shape != (noise.shape[0],):
        raise ValueError(
            f"reward must return a tensor of one reward per action, shape ({noise.shape[0]},); got "
            f"{getattr(rewards, 'shape', type(rewards).__name__)}"
        )
    (gradients,) = torch.autograd.grad(rewards.sum(), actions)
    return GradientEstimate(gradients.numpy())


def quadratic_bandit_variances(gap: Any, std: Any) -> dict[str, np.ndarray]:
    r"""Per-sample variances of the three estimators on the quadratic Gaussian bandit, in closed form.

    With :math:`a = \theta + \sigma\varepsilon`, :math:`r(a) = -(a - a^*)^2` and the gap :math:`\Delta = \theta - a^*`
    (one dimension), :math:`J = -(\Delta^2 + \sigma^2)` and :math:`\nabla J = -2\Delta`; the variances of one sample
    are (moments of :math:`\varepsilon \sim \mathcal N(0, 1)`; the comparison is Mohamed et al. 2020's)

    .. math::
        &\underbrace{\frac{\Delta^4}{\sigma^2} + 14\Delta^2 + 15\sigma^2}_{\text{score, no baseline}}, \\
        &\underbrace{6\sigma^2 + 8\Delta^2}_{\text{score, } b^* = -(3\sigma^2 + \Delta^2)}, \\
        &\underbrace{4\sigma^2}_{\text{pathwise}}.

    These are the variances of :func:`gaussian_score_gradient` (``baseline=None`` and ``"optimal"``, whose
    leave-one-out baseline tends to :math:`b^*`) and :func:`gaussian_pathwise_gradient` on this problem.

    Parameters
    ----------
    gap : float or array_like
        :math:`\Delta = \theta - c`.
    std : float or array_like
        :math:`\sigma > 0`; broadcast against ``gap``.

    Returns
    -------
    dict
        ``"score, no baseline"``, ``"score, optimal baseline"`` and ``"pathwise"``: arrays of the broadcast shape.

    Examples
    --------
    >>> variances = quadratic_bandit_variances(-1.0, 0.5)
    >>> {name: float(value) for name, value in variances.items()}
    {'score, no baseline': 21.75, 'score, optimal baseline': 9.5, 'pathwise': 1.0}
    """
    gap, std = broadcast_together(gap=as_real_array("gap", gap), std=as_real_array("std", std))
    if np.any(std <= 0):
        raise ValueError(f"std must be positive; got {std.min()}")
    return {
        "score, no baseline": gap**4 / std**2 + 14 * gap**2 + 15 * std**2,
        "score, optimal baseline": 6 * std**2 + 8 * gap**2,
        "pathwise": 4 * std**2,
    }


def _draws(mean: Any, std: float, n_samples: int, seed: Any) -> tuple[np.ndarray, float, np.ndarray]:
    mean = as_real_array("mean", mean, ndim=1)
    check_nonempty("mean", mean)
    std = as_real("std", std)
    if std <= 0:
        raise ValueError(f"std must be positive; got {std}")
    n_samples = as_count("n_samples", n_samples, minimum=2)
    return mean, std, as_seed("seed", seed).standard_normal((n_samples, mean.size))
