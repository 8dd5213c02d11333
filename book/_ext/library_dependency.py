"""Make every chapter depend on the library it runs, so that an incremental build is never stale.

Sphinx re-reads (and myst-nb re-executes) only the pages whose source changed since the last build. The
chapters' numbers also depend on ``pgbook/``: this records each of its modules as a dependency of every page,
its subpackages included (``pgbook/figures/`` draws the figures), so a change to the library re-executes every
chapter, and a build with no change re-executes nothing.
"""

from __future__ import annotations

from pathlib import Path

from sphinx.application import Sphinx

LIBRARY = Path(__file__).resolve().parents[2] / "pgbook"


def depend_on_library(app: Sphinx, docname: str, source: list[str]) -> None:
    for module in sorted(LIBRARY.rglob("*.py")):
        app.env.note_dependency(str(module))


def setup(app: Sphinx) -> dict:
    app.connect("source-read", depend_on_library)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
