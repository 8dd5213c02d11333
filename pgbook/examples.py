"""Named finite problems with known answers, for the book's examples and the tests' oracles."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from pgbook.arguments import as_count, as_real, as_real_array, as_seed, as_unit_interval
from pgbook.mdp import FiniteMDP
from pgbook.policies import LinearSoftmax

LEFT, RIGHT = 0, 1


def bandit(means: Any) -> FiniteMDP:
    r"""A multi-armed bandit: one state, one action per arm, expected reward ``means[k]`` for arm k, :math:`R(k)`.

    Written as a one-state MDP with γ = 0, so that :math:`J = \sum_k \pi_k R(k)` and, for a softmax policy,
    :math:`\partial J / \partial \theta_k = \pi_k (R(k) - J)` (Sutton & Barto 2018, §2.8).

    Examples
    --------
    >>> bandit([1.0, 2.0])
    FiniteMDP(n_states=1, n_actions=2, gamma=0.0, terminal=[])
    """
    means = as_real_array("means", means, ndim=1)
    if means.size == 0:
        raise ValueError("means must name at least one arm")
    return FiniteMDP(np.ones((1, means.size, 1)), means[None, :], gamma=0.0, initial=[1.0])


def short_corridor(gamma: float = 1.0) -> FiniteMDP:
    """The short corridor with switched actions (Sutton & Barto 2018, Example 13.1).

    States 0, 1, 2 and the terminal state 3; actions ``LEFT = 0`` and ``RIGHT = 1``; reward -1 per step,
    start in state 0; γ = 1 in the book (``gamma`` < 1 gives its discounted version). Left in state 0
    stays there; in state 1 the actions are switched (right goes left, to state 0, and left goes right, to
    state 2); right in state 2 ends the episode.

    With the same probability p of choosing right in every state (:func:`short_corridor_policy`),
    :math:`J(p) = 2(p - 2) / (p (1 - p))`, largest at :math:`p^* \\approx 0.586`, where
    :math:`J^* \\approx -11.66` (:func:`corridor_optimum`).

    Examples
    --------
    >>> import pgbook as pg
    >>> theta = corridor_params(0.5)
    >>> pg.exact_objective(short_corridor(), short_corridor_policy(), theta)
    -12.0
    """
    next_state = {0: {LEFT: 0, RIGHT: 1}, 1: {LEFT: 2, RIGHT: 0}, 2: {LEFT: 1, RIGHT: 3}}
    P = np.zeros((4, 2, 4))
    for state, moves in next_state.items():
        for action, successor in moves.items():
            P[state, action, successor] = 1.0
    P[3, :, 3] = 1.0
    R = np.full((4, 2), -1.0)
    R[3] = 0.0
    return FiniteMDP(P, R, gamma=gamma, initial=[1, 0, 0, 0], terminal=[3])


def short_corridor_policy() -> LinearSoftmax:
    r"""The book's two-feature policy for :func:`short_corridor`: :math:`\phi(s,\text{right}) = (1, 0)`,
    :math:`\phi(s,\text{left}) = (0, 1)` in every state, so that the agent cannot tell the states apart
    and :math:`\Pr(\text{right}) = \sigma(\theta_0 - \theta_1)` everywhere (Sutton & Barto 2018, Example 13.1).
    """
    features = np.zeros((4, 2, 2))
    features[:, RIGHT] = [1.0, 0.0]
    features[:, LEFT] = [0.0, 1.0]
    return LinearSoftmax(features)


def corridor_recognising_policy() -> LinearSoftmax:
    r"""A two-parameter policy for :func:`short_corridor` that recognises the switched state:
    :math:`\theta_0` is the logit of right in states 0 and 2, :math:`\theta_1` the logit of right in state 1.

    Unlike :func:`short_corridor_policy` it can approach the best deterministic behaviour (right, left,
    right: J = -3) as :math:`\theta_0 \to \infty`, :math:`\theta_1 \to -\infty`.
    """
    features = np.zeros((4, 2, 2))
    features[[0, 2], RIGHT] = [1.0, 0.0]
    features[1, RIGHT] = [0.0, 1.0]
    return LinearSoftmax(features)


def corridor_params(p_right: float) -> np.ndarray:
    """Parameters of :func:`short_corridor_policy` that choose right with probability ``p_right`` in (0, 1).

    >>> short_corridor_policy().probabilities(corridor_params(0.25))[0]
    array([0.75, 0.25])
    """
    if isinstance(p_right, bool) or not isinstance(p_right, numbers.Real):
        raise TypeError(f"p_right must be a real number in (0, 1); got {type(p_right).__name__}")
    if not 0.0 < p_right < 1.0:
        raise ValueError(f"p_right must lie strictly between 0 and 1; got {p_right}")
    return np.array([np.log(p_right) - np.log1p(-p_right), 0.0])


def corridor_optimum() -> tuple[float, float]:
    r"""The best policy of :func:`short_corridor_policy` on :func:`short_corridor` (γ = 1), in closed form:
    :math:`p^* = 2 - \sqrt 2`, the probability of right that maximises :math:`J(p) = 2(p - 2) / (p (1 - p))`,
    and :math:`J^* = J(p^*) = -6 - 4\sqrt 2` (Sutton & Barto 2018, Example 13.1).

    >>> p_star, j_star = corridor_optimum()
    >>> round(p_star, 6), round(j_star, 6)
    (0.585786, -11.656854)
    """
    return float(2 - np.sqrt(2)), float(-6 - 4 * np.sqrt(2))


def random_mdp(
    n_states: int,
    n_actions: int,
    *,
    gamma: float = 0.9,
    seed: int | np.random.Generator | None = None,
    n_terminal: int = 0,
    concentration: float = 1.0,
) -> FiniteMDP:
    r"""A random finite MDP, reproducible from ``seed``.

    Transition rows and the start distribution are drawn from a symmetric Dirichlet(``concentration``),
    rewards from a standard normal. The last ``n_terminal`` states are terminal (absorbing, zero reward)
    and are never start states; every other state can move to every state, so any policy terminates and
    ``gamma=1`` is allowed when ``n_terminal > 0``.

    Examples
    --------
    >>> random_mdp(4, 2, gamma=1.0, seed=0, n_terminal=1)
    FiniteMDP(n_states=4, n_actions=2, gamma=1.0, terminal=[3])
    """
    n_states = as_count("n_states", n_states)
    n_actions = as_count("n_actions", n_actions)
    n_terminal = as_count("n_terminal", n_terminal, minimum=0)
    if n_terminal >= n_states:
        raise ValueError(f"n_terminal must be smaller than n_states={n_states}; got {n_terminal}")
    concentration = as_real("concentration", concentration, within="(0, inf)")
    rng = as_seed("seed", seed)
    n_live = n_states - n_terminal
    P = rng.dirichlet(np.full(n_states, concentration), size=(n_states, n_actions))
    R = rng.standard_normal((n_states, n_actions))
    initial = np.zeros(n_states)
    initial[:n_live] = rng.dirichlet(np.full(n_live, concentration))
    terminal = np.arange(n_live, n_states)
    P[terminal] = 0.0
    P[terminal, :, terminal] = 1.0
    R[terminal] = 0.0
    return FiniteMDP(P, R, gamma=as_unit_interval("gamma", gamma), initial=initial, terminal=terminal)


GRID_MOVES = {"up": (-1, 0), "right": (0, 1), "down": (1, 0), "left": (0, -1)}


def gridworld(
    rows: int = 4,
    cols: int = 4,
    *,
    slip: float = 0.1,
    gamma: float = 1.0,
) -> FiniteMDP:
    """A small gridworld: start in the top-left cell, the bottom-right cell is terminal.

    State ``r * cols + c`` is the cell in row r, column c; actions are up, right, down, left
    (:data:`GRID_MOVES` order). A move into the edge leaves the agent in place. With probability ``slip``
    the action is replaced by one drawn uniformly from the four. Every step costs -1, so -J is the expected
    number of steps to the goal (the episodic setting of Sutton & Barto 2018, Example 4.1).

    Examples
    --------
    On a 1x2 grid, a uniformly random walker takes the single right move with probability 1/4 a step,
    so it needs 4 steps on average:

    >>> gridworld(1, 2, slip=0.0).objective(np.full((2, 4), 0.25))
    -4.0
    """
    rows = as_count("rows", rows)
    cols = as_count("cols", cols)
    if rows * cols < 2:
        raise ValueError(f"the grid needs at least two cells; got {rows}x{cols}")
    slip = as_unit_interval("slip", slip)
    n_states, moves = rows * cols, list(GRID_MOVES.values())
    goal = n_states - 1
    deterministic = np.zeros((n_states, len(moves), n_states))
    for state in range(n_states):
        row, col = divmod(state, cols)
        for action, (d_row, d_col) in enumerate(moves):
            new_row = min(max(row + d_row, 0), rows - 1)
            new_col = min(max(col + d_col, 0), cols - 1)
            deterministic[state, action, new_row * cols + new_col] = 1.0
    P = (1 - slip) * deterministic + slip * deterministic.mean(axis=1, keepdims=True)
    P[goal] = 0.0
    P[goal, :, goal] = 1.0
    R = np.full((n_states, len(moves)), -1.0)
    R[goal] = 0.0
    initial = np.zeros(n_states)
    initial[0] = 1.0
    return FiniteMDP(P, R, gamma=gamma, initial=initial, terminal=[goal])


def chain(n_states: int, *, gamma: float = 0.9, n_actions: int = 2, initial: Any = None) -> FiniteMDP:
    r"""A chain where one action moves right and every other action moves back to the start: a hard
    exploration problem for softmax policy gradient (Agarwal, Kakade, Lee & Mahajan 2021, §4.3).

    States 0, ..., n_states - 1; the last is terminal. Action ``RIGHT = 1`` moves from s to s + 1, and every
    other action returns to state 0. The only reward, 1, comes with the step into the terminal state, so the
    best policy (always right from state 0) has :math:`J^* = \gamma^{\lvert\mathcal S\rvert-2}`
    (:math:`\lvert\mathcal S\rvert` = ``n_states``), while the uniform policy reaches the end with probability
    of order :math:`\lvert\mathcal A\rvert^{-(\lvert\mathcal S\rvert-1)}`.

    Parameters
    ----------
    n_states : int
        At least 2.
    gamma : float
        Discount in [0, 1].
    n_actions : int
        At least 2.
    initial : array_like, shape (n_states,), optional
        Start distribution; default: always state 0. (It must give the terminal state probability 0.)

    Examples
    --------
    >>> mdp = chain(4)
    >>> round(mdp.objective(np.tile([0.0, 1.0], (4, 1))), 10)
    0.81
    """
    n_states = as_count("n_states", n_states, minimum=2)
    n_actions = as_count("n_actions", n_actions, minimum=2)
    P = np.zeros((n_states, n_actions, n_states))
    P[:, :, 0] = 1.0
    P[:, RIGHT, 0] = 0.0
    P[np.arange(n_states - 1), RIGHT, np.arange(1, n_states)] = 1.0
    last = n_states - 1
    P[last] = 0.0
    P[last, :, last] = 1.0
    R = np.zeros((n_states, n_actions))
    R[last - 1, RIGHT] = 1.0
    if initial is None:
        initial = np.eye(n_states)[0]
    initial = as_real_array("initial", initial, ndim=1)
    if initial.shape == (n_states,) and initial[last] != 0:
        raise ValueError(f"initial must give the terminal state {last} probability 0; got {initial[last]}")
    return FiniteMDP(P, R, gamma=as_unit_interval("gamma", gamma), initial=initial, terminal=[last])
