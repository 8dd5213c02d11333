"""A chapter's downloaded notebook says, in its first cell, how to install what it imports.

The download button offers each chapter's executed notebook (``_sources/book/<chapter>.ipynb``). Run outside
this repository, its first ``import pgbook`` would fail: after an HTML build this puts a markdown cell first in
each one, with the install command built from the book's one repository setting (``repository.url`` in
_config.yml, which Jupyter Book passes to the theme as ``html_theme_options["repository_url"]``).
"""

from __future__ import annotations

import json
from pathlib import Path

from sphinx.application import Sphinx

CELL_ID = "install-pgbook"  # fixed, so that two builds give the same notebook


def install_note(repository: str) -> str:
    """The first cell of a downloaded notebook: the library with its extras, ``pgbook[figures,sb3]``, whose
    lists (pyproject.toml's ``figures``: matplotlib, ipywidgets, anywidget...; ``sb3``: Stable-Baselines3, which
    the auditing chapter checks) are the one list of what the chapters need; tests/book/test_book_extensions.py checks
    that they cover every chapter's imports."""
    return (
        "**Running this notebook outside the book's repository?** Install the `pgbook` library with what its "
        "chapters need first (PyTorch's CPU build, Python 3.11 or later), then restart the kernel:\n\n"
        "```bash\n"
        f'pip install --extra-index-url https://download.pytorch.org/whl/cpu "pgbook[figures,sb3] @ git+{repository}"\n'
        "```"
    )


def add_install_cell(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    repository = app.config.html_theme_options.get("repository_url")
    if not repository:
        raise RuntimeError("_config.yml has no repository.url: the notebooks' install note needs it")
    for path in sorted((Path(app.outdir) / "_sources").rglob("*.ipynb")):
        notebook = json.loads(path.read_text())
        if notebook["cells"] and notebook["cells"][0].get("id") == CELL_ID:
            continue
        cell = {"cell_type": "markdown", "id": CELL_ID, "metadata": {}, "source": install_note(repository)}
        notebook["cells"].insert(0, cell)
        path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")


def setup(app: Sphinx) -> dict:
    app.connect("build-finished", add_install_cell)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
