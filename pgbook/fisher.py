r"""The Fisher information matrix of a policy on a finite MDP, and the natural policy gradient.

The policy's Fisher matrix weights each state's Fisher matrix of :math:`\pi_\theta(\cdot|s)` by the discounted
visitation (Kakade 2001):

.. math::
    F(\theta) &= \sum_s d(s) \sum_a \pi_\theta(a|s) \\
        &\qquad \times \psi(s,a)\, \psi(s,a)^\top, \\
    \psi(s,a) &= \nabla_\theta \log \pi_\theta(a|s),

and the natural gradient is :math:`F(\theta)^+ \nabla J(\theta)`, the steepest-ascent direction when the size
of a step is measured by the expected KL divergence between the policies rather than by :math:`\|\Delta\theta\|`
(Amari 1998). Both are computed exactly, from the linear algebra of :mod:`pgbook.mdp`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pgbook.arguments import as_real
from pgbook.evaluation import discounted_visitation
from pgbook.gradients import exact_gradient
from pgbook.mdp import FiniteMDP
from pgbook.policies import Policy, policy_table

DEFAULT_RCOND = 1e-12


def fisher_matrix(mdp: FiniteMDP, policy: Policy, theta: Any, *, normalized: bool = False) -> np.ndarray:
    r"""The exact Fisher information matrix of the policy under its discounted state visitation,

    .. math::
        F(\theta) = \sum_s d(s) \sum_a &\pi_\theta(a|s) \\
            &\times \nabla_\theta \log \pi_\theta(a|s) \\
            &\times \nabla_\theta \log \pi_\theta(a|s)^\top,

    with the unnormalised visitation :math:`d(s) = \sum_t \gamma^t \Pr(s_t = s)`, or its normalisation
    :math:`\bar d = d / \sum_s d(s)` when ``normalized=True`` (Kakade 2001's choice). It is also the Hessian
    at :math:`\theta' = \theta` of :math:`\sum_s d(s)\, \mathrm{KL}(\pi_\theta(\cdot|s) \,\|\, \pi_{\theta'}(\cdot|s))`,
    which is how the tests check it.

    Returns
    -------
    numpy.ndarray, shape (theta.size, theta.size)
        Symmetric and positive semi-definite; rows and columns follow ``theta.ravel()``.

    References
    ----------
    Kakade, S. (2001). A natural policy gradient. NeurIPS 14.

    Examples
    --------
    A softmax bandit: :math:`F = \mathrm{diag}(\pi) - \pi\pi^\top`.

    >>> import pgbook as pg
    >>> mdp = pg.examples.bandit([0.0, 1.0])
    >>> pg.fisher_matrix(mdp, pg.TabularSoftmax(1, 2), np.zeros((1, 2)))
    array([[ 0.25, -0.25],
           [-0.25,  0.25]])
    """
    pi = policy_table(mdp, policy, theta)
    visitation = discounted_visitation(mdp, policy, theta, normalized=normalized)
    scores = policy.score(theta).reshape(mdp.n_states * mdp.n_actions, -1)
    weighted = np.sqrt(visitation[:, None] * pi).reshape(-1, 1) * scores
    return weighted.T @ weighted


def natural_gradient(
    mdp: FiniteMDP, policy: Policy, theta: Any, *, normalized: bool = False, rcond: float = DEFAULT_RCOND
) -> np.ndarray:
    r"""The natural policy gradient :math:`\tilde\nabla J(\theta) = F(\theta)^+ \nabla J(\theta)`.

    :math:`F^+` is the pseudo-inverse (directions with eigenvalue below ``rcond`` times the largest are
    dropped): a softmax policy's F is singular, since adding the same constant to every logit of a state
    changes nothing. By the compatible-features theorem (Sutton et al. 2000) the result is the
    minimum-norm weight vector of the d·π-weighted least-squares fit of the advantages by the score
    features (:func:`pgbook.compatible_fit`). With ``normalized=True`` F uses the normalised visitation, and
    the result is :math:`\sum_s d(s)` times larger (:math:`1/(1-\gamma)` on a continuing problem).

    Returns an array shaped like ``theta``.

    References
    ----------
    Kakade, S. (2001). A natural policy gradient. NeurIPS 14. Amari, S. (1998). Natural gradient works
    efficiently in learning. Neural Computation 10(2).

    Examples
    --------
    For tabular softmax the natural gradient is the advantage, up to a constant per state (Kakade 2001):

    >>> import pgbook as pg
    >>> mdp = pg.examples.bandit([0.0, 1.0])
    >>> pg.natural_gradient(mdp, pg.TabularSoftmax(1, 2), np.zeros((1, 2)))
    array([[-0.5,  0.5]])
    >>> pg.advantages(mdp, pg.TabularSoftmax(1, 2), np.zeros((1, 2)))
    array([[-0.5,  0.5]])
    """
    rcond = as_real("rcond", rcond, within="[0, 1)")
    fisher = fisher_matrix(mdp, policy, theta, normalized=normalized)
    gradient = exact_gradient(mdp, policy, theta)
    solution = np.linalg.lstsq(fisher, gradient.ravel(), rcond=float(rcond))[0]
    return solution.reshape(gradient.shape)
