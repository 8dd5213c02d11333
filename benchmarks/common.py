"""Shared pieces of the benchmarks: timing, the previous implementation, the machine and its load, and writing
a results table."""

from __future__ import annotations

import importlib.util
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from types import ModuleType

import numpy as np
import torch

RESULTS = Path(__file__).parent / "results"
ROOT = Path(__file__).resolve().parent.parent
#: The implementation the tables are timed against, in the same run: pgbook before issue 24's scaling work.
PREVIOUS = "5f2d713"
#: Main before the second round of that work: the reference of the tables that round reran (sampling, natural).
LAST_ROUND = "29c2366"
_LOAD_AT_START = os.getloadavg()


def previous(module: str, *, replace: dict[str, str] | None = None, commit: str = PREVIOUS) -> ModuleType:
    """``pgbook.<module>`` as it was at ``commit`` (default :data:`PREVIOUS`), from ``git show``, as a module of
    its own (its imports of other pgbook modules get today's; ``replace`` rewrites its source, for example to
    point an import at another previous module)."""
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{commit}:pgbook/{module}.py"], capture_output=True, text=True, check=True
    ).stdout
    for old, new in (replace or {}).items():
        assert old in source, f"{old!r} is not in {commit}:pgbook/{module}.py"
        source = source.replace(old, new)
    name = f"previous_{module}" if commit == PREVIOUS else f"previous_{module}_{commit}"
    spec = importlib.util.spec_from_loader(name, loader=None)
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[name] = loaded  # dataclasses look their module up
    exec(compile(source, f"{PREVIOUS}:pgbook/{module}.py", "exec"), loaded.__dict__)
    return loaded


def load() -> str:
    """The machine's load averages (1, 5, 15 min) when the run started and now."""
    now = os.getloadavg()
    return (
        f"load average {_LOAD_AT_START[0]:.2f} / {_LOAD_AT_START[1]:.2f} / {_LOAD_AT_START[2]:.2f} at the start, "
        f"{now[0]:.2f} / {now[1]:.2f} / {now[2]:.2f} at the end (1 / 5 / 15 min, {os.cpu_count()} cores)"
    )


def median_seconds(call, *, repeats: int = 5, block_seconds: float = 0.06) -> float:
    """Median over `repeats` blocks of the mean time per call, each block lasting about `block_seconds`.

    The first call is a warm-up and is discarded, unless calls are slow (longer than a block), when it
    counts as the first sample.
    """
    start = time.perf_counter()
    call()
    first = time.perf_counter() - start
    per_block = int(block_seconds / max(first, 1e-9))
    samples = [] if per_block >= 1 else [first]
    while len(samples) < repeats:
        start = time.perf_counter()
        for _ in range(max(per_block, 1)):
            call()
        samples.append((time.perf_counter() - start) / max(per_block, 1))
    return statistics.median(samples)


def paired_median_seconds(calls: dict, *, repeats: int = 5, block_seconds: float = 0.06) -> dict:
    """:func:`median_seconds` for several calls at once, their blocks interleaved (one block of each in turn,
    ``repeats`` times), so that a machine whose load changes during the run slows them alike: the ratios of the
    medians compare implementations under the same conditions."""
    per_block, samples = {}, {name: [] for name in calls}
    for name, call in calls.items():
        start = time.perf_counter()
        call()  # warm-up, and the size of a block
        first = time.perf_counter() - start
        per_block[name] = int(block_seconds / max(first, 1e-9))
        if per_block[name] < 1:
            samples[name].append(first)
    while any(len(times) < repeats for times in samples.values()):
        for name, call in calls.items():
            if len(samples[name]) >= repeats:
                continue
            count = max(per_block[name], 1)
            start = time.perf_counter()
            for _ in range(count):
                call()
            samples[name].append((time.perf_counter() - start) / count)
    return {name: statistics.median(times) for name, times in samples.items()}


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        models = [
            line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")
        ]
        cpu = models[0] if models else cpu
    return (
        f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}, numpy {np.__version__}, "
        f"torch {torch.__version__} ({torch.get_num_threads()} threads)"
    )


def write_table(
    name: str, title: str, command: str, notes: list[str], lines: list[str], *, previous_commit: str = PREVIOUS
) -> None:
    """Write benchmarks/results/<name>.md with the command, the machine, its load, the date and the commit of
    the previous implementation timed beside (``previous_commit``), and print it."""
    ran = shlex.join(["python", *sys.argv])
    text = "\n".join(
        [
            f"# {title}",
            "",
            f"Command: `{command}` (ran `{ran}`), {date.today().isoformat()}.  ",
            f"Machine: {machine()}; {load()}.  ",
            f"Previous implementation: pgbook at commit {previous_commit}, timed in the same run.",
            "",
        ]
        + notes
        + [""]
        + lines
        + [""]
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.md").write_text(text)
    print(text)
