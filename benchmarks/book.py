"""Time builds of the book: from nothing, rebuilt with nothing changed, and after one chapter changes; and
how long each chapter's notebook takes to execute (kernel start included) in the build from nothing.

Every chapter runs at a full build. Sphinx re-reads, and so re-executes, only what changed since the last
build; the book's `library_dependency` extension counts the `pgbook/` modules as every page's sources, so a
change to the library re-executes everything, and a rebuild with no change executes nothing.
Run with `make bench`; writes benchmarks/results/book.md. Target: a build from nothing under 10 minutes.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import write_table

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 600
TOUCHED = ROOT / "book" / "reinforce.md"


def build(output: str) -> tuple[float, dict[str, float]]:
    """The build's wall-clock seconds, and the execution seconds of every chapter it executed (from myst-nb's
    "<chapter>.md: Executed notebook in <seconds> seconds" lines)."""
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    start = time.perf_counter()
    result = subprocess.run(
        [str(jupyter_book), "build", str(ROOT), "--path-output", output, "-W", "-n", "--keep-going"],
        check=True,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    executed = re.findall(r"book/([\w-]+)\.md: Executed notebook in ([\d.]+) seconds", result.stdout + result.stderr)
    return seconds, {chapter: float(value) for chapter, value in executed}


def main() -> None:
    with tempfile.TemporaryDirectory() as output:
        whole, chapters = build(output)
        unchanged, _ = build(output)
        os.utime(TOUCHED)  # as if the chapter had been edited and saved
        one_chapter, _ = build(output)
    lines = [
        "| build | time |",
        "|---|---:|",
        f"| whole book from nothing (execute every chapter, `-W -n --keep-going`) | {whole:.0f} s |",
        f"| rebuild, nothing changed (cached: no chapter executed) | {unchanged:.0f} s |",
        f"| rebuild after saving one chapter (`{TOUCHED.relative_to(ROOT)}`, executed again) | {one_chapter:.0f} s |",
        "",
        f"Target: a build from nothing under {TARGET_SECONDS // 60} minutes — "
        f"{'met' if whole < TARGET_SECONDS else 'NOT met'}.",
        "",
        "Execution of each chapter in the build from nothing (a fresh kernel each, imports included):",
        "",
        "| chapter | execution |",
        "|---|---:|",
        *(f"| {chapter} | {seconds:.1f} s |" for chapter, seconds in sorted(chapters.items(), key=lambda kv: -kv[1])),
        f"| **all chapters** | {sum(chapters.values()):.1f} s |",
    ]
    notes = [
        "`jupyter-book build . --path-output <folder> -W -n --keep-going`, the same build as the tests make, three "
        "times into the same folder."
    ]
    write_table("book", "Book build time", "make bench (python benchmarks/book.py)", notes, lines)


if __name__ == "__main__":
    main()
