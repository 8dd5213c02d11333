r"""Episodes as padded arrays: the :class:`Batch` that samplers produce and estimators consume."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from pgbook.arguments import as_unit_interval, check_shape
from pgbook.discounting import discounted_suffix_sums


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
        """The batch of the selected episodes (a slice, indices or a boolean mask).

        Episodes of a valid batch make a valid batch, so the checks of construction are not run again (they
        cost more than the estimators on small batches, and cross-fitting and the explorer take many subsets).
        """
        chosen = {field.name: getattr(self, field.name)[episodes] for field in fields(self) if field.name != "gamma"}
        if chosen["states"].shape[0] == 0:
            raise ValueError(f"episodes must select at least one of the {self.n_episodes} episodes; got {episodes!r}")
        batch = object.__new__(Batch)
        for name, value in (*chosen.items(), ("gamma", self.gamma)):
            object.__setattr__(batch, name, value)  # what the frozen dataclass's __init__ does, minus the checks
        return batch

    def with_discount(self, gamma: float) -> Batch:
        """The same episodes with the discount ``gamma``: their returns weighted anew (episodes do not depend on γ,
        so one batch serves every discount).

        >>> batch = Batch(np.array([[0, 1]]), np.array([[1, 1]]), np.array([[1.0, 1.0]]), np.array([[True, True]]),
        ...               np.array([2]), np.array([True]), 1.0)
        >>> batch.with_discount(0.5).returns()
        array([1.5])
        """
        gamma = as_unit_interval("gamma", gamma)
        batch = self.subset(slice(None))
        object.__setattr__(batch, "gamma", gamma)  # a valid batch with a valid γ: nothing else to check
        return batch

    @property
    def lengths(self) -> np.ndarray:
        """The number of steps of every episode."""
        return self.alive.sum(axis=1)

    def pair_counts(self, weights: np.ndarray, n_states: int, n_actions: int) -> np.ndarray:
        r"""Weighted visit counts :math:`W_i(s,a) = \sum_t w_{i,t} [s_{i,t}=s, a_{i,t}=a]` of every episode, shape
        (n_episodes, n_states, n_actions), for ``weights`` of shape (n_episodes, horizon); padding steps count 0.

        Contracted with a score table they give every score-function estimator's per-episode sum, in memory
        that grows with the number of (s, a) pairs, not with the episodes' length.

        >>> batch = Batch(np.array([[0, 1]]), np.array([[1, 1]]), np.array([[0.0, 1.0]]), np.array([[True, True]]),
        ...               np.array([2]), np.array([True]), 1.0)
        >>> batch.pair_counts(np.array([[0.5, 2.0]]), 3, 2)[0]
        array([[0. , 0.5],
               [0. , 2. ],
               [0. , 0. ]])
        """
        if self.has_observations:
            raise ValueError("pair_counts needs state indices; this batch holds observation vectors")
        n_bins = self.n_episodes * n_states * n_actions
        episode = np.broadcast_to(np.arange(self.n_episodes)[:, None], self.actions.shape)
        index = (episode * n_states + self.states) * n_actions + self.actions
        index[~self.alive] = n_bins  # padding into one more bin, dropped: no copy of the steps, less memory to touch
        counts = np.bincount(index.ravel(), weights=np.ravel(weights), minlength=n_bins + 1)
        return counts[:-1].reshape(self.n_episodes, n_states, n_actions)

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
