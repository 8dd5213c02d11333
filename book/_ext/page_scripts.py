"""Keep each page's scripts clean for a reader without a kernel or a network.

- myst-nb embeds the ipywidgets state of executed widgets for ipywidgets' JavaScript, which this book does
  not load (``nb_ipywidgets_js: {}``; the HTML shows the figures' static versions). The state is unused
  weight (it holds the last rendered image), and its random model ids would make two builds differ: drop it.
- With this Sphinx, sphinx-thebe's inline configuration script reaches the page twice, and the second copy
  throws "Identifier 'THEBE_JS_URL' has already been declared": keep one copy of each identical script.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def clean_scripts(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree) -> None:
    scripts, kept, seen = context.get("script_files") or [], [], set()
    for script in scripts:
        attributes = getattr(script, "attributes", {})
        if attributes.get("type") == WIDGET_STATE:
            continue
        filename = getattr(script, "filename", None) or ""  # inline scripts say None or "" for "no file"
        identity = (filename, tuple(sorted((key, str(value)) for key, value in attributes.items())))
        if identity in seen:
            continue
        seen.add(identity)
        kept.append(script)
    context["script_files"] = kept


def setup(app: Sphinx) -> dict:
    app.connect("html-page-context", clean_scripts, priority=900)  # after myst-nb adds its scripts (500)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
