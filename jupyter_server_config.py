"""JupyterLab's server for the book (postBuild installs it into the environment's Jupyter configuration).

A chapter is MyST markdown, which keeps no ``language_info`` (Jupytext leaves it out of the text). JupyterLab
fills it in when it opens a notebook without it, and again from the kernel when the kernel starts: each is a
change of the notebook, so a chapter opened by a launch button was marked unsaved before the reader did
anything, and autosave rewrote it. Jupytext's contents manager here hands JupyterLab each markdown chapter with
the ``language_info`` that this environment's kernel reports, so that opening a chapter changes nothing.
(The chapters' ``kernelspec`` is already the kernel's own: name ``python3``, "Python 3 (ipykernel)".)
"""

from ipykernel.ipkernel import IPythonKernel
from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager
from jupytext.async_contentsmanager import build_async_jupytext_contents_manager_class

JupytextContentsManager = build_async_jupytext_contents_manager_class(AsyncLargeFileManager)


class ChapterContentsManager(JupytextContentsManager):
    """Jupytext's contents manager; a markdown notebook comes with the kernel's ``language_info``."""

    async def get(self, path, content=True, type=None, format=None, **kwargs):  # noqa: A002 (the base's names)
        model = await super().get(path, content=content, type=type, format=format, **kwargs)
        if content and model["type"] == "notebook" and path.endswith(".md"):
            model["content"]["metadata"].setdefault("language_info", IPythonKernel.language_info)
        return model


c.ServerApp.contents_manager_class = ChapterContentsManager  # type: ignore[name-defined]  # noqa: F821
