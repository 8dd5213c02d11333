"""The Jupyter server extension that opens the book's chapters in JupyterLab as the book reads them.

Installed (with its enabling ``jupyter_server_config.d/pgbook_jupyterlab.json``) by ``pip install -r
requirements.txt``; the code it runs is the repository's own, ``book/_ext/jupyter_chapters.py``, found beside the
``pgbook`` package that ``-e .`` installs from the same repository. Linking comes before the server creates its
contents manager, so the chapters' manager is the one it creates (and Jupytext's own extension, seeing a Jupytext
manager, leaves it in place).
"""

import importlib.util
import sys
from pathlib import Path


def _jupyter_server_extension_points() -> list[dict]:
    return [{"module": "pgbook_jupyterlab"}]


def book_extensions() -> Path | None:
    """The repository's ``book/_ext``, beside the ``pgbook`` package; None where pgbook is not installed from a
    repository (``pip install pgbook``: no chapters to open)."""
    spec = importlib.util.find_spec("pgbook")
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).resolve().parents[1] / "book" / "_ext"
    return folder if (folder / "jupyter_chapters.py").is_file() else None


def _link_jupyter_server_extension(serverapp) -> None:
    folder = book_extensions()
    if folder is None:
        serverapp.log.warning("pgbook_jupyterlab: no book/_ext/jupyter_chapters.py beside pgbook")
        return
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    from jupyter_chapters import ChapterContentsManager

    # In the server's configuration too: an extension app's loading applies that configuration to the server again
    serverapp.config.ServerApp.contents_manager_class = ChapterContentsManager
    serverapp.contents_manager_class = ChapterContentsManager


def _load_jupyter_server_extension(serverapp) -> None:
    """Nothing left to do once linked (the contents manager is the server's own)."""
