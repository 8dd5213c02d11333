"""FigureFrames' compact SVG frames in headless Chromium, no kernel and no built book: the compacted SVG draws
what matplotlib's own SVG draws, and the static slider rebuilds every frame, byte for byte, from the page."""

import base64
import io

import matplotlib
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

import pgbook as pg
from pgbook.figures.frames import compact_svg

pytestmark = pytest.mark.slow
TIMEOUT_MS = 60_000


def draw(figure, slope):
    """What the book's frames hold: two panels, a legend, math text, markers, a curve, a shared axis."""
    left, right = figure.subplots(1, 2)
    x = np.linspace(0.0, 1.0, 60)
    left.plot(x, slope * x**2, label=r"$J_\gamma(p)$")
    left.plot(x[::6], slope * x[::6], "o", label="samples")
    left.axvline(0.5, color="tab:red", linestyle="--")
    left.set(title=f"slope {slope}", xlabel="p = Pr(right)", ylabel="J")
    left.legend()
    right.boxplot([np.linspace(-1, 1, 20) * slope, np.linspace(0, 2, 20)], tick_labels=["a", "b"])
    right.set_ylim(-3, 3)


def rendered(page, svg: str) -> np.ndarray:
    """``svg`` drawn by Chromium at the book's column width (688 px) on a 2x screen, as grey levels."""
    source = "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
    page.set_content(f'<img src="{source}" style="width: 688px; display: block">')
    page.wait_for_function("() => document.images[0].complete && document.images[0].naturalWidth > 0")
    path = page.locator("img").screenshot()
    return np.asarray(Image.open(io.BytesIO(path)).convert("L"), dtype=float)


def test_compact_svg_draws_what_matplotlib_draws(chromium):
    figure = Figure(figsize=(9.5, 3.9))
    FigureCanvasAgg(figure)
    draw(figure, 1.5)
    buffer = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "path"}):
        figure.savefig(buffer, format="svg")
    original = buffer.getvalue().decode()
    compact = compact_svg(original)
    assert len(compact) < 0.75 * len(original), (len(compact), len(original))  # glyph outlines are most of it
    page = chromium.new_page(device_scale_factor=2)
    page.set_default_timeout(TIMEOUT_MS)
    before, after = rendered(page, original), rendered(page, compact)
    page.close()
    assert before.shape == after.shape and before.std() > 10, "both drew a figure, at the same size"
    # Coordinates rounded to 0.01 pt move an edge by at most 0.02 device pixels: a few anti-aliased pixels, at
    # line and dash ends, change by a little (a sixth of the grey scale at most, in Chromium 156). A missing,
    # moved or recoloured mark changes its pixels by far more than a quarter.
    difference = np.abs(before - after)
    assert difference.max() <= 64 and (difference > 8).mean() < 1e-3, (difference.max(), (difference > 8).mean())


def test_static_slider_rebuilds_every_frame_exactly(chromium):
    frames = pg.figures.FigureFrames(
        draw, [0.5, 1.0, 2.0, 3.0], slider_name="slope", caption="Curves.", alt="Curves of slope {}", start=1
    )
    assert len(set(frames.frames)) == 4 and all(frame.startswith(b"<svg") for frame in frames.frames)
    page = chromium.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    page.set_default_timeout(TIMEOUT_MS)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_content(frames.static_html())
    slider, image, label = page.locator("input[type=range]"), page.locator("img"), page.locator("output")
    for index in (3, 0, 2, 1):  # both ends, a middle value and back to the first shown
        slider.evaluate(f"(el) => {{ el.value = {index}; el.dispatchEvent(new Event('input')); }}")
        page.wait_for_function("() => document.images[0].complete && document.images[0].naturalWidth > 0")
        shown = image.evaluate("(img) => decodeURIComponent(img.src.slice(img.src.indexOf(',') + 1))")
        assert shown == frames.frames[index].decode(), f"frame {index} differs from Python's"
        assert label.inner_text() == frames.labels[index] and frames.labels[index] in image.get_attribute("alt")
        assert image.evaluate("(img) => img.getBoundingClientRect().width") == pytest.approx(390 - 16, abs=1)
    assert errors == []
    page.close()


def test_frames_are_the_same_in_two_builds():
    first, second = (pg.figures.FigureFrames(draw, [1.0, 2.0], slider_name="s", caption="c", alt="{}") for _ in "ab")
    assert first.static_html() == second.static_html()
