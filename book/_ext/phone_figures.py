"""A phone shows each figure drawn for its own column, so that its text is as large as on a laptop.

The chapters' kernels draw each figure twice: for the book's column (a figure output's PNG; a frame figure's
SVG frames) and, 3.3 inches wide, for a phone's (SVG: ``pgbook.plotting.phone_drawings`` puts it in the PNG
output's metadata, ``pgbook.figures.FigureFrames`` in a JSON list of its HTML). For each page, this writes each
phone drawing to a file in ``_images``, named by its content's hash (two builds give the same files), and points
the page at it, where ``pgbook.figures.frames.PHONE_MEDIA`` holds:

- a figure output's ``<img>`` of its PNG becomes a ``<picture>`` with a ``<source>`` for phones;
- a frame figure's list of phone frames (``script.pgbook-phone``) lists the files' addresses instead of their SVG.

A page's HTML keeps its weight (tests/test_page_weight.py), and a browser downloads only the drawings it shows.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx

from pgbook.figures.frames import PHONE_MEDIA
from pgbook.plotting import PHONE_KEY

FIGURE_IMAGE = re.compile(r'<img ([^>]*?)src="([^"]*?)([0-9a-f]{64})\.png"([^>]*)>')
PHONE_FRAMES = re.compile(r'(<script type="application/json" class="pgbook-phone"[^>]*>)(.*?)(</script>)', re.S)


def phone_drawings(notebook: Path) -> dict[str, str]:
    """The executed notebook's phone drawings: the SHA-256 of a figure's PNG (its file's name) → the SVG."""
    if not notebook.is_file():
        return {}
    drawings = {}
    for cell in json.loads(notebook.read_text(encoding="utf-8")).get("cells", []):
        for output in cell.get("outputs", []):
            png = output.get("data", {}).get("image/png")
            svg = output.get("metadata", {}).get("image/png", {}).get(PHONE_KEY)
            if png and svg:
                png = "".join(png) if isinstance(png, list) else png
                drawings[hashlib.sha256(base64.b64decode(png)).hexdigest()] = svg
    return drawings


def write_drawing(app: Sphinx, svg: str) -> str:
    """Writes an SVG drawing to ``_images`` (once); its file's name."""
    data = svg.encode()
    name = f"{hashlib.sha256(data).hexdigest()}.svg"
    path = Path(app.outdir) / "_images" / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return name


def serve_phone_drawings(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree) -> None:
    body = context.get("body")
    if not body or ("<img " not in body and "pgbook-phone" not in body):
        return
    output_folder = Path(app.env.mystnb_config.output_folder)
    drawings = phone_drawings(output_folder / f"{pagename}.ipynb")

    def picture(match: re.Match) -> str:
        svg = drawings.get(match[3])
        if svg is None:
            return match[0]
        source = f"{match[2]}{write_drawing(app, svg)}"
        return (
            f'<picture><source media="{PHONE_MEDIA}" srcset="{html.escape(source)}" type="image/svg+xml">'
            f"{match[0]}</picture>"
        )

    def frame_files(match: re.Match) -> str:
        files = [context["pathto"](f"_images/{write_drawing(app, svg)}", 1) for svg in json.loads(match[2])]
        return match[1] + json.dumps(files) + match[3]

    context["body"] = PHONE_FRAMES.sub(frame_files, FIGURE_IMAGE.sub(picture, body))


def setup(app: Sphinx) -> dict:
    app.connect("html-page-context", serve_phone_drawings)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
