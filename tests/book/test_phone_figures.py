"""Figures drawn for a phone's column, without building the book: the drawing (pgbook.figures.frames), the kernel
hook that puts it beside a figure's PNG (pgbook.plotting), and the build step that serves it
(book/_ext/phone_figures.py). tests/test_figure_text.py measures the built pages' glyphs at 390 px."""

import base64
import hashlib
import json
import re
import sys
from types import SimpleNamespace

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from pgbook.figures.frames import PHONE_MEDIA, PHONE_WIDTH, encode_phone_svg, frames_html
from pgbook.plotting import PHONE_KEY

from pages import ROOT

sys.path.insert(0, str(ROOT / "book" / "_ext"))

import phone_figures  # noqa: E402


def two_panels() -> Figure:
    figure = Figure(figsize=(7.2, 3.4))
    FigureCanvasAgg(figure)
    left, right = figure.subplots(1, 2, sharey=True)
    left.semilogx(np.logspace(0, 3, 20), np.linspace(0, 1, 20))
    right.plot([0, 1], [0, 1])
    right.twinx().plot([0, 1], [1, 0], color="tab:red")
    left.set_ylabel("error")
    figure.tight_layout()
    return figure


def test_the_phone_drawing_stacks_the_panels_and_leaves_the_figure_as_it_was():
    figure = two_panels()
    before = [axes.get_position().bounds for axes in figure.axes], tuple(figure.get_size_inches())
    svg = encode_phone_svg(figure).decode()
    after = [axes.get_position().bounds for axes in figure.axes], tuple(figure.get_size_inches())
    assert after == before
    width, height = (float(value) for value in re.match(r"<svg width='([\d.]+)pt' height='([\d.]+)pt'", svg).groups())
    assert width <= 72 * PHONE_WIDTH and height > 1.5 * width, "two panels one above the other"


def test_frames_list_their_phone_drawings_before_the_figure():
    frames = [b"<svg a/>", b"<svg b/>"]
    page = frames_html(frames, ["1", "2"], start=0, slider_name="n", caption="c", alt="{}", phone_frames=frames[::-1])
    listed = re.match(r'<script type="application/json" class="pgbook-phone" id="([\w-]+)">(.*?)</script>', page)
    assert listed and json.loads(listed[2]) == ["<svg b/>", "<svg a/>"]
    assert (
        f'<source media="{PHONE_MEDIA}" srcset="">' in page
        and listed[1] == re.search(r'id="(pgbook-\w+)"', page)[1] + "-phone"
    )


def test_the_build_serves_each_phone_drawing_from_a_file(tmp_path):
    png = b"\x89PNG not really"
    name = hashlib.sha256(png).hexdigest()
    notebook = {
        "cells": [
            {
                "outputs": [
                    {
                        "data": {"image/png": base64.b64encode(png).decode(), "text/plain": "<Figure>"},
                        "metadata": {"image/png": {PHONE_KEY: "<svg phone/>"}},
                    }
                ]
            }
        ]
    }
    (tmp_path / "jupyter_execute" / "book").mkdir(parents=True)
    (tmp_path / "jupyter_execute" / "book" / "chapter.ipynb").write_text(json.dumps(notebook))
    app = SimpleNamespace(
        outdir=str(tmp_path / "html"),
        env=SimpleNamespace(mystnb_config=SimpleNamespace(output_folder=str(tmp_path / "jupyter_execute"))),
    )
    other = "0" * 64
    body = (
        f'<figure><img alt="a" src="../_images/{name}.png" /></figure><img src="../_images/{other}.png" />'
        '<script type="application/json" class="pgbook-phone" id="p-phone">["<svg frame/>"]</script>'
    )
    context = {"body": body, "pathto": lambda path, resource: f"../{path}"}
    phone_figures.serve_phone_drawings(app, "book/chapter", "page.html", context, None)
    served = re.search(
        r'<picture><source media="([^"]+)" srcset="\.\./_images/(\w+\.svg)" type="image/svg\+xml">', context["body"]
    )
    assert served and served[1] == PHONE_MEDIA
    assert (tmp_path / "html" / "_images" / served[2]).read_text() == "<svg phone/>"
    assert f'<img alt="a" src="../_images/{name}.png" /></picture>' in context["body"]
    assert f'<img src="../_images/{other}.png" />' in context["body"].replace("<picture>", ""), "no drawing: as it was"
    assert context["body"].count("<picture>") == 1
    (frame,) = json.loads(re.search(r'id="p-phone">(.*?)</script>', context["body"])[1])
    assert (tmp_path / "html" / frame.removeprefix("../")).read_text() == "<svg frame/>"
