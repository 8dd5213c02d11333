r"""Frames: a matplotlib figure drawn once for each value of one slider, shown with a live ipywidgets slider
in Jupyter and a plain HTML range slider in the book (no kernel, no JavaScript library)."""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
from collections.abc import Callable, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image


class FigureFrames:
    r"""A figure for each value of one slider, drawn once; a live ipywidgets slider and a static HTML slider
    flip through the same frames, so the figure works with or without a kernel and moves instantly.

    Parameters
    ----------
    draw : callable
        ``draw(figure, value)`` draws the figure for one slider value on an empty matplotlib ``Figure``.
    values : sequence
        The slider's values, in order.
    slider_name : str
        The slider's label, for example ``"episodes N"``.
    caption : str
        HTML shown above the static slider: what the figure shows.
    alt : str
        The image's text alternative, with ``{}`` where the slider's value goes.
    labels : sequence of str, optional
        How each value is written (default ``f"{value:g}"``).
    figsize : (float, float)
    start : int
        The index of the value shown first.

    Examples
    --------
    >>> frames = FigureFrames(lambda figure, value: figure.subplots().plot([0, value]), [1.0, 2.0],
    ...                       slider_name="slope", caption="A line.", alt="A line of slope {}")
    >>> len(frames.frames), frames.labels
    (2, ('1', '2'))
    >>> 'type="range"' in frames.static_html()
    True
    """

    def __init__(
        self,
        draw: Callable[[Figure, object], None],
        values: Sequence,
        *,
        slider_name: str,
        caption: str,
        alt: str,
        labels: Sequence[str] | None = None,
        figsize: tuple[float, float] = (9.5, 3.9),
        start: int = 0,
    ) -> None:
        if not callable(draw):
            raise TypeError(f"draw must be a callable draw(figure, value); got {type(draw).__name__}")
        self.values = tuple(values)
        if not self.values:
            raise ValueError("values must hold at least one slider value")
        self.labels = tuple(labels) if labels is not None else tuple(f"{value:g}" for value in self.values)
        if len(self.labels) != len(self.values):
            raise ValueError(f"labels must give one label per value ({len(self.values)}); got {len(self.labels)}")
        if not 0 <= start < len(self.values):
            raise ValueError(f"start must be an index into values, in [0, {len(self.values)}); got {start}")
        self.slider_name, self.caption, self.alt, self.start = slider_name, caption, alt, start
        self.frames = []
        for value in self.values:
            figure = Figure(figsize=figsize)
            FigureCanvasAgg(figure)
            draw(figure, value)
            figure.canvas.draw()
            self.frames.append(encode_png(figure, compact=True))

    def widget(self):
        """The live version: an ipywidgets slider over the precomputed frames."""
        import ipywidgets as widgets

        image = widgets.Image(value=self.frames[self.start], format="png")
        slider = widgets.SelectionSlider(
            options=[(label, k) for k, label in enumerate(self.labels)], value=self.start, description=self.slider_name
        )

        def redraw(_change=None) -> None:
            image.value = self.frames[slider.value]

        slider.observe(redraw, names="value")
        return widgets.VBox([slider, image])

    def static_html(self) -> str:
        """The frames with a plain HTML range slider, for a page without a kernel."""
        return frames_html(
            self.frames, self.labels, start=self.start, slider_name=self.slider_name, caption=self.caption, alt=self.alt
        )


def encode_png(figure: Figure, *, compact: bool = False) -> bytes:
    """The figure's canvas, already drawn, as PNG bytes: fast and light compression for the live widget, or
    ``compact`` (a 256-colour palette, about a third of the size) for frames embedded in the book's pages."""
    image = Image.fromarray(np.asarray(figure.canvas.buffer_rgba()))
    buffer = io.BytesIO()
    if compact:
        image.convert("RGB").quantize(256).save(buffer, format="png", optimize=True)
    else:
        image.save(buffer, format="png", compress_level=1)
    return buffer.getvalue()


def frames_html(
    frames: Sequence[bytes], labels: Sequence[str], *, start: int, slider_name: str, caption: str, alt: str
) -> str:
    """Precomputed PNG frames with a range slider that needs no kernel and no JavaScript library.

    ``caption`` is HTML; ``alt`` holds ``{}`` where the slider's label goes. The element's id is a hash of
    its content, so that two builds give the same page and two figures on one page do not collide.
    """
    sources = ["data:image/png;base64," + base64.b64encode(frame).decode() for frame in frames]
    identity = "pgbook-" + hashlib.sha1(repr((caption, labels, sources)).encode()).hexdigest()[:12]
    before, _, after = alt.partition("{}")
    return f"""<div class="pgbook-frames" id="{identity}">
<p>{caption}</p>
<label>{html.escape(slider_name)} = <output>{html.escape(labels[start])}</output>
<input type="range" min="0" max="{len(sources) - 1}" value="{start}" step="1" style="width: 60%"
 aria-label="{html.escape(slider_name)}" aria-valuetext="{html.escape(labels[start])}"></label>
<img src="{sources[start]}" alt="{html.escape(alt.format(labels[start]))}" style="max-width: 100%">
<script>
(function () {{
  const root = document.getElementById("{identity}");
  const frames = {json.dumps(sources)};
  const labels = {json.dumps(list(labels))};
  const input = root.querySelector("input"), image = root.querySelector("img"), label = root.querySelector("output");
  input.addEventListener("input", function () {{
    image.src = frames[input.value];
    label.textContent = labels[input.value];
    input.setAttribute("aria-valuetext", labels[input.value]);  // a screen reader says the value, not the index
    image.alt = {json.dumps(before)} + labels[input.value] + {json.dumps(after)};
  }});
}})();
</script>
</div>"""
