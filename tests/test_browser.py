"""The built book in headless Chromium, as a reader without a kernel or a network sees it.

Needs Debian's Chromium (/usr/bin/chromium; `.ci/run` installs it). Locally, without it, these tests are
skipped with that reason; under CI (CI=true) a missing browser is a failure, not a skip.
"""

import functools
import http.server
import os
import re
import shutil
import threading

import pytest

from conftest import book_pages, pages_containing

# Not in the "book" group: these come last, on whichever worker is free, once the book is built (conftest.py).
pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PAGES = book_pages()
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

if not os.path.exists(CHROMIUM):
    if os.environ.get("CI"):
        raise RuntimeError(f"Chromium is missing at {CHROMIUM}: .ci/run must install Debian's chromium package")
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)


# Generous waits: on a loaded two-core machine one page with MathJax has taken over a minute to load.
TIMEOUT_MS = 240_000


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (the base class's name): no line per request in the test log
        pass


@pytest.fixture(scope="module")
def site(built_book):
    handler = functools.partial(QuietHandler, directory=str(built_book))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


def open_page(browser, url):
    """Open ``url``; return the page and a list that collects every request leaving this machine and every
    console error, page error and failed response, as they happen."""
    page = browser.new_page()
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
    return page, problems


@pytest.mark.parametrize("name", PAGES)
def test_page_renders_offline_with_no_console_error(site, browser, name):
    page, problems = open_page(browser, f"{site}/book/{name}.html")
    if page.locator(".math").count():
        page.wait_for_function("() => document.querySelectorAll('mjx-container').length > 0")
        page.wait_for_function("() => !document.querySelector('.math:not(:has(mjx-container))')")
    visible = page.locator("article").inner_text()
    assert "$$" not in visible and not re.search(r"\\(frac|sum|nabla)\b", visible), "raw TeX left on the page"
    broken = page.evaluate(
        "() => [...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src.slice(0, 80))"
    )
    assert broken == [], f"images not displayed: {broken}"
    page.wait_for_timeout(500)  # late console messages from deferred and async scripts
    assert problems == [], f"console errors, failed or outside requests: {problems}"
    page.close()


@pytest.mark.parametrize("name", pages_containing("pg.figures.FigureFrames("))  # the explorer: test_interactive_figures
def test_static_slider_changes_the_figure_at_both_ends(site, browser, name):
    page, _ = open_page(browser, f"{site}/book/{name}.html")
    figure = page.locator(".pgbook-frames")
    slider, image, label = figure.locator("input[type=range]"), figure.locator("img"), figure.locator("output")
    seen = set()
    for end in ("max", "min"):
        slider.evaluate(f"(el) => {{ el.value = el.{end}; el.dispatchEvent(new Event('input')); }}")
        seen.add(image.get_attribute("src"))
        expected = "1" if end == "min" else None
        if expected:
            assert label.inner_text() == expected
        assert image.evaluate("(img) => img.complete && img.naturalWidth > 0")
    assert len(seen) == 2, "moving the slider from one end to the other must change the figure"
    assert label.inner_text() == "1"
    page.close()
