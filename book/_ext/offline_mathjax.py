"""Serve MathJax from the built book itself, so that equations render offline and without a CDN.

MathJax 3.2.2 comes from the ``django-static-mathjax`` package on PyPI (pinned in requirements.txt; it has
no dependencies). After an HTML build this copies the files a page needs into ``_static/mathjax`` and
points Sphinx's ``mathjax_path`` at them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import mathjax
from sphinx.application import Sphinx
from sphinx.config import Config

SOURCE = Path(next(iter(mathjax.__path__))) / "static" / "mathjax" / "es5"
# The combined TeX/MathML-to-CHTML component, its fonts, and what it loads on demand (TeX extensions, menu).
NEEDED = ("tex-mml-chtml.js", "output/chtml/fonts/woff-v2", "input/tex/extensions", "ui", "a11y")


def use_local_mathjax(app: Sphinx, config: Config) -> None:
    config.mathjax_path = "mathjax/tex-mml-chtml.js"  # relative to _static


def copy_mathjax(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / "mathjax"
    for item in NEEDED:
        source, destination = SOURCE / item, target / item
        destination.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, destination, dirs_exist_ok=True)
        else:
            shutil.copy2(source, destination)


def setup(app: Sphinx) -> dict:
    if not (SOURCE / "tex-mml-chtml.js").exists():
        raise RuntimeError(f"MathJax not found at {SOURCE}: install django-static-mathjax (requirements.txt)")
    app.connect("config-inited", use_local_mathjax)
    app.connect("build-finished", copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
