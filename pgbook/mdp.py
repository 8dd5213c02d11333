r"""Finite Markov decision processes: validated arrays and exact evaluation of a fixed policy.

Everything here takes the policy as a table ``pi[s, a]`` of action probabilities; ``policy_table(mdp, policy,
theta)`` (:mod:`pgbook.policies`) builds that table from a parameterised policy and θ.

Episodes end in *terminal* states: absorbing, with zero reward. The episode is over once one is reached, so
terminal states have value 0 and no visitation. With γ = 1 (the episodic setting) the values are finite only
if the policy reaches a terminal state from every state; that is checked, and a policy that does not is
rejected with a `ValueError` rather than a singular matrix.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.linalg import lu_factor, lu_solve

from pgbook.arguments import (
    as_distributions,
    as_flag,
    as_real_array,
    as_unit_interval,
    check_distributions,
    check_shape,
)

_GAMMA_ONE = (
    "with gamma=1 the policy must reach a terminal state from every state, but from states {states} it never "
    "terminates (their values would be infinite); use gamma < 1 or a policy that gives positive probability to "
    "leaving them"
)


class FiniteMDP:
    r"""A finite MDP :math:`(\mathcal S, \mathcal A, P, R, \gamma, \mu_0)` with optional terminal states.

    Parameters
    ----------
    P : array_like, shape (n_states, n_actions, n_states)
        Transition probabilities, ``P[s, a, s'] = Pr(s_{t+1} = s' | s_t = s, a_t = a)``.
    R : array_like, shape (n_states, n_actions)
        Expected reward ``R[s, a] = E[r_{t+1} | s_t = s, a_t = a]``.
    gamma : float
        Discount factor in [0, 1]. ``gamma = 1`` needs terminal states.
    initial : array_like, shape (n_states,)
        Start distribution :math:`\mu_0`.
    terminal : sequence of int or boolean mask, optional
        Terminal states. Each must be absorbing under every action and give zero reward.

    Attributes
    ----------
    P, R, initial : numpy.ndarray
        The validated arrays (float64, read-only).
    gamma : float
    terminal : numpy.ndarray of bool, shape (n_states,)

    Examples
    --------
    Two states; action 1 in state 0 moves to the terminal state 1 with reward 1:

    >>> P = [[[1, 0], [0, 1]], [[0, 1], [0, 1]]]
    >>> R = [[0, 1], [0, 0]]
    >>> mdp = FiniteMDP(P, R, gamma=1.0, initial=[1, 0], terminal=[1])
    >>> mdp.state_values([[0.5, 0.5], [0.5, 0.5]])
    array([1., 0.])
    """

    def __init__(
        self,
        P: Any,
        R: Any,
        *,
        gamma: float,
        initial: Any,
        terminal: Sequence[int] | np.ndarray = (),
    ) -> None:
        given = {"P": P, "initial": initial}  # their dtypes set the rounding allowed (float32 rows: ~1e-7)
        P = as_real_array("P", P, ndim=3)
        n_states, n_actions = P.shape[0], P.shape[1]
        if n_states == 0 or n_actions == 0:
            raise ValueError(f"P must have at least one state and one action; got shape {P.shape}")
        check_shape("P", P, (n_states, n_actions, n_states))
        check_distributions("P", P, precision=np.asarray(given["P"]).dtype)
        R = as_real_array("R", R, ndim=2)
        check_shape("R", R, (n_states, n_actions))
        initial = as_real_array("initial", initial, ndim=1)
        check_shape("initial", initial, (n_states,))
        check_distributions("initial", initial, precision=np.asarray(given["initial"]).dtype)
        self.gamma = as_unit_interval("gamma", gamma)
        self.terminal = _terminal_mask(terminal, n_states)
        for s in np.flatnonzero(self.terminal):
            if not np.all(P[s, :, s] == 1.0):
                raise ValueError(f"terminal state {s} must be absorbing: P[{s}, a, {s}] must be 1 for every a")
            if np.any(R[s] != 0.0):
                raise ValueError(f"terminal state {s} must give zero reward: R[{s}] is {R[s]}")
        if self.terminal.all():
            raise ValueError("terminal must leave at least one non-terminal state")
        if self.gamma == 1.0 and not self.terminal.any():
            raise ValueError(
                "gamma=1 needs terminal states (an episodic problem); for a continuing problem use gamma < 1"
            )
        for array in (P, R, initial):
            array.setflags(write=False)
        self.P, self.R, self.initial = P, R, initial

    @property
    def n_states(self) -> int:
        return self.P.shape[0]

    @property
    def n_actions(self) -> int:
        return self.P.shape[1]

    def __repr__(self) -> str:
        return (
            f"FiniteMDP(n_states={self.n_states}, n_actions={self.n_actions}, gamma={self.gamma}, "
            f"terminal={np.flatnonzero(self.terminal).tolist()})"
        )

    # Exact evaluation of a policy table pi[s, a] ------------------------------------------------------

    def check_policy_table(self, pi: Any) -> np.ndarray:
        """Return ``pi`` validated as an (n_states, n_actions) table of action distributions."""
        return as_distributions("pi", pi, (self.n_states, self.n_actions))

    def markov_chain(self, pi: Any) -> tuple[np.ndarray, np.ndarray]:
        r"""The state chain under ``pi``: :math:`P_\pi[s,s'] = \sum_a \pi(a|s) P(s'|s,a)`,
        :math:`r_\pi[s] = \sum_a \pi(a|s) R(s,a)`.
        """
        return self._markov_chain(self.check_policy_table(pi))

    def _markov_chain(self, pi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.einsum("sa,sat->st", pi, self.P), np.einsum("sa,sa->s", pi, self.R)

    def values_and_visitation(self, pi: Any) -> tuple[np.ndarray, np.ndarray]:
        r""":math:`V_\pi` and the unnormalised visitation :math:`d` from one LU factorisation of
        :math:`I - \gamma P_\pi` on the non-terminal states: :math:`V = (I - \gamma P_\pi)^{-1} r_\pi`,
        :math:`d^\top = \mu_0^\top (I - \gamma P_\pi)^{-1}`. Both are 0 on terminal states. The policy gradient
        theorem needs both, so the factorisation is shared rather than done twice.
        """
        return self._values_and_visitation(self.check_policy_table(pi))

    def _values_and_visitation(self, pi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`values_and_visitation` for a checked table (a loop that has checked its policy once)."""
        P_pi, r_pi = self._markov_chain(pi)
        if self.gamma == 1.0:
            self._require_termination(P_pi)
        live = np.flatnonzero(~self.terminal)
        factors = lu_factor(np.eye(live.size) - self.gamma * P_pi[np.ix_(live, live)])
        values, visitation = np.zeros(self.n_states), np.zeros(self.n_states)
        values[live] = lu_solve(factors, r_pi[live])
        visitation[live] = lu_solve(factors, self.initial[live], trans=1)
        return values, visitation

    def check_termination(self, pi: Any, *, needed: str | None = None) -> None:
        """Raise unless ``pi`` reaches a terminal state from every state (needed when gamma = 1).

        Follows the transitions of positive probability backwards from the terminal states; a state not
        reached that way loops forever under ``pi``, and its undiscounted value is infinite. ``needed``, if given,
        is the error's reason and advice, with ``{states}`` for the states that never terminate.
        """
        self._require_termination(self.markov_chain(pi)[0], needed)

    def _require_termination(self, P_pi: np.ndarray, needed: str | None = None) -> None:
        reaches_end = self.terminal.copy()
        while True:
            grown = reaches_end | (P_pi[:, reaches_end] > 0).any(axis=1)
            if (grown == reaches_end).all():
                break
            reaches_end = grown
        if not reaches_end.all():
            raise ValueError((needed or _GAMMA_ONE).format(states=np.flatnonzero(~reaches_end).tolist()))

    def state_values(self, pi: Any) -> np.ndarray:
        r"""State values :math:`V_\pi = (I - \gamma P_\pi)^{-1} r_\pi` on non-terminal states, 0 on terminal ones."""
        return self.values_and_visitation(pi)[0]

    def action_values(self, pi: Any, state_values: np.ndarray | None = None) -> np.ndarray:
        r"""Action values :math:`Q_\pi(s,a) = R(s,a)` :math:`{} + \gamma \sum_{s'} P(s'|s,a) V_\pi(s')`."""
        values = self.state_values(pi) if state_values is None else state_values
        return self.R + self.gamma * self.P @ values

    def discounted_visitation(self, pi: Any, *, normalized: bool = False) -> np.ndarray:
        r"""Discounted state visitation :math:`d(s) = \sum_{t \ge 0} \gamma^t \Pr(s_t = s,\ t < T)`.

        Solves :math:`(I - \gamma P_\pi)^\top d = \mu_0` on the non-terminal states (terminal states are
        not visited: the episode is over). Its total is :math:`E[(1-\gamma^T)/(1-\gamma)]` for episodes of
        length :math:`T`: :math:`1/(1-\gamma)` for a continuing problem, the expected episode length only
        when γ = 1; ``normalized=True`` divides by that
        total and returns a probability distribution.
        """
        visitation = self.values_and_visitation(pi)[1]
        if as_flag("normalized", normalized):
            total = visitation.sum()
            if total == 0.0:
                raise ValueError("initial puts all its mass on terminal states: there is nothing to visit")
            visitation /= total
        return visitation

    def objective(self, pi: Any) -> float:
        r"""Expected return from the start distribution, :math:`J = \mu_0^\top V_\pi`."""
        return float(self.initial @ self.state_values(pi))

    def objectives(self, pis: Any) -> np.ndarray:
        r""":meth:`objective` for each of a stack of policy tables, shape (n, n_states, n_actions): the n
        systems :math:`(I - \gamma P_\pi) V = r_\pi` are solved as one batch, not one call each."""
        pis = as_distributions("pis", pis, (None, self.n_states, self.n_actions))
        P_pi, r_pi = np.einsum("nsa,sat->nst", pis, self.P), np.einsum("nsa,sa->ns", pis, self.R)
        if self.gamma == 1.0:
            for chain in P_pi:
                self._require_termination(chain)
        live = np.flatnonzero(~self.terminal)
        systems = np.eye(live.size) - self.gamma * P_pi[:, live[:, None], live]
        return np.linalg.solve(systems, r_pi[:, live, None])[..., 0] @ self.initial[live]


def _terminal_mask(terminal: Sequence[int] | np.ndarray, n_states: int) -> np.ndarray:
    array = np.asarray(terminal)
    if array.dtype == bool:
        check_shape("terminal", array, (n_states,))
        return array.copy()
    if array.size == 0:
        return np.zeros(n_states, dtype=bool)
    if not np.issubdtype(array.dtype, np.integer) or array.ndim != 1:
        raise TypeError(f"terminal must be a list of state indices or a boolean mask; got {terminal!r}")
    if array.min() < 0 or array.max() >= n_states:
        raise ValueError(f"terminal indices must lie in [0, {n_states}); got {array.tolist()}")
    mask = np.zeros(n_states, dtype=bool)
    mask[array] = True
    return mask
