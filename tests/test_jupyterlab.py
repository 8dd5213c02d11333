"""Running the book: a chapter opened in JupyterLab (as Binder's launch button does) is a notebook.

Binder installs requirements.txt and runs postBuild, which makes Jupytext's notebook view the default for
MyST markdown; the launch button opens ``lab/tree/book/<chapter>.md``. This starts JupyterLab from the test
environment (where `make install` ran the same postBuild), opens a chapter by that URL in headless Chromium,
and runs its first code cell.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]  # fmt: skip

if not os.path.exists(CHROMIUM):
    if os.environ.get("CI"):
        raise RuntimeError(f"Chromium is missing at {CHROMIUM}: .ci/run must install Debian's chromium package")
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)


def test_the_environment_opens_markdown_chapters_as_notebooks():
    overrides = Path(sys.prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    assert overrides.exists(), "postBuild has not been run for this environment"
    assert '"markdown": "Jupytext Notebook"' in overrides.read_text()


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    home = tmp_path_factory.mktemp("home")  # no user settings of the machine's own
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", f"--port={port}", "--ip=127.0.0.1",
         "--IdentityProvider.token=pgbook-test", f"--ServerApp.root_dir={ROOT}"],
        env={**os.environ, "HOME": str(home), "JUPYTER_CONFIG_DIR": str(home / ".jupyter")},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300  # a loaded two-core machine is slow to import JupyterLab
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/status?token=pgbook-test", timeout=5)
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                server.wait(timeout=30)
                raise RuntimeError("JupyterLab did not start within 300 s") from None
            time.sleep(1)
    try:
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_a_chapter_launched_by_its_url_opens_as_a_notebook_and_runs(jupyterlab):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        page.set_default_timeout(300_000)  # the kernel's first cell imports torch: minutes on a loaded machine
        page.goto(f"{jupyterlab}/lab/tree/book/reinforce.md?token=pgbook-test")
        first_cell = page.locator(".jp-NotebookPanel .jp-CodeCell").first
        first_cell.wait_for()
        page.wait_for_function(
            "() => document.querySelector('.jp-NotebookPanel').innerText.includes('From the theorem to REINFORCE')"
        )
        assert "import pgbook as pg" in first_cell.inner_text()
        assert page.locator(".jp-FileEditor").count() == 0, "the chapter also opened as a text file"
        # The cells are on the page before the notebook has a kernel, and JupyterLab ignores a cell run while the
        # kernel is initializing (this test timed out so under CI): wait for the status bar's "<kernel> | Idle".
        kernel_status = "document.querySelector('.jp-StatusBar-TextItem[title*=\"reinforce.md\"]')?.textContent"
        page.wait_for_function(f"() => /\\| Idle$/.test({kernel_status})")
        # run the first cell with the kernel: it imports the library
        first_cell.click()
        page.keyboard.press("Shift+Enter")
        prompt = "document.querySelector('.jp-NotebookPanel .jp-CodeCell .jp-InputPrompt').textContent"
        page.wait_for_function(f"() => /\\[1\\]/.test({prompt})")
        output = first_cell.locator(".jp-OutputArea").inner_text()
        assert "Error" not in output and "Traceback" not in output, output
        browser.close()
