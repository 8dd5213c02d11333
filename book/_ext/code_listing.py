"""``literalinclude`` with ``:no-docstring:``: show a library object's code without its docstring.

The chapters show the library's code with ``{literalinclude}`` and ``:pyobject:`` (one copy of the code, the
library's). Its numpy-style docstring is reST for the API page (``:math:`...```, ``Parameters`` tables) and reads
as raw markup in a code listing: the API page is where it renders. With ``:no-docstring:`` the listing keeps
the signature and the body and leaves the docstring out; the lines are found from the object's syntax tree, so
they follow every edit of the library. An object without a docstring is an error, as is ``:lines:`` beside it.
"""

from __future__ import annotations

import ast
from pathlib import Path

from docutils.parsers.rst import directives
from sphinx.application import Sphinx
from sphinx.directives.code import LiteralInclude
from sphinx.errors import ExtensionError
from sphinx.pycode import ModuleAnalyzer


def docstring_lines(filename: str, pyobject: str) -> tuple[int, int, int]:
    """(first, last) line of `pyobject`'s docstring counted from the first line ``:pyobject:`` shows, and
    that listing's length, all 1-based."""
    _, start, end = ModuleAnalyzer.for_file(filename, "").find_tags()[pyobject]
    scope: ast.AST = ast.parse(Path(filename).read_text(encoding="utf-8"))
    for name in pyobject.split("."):
        scope = next(
            child
            for child in ast.iter_child_nodes(scope)
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and child.name == name
        )
    first = scope.body[0]
    if not (
        isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str)
    ):
        raise ExtensionError(f"literalinclude :no-docstring: {pyobject} in {filename} has no docstring")
    return first.lineno - start + 1, first.end_lineno - start + 1, end - start + 1


class CodeListing(LiteralInclude):
    option_spec = {**LiteralInclude.option_spec, "no-docstring": directives.flag}

    def run(self):
        if "no-docstring" in self.options:
            if "pyobject" not in self.options or "lines" in self.options:
                raise self.error(":no-docstring: needs :pyobject: and replaces :lines:")
            _, filename = self.env.relfn2path(self.arguments[0])
            try:
                first, last, length = docstring_lines(filename, self.options["pyobject"])
            except (ExtensionError, KeyError, StopIteration) as error:
                raise self.error(f":no-docstring: {error!r}") from error
            kept = [f"1-{first - 1}"] + ([f"{last + 1}-{length}"] if last < length else [])
            self.options["lines"] = ",".join(kept)
        return super().run()


def setup(app: Sphinx) -> dict:
    app.add_directive("literalinclude", CodeListing, override=True)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
