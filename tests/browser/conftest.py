"""The browser tests' servers: the built book over HTTP (``site``) and JupyterLab on a copy of the chapters
(``served``, ``jupyterlab``); Chromium itself is the root conftest's ``chromium``."""

import functools
import http.server
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

from browsing import QuietHandler, serve_copy


@pytest.fixture(scope="module")
def site(built_book):
    handler = functools.partial(QuietHandler, directory=str(built_book))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The server's folder: a copy of the book's chapters (a test may add a notebook of its own)."""
    return serve_copy(tmp_path_factory.mktemp("served"))


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory, served):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    home = tmp_path_factory.mktemp("home")  # no user settings of the machine's own
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", f"--port={port}", "--ip=127.0.0.1",
         "--IdentityProvider.token=pgbook-test", f"--ServerApp.root_dir={served}"],
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
