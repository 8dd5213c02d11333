"""An interactive figure is a numbered figure with a caption, as a drawn one is.

A chapter names a figure, and captions it, in its code cell's metadata (``mystnb: figure: name:, caption:``):
myst-nb then puts the cell's output in a figure, numbered ("Fig. 5.2") and linkable with {numref}, whatever the
output is, an image or the HTML of an interactive figure. A frame figure (``pg.figures.FigureFrames``) carries
its caption itself, for JupyterLab, where cell metadata shows nothing: in the book, a figure without a caption of
its own takes the frame figure's (the first paragraph of its HTML), which then leaves the HTML, so that the
caption is written once and shown once.
"""

from __future__ import annotations

import html
import re

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.transforms import SphinxTransform

# FigureFrames' HTML (pgbook/figures/frames.py): the caption is the paragraph that opens it.
FRAMES_CAPTION = re.compile(r'(<div class="pgbook-frames"[^>]*>\s*)<p>(.*?)</p>\s*', re.S)


class FrameCaptions(SphinxTransform):
    default_priority = 400  # before Sphinx numbers the figures (when the doctree is read)

    def apply(self, **kwargs) -> None:
        for figure in self.document.findall(nodes.figure):
            if any(isinstance(child, nodes.caption) for child in figure.children):
                continue
            for raw in list(figure.findall(nodes.raw)):
                found = FRAMES_CAPTION.search(raw.astext())
                if found is None:
                    continue
                text = html.unescape(re.sub(r"<[^>]+>", "", found[2])).strip()
                figure += nodes.caption(text, text)
                source = raw.astext()
                kept = source[: found.start()] + found[1] + source[found.end() :]
                raw.replace_self(nodes.raw(kept, kept, format=raw["format"], classes=raw["classes"]))
                break


def setup(app: Sphinx) -> dict:
    app.add_transform(FrameCaptions)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
