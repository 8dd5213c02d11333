"""The kernel's work per move of the book's interactive figures, through the live widget.

The gradient explorer: each sample is the time from setting θ₀, θ₁ or γ (as the view does) until the widget
holds that point's numbers (N, estimator and baseline are answered in the browser). The frames: until the Image
widget holds the new PNG. Run with
`make bench`; writes benchmarks/results/widgets.md.
"""

from __future__ import annotations

import time

import numpy as np
from common import write_table

import pgbook as pg

BUDGET = 0.100  # seconds per slider move


def frames_response() -> tuple[list[str], float]:
    """Chapter 7's kind of figure (:class:`pg.figures.FigureFrames` of :func:`pg.plotting.draw_cosine_spread`):
    every value of its slider, swept twice, through the live widget."""
    mdp = pg.examples.random_mdp(10, 4, gamma=0.9, seed=0)
    policy = pg.TabularSoftmax(10, 4)
    theta = policy.init_params(seed=0)
    batch = pg.sample_episodes(mdp, policy, theta, 20_000, max_steps=300, seed=1)
    estimates = {
        "REINFORCE": pg.reinforce(batch, policy, theta),
        "reward-to-go": pg.reward_to_go(batch, policy, theta),
        "reward-to-go, true V": pg.reward_to_go(batch, policy, theta, baseline=pg.state_values(mdp, policy, theta)),
    }
    exact = pg.exact_gradient(mdp, policy, theta)
    build_start = time.perf_counter()
    frames = pg.figures.FigureFrames(
        lambda figure, n: pg.plotting.draw_cosine_spread(figure, estimates, exact, n),
        (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
        slider_name="episodes N",
        caption="",
        alt="{}",
    )
    build_seconds = time.perf_counter() - build_start
    slider = frames.widget().children[0]
    times = []
    for order in (range(len(frames.values)), reversed(range(len(frames.values)))):
        for index in order:
            if index == slider.value:
                continue
            start = time.perf_counter()
            slider.value = index
            times.append(time.perf_counter() - start)
    times = np.array(times) * 1e3
    row = (
        f"| FigureFrames: episodes N (chapter 7) | {times.size} | {np.median(times):.2f} ms | "
        f"{np.percentile(times, 95):.2f} ms | {times.max():.2f} ms |"
    )
    return [row], build_seconds


def main() -> None:
    build_start = time.perf_counter()
    explorer = pg.figures.corridor_explorer()  # its table ships with the package
    widget = explorer.widget()
    build_seconds = time.perf_counter() - build_start
    grid = pg.figures.corridor_grid()
    table_start = time.perf_counter()
    grid.estimates()  # what corridor_table() computes: every number the figure can show, afresh
    table_seconds = time.perf_counter() - table_start
    sizes = {"theta0": len(grid.axis_values), "theta1": len(grid.axis_values), "gamma": len(grid.gammas)}
    samples: dict[str, list[float]] = {}
    for sweep in range(2):  # two sweeps: every value reached from two different settings of the rest
        for name, size in sizes.items():
            order = range(size) if sweep == 0 else reversed(range(size))
            for value in order:
                if value == getattr(widget, name):
                    continue
                start = time.perf_counter()
                setattr(widget, name, value)  # as the view does: the kernel then sends that point's numbers
                samples.setdefault(name, []).append(time.perf_counter() - start)
    everything = np.concatenate([np.array(times) for times in samples.values()])
    lines = ["| control | moves | p50 | p95 | max |", "|---|---:|---:|---:|---:|"]
    for name, times in samples.items():
        times = np.array(times) * 1e3
        lines.append(
            f"| GradientExplorer: {name} | {times.size} | {np.median(times):.2f} ms | "
            f"{np.percentile(times, 95):.2f} ms | {times.max():.2f} ms |"
        )
    lines.append("| GradientExplorer: N, estimator, baseline | — | answered in the browser, no kernel work | | |")
    frame_rows, frames_build_seconds = frames_response()
    lines += frame_rows
    p95 = np.percentile(everything, 95) * 1e3
    lines += [
        "",
        f"Budget: {BUDGET * 1e3:.0f} ms per slider move in the kernel — p95 "
        f"{'within' if p95 < BUDGET * 1e3 else 'OVER'} budget ({p95:.2f} ms). Key press to painted frame, in "
        "Chromium: benchmarks/results/browser.md.",
        f"Creating the book's figure and its widget (its table loaded from the package; the exact and "
        f"finite-difference gradients and the J landscapes computed): {build_seconds:.1f} s; computing its table "
        f"afresh (pools of {grid.episode_counts[-1]} episodes at 81 values of θ; 4 γ × 81 θ × 11 options × "
        f"{len(grid.episode_counts)} N): {table_seconds:.1f} s; drawing the 10 frames of the FigureFrames: "
        f"{frames_build_seconds:.1f} s. A fresh kernel: benchmarks/results/explorer.md.",
    ]
    notes = [
        "Figures: `pg.figures.corridor_explorer()` (as in the book's chapters 3–6): the kernel's work per move of "
        "θ₀, θ₁ or γ (the live widget sends that point's numbers); and a `pg.figures.FigureFrames` of "
        "`pg.plotting.draw_cosine_spread` (chapter 7's kind, three estimators). Every value of every control, "
        "swept twice (forwards, then backwards)."
    ]
    write_table(
        "widgets",
        "Interactive figures: the kernel's work per slider move",
        "make bench (python benchmarks/widgets.py)",
        notes,
        lines,
    )


if __name__ == "__main__":
    main()
