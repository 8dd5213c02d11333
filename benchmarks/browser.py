"""The interactive figure's latency in Chromium, key press to the next painted frame, static and live, beside the
matplotlib path it replaces (pgbook/widgets.py as of commit b2a22ef) measured the same way in the same run; and
the weight of the figure in the page, before and after.

Each sample: a key press on a focused control (Playwright's keyboard); in the page, the time from the keydown
event to the first requestAnimationFrame callback after the figure's DOM changes (the new view: its data-state
attribute, set when it has drawn; the matplotlib path: the image's src). Presses alternate direction, so every
one moves the control. Live: JupyterLab with the anywidget (new) or the ipywidgets Image (old) in a notebook.
Writes benchmarks/results/browser.md, with the run's time and the machine's load average (sampled every 5 s: the
machine may be shared). `python benchmarks/browser.py TABLE.npz` reuses the table of estimates an earlier run saved
(arrays table, exact, fd, cosines: minutes to compute on a shared machine).
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from common import write_table
from playwright.sync_api import TimeoutError

import pgbook as pg

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
PRESSES = 30
OLD_COMMIT = "b2a22ef"
NEW_CONTROLS = ("theta0", "theta1", "gamma", "n", "estimator", "baseline")
OLD_CONTROLS = ("n", "theta0", "theta1", "gamma", "estimator", "baseline")  # the old widget's order
ARM = """([root, attribute]) => {
  window.__latency = null;
  const target = document.querySelector(root);
  let start = null;
  // the key event's own time stamp; heard on the window (capture) and on the focused control itself, since
  // JupyterLab stops some key events before they reach the document
  const heard = (event) => { if (start === null) start = event.timeStamp; };
  window.addEventListener("keydown", heard, { capture: true, once: true });
  document.activeElement?.addEventListener("keydown", heard, { capture: true, once: true });
  const observer = new MutationObserver(() => {
    if (start === null) return;
    observer.disconnect();
    requestAnimationFrame(() => { window.__latency = performance.now() - start; });
  });
  observer.observe(target, { attributes: true, subtree: true, attributeFilter: [attribute] });
}"""


def old_library() -> Path:
    """The library as it was at OLD_COMMIT (the matplotlib PNG path, pgbook/widgets.py), in a folder of its own:
    run with that folder first on the path, in a process (or kernel) of its own."""
    folder = Path(tempfile.mkdtemp())
    archive = subprocess.run(["git", "archive", OLD_COMMIT, "pgbook"], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)  # noqa: S607
    return folder


def old_static_html(folder: Path) -> str:
    """The old static figure (PNG frames over N), computed by the old library."""
    code = "import pgbook.widgets as w; print(w.corridor_explorer().static_html(), end='')"
    return subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], cwd=folder, env={**os.environ, "PYTHONPATH": str(folder)},
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip


def measure(page, root: str, attribute: str, control, keys: tuple[str, str]) -> list[float]:
    samples = []
    for k in range(PRESSES):
        control.focus()
        page.evaluate(ARM, [root, attribute])
        page.keyboard.press(keys[k % 2])
        try:
            page.wait_for_function("() => window.__latency !== null", timeout=10_000)
        except TimeoutError:
            samples.append(float("inf"))  # no update within 10 s: counted, shown in the p95
            if samples[-3:] == [float("inf")] * 3:
                break  # this control does not answer: stop here rather than wait for every press
            continue
        samples.append(page.evaluate("window.__latency"))
    print(root, control, samples, flush=True)
    return samples


class LoadAverage:
    """The machine's 1-minute load average, sampled every 5 s from start to stop, with the run's times (UTC)."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self.start = datetime.now(UTC)
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def _sample(self) -> None:
        while True:
            self.samples.append(os.getloadavg()[0])
            if self.done.wait(5):
                return

    def stop(self) -> str:
        self.done.set()
        self.thread.join()
        end, samples = datetime.now(UTC), self.samples
        return (
            f"Run {self.start:%H:%M}-{end:%H:%M} UTC; load average (1 min) during the run: min {min(samples):.1f}, "
            f"median {statistics.median(samples):.1f}, max {max(samples):.1f} ({len(samples)} samples, every 5 s)"
        )


def keys_for(control) -> tuple[str, str]:
    """Two keys that move the control one way and back: first towards the side it has room on."""
    select = control.evaluate("(el) => el.tagName") == "SELECT"
    at_end = control.evaluate(
        "(el) => el.tagName === 'SELECT' ? el.selectedIndex === el.options.length - 1 : el.value === el.max"
    )
    keys = ("ArrowDown", "ArrowUp") if select else ("ArrowRight", "ArrowLeft")
    return keys[::-1] if at_end else keys


def row(path: str, control: str, samples: list[float]) -> str:
    return f"| {path} | {control} | {summary(samples)} |"


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"{statistics.median(ordered):.1f} | {p95:.1f}"


def static_rows(browser, new_page: Path, old_page: Path) -> list[str]:
    rows = []
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(new_page.as_uri())
    page.wait_for_selector(".pgbook-explorer[data-state]")
    for name in NEW_CONTROLS:
        control = page.locator(f".pgbook-explorer [name={name}]")
        samples = measure(page, ".pgbook-explorer", "data-state", control, keys_for(control))
        rows.append(row("static, SVG view (new)", name, samples))
    page.close()
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(old_page.as_uri())
    page.wait_for_selector(".pgbook-frames img")
    control = page.locator(".pgbook-frames input")
    rows.append(
        row("static, PNG frames (old)", "n", measure(page, ".pgbook-frames", "src", control, keys_for(control)))
    )
    rows.append("| static, PNG frames (old) | theta0, theta1, gamma, estimator, baseline | need a kernel | |")
    page.close()
    return rows


def jupyterlab(home: Path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", f"--port={port}", "--ip=127.0.0.1",
         "--IdentityProvider.token=bench", f"--ServerApp.root_dir={home}"],
        env={**os.environ, "HOME": str(home), "JUPYTER_CONFIG_DIR": str(home / ".jupyter"),
             "PYTHONPATH": f"{ROOT}:{os.environ.get('PYTHONPATH', '')}"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/status?token=bench", timeout=5)
            return server, url
        except OSError:
            if time.monotonic() > deadline:
                server.kill()
                raise RuntimeError("JupyterLab did not start within 300 s") from None
            time.sleep(1)


class StepTimeout(RuntimeError):
    """A step of the live run did not finish within its time limit."""


def step(name: str, call, timeout_ms: int):
    """Run one step of the live run with its own time limit; a timeout names the step."""
    try:
        return call(timeout_ms)
    except TimeoutError:
        raise StepTimeout(f"{name}: no result within {timeout_ms / 1000:.0f} s") from None


def notebook(home: Path, name: str, source: str) -> None:
    cell = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": source}
    kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
    content = {"cells": [cell], "metadata": {"kernelspec": kernel}, "nbformat": 4, "nbformat_minor": 5}
    (home / name).write_text(json.dumps(content))


def run_notebook(browser, url: str, name: str, shown: str):
    """Open the notebook in JupyterLab, run its cell, wait until ``shown`` (a selector) is on the page."""
    page = browser.new_page(viewport={"width": 1280, "height": 1200})
    step(f"open {name}", lambda t: page.goto(f"{url}/lab/tree/{name}?token=bench", timeout=t), 120_000)
    status = f"document.querySelector('.jp-StatusBar-TextItem[title*=\"{name}\"]')?.textContent"
    step(f"{name}: kernel idle", lambda t: page.wait_for_function(f"() => /\\| Idle$/.test({status})", timeout=t),
         300_000)  # fmt: skip
    page.locator(".jp-NotebookPanel .jp-CodeCell:visible").first.click()  # JupyterLab may restore other tabs
    page.keyboard.press("Shift+Enter")
    step(f"{name}: widget shown", lambda t: page.wait_for_selector(shown, timeout=t), 600_000)
    return page


def live_rows(browser, old: Path) -> list[str]:
    """The live widgets in JupyterLab, each in a notebook (a kernel) of its own, one after the other. The new
    kernel builds the book's explorer (its table ships with the package); the old kernel runs the old library
    (``old``: its folder first on the path)."""
    home = Path(tempfile.mkdtemp())
    notebook(home, "new.ipynb", "import pgbook as pg\npg.figures.corridor_explorer().widget()")
    notebook(home, "old.ipynb", f"import sys\nsys.path.insert(0, {str(old)!r})\nimport pgbook.widgets\n"
                                "pgbook.widgets.corridor_explorer().widget()")  # fmt: skip
    server, url = jupyterlab(home)
    rows = []
    try:
        page = run_notebook(browser, url, "new.ipynb", ".pgx[data-state]")
        for name in NEW_CONTROLS:
            control = page.locator(f".pgx [name={name}]")
            samples = measure(page, ".pgx", "data-state", control, keys_for(control))
            rows.append(row("live, anywidget SVG view (new)", name, samples))
        page.close()
        page = run_notebook(browser, url, "old.ipynb", ".jp-CodeCell .widget-image")
        figure = page.locator(".jp-CodeCell:visible").first
        handles, selects = figure.locator(".noUi-handle"), figure.locator("select")
        controls = [handles.nth(k) for k in range(4)] + [selects.nth(0), selects.nth(1)]
        for name, control in zip(OLD_CONTROLS, controls, strict=True):
            keys = ("ArrowDown", "ArrowUp") if name in ("estimator", "baseline") else ("ArrowRight", "ArrowLeft")
            keys = keys[::-1] if name == "gamma" else keys  # γ starts at its largest value
            samples = measure(page, ".jp-CodeCell .widget-image", "src", control, keys)
            rows.append(row("live, ipywidgets + matplotlib PNG (old)", name, samples))
        page.close()
    except StepTimeout as error:
        print(f"live run stopped: {error}", flush=True)
        rows.append(f"| live | (run stopped) | {error} | |")
    finally:
        server.terminate()
        server.wait(timeout=30)
    return rows


def main() -> None:
    from playwright.sync_api import sync_playwright

    old = old_library()
    folder = Path(tempfile.mkdtemp())
    load = LoadAverage()
    explorer = pg.figures.corridor_explorer()
    new_figure = explorer.static_html()
    old_figure = old_static_html(old)
    pages = {}
    for name, figure in (("new", new_figure), ("old", old_figure)):
        pages[name] = folder / f"{name}.html"
        pages[name].write_text(f"<!doctype html><meta charset=utf-8><body>{figure}</body>")
    weights = [
        "| figure | bytes of HTML in the page |", "|---|---:|",
        f"| before: 11 PNG frames over N (matplotlib, {OLD_COMMIT}) | {len(old_figure.encode()):,} |",
        f"| after: SVG view + every number (this commit) | {len(new_figure.encode()):,} |",
        f"| live: every number, sent once when the widget is created | {len(json.dumps(explorer.numbers)):,} |",
    ]  # fmt: skip
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        rows = static_rows(browser, pages["new"], pages["old"]) + live_rows(browser, old)
        browser.close()
    run = load.stop()
    write_table(
        "browser",
        "The interactive figure in Chromium: key press to the next painted frame",
        "python benchmarks/browser.py",
        [
            f"Headless Chromium ({CHROMIUM}), {PRESSES} key presses per control, alternating direction; latency in ms "
            "from the keydown event to the first requestAnimationFrame after the figure's DOM changed. Goals: static "
            "< 16 ms per move, live p95 < 50 ms. The old path is pgbook/widgets.py at " + OLD_COMMIT + " (with that "
            "commit's library), run in the "
            "same session. The figure is the book's (`corridor_explorer()`, 81 θ points, 4 γ, N up to 1000).",
            "",
            run + ".",
            "",
            *weights,
            "",
        ],  # fmt: skip
        ["| path | control | p50 (ms) | p95 (ms) |", "|---|---|---:|---:|", *rows],
    )


if __name__ == "__main__":
    main()
