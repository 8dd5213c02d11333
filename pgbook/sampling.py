r"""Sampling episodes from a finite MDP, vectorized over episodes, into a :class:`Batch` of arrays.

All episodes advance together, one time step per iteration, so the Python loop runs ``max_steps`` times
whatever the number of episodes. Actions and next states are drawn by inverse-CDF sampling from one
uniform number each. The same loop runs on numpy arrays or torch tensors.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from pgbook.arguments import as_count, as_seed, check_type
from pgbook.batch import Batch
from pgbook.lazy_torch import torch
from pgbook.mdp import FiniteMDP
from pgbook.policies import Policy, policy_table


def sample_episodes(
    mdp: FiniteMDP,
    policy: Policy,
    theta: Any,
    n_episodes: int,
    *,
    max_steps: int,
    seed: int | np.random.Generator | None,
    backend: Literal["numpy", "torch"] = "numpy",
) -> Batch:
    r"""Sample ``n_episodes`` episodes of at most ``max_steps`` steps from :math:`\mu_0` under :math:`\pi_\theta`.

    An episode ends when it reaches a terminal state; one still running after ``max_steps`` steps is cut
    off and marked not ``terminated`` (on a continuing problem every episode is: choose ``max_steps`` so
    that :math:`\gamma^{\mathtt{max\_steps}}` is negligible). ``backend="torch"`` runs the same loop on torch
    tensors, with a torch generator seeded from ``seed`` (so its episodes differ from numpy's).

    Examples
    --------
    >>> import pgbook as pg
    >>> mdp, policy = pg.examples.short_corridor(), pg.examples.short_corridor_policy()
    >>> batch = sample_episodes(mdp, policy, pg.examples.corridor_params(0.5), 20_000, max_steps=1000, seed=0)
    >>> bool(batch.terminated.all()), round(float(batch.returns().mean()), 1)   # J(0.5) = -12
    (True, -12.0)
    """
    pi = policy_table(mdp, policy, theta)
    n_episodes = as_count("n_episodes", n_episodes)
    return simulate(mdp, pi, n_episodes, max_steps=max_steps, seed=seed, backend=backend)


def simulate(
    mdp: FiniteMDP,
    pi: np.ndarray,
    n_episodes: int,
    *,
    max_steps: int,
    seed: int | np.random.Generator | None,
    backend: Literal["numpy", "torch"] = "numpy",
) -> Batch:
    r"""The loop of :func:`sample_episodes`, for a checked policy table ``pi`` of shape (n_states, n_actions),
    or one table per episode, shape (n_episodes, n_states, n_actions) (independent training runs sampled
    side by side, each under its own policy)."""
    check_type("mdp", mdp, FiniteMDP, "a pgbook.FiniteMDP")
    if pi.shape not in ((mdp.n_states, mdp.n_actions), (n_episodes, mdp.n_states, mdp.n_actions)):
        raise ValueError(
            f"pi must have shape {(mdp.n_states, mdp.n_actions)} or {(n_episodes, mdp.n_states, mdp.n_actions)}; "
            f"got {pi.shape}"
        )
    per_episode_policy = pi.ndim == 3
    max_steps = as_count("max_steps", max_steps)
    rng = as_seed("seed", seed)
    if backend == "numpy":
        xp, uniform = np, rng.random
    elif backend == "torch":
        generator = torch.Generator().manual_seed(int(rng.integers(2**63 - 1)))
        xp = torch

        def uniform(size: int) -> torch.Tensor:
            return torch.rand(size, generator=generator, dtype=torch.float64)
    else:
        raise ValueError(f'backend must be "numpy" or "torch"; got {backend!r}')

    def to_backend(array: np.ndarray):  # a writable copy: torch refuses read-only numpy memory
        return xp.asarray(np.array(array))

    action_cdf, transition_cdf = to_backend(_cdf(pi)), to_backend(_cdf(mdp.P))
    terminal = to_backend(mdp.terminal)
    # Only the steps taken are recorded (each step: which episodes ran, in which state, taking which action),
    # so memory follows the episodes' actual lengths: max_steps is a cut-off, never an allocation.
    record = []
    state = _draw(to_backend(np.broadcast_to(_cdf(mdp.initial), (n_episodes, mdp.n_states))), uniform)
    running = xp.where(~terminal[state])[0]  # only these episodes are stepped
    for _ in range(max_steps):
        if len(running) == 0:
            break  # every episode has ended
        current = state[running]
        action = _draw(action_cdf[running, current] if per_episode_policy else action_cdf[current], uniform)
        record.append((running, current, action))
        successor = _draw(transition_cdf[current, action], uniform)
        state[running] = successor
        running = running[~terminal[successor]]
    final_states = np.asarray(state)
    return _padded_batch(mdp, record, n_episodes, final_states)


def _padded_batch(mdp: FiniteMDP, record: list, n_episodes: int, final_states: np.ndarray) -> Batch:
    """The recorded steps (numpy or torch arrays, one triple per time step) as a :class:`Batch` of padded
    arrays, shape (n_episodes, longest episode)."""
    horizon = len(record)
    lengths = np.array([len(running) for running, _, _ in record], dtype=np.int64)
    episodes, states, actions = (
        np.concatenate([np.asarray(step[k]) for step in record]) if record else np.zeros(0, np.int64) for k in range(3)
    )
    steps = np.repeat(np.arange(horizon), lengths)
    padded = {name: np.zeros((n_episodes, horizon), dtype=np.int64) for name in ("states", "actions")}
    padded["states"][episodes, steps] = states
    padded["actions"][episodes, steps] = actions
    rewards, alive = np.zeros((n_episodes, horizon)), np.zeros((n_episodes, horizon), dtype=bool)
    rewards[episodes, steps] = mdp.R[states, actions]
    alive[episodes, steps] = True
    return Batch(
        states=padded["states"],
        actions=padded["actions"],
        rewards=rewards,
        alive=alive,
        final_states=final_states,
        terminated=mdp.terminal[final_states],
        gamma=mdp.gamma,
    )


def _cdf(probabilities: np.ndarray) -> np.ndarray:
    """Cumulative sums along the last axis, divided by their total so that the last entry is exactly 1.

    Trailing zero-probability outcomes then share that exact 1 and are never drawn by ``u < 1``.
    """
    cumulative = np.cumsum(probabilities, axis=-1)
    return cumulative / cumulative[..., -1:]


def _draw(cdf, uniform):
    """One index per row of ``cdf`` (numpy or torch, shape (n, k)): the first whose cumulative probability
    exceeds u, for u drawn by ``uniform(n)`` from U[0, 1)."""
    return (uniform(cdf.shape[0])[:, None] >= cdf).sum(axis=1)
