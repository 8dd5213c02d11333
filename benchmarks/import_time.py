"""Time and peak memory of `import pgbook` in fresh processes, this tree beside an earlier commit, in one run.

    python benchmarks/import_time.py [REFERENCE_COMMIT]   (default 5f2d713, before torch was imported lazily)

The reference's pgbook/ is extracted with `git archive` into a temporary folder. Each round starts one fresh
interpreter per tree, alternating, so that both see the same load; each reports its wall time for
`import pgbook` (time.perf_counter around the import) and its CPU time (time.process_time, which a loaded machine
inflates less), its peak resident memory (resource.getrusage's ru_maxrss;
this script imports nothing heavy, so the fork it starts from adds little) and whether torch, matplotlib or
scipy.signal were loaded. Once per tree, `python -X importtime -c "import pgbook"` gives the cumulative import time
the interpreter itself measures. Writes benchmarks/results/import.md.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tarfile
import tempfile
from datetime import date
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROUNDS = 7
PROBE = """
import json, resource, sys, time
start, cpu_start = time.perf_counter(), time.process_time()
import pgbook
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
print(json.dumps({
    "seconds": seconds,
    "cpu": cpu,
    "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "loaded": [m for m in ("torch", "matplotlib", "scipy.signal") if m in sys.modules],
    "file": pgbook.__file__,
}))
"""


def extract(commit: str, folder: Path) -> None:
    """pgbook/ as it was at ``commit``, into ``folder``."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit, "pgbook"], capture_output=True, check=True)
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(folder, filter="data")


def probe(tree: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1"}  # cwd too: `-c` puts it first on the path
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, cwd=tree, check=True)
    result = json.loads(done.stdout)
    assert Path(result["file"]).is_relative_to(tree), result["file"]  # the tree meant, not an installed copy
    return result


def importtime_seconds(tree: Path) -> float:
    """The cumulative time of `import pgbook` by `python -X importtime` (microseconds in its last line)."""
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import pgbook"], capture_output=True, text=True, env=env, cwd=tree
    )
    done.check_returncode()
    last = [line for line in done.stderr.splitlines() if line.rstrip().endswith("| pgbook")][-1]
    return int(last.split("|")[1]) / 1e6


def load() -> str:
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def main() -> None:
    reference = sys.argv[1] if len(sys.argv) > 1 else "5f2d713"
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "pgbook"], capture_output=True, text=True)
    current = f"{head}{' + uncommitted changes' if dirty.stdout.strip() else ''}"
    load_before = load()
    with tempfile.TemporaryDirectory() as folder:
        extract(reference, Path(folder))
        trees = {f"this tree ({current})": ROOT, f"previous ({reference})": Path(folder)}
        runs: dict[str, list[dict]] = {name: [] for name in trees}
        for _ in range(ROUNDS):
            for name, tree in trees.items():
                runs[name].append(probe(tree))
        importtimes = {name: importtime_seconds(tree) for name, tree in trees.items()}
    load_after = load()
    lines = [
        "| tree | import, median (min–max) of 7 | CPU time, median | `-X importtime` total | peak RSS, median "
        "| imported |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name, results in runs.items():
        seconds = [r["seconds"] for r in results]
        peak = statistics.median(r["peak_mb"] for r in results)
        loaded = ", ".join(results[0]["loaded"]) or "none of torch, matplotlib, scipy.signal"
        lines.append(
            f"| {name} | {statistics.median(seconds):.2f} s ({min(seconds):.2f}–{max(seconds):.2f}) "
            f"| {statistics.median(r['cpu'] for r in results):.2f} s | {importtimes[name]:.2f} s "
            f"| {peak:.0f} MB | {loaded} |"
        )
    new, old = (statistics.median(r["seconds"] for r in results) for results in runs.values())
    new_cpu = statistics.median(r["cpu"] for r in next(iter(runs.values())))
    new_mb, old_mb = (statistics.median(r["peak_mb"] for r in results) for results in runs.values())
    target = (
        f"wall time {'met' if new < 0.5 else 'NOT met'} at this load, CPU time {'met' if new_cpu < 0.5 else 'NOT met'}"
        f", memory {'met' if new_mb < 150 else 'NOT met'}"
    )
    text = "\n".join(
        [
            "# `import pgbook`: time and peak memory",
            "",
            f"Command: `python benchmarks/import_time.py {reference}`, {date.today().isoformat()}.  ",
            f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
            f"load average (1, 5, 15 min) {load_before} before, {load_after} after.",
            "",
            f"{ROUNDS} rounds, each one fresh interpreter per tree, alternating; the time is `time.perf_counter()` "
            "around `import pgbook`, the CPU time `time.process_time()` around it, the memory "
            "`resource.getrusage(RUSAGE_SELF).ru_maxrss` at the end.",
            "",
            *lines,
            "",
            f"This tree against {reference}: {old / new:.1f}× faster, {old_mb / new_mb:.1f}× less memory. "
            f"Target (under 0.5 s and 150 MB): {target}.",
            "",
        ]
    )
    (ROOT / "benchmarks" / "results" / "import.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
