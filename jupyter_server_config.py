"""JupyterLab's server for the book (postBuild installs it into the environment's Jupyter configuration).

A chapter opened in JupyterLab, as a launch button opens it, changes nothing until the reader changes it:

- A chapter is MyST markdown, which keeps no ``language_info`` (Jupytext leaves it out of the text). JupyterLab
  fills it in when it opens a notebook without it, and again from the kernel when the kernel starts: each is a
  change, so a chapter was marked unsaved before the reader did anything. Here each markdown chapter comes with
  the ``language_info`` of this environment's kernel. (Its ``kernelspec`` is the kernel's own already.)
- Running a cell marks the notebook changed (its outputs), and autosave then saves it; Jupytext would write the
  chapter back in its own layout (its YAML style for the cells' options, for one). A save whose markdown is the
  chapter's own (same cells, same options: outputs are not part of it) leaves the file as it is.

And a cell whose input the HTML book folds (tag ``hide-input``: plotting code, exercise checks) starts with its
input folded in JupyterLab too (JupyterLab's own ``jupyter.source_hidden``, which is not written back: the tag
stays the one setting).
"""

import jupytext
import nbformat
from ipykernel.ipkernel import IPythonKernel
from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager
from jupytext.async_contentsmanager import build_async_jupytext_contents_manager_class

JupytextContentsManager = build_async_jupytext_contents_manager_class(AsyncLargeFileManager)


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
        return model

    async def save(self, model, path=""):
        if model.get("type") == "notebook" and path.endswith(".md"):
            for cell in folded(model["content"]):
                cell["metadata"].get("jupyter", {}).pop("source_hidden", None)
                if cell["metadata"].get("jupyter") == {}:
                    del cell["metadata"]["jupyter"]
            if await self.file_exists(path):
                saved = jupytext.read(self._get_os_path(path.strip("/")))
                fmt = saved.metadata.get("jupytext", {}).get("text_representation", {})
                fmt = {"extension": ".md", "format_name": fmt.get("format_name", "myst")}
                if jupytext.writes(nbformat.from_dict(model["content"]), fmt) == jupytext.writes(saved, fmt):
                    return await super().get(path, content=False)
        return await super().save(model, path)


c.ServerApp.contents_manager_class = ChapterContentsManager  # type: ignore[name-defined]  # noqa: F821
