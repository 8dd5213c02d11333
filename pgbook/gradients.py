r"""Three independent ways to compute :math:`\nabla_\theta J(\theta)` exactly (or nearly) on a finite MDP.

- :func:`exact_gradient`: the policy gradient theorem, evaluated with linear algebra;
- :func:`autodiff_gradient`: torch autograd through the exact objective, which knows nothing of the theorem;
- :func:`finite_difference`: central differences of any scalar function.

They share no code beyond the policy's log-probabilities, so their agreement is evidence for each.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import torch

from pgbook.mdp import FiniteMDP
from pgbook.policies import Policy, policy_table
from pgbook.validation import as_real_array


def exact_gradient(mdp: FiniteMDP, policy: Policy, theta: Any) -> np.ndarray:
    r"""The policy gradient theorem, computed exactly:

    .. math:: \nabla_\theta J(\theta) = \sum_s d(s) \sum_a \nabla_\theta \pi_\theta(a|s)\, Q_\pi(s,a),
              \qquad d(s) = \sum_{t \ge 0} \gamma^t \Pr(s_t = s).

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
    Softmax bandit: :math:`\partial J / \partial \theta_k = \pi_k (\mu_k - J)`.

    >>> import pgbook as pg
    >>> mdp = pg.envs.bandit([0.0, 1.0])
    >>> pg.exact_gradient(mdp, pg.TabularSoftmax(1, 2), np.zeros((1, 2)))
    array([[-0.25,  0.25]])

    The factor :math:`\sum_s d(s)` on that episodic :math:`\gamma = 0.95` problem:

    >>> episodic, tabular = pg.envs.random_mdp(6, 3, gamma=0.95, seed=13, n_terminal=1), pg.TabularSoftmax(6, 3)
    >>> round(float(pg.discounted_visitation(episodic, tabular, tabular.init_params(seed=14)).sum()), 2)
    4.58
    """
    pi = policy_table(mdp, policy, theta)
    values, visitation = mdp.values_and_visitation(pi)
    q_values = mdp.action_values(pi, values)
    return policy.weighted_probability_gradient(theta, visitation[:, None] * q_values)


def autodiff_gradient(mdp: FiniteMDP, policy: Policy, theta: Any) -> np.ndarray:
    r"""The gradient of :math:`J(\theta) = \mu_0^\top (I - \gamma P_\pi)^{-1} r_\pi` by torch autograd.

    The objective is rebuilt here in torch from the MDP's arrays and the policy's
    :meth:`~pgbook.policies.Policy.torch_log_probabilities`, independently of :mod:`pgbook.mdp`, so that this
    oracle shares nothing with :func:`exact_gradient` but the policy.

    Examples
    --------
    >>> import pgbook as pg
    >>> mdp = pg.envs.bandit([0.0, 1.0])
    >>> pg.autodiff_gradient(mdp, pg.TabularSoftmax(1, 2), np.zeros((1, 2)))
    array([[-0.25,  0.25]])
    """
    theta_tensor = _checked_tensor(mdp, policy, theta).requires_grad_(True)
    values, _, _ = _torch_evaluation(mdp, policy, theta_tensor)
    objective = torch.tensor(mdp.initial) @ values
    (gradient,) = torch.autograd.grad(objective, theta_tensor)
    return gradient.numpy()


def autodiff_jacobians(mdp: FiniteMDP, policy: Policy, theta: Any) -> dict[str, np.ndarray]:
    r"""Jacobians of the values and the visitation by torch autograd: the pieces of the theorem's proof.

    Returns ``{"V": ∂V/∂θ, "Q": ∂Q/∂θ, "d": ∂d/∂θ}`` with shapes (n_states, \*param_shape),
    (n_states, n_actions, \*param_shape) and (n_states, \*param_shape), where d is the unnormalised
    discounted visitation. The theorem says that ∇J needs neither ∂Q/∂θ nor ∂d/∂θ, although neither is zero.

    Examples
    --------
    >>> import pgbook as pg
    >>> mdp, policy = pg.envs.short_corridor(), pg.envs.short_corridor_policy()
    >>> jacobians = autodiff_jacobians(mdp, policy, pg.envs.corridor_params(0.3))
    >>> jacobians["V"].shape, jacobians["Q"].shape
    ((4, 2), (4, 2, 2))
    """
    theta_tensor = _checked_tensor(mdp, policy, theta)
    jacobians = torch.autograd.functional.jacobian(lambda t: _torch_evaluation(mdp, policy, t), theta_tensor)
    return {name: jacobian.numpy() for name, jacobian in zip(("V", "Q", "d"), jacobians, strict=True)}


def _checked_tensor(mdp: FiniteMDP, policy: Policy, theta: Any) -> torch.Tensor:
    pi = policy_table(mdp, policy, theta)  # validates the arguments
    if mdp.gamma == 1.0:
        mdp.check_termination(pi)
    return torch.tensor(policy.check_params(theta), dtype=torch.float64)


def _torch_evaluation(
    mdp: FiniteMDP, policy: Policy, theta: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """V (every state), Q and the unnormalised visitation d, in torch, from the MDP's arrays alone."""
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


def finite_difference(
    f: Callable[[np.ndarray], float],
    theta: Any,
    *,
    step: float | None = None,
    scheme: Literal["central", "forward"] = "central",
) -> np.ndarray:
    r"""The gradient of a scalar function by finite differences, one coordinate at a time.

    .. math:: \text{central: } \frac{f(\theta + h e_i) - f(\theta - h e_i)}{2h}, \qquad
              \text{forward: } \frac{f(\theta + h e_i) - f(\theta)}{h}.

    Central differences have truncation error :math:`O(h^2)` and round-off error :math:`O(\varepsilon/h)`,
    balanced near :math:`h = \varepsilon^{1/3} \approx 6 \times 10^{-6}` (forward: :math:`O(h)` and
    :math:`h = \sqrt\varepsilon`). The default step is that value times :math:`\max(1, |\theta_i|)`.
    Costs ``2 * theta.size`` evaluations (central) or ``theta.size + 1`` (forward).

    Parameters
    ----------
    f : callable
        Maps an array shaped like ``theta`` to a finite real number.
    theta : array_like
        The point at which to differentiate.
    step : float, optional
        The step h, the same for every coordinate. Default: see above.
    scheme : {"central", "forward"}

    Examples
    --------
    >>> finite_difference(lambda x: np.sum(x ** 3), np.array([1.0, 2.0])).round(6)
    array([ 3., 12.])
    """
    if not callable(f):
        raise TypeError(f"f must be a callable returning a number; got {type(f).__name__}")
    if scheme not in ("central", "forward"):
        raise ValueError(f'scheme must be "central" or "forward"; got {scheme!r}')
    theta = as_real_array("theta", theta)
    epsilon = np.finfo(np.float64).eps
    if step is None:
        base = epsilon ** (1 / 3) if scheme == "central" else np.sqrt(epsilon)
        steps = base * np.maximum(1.0, np.abs(theta))
    else:
        if isinstance(step, bool) or not np.isscalar(step) or not np.isfinite(step) or step <= 0:
            raise ValueError(f"step must be a positive finite number; got {step!r}")
        steps = np.full(theta.shape, float(step))

    def evaluate(point: np.ndarray) -> float:
        value = f(point)
        if isinstance(value, (bool, np.bool_)) or np.ndim(value) != 0:
            raise TypeError(f"f must return a real number; got {type(value).__name__} {np.shape(value)}")
        value = float(value)
        if not np.isfinite(value):
            raise ValueError(f"f returned {value} at theta={point!r}; it must be finite near theta")
        return value

    gradient = np.empty_like(theta)
    center = evaluate(theta.copy()) if scheme == "forward" else None
    for index in np.ndindex(theta.shape):
        forward_point = theta.copy()
        forward_point[index] += steps[index]
        h = forward_point[index] - theta[index]  # the step actually representable in floating point
        if scheme == "central":
            backward_point = theta.copy()
            backward_point[index] -= h
            gradient[index] = (evaluate(forward_point) - evaluate(backward_point)) / (2 * h)
        else:
            gradient[index] = (evaluate(forward_point) - center) / h
    return gradient
