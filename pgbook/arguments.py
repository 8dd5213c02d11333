"""Checks at the library's boundary: every public function validates its inputs here.

Each check names the argument it rejects and says what was expected, so that bad input fails with a
`TypeError` (wrong kind of object) or a `ValueError` (right kind, wrong shape or value) instead of a NaN or
a traceback from deep inside numpy.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

_PROBABILITY_ATOL = 1e-9


def as_real_array(name: str, value: Any, *, ndim: int | None = None) -> np.ndarray:
    """Return ``value`` as a finite float64 array, or raise naming ``name``.

    >>> as_real_array("R", [[1, 2]], ndim=2)
    array([[1., 2.]])
    >>> as_real_array("R", [1, float("nan")])
    Traceback (most recent call last):
    ...
    ValueError: R must contain only finite numbers; found nan or inf at index (1,)
    """
    try:
        array = np.asarray(value)
    except Exception as error:  # ragged lists, objects numpy cannot convert
        raise TypeError(f"{name} must be an array of real numbers; got {type(value).__name__}") from error
    if array.dtype == bool or not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise TypeError(f"{name} must be an array of real numbers; got dtype {array.dtype}")
    array = array.astype(np.float64)
    if ndim is not None and array.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-dimensional array; got shape {array.shape}")
    bad = ~np.isfinite(array)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{name} must contain only finite numbers; found nan or inf at index {index}")
    return array


def check_shape(name: str, array: np.ndarray, shape: tuple[int, ...]) -> None:
    """Raise a `ValueError` naming ``name`` unless ``array.shape == shape``."""
    if array.shape != shape:
        raise ValueError(f"{name} must have shape {shape}; got {array.shape}")


def check_distributions(name: str, array: np.ndarray, *, precision: Any = np.float64) -> None:
    """Raise unless every slice along the last axis is a probability distribution.

    The sums may miss 1 by rounding: by 1e-9, or by 64 units in the last place of ``precision`` (the dtype
    the user gave, before conversion to float64) when that is coarser; float32 rows are off by ~1e-7.

    >>> check_distributions("P", np.array([[0.5, 0.6]]))
    Traceback (most recent call last):
    ...
    ValueError: P must sum to 1 along its last axis; the slice at index (0,) sums to 1.1 (allowed error 1e-09)
    >>> check_distributions("P", np.array([[0.5, 0.5000001]]), precision=np.float32)
    """
    if (array < 0).any():
        index = tuple(int(i) for i in np.argwhere(array < 0)[0])
        raise ValueError(f"{name} must be non-negative; found {array[index]:.3g} at index {index}")
    tolerance = (
        max(_PROBABILITY_ATOL, 64 * float(np.finfo(precision).eps))
        if np.issubdtype(precision, np.floating)
        else _PROBABILITY_ATOL
    )
    sums = array.sum(axis=-1)
    bad = np.abs(sums - 1.0) > tolerance
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name} must sum to 1 along its last axis; the slice at index {index} sums to "
            f"{float(sums[index])!r} (allowed error {tolerance:.3g})"
        )


def as_unit_interval(name: str, value: Any) -> float:
    """Return ``value`` as a float in [0, 1] (a discount γ, a probability, GAE's λ), or raise naming ``name``.

    >>> as_unit_interval("gamma", 1.5)
    Traceback (most recent call last):
    ...
    ValueError: gamma must lie in [0, 1]; got 1.5
    """
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number in [0, 1]; got {type(value).__name__}")
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must lie in [0, 1]; got {value}")
    return value


def as_seed(name: str, value: Any) -> np.random.Generator:
    """Return a `numpy.random.Generator` from an int seed, a Generator, or None (fresh entropy)."""
    if isinstance(value, np.random.Generator):
        return value
    if value is None:
        return np.random.default_rng()
    if isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_):
        if value < 0:
            raise ValueError(f"{name} must be a non-negative int; got {value}")
        return np.random.default_rng(value)
    raise TypeError(f"{name} must be an int, a numpy.random.Generator or None; got {type(value).__name__}")


def as_scale(value: Any) -> float:
    """Return ``value`` as a finite float, or raise naming ``scale``.

    >>> as_scale(float("nan"))
    Traceback (most recent call last):
    ...
    ValueError: scale must contain only finite numbers; found nan or inf at index ()
    """
    return float(as_real_array("scale", value, ndim=0))


def as_count(name: str, value: Any, *, minimum: int = 1) -> int:
    """Return ``value`` as an int of at least ``minimum``, or raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int; got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}; got {value}")
    return int(value)
