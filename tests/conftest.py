"""What every test needs: one thread per process, the run's order for two workers, and the built book and the
browser that the book's and the browser's tests share (tests/library, tests/book and tests/browser have their own
conftest for the rest)."""

import fcntl
import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

# One thread per process, set before torch or numpy is imported; the book's kernels inherit it. The test run
# keeps both cores busy (two xdist workers and a chapter's kernel), and then torch's thread pool makes each small
# operation wait on a busy core: training CartPole took 433 s with two threads, 35 s with one.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest  # noqa: E402

from pages import ROOT  # noqa: E402


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Order the run for two workers, and check that ``--dist loadgroup`` takes effect.

    The "book" group is the largest, so one worker takes it first and builds the book while the other runs
    the rest. The other tests that need the built book (the browser tests) come last, so that both workers
    share them once the book is built, rather than one worker doing them after the build.

    Under ``--dist loadgroup`` each xdist worker must see the group in the ids of grouped tests: otherwise
    the book's tests are spread over both workers, which then both wait for one book build (pytest 9.2
    with pytest-xdist 3.8 silently did this, doubling the test run's time).

    Kept because nothing simpler keeps the build and the other tests overlapping (issue 11, item 15):
    without xdist, the other tests' time adds to the build's; without ``--dist loadgroup`` (``load``,
    ``loadfile``, ``loadscope``), the book's tests land on both workers, which both wait for the one build;
    and ``loadgroup`` needs pytest < 9.2 (the pin in requirements-dev.txt). Putting the browser tests in
    the "book" group would drop this ordering and the lock in ``built_book``, but would run them all on the
    build's worker after the build, while the other worker idles.
    """
    items.sort(key=lambda item: "built_book" in item.fixturenames and not item.get_closest_marker("xdist_group"))
    if not config.getoption("loadgroup", default=False):  # set only in xdist workers
        return
    for item in items:
        if item.get_closest_marker("xdist_group") and "@" not in item.nodeid:
            raise pytest.UsageError(
                f"--dist loadgroup has no effect on {item.nodeid}: pytest and pytest-xdist are incompatible "
                "(install the versions pinned in requirements-dev.txt)"
            )


def pytest_ignore_collect(collection_path, config):
    """The conftest files are not collected as doctest modules (they hold none): each folder's is imported as
    ``conftest``, and a second import of one under that name, after another folder's, would fail as a mismatch."""
    return True if collection_path.name == "conftest.py" else None


def run_folder(tmp_path_factory) -> Path:
    """The test run's own folder, shared by its xdist workers (each worker's base folder is inside it)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def run_once(tmp_path_factory, name: str, command: list[str], timeout: float, env: dict | None = None) -> None:
    """Run ``command`` once per test run, even when several xdist workers ask for it, and fail if it failed.

    The first worker to take the lock runs it, the others wait and reuse its outcome: a failure (or a timeout) is
    reported to each of them, not retried.
    """
    shared = run_folder(tmp_path_factory)
    log = shared / f"{name}.log"
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not log.exists():
            try:
                result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
                log.write_text(f"{result.returncode}\n" + result.stdout[-6000:] + result.stderr[-6000:])
            except subprocess.TimeoutExpired:
                log.write_text(f"timeout\n{name} did not finish within {timeout} s: {command}")
    returncode, _, messages = log.read_text().partition("\n")
    assert returncode == "0", messages


@pytest.fixture(scope="session")
def once(tmp_path_factory):
    """`run_once` for this test run: ``once(name, command, timeout)``."""
    return functools.partial(run_once, tmp_path_factory)


@pytest.fixture(scope="session")
def built_book(tmp_path_factory):
    """Build the whole book once per test run (warnings are errors, every chapter executed); its HTML folder.

    Once per run even when several xdist workers ask for it (`run_once`): the "book" group's worker and, for the
    browser tests that run last, the other (see above); and under plain ``-n 2`` (``--dist load``) the lock keeps
    two workers from building into one folder at once.

    PGBOOK_BUILT_BOOK=_build/html instead reads a book already built (`make book`) from these very sources: for
    the development loop only, as the tests then check that build, warnings and all, not the current sources.
    """
    if prebuilt := os.environ.get("PGBOOK_BUILT_BOOK"):
        assert (Path(prebuilt) / "book" / "intro.html").is_file(), f"PGBOOK_BUILT_BOOK={prebuilt}: no built book"
        return Path(prebuilt)
    shared = run_folder(tmp_path_factory)
    output = shared / "book"
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    run_once(
        tmp_path_factory,
        "book-build",
        [str(jupyter_book), "build", str(ROOT), "--path-output", str(output), "-W", "-n", "--keep-going"],
        timeout=3600,
    )
    return output / "_build" / "html"


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]  # fmt: skip


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    """The path of Debian's Chromium, which the browser tests and the PDF's printing (book/pdf.py) use.

    Locally, without /usr/bin/chromium, the tests that need it are skipped with that reason; under CI (CI=true) a
    missing browser is a failure, not a skip (`.ci/run` installs the package).
    """
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            raise RuntimeError(f"Chromium is missing at {CHROMIUM}: .ci/run must install Debian's chromium package")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture(scope="module")
def chromium(chromium_executable):
    """Debian's headless Chromium driven by Playwright: the one browser of the browser and JupyterLab tests."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
