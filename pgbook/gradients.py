r"""Three independent ways to compute :math:`\nabla_\theta J(\theta)` exactly (or nearly) on a finite MDP.

- :func:`exact_gradient`: the policy gradient theorem, evaluated with linear algebra;
- :func:`autodiff_gradient`: torch autograd through the exact objective, which knows nothing of the theorem;
- :func:`pgbook.finite_differences.finite_difference`: central differences of any scalar function (its own module:
  it knows nothing of MDPs).

They share no code beyond the policy's log-probabilities, so their agreement is evidence for each.
"""

from __future__ import annotations

import numpy as np

from pgbook.lazy_torch import torch
from pgbook.mdp import FiniteMDP
from pgbook.policies import Params, Policy, check_fit, policy_table


def exact_gradient(mdp: FiniteMDP, policy: Policy, theta: Params) -> np.ndarray:
    r"""The policy gradient theorem, computed exactly:

    .. math::
        \nabla_\theta J(\theta) &= \sum_s d(s) \sum_a \nabla_\theta \pi_\theta(a|s) \\
            &\qquad \times Q_\pi(s,a), \\
        d(s) &= \sum_{t \ge 0} \gamma^t \Pr(s_t = s).

    Here :math:`d` is the *unnormalised* discounted visitation; with the normalised one the right side
    gains the factor

    .. math:: \sum_s d(s) = \mathbb E\Big[\sum_{t<T} \gamma^t\Big] = \mathbb E\Big[\frac{1-\gamma^T}{1-\gamma}\Big],

    with :math:`T` the episode's length: :math:`1/(1-\gamma)` if episodes never end, :math:`\mathbb E[T]` if
    :math:`\gamma = 1`, and neither for a discounted problem that terminates (for example 4.58 on
    :func:`pgbook.check_estimator`'s episodic :math:`\gamma = 0.95` problem, where :math:`1/(1-\gamma) = 20` and
    :math:`\mathbb E[T] = 5.57`). Requires :math:`J` finite: the spectral radius of :math:`\gamma P_\pi` on the
    non-terminal states below 1 (checked when :math:`\gamma = 1`).

    Returns an array shaped like ``theta``.

    Examples
    --------
    Softmax bandit: :math:`\partial J / \partial \theta_k = \pi_k (R(k) - J)`.

    >>> import pgbook as pg
    >>> mdp = pg.examples.bandit([0.0, 1.0])
    >>> pg.exact_gradient(mdp, pg.TabularSoftmax(1, 2), np.zeros((1, 2)))
    array([[-0.25,  0.25]])

    The factor :math:`\sum_s d(s)` on that episodic :math:`\gamma = 0.95` problem:

    >>> episodic, tabular = pg.examples.random_mdp(6, 3, gamma=0.95, seed=13, n_terminal=1), pg.TabularSoftmax(6, 3)
    >>> round(float(pg.discounted_visitation(episodic, tabular, tabular.init_params(seed=14)).sum()), 2)
    4.58
    """
    pi = policy_table(mdp, policy, theta)  # checks mdp, policy and theta first
    pi = mdp.check_policy_table(pi)
    return _gradient_from_table(mdp, policy, policy.check_params(theta), pi)


def _gradient_from_table(mdp: FiniteMDP, policy: Policy, theta: np.ndarray, pi: np.ndarray) -> np.ndarray:
    """:func:`exact_gradient` for checked parameters and their checked policy table (a loop that checks once)."""
    values, visitation = mdp._values_and_visitation(pi)
    return policy._probability_vjp(theta, visitation[:, None] * mdp.action_values(pi, values))


def autodiff_gradient(mdp: FiniteMDP, policy: Policy, theta: Params) -> np.ndarray:
    r"""The gradient of :math:`J(\theta) = \mu_0^\top (I - \gamma P_\pi)^{-1} r_\pi` by torch autograd.

    The objective is rebuilt here in torch from the MDP's arrays and the policy's
    :meth:`~pgbook.policies.Policy.torch_log_probabilities`, independently of :mod:`pgbook.mdp`, so that this
    oracle shares nothing with :func:`exact_gradient` but the policy.

    Examples
    --------
    >>> import pgbook as pg
    >>> mdp = pg.examples.bandit([0.0, 1.0])
    >>> pg.autodiff_gradient(mdp, pg.TabularSoftmax(1, 2), np.zeros((1, 2)))
    array([[-0.25,  0.25]])
    """
    theta_tensor = _checked_tensor(mdp, policy, theta).requires_grad_(True)
    values, _, _ = torch_values_and_visitation(mdp, policy, theta_tensor)
    objective = torch.tensor(mdp.initial) @ values
    (gradient,) = torch.autograd.grad(objective, theta_tensor)
    return gradient.numpy()


def autodiff_jacobians(mdp: FiniteMDP, policy: Policy, theta: Params) -> dict[str, np.ndarray]:
    r"""Jacobians of the values and the visitation by torch autograd: the pieces of the theorem's proof.

    Returns ``{"V": ∂V/∂θ, "Q": ∂Q/∂θ, "d": ∂d/∂θ}`` with shapes (n_states, \*param_shape),
    (n_states, n_actions, \*param_shape) and (n_states, \*param_shape), where d is the unnormalised
    discounted visitation. The theorem says that ∇J needs neither ∂Q/∂θ nor ∂d/∂θ, although neither is zero.

    Examples
    --------
    >>> import pgbook as pg
    >>> mdp, policy = pg.examples.short_corridor(), pg.examples.short_corridor_policy()
    >>> jacobians = autodiff_jacobians(mdp, policy, pg.examples.corridor_params(0.3))
    >>> jacobians["V"].shape, jacobians["Q"].shape
    ((4, 2), (4, 2, 2))
    """
    theta_tensor = _checked_tensor(mdp, policy, theta)
    jacobians = torch.autograd.functional.jacobian(lambda t: torch_values_and_visitation(mdp, policy, t), theta_tensor)
    return {name: jacobian.numpy() for name, jacobian in zip(("V", "Q", "d"), jacobians, strict=True)}


def _checked_tensor(mdp: FiniteMDP, policy: Policy, theta: Params) -> torch.Tensor:
    pi = policy_table(mdp, policy, theta)  # validates the arguments
    if mdp.gamma == 1.0:
        mdp.check_termination(pi)
    return torch.tensor(policy.check_params(theta), dtype=torch.float64)


def torch_values_and_visitation(
    mdp: FiniteMDP, policy: Policy, theta: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""V (every state), Q and the unnormalised discounted visitation d as torch tensors, differentiable in
    ``theta`` (a float64 tensor of the policy's ``param_shape``), from the MDP's arrays alone:
    :math:`V = (I - \gamma P_\pi)^{-1} r_\pi` on the non-terminal states (0 on the terminal ones),
    :math:`Q = R + \gamma P V`, :math:`d^\top = \mu_0^\top (I - \gamma P_\pi)^{-1}`.
    :func:`autodiff_gradient` and :func:`autodiff_jacobians` differentiate them, and so does
    :func:`pgbook.update_field.update_jacobian`.

    Examples
    --------
    >>> import torch
    >>> import pgbook as pg
    >>> mdp = pg.examples.bandit([0.0, 1.0])
    >>> theta = torch.zeros(1, 2, dtype=torch.float64)
    >>> values, q_values, visitation = torch_values_and_visitation(mdp, pg.TabularSoftmax(1, 2), theta)
    >>> values
    tensor([0.5000], dtype=torch.float64)
    """
    check_fit(mdp, policy)
    pi = policy.torch_log_probabilities(theta).exp()
    live = torch.as_tensor(np.flatnonzero(~mdp.terminal))
    P, R = torch.tensor(mdp.P), torch.tensor(mdp.R)
    P_pi = torch.einsum("sa,sat->st", pi, P)[live][:, live]
    r_pi = (pi * R).sum(dim=1)[live]
    system = torch.eye(live.numel(), dtype=torch.float64) - mdp.gamma * P_pi
    values = torch.zeros(mdp.n_states, dtype=torch.float64).index_put((live,), torch.linalg.solve(system, r_pi))
    q_values = R + mdp.gamma * P @ values
    visitation = torch.zeros(mdp.n_states, dtype=torch.float64).index_put(
        (live,), torch.linalg.solve(system.T, torch.tensor(mdp.initial)[live])
    )
    return values, q_values, visitation
