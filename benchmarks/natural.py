"""Time the Part III oracles beside exact_gradient on random MDPs with |S| = 10, 100, 1000 and |A| = 4, and the
previous implementation (commit common.LAST_ROUND) of the Fisher matrix, natural gradient, compatible fit and exact
ascent beside today's, in the same run.

Run with `make bench`; writes benchmarks/results/natural.md. Times are medians of repeated runs in one process.
Before issue 24 the natural gradient and compatible fit solved a dense least-squares problem with the (|S||A|)²
Fisher matrix (128 MB at |S| = 1000); since its first round they use the per-state blocks of tabular softmax (a
closed form), and since its second exact_ascent checks its arguments once per call, not at every step.
"""

from __future__ import annotations

import sys
from functools import partial

from common import LAST_ROUND, paired_median_seconds, previous, write_table

import pgbook as pg

SIZES = (10, 100, 1000)
N_ACTIONS = 4
OLD_FISHER, OLD_COMPATIBLE, OLD_ASCENT = (
    previous(module, commit=LAST_ROUND) for module in ("fisher", "compatible", "exact_ascent")
)
ASCENT_ITERATIONS = 10


def format_time(seconds: float) -> str:
    return f"{seconds * 1e3:.3f} ms" if seconds < 1 else f"{seconds:.1f} s"


def measure(n_states: int) -> tuple[int, int, dict[str, float]]:
    mdp = pg.examples.random_mdp(n_states, N_ACTIONS, gamma=0.9, seed=0)
    policy = pg.TabularSoftmax(n_states, N_ACTIONS)
    theta = policy.init_params(seed=0)
    other = policy.init_params(seed=1)
    calls = {
        "exact_gradient": lambda: pg.exact_gradient(mdp, policy, theta),
        "fisher_matrix": lambda: pg.fisher_matrix(mdp, policy, theta),
        "natural_gradient": lambda: pg.natural_gradient(mdp, policy, theta),
        "compatible_fit": lambda: pg.compatible_fit(mdp, policy, theta),
        "previous fisher_matrix": lambda: OLD_FISHER.fisher_matrix(mdp, policy, theta),
        "previous natural_gradient": lambda: OLD_FISHER.natural_gradient(mdp, policy, theta),
        "previous compatible_fit": lambda: OLD_COMPATIBLE.compatible_fit(mdp, policy, theta),
        "performance_difference": lambda: pg.performance_difference(mdp, policy, theta, other),
    }
    times = paired_median_seconds(calls, repeats=5)
    ascents = {}  # timed apart: their runs (up to a second each) would stand between the others' blocks
    for direction in ("gradient", "natural"):
        for name, ascent in (("exact_ascent", pg.exact_ascent), ("previous exact_ascent", OLD_ASCENT.exact_ascent)):
            ascents[f"{name} ({direction})"] = partial(
                ascent, mdp, policy, theta, step_size=0.5, n_iterations=ASCENT_ITERATIONS, direction=direction
            )
    times |= paired_median_seconds(ascents, repeats=5)
    print(f"|S|={n_states}: " + ", ".join(f"{k} {format_time(v)}" for k, v in times.items()), file=sys.stderr)
    return n_states, theta.size, times


def main() -> None:
    rows = [measure(n_states) for n_states in SIZES]
    names = [name for name in rows[0][2] if "exact_ascent" not in name]
    lines = [
        "| \\|S\\| | dim θ | " + " | ".join(f"`{name}`" for name in names) + " |",
        "|---:|---:|" + "---:|" * len(names),
    ]
    for n_states, dim, times in rows:
        gradient = times["exact_gradient"]
        cells = [format_time(gradient)] + [
            f"{format_time(times[name])} ({times[name] / gradient:,.0f}×)" for name in names[1:]
        ]
        lines.append(f"| {n_states} | {dim} | " + " | ".join(cells) + " |")
    at_1000 = rows[-1][2]
    slowest = max(at_1000[name] for name in ("fisher_matrix", "natural_gradient", "compatible_fit"))
    lines += [
        "",
        f"Target at |S| = 1000: Fisher matrix, natural gradient and compatible fit within 5× of exact_gradient — "
        f"{'met' if slowest <= 5 * at_1000['exact_gradient'] else 'NOT met'} (the slowest "
        f"{slowest / at_1000['exact_gradient']:.1f}×; previously "
        f"{at_1000['previous fisher_matrix'] / at_1000['exact_gradient']:.1f}× for the Fisher matrix in this run; "
        "755× for the natural gradient before issue 24).",
        "",
        f"`exact_ascent`, {ASCENT_ITERATIONS} steps from θ (step size 0.5): validation once per call (today) or "
        "at every step (previous):",
        "",
        "| \\|S\\| | gradient | previous gradient | natural | previous natural | previous / today |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for n_states, _, times in rows:
        cells = [
            format_time(times[f"{old}exact_ascent ({d})"]) for d in ("gradient", "natural") for old in ("", "previous ")
        ]
        ratios = [times[f"previous exact_ascent ({d})"] / times[f"exact_ascent ({d})"] for d in ("gradient", "natural")]
        lines.append(f"| {n_states} | " + " | ".join(cells) + f" | {ratios[0]:.1f}×, {ratios[1]:.1f}× |")
    notes = [
        f"Problem: `pg.examples.random_mdp(|S|, {N_ACTIONS}, gamma=0.9, seed=0)`, `TabularSoftmax`, θ from "
        "`init_params(seed=0)` (and seed=1 for the new policy of `performance_difference`). In parentheses: the "
        "time relative to `exact_gradient` at the same size. Medians of repeated runs in one process, every call's "
        "blocks interleaved. `previous …`: the implementation at "
        "the commit named above, in the same run. `fisher_matrix` returns the dense matrix (its contract), "
        "assembled from per-state blocks. The Fisher matrix, natural gradient and compatible fit are the same code "
        "at that commit and today (it met the 5× target on a quiet machine; its 7.3× came from single runs on a "
        "loaded one): a difference between a column and its previous one is the noise of the machine's load."
    ]
    write_table(
        "natural", "Part III oracles beside the exact gradient: time per call",
        "make bench (python benchmarks/natural.py)", notes, lines, previous_commit=LAST_ROUND,
    )  # fmt: skip


if __name__ == "__main__":
    main()
