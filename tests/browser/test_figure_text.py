"""The text of the book's figures is legible where it is shown: every glyph at least 9 CSS px, in headless
Chromium, for every frame figure (FigureFrames) at 1280 px and for every figure on every page at 390 px, a phone,
which shows each figure drawn for its own column (book/_ext/phone_figures.py).

A figure measured is an SVG image whose text matplotlib draws as glyph outlines (``svg.fonttype: path``), each
glyph a ``<use>`` of an outline defined at 100 units to the em. The test draws the SVG the page shows inline, at
the width the page shows the image, and reads each glyph's size from its transformation to the screen: 100 × its
scale. An image whose text cannot be measured so (a PNG) fails on a phone. The text of a figure drawn as SVG in the
page itself (the gradient explorer) is measured from its font size and its scale to the screen.
"""

from pathlib import Path
from urllib.parse import unquote, urlparse
from urllib.request import url2pathname

import pytest

from pages import book_pages, pages_containing

pytestmark = pytest.mark.slow
TIMEOUT_MS = 60_000
SMALLEST_PX = 9.0
FRAME_PAGES = pages_containing("pg.figures.FigureFrames(")
PAGES = book_pages()
# The pages that draw a figure: with matplotlib's pyplot, the library's plotting, or frames.
DRAWING_PAGES = sorted(set(pages_containing("plt.") + pages_containing("pg.plotting.") + FRAME_PAGES))
PHONE = {"width": 390, "height": 844}

# The size of each glyph of an SVG drawn inline at a width in CSS px (a <use> of a glyph outline, not of a
# marker, whose ids matplotlib writes as "m" and a hash), in CSS px, with the glyph it draws.
GLYPH_SIZES = """([text, width]) => {
  const box = document.createElement('div');
  box.style.width = width + 'px';
  box.innerHTML = text;
  document.body.appendChild(box);
  const svg = box.querySelector('svg');
  Object.assign(svg.style, {width: '100%', height: 'auto', display: 'block'});
  const glyphs = Array.from(svg.querySelectorAll('use'))
    .filter((use) => !/^#m[0-9a-f]+$/.test(use.getAttribute('href')))
    .map((use) => {
      const m = use.getScreenCTM();
      return [use.getAttribute('href'), 100 * Math.sqrt(Math.abs(m.a * m.d - m.b * m.c))];
    });
  box.remove();
  return glyphs;
}"""

# Every figure of the article: its text alternative, the width it is shown at, and the image it shows.
FIGURES = """(selector) => Array.from(document.querySelectorAll(selector)).map((image) => ({
  alt: image.alt, width: image.getBoundingClientRect().width, shown: image.currentSrc, src: image.src}))"""
FIGURE_IMAGES = "article .cell_output img, article figure img"
# The text of an interactive figure drawn as SVG in the page (the gradient explorer): each <text> element shown,
# its font size times its scale to the screen, in CSS px.
INLINE_TEXT = """() => Array.from(document.querySelectorAll('article .cell_output svg text'))
  .filter((text) => text.getClientRects().length > 0 && text.textContent.trim())
  .map((text) => {
    const m = text.getScreenCTM();
    return [text.textContent, parseFloat(getComputedStyle(text).fontSize) * Math.sqrt(Math.abs(m.a * m.d - m.b * m.c))];
  })"""


def svg_text(address: str) -> str | None:
    """The SVG an image shows (a data URL or a file of the built book), or None for another format."""
    if address.startswith("data:image/svg+xml"):
        return unquote(address.partition(",")[2])
    if address.startswith("file:") and address.endswith(".svg"):
        return Path(url2pathname(urlparse(address).path)).read_text()
    return None


def open_figures(chromium, built_book, name, viewport, selector):
    """The page's figures, once every image has loaded."""
    page = chromium.new_page(viewport=viewport, is_mobile=viewport is PHONE, has_touch=viewport is PHONE)
    page.set_default_timeout(TIMEOUT_MS)
    page.goto((built_book / "book" / f"{name}.html").as_uri())
    page.wait_for_function("() => Array.from(document.images).every((i) => i.complete)")
    return page, page.evaluate(FIGURES, selector)


def small_glyphs(page, figure) -> list:
    """The glyphs of a figure below SMALLEST_PX (size, glyph); fails if its text cannot be measured."""
    text = svg_text(figure["shown"])
    assert text is not None, (
        f"{figure['alt'][:60]!r} shows {figure['shown'][:80]}: not an SVG, its text cannot be measured"
    )
    glyphs = page.evaluate(GLYPH_SIZES, [text, figure["width"]])
    assert len(glyphs) > 20, f"{figure['alt'][:60]!r}: no text found"
    return sorted({(round(size, 1), href) for href, size in glyphs if size < SMALLEST_PX})


def test_the_chapters_have_frame_figures():
    assert len(FRAME_PAGES) >= 7, FRAME_PAGES


@pytest.mark.parametrize("name", FRAME_PAGES)
def test_frame_figure_text_is_at_least_9_px_at_1280(chromium, built_book, name):
    page, figures = open_figures(chromium, built_book, name, {"width": 1280, "height": 800}, ".pgbook-frames img")
    assert figures, f"{name}: no frame figure on the page"
    for figure in figures:
        assert figure["width"] > 600, f"{name}: {figure['alt']!r} is shown {figure['width']} px wide"
        assert figure["shown"] == figure["src"], f"{name}: {figure['alt']!r} shows a phone's drawing at 1280 px"
        small = small_glyphs(page, figure)
        assert not small, f"{name}: {figure['alt']!r}: glyphs below {SMALLEST_PX} px: {small[:10]}"
    page.close()


def test_the_pages_that_draw_figures_are_found():
    assert len(DRAWING_PAGES) >= 15 and set(DRAWING_PAGES) <= set(PAGES), DRAWING_PAGES


@pytest.mark.parametrize("name", PAGES)
def test_every_figure_text_is_at_least_9_px_on_a_phone(chromium, built_book, name):
    """At 390 px, every figure of every page (its drawing for the phone's column), glyph by glyph, and the text of
    the figures drawn in the page (the explorer's SVG), element by element."""
    page, figures = open_figures(chromium, built_book, name, PHONE, FIGURE_IMAGES)
    if name in DRAWING_PAGES:
        assert figures, f"{name}: no figure found on a page that draws one"
    problems = []
    for figure in figures:
        try:
            small = small_glyphs(page, figure)
        except AssertionError as error:
            problems.append(str(error).partition("\n")[0])
            continue
        if small:
            problems.append(f"{figure['alt'][:60]!r}: glyphs below {SMALLEST_PX} px: {small[:6]}")
    texts = page.evaluate(INLINE_TEXT)
    small = sorted({(round(size, 1), text) for text, size in texts if size < SMALLEST_PX})
    if small:
        problems.append(f"text of an interactive figure below {SMALLEST_PX} px: {small[:6]}")
    page.close()
    assert not problems, f"{name}, at 390 px:\n" + "\n".join(problems)
