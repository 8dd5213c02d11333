r"""The update most code implements, the one without :math:`\gamma^t`, as a vector field (Nota & Thomas 2020).

Dropping the :math:`\gamma^t` weights from the reward-to-go estimator gives, in expectation, the field

.. math::
    u(\theta) &= \sum_s d_1(s) \sum_a Q_\gamma(s, a)\, \nabla_\theta \pi_\theta(a|s), \\
    d_1(s) &= \sum_t \Pr(s_t = s),

the *undiscounted* visitation weighting the *discounted* action values, where the policy gradient theorem
has the discounted visitation :math:`d_\gamma`. The field is a gradient only if its Jacobian
:math:`\partial u_i / \partial \theta_j` is symmetric (the mixed partial derivatives of a potential commute);
:func:`update_jacobian` computes it exactly by autodiff of the field itself. An antisymmetric part, or a
nonzero circulation :math:`\oint u \cdot d\theta` around a closed loop (:func:`circulation`), shows that
:math:`u` is the gradient of no function at all (Nota & Thomas 2020, "Is the policy gradient a gradient?").

The field needs a finite :math:`d_1`: an episodic problem whose policy reaches a terminal state.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pgbook.arguments import as_count, as_real_array
from pgbook.evaluation import action_values
from pgbook.gradients import _torch_evaluation
from pgbook.lazy_torch import torch
from pgbook.mdp import FiniteMDP
from pgbook.policies import Policy, policy_table

_EPISODES_MUST_END = (
    "the update field weights by the undiscounted visitation d_1, finite only if the policy reaches a terminal "
    "state from every state, but from states {states} it never terminates (d_1 counts every visit, whatever "
    "mdp.gamma); use a policy that gives positive probability to leaving them"
)


def _undiscounted(mdp: FiniteMDP) -> FiniteMDP:
    if not mdp.terminal.any():
        raise ValueError(
            "the update field needs the undiscounted visitation, finite only on an episodic problem: "
            "mdp must have terminal states"
        )
    return FiniteMDP(mdp.P, mdp.R, gamma=1.0, initial=mdp.initial, terminal=mdp.terminal)


def undiscounted_visitation(mdp: FiniteMDP, policy: Policy, theta: Any) -> np.ndarray:
    r""":math:`d_1(s) = \sum_t \Pr(s_t = s)`, the expected number of visits to each state in an episode."""
    pi, undiscounted = policy_table(mdp, policy, theta), _undiscounted(mdp)
    undiscounted.check_termination(pi, needed=_EPISODES_MUST_END)
    return undiscounted.discounted_visitation(pi)


def update_field(mdp: FiniteMDP, policy: Policy, theta: Any) -> np.ndarray:
    r"""The expected update without :math:`\gamma^t`,
    :math:`u(\theta) = \sum_s d_1(s) \sum_a Q_\gamma(s,a) \nabla_\theta \pi_\theta(a|s)`, shape ``param_shape``.

    Examples
    --------
    At γ = 1 it is the policy gradient:

    >>> import pgbook as pg
    >>> mdp, policy = pg.examples.short_corridor(), pg.examples.short_corridor_policy()
    >>> theta = pg.examples.corridor_params(0.3)
    >>> bool(np.allclose(update_field(mdp, policy, theta), pg.exact_gradient(mdp, policy, theta)))
    True
    """
    weights = undiscounted_visitation(mdp, policy, theta)[:, None] * action_values(mdp, policy, theta)
    return policy.weighted_probability_gradient(theta, weights)


def _torch_field(mdp: FiniteMDP, undiscounted: FiniteMDP, policy: Policy, theta: torch.Tensor) -> torch.Tensor:
    """u(θ) in torch, differentiable in θ: Q_γ and d_1 from the MDP's arrays, ∇π by autograd."""
    _, q_values, _ = _torch_evaluation(mdp, policy, theta)
    _, _, visits = _torch_evaluation(undiscounted, policy, theta)
    weights = visits[:, None] * q_values

    def weighted_probabilities(phi: torch.Tensor) -> torch.Tensor:
        return (weights * policy.torch_log_probabilities(phi).exp()).sum()

    return torch.func.grad(weighted_probabilities)(theta)


def update_jacobian(mdp: FiniteMDP, policy: Policy, theta: Any) -> np.ndarray:
    r"""The Jacobian :math:`\partial u_i / \partial \theta_j` of :func:`update_field` by autodiff, shape
    (n_params, n_params) over the flattened parameters. Symmetric if u were a gradient.

    Examples
    --------
    >>> import pgbook as pg
    >>> mdp = pg.examples.random_mdp(4, 2, gamma=0.8, seed=0, n_terminal=1)
    >>> policy = pg.TabularSoftmax(4, 2)
    >>> jacobian = update_jacobian(mdp, policy, policy.init_params(seed=0))
    >>> bool(np.abs(jacobian - jacobian.T).max() > 1e-3)   # not symmetric: u is no gradient
    True
    """
    policy_table(mdp, policy, theta)  # validates the arguments
    theta = policy.check_params(theta)
    undiscounted = _undiscounted(mdp)
    undiscounted.check_termination(policy.probabilities(theta), needed=_EPISODES_MUST_END)
    size = theta.size

    def flat_field(flat: torch.Tensor) -> torch.Tensor:
        return _torch_field(mdp, undiscounted, policy, flat.reshape(theta.shape)).reshape(size)

    return torch.func.jacrev(flat_field)(torch.tensor(theta.ravel(), dtype=torch.float64)).numpy()


def circulation(mdp: FiniteMDP, policy: Policy, corners: Any, *, nodes: int = 12) -> float:
    r"""The line integral :math:`\oint u \cdot d\theta` of :func:`update_field` around the closed polygon
    through ``corners`` (shape (k, \*param_shape)), by Gauss–Legendre quadrature with ``nodes`` points per
    side. Zero around every loop for a gradient field; nonzero proves that u is no gradient.
    """
    nodes = as_count("nodes", nodes)
    corners = as_real_array("corners", corners)
    if corners.ndim < 1 or corners.shape[0] < 3:
        raise ValueError(f"corners must hold at least 3 parameter vectors; got shape {corners.shape}")
    points, weights = np.polynomial.legendre.leggauss(nodes)
    total = 0.0
    for start, end in zip(corners, np.roll(corners, -1, axis=0), strict=True):
        side = end - start
        for x, w in zip(points, weights, strict=True):
            theta = start + (x + 1) / 2 * side
            total += w / 2 * float(np.sum(update_field(mdp, policy, theta) * side))
    return total
