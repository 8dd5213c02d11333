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
    if ndim == 0:  # a scalar: the message speaks of a number, not of an array
        return np.asarray(as_real(name, value))
    try:
        array = np.asarray(value)
    except Exception as error:  # ragged lists, objects numpy cannot convert
        raise TypeError(f"{name} must be an array of real numbers; got {type(value).__name__}") from error
    if array.dtype == bool or not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        got = f"dtype {array.dtype}" if isinstance(value, np.ndarray) or array.dtype != object else _kind(value)
        raise TypeError(f"{name} must be an array of real numbers; got {got}")
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


def check_nonempty(name: str, array: np.ndarray) -> None:
    """Raise a `ValueError` naming ``name`` if any axis of ``array`` has length 0.

    >>> check_nonempty("features", np.zeros((3, 2, 0)))
    Traceback (most recent call last):
    ...
    ValueError: features must have at least one entry along every axis; got shape (3, 2, 0)
    """
    if 0 in array.shape:
        raise ValueError(f"{name} must have at least one entry along every axis; got shape {array.shape}")


def broadcast_together(**arrays: np.ndarray) -> list[np.ndarray]:
    """The arrays broadcast to one shape, or a `ValueError` naming them and their shapes.

    >>> broadcast_together(gap=np.ones(2), std=np.ones(3))
    Traceback (most recent call last):
    ...
    ValueError: gap and std must have shapes that broadcast together; got gap (2,) and std (3,)
    """
    try:
        return list(np.broadcast_arrays(*arrays.values()))
    except ValueError:
        names = " and ".join(arrays)
        shapes = " and ".join(f"{name} {array.shape}" for name, array in arrays.items())
        raise ValueError(f"{names} must have shapes that broadcast together; got {shapes}") from None


def check_type(name: str, value: Any, expected: type | tuple[type, ...], description: str) -> None:
    """Raise a `TypeError` naming ``name`` unless ``value`` is an instance of ``expected`` (``description`` says
    what that is, as the user would write it).

    >>> check_type("policy", None, tuple, "a pgbook.Policy")
    Traceback (most recent call last):
    ...
    TypeError: policy must be a pgbook.Policy; got None
    """
    if not isinstance(value, expected):
        raise TypeError(f"{name} must be {description}; got {_kind(value)}")


def as_flag(name: str, value: Any) -> bool:
    """Return ``value`` as a bool, or raise a `TypeError` naming ``name`` (a string such as "no" is truthy).

    >>> as_flag("normalized", "no")
    Traceback (most recent call last):
    ...
    TypeError: normalized must be True or False; got str 'no'
    """
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be True or False; got {_kind(value)}")
    return bool(value)


def check_callable(name: str, value: Any, description: str) -> None:
    """Raise a `TypeError` naming ``name`` unless ``value`` is callable (``description`` says how it is called).

    >>> check_callable("reward", None, "a callable reward(actions) -> rewards")
    Traceback (most recent call last):
    ...
    TypeError: reward must be a callable reward(actions) -> rewards; got None
    """
    if not callable(value):
        raise TypeError(f"{name} must be {description}; got {_kind(value)}")


def _kind(value: Any) -> str:
    """What the user passed, for a message: ``None``, ``str '0.2'``, ``ndarray of shape (1,)``, ``list``."""
    if value is None:
        return "None"
    if isinstance(value, str):
        return f"str {value!r}" if len(value) <= 40 else "str"
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return f"{type(value).__name__} of shape {tuple(value.shape)}"
    return type(value).__name__


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


def as_distributions(name: str, value: Any, shape: tuple[int | None, ...]) -> np.ndarray:
    """Return ``value`` as a float64 array of ``shape`` (None: any length) whose slices along the last axis are
    probability distributions, or raise naming ``name``. The rounding allowed is that of the dtype given: a
    float32 table is checked at float32's precision (`check_distributions`).

    >>> pi = np.full((2, 3), 1 / 3, dtype=np.float32)
    >>> pi.astype(np.float64).sum(axis=1) - 1   # float32's rounding, far above 1e-9
    array([2.98023224e-08, 2.98023224e-08])
    >>> as_distributions("pi", pi, (2, 3)).dtype
    dtype('float64')
    """
    given = getattr(value, "dtype", None)
    array = as_real_array(name, value, ndim=len(shape))
    check_shape(name, array, tuple(n if n is not None else m for n, m in zip(shape, array.shape, strict=True)))
    check_distributions(name, array, precision=given if given is not None else np.float64)
    return array


def as_real(name: str, value: Any, *, within: str = "(-inf, inf)") -> float:
    """Return ``value`` as a float in the interval ``within`` ("(0, 1)", "[0, inf)"...), or raise naming ``name``.

    A `TypeError` for anything but a real number (a string, None, a bool, an array of one or more entries: a
    0-dimensional array is a number); a `ValueError` for a number outside ``within`` (nan always is, and ±inf
    unless the interval's end is closed at it).

    >>> as_real("epsilon", "0.2", within="(0, 1)")
    Traceback (most recent call last):
    ...
    TypeError: epsilon must be a real number in (0, 1); got str '0.2'
    >>> as_real("epsilon", np.array([0.2]), within="(0, 1)")
    Traceback (most recent call last):
    ...
    TypeError: epsilon must be a real number in (0, 1); got ndarray of shape (1,)
    >>> as_real("rcond", 1.0, within="[0, 1)")
    Traceback (most recent call last):
    ...
    ValueError: rcond must lie in [0, 1); got 1.0
    """
    where = "" if within == "(-inf, inf)" else f" in {within}"
    scalar = isinstance(value, numbers.Real) or (  # or a 0-dimensional array (numpy's, torch's) of numbers
        getattr(value, "ndim", None) == 0 and np.asarray(value).dtype.kind in "iuf"
    )
    if not scalar or isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be a real number{where}; got {_kind(value)}")
    number = float(value)
    low, high = (float(end) for end in within[1:-1].split(","))
    above = number > low or (within[0] == "[" and number == low)
    below = number < high or (within[-1] == "]" and number == high)
    if not (above and below):
        raise ValueError(
            f"{name} must lie in {within}; got {number}" if where else f"{name} must be finite; got {number}"
        )
    return number


def as_unit_interval(name: str, value: Any) -> float:
    """Return ``value`` as a float in [0, 1] (a discount γ, a probability, GAE's λ), or raise naming ``name``.

    >>> as_unit_interval("gamma", 1.5)
    Traceback (most recent call last):
    ...
    ValueError: gamma must lie in [0, 1]; got 1.5
    """
    return as_real(name, value, within="[0, 1]")


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
    ValueError: scale must be finite; got nan
    """
    return as_real("scale", value)


def as_count(name: str, value: Any, *, minimum: int = 1) -> int:
    """Return ``value`` as an int of at least ``minimum``, or raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int; got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}; got {value}")
    return int(value)
