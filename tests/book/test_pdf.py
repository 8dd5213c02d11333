"""`make pdf`: the whole book as one PDF, printed from the book the tests built (book/pdf.py), read back with pypdf.

One printing per run (a page load per chapter: about two minutes on a loaded two-core machine), bounded
by a timeout that fails the test rather than hanging the run.
"""

import re
import sys
import unicodedata

import pypdf
import pytest
import yaml

from pages import ROOT, book_pages

# Not in the "book" group: it comes last with the browser tests, once the book is built (conftest.py).
pytestmark = pytest.mark.slow

PRINT_TIMEOUT_S = 600  # measured 2 min (benchmarks/results/pdf.md): a hung browser fails here, not at CI's limit


def source_title(name: str) -> str:
    """A chapter's title as its source writes it (the first level-1 heading), without Markdown code marks."""
    title = re.search(r"^# (.+)$", (ROOT / "book" / f"{name}.md").read_text(), re.M).group(1)
    return title.replace("`", "").strip()


def chapter_numbers() -> dict[str, int]:
    """The chapters' numbers, as Jupyter Book numbers the chapters of the numbered parts of _toc.yml in turn."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    names = [c["file"].rsplit("/", 1)[-1] for part in toc["parts"] if part.get("numbered") for c in part["chapters"]]
    return {name: number for number, name in enumerate(names, start=1)}


def squeeze(text: str) -> str:
    """Text without whitespace and ligatures ("ﬀ"): the printed page's line breaks and typography do not matter."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def image_count(resources) -> int:
    """The images a page draws, in its resources and its forms' (without decoding them, as page.images does)."""
    count = 0
    for xobject in (resources or {}).get("/XObject", {}).values():
        xobject = xobject.get_object()
        if xobject["/Subtype"] == "/Image":
            count += 1
        elif xobject["/Subtype"] == "/Form":
            count += image_count(xobject.get("/Resources"))
    return count


def chapter_starts(outline) -> list[int]:
    """The page index of each chapter, in _toc.yml order: the first part- or chapter-level outline entry whose
    text ends with its title (a numbered title, "3. Title", ends with it too)."""
    starts = []
    for name in book_pages():
        title = squeeze(source_title(name))
        entries = [page for depth, text, page in outline if depth <= 1 and squeeze(text).endswith(title)]
        assert entries, f"no outline entry for the chapter {title!r}"
        starts.append(entries[0])
    return starts


def flat_outline(reader, items, depth=0):
    """The outline as (depth, title, page index) in order."""
    entries = []
    for item in items:
        if isinstance(item, list):
            entries += flat_outline(reader, item, depth + 1)
        else:
            entries.append((depth, item.title, reader.get_destination_page_number(item)))
    return entries


@pytest.fixture(scope="session")
def book_pdf(built_book, chromium_executable, once):
    """`make pdf`'s command on the built book: it writes pgbook.pdf into the HTML book, where the preface links.

    Printed once per run (`once`): these tests come last, on both workers, which would otherwise each print it.
    """
    once("pdf", [sys.executable, str(ROOT / "book" / "pdf.py"), str(built_book)], PRINT_TIMEOUT_S)
    path = built_book / "pgbook.pdf"
    reader = pypdf.PdfReader(path)
    return reader, [page.extract_text() for page in reader.pages], flat_outline(reader, reader.outline)


def test_the_front_page_links_to_the_pdf(built_book, book_pdf):
    intro = (built_book / "book" / "intro.html").read_text()
    links = re.findall(r'href="([^"#?]*\.pdf)"', intro)
    assert links, "the preface has no link to the PDF"
    for link in links:
        assert (built_book / "book" / link).resolve() == (built_book / "pgbook.pdf").resolve()


def test_every_chapter_is_in_the_pdf_in_order(book_pdf):
    _, texts, outline = book_pdf
    titles = [source_title(name) for name in book_pages()]
    # Each chapter has an outline entry (its title, maybe numbered) at the page where its title is printed,
    # the chapters in _toc.yml order, each starting after the previous one.
    starts = chapter_starts(outline)
    for title, page in zip(titles, starts, strict=True):
        # Twice: the chapter's heading, and the running title in the footer of each of its pages.
        assert squeeze(texts[page]).count(squeeze(title)) >= 2, f"{title!r} is not printed on page {page + 1}"
    assert starts == sorted(starts) and len(set(starts)) == len(starts), list(zip(titles, starts, strict=True))
    # The parts of the table of contents are top-level outline entries, with their chapters below them.
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    top = [text for depth, text, _ in outline if depth == 0]
    assert top == ["Contents", titles[0]] + [part["caption"] for part in toc["parts"]]
    # The printed table of contents gives each chapter, with its number as the web book numbers it ("5. From the
    # theorem to REINFORCE"), and its first page, as the footers number them; the chapter's title is numbered too.
    contents = squeeze(" ".join(texts[: starts[0]]))
    numbers = chapter_numbers()
    for name, title, page in zip(book_pages(), titles, starts, strict=True):
        numbered = f"{numbers[name]}. {title}" if name in numbers else title
        assert squeeze(f"{numbered}{page + 1}") in contents, f"contents: {numbered!r} should say page {page + 1}"
        assert squeeze(numbered) in squeeze(texts[page]), f"page {page + 1}: no title {numbered!r}"
        footer = squeeze(f"{page + 1}{numbered}")  # the footer: page number and running title
        assert footer in squeeze(texts[page]), f"page {page + 1} does not carry its number"
    assert len(numbers) >= 10, numbers


def test_equations_are_typeset_and_figures_printed(built_book, book_pdf):
    reader, texts, outline = book_pdf
    text = "\n".join(texts)
    # MathJax's delimiters and display commands left in the text: an equation printed before it was typeset.
    # (Not every TeX command: the source of a function can show one in its docstring.)
    raw = sorted(set(re.findall(r"\$\$|\\[([]|\\begin\{|\\frac\b", text)))
    assert raw == [], f"raw TeX in the PDF: {raw}"
    assert text.count("∇") >= 100, "MathJax's typeset gradients are missing"
    # Every page with a figure in the HTML book has one in its printed pages.
    starts = chapter_starts(outline) + [len(reader.pages)]
    for name, start, end in zip(book_pages(), starts, starts[1:], strict=False):
        article = (built_book / "book" / f"{name}.html").read_text().partition("<article")[2]  # not the header's
        html_images = article.partition("</article>")[0].count("<img ")
        pdf_images = sum(image_count(reader.pages[index].get("/Resources")) for index in range(start, end))
        assert pdf_images or not html_images, f"{name}: {html_images} images in the HTML, none printed"
    # A sane length: every chapter at least a page, and no page printed with a few lines each.
    assert len(book_pages()) + 2 <= len(reader.pages) <= 60 * len(book_pages())


def test_the_pdf_reads_as_a_printed_book(book_pdf):
    """No web chrome in print: a solution prints open, without "Click to show" and its chevron; the explorer's
    menus print as their values (no menu box: its arrow would be a glyph in the text)."""
    _, texts, _ = book_pdf
    text = "\n".join(texts)
    assert "Click to show" not in text and "Click to hide" not in text, "a solution printed with its toggle"
    assert text.count("Solution to") >= 10, "the solutions are not printed"
    assert text.count("Correct.") >= 10, "the solutions' checks (pg.exercises' 'Correct. ...') are not printed"
