r"""The average-reward setting: a continuing problem judged by its long-run reward per step.

.. math::
    \bar r(\theta) &= \sum_s d_\pi(s) \sum_a \pi(a|s) R(s,a), \\
    d_\pi^\top P_\pi &= d_\pi^\top,

with :math:`d_\pi` the *stationary* distribution. Its policy gradient theorem (Sutton et al. 2000;
Sutton & Barto 2018, §13.6) weights by :math:`d_\pi` and uses *differential* values:

.. math::
    \nabla \bar r &= \sum_s d_\pi(s) \sum_a \nabla\pi(a|s)\, \tilde q(s,a), \\
    \tilde q(s,a) &= R(s,a) - \bar r \\
        &\quad + \sum_{s'} P(s'|s,a) \tilde v(s'),

where :math:`\tilde v = (I - P_\pi)^{-1}(r_\pi - \bar r)` on the complement of the constants
(normalised here by :math:`d_\pi^\top \tilde v = 0`). The MDP's discount is not used.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.linalg import LinAlgWarning, get_lapack_funcs, lu_factor, lu_solve

from pgbook.mdp import FiniteMDP
from pgbook.policies import Params, Policy, check_fit, policy_table


def stationary_distribution(mdp: FiniteMDP, policy: Policy, theta: Params) -> np.ndarray:
    r"""The stationary distribution :math:`d_\pi` of the chain :math:`P_\pi`, required to be unique.

    Examples
    --------
    >>> import pgbook as pg
    >>> mdp, policy = pg.examples.random_mdp(4, 2, seed=0), pg.TabularSoftmax(4, 2)
    >>> d = stationary_distribution(mdp, policy, np.zeros((4, 2)))
    >>> round(float(d.sum()), 12)
    1.0
    """
    return _solve(mdp, _continuing_policy_table(mdp, policy, theta))[0]


def average_reward(mdp: FiniteMDP, policy: Policy, theta: Params) -> float:
    r""":math:`\bar r = d_\pi^\top r_\pi`, the long-run reward per step."""
    return _solve(mdp, _continuing_policy_table(mdp, policy, theta))[1]


def differential_action_values(mdp: FiniteMDP, policy: Policy, theta: Params) -> np.ndarray:
    r"""The differential action values :math:`\tilde q(s,a)`, shape (n_states, n_actions)."""
    _, rate, values = _solve(mdp, _continuing_policy_table(mdp, policy, theta))
    return mdp.R - rate + mdp.P @ values


def average_reward_gradient(mdp: FiniteMDP, policy: Policy, theta: Params) -> np.ndarray:
    r"""The average-reward policy gradient theorem, :math:`\sum_s d_\pi(s) \sum_a \nabla\pi(a|s) \tilde q(s,a)`."""
    d, rate, values = _solve(mdp, _continuing_policy_table(mdp, policy, theta))
    return policy.weighted_probability_gradient(theta, d[:, None] * (mdp.R - rate + mdp.P @ values))


def _solve(mdp: FiniteMDP, pi: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    r""":math:`d_\pi`, :math:`\bar r` and :math:`\tilde v` from one LU factorisation of
    :math:`B = I - P_\pi + \mathbf 1 u^\top`, u uniform.

    For a unichain :math:`P_\pi`, B is invertible whenever :math:`u^\top \mathbf 1 \ne 0`, and
    :math:`d^\top B = u^\top` gives :math:`d`. Then :math:`B w = r_\pi - \bar r \mathbf 1` forces
    :math:`u^\top w = d^\top r_\pi - \bar r = 0`, so :math:`(I - P_\pi) w = r_\pi - \bar r \mathbf 1`, and
    :math:`\tilde v = w - (d^\top w) \mathbf 1` is the solution normalised by :math:`d^\top \tilde v = 0`.
    With several closed classes B is singular, which its condition number shows.
    """
    P_pi, r_pi = mdp.markov_chain(pi)
    n = mdp.n_states
    u = np.full(n, 1.0 / n)
    matrix = np.eye(n) - P_pi + u[None, :]  # every row gains u^T: the rank-one term 1 u^T
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LinAlgWarning)  # singular: reported below, in words
        factors = lu_factor(matrix, check_finite=False)
    (gecon,) = get_lapack_funcs(("gecon",), (factors[0],))
    rcond, _ = gecon(factors[0], np.linalg.norm(matrix, 1), norm="1")
    if not rcond > n * np.finfo(float).eps:
        raise ValueError(
            "the chain under this policy has more than one stationary distribution (several closed classes): "
            "the average reward depends on the start state, and this setting needs a unichain problem"
        )
    d = np.clip(lu_solve(factors, u, trans=1), 0.0, None)  # rounding can leave -1e-17 where d is 0
    d /= d.sum()
    rate = float(d @ r_pi)
    w = lu_solve(factors, r_pi - rate)
    return d, rate, w - d @ w


def _continuing_policy_table(mdp: FiniteMDP, policy: Policy, theta: Params) -> np.ndarray:
    check_fit(mdp, policy)
    if mdp.terminal.any():
        raise ValueError("the average-reward setting is for continuing problems: mdp has terminal states")
    return policy_table(mdp, policy, theta)
