"""Sampling throughput on one core: steps per second against the number of states, beside the previous sampler.

1. |S| = 10, 100, 1000 (4 actions, 4096 continuing episodes of 200 steps): pgbook's sampler (numpy and torch
   backends) and the one before issue 24 (commit common.PREVIOUS, whose draws compare u with every entry of a
   cumulative row, so cost grows with |S|; the vectorised loop that steps these batches has not changed since
   common.LAST_ROUND);
2. ten continuing episodes of 2·10⁵ steps at |S| = 5000 (2 actions): the small-batch, long-horizon case, with
   numba (a dependency of pgbook since issue 24) and without, the vectorised loop, the previous sampler and the one
   before issue 24;
3. at |S| = 10: a plain Python loop over episodes and steps, and gymnasium's SyncVectorEnv stepping the same MDP
   (pg.FiniteMDPEnv).

All in one run so that the ratios are comparable on a shared machine. Run with `make bench`; writes
benchmarks/results/sampling.md.
"""

from __future__ import annotations

import bisect
import os
import random
import time
from functools import partial

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core, as the target says

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from common import LAST_ROUND, PREVIOUS, previous, write_table  # noqa: E402

import pgbook as pg  # noqa: E402
from pgbook import sampling  # noqa: E402

torch.set_num_threads(1)
N_EPISODES, STEPS = 4096, 200  # a continuing MDP: every episode runs all STEPS
MDP = pg.examples.random_mdp(10, 4, gamma=0.9, seed=0)
POLICY = pg.TabularSoftmax(10, 4)
THETA = POLICY.init_params(seed=0)


OLD = previous("sampling", commit=LAST_ROUND)
BEFORE = PREVIOUS  # before issue 24: cost grew with |S|
BEFORE_SAMPLING = previous("sampling")
SIZES = (10, 100, 1000)
LONG = dict(n_states=5000, n_actions=2, n_episodes=10, max_steps=200_000)


def vectorized(backend: str, mdp=MDP, policy=POLICY, theta=THETA, sample=pg.sample_episodes) -> int:
    batch = sample(mdp, policy, theta, N_EPISODES, max_steps=STEPS, seed=0, backend=backend)
    return int(batch.alive.sum())


def python_loop(n_episodes: int = 256) -> int:
    """One episode and one step at a time with the standard library: what a first implementation does."""
    rng = random.Random(0)
    action_cdf = np.cumsum(POLICY.probabilities(THETA), axis=1).tolist()
    transition_cdf = np.cumsum(MDP.P, axis=2).tolist()
    initial_cdf = np.cumsum(MDP.initial).tolist()
    rewards = MDP.R.tolist()
    episodes = []
    for _ in range(n_episodes):
        states, actions, episode_rewards = [], [], []
        state = min(bisect.bisect_right(initial_cdf, rng.random()), 9)
        for _ in range(STEPS):
            action = min(bisect.bisect_right(action_cdf[state], rng.random()), 3)
            states.append(state)
            actions.append(action)
            episode_rewards.append(rewards[state][action])
            state = min(bisect.bisect_right(transition_cdf[state][action], rng.random()), 9)
        episodes.append((states, actions, episode_rewards))
    return sum(len(states) for states, _, _ in episodes)


def gymnasium_vector(n_envs: int = 1024) -> int:
    examples = gym.vector.SyncVectorEnv([lambda: pg.FiniteMDPEnv(MDP)] * n_envs)
    rng = np.random.default_rng(0)
    action_cdf = np.cumsum(POLICY.probabilities(THETA), axis=1)
    observation, _ = examples.reset(seed=0)
    for _ in range(STEPS):
        state = observation.argmax(axis=1)
        action = (rng.random(n_envs)[:, None] >= action_cdf[state]).sum(axis=1)
        observation, *_ = examples.step(action)
    examples.close()
    return n_envs * STEPS


def steps_per_second(sampler, repeats: int = 3) -> float:
    return paired_steps_per_second({0: sampler}, repeats=repeats)[0]


def paired_steps_per_second(samplers: dict, *, rounds: int = 3, repeats: int = 3) -> dict:
    """The median rate of each sampler over ``rounds`` × ``repeats`` runs: in each round every sampler in turn
    runs a block (a warm-up, then ``repeats`` timed runs), so that a changing load on the machine slows them
    alike, while no sampler is timed just after another has evicted its tables from the cache. A run longer than
    a second is its own warm-up (bringing the tables back is negligible beside it): one run a round."""
    rates = {name: [] for name in samplers}
    for _ in range(rounds):
        for name, sampler in samplers.items():
            for run in range(repeats + 1):
                start = time.perf_counter()
                steps = sampler()
                seconds = time.perf_counter() - start
                if run or seconds > 1:  # the first run of a block is a warm-up, unless slow
                    rates[name].append(steps / seconds)
                if seconds > 1:
                    break
    return {name: float(np.median(values)) for name, values in rates.items()}


def by_size() -> tuple[list[str], dict[int, float]]:
    lines = [
        f"| \\|S\\| | pgbook numpy | previous ({LAST_ROUND}), numpy | before issue 24, numpy | pgbook torch | "
        "before, torch | numpy: new / previous | new / before |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    samplers = [
        (pg.sample_episodes, "numpy"),
        (OLD.sample_episodes, "numpy"),
        (BEFORE_SAMPLING.sample_episodes, "numpy"),
        (pg.sample_episodes, "torch"),
        (BEFORE_SAMPLING.sample_episodes, "torch"),
    ]
    new_rates = {}
    for n_states in SIZES:
        mdp, policy = pg.examples.random_mdp(n_states, 4, gamma=0.9, seed=0), pg.TabularSoftmax(n_states, 4)
        theta = policy.init_params(seed=0)
        rates = paired_steps_per_second(
            {
                (sample, backend): partial(vectorized, backend, mdp, policy, theta, sample)
                for sample, backend in samplers
            }
        )
        new, previous, before = (rates[sample, "numpy"] for sample, _ in samplers[:3])
        new_rates[n_states] = new
        cells = [f"{rates[key] / 1e6:.2f} M" for key in samplers]
        lines.append(f"| {n_states} | " + " | ".join(cells) + f" | {new / previous:.2f}× | {new / before:.1f}× |")
    return lines, new_rates


def long_episodes() -> list[str]:
    """The small-batch, long-horizon case: the compiled loop (numba) and the vectorised loop (what runs without
    numba) of today's sampler, the previous sampler, and the one before the first round of issue 24, in one run;
    every one draws the same batch."""
    mdp = pg.examples.random_mdp(LONG["n_states"], LONG["n_actions"], gamma=0.99, seed=0)
    policy = pg.TabularSoftmax(LONG["n_states"], LONG["n_actions"])
    theta = policy.init_params(seed=0)

    def forcing(loop):
        """pg.sample_episodes with the per-episode loop chosen: ``loop(n_episodes)``."""

        def sample(*args, **kwargs):
            chosen, sampling._per_episode_loop = sampling._per_episode_loop, loop
            try:
                return pg.sample_episodes(*args, **kwargs)
            finally:
                sampling._per_episode_loop = chosen

        return sample

    runs = [
        (
            f"pgbook, first call (builds the tables; the process's first {sampling.STEPS_BEFORE_NUMBA:,} steps in "
            "plain Python, then numba's compiled loop, loaded from its cache or compiled)",
            pg.sample_episodes,
        ),
        ("pgbook, again (tables kept for this MDP)", pg.sample_episodes),
        ("pgbook without numba (the per-episode loop in plain Python)", forcing(lambda n: sampling._on_memoryviews)),
        ("pgbook's vectorised loop (for batches of more than 16 episodes without numba)", forcing(lambda n: None)),
        (f"previous ({LAST_ROUND})", OLD.sample_episodes),
        (f"before issue 24 ({BEFORE})", BEFORE_SAMPLING.sample_episodes),
    ]
    times, batches = {}, []
    for label, sample in runs:
        start = time.perf_counter()
        batches.append(sample(mdp, policy, theta, LONG["n_episodes"], max_steps=LONG["max_steps"], seed=1))
        times[label] = time.perf_counter() - start
    compiled = sampling._numba_installed()
    same = all(np.array_equal(batch.states, batches[0].states) and np.array_equal(batch.actions, batches[0].actions)
               for batch in batches)  # fmt: skip
    lines = ["| sampler | seconds |", "|---|---:|"]
    lines += [f"| {label} | {seconds:.2f} |" for label, seconds in times.items()]
    again = times["pgbook, again (tables kept for this MDP)"]
    how = (
        "numba is installed: the compiled per-episode loop"
        if compiled
        else "numba is NOT installed: the per-episode loop in plain Python"
    )
    lines += [
        "",
        f"Target: under 1 s — {'met' if again < 1 else 'NOT met'} ({again:.2f} s; {how}). Without numba "
        f"{times['pgbook without numba (the per-episode loop in plain Python)']:.1f} s, the previous sampler "
        f"{times[f'previous ({LAST_ROUND})']:.1f} s: with ten episodes each step of the vectorised loop is a few "
        "dozen numpy calls on arrays of ten, and the interpreter's per-call overhead, 2·10⁵ times, is the cost; "
        "the per-episode loop in plain Python pays the interpreter for each of the 2·10⁶ steps instead. "
        f"All six draw the same batch: {'yes' if same else 'NO'}.",
    ]
    return lines


def main() -> None:
    size_lines, new_rates = by_size()
    long_lines = long_episodes()
    rates = {
        f"pgbook numpy, {N_EPISODES} episodes at once": steps_per_second(lambda: vectorized("numpy")),
        "plain Python loop": steps_per_second(python_loop),
        "gymnasium SyncVectorEnv (1024 FiniteMDPEnv)": steps_per_second(gymnasium_vector),
    }
    numpy_rate = rates[f"pgbook numpy, {N_EPISODES} episodes at once"]
    lines = [f"Steps per second against |S| ({N_EPISODES} continuing episodes of {STEPS} steps, 4 actions):", ""]
    lines += size_lines
    at_1000, ratio = new_rates[1000], new_rates[1000] / new_rates[10]
    lines += [
        "",
        f"Targets: at least 10 M steps/s at |S| = 1000 — {'met' if at_1000 >= 1e7 else 'NOT met'} "
        f"({at_1000 / 1e6:.1f} M; the load is in the header); within 2× of the rate at |S| = 10 — "
        f"{'met' if ratio >= 0.5 else 'NOT met'} ({ratio:.2f} of it).",
        "",
        f"Ten continuing episodes of {LONG['max_steps']:,} steps at |S| = {LONG['n_states']} "
        f"({LONG['n_actions']} actions, γ = 0.99):",
        "",
    ]
    lines += long_lines
    lines += [
        "",
        "Other samplers at |S| = 10:",
        "",
        "| sampler | steps/s | pgbook numpy is … faster |",
        "|---|---:|---:|",
    ]
    lines += [f"| {name} | {rate / 1e6:.2f} M | {numpy_rate / rate:.1f}× |" for name, rate in rates.items()]
    notes = [
        "Problems: `pg.examples.random_mdp(|S|, |A|, gamma=0.9, seed=0)`, `TabularSoftmax`, θ from "
        "`init_params(seed=0)`; one thread (OMP_NUM_THREADS=1, torch.set_num_threads(1)); median of 9 runs: three "
        "rounds in which each sampler of a row in turn runs a warm-up and 3 timed runs. Runs of one sampler form a "
        "block because at |S| = 1000 a sampler's tables (the new sampler's cumulative table, 32 MB, and its guide "
        "table, 16 MB) do not fit in the 32 MB cache shared by the cores: timed right after another sampler, a run "
        "first brings its tables back from memory, a cost that alternating run by run charged to every run. "
        "The new sampler draws exactly what the previous one drew (same seed, same batch): guide tables "
        "(Chen & Asau 1974) find the same inverse-CDF outcome without comparing u with every entry of the row, "
        f"and the compiled loop (batches of at most {sampling.COMPILED_LOOP_EPISODES} episodes) takes the same "
        "uniforms in the same order. The table by |S| has batches of 4096 episodes, stepped by the vectorised "
        f"loop; it is timed beside the previous sampler ({LAST_ROUND}) and the one before issue 24 ({PREVIOUS})."
    ]
    write_table(
        "sampling", "Sampling throughput", "make bench (python benchmarks/sampling.py)", notes, lines,
        previous_commit=LAST_ROUND,
    )  # fmt: skip


if __name__ == "__main__":
    main()
