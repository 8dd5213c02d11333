"""The whole book as one PDF (`make pdf`), printed from the built HTML book.

Not a chapter: the script behind `make pdf`. It serves the built HTML book (``_build/html``) on a local port,
opens each page of ``_toc.yml`` in order in headless Chromium (Debian's, driven by Playwright, as the browser
tests do), waits until MathJax has typeset its equations and its figures are drawn, prints it with the book's
print stylesheet (``book/_static/print.css``: no sidebars or buttons, each interactive figure at the frame it
opens with, folded code left out), and joins the pages with pypdf behind a title page and a table of contents,
with an outline entry per part, chapter and section. Page numbers run through the whole book. The PDF is
written into the HTML book (``_build/html/pgbook.pdf``), and the preface's "the whole book in one file" (an
``<a class="pgbook-pdf">`` without a target in the HTML build, which has no PDF: no dead link) becomes a link to
it.

Printing each chapter page on its own keeps the cost to one page load per chapter, about two seconds each
(a single-page build of the whole book took minutes to build and longer to print).

Usage: ``python book/pdf.py [HTML folder] [PDF file]``, by default ``_build/html`` and ``<folder>/pgbook.pdf``.
"""

import functools
import html
import http.server
import io
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pypdf
import yaml
from playwright.sync_api import Browser, Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
MARGIN = {"top": "16mm", "bottom": "16mm", "left": "15mm", "right": "15mm"}
# A loaded two-core machine has taken over a minute for one page with MathJax (tests/browser/test_built_pages.py).
TIMEOUT_MS = 240_000

# Every page's equations are typeset and its figures drawn. MathJax's startup promise settles after the first
# typesetting pass; a page without equations does not load MathJax at all.
READY = """() => {
  const mathjax = document.querySelector('script[src*="mathjax"]');
  if (mathjax && !(window.MathJax && MathJax.startup && MathJax.startup.promise)) return false;
  const explorers = [...document.querySelectorAll(".pgbook-explorer")];
  if (explorers.some((el) => !el.querySelector("svg"))) return false;
  return [...document.images].every((image) => image.complete);
}"""


def parts() -> list[tuple[str, list[str]]]:
    """The book's parts in ``_toc.yml`` order: (caption, page names); the preface is a part without caption."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [("", [Path(toc["root"]).name])] + [
        (part["caption"], [Path(chapter["file"]).name for chapter in part["chapters"]]) for part in toc["parts"]
    ]


def book_title() -> str:
    return yaml.safe_load((ROOT / "_config.yml").read_text())["title"]


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (the base class's name): no line per request
        pass


@contextmanager
def serve(folder: Path) -> Iterator[str]:
    """The HTML book on a local port (MathJax's fonts do not load from file:// pages); its URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=folder))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def footer_style(first_page: int, running_title: str) -> str:
    """Page numbers that continue from the previous chapter, and the chapter's title at the foot of its pages."""
    title = running_title.replace("\\", "\\\\").replace('"', '\\"')
    return f"""
html {{ counter-reset: page {first_page - 1}; }}
@page {{
  @bottom-left {{ content: "{title}"; font: 8pt sans-serif; color: #666; }}
  @bottom-right {{ content: counter(page); font: 8pt sans-serif; color: #666; }}
}}"""


def print_page(page: Page, first_page: int, running_title: str) -> pypdf.PdfReader:
    """The loaded page as a PDF whose page numbers start at ``first_page``."""
    page.add_style_tag(content=footer_style(first_page, running_title))
    pdf = page.pdf(format="A4", margin=MARGIN, print_background=True, outline=True, tagged=True)
    return pypdf.PdfReader(io.BytesIO(pdf))


# The headings a printed page shows, in document order: Chromium's outline has one entry for each, but its
# titles lose the spaces at line breaks and repeat a heading that starts a page ("ExerciseExercise").
HEADINGS = """() => [...document.querySelectorAll("h1, h2, h3, h4, h5, h6")]
  .filter((heading) => heading.getClientRects().length)
  .map((heading) => heading.innerText.replace(/#$/, "").replace(/\\s+/g, " ").trim())"""


def print_chapter(page: Page, url: str, first_page: int) -> tuple[list[str], pypdf.PdfReader]:
    """Open a chapter, wait until it is typeset and drawn, print it; its headings (the title first) and PDF."""
    page.goto(url)
    page.wait_for_load_state("load")
    page.wait_for_function(READY)
    page.evaluate("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
    headings = page.evaluate(HEADINGS)
    return headings, print_page(page, first_page, headings[0])


def front_matter(page: Page, contents: list[tuple[str, list[tuple[str, int]]]]) -> pypdf.PdfReader:
    """The title page and the table of contents: parts, and chapters with their first pages."""
    rows = []
    for caption, chapters in contents:
        if caption:
            rows.append(f'<li class="part">{html.escape(caption)}</li>')
        rows += [f"<li><span>{html.escape(title)}</span><span>{number}</span></li>" for title, number in chapters]
    page.set_content(f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><style>
body {{ font-family: sans-serif; font-size: 11pt; }}
.cover {{ break-after: page; padding-top: 35%; text-align: center; }}
.cover h1 {{ font-size: 28pt; font-weight: normal; }}
ol {{ list-style: none; padding: 0; }}
li {{ display: flex; justify-content: space-between; padding: 3pt 0; }}
li.part {{ font-weight: bold; padding-top: 12pt; }}
</style></head><body>
<div class="cover"><h1>{html.escape(book_title())}</h1>
<p>{html.escape(yaml.safe_load((ROOT / "_config.yml").read_text())["author"])}</p></div>
<h2>Contents</h2><ol>{"".join(rows)}</ol></body></html>""")
    pdf = page.pdf(format="A4", margin=MARGIN, outline=False, tagged=True)
    return pypdf.PdfReader(io.BytesIO(pdf))


def copy_outline(writer: pypdf.PdfWriter, reader: pypdf.PdfReader, items, titles: Iterator[str], offset: int,
                 parent) -> None:  # fmt: skip
    """Add a printed page's outline to the book's, with the page's own heading texts, at the pages ``offset`` on."""
    last = parent
    for item in items:
        if isinstance(item, list):
            copy_outline(writer, reader, item, titles, offset, last)
        else:
            page_number = offset + reader.get_destination_page_number(item)
            last = writer.add_outline_item(title=next(titles), page_number=page_number, parent=parent)


def outline_length(items) -> int:
    return sum(outline_length(item) if isinstance(item, list) else 1 for item in items)


def book_pdf(html_folder: Path, output: Path, browser: Browser) -> Path:
    """Print every page of the book in ``_toc.yml`` order into one PDF at ``output``; its path."""
    with serve(html_folder) as site:
        page = browser.new_page(color_scheme="light", viewport={"width": 1280, "height": 800})
        page.set_default_timeout(TIMEOUT_MS)
        page.emulate_media(media="print")  # the headings read from each page are those that print
        # The front matter's length first (with the chapters' page numbers unknown), then the chapters.
        structure = parts()
        placeholder = [(caption, [(name, 0) for name in names]) for caption, names in structure]
        front_pages = len(front_matter(page, placeholder).pages)
        printed, next_page = [], front_pages + 1
        for caption, names in structure:
            chapters = []
            for name in names:
                headings, pdf = print_chapter(page, f"{site}/book/{name}.html", next_page)
                if outline_length(pdf.outline) != len(headings):
                    raise RuntimeError(f"{name}: {outline_length(pdf.outline)} outline entries, {headings} headings")
                chapters.append((headings, next_page, pdf))
                next_page += len(pdf.pages)
            printed.append((caption, chapters))
        contents = [(caption, [(headings[0], first) for headings, first, _ in pages]) for caption, pages in printed]
        front = front_matter(page, contents)
        page.close()
    if len(front.pages) != front_pages:
        raise RuntimeError(f"the table of contents took {len(front.pages)} pages, {front_pages} expected")

    writer = pypdf.PdfWriter()
    writer.append(front)
    for _, chapters in printed:
        for _, _, pdf in chapters:
            writer.append(pdf, import_outline=False)
    writer.add_outline_item(title="Contents", page_number=front_pages - 1)
    for caption, chapters in printed:
        parent = writer.add_outline_item(title=caption, page_number=chapters[0][1] - 1) if caption else None
        for headings, first, pdf in chapters:
            copy_outline(writer, pdf, pdf.outline, iter(headings), first - 1, parent)
    writer.add_metadata({"/Title": book_title()})
    writer.page_mode = "/UseOutlines"
    output.parent.mkdir(parents=True, exist_ok=True)
    with open(output, "wb") as file:
        writer.write(file)
    return output


PDF_LINK = '<a class="pgbook-pdf">'


def link_from_the_preface(html_folder: Path, pdf: Path) -> None:
    """The preface's "the whole book in one file" links to the PDF, now that it exists (again, if it did)."""
    intro = html_folder / "book" / "intro.html"
    href = html.escape(Path(os.path.relpath(pdf, intro.parent)).as_posix())
    text = intro.read_text()
    if PDF_LINK not in text and f'<a class="pgbook-pdf" href="{href}">' not in text:
        raise RuntimeError(f"{intro}: no {PDF_LINK} to link to the PDF from")
    intro.write_text(text.replace(PDF_LINK, f'<a class="pgbook-pdf" href="{href}">'))


def main(argv: list[str]) -> None:
    html_folder = Path(argv[1]) if len(argv) > 1 else ROOT / "_build" / "html"
    output = Path(argv[2]) if len(argv) > 2 else html_folder / "pgbook.pdf"
    if not (html_folder / "book" / "intro.html").exists():
        sys.exit(f"no built HTML book in {html_folder}: run `make book` first")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            path = book_pdf(html_folder, output, browser)
        finally:
            browser.close()
    link_from_the_preface(html_folder, path)
    print(f"{path}: {len(pypdf.PdfReader(path).pages)} pages")


if __name__ == "__main__":
    main(sys.argv)
