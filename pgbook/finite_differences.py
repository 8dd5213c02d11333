r"""Finite differences: the gradient of any scalar function of an array, one coordinate at a time.

It knows nothing of MDPs or policies, which makes it an independent check of every exact gradient in
:mod:`pgbook.gradients` (and of the book's other derivatives).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import numpy as np

from pgbook.arguments import as_real, as_real_array


def finite_difference(
    f: Callable[[np.ndarray], float],
    theta: Any,
    *,
    step: float | None = None,
    scheme: Literal["central", "forward"] = "central",
) -> np.ndarray:
    r"""The gradient of a scalar function by finite differences, one coordinate at a time.

    .. math::
        \text{central: } &\frac{f(\theta + h e_i) - f(\theta - h e_i)}{2h}, \\
        \text{forward: } &\frac{f(\theta + h e_i) - f(\theta)}{h}.

    With :math:`\epsilon_{\text{mach}}` float64's relative precision, central differences have truncation error
    :math:`O(h^2)` and round-off error :math:`O(\epsilon_{\text{mach}}/h)`, balanced near
    :math:`h = \epsilon_{\text{mach}}^{1/3} \approx 6 \times 10^{-6}` (forward: :math:`O(h)` and
    :math:`h = \sqrt{\epsilon_{\text{mach}}}`). The default step is that value times :math:`\max(1, |\theta_i|)`.
    Costs ``2 * theta.size`` evaluations (central) or ``theta.size + 1`` (forward).

    Parameters
    ----------
    f : callable
        Maps an array shaped like ``theta`` to a finite real number.
    theta : array_like
        The point at which to differentiate.
    step : float, optional
        The step h, the same for every coordinate. Default: see above.
    scheme : {"central", "forward"}

    Examples
    --------
    >>> finite_difference(lambda x: np.sum(x ** 3), np.array([1.0, 2.0])).round(6)
    array([ 3., 12.])
    """
    if not callable(f):
        raise TypeError(f"f must be a callable returning a number; got {type(f).__name__}")
    if scheme not in ("central", "forward"):
        raise ValueError(f'scheme must be "central" or "forward"; got {scheme!r}')
    theta = as_real_array("theta", theta)
    epsilon = np.finfo(np.float64).eps
    if step is None:
        base = epsilon ** (1 / 3) if scheme == "central" else np.sqrt(epsilon)
        steps = base * np.maximum(1.0, np.abs(theta))
    else:
        steps = np.full(theta.shape, as_real("step", step, within="(0, inf)"))

    def evaluate(point: np.ndarray) -> float:
        value = f(point)
        if isinstance(value, (bool, np.bool_)) or np.ndim(value) != 0:
            raise TypeError(f"f must return a real number; got {type(value).__name__} {np.shape(value)}")
        value = float(value)
        if not np.isfinite(value):
            raise ValueError(f"f returned {value} at theta={point!r}; it must be finite near theta")
        return value

    gradient = np.empty_like(theta)
    center = evaluate(theta.copy()) if scheme == "forward" else None
    for index in np.ndindex(theta.shape):
        forward_point = theta.copy()
        forward_point[index] += steps[index]
        h = forward_point[index] - theta[index]  # the step actually representable in floating point
        if scheme == "central":
            backward_point = theta.copy()
            backward_point[index] -= h
            gradient[index] = (evaluate(forward_point) - evaluate(backward_point)) / (2 * h)
        else:
            gradient[index] = (evaluate(forward_point) - center) / h
    return gradient
