"""Peak memory and time of `sample_episodes` as max_steps grows from 10³ to 10⁶ (issue 11, item 10).

20 000 short-corridor episodes at θ = corridor_params(0.3): every episode ends within a few hundred steps,
so max_steps is only a cut-off and neither the memory nor the time should follow it. Each measurement runs
in a fresh process (peak resident memory, `ru_maxrss`, cannot be reset inside one), after the imports and a
small warm-up sample; the table gives the peak's growth over that baseline. Each row is measured for today's
sampler and for the previous implementation (commit common.PREVIOUS), under the same conditions.

A second table measures the tabular estimators (reinforce, reward_to_go, off_policy.off_policy_gradient) on 200
episodes at |S| = 5000: the growth of numpy's peak allocation during the call (tracemalloc), today's and the
previous implementation's (which contracted the counts with the dense (|S||A|)² score table), each in a fresh
process after a warm-up call on two of the episodes (which pays the one-time lazy imports: scipy.signal, for the
returns to go, takes about 0.6 s and 27 MiB, 2 s under tracemalloc); and their time at |S| = 10, old and new in
one process, their runs interleaved. The previous estimators run on today's Batch and policies (only the
estimator modules are loaded from git), so a faster Batch.pair_counts speeds both.

Run with `make bench-memory` (or `make bench`); writes benchmarks/results/sampling_memory.md.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from functools import partial

os.environ.setdefault("OMP_NUM_THREADS", "1")

N_EPISODES = 20_000
MAX_STEPS = (1_000, 10_000, 100_000, 1_000_000)
BACKENDS = ("numpy", "torch")


ESTIMATOR_STATES, ESTIMATOR_EPISODES, ESTIMATOR_STEPS = 5000, 200, 50
ESTIMATORS = ("reinforce", "reward_to_go", "off_policy_gradient")
SMALL_REPEATS = 15  # blocks of about 0.06 s per implementation and estimator at |S| = 10, interleaved


def implementations():
    """Today's sampler and estimators, and the previous implementation's (loaded from git)."""
    from common import previous

    import pgbook as pg

    old_estimators = previous("estimators")
    old_surrogate = previous("surrogate", replace={"from pgbook.estimators import": "from previous_estimators import"})
    new = dict(
        sample=pg.sample_episodes,
        reinforce=pg.reinforce,
        reward_to_go=pg.reward_to_go,
        off_policy_gradient=pg.off_policy.off_policy_gradient,
    )
    old = dict(
        sample=previous("sampling").sample_episodes,
        reinforce=old_estimators.reinforce,
        reward_to_go=old_estimators.reward_to_go,
        off_policy_gradient=old_surrogate.off_policy_gradient,
    )
    return {"new": new, "previous": old}


def estimator_call(functions: dict, name: str, batch, policy, theta):
    if name == "off_policy_gradient":
        return functions[name](batch, policy, theta, 0.9 * theta)
    return functions[name](batch, policy, theta)


def measure_estimator(implementation: str, name: str) -> dict:
    """Peak numpy allocation growth during one estimator call on 200 episodes at |S| = 5000 (fresh process)."""
    import tracemalloc

    import pgbook as pg

    functions = implementations()[implementation]
    mdp = pg.examples.random_mdp(ESTIMATOR_STATES, 2, gamma=0.9, seed=0)
    policy = pg.TabularSoftmax(ESTIMATOR_STATES, 2)
    theta = policy.init_params(seed=0)
    batch = pg.sample_episodes(mdp, policy, theta, ESTIMATOR_EPISODES, max_steps=ESTIMATOR_STEPS, seed=0)
    estimator_call(functions, name, batch.subset(slice(0, 2)), policy, theta)  # warm-up: lazy imports
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    start = time.perf_counter()
    estimate = estimator_call(functions, name, batch, policy, theta)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] - before
    tracemalloc.stop()
    return {"peak_mib": peak / 2**20, "seconds": seconds, "result_mib": estimate.per_episode.nbytes / 2**20}


def small_estimator_times() -> dict:
    """Seconds per call at |S| = 10 (1000 episodes), today's and the previous implementation's, one process."""
    from common import paired_median_seconds

    import pgbook as pg

    functions = implementations()
    mdp, policy = pg.examples.random_mdp(10, 4, gamma=0.9, seed=0), pg.TabularSoftmax(10, 4)
    theta = policy.init_params(seed=0)
    batch = pg.sample_episodes(mdp, policy, theta, 1000, max_steps=100, seed=0)
    return paired_median_seconds(
        {
            (implementation, name): partial(estimator_call, functions[implementation], name, batch, policy, theta)
            for name in ESTIMATORS
            for implementation in ("new", "previous")
        },
        repeats=SMALL_REPEATS,
    )


def measure(implementation: str, backend: str, max_steps: int) -> dict:
    """One sample in this process: seconds, peak memory growth and the batch's own size."""
    import torch

    import pgbook as pg

    sample = implementations()[implementation]["sample"] if implementation == "previous" else pg.sample_episodes

    torch.set_num_threads(1)
    mdp, policy, theta = (
        pg.examples.short_corridor(),
        pg.examples.short_corridor_policy(),
        pg.examples.corridor_params(0.3),
    )
    sample(mdp, policy, theta, 100, max_steps=max_steps, seed=1, backend=backend)  # warm-up
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = []
    for _ in range(3):  # the same sample three times: the median time, and the peak memory of one
        start = time.perf_counter()
        batch = sample(mdp, policy, theta, N_EPISODES, max_steps=max_steps, seed=0, backend=backend)
        times.append(time.perf_counter() - start)
        del batch
    batch = sample(mdp, policy, theta, N_EPISODES, max_steps=max_steps, seed=0, backend=backend)
    seconds = sorted(times)[1]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before  # KiB on Linux
    arrays = (batch.states, batch.actions, batch.rewards, batch.alive)
    return {
        "seconds": seconds,
        "peak_mib": peak / 1024,
        "batch_mib": sum(a.nbytes for a in arrays) / 2**20,
        "longest": int(batch.lengths.max()),
        "terminated": bool(batch.terminated.all()),
    }


def main() -> None:
    from common import write_table

    lines = [
        "| backend | max_steps | time (s) | previous: time (s) | peak memory growth (MiB) | previous: peak (MiB) | "
        "batch arrays (MiB) | longest episode | an up-front max_steps × episodes allocation would need |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for backend in BACKENDS:
        for max_steps in MAX_STEPS:
            result, old = (in_fresh_process("sample", implementation, backend, str(max_steps))
                           for implementation in ("new", "previous"))  # fmt: skip
            assert result["terminated"], "an episode was cut off: the comparison assumes none is"
            upfront_gib = max_steps * N_EPISODES * (8 + 8 + 8 + 1) / 2**30  # states, actions, rewards, alive
            lines.append(
                f"| {backend} | {max_steps:,} | {result['seconds']:.3f} | {old['seconds']:.3f} | "
                f"{result['peak_mib']:.0f} | {old['peak_mib']:.0f} | {result['batch_mib']:.0f} | {result['longest']} "
                f"| {upfront_gib:,.1f} GiB |"
            )
    small = small_estimator_times()
    lines += [
        "",
        f"Tabular estimators on {ESTIMATOR_EPISODES} episodes of {ESTIMATOR_STEPS} steps at |S| = {ESTIMATOR_STATES} "
        "(2 actions; each call in a fresh process after a warm-up call on two episodes; peak growth of numpy's "
        "allocations during the call, by tracemalloc), and their time at |S| = 10 (1000 episodes of 100 steps, one "
        f"process: the median of {SMALL_REPEATS} blocks of about 0.06 s each, the implementations' blocks "
        "interleaved):",
        "",
        "| estimator | peak growth (MiB) | previous (MiB) | time (s) | previous (s) | per-episode result (MiB) "
        "| at \\|S\\| = 10 | previous at \\|S\\| = 10 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    worst = 0.0
    for name in ESTIMATORS:
        result, old = (in_fresh_process("estimator", implementation, name) for implementation in ("new", "previous"))
        worst = max(worst, result["peak_mib"])
        lines.append(
            f"| {name} | {result['peak_mib']:.0f} | {old['peak_mib']:,.0f} | {result['seconds']:.3f} | "
            f"{old['seconds']:.3f} | {result['result_mib']:.0f} | {small['new', name] * 1e3:.2f} ms | "
            f"{small['previous', name] * 1e3:.2f} ms |"
        )
    slower = max(small["new", name] / small["previous", name] for name in ESTIMATORS)
    lines += [
        "",
        f"Targets: peak growth below 100 MB — {'met' if worst * 2**20 < 100e6 else 'NOT met'} (at most {worst:.0f} "
        f"MiB, of which the per-episode gradients themselves are 15 MiB); no slower at |S| = 10 — "
        f"{'met' if slower <= 1.0 else 'NOT met'} (new / previous at most {slower:.2f}, medians in one process, "
        "their runs interleaved).",
    ]
    notes = [
        f"`pg.sample_episodes(short_corridor(), short_corridor_policy(), corridor_params(0.3), {N_EPISODES:,}, "
        "max_steps=…, seed=0, backend=…)`, one thread, each measurement in a fresh process; time: the median of 3 "
        "runs; `previous`: the implementation at the commit named above. "
        "Memory and time stay flat from 10³ to 10⁶: only the steps taken are recorded, then padded to the "
        "longest episode. The last "
        "column is what the earlier sampler allocated before the first step (it failed with "
        "'Unable to allocate 29.8 GiB' at max_steps 200 000)."
    ]
    write_table(
        "sampling_memory",
        "Sampling memory and time against max_steps",
        "make bench-memory (python benchmarks/sampling_memory.py)",
        notes,
        lines,
    )


def in_fresh_process(*arguments: str) -> dict:
    run = subprocess.run([sys.executable, __file__, *arguments], capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"{arguments} failed:\n{run.stderr}")
    return json.loads(run.stdout)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "sample":
        print(json.dumps(measure(sys.argv[2], sys.argv[3], int(sys.argv[4]))))
    elif len(sys.argv) > 1 and sys.argv[1] == "estimator":
        print(json.dumps(measure_estimator(sys.argv[2], sys.argv[3])))
    else:
        main()
