"""The text of the book's interactive figures (FigureFrames) is legible in the text column: in headless Chromium
at 1280 px, every glyph of every frame figure on every page is at least 9 CSS px.

A frame is an SVG image whose text matplotlib draws as glyph outlines (``svg.fonttype: path``), each glyph a
``<use>`` of an outline defined at 100 units to the em. The test draws the image's SVG inline at the width the
page shows the image, and reads each glyph's size from its transformation to the screen: 100 × its scale.
"""

import pytest

from pages import pages_containing

pytestmark = pytest.mark.slow
TIMEOUT_MS = 60_000
SMALLEST_PX = 9.0
FRAME_PAGES = pages_containing("pg.figures.FigureFrames(")

# For each frame image: its displayed width and the size of each glyph (a <use> of a glyph outline, not of a
# marker, whose ids matplotlib writes as "m" and a hash), in CSS px, with the character it draws.
GLYPH_SIZES = """() => Array.from(document.querySelectorAll('.pgbook-frames img')).map((image) => {
  const source = image.getAttribute('src');
  const box = document.createElement('div');
  box.style.width = image.getBoundingClientRect().width + 'px';
  box.innerHTML = decodeURIComponent(source.slice(source.indexOf(',') + 1));
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
  return {alt: image.alt, width: image.getBoundingClientRect().width, glyphs: glyphs};
})"""


def test_the_chapters_have_frame_figures():
    assert len(FRAME_PAGES) >= 7, FRAME_PAGES


@pytest.mark.parametrize("name", FRAME_PAGES)
def test_frame_figure_text_is_at_least_9_px_at_1280(chromium, built_book, name):
    page = chromium.new_page(viewport={"width": 1280, "height": 800})
    page.set_default_timeout(TIMEOUT_MS)
    page.goto((built_book / "book" / f"{name}.html").as_uri())
    page.wait_for_function("() => Array.from(document.querySelectorAll('.pgbook-frames img')).every((i) => i.complete)")
    figures = page.evaluate(GLYPH_SIZES)
    page.close()
    assert figures, f"{name}: no frame figure on the page"
    for figure in figures:
        assert figure["width"] > 600, f"{name}: {figure['alt']!r} is shown {figure['width']} px wide"
        assert len(figure["glyphs"]) > 20, f"{name}: {figure['alt']!r}: no text found"
        small = sorted({(round(size, 1), href) for href, size in figure["glyphs"] if size < SMALLEST_PX})
        assert not small, f"{name}: {figure['alt']!r}: glyphs below {SMALLEST_PX} px: {small[:10]}"
