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
import pickle
import re
import warnings
from collections.abc import Callable, Sequence
from functools import partial

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.gridspec import GridSpec, GridSpecFromSubplotSpec
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.legend import Legend
from matplotlib.text import Text
from matplotlib.ticker import FixedFormatter, Formatter, FuncFormatter
from matplotlib.transforms import Bbox

# A phone's drawing: 3.3 in is 317 CSS px, narrower than a 390-px phone's column (342 px, 326 px inside a
# numbered figure), so that the drawing is shown at its own size and a point of text is 4/3 CSS px there.
PHONE_WIDTH = 3.3
PHONE_MEDIA = "(max-width: 576px)"  # where the book shows the phone's drawing (the theme's phone breakpoint)


class FigureFrames:
    r"""A figure for each value of one slider, drawn once; a live ipywidgets slider and a static HTML slider
    flip through the same frames, so the figure works with or without a kernel and moves instantly.

    Each frame is drawn twice: for the book's column (``frames``) and for a phone's (``phone_frames``,
    :func:`phone_figure`, all cropped to one box), which the static version shows on a narrow screen.

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
    >>> frames.frames[0].startswith(b"<svg"), frames.phone_frames[0].startswith(b"<svg")
    (True, True)
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
        self.frames, phones = [], []
        for value in self.values:
            figure = Figure(figsize=figsize)
            FigureCanvasAgg(figure)
            draw(figure, value)
            self.frames.append(encode_svg(figure))
            phones.append(phone_figure(figure))
        # the phone's frames are cropped alike, to what any of them draws, so that a slider keeps their size
        shown = Bbox.union([phone.get_tightbbox() for phone in phones]).padded(0.1)
        self.phone_frames = [encode_svg(phone, bbox_inches=shown) for phone in phones]

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
            self.frames,
            self.labels,
            start=self.start,
            slider_name=self.slider_name,
            caption=self.caption,
            alt=self.alt,
            phone_frames=self.phone_frames,
        )


def encode_svg(figure: Figure, bbox_inches: str | Bbox | None = None) -> bytes:
    """The figure as compact SVG bytes, the same for the same figure (no date, fixed ids): coordinates to 0.01 pt
    (a fiftieth of a pixel on a 2x screen), no metadata, ids or indentation. Text is drawn as matplotlib draws
    it (each glyph's outline defined once, then placed), so that it looks and fits as in the book's other
    figures on every device, not in whatever font the reader's system has. ``bbox_inches``, as
    matplotlib's ``savefig`` takes it, crops the figure: ``"tight"`` to what is drawn (as Jupyter's inline
    backend crops its PNG), a ``Bbox`` to that box, in inches."""
    buffer = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": "pgbook"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches=bbox_inches)
    return compact_svg(buffer.getvalue().decode()).encode()


def encode_phone_svg(figure: Figure) -> bytes:
    """The figure redrawn for a phone's column (:func:`phone_figure`) as compact SVG (:func:`encode_svg`),
    cropped to what is drawn (``bbox_inches="tight"``, as Jupyter crops a figure's PNG); the figure is unchanged.

    Examples
    --------
    >>> figure = Figure(figsize=(7.2, 3.4))
    >>> left, right = figure.subplots(1, 2)
    >>> _ = left.plot([1, 2]), right.semilogy([1, 100])
    >>> svg = encode_phone_svg(figure).decode()
    >>> size = svg[: svg.index("viewBox")]  # "<svg width='…pt' height='…pt' "
    >>> width, height = (float(number) for number in re.findall("[.0-9]+", size))
    >>> width <= 72 * PHONE_WIDTH < height  # at most 3.3 in (72 pt each) wide, two panels of 2.55 in tall
    True
    >>> [axes.get_subplotspec().get_geometry()[:2] for axes in figure.axes]  # the figure is as it was
    [(1, 2), (1, 2)]
    """
    return encode_svg(phone_figure(figure), bbox_inches="tight")


def phone_figure(figure: Figure) -> Figure:
    """A copy of the figure laid out for a phone's column; the figure is unchanged.

    The copy is :data:`PHONE_WIDTH` inches wide, so that the phone shows it at its own size and its text at
    its point size (9 pt is 12 CSS px; drawn 7.2 in wide, a figure is shown at half its size there). A single
    row of panels becomes a column, each panel 3/4 as tall as the figure was (2.2 to 2.8 in), and a
    superscript or subscript (a log axis's exponent: 0.7 of its label) is drawn from a 10-pt label, so that it
    is at least 9 CSS px too. The layout is redone (``tight_layout``, unless the figure has constrained
    layout): names longer than 16 characters as tick labels, and the long lines of a title or label that
    does not fit, are broken in two; a legend wider than the column is laid out in one column; and the figure
    grows if a panel is then less than 1.8 in tall. (Some of this reaches into matplotlib's private
    attributes: the suptitle, the side titles, a legend's layout and a colorbar's grid cell.)

    Examples
    --------
    >>> figure = Figure(figsize=(7.2, 3.4))
    >>> _ = figure.subplots(1, 3)
    >>> phone = phone_figure(figure)
    >>> float(phone.get_figwidth()), [axes.get_subplotspec().rowspan.start for axes in phone.axes]
    (3.3, [0, 1, 2])
    """
    if not isinstance(figure, Figure):
        raise TypeError(f"figure must be a matplotlib Figure; got {type(figure).__name__}")
    phone = pickle.loads(pickle.dumps(figure))
    FigureCanvasAgg(phone)
    rows = _stack_panels(phone)
    height = min(max(0.75 * figure.get_figheight(), 2.2), 2.8)
    phone.set_size_inches(PHONE_WIDTH, rows * height + (0.3 if phone._suptitle is not None else 0.0))
    phone.draw_without_rendering()  # makes the tick labels, so that every text can be measured
    for axes in phone.axes:
        for axis in (axes.xaxis, axes.yaxis):
            if any(_has_scripts(label.get_text()) and label.get_fontsize() < 10 for label in axis.get_ticklabels()):
                axis.set_tick_params(labelsize=10)
            names = axis.get_major_formatter()  # names as tick labels (set_ticks(…, labels)): a long one in two lines
            if isinstance(names, FixedFormatter | FuncFormatter):
                axis.set_major_formatter(FuncFormatter(partial(_short_lines, names)))
    for text in phone.findobj(Text):
        if _has_scripts(text.get_text()) and text.get_fontsize() < 10:
            text.set_fontsize(10)
    for legend in phone.findobj(Legend):
        if legend.get_window_extent().width > 0.9 * phone.bbox.width:
            _one_column(legend)
    if not phone.axes or isinstance(phone.get_layout_engine(), ConstrainedLayoutEngine):
        return phone  # nothing to lay out, or a layout that is redone as it draws
    with warnings.catch_warnings():  # "Tight layout not applied" (the drawing is checked: test_figure_text.py)
        warnings.simplefilter("ignore", UserWarning)
        phone.tight_layout()
        phone.draw_without_rendering()  # places the labels where the new layout puts them
        texts = [phone._suptitle] if phone._suptitle is not None else []
        for axes in phone.axes:
            texts += [axes.title, axes._left_title, axes._right_title, axes.xaxis.label, axes.yaxis.label]
        if sum(_break_line(text, phone.bbox) for text in texts):
            phone.tight_layout()
        # a legend or labels outside the panels leave them too short: the figure grows to give them 1.8 in
        shortest = min(axes.get_position().height for axes in phone.axes) * phone.get_figheight()
        if shortest < 1.8:
            phone.set_figheight(phone.get_figheight() + rows * (1.8 - shortest))
            phone.tight_layout()
    return phone


def _break_line(text: Text, box) -> bool:
    """Breaks the long lines of a text that reaches out of ``box`` (display units) at their middle space."""
    words = text.get_text()
    if " " not in words or "$" in words:
        return False
    extent = text.get_window_extent()
    if box.x0 <= extent.x0 and extent.x1 <= box.x1 and box.y0 <= extent.y0 and extent.y1 <= box.y1:
        return False
    longest = max(len(line) for line in words.split("\n"))
    text.set_text("\n".join(_broken(line) if len(line) >= 0.75 * longest else line for line in words.split("\n")))
    return True


def _short_lines(names: Formatter, value: float, position: int | None = None) -> str:
    """The tick label ``names`` gives, broken in two lines if it is longer than 16 characters."""
    name = names(value, position)  # (axes that share an axis share its formatter: it may be wrapped twice)
    return _broken(name) if len(name) > 16 and "\n" not in name else name


def _broken(words: str) -> str:
    """``words`` in two lines, broken at the space nearest the middle (if it has one)."""
    spaces = [k for k, character in enumerate(words) if character == " "]
    if not spaces or "$" in words:
        return words
    middle = min(spaces, key=lambda k: abs(2 * k - len(words)))
    return words[:middle] + "\n" + words[middle + 1 :]


def _one_column(legend: Legend) -> None:
    """Lays a legend out anew in one column (matplotlib lays out its columns when it makes it)."""
    title = legend.get_title()
    words, font = title.get_text(), title.get_fontproperties()
    legend.set_ncols(1)
    legend._init_legend_box(legend.legend_handles, [text.get_text() for text in legend.texts])
    legend._loc = legend._loc  # places the new box where the legend was placed
    legend.set_title(words or None, prop=font)


def _has_scripts(text: str) -> bool:
    """Whether matplotlib draws part of ``text`` at 0.7 of its size (mathtext with ^ or _)."""
    return text.count("$") >= 2 and bool(re.search(r"[_^]", text))


def _stack_panels(figure: Figure) -> int:
    """Puts a figure's single row of panels (a grid of one row, made by ``subplots(1, n)``) in a column; returns
    the number of rows. Twin axes follow their panel, a colorbar its panel's grid cell; tick labels that a shared
    y axis had hidden in the row are shown again."""
    specs = [axes.get_subplotspec() for axes in figure.axes]
    if not specs or any(spec is None for spec in specs):
        return 1
    tops = [spec.get_topmost_subplotspec() for spec in specs]
    grids = {top.get_gridspec() for top in tops}
    if len(grids) != 1:
        return 1
    (grid,) = grids
    rows, columns = grid.get_geometry()
    if rows != 1 or columns == 1:
        return rows
    column = GridSpec(columns, 1, figure=figure)
    for axes, spec, top in zip(figure.axes, specs, tops, strict=True):
        new = column[top.colspan.start : top.colspan.stop, 0]
        if spec is top:
            axes.set_subplotspec(new)
        else:  # a panel split for a colorbar: move the split grid's cell
            nested = spec.get_gridspec()
            while isinstance(nested, GridSpecFromSubplotSpec) and nested._subplot_spec is not top:
                nested = nested._subplot_spec.get_gridspec()
            nested._subplot_spec = new
        if axes.yaxis.get_label_position() == "left":
            axes.yaxis.set_tick_params(which="both", labelleft=True)
    return columns


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
    frames: Sequence[bytes],
    labels: Sequence[str],
    *,
    start: int,
    slider_name: str,
    caption: str,
    alt: str,
    phone_frames: Sequence[bytes] | None = None,
) -> str:
    """SVG frames with a range slider that needs no kernel and no JavaScript library.

    ``caption`` is HTML; ``alt`` holds ``{}`` where the slider's label goes. The image's source is the frame
    at ``start`` (a data URL: the page shows it without JavaScript); the script holds each other frame as its
    differences from it (:func:`frame_changes`). The element's id is a hash of its content, so that two builds
    give the same page and two figures on one page do not collide.

    ``phone_frames``, the frames drawn for a phone (:func:`encode_phone_svg`), are shown where
    :data:`PHONE_MEDIA` holds (a ``<picture>`` source). They are listed as SVG text in a JSON script
    element (``script.pgbook-phone``) before the figure's element; the book's build writes each to a file
    and lists its address instead (book/_ext/phone_figures.py), so that the page does not carry them.
    """
    if phone_frames is not None and len(phone_frames) != len(frames):
        raise ValueError(f"phone_frames must hold one frame per frame ({len(frames)}); got {len(phone_frames)}")
    texts = [frame.decode() for frame in frames]
    first = texts[start]
    changes = [None if k == start else frame_changes(first, text) for k, text in enumerate(texts)]
    source = "data:image/svg+xml;charset=utf-8," + re.sub(r'[%#"&]', lambda m: f"%{ord(m.group()):02X}", first)
    identity = "pgbook-" + hashlib.sha1(repr((caption, labels, texts)).encode()).hexdigest()[:12]
    before, _, after = alt.partition("{}")
    phone = ""
    if phone_frames is not None:
        listed = _script_json([frame.decode() for frame in phone_frames])
        phone = f'<script type="application/json" class="pgbook-phone" id="{identity}-phone">{listed}</script>\n'
    return f"""{phone}<div class="pgbook-frames" id="{identity}">
<p>{caption}</p>
<label>{html.escape(slider_name)} = <output>{html.escape(labels[start])}</output>
<input type="range" min="0" max="{len(frames) - 1}" value="{start}" step="1" style="width: 60%"
 aria-label="{html.escape(slider_name)}" aria-valuetext="{html.escape(labels[start])}"></label>
<picture><source media="{PHONE_MEDIA}" srcset="">\
<img src="{source}" alt="{html.escape(alt.format(labels[start]))}" style="width: 100%"></picture>
<script>
(function () {{
  const root = document.getElementById("{identity}");
  const changes = {_script_json(changes)};
  const labels = {_script_json(list(labels))};
  const input = root.querySelector("input"), image = root.querySelector("img"), label = root.querySelector("output");
  const first = image.getAttribute("src"), svg = "data:image/svg+xml;charset=utf-8,";
  const pieces = decodeURIComponent(first.slice(first.indexOf(",") + 1)).replace(/></g, ">\\n<").split("\\n");
  const frames = changes.map(function (frame) {{
    if (frame === null) return first;
    const text = frame.map(function (change) {{
      return typeof change === "string" ? change : pieces.slice(change[0], change[1]).join("");
    }}).join("");
    return svg + encodeURIComponent(text);
  }});
  // The phone's frames: SVG text, or (in the book) the addresses of its files.
  const listed = document.getElementById("{identity}-phone"), source = root.querySelector("source");
  const phone = listed === null ? null : JSON.parse(listed.textContent).map(function (frame) {{
    return frame.startsWith("<svg") ? svg + encodeURIComponent(frame) : frame;
  }});
  if (phone !== null) source.srcset = phone[input.value];
  input.addEventListener("input", function () {{
    image.src = frames[input.value];
    if (phone !== null) source.srcset = phone[input.value];
    label.textContent = labels[input.value];
    input.setAttribute("aria-valuetext", labels[input.value]);  // a screen reader says the value, not the index
    image.alt = {json.dumps(before)} + labels[input.value] + {json.dumps(after)};
  }});
}})();
</script>
</div>"""
