"""The built book in headless Chromium, as a reader without a kernel or a network sees it, on a phone (390 px)
and a laptop (1280 px).

Uses the shared ``chromium`` fixture (tests/conftest.py): Debian's Chromium, skipped locally without it, a
failure under CI. Every wait is for an explicit state, bounded by the page's default timeout.
"""

import functools
import http.server
import json
import re
import threading

import pytest

from conftest import book_pages, pages_containing

# Not in the "book" group: these come last, on whichever worker is free, once the book is built (conftest.py).
pytestmark = pytest.mark.slow

PAGES = book_pages()
PHONE, LAPTOP = {"width": 390, "height": 844}, {"width": 1280, "height": 800}

# Generous waits: on a loaded two-core machine one page with MathJax has taken over a minute to load.
TIMEOUT_MS = 240_000
# A loaded page answers a tap within this (a button that does nothing fails here, not after four minutes).
RESPONSE_MS = 10_000


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


def open_page(chromium, url, viewport=LAPTOP):
    """Open ``url`` at ``viewport`` and wait until its equations are typeset; return the page and a list that
    collects every request leaving this machine and every console error, page error and failed response."""
    touch = viewport is PHONE  # a phone: touch events, so that a test can tap
    page = chromium.new_page(viewport=viewport, has_touch=touch, is_mobile=touch)
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
    if page.locator(".math").count():
        page.wait_for_function("() => document.querySelectorAll('mjx-container').length > 0")
        page.wait_for_function("() => !document.querySelector('.math:not(:has(mjx-container))')")
    return page, problems


@pytest.mark.parametrize("name", PAGES)
def test_page_renders_offline_with_no_console_error(site, chromium, name):
    page, problems = open_page(chromium, f"{site}/book/{name}.html")
    visible = page.locator("article").inner_text()
    assert "$$" not in visible and not re.search(r"\\(frac|sum|nabla)\b", visible), "raw TeX left on the page"
    broken = page.evaluate(
        "() => [...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src.slice(0, 80))"
    )
    assert broken == [], f"images not displayed: {broken}"
    page.wait_for_timeout(500)  # late console messages from deferred and async scripts
    assert problems == [], f"console errors, failed or outside requests: {problems}"
    page.close()


# What is wider than its place on the page. "cut": a box that reaches past an ancestor which clips it without
# a scroll bar (the reader cannot see its end). "scrolling": a box that the reader has to scroll sideways.
MEASURE_OVERFLOW = """() => {
  const root = document.documentElement;
  const name = (el) => `${el.tagName.toLowerCase()} "${(el.innerText || el.textContent || "").replace(/\\s+/g, " ")
    .trim().slice(0, 50)}"`;
  const scrolls = (el) => el.scrollWidth > el.clientWidth + 1;
  const found = (selector) => [...document.querySelectorAll(selector)].filter(scrolls).map(name);
  const cut = [];
  for (const el of document.querySelectorAll("article *")) {
    if (el.closest("mjx-assistive-mml, .visually-hidden, dialog")) continue;  // hidden on purpose
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    for (let parent = el.parentElement; parent && parent !== root; parent = parent.parentElement) {
      const style = getComputedStyle(parent);
      if (style.display === "inline" || style.overflowX === "visible") continue;
      if (["hidden", "clip"].includes(style.overflowX) && box.right > parent.getBoundingClientRect().right + 1)
        cut.push(`${name(el)} in ${name(parent)}`);
      break;
    }
  }
  return {
    page: root.scrollWidth > root.clientWidth + 1 ? `${root.scrollWidth} px wide in ${root.clientWidth}` : null,
    cut: cut.slice(0, 10),
    outputs: found(".cell_output pre, .output pre"),
    tables: found(".pst-scrollable-table-container, table"),
    equations: found('mjx-container[display="true"]'),
  };
}"""


@pytest.mark.parametrize("viewport", [PHONE, LAPTOP], ids=["390px", "1280px"])
@pytest.mark.parametrize("name", PAGES)
def test_nothing_is_wider_than_the_page(site, chromium, name, viewport):
    page, _ = open_page(chromium, f"{site}/book/{name}.html", viewport)
    page.locator("img").evaluate_all("(images) => Promise.all(images.map((i) => i.decode().catch(() => null)))")
    overflow = page.evaluate(MEASURE_OVERFLOW)
    page.close()
    assert overflow["page"] is None, f"the page scrolls sideways: {overflow['page']}"
    assert overflow["cut"] == [], f"content cut off: {overflow['cut']}"
    assert overflow["outputs"] == [], f"outputs wider than the column: {overflow['outputs']}"
    # On a phone a display equation or a table too wide for the screen scrolls inside itself, the last resort
    # (checked above: never cut off, never widening the page); on a laptop every one fits the column.
    if viewport is LAPTOP:
        assert overflow["tables"] == [], f"tables wider than the column: {overflow['tables']}"
        assert overflow["equations"] == [], f"equations wider than the column: {overflow['equations']}"


@pytest.mark.parametrize("name", PAGES)
def test_figures_are_numbered_captioned_and_described(site, chromium, name):
    """Every image says what it shows (its alt text is not a file name), and every figure a chapter draws is a
    numbered figure with a caption."""
    page, _ = open_page(chromium, f"{site}/book/{name}.html")
    alts = page.locator("article img").evaluate_all("(images) => images.map((image) => image.alt)")
    nameless = [alt for alt in alts if not alt.strip() or re.search(r"(_images/|\.(png|svg|jpe?g)$)", alt)]
    assert nameless == [], f"images whose alt text is empty or a file path: {nameless}"
    uncaptioned = page.locator("article .cell_output img").evaluate_all(
        "(images) => images.filter((image) => !image.closest('figure')?.querySelector('figcaption .caption-number')"
        " && !image.closest('.pgbook-frames')).map((image) => image.alt.slice(0, 60))"
    )
    assert uncaptioned == [], f"figures without a number and caption: {uncaptioned}"
    page.close()


def test_the_chapter_list_and_page_contents_open_as_drawers_on_a_phone(site, chromium):
    page, problems = open_page(chromium, f"{site}/book/reinforce.html", PHONE)
    page.set_default_timeout(RESPONSE_MS)
    drawer = page.locator("#pst-primary-sidebar-modal")
    page.locator(".primary-toggle:visible").first.tap()
    drawer.locator("a.reference", has_text="REINFORCE").first.wait_for(state="visible")
    assert drawer.evaluate("(dialog) => dialog.open")
    page.keyboard.press("Escape")
    drawer.wait_for(state="hidden")
    contents = page.locator("#pst-secondary-sidebar-modal")
    page.locator(".secondary-toggle:visible").first.tap()
    contents.locator("nav a").first.wait_for(state="visible")
    page.keyboard.press("Escape")
    contents.wait_for(state="hidden")
    assert problems == [], problems
    page.close()


def test_the_chapter_list_collapses_and_returns_on_a_laptop(site, chromium):
    page, problems = open_page(chromium, f"{site}/book/reinforce.html", LAPTOP)
    page.set_default_timeout(RESPONSE_MS)
    sidebar, toggle = page.locator("#pst-primary-sidebar"), page.locator(".primary-toggle:visible").first
    sidebar.wait_for(state="visible")
    toggle.click()
    sidebar.wait_for(state="hidden")
    assert not page.locator("#pst-primary-sidebar-modal").evaluate("(dialog) => dialog.open"), "opened as a drawer"
    toggle.click()
    sidebar.wait_for(state="visible")
    assert problems == [], problems
    page.close()


@pytest.mark.parametrize("name", pages_containing("pg.figures.FigureFrames("))
def test_static_slider_changes_the_figure_at_both_ends(site, chromium, name):
    page, _ = open_page(chromium, f"{site}/book/{name}.html")
    figure = page.locator(".pgbook-frames")
    slider, image, label = figure.locator("input[type=range]"), figure.locator("img"), figure.locator("output")
    labels = json.loads(re.search(r"const labels = (\[.*?\]);", figure.locator("script").inner_text()).group(1))
    assert len(labels) >= 2 and slider.get_attribute("aria-label"), "a slider with a name and at least two values"
    seen = set()
    for end, expected in (("max", labels[-1]), ("min", labels[0])):
        slider.evaluate(f"(el) => {{ el.value = el.{end}; el.dispatchEvent(new Event('input')); }}")
        seen.add(image.get_attribute("src"))
        assert label.inner_text() == expected
        assert slider.get_attribute("aria-valuetext") == expected, "a screen reader hears the value, not the index"
        assert expected in image.get_attribute("alt")
        assert image.evaluate("(img) => img.complete && img.naturalWidth > 0")
    assert len(seen) == 2, "moving the slider from one end to the other must change the figure"
    page.close()
