r"""Exact values of a parameterised policy on a finite MDP: J(θ), V, Q, A and the state visitation.

Each function takes ``(mdp, policy, theta)``, builds the table :math:`\pi_\theta(a|s)` and hands it to the
MDP's exact linear-algebra evaluation (:class:`pgbook.mdp.FiniteMDP`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pgbook.arguments import as_real_array
from pgbook.mdp import FiniteMDP
from pgbook.policies import Params, Policy, check_fit, policy_table


def exact_objective(mdp: FiniteMDP, policy: Policy, theta: Params) -> float:
    r"""The expected return :math:`J(\theta) = \mu_0^\top (I - \gamma P_\pi)^{-1} r_\pi`.

    Examples
    --------
    >>> import pgbook as pg
    >>> mdp = pg.examples.bandit([1.0, 2.0, 3.0])
    >>> pg.exact_objective(mdp, pg.TabularSoftmax(1, 3), np.zeros((1, 3)))
    2.0
    """
    pi = policy_table(mdp, policy, theta)
    return mdp.objective(pi)


def exact_objectives(mdp: FiniteMDP, policy: Policy, thetas: Any) -> np.ndarray:
    r""":func:`exact_objective` at each of a stack of parameters, ``thetas`` of shape (n, \*policy.param_shape),
    from one batched linear solve: for landscapes over a grid of θ and for learning curves.

    Examples
    --------
    >>> import pgbook as pg
    >>> mdp, policy = pg.examples.short_corridor(), pg.examples.short_corridor_policy()
    >>> pg.exact_objectives(mdp, policy, [pg.examples.corridor_params(p) for p in (0.5, 0.6)]).round(3)
    array([-12.   , -11.667])
    """
    check_fit(mdp, policy)
    thetas = as_real_array("thetas", thetas)
    if thetas.shape[1:] != policy.param_shape or thetas.shape[:1] == (0,):
        raise ValueError(
            f"thetas must be a stack of parameters, shape (n >= 1, *{policy.param_shape}); got shape {thetas.shape}"
        )
    return mdp.objectives(np.stack([policy_table(mdp, policy, theta) for theta in thetas]))


def state_values(mdp: FiniteMDP, policy: Policy, theta: Params) -> np.ndarray:
    r"""The state values :math:`V_\pi(s)`, shape (n_states,); zero on terminal states."""
    pi = policy_table(mdp, policy, theta)
    return mdp.state_values(pi)


def action_values(mdp: FiniteMDP, policy: Policy, theta: Params) -> np.ndarray:
    r"""The action values :math:`Q_\pi(s,a) = R(s,a)` :math:`{} + \gamma \sum_{s'} P(s'|s,a) V_\pi(s')`."""
    pi = policy_table(mdp, policy, theta)
    return mdp.action_values(pi)


def advantages(mdp: FiniteMDP, policy: Policy, theta: Params) -> np.ndarray:
    r"""The advantages :math:`A_\pi(s,a) = Q_\pi(s,a) - V_\pi(s)`, shape (n_states, n_actions)."""
    pi = policy_table(mdp, policy, theta)
    values = mdp.state_values(pi)
    return mdp.action_values(pi, values) - values[:, None]


def discounted_visitation(mdp: FiniteMDP, policy: Policy, theta: Params, *, normalized: bool = False) -> np.ndarray:
    r"""The discounted state visitation :math:`d(s) = \sum_t \gamma^t \Pr(s_t = s)`, or its normalisation.

    Unnormalised, it sums to :math:`\sum_s d(s) = E[(1-\gamma^T)/(1-\gamma)]` for episodes of length
    :math:`T`: :math:`1/(1-\gamma)` on a continuing problem, the expected episode length only when γ = 1
    (and less otherwise: 4.58 against 5.56 on :func:`check_estimator`'s episodic γ = 0.95 problem). That
    total is the factor the policy gradient theorem's "∝" hides.

    Examples
    --------
    >>> import pgbook as pg
    >>> mdp = pg.examples.random_mdp(5, 2, gamma=0.9, seed=0)
    >>> policy = pg.TabularSoftmax(5, 2)
    >>> d = pg.discounted_visitation(mdp, policy, policy.init_params(seed=0))
    >>> round(float(d.sum()), 10)
    10.0
    """
    pi = policy_table(mdp, policy, theta)
    return mdp.discounted_visitation(pi, normalized=normalized)
