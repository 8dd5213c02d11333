"""Running the book: a chapter opened in JupyterLab (as Binder's launch button does) is a notebook.

Binder, `make install` and a reader's plain clone (`pip install -r requirements.txt`, then `jupyter lab`) install
requirements.txt, whose book/_ext/jupyter makes Jupytext's notebook view the default for MyST markdown and
book/_ext/jupyter_chapters.py the server's contents manager; the launch button opens ``lab/tree/book/<chapter>.md``.
This starts JupyterLab from the test environment, opens a chapter by that URL in headless Chromium, and runs it.
The server's folder is a copy of the book's chapters, so that nothing a test does
in JupyterLab (a save, an autosave) can change the repository's own files.
"""

import asyncio
import json
import os
import re
import sys
from pathlib import Path

import jupytext
import pytest
from jupyter_core.paths import jupyter_config_path

from browsing import serve_copy
from pages import ROOT, book_pages, plain

sys.path.insert(0, str(ROOT / "book" / "_ext"))
import jupyter_chapters  # noqa: E402 (book/_ext is not a package)

pytestmark = pytest.mark.slow
# The tests that start JupyterLab share one server, on one worker (with the live figure's kernel tests); the others
# stay out of that group, so that the one comparing with the built book does not hold a worker idle during the build.
one_server = pytest.mark.xdist_group("browser")


def test_the_environment_opens_markdown_chapters_as_notebooks():
    """requirements.txt installed book/_ext/jupyter into this environment: JupyterLab's settings, and the server
    extension that makes the repository's book/_ext/jupyter_chapters.py the contents manager (no postBuild)."""
    package = ROOT / "book" / "_ext" / "jupyter"
    overrides = Path(sys.prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.d" / "pgbook.json"
    assert overrides.exists(), "requirements.txt (book/_ext/jupyter) is not installed in this environment"
    assert json.loads(overrides.read_text()) == json.loads((package / "pgbook.json").read_text()), "reinstall it"
    settings = json.loads(overrides.read_text())
    assert settings["@jupyterlab/docmanager-extension:plugin"]["defaultViewers"]["markdown"] == "Jupytext Notebook"
    assert settings["@jupyterlab/apputils-extension:notification"] == {"fetchNews": "false", "checkForUpdates": False}
    enabled = [Path(folder) / "jupyter_server_config.d" / "pgbook_jupyterlab.json" for folder in jupyter_config_path()]
    assert any(path.exists() for path in enabled), "the server extension pgbook_jupyterlab is not enabled"
    import pgbook_jupyterlab

    assert pgbook_jupyterlab.book_extensions() == ROOT / "book" / "_ext", "the extension runs another book's code"


def shown_text(markdown: str) -> str:
    """The text JupyterLab shows for MyST abbreviations: ``{abbr}`Williams, 1992 (reference)``` → Williams, 1992."""
    return re.sub(r"\{abbr\}`([^`(]+?) \([^`()]*\)`", r"\1", markdown)


def test_a_save_turns_each_citation_jupyterlab_shows_back_into_the_chapters_own():
    """Every markdown cell of every chapter: the server shows its citations (no {cite} role left for
    jupyterlab-myst to show as a bare key), and turns them back, character for character, when it is saved."""
    works = jupyter_chapters.book(ROOT / "book" / "intro.md").bibliography
    cells = [cell.source for name in book_pages() for cell in jupytext.read(ROOT / "book" / f"{name}.md").cells
             if cell.cell_type == "markdown"]  # fmt: skip
    cited = [source for source in cells if "{cite" in source]
    assert len(cited) >= 20, "the chapters cite less than they did: is the pattern still right?"
    assert [source for source in cited if "{cite" in works.show(source)] == []
    assert [source for source in cells if works.cite(works.show(source)) != source] == []


def test_citations_in_jupyterlab_read_as_in_the_html_book(built_book):
    """Chapter by chapter, the citations JupyterLab shows are the HTML book's, in order: "[Williams, 1992]",
    "Sutton and Barto [2018]", "[Nota and Thomas, 2020, Thomas, 2014]", "Kakade, 2001a"."""
    works = jupyter_chapters.book(ROOT / "book" / "intro.md").bibliography
    checked = 0
    for name in book_pages():
        chapter = (ROOT / "book" / f"{name}.md").read_text()
        shown = [shown_text(works.show(citation[0])) for citation in re.finditer(r"\{cite(:t)?\}`[^`]+`", chapter)]
        page = (built_book / "book" / f"{name}.html").read_text()
        in_book = [plain(span)
                   for span in re.findall(r'<span class="bibtex-citation"[^>]*>(.*?)</span>', page, re.S)]  # fmt: skip
        assert shown == in_book, name
        checked += len(shown)
    assert checked >= 40, f"only {checked} citations compared"


def test_the_server_reads_the_book_again_only_when_a_chapter_changes(tmp_path):
    """Opening or autosaving a chapter does not re-read every chapter and the bibliography: what was read is kept
    until a chapter, references.bib or _toc.yml has a new modification time."""
    chapter = serve_copy(tmp_path) / "book" / "reinforce.md"
    first = jupyter_chapters.book(chapter)
    assert jupyter_chapters.book(chapter) is first
    for changed in (chapter.parent / "intro.md", chapter.parent / "references.bib", tmp_path / "_toc.yml"):
        stamp = changed.stat().st_mtime_ns + 1_000_000_000
        os.utime(changed, ns=(stamp, stamp))
        again = jupyter_chapters.book(chapter)
        assert again is not first, f"{changed.name} changed, and the book was not read again"
        first = again


# What the server writes for a reference jupyterlab-myst cannot show as the book does: a link with the book's text.
LINK = re.compile(r"\[([^\]]+)\]\(([a-z-]*\.md)?#?([a-z-]*)\)")


def test_a_save_turns_each_reference_jupyterlab_shows_back_into_the_chapters_own(tmp_path):
    """Every chapter, through the server as JupyterLab opens and saves it: what is left for jupyterlab-myst to
    resolve is a reference within the chapter (no {doc}, no {numref}: it does not number sections), the chapter's
    number is in its front matter, and saving what was opened leaves the file byte for byte as it was."""
    manager = jupyter_chapters.ChapterContentsManager(root_dir=str(serve_copy(tmp_path)))
    outline = jupyter_chapters.Outline(ROOT / "book")
    links = 0
    for name in book_pages():
        path = f"book/{name}.md"
        model = asyncio.run(manager.get(path))
        markdown = "\n".join(cell["source"] for cell in model["content"]["cells"] if cell["cell_type"] == "markdown")
        left = re.findall(r"\{(eq|numref|ref|prf:ref|doc)\}`(?:[^`<]*<)?([^`>]+)>?`", markdown)
        assert [(role, label) for role, label in left if role in ("doc", "numref")] == [], name
        assert [label for _, label in left if outline.targets[label][0] != name] == [], name
        if name in outline.numbers:
            assert markdown.startswith(f'---\nnumbering:\n  enumerator: "{outline.numbers[name]}.%s"\n---\n# ')
        links += len(LINK.findall(markdown))
        before = (tmp_path / path).read_bytes()
        asyncio.run(manager.save(model, path))
        assert (tmp_path / path).read_bytes() == before, f"{name}: opening and saving changed the chapter"
    assert links >= 80, f"only {links} references shown as links: is the pattern still right?"


def test_references_in_jupyterlab_read_and_link_as_in_the_html_book(built_book):
    """Each reference the server shows as a link has the text of the HTML book's link to the same place:
    "(1.1)", "Section 5.1", "Lemma 6.1", a chapter's title; and links to the same chapter and label."""
    outline = jupyter_chapters.Outline(ROOT / "book")
    checked = 0
    for name in book_pages():
        page = (built_book / "book" / f"{name}.html").read_text()
        in_book = set(links_in_the_book(page))
        for text, chapter, label in LINK.findall(outline.show(name, outline.sources[name])):
            href = chapter.replace(".md", ".html")
            if label:
                equation = outline.targets[label][1].startswith("(")
                href += f"#equation-{label}" if equation else f"#{label}"
            assert (href, text) in in_book, f"{name}: [{text}]({chapter}#{label}) is not a link of the book's"
            checked += 1
    assert checked >= 80, f"only {checked} references compared"


def open_chapter(chromium, jupyterlab, name):
    """Open ``book/<name>.md`` by the URL a Binder launch button uses; wait until its cells are on the page."""
    page = chromium.new_page(viewport={"width": 1280, "height": 800})
    page.set_default_timeout(300_000)  # the kernel's first cell imports torch: minutes on a loaded machine
    # ?reset: a fresh workspace, as a Binder launch has, not the tabs an earlier test left open
    page.goto(f"{jupyterlab}/lab/tree/book/{name}.md?reset&token=pgbook-test")
    page.locator(".jp-NotebookPanel .jp-CodeCell").first.wait_for()
    return page


@one_server
def test_a_chapter_launched_by_its_url_opens_as_a_notebook_and_runs(chromium, jupyterlab, served):
    """... and opening it changes nothing: its tab is not marked unsaved once the kernel is ready, and running a
    cell and saving leaves the chapter's file byte for byte as it was (Jupytext writes back the same markdown)."""
    page = open_chapter(chromium, jupyterlab, "reinforce")
    chapter = served / "book" / "reinforce.md"
    first_cell = page.locator(".jp-NotebookPanel .jp-CodeCell").first
    page.wait_for_function(
        "() => document.querySelector('.jp-NotebookPanel').innerText.includes('From the theorem to REINFORCE')"
    )
    assert "import pgbook as pg" in first_cell.inner_text()
    assert page.locator(".jp-FileEditor").count() == 0, "the chapter also opened as a text file"
    # The cells are on the page before the notebook has a kernel, and JupyterLab ignores a cell run while the
    # kernel is initializing (this test timed out so under CI): wait for the status bar's "<kernel> | Idle".
    kernel_status = "document.querySelector('.jp-StatusBar-TextItem[title*=\"reinforce.md\"]')?.textContent"
    page.wait_for_function(f"() => /\\| Idle$/.test({kernel_status})")
    tab = page.locator(".lm-TabBar-tab", has_text="reinforce.md")
    assert "jp-mod-dirty" not in tab.get_attribute("class"), "the chapter is marked unsaved on opening"
    # The cells whose input the HTML book folds (plotting code) start folded here too, as do the solutions.
    notebook = jupytext.read(chapter)
    solutions = [id(cell) for cell, _ in jupyter_chapters.solutions(notebook, None)]
    folded = [k for k, cell in enumerate(notebook.cells)
              if "hide-input" in cell.metadata.get("tags", []) or id(cell) in solutions]  # fmt: skip
    assert folded and solutions, "the chapter has no folded cell or no solution to check"
    hidden = page.locator(".jp-NotebookPanel .jp-Cell").evaluate_all(
        "(cells) => cells.flatMap((cell, k) => cell.querySelector('.jp-InputPlaceholder') ? [k] : [])"
    )
    assert hidden == folded, f"cells with their input folded: {hidden}, expected: {folded}"
    # run the first cell with the kernel: it imports the library
    first_cell.click()
    page.keyboard.press("Shift+Enter")
    prompt = "document.querySelector('.jp-NotebookPanel .jp-CodeCell .jp-InputPrompt').textContent"
    page.wait_for_function(f"() => /\\[1\\]/.test({prompt})")
    output = first_cell.locator(".jp-OutputArea").inner_text()
    assert "Error" not in output and "Traceback" not in output, output
    # What an autosave would do: save the run chapter (its outputs are not part of the markdown).
    assert "jp-mod-dirty" in tab.get_attribute("class"), "running a cell did not mark the chapter as changed"
    page.keyboard.press("Control+s")
    page.wait_for_function(
        "() => !document.querySelector('.lm-TabBar-tab.jp-mod-current').classList.contains('jp-mod-dirty')"
    )
    assert chapter.read_bytes() == (ROOT / "book" / "reinforce.md").read_bytes(), "saving rewrote the chapter"
    page.close()


@one_server
def test_callouts_math_citations_and_folded_solutions_render_as_in_the_book(chromium, jupyterlab):
    """jupyterlab-myst renders the MyST of markdown cells: a callout is a callout (not ":class: warning" in
    monospace), its math is typeset, a citation reads as the book's ("[Sutton and Barto, 2018]", the reference
    on hover; not the bare key with a warning), and an exercise's solution starts folded."""
    page = open_chapter(chromium, jupyterlab, "learning-the-policy")
    notebook = page.locator(".jp-NotebookPanel")
    callout = notebook.locator("aside.myst-admonition", has_text="What the notes get wrong").first
    callout.wait_for(state="visible")
    assert callout.locator(".katex").count() > 0, "the callout's math is not typeset"
    solution = notebook.locator("details.myst-exercise, details.myst-admonition", has_text="Solution").first
    solution.wait_for(state="attached")
    assert not solution.evaluate("(details) => details.open"), "the solution starts unfolded"
    citation = notebook.locator("abbr", has_text="Sutton and Barto, 2018").first
    citation.wait_for(state="visible")
    assert "Reinforcement Learning: An Introduction" in citation.get_attribute("aria-label")
    assert "[Sutton and Barto, 2018] (Example 13.1)" in citation.locator("xpath=..").inner_text()
    rendered = notebook.locator(".jp-MarkdownOutput").all_inner_texts()
    assert not [text for text in rendered if ":class:" in text or "{admonition}" in text], "raw MyST on the page"
    assert not [text for text in rendered if "{cite" in text or "sutton2018reinforcement" in text], "a bare key"
    page.close()


def links_in_the_book(page: str) -> list[tuple[str, str]]:
    """The page's links within the book: (href, text), with Sphinx's smart quotes made plain ("’" as "'")."""
    links = re.findall(r'<a class="reference internal" href="([^"]*)"[^>]*>(.*?)</a>', page, re.S)
    return [(href, plain(text).strip().replace("’", "'")) for href, text in links]


def numbers_in_the_book(page: str) -> dict[str, str]:
    """label -> the text the HTML book shows for it: an equation's number "(11.2)", from the equation itself, and
    the text of each link within the page ("Theorem 11.1", "Exercise 11.2")."""
    shown = {label: f"({number})" for label, number in re.findall(
        r'id="equation-([^"]+)">\s*<span class="eqno">\(([\d.]+)\)<', page)}  # fmt: skip
    for href, text in links_in_the_book(page):
        if href.startswith("#"):
            shown.setdefault(href.removeprefix("#").removeprefix("equation-"), text)
    return shown


@one_server
def test_a_chapters_numbers_and_references_read_as_in_the_book(chromium, jupyterlab, built_book):
    """In JupyterLab a chapter's equations, theorems and exercises carry the book's numbers ("(12.2)", "Theorem
    12.1", not jupyterlab-myst's "(2)", "Theorem 1"), no reference is "Cross Reference Not Found", and a reference
    to another chapter (compatible features' theorem, "Theorem 11.1" in the book) opens that chapter."""
    in_book = (built_book / "book" / "natural-gradient.html").read_text()
    theorem = dict(links_in_the_book(in_book))["compatible-features.html#compatible-features-theorem"]
    assert re.fullmatch(r"Theorem \d+\.1", theorem), theorem
    page = open_chapter(chromium, jupyterlab, "natural-gradient")
    notebook = page.locator(".jp-NotebookPanel")
    # every markdown cell rendered (jupyterlab-myst numbers the notebook's targets once all of them are)
    page.wait_for_function(
        "() => { const cells = document.querySelectorAll('.jp-NotebookPanel .jp-MarkdownCell');"
        " return cells.length > 0 && [...cells].every((cell) => cell.querySelector('.myst')); }"
    )
    other_chapter = notebook.locator(".myst a", has_text=theorem).first
    other_chapter.wait_for(state="visible")
    book = numbers_in_the_book(in_book)
    shown = notebook.locator(".jp-MarkdownCell .myst a[href^='#']").evaluate_all(
        "(links) => links.map((a) => [a.getAttribute('href').slice(1), a.innerText.replace(/\\u00a0/g, ' ')])"
    )
    compared = [(label, text, book[label]) for label, text in shown if label in book and text != "¶"]
    assert [row for row in compared if row[1] != row[2]] == [], "numbers that differ from the book's"
    assert len({label for label, _, _ in compared}) >= 5, f"only {compared} compared"
    assert "Cross Reference Not Found" not in notebook.inner_text()
    other_chapter.click()
    page.locator(".lm-TabBar-tab", has_text="compatible-features.md").wait_for()
    page.close()


def markdown_rendered(page) -> None:
    """Wait until every markdown cell of the open notebook is rendered by jupyterlab-myst."""
    page.wait_for_function(
        "() => { const cells = document.querySelectorAll('.jp-NotebookPanel .jp-MarkdownCell');"
        " return cells.length > 0 && [...cells].every((cell) => cell.querySelector('.myst')); }"
    )


@one_server
def test_a_solution_stays_hidden_until_the_reader_opens_it_and_run_all_runs_it(chromium, jupyterlab, served):
    """An exercise's solution is hidden until the reader opens it: JupyterLab shows a folded cell as its first
    line, "# Solution to Exercise 3.1: click to show it", and no line of the solution's code is on the page. "Run
    All Cells" runs the whole chapter, the solution included, top to bottom; opened, it shows its verdict."""
    name = "log-derivative-trick"
    page = open_chapter(chromium, jupyterlab, name)
    notebook = page.locator(".jp-NotebookPanel")
    markdown_rendered(page)
    chapter = jupytext.read(served / "book" / f"{name}.md")
    outline = jupyter_chapters.Outline(served / "book")
    hidden = jupyter_chapters.solutions(chapter, outline)
    assert hidden, f"{name} has no solution to check"
    prose = "\n".join(cell.source for cell in chapter.cells if cell.cell_type == "markdown")
    code_lines = {line.strip() for cell, _ in hidden for line in cell["source"].split("\n")}
    code_lines = {line for line in code_lines if len(line) > 8 and line not in prose}  # not quoted by the text
    shown = notebook.inner_text()
    assert code_lines and [line for line in code_lines if line in shown] == [], "solution code visible unopened"
    placeholders = notebook.locator(".jp-InputPlaceholder").all_inner_texts()
    for _, line in hidden:
        assert line.strip() in [text.strip() for text in placeholders], f"no folded cell reads {line.strip()!r}"
    kernel_status = f"document.querySelector('.jp-StatusBar-TextItem[title*=\"{name}.md\"]')?.textContent"
    page.wait_for_function(f"() => /\\| Idle$/.test({kernel_status})")
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    # every code cell the reader sees has run ([n], not [ ] or [*]), and the kernel is idle again
    page.wait_for_function(
        "() => { const prompts = [...document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell .jp-InputArea"
        " .jp-InputPrompt')]; return prompts.length > 0 && prompts.every((p) => /\\[\\d+\\]/.test(p.textContent)); }"
    )
    page.wait_for_function(f"() => /\\| Idle$/.test({kernel_status})")
    errors = notebook.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    assert "Traceback" not in notebook.inner_text() and errors.count() == 0, "the chapter did not run cleanly"
    # the reader opens the solution: its code, run by Run All, and its output (the check's verdict)
    index = notebook.locator(".jp-Cell").evaluate_all(
        "(cells) => cells.findIndex((cell) =>"
        " cell.querySelector('.jp-InputPlaceholder')?.innerText.includes('Solution to'))"
    )
    solution = notebook.locator(".jp-Cell").nth(index)
    solution.locator(".jp-InputPlaceholder .jp-Placeholder-content").first.click()
    solution.locator(".jp-InputArea .jp-InputPrompt").first.wait_for()
    assert re.search(r"\[\d+\]", solution.locator(".jp-InputArea .jp-InputPrompt").first.inner_text())
    assert [line for line in code_lines if line in notebook.inner_text()], "the opened solution shows no code"
    verdict = solution.locator(".jp-OutputArea-output").first
    verdict.wait_for()
    assert verdict.inner_text().strip() and "Error" not in verdict.inner_text(), verdict.inner_text()
    page.close()


def headings_in_the_book(page: str) -> list[str]:
    """The page's headings h1–h3 as the HTML book shows them, with their numbers ("4.2. The trajectory form")."""
    found = re.findall(r'<h([123])>((?:(?!</h[123]>).)*?)<a class="headerlink"', page, re.S)
    return [re.sub(r"\s+", " ", plain(text)).strip() for _, text in found]


@one_server
def test_headings_proofs_and_library_references_read_as_in_the_book(chromium, jupyterlab, built_book):
    """In JupyterLab a chapter's headings carry the book's numbers ("10.1. ..."), a proof is "Proof." (not
    "Proof 10.1"), and a reference to the library ({func}`pg.compatible_fit`) reads as the book's, in code
    ("pg.compatible_fit()"), as a link, not as plain text."""
    name = "compatible-features"
    page = open_chapter(chromium, jupyterlab, name)
    notebook = page.locator(".jp-NotebookPanel")
    markdown_rendered(page)
    shown = notebook.locator(".jp-MarkdownCell .myst :is(h1, h2, h3)").evaluate_all(
        "(headings) => headings.map((h) => h.innerText.replace(/\\s+/g, ' ').replace(/[#¶]$/, '').trim())"
    )
    book = headings_in_the_book((built_book / "book" / f"{name}.html").read_text())
    assert len(book) >= 5 and shown == book, f"headings in JupyterLab {shown}, in the book {book}"
    text = notebook.inner_text()
    assert "Proof" in text and not re.search(r"Proof \d", text), "a proof is numbered"
    code_links = notebook.locator(".jp-MarkdownCell .myst a code").all_inner_texts()
    assert "pg.compatible_fit()" in code_links, code_links
    assert "{func}" not in text and "{class}" not in text
    page.close()
