"""Resolve ``pg.X`` and ``pgbook.X`` references to the page and anchor where ``X`` is documented.

The chapters import the library as ``import pgbook as pg`` and call its re-exports (``pg.state_values``), while
the API page documents each object under the module that defines it (``pgbook.evaluation.state_values``). For
a Python reference that Sphinx cannot resolve and whose target starts with ``pg.`` or ``pgbook.``, this looks
the name up in the imported library and retries with the object's own ``__module__`` and ``__qualname__``, so
``{func}`pg.state_values``` links to the API page. A name that is not in the library, or is not documented,
stays unresolved: under ``-n`` that is a warning, and the book build fails on it.
"""

from __future__ import annotations

import importlib
import inspect
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # defined_at is also JupyterLab's (jupyter_chapters.py), where Sphinx is not installed
    from docutils import nodes
    from sphinx.addnodes import pending_xref
    from sphinx.application import Sphinx
    from sphinx.environment import BuildEnvironment

ALIASES = ("pg.", "pgbook.")


def defined_at(target: str) -> str | None:
    """``pgbook.evaluation.state_values`` for ``pg.state_values``; None if the library has no such name.

    Data without a ``__qualname__`` (``pg.mistakes.CATALOGUE``) is documented where the name is:
    ``pgbook.mistakes.CATALOGUE``."""
    prefix = next((alias for alias in ALIASES if target.startswith(alias)), None)
    if prefix is None:
        return None
    obj = importlib.import_module("pgbook")
    for part in target[len(prefix) :].split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            return None
    if isinstance(obj, ModuleType):
        return obj.__name__
    obj = inspect.unwrap(obj) if callable(obj) else obj
    module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if not (module and qualname):  # data (pg.mistakes.CATALOGUE): documented where the name is
        return "pgbook." + target[len(prefix) :]
    if not module.startswith("pgbook"):
        return None
    return f"{module}.{qualname}"


def resolve_library_reference(
    app: Sphinx, env: BuildEnvironment, node: pending_xref, contnode: nodes.Element
) -> nodes.Element | None:
    if node.get("refdomain") != "py":
        return None
    written = node["reftarget"]
    target = defined_at(written)
    if target is None:
        return None
    # Where X is defined, else where the API page documents the re-export itself (pgbook.FiniteMDP).
    candidates = [target, "pgbook." + written.split(".", 1)[1]]
    domain = env.get_domain("py")
    fromdocname = node.get("refdoc", env.docname)
    for candidate in dict.fromkeys(name for name in candidates if name != written):
        for role in (node["reftype"], "obj"):  # {func} of a class still finds it
            resolved = domain.resolve_xref(env, fromdocname, app.builder, role, candidate, node, contnode)
            if resolved is not None:
                return resolved
    return None


def setup(app: Sphinx) -> dict:
    app.connect("missing-reference", resolve_library_reference)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
