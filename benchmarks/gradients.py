"""Time the three gradient oracles on random MDPs with |S| = 10, 100, 1000 and |A| = 4 (tabular softmax).

Run with `make bench`; writes benchmarks/results.md. Times are medians of repeated runs measured in one
process, so the ratios between oracles are comparable even on a shared, noisy machine.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import torch

import pgbook as pg

SIZES = (10, 100, 1000)
N_ACTIONS = 4
RESULTS = Path(__file__).with_name("results.md")


def median_seconds(call, *, repeats: int = 5, block_seconds: float = 0.06) -> float:
    """Median over `repeats` blocks of the mean time per call, each block lasting about `block_seconds`.

    The first call is a warm-up and is discarded, unless calls are slow (longer than a block), when it
    counts as the first sample: a finite-difference gradient at |S| = 1000 takes minutes.
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
    cpu = (
        next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            platform.processor() or "unknown CPU",
        )
        if Path("/proc/cpuinfo").exists()
        else platform.processor()
    )
    return (
        f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}, numpy {np.__version__}, "
        f"torch {torch.__version__} ({torch.get_num_threads()} threads)"
    )


def format_time(seconds: float) -> str:
    return f"{seconds * 1e3:.3f} ms" if seconds < 1 else f"{seconds:.1f} s"


def measure(n_states: int) -> tuple[int, int, float, float, float]:
    """Seconds per gradient for the three oracles on one problem size."""
    mdp = pg.envs.random_mdp(n_states, N_ACTIONS, gamma=0.9, seed=0)
    policy = pg.TabularSoftmax(n_states, N_ACTIONS)
    theta = policy.init_params(seed=0)
    exact = median_seconds(lambda: pg.exact_gradient(mdp, policy, theta))
    autodiff = median_seconds(lambda: pg.autodiff_gradient(mdp, policy, theta))
    fd_repeats = 3 if n_states < 1000 else 1  # one central-difference gradient at |S| = 1000 takes minutes
    fd = median_seconds(
        lambda: pg.finite_difference(lambda t: pg.exact_objective(mdp, policy, t), theta), repeats=fd_repeats
    )
    print(
        f"|S|={n_states}: exact {format_time(exact)}, autodiff {format_time(autodiff)}, "
        f"finite differences {format_time(fd)}",
        file=sys.stderr,
    )
    return n_states, theta.size, exact, autodiff, fd


def main() -> None:
    rows = [measure(n_states) for n_states in SIZES]
    exact_100 = next(row for row in rows if row[0] == 100)
    lines = [
        "# Gradient oracles: time per gradient",
        "",
        f"Command: `make bench` (`python benchmarks/gradients.py`), {date.today().isoformat()}.  ",
        f"Machine: {machine()}.  ",
        f"Problem: `pg.envs.random_mdp(|S|, {N_ACTIONS}, gamma=0.9, seed=0)`, `TabularSoftmax`, "
        "θ from `init_params(seed=0)`; medians of repeated runs in one process (finite differences at "
        "|S| = 1000: a single run).",
        "",
        "| \\|S\\| | dim θ | exact (theorem) | autodiff | central differences | differences / exact | "
        "autodiff / exact |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n_states, dim, exact, autodiff, fd in rows:
        lines.append(
            f"| {n_states} | {dim} | {format_time(exact)} | {format_time(autodiff)} | {format_time(fd)} | "
            f"{fd / exact:,.0f}× | {autodiff / exact:.1f}× |"
        )
    _, _, exact, _, fd = exact_100
    lines += [
        "",
        "Targets at |S| = 100: exact gradient under 1 ms — "
        f"{'met' if exact < 1e-3 else 'NOT met'} ({format_time(exact)}); at least 10× faster than finite "
        f"differences — {'met' if fd / exact >= 10 else 'NOT met'} ({fd / exact:,.0f}×).",
        "",
    ]
    RESULTS.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
