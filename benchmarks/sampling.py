"""Sampling throughput on a 10-state, 4-action MDP, on one core: steps per second of four samplers.

pgbook's vectorized sampler (numpy and torch backends), a plain Python loop over episodes and steps, and
gymnasium's SyncVectorEnv stepping the same MDP (pg.FiniteMDPEnv), all measured in one run so that their
ratios are comparable. Run with `make bench`; writes benchmarks/results/sampling.md.
"""

from __future__ import annotations

import bisect
import os
import random
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core, as the target says

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from common import write_table  # noqa: E402

import pgbook as pg  # noqa: E402

torch.set_num_threads(1)
N_EPISODES, STEPS = 4096, 200  # a continuing MDP: every episode runs all STEPS
MDP = pg.examples.random_mdp(10, 4, gamma=0.9, seed=0)
POLICY = pg.TabularSoftmax(10, 4)
THETA = POLICY.init_params(seed=0)


def vectorized(backend: str) -> int:
    batch = pg.sample_episodes(MDP, POLICY, THETA, N_EPISODES, max_steps=STEPS, seed=0, backend=backend)
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
    sampler()  # warm-up
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        steps = sampler()
        rates.append(steps / (time.perf_counter() - start))
    return float(np.median(rates))


def main() -> None:
    rates = {
        f"pgbook numpy, {N_EPISODES} episodes at once": steps_per_second(lambda: vectorized("numpy")),
        f"pgbook torch, {N_EPISODES} episodes at once": steps_per_second(lambda: vectorized("torch")),
        "plain Python loop": steps_per_second(python_loop),
        "gymnasium SyncVectorEnv (1024 FiniteMDPEnv)": steps_per_second(gymnasium_vector),
    }
    numpy_rate = rates[f"pgbook numpy, {N_EPISODES} episodes at once"]
    lines = ["| sampler | steps/s | pgbook numpy is … faster |", "|---|---:|---:|"]
    lines += [f"| {name} | {rate / 1e6:.2f} M | {numpy_rate / rate:.1f}× |" for name, rate in rates.items()]
    lines += [
        "",
        f"Target: at least 3 M steps/s on one core with a batch ≥ 1024 — "
        f"{'met' if numpy_rate >= 3e6 else 'NOT met'} ({numpy_rate / 1e6:.1f} M steps/s with numpy).",
    ]
    notes = [
        f"Problem: `pg.examples.random_mdp(10, 4, gamma=0.9, seed=0)`, `TabularSoftmax`, θ from `init_params(seed=0)`; "
        f"episodes of {STEPS} steps; one thread (OMP_NUM_THREADS=1, torch.set_num_threads(1)); median of 3 runs "
        "after a warm-up. Each sampler draws actions from the same policy and records what an estimator needs."
    ]
    write_table("sampling", "Sampling throughput", "make bench (python benchmarks/sampling.py)", notes, lines)


if __name__ == "__main__":
    main()
