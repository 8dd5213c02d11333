r"""The average-reward setting: a continuing problem judged by its long-run reward per step.

.. math:: \bar r(\theta) = \sum_s d_\pi(s) \sum_a \pi(a|s) R(s,a), \qquad d_\pi^\top P_\pi = d_\pi^\top,

with :math:`d_\pi` the *stationary* distribution. Its policy gradient theorem (Sutton et al. 2000;
Sutton & Barto 2018, §13.6) weights by :math:`d_\pi` and uses *differential* values:

.. math:: \nabla \bar r = \sum_s d_\pi(s) \sum_a \nabla\pi(a|s)\, \tilde q(s,a), \qquad
          \tilde q(s,a) = R(s,a) - \bar r + \sum_{s'} P(s'|s,a) \tilde v(s'),

where :math:`\tilde v = (I - P_\pi)^{-1}(r_\pi - \bar r)` on the complement of the constants
(normalised here by :math:`d_\pi^\top \tilde v = 0`). The MDP's discount is not used.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pgbook.evaluation import policy_table
from pgbook.mdp import FiniteMDP
from pgbook.policies import Policy


def stationary_distribution(mdp: FiniteMDP, policy: Policy, theta: Any) -> np.ndarray:
    r"""The stationary distribution :math:`d_\pi` of the chain :math:`P_\pi`, required to be unique.

    Examples
    --------
    >>> import pgbook as pg
    >>> mdp, policy = pg.envs.random_mdp(4, 2, seed=0), pg.TabularSoftmax(4, 2)
    >>> d = stationary_distribution(mdp, policy, np.zeros((4, 2)))
    >>> round(float(d.sum()), 12)
    1.0
    """
    pi = _continuing_policy_table(mdp, policy, theta)
    P_pi, _ = mdp.markov_chain(pi)
    n = mdp.n_states
    system = np.vstack([P_pi.T - np.eye(n), np.ones((1, n))])
    if np.linalg.matrix_rank(system) < n:
        raise ValueError(
            "the chain under this policy has more than one stationary distribution (several closed classes): "
            "the average reward depends on the start state, and this setting needs a unichain problem"
        )
    solution, *_ = np.linalg.lstsq(system, np.concatenate([np.zeros(n), [1.0]]), rcond=None)
    return np.clip(solution, 0.0, None) / np.clip(solution, 0.0, None).sum()


def average_reward(mdp: FiniteMDP, policy: Policy, theta: Any) -> float:
    r""":math:`\bar r = d_\pi^\top r_\pi`, the long-run reward per step."""
    pi = _continuing_policy_table(mdp, policy, theta)
    _, r_pi = mdp.markov_chain(pi)
    return float(stationary_distribution(mdp, policy, theta) @ r_pi)


def differential_action_values(mdp: FiniteMDP, policy: Policy, theta: Any) -> np.ndarray:
    r"""The differential action values :math:`\tilde q(s,a)`, shape (n_states, n_actions)."""
    pi = _continuing_policy_table(mdp, policy, theta)
    P_pi, r_pi = mdp.markov_chain(pi)
    d = stationary_distribution(mdp, policy, theta)
    rate = d @ r_pi
    n = mdp.n_states
    # (I - P_pi + 1 d^T) v = r_pi - rate has the unique solution with d^T v = 0 for a unichain P_pi
    values = np.linalg.solve(np.eye(n) - P_pi + np.outer(np.ones(n), d), r_pi - rate)
    return mdp.R - rate + mdp.P @ values


def average_reward_gradient(mdp: FiniteMDP, policy: Policy, theta: Any) -> np.ndarray:
    r"""The average-reward policy gradient theorem, :math:`\sum_s d_\pi(s) \sum_a \nabla\pi(a|s) \tilde q(s,a)`."""
    d = stationary_distribution(mdp, policy, theta)
    q = differential_action_values(mdp, policy, theta)
    return policy.weighted_probability_gradient(theta, d[:, None] * q)


def _continuing_policy_table(mdp: FiniteMDP, policy: Policy, theta: Any) -> np.ndarray:
    if mdp.terminal.any():
        raise ValueError("the average-reward setting is for continuing problems: mdp has terminal states")
    return policy_table(mdp, policy, theta)
