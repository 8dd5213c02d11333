"""Time a whole build of the book from nothing: every chapter executed, warnings as errors.

Run with `make bench`; writes benchmarks/results/book.md. Target: under 10 minutes on this 2-core machine.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import write_table

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 600


def main() -> None:
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    with tempfile.TemporaryDirectory() as output:
        start = time.perf_counter()
        subprocess.run(
            [str(jupyter_book), "build", str(ROOT), "--path-output", output, "-W", "-n", "--keep-going"],
            check=True,
            capture_output=True,
        )
        seconds = time.perf_counter() - start
    lines = [
        "| build | time |",
        "|---|---:|",
        f"| whole book from nothing (execute every chapter, `-W -n --keep-going`) | {seconds:.0f} s |",
        "",
        f"Target: under {TARGET_SECONDS // 60} minutes — {'met' if seconds < TARGET_SECONDS else 'NOT met'}.",
    ]
    notes = [
        "`jupyter-book build . --path-output <empty folder> -W -n --keep-going`, the same build as the tests make."
    ]
    write_table("book", "Book build time", "make bench (python benchmarks/book.py)", notes, lines)


if __name__ == "__main__":
    main()
