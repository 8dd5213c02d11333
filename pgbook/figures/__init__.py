r"""The book's interactive figures: the presentation layer, apart from the core (``import pgbook`` does not load
it, nor matplotlib, Pillow, ipywidgets or anywidget). Install with ``pip install pgbook[figures]``.

- :class:`GradientExplorer` (``explorer``, loaded on first use, with anywidget): a Monte-Carlo gradient against
  the finite-difference and exact gradients, every control answered in the browser, with or without a kernel;
  its numbers come from a :class:`GradientGrid` (``gradient_grid``) and its :class:`ExplorerTable`
  (``explorer_table``);
- :class:`FigureFrames` (``frames``): a matplotlib figure drawn once for each value of one slider (no anywidget).

:func:`show` displays either from one cell: Jupyter shows the live widget; the book's HTML build is told to
prefer the static version (``nb_mime_priority_overrides`` in ``_config.yml``).
"""

from __future__ import annotations

import importlib

from pgbook.figures.frames import FigureFrames, encode_svg, frames_html

__all__ = [
    "BASELINES",
    "ESTIMATORS",
    "Comparison",
    "ExplorerTable",
    "FigureFrames",
    "GradientExplorer",
    "GradientGrid",
    "LiveFigure",
    "corridor_explorer",
    "corridor_grid",
    "encode_svg",
    "frames_html",
    "show",
]
_LAZY = {
    "BASELINES": "gradient_grid",
    "ESTIMATORS": "gradient_grid",
    "Comparison": "gradient_grid",
    "GradientGrid": "gradient_grid",
    "ExplorerTable": "explorer_table",
    "GradientExplorer": "explorer",
    "corridor_explorer": "explorer",
    "corridor_grid": "explorer",
}


def __getattr__(name: str):
    """The explorer's names load on first use: ``pg.figures.FigureFrames`` needs neither anywidget nor the
    explorer's modules."""
    if name in _LAZY:
        return getattr(importlib.import_module(f"pgbook.figures.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'pgbook.figures' has no attribute {name!r}")


class LiveFigure:
    """One output holding the live widget and its static HTML version; the viewer picks what it can show
    (Jupyter the live widget, the HTML book the static version: ``nb_mime_priority_overrides``)."""

    def __init__(self, live, static: str) -> None:
        self.live, self.static = live, static

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = self.live._repr_mimebundle_(include=include, exclude=exclude)
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        return {**data, "text/html": self.static}


def show(figure, **initial) -> LiveFigure:
    """Display the live widget in Jupyter and the static version in the HTML book, from one cell (``figure``: a
    :class:`GradientExplorer` or a :class:`FigureFrames`)."""
    if not (callable(getattr(figure, "widget", None)) and callable(getattr(figure, "static_html", None))):
        raise TypeError(f"figure must be a GradientExplorer or a FigureFrames; got {type(figure).__name__}")
    return LiveFigure(figure.widget(**initial), figure.static_html(**initial))
