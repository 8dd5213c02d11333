r"""Frames: a matplotlib figure drawn once for each value of one slider, shown with a live ipywidgets slider
in Jupyter and a plain HTML range slider in the book (no kernel, no JavaScript library).

The frames are compact SVG: vector, so crisp at any size and on any screen. In the book's
page the first frame shown is the image's own source and every other frame is stored as its differences from
that one (the axes, ticks, labels and legends that the frames share are sent once)."""

from __future__ import annotations

import difflib
import hashlib
import html
import io
import json
import re
from collections.abc import Callable, Sequence

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


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
        In inches. The default's 7.2 in is the book's 688-px text column at 96 px per inch: a laptop shows the
        figure at its own size, so that text keeps its point size (10 pt is 13 px). A wider figure is scaled down
        and its text with it.
    start : int
        The index of the value shown first.

    Examples
    --------
    >>> frames = FigureFrames(lambda figure, value: figure.subplots().plot([0, value]), [1.0, 2.0],
    ...                       slider_name="slope", caption="A line.", alt="A line of slope {}")
    >>> len(frames.frames), frames.labels
    (2, ('1', '2'))
    >>> frames.frames[0].startswith(b"<svg")
    True
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
        figsize: tuple[float, float] = (7.2, 3.9),
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
            self.frames.append(encode_svg(figure))

    def widget(self):
        """The live version: an ipywidgets slider over the precomputed frames."""
        import ipywidgets as widgets

        image = widgets.Image(value=self.frames[self.start], format="svg+xml", layout={"width": "100%"})
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


def encode_svg(figure: Figure) -> bytes:
    """The figure as compact SVG bytes, the same for the same figure (no date, fixed ids): coordinates to 0.01 pt
    (a fiftieth of a pixel on a 2x screen), no metadata, ids or indentation. Text is drawn as matplotlib draws
    it (each glyph's outline defined once, then placed), so that it looks and fits as in the book's other
    figures on every device, not in whatever font the reader's system has."""
    buffer = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": "pgbook"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    return compact_svg(buffer.getvalue().decode()).encode()


def _number(match: re.Match) -> str:
    text = f"{float(match.group()):.2f}".rstrip("0").rstrip(".")
    text = re.sub(r"^(-?)0\.", r"\1.", text)
    return "0" if text in ("-0", "") else text


def _attribute(match: re.Match) -> str:
    name, value = match.group(1), match.group(2)
    if name == "d":  # path data: "M 1.5 2 \nL 3 4 \nz" → "M1.5 2L3 4z"
        value = re.sub(r"\s*([A-Za-z])\s*", r"\1", value)
    elif name == "style":  # "fill: none; stroke: #000000" → "fill:none;stroke:#000000"
        value = re.sub(r"\s*([:;])\s*", r"\1", value).strip(";")
    if name == "transform":  # positions only: a glyph's scale(0.015625) rounded would redraw it at another size
        value = re.sub(r"translate\([^)]*\)", lambda m: re.sub(r"-?\d*\.\d+", _number, m.group()), value)
    else:
        value = re.sub(r"-?\d*\.\d+", _number, value)
    value = re.sub(r"\s+", " ", value).strip()
    quote = "'" if "'" not in value else '"'
    return f" {name}={quote}{value}{quote}"


def _style(match: re.Match) -> str:
    return match.group(1) + re.sub(r"\s*([{}:;,])\s*", r"\1", match.group(2)) + match.group(3)


def compact_svg(svg: str) -> str:
    """Matplotlib's SVG without what an image in a web page does not use, on one line.

    Dropped: the XML declaration, doctype and metadata, ids nothing refers to, the wrapper groups that have
    no attributes, indentation, spaces in path data and styles; numbers are rounded to two decimals
    (matplotlib writes six, in points).
    """
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)
    referenced = set(re.findall(r'(?:href="|url\()#([^")]+)', svg))
    svg = re.sub(r'\sid="([^"]*)"', lambda m: m.group() if m.group(1) in referenced else "", svg)
    svg = svg.replace("xlink:href=", "href=").replace(' xmlns:xlink="http://www.w3.org/1999/xlink"', "")
    svg = re.sub(r'\s([\w:-]+)="([^"]*)"', _attribute, svg)
    svg = re.sub(r">\s+<", "><", svg.strip())
    svg = re.sub(r"(<style[^>]*>)(.*?)(</style>)", _style, svg, flags=re.S)
    kept, depth = [], []  # unwrap <g> without attributes: it changes nothing
    for tag in re.split(r"(<g>|<g [^>]*>|</g>)", svg):
        if tag == "<g>" or tag == "</g>" and depth and not depth[-1]:
            if tag == "<g>":
                depth.append(False)
            else:
                depth.pop()
            continue
        if tag.startswith("<g "):
            depth.append(True)
        elif tag == "</g>":
            depth.pop()
        kept.append(tag)
    return "".join(kept).replace("\n", "&#10;")


def frame_changes(first: str, other: str) -> list:
    """``other`` as its differences from ``first``, both SVG text cut at tag boundaries: a list of ``[i, j]``
    (the ``first``'s pieces ``i`` to ``j - 1``) and strings (new text), whose concatenation is ``other``.

    >>> first, other = "<svg><a/><b/></svg>", "<svg><a/><c/></svg>"
    >>> changes = frame_changes(first, other)
    >>> changes
    [[0, 2], '<c/>', [3, 4]]
    >>> pieces = _pieces(first)
    >>> "".join(c if isinstance(c, str) else "".join(pieces[c[0] : c[1]]) for c in changes) == other
    True
    """
    pieces, others = _pieces(first), _pieces(other)
    changes: list = []
    matcher = difflib.SequenceMatcher(None, pieces, others, autojunk=False)
    for operation, i, j, k, m in matcher.get_opcodes():
        if operation == "equal":
            changes.append([i, j])
        elif k < m:
            text = "".join(others[k:m])
            if changes and isinstance(changes[-1], str):
                changes[-1] += text
            else:
                changes.append(text)
    return changes


def _pieces(svg: str) -> list[str]:
    """SVG text cut before each tag; the page's script cuts it the same way (``compact_svg`` leaves no newline)."""
    return svg.replace("><", ">\n<").split("\n")


def _script_json(value) -> str:
    """JSON that can sit in a ``<script>`` element: no ``</script`` or ``<!--`` in it."""
    return re.sub(r"<(?=/script|!--)", r"\\u003c", json.dumps(value, ensure_ascii=False), flags=re.I)


def frames_html(
    frames: Sequence[bytes], labels: Sequence[str], *, start: int, slider_name: str, caption: str, alt: str
) -> str:
    """SVG frames with a range slider that needs no kernel and no JavaScript library.

    ``caption`` is HTML; ``alt`` holds ``{}`` where the slider's label goes. The image's source is the frame
    at ``start`` (a data URL: the page shows it without JavaScript); the script holds each other frame as its
    differences from it (:func:`frame_changes`). The element's id is a hash of its content, so that two builds
    give the same page and two figures on one page do not collide.
    """
    texts = [frame.decode() for frame in frames]
    first = texts[start]
    changes = [None if k == start else frame_changes(first, text) for k, text in enumerate(texts)]
    source = "data:image/svg+xml;charset=utf-8," + re.sub(r'[%#"&]', lambda m: f"%{ord(m.group()):02X}", first)
    identity = "pgbook-" + hashlib.sha1(repr((caption, labels, texts)).encode()).hexdigest()[:12]
    before, _, after = alt.partition("{}")
    return f"""<div class="pgbook-frames" id="{identity}">
<p>{caption}</p>
<label>{html.escape(slider_name)} = <output>{html.escape(labels[start])}</output>
<input type="range" min="0" max="{len(frames) - 1}" value="{start}" step="1" style="width: 60%"
 aria-label="{html.escape(slider_name)}" aria-valuetext="{html.escape(labels[start])}"></label>
<img src="{source}" alt="{html.escape(alt.format(labels[start]))}" style="width: 100%">
<script>
(function () {{
  const root = document.getElementById("{identity}");
  const changes = {_script_json(changes)};
  const labels = {_script_json(list(labels))};
  const input = root.querySelector("input"), image = root.querySelector("img"), label = root.querySelector("output");
  const first = image.getAttribute("src");
  const pieces = decodeURIComponent(first.slice(first.indexOf(",") + 1)).replace(/></g, ">\\n<").split("\\n");
  const frames = changes.map(function (frame) {{
    if (frame === null) return first;
    const text = frame.map(function (change) {{
      return typeof change === "string" ? change : pieces.slice(change[0], change[1]).join("");
    }}).join("");
    return "data:image/svg+xml;charset=utf-8," + encodeURIComponent(text);
  }});
  input.addEventListener("input", function () {{
    image.src = frames[input.value];
    label.textContent = labels[input.value];
    input.setAttribute("aria-valuetext", labels[input.value]);  // a screen reader says the value, not the index
    image.alt = {json.dumps(before)} + labels[input.value] + {json.dumps(after)};
  }});
}})();
</script>
</div>"""
