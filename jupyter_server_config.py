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
"""

import importlib.util
import re
from pathlib import Path

import jupytext
import nbformat
import pybtex.database
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
        authors, years, references = {}, {}, {}
        for key, label in zip(listed, author_year.labels(entries[key] for key in listed), strict=True):
            authors[key], years[key] = label.rsplit(", ", 1)  # the book's list order and labels
            reference = ReferenceStyle().format_entry(key, entries[key]).text.render_as("text")
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
        shown = re.compile("|".join(re.escape(shown) for shown in sorted(self.cited, key=len, reverse=True)))
        return shown.sub(lambda match: self.cited[match[0]], markdown) if self.cited else markdown


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
            if works := bibliography(Path(self._get_os_path(path.strip("/")))):
                for cell in markdown_cells(model["content"]):
                    cell["source"] = works.show(cell["source"])
        return model

    async def save(self, model, path=""):
        if model.get("type") == "notebook" and path.endswith(".md"):
            for cell in folded(model["content"]):
                cell["metadata"].get("jupyter", {}).pop("source_hidden", None)
                if cell["metadata"].get("jupyter") == {}:
                    del cell["metadata"]["jupyter"]
            if works := bibliography(Path(self._get_os_path(path.strip("/")))):
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
