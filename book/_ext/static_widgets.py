"""The HTML book shows interactive figures' static versions: drop the ipywidgets state myst-nb embeds.

Executing a chapter with a live widget stores the widgets' state in the notebook, and myst-nb writes it
into the page for ipywidgets' JavaScript, which this book does not load (``nb_ipywidgets_js: {}``). The
state is then unused weight (it holds the last rendered image), and its random model ids would make two
builds of the same book differ.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def drop_widget_state(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree) -> None:
    scripts = context.get("script_files")
    if scripts:
        context["script_files"] = [
            script for script in scripts if getattr(script, "attributes", {}).get("type") != WIDGET_STATE
        ]


def setup(app: Sphinx) -> dict:
    app.connect("html-page-context", drop_widget_state, priority=900)  # after myst-nb adds it (priority 500)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
