"""The book builds from a clean output folder with warnings as errors, executing every chapter."""

import html
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
JUPYTER_BOOK = Path(sys.executable).with_name("jupyter-book")


@pytest.fixture(scope="session")
def built_book(tmp_path_factory):
    output = tmp_path_factory.mktemp("book")
    result = subprocess.run(
        [str(JUPYTER_BOOK), "build", str(ROOT), "--path-output", str(output), "-W", "-n", "--keep-going"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    return output / "_build" / "html"


@pytest.mark.slow
def test_book_builds_and_executes_the_intro(built_book):
    page = html.unescape(re.sub(r"<[^>]+>", "", (built_book / "book" / "intro.html").read_text()))
    assert "Traceback" not in page
    match = re.search(r"J\(θ\*\)\s+=\s+(-?\d+\.\d+)", page)
    assert match, "the intro's code cell produced no output"
    assert float(match.group(1)) == pytest.approx(-6 - 4 * np.sqrt(2), abs=1e-6)
