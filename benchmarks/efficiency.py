"""Statistical efficiency of each estimator: κ and the episodes needed for cosine ≥ 0.9 with the exact gradient.

κ = tr Cov(ĝ_i) / ‖∇J‖² from 10⁵ episodes. The episodes needed are measured, not predicted: the 10⁵ episodes
are cut into disjoint sub-batches of N episodes, and N is the smallest size on a grid at which the median
cosine between a sub-batch's estimate and the exact gradient reaches 0.9 (with at least 20 sub-batches).
The prediction 1/√(1 + κ/N) ≥ 0.9, i.e. N ≥ 4.26 κ, is shown beside it. Run with `make bench`; writes
benchmarks/results/efficiency.md.

Beside each estimator: its time on the 10⁵ episodes, and the previous implementation's (commit common.PREVIOUS,
which contracted the counts with the dense score table) in the same run, with the largest difference between
the two estimates (they compute the same numbers, to rounding); and the time to sample, today's and previous.

How the times are measured: one call of each implementation first, untimed (its result gives the statistics and
the difference; it pays one-time costs such as lazy imports), then REPEATS timed calls of each, the two
implementations in turn and in alternating order, after a garbage collection; the table gives the medians of
the wall times and the ratio of the medians of the user CPU times. On the 10-state problem a call works on
arrays of 3·10⁷ steps (240 MB each), whose fresh pages the kernel zeroes on first touch: five calls of the same
GAE(λ=0.9) on the same batch took 0.8–1.2 s of user time each but 0.2 to 4 s of system time (huge pages free or
compacted), 1.5 to 7.9 s in all, so a single timed call each, in a fixed order, compared noise (the table once had
1.9 s against 0.65 s for reward-to-go and 0.68 s against 1.5 s for REINFORCE with a mean baseline, in one run).
"""

from __future__ import annotations

import gc
import os
import resource
import statistics
import time
from collections.abc import Callable
from functools import partial

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from common import previous, write_table  # noqa: E402

import pgbook as pg  # noqa: E402

N_EPISODES = 100_000
REPEATS = 5  # timed calls of each estimator and implementation (sampling: SAMPLING_REPEATS)
SAMPLING_REPEATS = 3
GRID = np.unique(np.round(np.geomspace(1, N_EPISODES // 20, 60)).astype(int))


def problems():
    tabular = pg.TabularSoftmax(10, 4)
    yield (
        "random MDP, 10 states, γ=0.9",
        pg.examples.random_mdp(10, 4, gamma=0.9, seed=0),
        tabular,
        tabular.init_params(seed=0),
        300,
    )
    yield (
        "short corridor, p(right)=0.3",
        pg.examples.short_corridor(),
        pg.examples.short_corridor_policy(),
        pg.examples.corridor_params(0.3),
        2_000,
    )
    yield (
        "random episodic MDP, γ=1",
        pg.examples.random_mdp(10, 4, gamma=1.0, seed=1, n_terminal=2),
        tabular,
        tabular.init_params(seed=1),
        2_000,
    )


ESTIMATORS = {
    "REINFORCE": lambda m, b, p, t, V, A: m.reinforce(b, p, t),
    "REINFORCE, mean-return baseline": lambda m, b, p, t, V, A: m.reinforce(b, p, t, baseline="mean"),
    "REINFORCE, optimal constant b*": lambda m, b, p, t, V, A: m.reinforce(b, p, t, baseline="optimal"),
    "reward-to-go": lambda m, b, p, t, V, A: m.reward_to_go(b, p, t),
    "reward-to-go, learned V(s)": lambda m, b, p, t, V, A: m.reward_to_go(b, p, t, baseline="learned"),
    "reward-to-go, true V(s)": lambda m, b, p, t, V, A: m.reward_to_go(b, p, t, baseline=V),
    "GAE(λ=0.9), true V": lambda m, b, p, t, V, A: m.gae_estimator(b, p, t, values=V, lam=0.9),
    "actor-critic GAE(λ=0), true V": lambda m, b, p, t, V, A: m.gae_estimator(b, p, t, values=V, lam=0.0),
    "exact advantage": lambda m, b, p, t, V, A: m.advantage_estimator(b, p, t, A),
}
OLD_ESTIMATORS, OLD_SAMPLING = previous("estimators"), previous("sampling")


def timed_in_turn(calls: dict[str, Callable[[], object]], repeats: int) -> tuple[dict, dict, dict]:
    """The result of each call, from a first, untimed call, and the medians of its wall times and of its user CPU
    times over ``repeats`` more, the calls taken in turn (in alternating order from round to round), each after a
    garbage collection."""
    results = {name: call() for name, call in calls.items()}
    wall, user = {name: [] for name in calls}, {name: [] for name in calls}
    order = list(calls)
    for _ in range(repeats):
        for name in order:
            gc.collect()
            start, start_user = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF).ru_utime
            calls[name]()
            wall[name].append(time.perf_counter() - start)
            user[name].append(resource.getrusage(resource.RUSAGE_SELF).ru_utime - start_user)
        order.reverse()
    medians = ({name: statistics.median(seconds) for name, seconds in times.items()} for times in (wall, user))
    return results, *medians


def episodes_for_cosine(estimate: pg.GradientEstimate, exact: np.ndarray, target: float = 0.9) -> int | None:
    direction = exact.ravel() / np.linalg.norm(exact)
    for size in GRID:
        means = estimate.batch_means(size).reshape(estimate.n_episodes // size, -1)
        norms = np.linalg.norm(means, axis=1)
        cosines = np.divide(means @ direction, norms, out=np.zeros(len(means)), where=norms > 0)
        if np.median(cosines) >= target:
            return int(size)
    return None


def main() -> None:
    lines = [
        "| problem | estimator | κ | episodes for cosine ≥ 0.9 (measured) | predicted 4.26 κ | time (s) | "
        "previous (s) | time / previous | user CPU / previous | largest difference from previous |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    sampling = []
    for name, mdp, policy, theta, max_steps in problems():
        batches, seconds, user = timed_in_turn(
            {
                implementation: partial(sample, mdp, policy, theta, N_EPISODES, max_steps=max_steps, seed=0)
                for implementation, sample in (("new", pg.sample_episodes), ("previous", OLD_SAMPLING.sample_episodes))
            },
            SAMPLING_REPEATS,
        )
        batch = batches["new"]
        assert np.array_equal(batch.actions, batches.pop("previous").actions), "the same seed must give the same batch"
        ratios = seconds["new"] / seconds["previous"], user["new"] / user["previous"]
        sampling.append(
            f"| {name} | {seconds['new']:.2f} | {seconds['previous']:.2f} | {ratios[0]:.2f} | {ratios[1]:.2f} |"
        )
        exact = pg.exact_gradient(mdp, policy, theta)
        values, advantages = pg.state_values(mdp, policy, theta), pg.advantages(mdp, policy, theta)
        for label, estimator in ESTIMATORS.items():
            estimates, seconds, user = timed_in_turn(
                {
                    implementation: partial(estimator, module, batch, policy, theta, values, advantages)
                    for implementation, module in (("new", pg), ("previous", OLD_ESTIMATORS))
                },
                REPEATS,
            )
            estimate, old = estimates["new"], estimates.pop("previous")
            difference = np.abs(estimate.per_episode - old.per_episode).max()
            del old, estimates
            kappa = pg.stats.relative_variance(estimate, exact)
            needed = episodes_for_cosine(estimate, exact)
            shown = f"{needed:,}" if needed is not None else f"> {GRID[-1]:,}"
            lines.append(
                f"| {name} | {label} | {kappa:,.1f} | {shown} | {4.26 * kappa:,.0f} | {seconds['new']:.3f} | "
                f"{seconds['previous']:.3f} | {seconds['new'] / seconds['previous']:.2f} | "
                f"{user['new'] / user['previous']:.2f} | {difference:.1e} |"
            )
        del batch, batches
    lines += [
        "",
        f"Sampling the {N_EPISODES:,} episodes (same seed, same batch; the median of {SAMPLING_REPEATS} timed "
        "calls each, after an untimed one, in turn):",
        "",
    ]
    lines += [
        "| problem | time (s) | previous (s) | time / previous | user CPU / previous |",
        "|---|---:|---:|---:|---:|",
    ] + sampling
    notes = [
        f"{N_EPISODES:,} episodes per problem (seed 0); κ = tr Cov(ĝ_i)/‖∇J‖² per episode. Measured episodes: the "
        "smallest N on a geometric grid at which the median cosine of disjoint N-episode estimates reaches 0.9. "
        "An estimator with κ < 1 can be within the target from a single episode.",
        "",
        "On the short corridor the book's two-feature policy makes every gradient sample parallel to (1, −1), "
        "so a cosine is ±1 and only says whether the sign is right: there κ is the informative column.",
        "",
        "Times: wall-clock, one thread; for each estimator one untimed call of each implementation (it gives the "
        f"statistics and the difference), then {REPEATS} timed calls of each, the two in turn in alternating order, "
        "each after a garbage collection; the medians, and the ratio of the medians of the process's user CPU "
        "time, which is the implementations' own work. The wall time adds the kernel's: on the 10-state problem a "
        "call fills arrays of 3·10⁷ steps (240 MB each), whose fresh pages the kernel hands out and zeroes, and "
        "the same call on the same batch took 0.2 to 4 s of system time from one call to the next, as huge pages "
        "were free or had to be compacted (and waits for a CPU on a shared machine): a single call each, as this "
        "table once had, compared that noise.",
    ]
    write_table(
        "efficiency",
        "Statistical efficiency of the estimators",
        "make bench (python benchmarks/efficiency.py)",
        notes,
        lines,
    )


if __name__ == "__main__":
    main()
