r"""The book's interactive figures: the presentation layer, apart from the core (``import pgbook`` does not load
it, nor matplotlib, Pillow, ipywidgets or anywidget). Install with ``pip install pgbook[figures]``.

- :class:`GradientExplorer` (``explorer``): a Monte-Carlo gradient against the finite-difference and exact
  gradients, every control answered in the browser, with or without a kernel;
- :class:`FigureFrames` (``frames``): a matplotlib figure drawn once for each value of one slider.

:func:`show` displays either from one cell: Jupyter shows the live widget; the book's HTML build is told to
prefer the static version (``nb_mime_priority_overrides`` in ``_config.yml``).
"""

from __future__ import annotations

from pgbook.figures.explorer import BASELINES, ESTIMATORS, Comparison, GradientExplorer, corridor_explorer
from pgbook.figures.frames import FigureFrames, encode_svg, frames_html

__all__ = [
    "BASELINES",
    "ESTIMATORS",
    "Comparison",
    "FigureFrames",
    "GradientExplorer",
    "LiveFigure",
    "corridor_explorer",
    "encode_svg",
    "frames_html",
    "show",
]


class LiveFigure:
    """One output holding the live widget and its static HTML version; the viewer picks what it can show
    (Jupyter the live widget, the HTML book the static version: ``nb_mime_priority_overrides``)."""

    def __init__(self, live, static: str) -> None:
        self.live, self.static = live, static

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = self.live._repr_mimebundle_(include=include, exclude=exclude)
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        return {**data, "text/html": self.static}


def show(figure: GradientExplorer | FigureFrames, **initial) -> LiveFigure:
    """Display the live widget in Jupyter and the static version in the HTML book, from one cell."""
    if not isinstance(figure, GradientExplorer | FigureFrames):
        raise TypeError(f"figure must be a GradientExplorer or a FigureFrames; got {type(figure).__name__}")
    return LiveFigure(figure.widget(**initial), figure.static_html(**initial))
