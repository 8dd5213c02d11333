"""The book's gradient explorer in a fresh kernel: the time from a new Python process to the figure ready (its
live widget and its static page, as the chapters' cell makes them), for this tree and for the previous
implementation side by side, alternating, in the same run.

Run with `python benchmarks/explorer.py [REFERENCE]` (REFERENCE: a commit, by default the last one before the
explorer's table shipped with the package); writes benchmarks/results/explorer.md.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import write_table

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = "5f2d713"
REPEATS = 3
CELL = """
import json, time
start = time.perf_counter()
import pgbook as pg
imported = time.perf_counter()
figure = pg.figures.show(pg.figures.corridor_explorer(), estimator="REINFORCE", baseline="none", n_episodes=20)
ready = time.perf_counter()
print(json.dumps({"import": imported - start, "cell": ready - imported}))
"""


def library(commit: str) -> Path:
    """The library as it was at ``commit``, in a folder of its own."""
    folder = Path(tempfile.mkdtemp())
    archive = subprocess.run(["git", "archive", commit, "pgbook"], cwd=ROOT, capture_output=True, check=True)  # noqa: S607
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)  # noqa: S607
    return folder


def fresh_kernel(folder: Path) -> dict[str, float]:
    """One new process with ``folder``'s pgbook first on the path: its wall time, and the import's and the cell's."""
    start = time.perf_counter()
    output = subprocess.run(  # noqa: S603
        [sys.executable, "-c", CELL], cwd=folder, env={**os.environ, "PYTHONPATH": str(folder)},
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return {**json.loads(output.splitlines()[-1]), "process": time.perf_counter() - start}


def main() -> None:
    reference = sys.argv[1] if len(sys.argv) > 1 else REFERENCE
    folders = {f"before ({reference})": library(reference), "after (this tree)": ROOT}
    loads = [os.getloadavg()[0]]
    times: dict[str, list[dict[str, float]]] = {name: [] for name in folders}
    for _ in range(REPEATS):
        for name, folder in folders.items():
            times[name].append(fresh_kernel(folder))
            loads.append(os.getloadavg()[0])
    lines = [
        "| implementation | runs | new process to figure ready (median, min–max) | import pgbook | the cell |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, runs in times.items():
        process = [run["process"] for run in runs]
        lines.append(
            f"| {name} | {len(runs)} | {statistics.median(process):.1f} s ({min(process):.1f}–{max(process):.1f}) "
            f"| {statistics.median(run['import'] for run in runs):.1f} s "
            f"| {statistics.median(run['cell'] for run in runs):.1f} s |"
        )
    lines += [
        "",
        f"Load average (1 min) of the machine, sampled before and after each run: min {min(loads):.1f}, median "
        f"{statistics.median(loads):.1f}, max {max(loads):.1f}.",
    ]
    notes = [
        "A new Python process (as a fresh kernel: Binder, a downloaded notebook) runs the chapters' cell, "
        "`pg.figures.show(pg.figures.corridor_explorer(), ...)`, which makes the live widget and the static page; "
        "the two implementations alternate, each run in a process of its own. Before, the explorer sampled its "
        "81 pools of 1000 episodes and computed its table of estimates (4 γ × 81 θ × 11 options × 10 N) in the "
        "kernel; after, it loads the table shipped with the package (a fresh computation reproduces it bit for "
        "bit: tests/library/test_explorer.py) and samples a pool only where `compare()` needs it."
    ]
    write_table("explorer", "The gradient explorer in a fresh kernel", f"python benchmarks/explorer.py {reference}",
                notes, lines)  # fmt: skip


if __name__ == "__main__":
    main()
