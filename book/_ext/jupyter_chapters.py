"""JupyterLab's server for the book (postBuild installs it into the environment's Jupyter configuration).

A chapter opened in JupyterLab, as a launch button opens it, changes nothing until the reader changes it:

- A chapter is MyST markdown, which keeps no ``language_info`` (Jupytext leaves it out of the text). JupyterLab
  fills it in when it opens a notebook without it, and again from the kernel when the kernel starts: each is a
  change, so a chapter was marked unsaved before the reader did anything. Here each markdown chapter comes with
  the ``language_info`` of this environment's kernel. (Its ``kernelspec`` is the kernel's own already.)
- Running a cell marks the notebook changed (its outputs), and autosave then saves it; Jupytext would write the
  chapter back in its own layout (its YAML style for the cells' options, for one). A save whose markdown is the
  chapter's own (same cells, same options: outputs are not part of it) leaves the file as it is.

And a chapter reads as the HTML book does:

- A cell whose input the HTML book folds (tag ``hide-input``: plotting code, exercise checks) starts with its
  input folded in JupyterLab too (JupyterLab's own ``jupyter.source_hidden``, which is not written back: the tag
  stays the one setting).
- A citation shows as the book cites it, "[Williams, 1992]" for {cite}`williams1992simple` and "Sutton and Barto
  [2018]" for {cite:t}`sutton2018reinforcement`, with the reference as the book's list gives it on hover.
  jupyterlab-myst (2.7) has no bibliography: it shows a citation as its bare key, with a warning. So the chapter
  comes with each citation written as MyST's abbreviation, ``{abbr}`Williams, 1992 (Ronald J. Williams. Simple
  ...)```, made from the ``references.bib`` next to the chapter and labelled by book/_ext/author_year.py, the code
  that labels the book's list ("Kakade, 2001a" where an author has two works of a year); a save turns each back
  into the citation it came from.
- A reference to another chapter reads and links as in the book. jupyterlab-myst resolves a reference only
  within the open notebook and numbers it from 1: {eq}`policy-gradient-theorem-gradient` in another chapter was
  "Cross Reference Not Found", and {doc}`reinforce` a link to nothing. Here each chapter comes with its number in
  jupyterlab-myst's settings (MyST front matter, ``numbering: enumerator: 4.%s``, added to its first markdown
  cell), so that its own equations, theorems and exercises read "(4.1)", "Theorem 4.1", "Exercise 4.1" as in the
  book; and each reference to another chapter, and each reference to a section (jupyterlab-myst does not number
  sections), is written as a link with the book's text: "[(1.1)](learning-the-policy.md#...)",
  "[Section 5.1](reinforce.md#...)", "[From the theorem to REINFORCE](reinforce.md)", which JupyterLab opens. The
  numbers come from the chapters themselves and the book's ``_toc.yml`` (class Outline); a save turns each link
  back into the reference it came from, and takes the front matter out.
"""

import importlib.util
import re
from pathlib import Path

import jupytext
import nbformat
import pybtex.database
import yaml
from ipykernel.ipkernel import IPythonKernel
from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager
from jupytext.async_contentsmanager import build_async_jupytext_contents_manager_class
from pybtex.style.formatting.unsrt import Style as ReferenceStyle

JupytextContentsManager = build_async_jupytext_contents_manager_class(AsyncLargeFileManager)


CITATION = re.compile(r"\{cite(:t)?\}`([^`]+)`")  # {cite}`williams1992simple` or {cite:t}`...`


class Bibliography:
    """The citations of a folder's chapters, each with the text that shows it in JupyterLab: "[Williams, 1992]"
    or "Williams [1992]" (textual) as the book cites a work, with its entry in the book's list on hover."""

    def __init__(self, folder: Path):
        entries = pybtex.database.parse_file(folder / "references.bib").entries
        author_year = module(folder / "_ext" / "author_year.py")
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
FENCE = re.compile(r"^(`{3,}|~{3,})\s*(\{[^}]+\})?")
# the numbered environments: directive -> the name the book numbers it by (sphinx-proof, sphinx-exercise)
ENVIRONMENTS = {
    "{prf:theorem}": "Theorem",
    "{prf:lemma}": "Lemma",
    "{prf:proposition}": "Proposition",
    "{prf:corollary}": "Corollary",
    "{exercise}": "Exercise",
}


class Outline:
    """The numbers and titles the book gives a folder's chapters, from the chapters and the book's ``_toc.yml``
    (the chapters of a numbered part are numbered on from the previous part, as Jupyter Book numbers them):
    Sphinx numbers each chapter's labelled equations (4.1), (4.2), ..., its sections 4.1, 4.2.1, ... (``##``,
    ``###``), and each kind of environment in turn (Theorem 4.1, Lemma 6.1, Exercise 1.2)."""

    def __init__(self, folder: Path):
        toc = yaml.safe_load((folder.parent / "_toc.yml").read_text())
        numbered = [Path(c["file"]).name for part in toc["parts"] if part.get("numbered") for c in part["chapters"]]
        #: chapter name -> its number ("4"), for the numbered chapters
        self.numbers = {name: str(number) for number, name in enumerate(numbered, start=1)}
        #: chapter name -> its title
        self.titles = {}
        #: label -> (chapter name, the text {eq}, {numref} or {prf:ref} shows, the text {ref} shows)
        self.targets = {}
        self.sources = {}  # chapter name -> its markdown
        for path in sorted(folder.glob("*.md")):
            self._read(path.stem, jupytext.read(path))

    def _read(self, name: str, notebook) -> None:
        number = self.numbers.get(name, "")
        equations, sections, environments = 0, [0, 0], dict.fromkeys(ENVIRONMENTS.values(), 0)
        fences, label = [], None  # the open fenced blocks (backticks, directive); a "(label)=" line's label
        self.sources[name] = "\n".join(cell["source"] for cell in markdown_cells(notebook))
        for line in self.sources[name].splitlines():
            if fence := FENCE.match(line):
                if fences and len(fence[1]) >= len(fences[-1][0]) and not fence[2] and not line.strip(fence[1][0]):
                    fences.pop()
                else:
                    fences.append((fence[1], fence[2] or ""))
            elif fences and line.startswith(":label:"):
                directive, target = fences[-1][1], line.removeprefix(":label:").strip()
                if directive == "{math}":
                    equations += 1
                    self.targets[target] = (name, f"({number}.{equations})", None)
                elif kind := ENVIRONMENTS.get(directive):
                    environments[kind] += 1
                    self.targets[target] = (name, f"{kind} {number}.{environments[kind]}", None)
            elif not fences and (heading := re.match(r"^(#{1,3}) (.+)$", line)):
                depth, title = len(heading[1]), heading[2].strip()
                if depth == 1:
                    self.titles.setdefault(name, title)
                else:
                    sections = [sections[0] + 1, 0] if depth == 2 else [sections[0], sections[1] + 1]
                    if label:
                        numbered = ".".join(str(n) for n in [number, *sections[: depth - 1]])
                        self.targets[label] = (name, f"Section {numbered}", title)
                label = None
            elif not fences and (target := re.match(r"^\((\S+)\)=\s*$", line)):
                label = target[1]

    def enumerator(self, name: str) -> str | None:
        """The MyST front matter that numbers a chapter's own equations, theorems and exercises as the book
        does, or None for a chapter without a number."""
        number = self.numbers.get(name)
        return f'---\nnumbering:\n  enumerator: "{number}.%s"\n---\n' if number else None

    def shown(self, name: str, reference: re.Match) -> str:
        """How chapter ``name`` shows a reference: as it is where jupyterlab-myst shows it as the book does (a
        reference within the chapter, except a section's number), else as a link with the book's text."""
        role, text, target = reference[1], reference[2], reference[3] or reference[4]
        if role == "doc":
            return f"[{text or self.titles[target]}]({target}.md)" if target in self.titles else reference[0]
        chapter, numbered, title = self.targets.get(target, (None, None, None))
        if chapter is None or (chapter == name and role != "numref"):
            return reference[0]
        page = "" if chapter == name else f"{chapter}.md"
        return f"[{text or (title if role == 'ref' else numbered)}]({page}#{target})"

    def show(self, name: str, markdown: str) -> str:
        """Chapter ``name``'s markdown with its references shown."""
        return REFERENCE.sub(lambda reference: self.shown(name, reference), markdown)

    def refer(self, name: str, markdown: str) -> str:
        """The markdown with each link that shows one of chapter ``name``'s references turned back into it."""
        links = {}
        for reference in REFERENCE.finditer(self.sources.get(name, "")):
            if (link := self.shown(name, reference)) != reference[0]:
                links[link] = reference[0]
        return substitute(markdown, links)


def substitute(markdown: str, replacements: dict[str, str]) -> str:
    """The markdown with each key of ``replacements`` replaced by its value, the longest first (where one text
    shown contains another)."""
    if not replacements:
        return markdown
    shown = re.compile("|".join(re.escape(text) for text in sorted(replacements, key=len, reverse=True)))
    return shown.sub(lambda match: replacements[match[0]], markdown)


def module(path: Path):
    """The Python module at ``path``: this file is copied out of the repository (postBuild), so it loads the
    book's own code (book/_ext/author_year.py, the labels of the book's reference list) from beside the chapters."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


def bibliography(chapter: Path) -> Bibliography | None:
    """The bibliography of a chapter's folder, or None if it has none."""
    return Bibliography(chapter.parent) if (chapter.parent / "references.bib").is_file() else None


def outline(chapter: Path) -> Outline | None:
    """The outline of the book a chapter is in, or None if it is in none (no ``_toc.yml`` above its folder)."""
    return Outline(chapter.parent) if (chapter.parent.parent / "_toc.yml").is_file() else None


def markdown_cells(notebook):
    return [cell for cell in notebook["cells"] if cell["cell_type"] == "markdown"]


def folded(notebook):
    """The cells of a notebook (a dict) whose input the HTML book folds."""
    return [cell for cell in notebook["cells"] if "hide-input" in cell.get("metadata", {}).get("tags", [])]


class ChapterContentsManager(JupytextContentsManager):
    """Jupytext's contents manager, for which opening, running and saving a chapter leaves its file unchanged."""

    async def get(self, path, content=True, type=None, format=None, **kwargs):  # noqa: A002 (the base's names)
        model = await super().get(path, content=content, type=type, format=format, **kwargs)
        if content and model["type"] == "notebook" and path.endswith(".md"):
            model["content"]["metadata"].setdefault("language_info", IPythonKernel.language_info)
            for cell in folded(model["content"]):
                cell["metadata"].setdefault("jupyter", {})["source_hidden"] = True
            chapter = Path(self._get_os_path(path.strip("/")))
            if works := bibliography(chapter):
                for cell in markdown_cells(model["content"]):
                    cell["source"] = works.show(cell["source"])
            if (book := outline(chapter)) and (cells := markdown_cells(model["content"])):
                for cell in cells:
                    cell["source"] = book.show(chapter.stem, cell["source"])
                cells[0]["source"] = (book.enumerator(chapter.stem) or "") + cells[0]["source"]
        return model

    async def save(self, model, path=""):
        if model.get("type") == "notebook" and path.endswith(".md"):
            for cell in folded(model["content"]):
                cell["metadata"].get("jupyter", {}).pop("source_hidden", None)
                if cell["metadata"].get("jupyter") == {}:
                    del cell["metadata"]["jupyter"]
            chapter = Path(self._get_os_path(path.strip("/")))
            if (book := outline(chapter)) and (cells := markdown_cells(model["content"])):
                cells[0]["source"] = cells[0]["source"].removeprefix(book.enumerator(chapter.stem) or "")
                for cell in cells:
                    cell["source"] = book.refer(chapter.stem, cell["source"])
            if works := bibliography(chapter):
                for cell in markdown_cells(model["content"]):
                    cell["source"] = works.cite(cell["source"])
            if await self.file_exists(path):
                saved = jupytext.read(self._get_os_path(path.strip("/")))
                fmt = saved.metadata.get("jupytext", {}).get("text_representation", {})
                fmt = {"extension": ".md", "format_name": fmt.get("format_name", "myst")}
                if jupytext.writes(nbformat.from_dict(model["content"]), fmt) == jupytext.writes(saved, fmt):
                    return await super().get(path, content=False)
        return await super().save(model, path)


c.ServerApp.contents_manager_class = ChapterContentsManager  # type: ignore[name-defined]  # noqa: F821
