"""Response time of the book's interactive figure: every value of every control, through the live widget.

Each sample is the time from setting a control's value (as a slider move does) until the new figure is in
the Image widget: estimator, exact and finite-difference gradients, drawing and PNG encoding. Run with
`make bench`; writes benchmarks/results/widgets.md.
"""

from __future__ import annotations

import time

import numpy as np
from common import write_table

import pgbook as pg

BUDGET = 0.100  # seconds per slider move


def frames_response() -> tuple[list[str], float]:
    """Chapter 7's kind of figure (:class:`pg.widgets.FigureFrames` of :func:`pg.plotting.draw_cosine_spread`):
    every value of its slider, swept twice, through the live widget."""
    mdp = pg.envs.random_mdp(10, 4, gamma=0.9, seed=0)
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
    frames = pg.widgets.FigureFrames(
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
    explorer = pg.widgets.corridor_explorer()
    build_seconds = time.perf_counter() - build_start
    widget = explorer.widget()
    controls = {control.description: control for row in widget.children[:2] for control in row.children}
    samples: dict[str, list[float]] = {}
    for sweep in range(2):  # two sweeps: every value reached from two different settings of the rest
        for name, control in controls.items():
            values = [option[1] if isinstance(option, tuple) else option for option in control.options]
            order = values if sweep == 0 else values[::-1]
            for value in order:
                if value == control.value:
                    continue
                start = time.perf_counter()
                control.value = value
                samples.setdefault(name, []).append(time.perf_counter() - start)
    everything = np.concatenate([np.array(times) for times in samples.values()])
    lines = ["| control | moves | p50 | p95 | max |", "|---|---:|---:|---:|---:|"]
    for name, times in samples.items():
        times = np.array(times) * 1e3
        lines.append(
            f"| {name} | {times.size} | {np.median(times):.0f} ms | {np.percentile(times, 95):.0f} ms | "
            f"{times.max():.0f} ms |"
        )
    p50, p95 = np.median(everything) * 1e3, np.percentile(everything, 95) * 1e3
    lines.append(
        f"| **GradientExplorer, all** | {everything.size} | {p50:.0f} ms | {p95:.0f} ms | "
        f"{everything.max() * 1e3:.0f} ms |"
    )
    frame_rows, frames_build_seconds = frames_response()
    lines += frame_rows
    lines += [
        "",
        f"Budget: {BUDGET * 1e3:.0f} ms per slider move — p95 {'within' if p95 < BUDGET * 1e3 else 'OVER'} budget "
        f"({p95:.0f} ms); {np.mean(everything < BUDGET) * 100:.0f}% of moves within it.",
        f"Precomputation when the figure is created (pools of {explorer.episode_counts[-1]} episodes at "
        f"{len(explorer.pools)} values of θ, and the J landscapes): {build_seconds:.1f} s; drawing the 10 frames "
        f"of the FigureFrames: {frames_build_seconds:.1f} s.",
    ]
    notes = [
        "Figures: `pg.widgets.corridor_explorer()` (as in the book's chapters 3–6), and a `pg.widgets.FigureFrames` "
        "of `pg.plotting.draw_cosine_spread` (chapter 7's kind, three estimators). Every value of every control, "
        "swept twice (forwards, then backwards), through the ipywidgets callbacks."
    ]
    write_table(
        "widgets",
        "Interactive figures: response per slider move",
        "make bench (python benchmarks/widgets.py)",
        notes,
        lines,
    )


if __name__ == "__main__":
    main()
