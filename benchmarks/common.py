"""Shared pieces of the benchmarks: timing, a description of the machine, and writing a results table."""

from __future__ import annotations

import os
import platform
import statistics
import time
from datetime import date
from pathlib import Path

import numpy as np
import torch

RESULTS = Path(__file__).parent / "results"


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


def write_table(name: str, title: str, command: str, notes: list[str], lines: list[str]) -> None:
    """Write benchmarks/results/<name>.md with the command, the machine and the date, and print it."""
    text = "\n".join(
        [f"# {title}", "", f"Command: `{command}`, {date.today().isoformat()}.  ", f"Machine: {machine()}.", ""]
        + notes
        + [""]
        + lines
        + [""]
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.md").write_text(text)
    print(text)
