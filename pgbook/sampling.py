r"""Sampling episodes from a finite MDP, vectorized over episodes, into a :class:`Batch` of arrays.

All episodes advance together, one time step per iteration, so the Python loop runs ``max_steps`` times
whatever the number of episodes. Actions and next states are drawn by inverse-CDF sampling from one
uniform number each. The same loop runs on numpy arrays or torch tensors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from pgbook.discounting import discounted_suffix_sums
from pgbook.evaluation import policy_table
from pgbook.mdp import FiniteMDP
from pgbook.policies import Policy
from pgbook.validation import as_count, as_seed, as_unit_interval, check_shape


@dataclass(frozen=True)
class Batch:
    r"""Episodes as padded arrays of shape (n_episodes, horizon).

    Step t of episode i is real when ``alive[i, t]``; padding after the episode ends holds state and
    action 0 and reward 0. The reward ``rewards[i, t]`` follows action ``actions[i, t]`` taken in state
    ``states[i, t]``.

    Attributes
    ----------
    states : numpy.ndarray, shape (n_episodes, horizon) of int, or (n_episodes, horizon, obs_dim) of float
        State indices of a finite MDP, or observation vectors from an environment.
    actions : numpy.ndarray of int, shape (n_episodes, horizon)
    rewards : numpy.ndarray of float, shape (n_episodes, horizon)
    alive : numpy.ndarray of bool, shape (n_episodes, horizon)
    final_states : numpy.ndarray, shape (n_episodes,) or (n_episodes, obs_dim)
        The state after each episode's last step: terminal, or where a truncated episode was cut off.
    terminated : numpy.ndarray of bool, shape (n_episodes,)
        Whether the episode reached a terminal state (otherwise ``max_steps`` cut it off).
    gamma : float
        The discount that defines the returns.
    """

    states: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    alive: np.ndarray
    final_states: np.ndarray
    terminated: np.ndarray
    gamma: float

    def __post_init__(self) -> None:
        shape = np.shape(self.states)
        if len(shape) not in (2, 3) or shape[0] == 0:
            raise ValueError(
                "batch has no episodes: states must have shape (n_episodes >= 1, horizon) or "
                f"(n_episodes >= 1, horizon, obs_dim); got {shape}"
            )
        for name in ("actions", "rewards", "alive"):
            check_shape(name, np.asarray(getattr(self, name)), shape[:2])
        check_shape("final_states", np.asarray(self.final_states), (shape[0], *shape[2:]))
        check_shape("terminated", np.asarray(self.terminated), shape[:1])
        as_unit_interval("gamma", self.gamma)
        alive, rewards = np.asarray(self.alive), np.asarray(self.rewards)
        for name in ("alive", "terminated"):
            if np.asarray(getattr(self, name)).dtype != np.bool_:
                raise TypeError(f"{name} must be a boolean array; got dtype {np.asarray(getattr(self, name)).dtype}")
        gap = alive[:, 1:] & ~alive[:, :-1]
        if gap.any():
            i, t = (int(k) for k in np.argwhere(gap)[0])
            raise ValueError(
                f"alive must be True on each episode's steps and False after its end; episode {i} is alive again "
                f"at step {t + 1} after ending"
            )
        if not (np.issubdtype(rewards.dtype, np.floating) or np.issubdtype(rewards.dtype, np.integer)):
            raise TypeError(f"rewards must be an array of real numbers; got dtype {rewards.dtype}")
        _check_where("rewards", ~np.isfinite(rewards), "finite numbers", rewards)
        _check_where("rewards", ~alive & (rewards != 0), "0 in the padding after an episode's end", rewards)
        indices = (
            {"actions": self.actions}
            if self.has_observations
            else {"actions": self.actions, "states": self.states, "final_states": self.final_states}
        )
        for name, value in indices.items():
            value = np.asarray(value)
            if not np.issubdtype(value.dtype, np.integer):
                raise TypeError(f"{name} must be an array of integer indices; got dtype {value.dtype}")
            _check_where(name, value < 0, "non-negative indices", value)
        if self.has_observations:
            _check_where(
                "states", ~np.isfinite(np.asarray(self.states, dtype=float)), "finite observations", self.states
            )

    @property
    def n_episodes(self) -> int:
        return self.actions.shape[0]

    @property
    def has_observations(self) -> bool:
        """True when ``states`` holds observation vectors (from an environment), not state indices."""
        return np.ndim(self.states) == 3

    def subset(self, episodes: slice | np.ndarray) -> Batch:
        """The batch of the selected episodes (a slice, indices or a boolean mask)."""
        return Batch(
            states=self.states[episodes],
            actions=self.actions[episodes],
            rewards=self.rewards[episodes],
            alive=self.alive[episodes],
            final_states=self.final_states[episodes],
            terminated=self.terminated[episodes],
            gamma=self.gamma,
        )

    @property
    def lengths(self) -> np.ndarray:
        """The number of steps of every episode."""
        return self.alive.sum(axis=1)

    def discounts(self) -> np.ndarray:
        r""":math:`\gamma^t` for every step, shape (n_episodes, horizon)."""
        return np.broadcast_to(self.gamma ** np.arange(self.actions.shape[1]), self.actions.shape)

    def returns_to_go(self) -> np.ndarray:
        r"""The discounted return from each step, :math:`G_t = \sum_{k \ge t} \gamma^{k-t} r_k`, shape (n, horizon)."""
        return discounted_suffix_sums(self.rewards, self.gamma)

    def returns(self) -> np.ndarray:
        r"""The discounted return of every episode, :math:`G_0 = \sum_t \gamma^t r_t`, shape (n_episodes,)."""
        return self.rewards @ (self.gamma ** np.arange(self.rewards.shape[1]))


def _check_where(name: str, bad: np.ndarray, expected: str, value: np.ndarray) -> None:
    """Raise naming ``name`` and the first offending entry if ``bad`` holds anywhere."""
    if bad.any():
        index = tuple(int(k) for k in np.argwhere(bad)[0])
        raise ValueError(f"{name} must hold {expected}; got {value[index]} at index {index}")


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
    that :math:`\gamma^{\text{max\_steps}}` is negligible). ``backend="torch"`` runs the same loop on torch
    tensors, with a torch generator seeded from ``seed`` (so its episodes differ from numpy's).

    Examples
    --------
    >>> import pgbook as pg
    >>> mdp, policy = pg.envs.short_corridor(), pg.envs.short_corridor_policy()
    >>> batch = sample_episodes(mdp, policy, pg.envs.corridor_params(0.5), 20_000, max_steps=1000, seed=0)
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
