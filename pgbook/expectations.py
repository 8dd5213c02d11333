r"""Exact expectations of biased estimators: what they estimate, computed with linear algebra.

An estimator's bias is the gap between its expectation and :math:`\nabla J`. For generalized advantage
estimation with a fixed critic :math:`\hat V` (Schulman et al. 2016) the expectation has a closed form.
With :math:`\delta_t = r_{t+1} + \gamma \hat V(s_{t+1}) - \hat V(s_t)` and
:math:`\hat A_t = \sum_l (\gamma\lambda)^l \delta_{t+l}`,

.. math::
    E[\delta_t \mid s_t, a_t] &= R + \gamma P \hat V - \hat V(s_t), \\
    E[\delta_{t+l} \mid s_t] &= \big(P_\pi^{\,l}\, e\big)(s_t), \\
    e &= (I - \gamma P_\pi)(V - \hat V), \\
    e_\lambda &= (I - \gamma\lambda P_\pi)^{-1} e, \\
    E[\hat A_t \mid s_t, a_t] &= Q(s,a) - \hat V(s) \\
        &\quad - \gamma P (V - \hat V)(s,a) \\
        &\quad + \gamma\lambda\, P e_\lambda\, (s,a),

and the estimator :math:`\sum_t \gamma^t \hat A_t \nabla\log\pi(a_t|s_t)` has expectation
:math:`\sum_s d(s) \sum_a \nabla\pi(a|s)\, E[\hat A \mid s, a]` (the :math:`-\hat V(s)` term drops out, as
any baseline does). With :math:`\hat V = V` the correction terms vanish for every λ, and at λ = 1 they
cancel for every critic: :math:`E[\hat A] = Q - \hat V`. In between, a wrong critic biases the gradient.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pgbook.arguments import as_real_array, as_unit_interval, check_shape
from pgbook.mdp import FiniteMDP
from pgbook.policies import Params, Policy, policy_table


def expected_gae_advantages(mdp: FiniteMDP, policy: Policy, theta: Params, values: Any, lam: float) -> np.ndarray:
    r""":math:`E[\hat A^{\mathrm{GAE}(\lambda)}_t \mid s_t = s, a_t = a]` for the critic ``values``, shape
    (n_states, n_actions), for episodes that end only at terminal states (the critic counts as 0 there).
    """
    lam = as_unit_interval("lam", lam)
    pi = policy_table(mdp, policy, theta)
    critic = as_real_array("values", values, ndim=1)
    check_shape("values", critic, (mdp.n_states,))
    critic = np.where(mdp.terminal, 0.0, critic)  # the estimator bootstraps with 0 after a terminal step
    true_values = mdp.state_values(pi)
    error = true_values - critic
    P_pi, _ = mdp.markov_chain(pi)
    gamma = mdp.gamma
    live = np.flatnonzero(~mdp.terminal)
    expected_delta = np.zeros(mdp.n_states)  # e(s) = E[δ_t | s_t = s]
    expected_delta[live] = (error - gamma * P_pi @ error)[live]
    later = np.zeros(mdp.n_states)  # Σ_{l ≥ 0} (γλ P_π)^l e
    later[live] = np.linalg.solve(np.eye(live.size) - gamma * lam * P_pi[np.ix_(live, live)], expected_delta[live])
    q_values = mdp.action_values(pi, true_values)
    return q_values - critic[:, None] - gamma * mdp.P @ error + gamma * lam * mdp.P @ later


def expected_gae_gradient(mdp: FiniteMDP, policy: Policy, theta: Params, values: Any, lam: float) -> np.ndarray:
    r"""The expectation of :func:`pgbook.gae_estimator` with the fixed critic ``values`` (shape (n_states,)):
    :math:`\sum_s d(s) \sum_a \nabla\pi(a|s)\, E[\hat A^{\mathrm{GAE}(\lambda)} \mid s, a]`. Its distance to
    :func:`pgbook.exact_gradient` is the estimator's bias.

    Examples
    --------
    The true critic gives no bias, whatever λ:

    >>> import pgbook as pg
    >>> mdp = pg.examples.random_mdp(5, 2, gamma=0.9, seed=0)
    >>> policy = pg.TabularSoftmax(5, 2)
    >>> theta = policy.init_params(seed=0)
    >>> exact = pg.exact_gradient(mdp, policy, theta)
    >>> true_v = pg.state_values(mdp, policy, theta)
    >>> bool(np.allclose(expected_gae_gradient(mdp, policy, theta, true_v, 0.3), exact))
    True
    >>> bool(np.allclose(expected_gae_gradient(mdp, policy, theta, np.zeros(5), 0.3), exact))
    False
    """
    pi = policy_table(mdp, policy, theta)
    visitation = mdp.discounted_visitation(pi)
    advantages = expected_gae_advantages(mdp, policy, theta, values, lam)
    return policy.weighted_probability_gradient(theta, visitation[:, None] * advantages)
