r"""The backward discounted sum, written once: returns to go, GAE's advantages and LQR's costs to go all use it."""

from __future__ import annotations

import numpy as np

from pgbook.arguments import as_real


def discounted_suffix_sums(values: np.ndarray, discount: float) -> np.ndarray:
    r""":math:`S_t = \sum_{k \ge t} \mathrm{discount}^{k-t} x_k` along the last axis, by
    :math:`S_t = x_t + \mathrm{discount} \cdot S_{t+1}` from the end.

    The recursion is run by :func:`scipy.signal.lfilter` (the filter :math:`1 / (1 - \mathrm{discount}\, z^{-1})`
    over the reversed axis): the same additions and products, in the same order, as the loop it replaces, in C.

    >>> discounted_suffix_sums(np.array([[1.0, 2.0, 4.0]]), 0.5)
    array([[3., 4., 4.]])
    """
    from scipy.signal import lfilter  # here: importing scipy.signal takes ~0.5 s, which `import pgbook` need not pay

    values, discount = np.asarray(values, dtype=float), as_real("discount", discount)
    return lfilter([1.0], [1.0, -discount], values[..., ::-1], axis=-1)[..., ::-1].copy()  # copy: positive strides
