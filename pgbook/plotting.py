"""Figures the chapters share: drawn on a given matplotlib ``Figure``, so that the same code serves a page's
static image and the frames of an interactive figure (:class:`pgbook.figures.frames.FigureFrames`).

They are drawn for the book's 688 px text column: a figure at most 7.2 inches wide, no text below 9 points
(book/matplotlibrc sets the sizes and 2x resolution for the chapters). Each figure a chapter shows is drawn a
second time for a phone's column (:func:`phone_drawings`, which book/matplotlibrc installs)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure

from pgbook.figures.frames import encode_phone_svg
from pgbook.gradient_estimate import GradientEstimate
from pgbook.stats import relative_variance


def draw_cosine_spread(
    figure: Figure, estimates: Mapping[str, GradientEstimate], exact: np.ndarray, n_episodes: int
) -> None:
    r"""For each estimator, the spread of cos(estimate from ``n_episodes`` episodes, ∇J) over disjoint batches
    (box: quartiles, whiskers: 5–95%), the prediction :math:`1/\sqrt{1 + \kappa/N}` (diamond), and κ itself.

    Examples
    --------
    >>> import pgbook as pg
    >>> mdp = pg.examples.bandit([1.0, 0.0])
    >>> policy = pg.TabularSoftmax(1, 2)
    >>> batch = pg.sample_episodes(mdp, policy, np.zeros((1, 2)), 400, max_steps=1, seed=0)
    >>> figure = Figure()
    >>> draw_cosine_spread(figure, {"REINFORCE": pg.reinforce(batch, policy, np.zeros((1, 2)))},
    ...                    pg.exact_gradient(mdp, policy, np.zeros((1, 2))), 10)
    >>> [axes.get_xlabel() for axes in figure.axes]
    ['cosine to the exact gradient', 'κ = tr Cov / ‖∇J‖² (log scale)']
    """
    cosine_axes, kappa_axes = figure.subplots(1, 2, width_ratios=(1.6, 1), sharey=True)
    names = list(estimates)
    positions = np.arange(len(names))[::-1]
    direction = exact.ravel() / np.linalg.norm(exact)
    kappas = []
    for position, name in zip(positions, names, strict=True):
        estimate = estimates[name]
        means = estimate.batch_means(n_episodes).reshape(-1, exact.size)
        norms = np.linalg.norm(means, axis=1)
        cosines = means[norms > 0] @ direction / norms[norms > 0]
        cosine_axes.boxplot(
            cosines, positions=[position], orientation="horizontal", widths=0.6, whis=(5, 95), showfliers=False
        )
        kappa = relative_variance(estimate, exact)
        kappas.append(kappa)
        cosine_axes.plot(1 / np.sqrt(1 + kappa / n_episodes), position, "D", color="tab:red", markersize=5)
    cosine_axes.plot([], [], "D", color="tab:red", markersize=5, label="predicted 1/√(1 + κ/N)")
    cosine_axes.set_xlim(-1.05, 1.05)
    cosine_axes.axvline(0.0, color="grey", linewidth=0.6)
    cosine_axes.set_yticks(positions, names)
    cosine_axes.set_xlabel("cosine to the exact gradient")
    cosine_axes.legend(loc="lower left", fontsize=9)
    cosine_axes.set_title(f"estimates from N = {n_episodes} episode{'' if n_episodes == 1 else 's'}", fontsize=10)
    kappa_axes.barh(positions, kappas, color="tab:blue", alpha=0.7)
    kappa_axes.set_xscale("log")
    kappa_axes.set_xlabel("κ = tr Cov / ‖∇J‖² (log scale)")
    kappa_axes.set_title("episodes for cosine ≈ 0.7", fontsize=10)
    kappa_axes.tick_params(labelsize=10)  # the log axis's exponents (0.7 of it) stay 9 px tall
    figure.tight_layout()


PHONE_KEY = "pgbook/phone"  # the key of the phone's drawing in a figure output's image/png metadata


def phone_drawings(figure: Figure) -> None:
    """Each figure a notebook shows is also drawn for a phone's column, in its output's metadata.

    A matplotlib figure hook (``figure.hooks: pgbook.plotting:phone_drawings`` in book/matplotlibrc): under
    IPython, the first pyplot figure wraps the inline backend's PNG of a figure, so that the figure's output
    holds, beside its PNG, the SVG of :func:`pgbook.figures.frames.encode_phone_svg` in its ``image/png``
    metadata (key :data:`PHONE_KEY`). The book serves it to phones (book/_ext/phone_figures.py); Jupyter, which
    shows the PNG, ignores it. Outside IPython, or before the inline backend, it does nothing.

    Parameters
    ----------
    figure : matplotlib.figure.Figure
        The new figure (the hook's argument; only its type is used).

    Examples
    --------
    >>> phone_drawings(Figure())  # not under IPython: nothing to do
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    formatter = shell.display_formatter.formatters["image/png"]
    try:
        draw_png = formatter.lookup_by_type(Figure)
    except KeyError:  # no inline backend
        return
    if getattr(draw_png, "_pgbook_phone", False):
        return

    def draw_both(shown: Figure):
        drawn = draw_png(shown)
        if drawn is None:
            return None
        png, metadata = drawn if isinstance(drawn, tuple) else (drawn, {})
        return png, {**metadata, PHONE_KEY: encode_phone_svg(shown).decode()}

    draw_both._pgbook_phone = True
    formatter.for_type(Figure, draw_both)
