"""Peak memory and time of `sample_episodes` as max_steps grows from 10³ to 10⁶ (issue 11, item 10).

20 000 short-corridor episodes at θ = corridor_params(0.3): every episode ends within a few hundred steps,
so max_steps is only a cut-off and neither the memory nor the time should follow it. Each measurement runs
in a fresh process (peak resident memory, `ru_maxrss`, cannot be reset inside one), after the imports and a
small warm-up sample; the table gives the peak's growth over that baseline. Run with `make bench-memory`
(or `make bench`); writes benchmarks/results/sampling_memory.md.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

N_EPISODES = 20_000
MAX_STEPS = (1_000, 10_000, 100_000, 1_000_000)
BACKENDS = ("numpy", "torch")


def measure(backend: str, max_steps: int) -> dict:
    """One sample in this process: seconds, peak memory growth and the batch's own size."""
    import torch

    import pgbook as pg

    torch.set_num_threads(1)
    mdp, policy, theta = (
        pg.examples.short_corridor(),
        pg.examples.short_corridor_policy(),
        pg.examples.corridor_params(0.3),
    )
    pg.sample_episodes(mdp, policy, theta, 100, max_steps=max_steps, seed=1, backend=backend)  # warm-up
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = []
    for _ in range(3):  # the same sample three times: the median time, and the peak memory of one
        start = time.perf_counter()
        batch = pg.sample_episodes(mdp, policy, theta, N_EPISODES, max_steps=max_steps, seed=0, backend=backend)
        times.append(time.perf_counter() - start)
        del batch
    batch = pg.sample_episodes(mdp, policy, theta, N_EPISODES, max_steps=max_steps, seed=0, backend=backend)
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
        "| backend | max_steps | time (s) | peak memory growth (MiB) | batch arrays (MiB) | longest episode "
        "| an up-front max_steps × episodes allocation would need |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for backend in BACKENDS:
        for max_steps in MAX_STEPS:
            run = subprocess.run([sys.executable, __file__, backend, str(max_steps)], capture_output=True, text=True)
            if run.returncode != 0:
                raise RuntimeError(f"{backend}, max_steps={max_steps} failed:\n{run.stderr}")
            result = json.loads(run.stdout)
            assert result["terminated"], "an episode was cut off: the comparison assumes none is"
            upfront_gib = max_steps * N_EPISODES * (8 + 8 + 8 + 1) / 2**30  # states, actions, rewards, alive
            lines.append(
                f"| {backend} | {max_steps:,} | {result['seconds']:.3f} | {result['peak_mib']:.0f} | "
                f"{result['batch_mib']:.0f} | {result['longest']} | {upfront_gib:,.1f} GiB |"
            )
    notes = [
        f"`pg.sample_episodes(short_corridor(), short_corridor_policy(), corridor_params(0.3), {N_EPISODES:,}, "
        "max_steps=…, seed=0, backend=…)`, one thread, each row in a fresh process; time: the median of 3 runs. "
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


if __name__ == "__main__":
    if len(sys.argv) == 3:
        print(json.dumps(measure(sys.argv[1], int(sys.argv[2]))))
    else:
        main()
