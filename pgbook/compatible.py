r"""Compatible function approximation (Sutton, McAllester, Singh & Mansour 2000, Theorem 2).

A critic :math:`f_w(s,a) = \phi(s,a)^\top w` fitted to :math:`Q_\pi` by least squares under the weights
:math:`d(s)\pi(a|s)` can replace :math:`Q_\pi` in the policy gradient theorem without bias when its features
are *compatible*, :math:`\phi = \psi = \nabla_\theta \log \pi_\theta`: the fit's normal equations read
:math:`F w = \nabla J`. With other features the same substitution gives a biased gradient.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from pgbook.arguments import as_real, as_real_array, check_nonempty, check_shape
from pgbook.evaluation import discounted_visitation
from pgbook.fisher import DEFAULT_RCOND, natural_gradient
from pgbook.mdp import FiniteMDP
from pgbook.policies import Params, Policy, policy_table


def compatible_fit(
    mdp: FiniteMDP,
    policy: Policy,
    theta: Params,
    *,
    features: Any = None,
    target: Literal["q", "advantage"] = "q",
    rcond: float = DEFAULT_RCOND,
) -> np.ndarray:
    r"""The weights of the :math:`d\pi`-weighted least-squares fit of a linear critic to :math:`Q_\pi`
    (or :math:`A_\pi`):

    .. math::
        w &= \arg\min_w \sum_s d(s) \sum_a \pi_\theta(a|s) \\
            &\qquad \times \big(\phi(s,a)^\top w - Q_\pi(s,a)\big)^2,

    with :math:`d` the unnormalised discounted visitation. Of all minimisers (the compatible features of a
    softmax policy leave a constant per state free) the one of least norm is returned.

    Parameters
    ----------
    mdp, policy, theta
        The problem, the policy and its parameters.
    features : array_like, shape (n_states, n_actions, k), optional
        The critic's features :math:`\phi(s,a)`. Default: the compatible features
        :math:`\psi(s,a) = \nabla_\theta \log\pi_\theta(a|s)`, and then :math:`F w = \nabla J` (Theorem 2).
    target : {"q", "advantage"}
        Fit :math:`Q_\pi` or :math:`A_\pi`. The compatible features have :math:`\sum_a \pi(a|s)\psi(s,a) = 0`,
        so for them both targets give the same w.
    rcond : float
        Relative cut-off for small singular values of the weighted design matrix (for the compatible features,
        as in :func:`pgbook.natural_gradient`, which computes the same w: in closed form for tabular softmax).

    Returns
    -------
    numpy.ndarray
        Shaped like ``theta`` for the compatible features, shape (k,) for given features.

    References
    ----------
    Sutton, R. S., McAllester, D., Singh, S., Mansour, Y. (2000). Policy gradient methods for reinforcement
    learning with function approximation. NeurIPS 12, Theorem 2.

    Examples
    --------
    >>> import pgbook as pg
    >>> mdp = pg.examples.random_mdp(3, 2, gamma=0.9, seed=0)
    >>> policy = pg.TabularSoftmax(3, 2)
    >>> theta = policy.init_params(seed=0)
    >>> w = pg.compatible_fit(mdp, policy, theta)
    >>> F = pg.fisher_matrix(mdp, policy, theta)
    >>> bool(np.allclose(F @ w.ravel(), pg.exact_gradient(mdp, policy, theta).ravel()))
    True
    """
    if target not in ("q", "advantage"):
        raise ValueError(f'target must be "q" or "advantage"; got {target!r}')
    if features is None:  # the compatible features fit both targets with the same w: the natural gradient
        return natural_gradient(mdp, policy, theta, rcond=rcond)
    rcond = as_real("rcond", rcond, within="[0, 1)")
    pi = policy_table(mdp, policy, theta)
    design = as_real_array("features", features, ndim=3)
    check_nonempty("features", design)
    check_shape("features", design, (*pi.shape, design.shape[2]))
    values, visitation = mdp.values_and_visitation(pi)
    fitted = mdp.action_values(pi, values)
    if target == "advantage":
        fitted = fitted - values[:, None]
    root_weights = np.sqrt(visitation[:, None] * pi)
    return np.linalg.lstsq(
        (root_weights[:, :, None] * design).reshape(-1, design.shape[2]), (root_weights * fitted).ravel(), rcond=rcond
    )[0]


def critic_gradient(mdp: FiniteMDP, policy: Policy, theta: Params, critic: Any) -> np.ndarray:
    r"""The policy gradient theorem with a critic in place of :math:`Q_\pi`:

    .. math:: g(\theta) = \sum_s d(s) \sum_a \nabla_\theta \pi_\theta(a|s)\, f(s,a).

    With :math:`f = Q_\pi` this is :math:`\nabla J`; with the compatible fit
    :math:`f = \psi^\top w` (:func:`compatible_fit`) it is :math:`F w`, which equals :math:`\nabla J` too
    (Sutton et al. 2000, Theorem 2); with any other critic it is in general biased.

    Parameters
    ----------
    critic : array_like, shape (n_states, n_actions)
        The critic's value :math:`f(s,a)` of every pair.

    Returns an array shaped like ``theta``.

    Examples
    --------
    >>> import pgbook as pg
    >>> mdp, policy = pg.examples.random_mdp(3, 2, seed=1), pg.TabularSoftmax(3, 2)
    >>> theta = policy.init_params(seed=1)
    >>> g = pg.critic_gradient(mdp, policy, theta, pg.action_values(mdp, policy, theta))
    >>> bool(np.allclose(g, pg.exact_gradient(mdp, policy, theta)))
    True
    """
    pi = policy_table(mdp, policy, theta)
    critic = as_real_array("critic", critic, ndim=2)
    check_shape("critic", critic, pi.shape)
    visitation = discounted_visitation(mdp, policy, theta)
    return policy.weighted_probability_gradient(theta, visitation[:, None] * critic)
