"""JupyterLab's server for the book: a chapter opened in JupyterLab reads as the HTML book does, and changes
nothing until the reader changes it.

Not a Sphinx extension but the twin of three of them, beside them: it labels citations with author_year.py (as
citation_labels.py labels the book's list), finds the library's objects with library_links.defined_at, and numbers
the chapters as Sphinx does. The root ``jupyter_server_config.py`` (and the ``jupyter_server_config.d`` entry
that ``pip install -r requirements.txt`` installs, see book/_ext/pyproject.toml) makes it JupyterLab's contents
manager. What it does, on opening (``get``) and undoes on saving (``save``):

- A chapter is MyST markdown, which keeps no ``language_info`` (Jupytext leaves it out of the text). JupyterLab
  fills it in when it opens a notebook without it, and again from the kernel when the kernel starts: each is a
  change, so a chapter was marked unsaved before the reader did anything. Here each markdown chapter comes with
  the ``language_info`` of this environment's kernel. (Its ``kernelspec`` is the kernel's own already.)
- Running a cell marks the notebook changed (its outputs), and autosave then saves it; Jupytext would write the
  chapter back in its own layout. A save whose markdown is the chapter's own (same cells, same options: outputs
  are not part of it) leaves the file as it is.
- A cell whose input the HTML book folds (tag ``hide-input``: plotting code, exercise checks) starts with its
  input folded (JupyterLab's ``jupyter.source_hidden``, not written back: the tag stays the one setting).
- An exercise's solution (the code cells between ``{solution-start}`` and ``{solution-end}``) is hidden until the
  reader opens it: JupyterLab shows a folded cell as its first line, so the cell starts with the line "# Solution
  to Exercise 4.1: click to show it". "Run All" runs it all the same (its output is the check's verdict).
- A citation shows as the book cites it, "[Williams, 1992]" for {cite}`williams1992simple` and "Sutton and Barto
  [2018]" for {cite:t}`sutton2018reinforcement`, with the reference on hover: jupyterlab-myst (2.7) has no
  bibliography, so each citation is written as MyST's abbreviation, ``{abbr}`Williams, 1992 (Ronald J. Williams.
  Simple ...)```, from the ``references.bib`` next to the chapter, labelled by author_year.py.
- Numbers as in the book: jupyterlab-myst numbers a notebook's own targets from 1 and no heading. Each chapter
  comes with its number in MyST front matter (``numbering: enumerator: 4.%s``), so that its equations, theorems
  and exercises read "(4.1)", "Theorem 4.1", "Exercise 4.1"; its headings carry the book's numbers ("4.2. The
  trajectory form"); a proof reads "Proof." (``:nonumber:``), not "Proof 4.1". A reference to another chapter or
  to a section is a link with the book's text ("[Section 5.1](reinforce.md#...)"), which JupyterLab opens.
- A reference to the library, {func}`pg.state_values`, reads as the book's, in code ("pg.state_values()"), and
  links to the library's source file, which JupyterLab opens.

The chapters' outline and bibliography are read once and kept until a chapter, ``references.bib`` or
``_toc.yml`` changes (their modification times): opening or autosaving a chapter does not re-read the book.
"""

from __future__ import annotations

import importlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

import author_year
import jupytext
import nbformat
import pybtex.database
import yaml
from ipykernel.ipkernel import IPythonKernel
from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager
from jupytext.async_contentsmanager import build_async_jupytext_contents_manager_class
from library_links import defined_at
from pybtex.style.formatting.unsrt import Style as ReferenceStyle

JupytextContentsManager = build_async_jupytext_contents_manager_class(AsyncLargeFileManager)


CITATION = re.compile(r"\{cite(:t)?\}`([^`]+)`")  # {cite}`williams1992simple` or {cite:t}`...`


class Bibliography:
    """The citations of a folder's chapters, each with the text that shows it in JupyterLab: "[Williams, 1992]"
    or "Williams [1992]" (textual) as the book cites a work, with its entry in the book's list on hover."""

    def __init__(self, folder: Path):
        entries = pybtex.database.parse_file(folder / "references.bib").entries
        citations = {
            match[0]: match for chapter in folder.glob("*.md") for match in CITATION.finditer(chapter.read_text())
        }
        cited = {key.strip() for match in citations.values() for key in match[2].split(",")} & entries.keys()
        listed = sorted(
            (key for key in cited if author_year.persons(entries[key])), key=lambda k: author_year.order(entries[k])
        )
        authors, years, references, style = {}, {}, {}, ReferenceStyle()
        for key, label in zip(listed, author_year.labels(entries[key] for key in listed), strict=True):
            authors[key], years[key] = label.rsplit(", ", 1)  # the book's list order and labels
            reference = style.format_entry(key, entries[key]).text.render(author_year.TEXT)
            references[key] = reference.replace("(", "[").replace(")", "]").replace("`", "'")  # as {abbr} needs

        def shown(keys: set[str], textual: bool) -> str:
            keys = sorted(keys, key=listed.index)  # as the book orders a citation's works
            labels = [f"{authors[key]} [{years[key]}]" if textual else f"{authors[key]}, {years[key]}" for key in keys]
            shown = ", ".join(f"{{abbr}}`{label} ({references[key]})`" for key, label in zip(keys, labels, strict=True))
            return shown if textual else f"[{shown}]"

        #: citation -> shown, for each citation whose works are all in the list (any other stays a citation)
        self.shown = {}
        for citation, match in citations.items():
            keys = {key.strip() for key in match[2].split(",")}
            if keys <= references.keys():
                self.shown[citation] = shown(keys, textual=bool(match[1]))
        self.cited = {shown: citation for citation, shown in self.shown.items()}

    def show(self, markdown: str) -> str:
        """The markdown with its citations shown."""
        return CITATION.sub(lambda match: self.shown.get(match[0], match[0]), markdown)

    def cite(self, markdown: str) -> str:
        """The markdown with each shown citation turned back into the citation it shows (the longest first)."""
        return substitute(markdown, self.cited)


REFERENCE = re.compile(r"\{(eq|numref|ref|prf:ref|doc)\}`(?:([^`<]*?) <([^`>]+)>|([^`<]+))`")
# {func}`pg.state_values`, {meth}`mdp.state_values <pg.FiniteMDP.state_values>`, {mod}`pg.exercises`
LIBRARY_ROLE = re.compile(r"\{(func|meth|class|mod|data|attr)\}`(?:([^`<]*?) <([^`>]+)>|(~?)([^`<]+))`")
FENCE = re.compile(r"^(`{3,}|~{3,})\s*(\{[^}]+\})?")
HEADING = re.compile(r"^(#{1,3}) (.+)$")
PROOF = re.compile(r"^(`{3,}\{prf:proof\}[^\n]*\n)", re.M)  # a proof's opening line
UNNUMBERED_PROOF = re.compile(r"^(`{3,}\{prf:proof\}[^\n]*\n):nonumber:\n", re.M)
# the numbered environments: directive -> the name the book numbers it by (sphinx-proof, sphinx-exercise)
ENVIRONMENTS = {
    "{prf:theorem}": "Theorem",
    "{prf:lemma}": "Lemma",
    "{prf:proposition}": "Proposition",
    "{prf:corollary}": "Corollary",
    "{exercise}": "Exercise",
}


def scan(markdown: str):
    """Each line of the markdown as (line, the directive of the fenced block it is in: "" for a plain code block,
    None outside every block, whether it opens or closes a block)."""
    fences = []
    for line in markdown.split("\n"):
        if fence := FENCE.match(line):
            if fences and len(fence[1]) >= len(fences[-1][0]) and not fence[2] and not line.strip(fence[1][0]):
                yield line, fences.pop()[1], True
            else:
                fences.append((fence[1], fence[2] or ""))
                yield line, fence[2] or "", True
        else:
            yield line, (fences[-1][1] if fences else None), False


class Outline:
    """The numbers and titles the book gives a folder's chapters, from the chapters and the book's ``_toc.yml``
    (the chapters of a numbered part are numbered on from the previous part, as Jupyter Book numbers them):
    Sphinx numbers each chapter (4), its labelled equations (4.1), (4.2), ..., its sections 4.1, 4.2.1, ...
    (``##``, ``###``), and each kind of environment in turn (Theorem 4.1, Lemma 6.1, Exercise 1.2)."""

    def __init__(self, folder: Path):
        toc = yaml.safe_load((folder.parent / "_toc.yml").read_text())
        numbered = [Path(c["file"]).name for part in toc["parts"] if part.get("numbered") for c in part["chapters"]]
        #: chapter name -> its number ("4"), for the numbered chapters
        self.numbers = {name: str(number) for number, name in enumerate(numbered, start=1)}
        #: chapter name -> its title
        self.titles = {}
        #: label -> (chapter name, the text {eq}, {numref} or {prf:ref} shows, the text {ref} shows); a figure's
        #: label too ("Fig. 16.1")
        self.targets = {}
        #: chapter name -> its headings in order, each with the book's number ("## 4.2. The trajectory form")
        self.headings = {}
        self.sources = {}  # chapter name -> its markdown
        self.folder = folder
        for path in sorted(folder.glob("*.md")):
            notebook = jupytext.read(path)
            self._read(path.stem, notebook)
            self._figures(path.stem, notebook)

    def _figures(self, name: str, notebook) -> None:
        """The chapter's figures (a code cell's ``mystnb: figure:`` with a caption), numbered in turn as the book
        numbers them: "Fig. 16.1"."""
        number, figures = self.numbers.get(name), 0
        for cell in notebook["cells"]:
            figure = cell.get("metadata", {}).get("mystnb", {}).get("figure", {})
            if cell["cell_type"] == "code" and figure.get("caption"):
                figures += 1
                if figure.get("name"):
                    shown = f"Fig. {number}.{figures}" if number else f"Fig. {figures}"
                    self.targets[figure["name"]] = (name, shown, None)

    def _read(self, name: str, notebook) -> None:
        number = self.numbers.get(name, "")
        equations, sections, environments = 0, [0, 0], dict.fromkeys(ENVIRONMENTS.values(), 0)
        label = None  # a "(label)=" line's label
        self.sources[name] = "\n".join(cell["source"] for cell in markdown_cells(notebook))
        self.headings[name] = []
        for line, directive, fence in scan(self.sources[name]):
            if fence:
                continue
            if directive is not None and line.startswith(":label:"):
                target = line.removeprefix(":label:").strip()
                if directive == "{math}":
                    equations += 1
                    self.targets[target] = (name, f"({number}.{equations})", None)
                elif kind := ENVIRONMENTS.get(directive):
                    environments[kind] += 1
                    self.targets[target] = (name, f"{kind} {number}.{environments[kind]}", None)
            elif directive is None and (heading := HEADING.match(line)):
                depth, title = len(heading[1]), heading[2].strip()
                if depth == 1:
                    self.titles.setdefault(name, title)
                else:
                    sections = [sections[0] + 1, 0] if depth == 2 else [sections[0], sections[1] + 1]
                numbered = ".".join(str(n) for n in [number, *sections[: depth - 1]])
                self.headings[name].append((line, f"{heading[1]} {numbered}. {heading[2]}" if number else line))
                if label and depth > 1:
                    self.targets[label] = (name, f"Section {numbered}", title)
                label = None
            elif directive is None and (target := re.match(r"^\((\S+)\)=\s*$", line)):
                label = target[1]

    def enumerator(self, name: str) -> str | None:
        """The MyST front matter that numbers a chapter's own equations, theorems and exercises as the book
        does, or None for a chapter without a number."""
        number = self.numbers.get(name)
        return f'---\nnumbering:\n  enumerator: "{number}.%s"\n---\n' if number else None

    def shown(self, name: str, reference: re.Match) -> str:
        """How chapter ``name`` shows a reference: as it is where jupyterlab-myst shows it as the book does (a
        reference within the chapter, except a section's number), else as a link with the book's text."""
        if reference.re is LIBRARY_ROLE:
            return self.library_link(name, reference)
        role, text, target = reference[1], reference[2], reference[3] or reference[4]
        if role == "doc":
            return f"[{text or self.titles[target]}]({target}.md)" if target in self.titles else reference[0]
        chapter, numbered, title = self.targets.get(target, (None, None, None))
        if chapter is None or (chapter == name and role != "numref"):
            return reference[0]
        page = "" if chapter == name else f"{chapter}.md"
        return f"[{text or (title if role == 'ref' else numbered)}]({page}#{target})"

    def library_link(self, name: str, reference: re.Match) -> str:
        """A reference to the library as the book shows it, in code ("pg.state_values()", "state_values()" for
        ``~pg.state_values``), linked to the library's source file (relative to the chapter's folder)."""
        role, text, target = reference[1], reference[2], reference[3] or reference[5]
        defined = defined_at(target)
        if defined is None:
            return reference[0]  # not the library's: jupyterlab-myst shows it as it can
        module = defined
        while module:
            try:
                path = Path(importlib.import_module(module).__file__)
                break
            except ImportError:
                module = module.rpartition(".")[0]
        else:
            return reference[0]
        if text is None:
            text = target.rpartition(".")[2] if reference[4] else target
            text += "()" if role in ("func", "meth") else ""
        return f"[`{text}`]({Path(os.path.relpath(path, self.folder)).as_posix()})"

    def show(self, name: str, markdown: str) -> str:
        """Chapter ``name``'s markdown with its references shown."""
        markdown = LIBRARY_ROLE.sub(lambda reference: self.shown(name, reference), markdown)
        return REFERENCE.sub(lambda reference: self.shown(name, reference), markdown)

    def refer(self, name: str, markdown: str) -> str:
        """The markdown with each link that shows one of chapter ``name``'s references turned back into it."""
        links = {}
        for pattern in (REFERENCE, LIBRARY_ROLE):
            for reference in pattern.finditer(self.sources.get(name, "")):
                if (link := self.shown(name, reference)) != reference[0]:
                    links[link] = reference[0]
        return substitute(markdown, links)

    def number(self, name: str, cells: list) -> None:
        """Number the headings of chapter ``name``'s markdown cells as the book does, in place; and a proof reads
        "Proof." (not numbered)."""
        headings = iter(self.headings.get(name, []))
        for cell in cells:
            lines = []
            for line, directive, fence in scan(cell["source"]):
                if not fence and directive is None and HEADING.match(line):
                    written, numbered = next(headings, (line, line))
                    line = numbered if written == line else line
                lines.append(line)
            cell["source"] = PROOF.sub(r"\1:nonumber:\n", "\n".join(lines))

    def unnumber(self, name: str, cells: list) -> None:
        """What :meth:`number` did, undone."""
        written = {numbered: line for line, numbered in self.headings.get(name, []) if numbered != line}
        for cell in cells:
            source = UNNUMBERED_PROOF.sub(r"\1", cell["source"])
            cell["source"] = "\n".join(written.get(line, line) for line in source.split("\n"))


def substitute(markdown: str, replacements: dict[str, str]) -> str:
    """The markdown with each key of ``replacements`` replaced by its value, the longest first (where one text
    shown contains another)."""
    if not replacements:
        return markdown
    shown = re.compile("|".join(re.escape(text) for text in sorted(replacements, key=len, reverse=True)))
    return shown.sub(lambda match: replacements[match[0]], markdown)


@dataclass
class Book:
    """What the server reads from the book a chapter is in: its bibliography and its outline (None where the
    chapter's folder has no ``references.bib``, or no ``_toc.yml`` above it)."""

    bibliography: Bibliography | None
    outline: Outline | None


_books: dict[Path, tuple[tuple, Book]] = {}  # folder -> (the modification times it was read at, what was read)


def book(chapter: Path) -> Book:
    """The book a chapter is in, read again only when one of its chapters, its bibliography or its table of
    contents has changed since it was last read."""
    folder = chapter.parent
    sources = [*sorted(folder.glob("*.md")), folder / "references.bib", folder.parent / "_toc.yml"]
    stamp = tuple((path.name, path.stat().st_mtime_ns) for path in sources if path.is_file())
    if folder not in _books or _books[folder][0] != stamp:
        bibliography = Bibliography(folder) if (folder / "references.bib").is_file() else None
        outline = Outline(folder) if (folder.parent / "_toc.yml").is_file() else None
        _books[folder] = stamp, Book(bibliography, outline)
    return _books[folder][1]


def markdown_cells(notebook):
    return [cell for cell in notebook["cells"] if cell["cell_type"] == "markdown"]


def folded(notebook):
    """The cells of a notebook (a dict) whose input the HTML book folds."""
    return [cell for cell in notebook["cells"] if "hide-input" in cell.get("metadata", {}).get("tags", [])]


SOLUTION_START = re.compile(r"^`{3,}\{solution-start\}\s+(\S+)", re.M)


def solutions(notebook, outline: Outline | None):
    """The code cells of a notebook's solutions (between ``{solution-start}`` and ``{solution-end}``), each with
    the line JupyterLab shows while it is hidden: "# Solution to Exercise 4.1: click to show it"."""
    found, exercise = [], None
    for cell in notebook["cells"]:
        if cell["cell_type"] == "markdown":
            if start := SOLUTION_START.search(cell["source"]):
                target = outline.targets.get(start[1]) if outline else None
                exercise = target[1] if target else "the exercise"
            elif "{solution-end}" in cell["source"]:
                exercise = None
        elif cell["cell_type"] == "code" and exercise:
            found.append((cell, f"# Solution to {exercise}: click to show it\n"))
    return found


def hide(cell) -> None:
    """Fold a cell's input (JupyterLab then shows its first line). Its output stays: a run solution shows the
    check's verdict, and JupyterLab hides a folded output with its input out of reach of the reader's click."""
    cell["metadata"].setdefault("jupyter", {})["source_hidden"] = True


def unhide(cell) -> None:
    for key in ("source_hidden", "outputs_hidden"):
        cell["metadata"].get("jupyter", {}).pop(key, None)
    if cell["metadata"].get("jupyter") == {}:
        del cell["metadata"]["jupyter"]


class ChapterContentsManager(JupytextContentsManager):
    """Jupytext's contents manager, for which opening, running and saving a chapter leaves its file unchanged."""

    async def get(self, path, content=True, type=None, format=None, **kwargs):  # noqa: A002 (the base's names)
        model = await super().get(path, content=content, type=type, format=format, **kwargs)
        if content and model["type"] == "notebook" and path.endswith(".md"):
            notebook = model["content"]
            notebook["metadata"].setdefault("language_info", IPythonKernel.language_info)
            found = book(Path(self._get_os_path(path.strip("/"))))
            name = Path(path).stem
            for cell in folded(notebook):
                hide(cell)
            for cell, line in solutions(notebook, found.outline):
                hide(cell)
                cell["source"] = line + cell["source"]
            cells = markdown_cells(notebook)
            if found.bibliography:
                for cell in cells:
                    cell["source"] = found.bibliography.show(cell["source"])
            if found.outline and cells:
                for cell in cells:
                    cell["source"] = found.outline.show(name, cell["source"])
                found.outline.number(name, cells)
                cells[0]["source"] = (found.outline.enumerator(name) or "") + cells[0]["source"]
        return model

    async def save(self, model, path=""):
        if model.get("type") == "notebook" and path.endswith(".md"):
            notebook = model["content"]
            found = book(Path(self._get_os_path(path.strip("/"))))
            name = Path(path).stem
            for cell, line in solutions(notebook, found.outline):
                cell["source"] = cell["source"].removeprefix(line)
            for cell in notebook["cells"]:
                unhide(cell)
            cells = markdown_cells(notebook)
            if found.outline and cells:
                cells[0]["source"] = cells[0]["source"].removeprefix(found.outline.enumerator(name) or "")
                found.outline.unnumber(name, cells)
                for cell in cells:
                    cell["source"] = found.outline.refer(name, cell["source"])
            if found.bibliography:
                for cell in cells:
                    cell["source"] = found.bibliography.cite(cell["source"])
            if await self.file_exists(path):
                saved = jupytext.read(self._get_os_path(path.strip("/")))
                fmt = saved.metadata.get("jupytext", {}).get("text_representation", {})
                fmt = {"extension": ".md", "format_name": fmt.get("format_name", "myst")}
                if jupytext.writes(nbformat.from_dict(notebook), fmt) == jupytext.writes(saved, fmt):
                    return await super().get(path, content=False)
        return await super().save(model, path)
