r"""The backward discounted sum, written once: returns to go, GAE's advantages and LQR's costs to go all use it."""

from __future__ import annotations

import numpy as np


def discounted_suffix_sums(values: np.ndarray, discount: float) -> np.ndarray:
    r""":math:`S_t = \sum_{k \ge t} \mathrm{discount}^{k-t} x_k` along the last axis, by
    :math:`S_t = x_t + \mathrm{discount} \cdot S_{t+1}` from the end.

    >>> discounted_suffix_sums(np.array([[1.0, 2.0, 4.0]]), 0.5)
    array([[3., 4., 4.]])
    """
    sums = np.zeros(np.shape(values))
    running = np.zeros(np.shape(values)[:-1])
    for t in reversed(range(np.shape(values)[-1])):
        running = values[..., t] + discount * running
        sums[..., t] = running
    return sums
