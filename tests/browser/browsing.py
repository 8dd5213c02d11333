"""Opening the built book's pages in Chromium, and serving the chapters to JupyterLab: what the browser tests
share (their fixtures, ``site`` and ``jupyterlab``, are in this folder's conftest)."""

import http.server
import shutil
from pathlib import Path

from pages import ROOT

PHONE, LAPTOP = {"width": 390, "height": 844}, {"width": 1280, "height": 800}

# Generous waits: on a loaded two-core machine one page with MathJax has taken over a minute to load.
TIMEOUT_MS = 240_000
# A loaded page answers a tap within this (a button that does nothing fails here, not after four minutes).
RESPONSE_MS = 10_000


def script(name: str) -> str:
    """The JavaScript function ``js/<name>.js`` (beside this file), for a page's ``evaluate``."""
    return (Path(__file__).parent / "js" / f"{name}.js").read_text()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (the base class's name): no line per request in the test log
        pass


def open_page(chromium, url, viewport=LAPTOP, mode="light"):
    """Open ``url`` at ``viewport`` in the theme's light or dark mode (the reader's system setting, which the
    theme follows by default) and wait until its equations are typeset; return the page and a list that
    collects every request leaving this machine and every console error, page error and failed response."""
    touch = viewport is PHONE  # a phone: touch events, so that a test can tap
    page = chromium.new_page(viewport=viewport, has_touch=touch, is_mobile=touch, color_scheme=mode)
    page.set_default_timeout(TIMEOUT_MS)
    problems = []
    page.on(
        "request",
        lambda request: (
            problems.append(f"request to {request.url}")
            if not request.url.startswith(("http://127.0.0.1", "data:", "about:"))
            else None
        ),
    )
    page.on(
        "console",
        lambda message: (
            problems.append(f"console {message.type}: {message.text}") if message.type in ("error", "warning") else None
        ),
    )
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on(
        "response",
        lambda response: problems.append(f"HTTP {response.status} {response.url}") if response.status >= 400 else None,
    )
    page.goto(url)
    page.wait_for_load_state("load")
    page.wait_for_function(f"() => document.documentElement.dataset.theme === '{mode}'")
    if page.locator(".math").count():
        page.wait_for_function("() => document.querySelectorAll('mjx-container').length > 0")
        page.wait_for_function("() => !document.querySelector('.math:not(:has(mjx-container))')")
    return page, problems


def serve_copy(folder: Path) -> Path:
    """A copy of the book's chapters and table of contents in ``folder``, as a server's root."""
    shutil.copytree(ROOT / "book", folder / "book")
    shutil.copy(ROOT / "_toc.yml", folder / "_toc.yml")
    return folder
