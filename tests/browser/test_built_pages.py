"""The built book in headless Chromium, as a reader without a kernel or a network sees it, on a phone (390 px)
and a laptop (1280 px).

Uses the shared ``chromium`` fixture (tests/conftest.py): Debian's Chromium, skipped locally without it, a
failure under CI. Every wait is for an explicit state, bounded by the page's default timeout.
"""

import json
import re

import pytest

from browsing import LAPTOP, PHONE, RESPONSE_MS, open_page, script
from pages import ROOT, book_pages, pages_containing

# Not in the "book" group: these come last, on whichever worker is free, once the book is built (conftest.py).
pytestmark = pytest.mark.slow

PAGES = book_pages()


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


MEASURE_OVERFLOW = script("measure_overflow")


@pytest.mark.parametrize("viewport", [PHONE, LAPTOP], ids=["390px", "1280px"])
@pytest.mark.parametrize("name", PAGES)
def test_nothing_is_wider_than_the_page(site, chromium, name, viewport):
    page, _ = open_page(chromium, f"{site}/book/{name}.html", viewport)
    page.locator("img").evaluate_all("(images) => Promise.all(images.map((i) => i.decode().catch(() => null)))")
    overflow = page.evaluate(MEASURE_OVERFLOW)
    page.close()
    assert overflow["page"] is None, f"the page scrolls sideways: {overflow['page']}"
    assert overflow["cut"] == [], f"content cut off: {overflow['cut']}"
    assert overflow["prose_outputs"] == [], f"printed text wider than the column: {overflow['prose_outputs']}"
    # A theorem, proof, callout or exercise is where a reader stops to read: its equations fit, on a phone too.
    assert overflow["boxed_equations"] == [], f"equations in a box wider than it: {overflow['boxed_equations']}"
    if viewport is PHONE:  # (on a laptop a long aligned line may wrap: the column has 77 characters)
        assert overflow["wrapped"] == [], f"rows of printed tables broken over two lines: {overflow['wrapped']}"
    # At both widths every display equation, inline formula (in a box or not), printed output and table fits the
    # column: a book breaks a long equation over aligned lines, rewrites a long inline formula, prints one record
    # per line. (Scrolling inside its own box stays in pgbook.css as the last resort, so that nothing is ever cut,
    # but no page may need it. Code cells' source lines are code, not measured here: they scroll as code does.)
    too_wide = {key: overflow[key] for key in ("equations", "formulas", "outputs", "tables") if overflow[key] != []}
    assert too_wide == {}, f"wider than the column (the reader scrolls sideways): {too_wide}"


# Notation written in ASCII where the prose writes math: "θ_t", "J_γ(p)", "2^-12", "γ^k", "from 1 episodes".
ASCII_NOTATION = re.compile(r"\w_[\w{]|\^-?[\w{(]|\b1 episodes\b")


@pytest.mark.parametrize("name", PAGES)
def test_figures_are_numbered_captioned_and_described(site, chromium, name):
    """Every image says what it shows (its alt text is not a file name), and every figure a chapter draws, the
    interactive ones (frames, the gradient explorer) included, is a numbered figure with a caption; captions and
    alt texts write notation as the prose does (θₜ or typeset math, not "θ_t")."""
    page, _ = open_page(chromium, f"{site}/book/{name}.html")
    alts = page.locator("article img").evaluate_all("(images) => images.map((image) => image.alt)")
    nameless = [alt for alt in alts if not alt.strip() or re.search(r"(_images/|\.(png|svg|jpe?g)$)", alt)]
    assert nameless == [], f"images whose alt text is empty or a file path: {nameless}"
    uncaptioned = page.locator("article .cell_output :is(img, .pgbook-explorer, .pgbook-frames)").evaluate_all(
        script("uncaptioned_figures")
    )
    assert uncaptioned == [], f"figures without a number and caption: {uncaptioned}"
    captions = page.locator("article figcaption").evaluate_all(script("caption_texts"))
    ascii = [text[:80] for text in [*alts, *captions] if ASCII_NOTATION.search(text)]
    assert ascii == [], f"captions or alt texts with ASCII notation: {ascii}"
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


SMALLEST_TEXT_PT = 8  # 8 pt is 10.7 CSS px at the drawn size, and 9.1 px at 85 % of it
SHOWN_AT_LEAST = 0.85


def test_no_figure_text_is_drawn_below_8_points():
    """The chapters' and the library's figure code: every fontsize= at least 8 pt (book/matplotlibrc sets 9 and
    10 by default), so that text keeps at least 9 CSS px on a laptop (the next test)."""
    sources = [*sorted((ROOT / "book").glob("*.md")), *sorted((ROOT / "pgbook").rglob("*.py"))]
    sizes = [(path.name, size) for path in sources for size in re.findall(r"fontsize=([^,)\s]+)", path.read_text())]
    assert len(sizes) > 10, "fontsize= no longer found: is the pattern still right?"
    small = [
        (name, size) for name, size in sizes if not re.fullmatch(r"\d+(\.\d+)?", size) or float(size) < SMALLEST_TEXT_PT
    ]
    assert small == [], f"text below {SMALLEST_TEXT_PT} pt, or a size not in points: {small}"


@pytest.mark.parametrize("name", pages_containing("plt.show()"))
def test_figures_are_shown_near_the_size_they_were_drawn_on_a_laptop(site, chromium, name):
    """Figures are drawn for the 688-px column (PNGs at 2x): on a laptop each is shown at 85 % of its drawn size or
    more, so its smallest text (8 pt) is at least 9 CSS px. (The interactive figures' frames are SVG, whose glyphs
    tests/browser/test_figure_text.py measures one by one.)"""
    page, _ = open_page(chromium, f"{site}/book/{name}.html", LAPTOP)
    scales = page.evaluate(script("figure_scales"))
    page.close()
    assert scales, f"{name}: no figure found"
    small = [(alt, round(scale, 2)) for alt, scale in scales if scale < SHOWN_AT_LEAST]
    assert small == [], f"figures shown below {SHOWN_AT_LEAST:.0%} of their drawn size: {small}"


@pytest.mark.parametrize("kind", ["figure img", ".pgbook-frames img"], ids=["figure", "interactive frame"])
def test_a_tapped_figure_opens_at_its_drawn_width_on_a_phone(site, chromium, kind):
    """A phone's column is about half the width a figure is drawn for, so its text is too small to read there:
    tapped, the figure opens at its drawn width (text at its point size), wider than the screen, in a dialog the
    reader pans across; a tap closes it. A static figure and an interactive figure's frame alike."""
    page, problems = open_page(chromium, f"{site}/book/natural-gradient.html", PHONE)
    page.set_default_timeout(RESPONSE_MS)
    image = page.locator(f"article {kind}").first
    image.scroll_into_view_if_needed()
    shown = image.bounding_box()["width"]
    image.tap()
    dialog = page.locator("dialog.pgbook-enlarged")
    enlarged = dialog.locator("img")
    enlarged.wait_for(state="visible")
    width = enlarged.bounding_box()["width"]
    assert width > 1.5 * shown, f"enlarged to {width:.0f} px from {shown:.0f} px"
    assert dialog.evaluate("(d) => d.scrollWidth > d.clientWidth + 100"), "the dialog does not pan"
    dialog.tap()
    dialog.wait_for(state="detached")
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


@pytest.mark.parametrize("viewport", [PHONE, LAPTOP], ids=["390px", "1280px"])
@pytest.mark.parametrize("name", pages_containing("\n| "))
def test_table_cells_wrap_between_words(site, chromium, name, viewport):
    """A column is never narrower than its longest word: no word of a table is split over two lines (as
    "setti / ng" was, in learning-the-policy's table on a phone)."""
    page, _ = open_page(chromium, f"{site}/book/{name}.html", viewport)
    assert page.locator("article table").count() > 0
    split = page.evaluate(script("split_words"))
    page.close()
    assert split == [], f"words split over two lines: {split}"


LOW_CONTRAST = script("low_contrast")


INTERACTIVE_PAGES = pages_containing("pg.figures.show(")


@pytest.mark.parametrize("mode", ["light", "dark"])
@pytest.mark.parametrize("name", PAGES)
def test_text_is_legible_in_light_and_dark_mode(site, chromium, name, mode):
    """Every text has a contrast of at least 4.5 to its background (WCAG AA), in both of the theme's modes; in
    dark mode the interactive figures, which the theme shows on a light panel, draw their controls for it."""
    page, _ = open_page(chromium, f"{site}/book/{name}.html", LAPTOP, mode)
    if name in INTERACTIVE_PAGES:  # the controls are there once the figure's script has run
        page.locator(".output.text_html input").first.wait_for()
        schemes = page.locator(".output.text_html :is(input, select)").evaluate_all(
            "(controls) => [...new Set(controls.map((control) => getComputedStyle(control).colorScheme))]"
        )
        assert schemes == ["light"], f"the interactive figure's controls are drawn for a {schemes} background"
    low = page.evaluate(LOW_CONTRAST)
    page.close()
    assert low == [], f"text below a contrast of 4.5 (3 when large): {low}"


INLINE_MATH = script("inline_math")


@pytest.mark.parametrize("viewport", [PHONE, LAPTOP], ids=["390px", "1280px"])
@pytest.mark.parametrize("name", ["intro", "reinforce", "policy-gradient-theorem"])
def test_inline_math_sits_on_the_baseline_without_a_scroll_bar(site, chromium, name, viewport):
    """An inline formula's baseline is the text's (within 0.5 px: λ sat 7 px low with vertical-align: bottom), and
    no formula, nor a box holding one, scrolls (where desktop browsers draw a scroll bar under it)."""
    page, _ = open_page(chromium, f"{site}/book/{name}.html", viewport)
    measured = page.evaluate(INLINE_MATH)
    page.close()
    assert len(measured["offsets"]) > 20, f"{name}: only {len(measured['offsets'])} inline formulas measured"
    off = [(round(offset, 1), text[:30]) for offset, text in measured["offsets"] if abs(offset) > 0.5]
    assert off == [], f"inline formulas off the baseline (px, + is low): {off[:10]}"
    assert measured["scrolling"] == [], f"scroll boxes around inline formulas: {measured['scrolling']}"


def test_one_search_and_no_empty_band_and_no_fullscreen_button_on_a_phone(site, chromium):
    """At 1280 px the page starts with the chapter, not with a 64-px band holding a second search button: one
    search control on the page at either width; on a phone no fullscreen button (a laptop keeps it)."""
    visible = script("visible_count")
    for viewport in (PHONE, LAPTOP):
        page, problems = open_page(chromium, f"{site}/book/reinforce.html", viewport)
        searches = page.locator(".search-button__button, form.bd-search").evaluate_all(visible)
        fullscreen = page.locator(".btn-fullscreen-button").evaluate_all(visible)
        header = page.locator(".bd-header").evaluate_all(visible)
        top = page.locator("article h1").first.bounding_box()["y"]
        page.close()
        assert searches == 1, f"{viewport['width']} px: {searches} search controls"
        assert header == 0, f"{viewport['width']} px: the header bar is shown"
        assert top < 150, f"{viewport['width']} px: the chapter's title starts {top:.0f} px down"
        assert fullscreen == (0 if viewport is PHONE else 1), f"{viewport['width']} px: {fullscreen} fullscreen buttons"
        assert problems == [], problems


BREAKS = script("name_breaks")


@pytest.mark.parametrize("viewport", [PHONE, LAPTOP], ids=["390px", "1280px"])
@pytest.mark.parametrize("name", ["api", "learning-the-policy"])
def test_names_break_between_their_parts(site, chromium, name, viewport):
    """A name in inline code or an API signature that does not fit its line breaks after ".", "_", "(" or between
    the words of a CamelCase name, never inside a word ("discounted_visita / tion(")."""
    page, _ = open_page(chromium, f"{site}/book/{name}.html", viewport)
    found = page.evaluate(BREAKS)
    page.close()
    if viewport is PHONE and name == "api":
        assert found["breaks"] > 100, f"only {found['breaks']} line breaks inside names measured"
    assert found["bad"] == [], f"names broken inside a word: {found['bad']}"


def test_a_formula_split_at_equals_has_no_double_gap(site, chromium):
    """ "p(τ) ${} = μ0 ...$": the gap before "=" (the space between the two formulas) is the gap after it, within
    1.5 px, not twice it (MathJax's space before "=" on top of the space between the formulas)."""
    gaps = script("formula_gaps")
    for viewport in (PHONE, LAPTOP):
        page, _ = open_page(chromium, f"{site}/book/reinforce.html", viewport)
        measured = page.evaluate(gaps)
        page.close()
        assert measured, "no formula split at = found on one line"
        uneven = [(round(before, 1), round(after, 1), text) for before, after, text in measured if before > after + 1.5]
        assert uneven == [], f"{viewport['width']} px: gap before the sign, after it: {uneven}"


def test_no_link_in_the_built_book_is_dead(built_book):
    """Every link of every built page (href and src) goes to a file of the build, and to an anchor that file has:
    after `make book` alone as after `make pdf` (the preface links to the PDF only once book/pdf.py wrote it)."""
    import html
    import urllib.parse

    pages = sorted(page for page in built_book.rglob("*.html") if "_static" not in page.parts)  # not templates
    ids = {}

    def anchors(path):
        if path not in ids:
            ids[path] = set(re.findall(r'\bid="([^"]+)"', path.read_text(errors="replace")))
        return ids[path]

    dead, checked = [], 0
    for page in pages:
        text = page.read_text(errors="replace")
        for link in re.findall(r'<(?:a|img|script|link)\b[^>]*?\b(?:href|src)="([^"]*)"', text):
            link = html.unescape(link)
            if re.match(r"^[a-z][a-z0-9+.-]*:", link) or link.startswith("//"):
                continue  # another site (the tests that load pages check that none is fetched) or mailto:
            address, fragment = urllib.parse.urldefrag(link)
            path = address.partition("?")[0]
            target = (page.parent / urllib.parse.unquote(path)).resolve() if path else page
            if target.is_dir():
                target = target / "index.html"
            checked += 1
            if not target.is_file():
                dead.append(f"{page.relative_to(built_book)}: {link}")
            elif fragment and target.suffix == ".html" and urllib.parse.unquote(fragment) not in anchors(target):
                dead.append(f"{page.relative_to(built_book)}: {link} (no such anchor)")
    assert checked > 1000, f"only {checked} links checked"
    assert dead == [], f"dead links: {dead[:20]} ({len(dead)} in all)"
    intro = (built_book / "book" / "intro.html").read_text()
    assert '<a class="pgbook-pdf"' in intro, "the preface no longer offers the PDF"


@pytest.mark.parametrize("viewport", [PHONE, LAPTOP], ids=["390px", "1280px"])
def test_figures_in_dark_mode_are_on_white_and_the_explorer_keeps_its_columns(site, chromium, viewport):
    """In dark mode a figure is drawn on white as in light mode (not on the theme's grey panel, dimmed by a
    brightness filter), and the explorer's controls stand in as many columns as in light mode (two on a phone)."""
    looks = script("dark_mode_looks")
    seen = {}
    for mode in ("light", "dark"):
        page, _ = open_page(chromium, f"{site}/book/reinforce.html", viewport, mode)
        page.locator(".pgbook-explorer svg").first.wait_for()
        seen[mode] = page.evaluate(looks)
        page.close()
    images = seen["dark"]["images"]
    assert images, "no figure found"
    dimmed = [look for look in images if look[0] != "none"]
    grey = [look for look in images if look[1] != "rgb(255, 255, 255)"]
    assert dimmed == [] and grey == [], f"figures dimmed {dimmed} or on a grey panel {grey}"
    assert seen["dark"]["columns"] == seen["light"]["columns"] >= 2, seen
