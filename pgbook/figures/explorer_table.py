r"""The explorer's table: every estimate of a :class:`~pgbook.figures.gradient_grid.GradientGrid` as the figure
stores it, saved and loaded as a file, and encoded as the view receives it.

Quantisation, chosen so that no number the figure prints changes: means and standard errors are stored as
float16 in units of the exact gradient's norm at their θ and γ (relative error at most 2⁻¹¹ ≈ 0.05%, no overflow
or subnormals: under a tenth of a pixel on the bar chart; the figure prints no mean or standard error, since
float16 would move their third significant digit in a few percent of settings); the cosine, which it prints to
three decimals, as that rounded value (an int16 of 1000 × cos). The exact and finite-difference gradients, of which
there are few, are not stored: they are computed afresh (exactly) and sent as float32. Rounding to float16 and to
three decimals also makes the table the same on every machine: a fresh computation reproduces it bit for bit
although the last bits of a float64 sum may differ between processors.

Encoding for the view (lossless for the numbers stored): the cosines are sent as their difference from the
cosine the view computes from the float16 means (98% of them zero); the table, in the order that compresses best
(:data:`STATIC_ORDER`), and the cosines are split into byte planes and zlib-compressed (the browser's
DecompressionStream inflates them).
"""

from __future__ import annotations

import base64
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

NO_COSINE = -32768  # stored where the cosine is undefined (no estimate, or a zero vector, as stored)
# The table, axes (γ, θ₀, θ₁, option, N, component), is sent in the order (component, N, option, θ₀, θ₁, γ):
# neighbouring values then differ least (the same component, N and option at nearby θ and γ), and it compresses
# best of the orders with the component first (259 kB against 293 kB in the table's own order).
STATIC_ORDER = (5, 4, 3, 1, 2, 0)


@dataclass(frozen=True)
class ExplorerTable:
    """Every estimate the figure can show, as it stores them.

    Attributes
    ----------
    estimates : numpy.ndarray of float16, shape (γ, θ₀ index, θ₁ index, option, N, 4)
        The means and standard errors of :meth:`GradientGrid.estimates`, in units of the exact gradient's norm.
    cosines : numpy.ndarray of int16, shape (γ, θ₀ index, θ₁ index, option, N)
        cos(estimate, exact) rounded to the three decimals the figure prints, as 1000 × cos (:data:`NO_COSINE`
        where undefined: no estimate, or one whose stored mean is zero).
    """

    estimates: np.ndarray
    cosines: np.ndarray

    @classmethod
    def quantised(cls, estimates: np.ndarray, exact: np.ndarray) -> ExplorerTable:
        """The stored form of ``estimates`` (:meth:`GradientGrid.estimates`, or a slice of it) and the exact
        gradients at the same points, shape (..., 2)."""
        stored = as_stored(estimates, exact[..., None, None, :])
        exact = exact[..., None, None, :]
        means = estimates[..., :2]
        norms = np.linalg.norm(means, axis=-1) * np.linalg.norm(exact, axis=-1)
        defined = np.isfinite(norms) & (norms > 0) & np.any(stored[..., :2] != 0, axis=-1)
        cosines = np.divide((means * exact).sum(-1), norms, out=np.zeros(norms.shape), where=defined)
        return cls(stored, np.where(defined, np.round(1000 * cosines), NO_COSINE).astype("<i2"))

    def save(self, path: str | Path) -> None:
        """Write the table to ``path`` (a compressed ``.npz``); :meth:`load` reads it back."""
        np.savez_compressed(path, estimates=self.estimates, cosines=self.cosines)

    @classmethod
    def load(cls, path: str | Path) -> ExplorerTable:
        """The table :meth:`save` wrote to ``path``."""
        with np.load(path) as stored:
            return cls(stored["estimates"], stored["cosines"])

    def encoded(self, exact: np.ndarray, finite_difference: np.ndarray) -> dict[str, str]:
        """Every number the view draws, as it receives them (live and static alike): the exact and
        finite-difference gradients as float32, the table in the order :data:`STATIC_ORDER`, and the printed
        cosines as their difference from what the view computes from those (:func:`cosine_residuals`: almost all
        zero); the last two as zlib-compressed byte planes (:func:`encode`), base64."""
        exact = exact.astype("<f4")
        return dict(
            exact=encode(exact, "<f4"), fd=encode(finite_difference, "<f4"),
            table=encode(self.estimates.transpose(STATIC_ORDER), "<f2", compress=True),
            cosines=encode(cosine_residuals(self.estimates, exact, self.cosines), "<i2", compress=True),
        )  # fmt: skip


def as_stored(values: np.ndarray, exact: np.ndarray) -> np.ndarray:
    """``values`` (last axis: any length) as the table stores them: float16, in units of the norm of ``exact``
    (last axis: the gradient; float32, as the view has it), a zero signless (+0: its sign is rounding's). A mean
    stored as zero (under 2⁻²⁵ |∇J|) is a zero estimate up to rounding (an N = 2 batch baseline's ~1e-14): its
    direction is the last bits of a float64 sum, so it has no cosine (:meth:`ExplorerTable.quantised`,
    ``GradientGrid.compare``)."""
    unit = np.maximum(np.linalg.norm(np.asarray(exact).astype("<f4"), axis=-1), 1e-12)[..., None]
    return (values / unit).astype("<f2") + np.float16(0)


def cosine_residuals(table: np.ndarray, exact: np.ndarray, cosines: np.ndarray) -> np.ndarray:
    """The printed cosines (int16 of 1000 × cos, :data:`NO_COSINE` where undefined) less the view's own estimate
    of them from the stored float16 means ``table[..., :2]`` and float32 ``exact``, computed as the view does
    (IEEE double, the same operations in the same order, JavaScript's rounding ``floor(x + 0.5)``; 0 where the
    view finds the cosine undefined). The view adds them back: the printed cosine is exact, and the residuals,
    almost all zero, compress to almost nothing."""
    means, exact = table[..., :2].astype(float), exact.astype(float)[..., None, None, :]
    dot = means[..., 0] * exact[..., 0] + means[..., 1] * exact[..., 1]
    norms = np.sqrt(means[..., 0] * means[..., 0] + means[..., 1] * means[..., 1]) * np.sqrt(
        exact[..., 0] * exact[..., 0] + exact[..., 1] * exact[..., 1]
    )
    defined = np.isfinite(norms) & (norms > 0)
    estimate = np.where(
        defined, np.floor(1000 * np.divide(dot, norms, out=np.zeros(norms.shape), where=defined) + 0.5), 0
    )
    return np.where(cosines == NO_COSINE, NO_COSINE, cosines - estimate).astype(np.int16)


def encode(values: np.ndarray, dtype: str, *, compress: bool = False) -> str:
    """Base64 of the values, flattened, as little-endian ``dtype`` (float16, float32, int16); ``compress``:
    their bytes split into planes (every value's first byte, then every second byte: the sign-and-exponent
    bytes, which vary little, together) and zlib-compressed (the view inflates them with the browser's
    DecompressionStream and interleaves the planes again). Lossless: the planes only compress better."""
    values = np.asarray(values, dtype=dtype).ravel()
    if not compress:
        return base64.b64encode(values.tobytes()).decode()
    planes = values.view(np.uint8).reshape(values.size, values.itemsize).T
    return base64.b64encode(zlib.compress(planes.tobytes(), 9)).decode()
