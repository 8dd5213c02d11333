r"""The deterministic policy gradient theorem (Silver et al. 2014), on linear-quadratic control.

For a deterministic policy :math:`a = m_\theta(s)` the theorem reads

.. math::
    \nabla_\theta C(\theta) &= \sum_s d(s)\; \nabla_\theta m_\theta(s)^\top \\
        &\qquad \nabla_a Q(s, a)\big|_{a = m_\theta(s)},

with :math:`d(s) = \sum_t \gamma^t \Pr(s_t = s)` (an integral over a density on continuous states) and
:math:`\nabla_\theta m_\theta(s)` the Jacobian :math:`\partial m_i / \partial \theta_j`, one row per action
coordinate, so that its transpose times :math:`\nabla_a Q` is shaped like θ. The symbols are the book's
(:mod:`pgbook.lqr`); the code keeps the control names: ``A``, ``B``, ``Q``, ``R``, ``P`` are :math:`\Lambda`,
:math:`H`, :math:`W_x`, :math:`W_u`, :math:`S_K`.

On linear-quadratic control with the linear policy :math:`a = -Kx` (see :mod:`pgbook.lqr`) the action value
is quadratic,

.. math::
    Q_K(x, a) &= x^\top W_x x + a^\top W_u a \\
        &\quad + \gamma x'^\top S_K x', \\
    x' &= \Lambda x + Ha,

so :math:`\nabla_a Q_K(x, -Kx) = \Gamma_K x` with
:math:`\Gamma_K = 2[\gamma H^\top S_K \Lambda` :math:`{} - (W_u + \gamma H^\top S_K H) K]`,
and :math:`\partial a_i / \partial K_{ij} = -x_j` turns the theorem into
:math:`\nabla_K C = -\Gamma_K \Sigma_K`, :math:`\Sigma_K = \sum_t \gamma^t E[x_t x_t^\top]`.

With process noise, :math:`x' = \Lambda x + Ha + \omega`, :math:`\omega \sim \mathcal N(0, \Sigma_\omega)`
independent of everything else, the action value gains the constant
:math:`\gamma \operatorname{tr}(S_K \Sigma_\omega)/(1-\gamma)` only, so :math:`\Gamma_K` is unchanged, and
:math:`\Sigma_K` solves :math:`\Sigma_K = \Sigma_0 + \gamma \Lambda_K \Sigma_K \Lambda_K^\top`
:math:`{} + \frac{\gamma}{1-\gamma}\Sigma_\omega`, :math:`\Lambda_K = \Lambda - HK`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.linalg import solve_discrete_lyapunov

from pgbook.arguments import as_real_array, check_shape
from pgbook.gradient_estimate import GradientEstimate
from pgbook.lqr import LinearQuadratic, checked_gain, episode_draws, state_covariance, value_matrix


def lqr_action_value(system: LinearQuadratic, gain: Any, states: Any, controls: Any) -> np.ndarray:
    r""":math:`Q_K(x, a) = x^\top W_x x + a^\top W_u a`
    :math:`{} + \gamma (\Lambda x + Ha)^\top S_K (\Lambda x + Ha)` for each row of
    ``states`` (shape (k, n)) and ``controls`` (shape (k, m)): the cost of a now, then of following
    :math:`a = -Kx` without noise. Returns shape (k,).

    >>> from pgbook import lqr
    >>> system = LinearQuadratic([[1.0]], [[1.0]], [[1.0]], [[1.0]], [[1.0]], gamma=0.9)
    >>> q = lqr_action_value(system, [[0.5]], [[1.0]], [[-0.5]])   # a = -Kx: Q_K = V = xᵀ S_K x
    >>> bool(np.isclose(q[0], lqr.cost(system, [[0.5]], noise_std=0.0)))
    True
    """
    P = value_matrix(system, gain)
    states = as_real_array("states", states, ndim=2)
    controls = as_real_array("controls", controls, ndim=2)
    if states.shape != (states.shape[0], system.n_states) or controls.shape != (states.shape[0], system.n_controls):
        raise ValueError(
            f"states must have shape (k, {system.n_states}) and controls (k, {system.n_controls}) with the same k; "
            f"got {states.shape} and {controls.shape}"
        )
    successors = states @ system.A.T + controls @ system.B.T
    return (
        np.einsum("kn,nl,kl->k", states, system.Q, states)
        + np.einsum("km,ml,kl->k", controls, system.R, controls)
        + system.gamma * np.einsum("kn,nl,kl->k", successors, P, successors)
    )


def action_gradient_matrix(system: LinearQuadratic, gain: Any) -> np.ndarray:
    r""":math:`\Gamma_K` with :math:`\nabla_a Q_K(x, a)|_{a=-Kx} = \Gamma_K x`:
    :math:`\Gamma_K = 2[\gamma H^\top S_K \Lambda` :math:`{} - (W_u + \gamma H^\top S_K H) K]`, shape (m, n)."""
    gain = checked_gain(system, gain)
    P = value_matrix(system, gain)
    A, B, R, gamma = system.A, system.B, system.R, system.gamma
    return 2 * (gamma * B.T @ P @ A - (R + gamma * B.T @ P @ B) @ gain)


def policy_gradient(system: LinearQuadratic, gain: Any, *, process_noise: Any = None) -> np.ndarray:
    r"""The deterministic policy gradient theorem on LQR: :math:`\nabla_K C = -\Gamma_K \Sigma_K`, shape (m, n).

    The sum over states of :math:`\nabla_K m(x)^\top \nabla_a Q(x, m(x))`, for the policy :math:`m(x) = -Kx`,
    weighted by the discounted state density: the contraction of :math:`\nabla_a Q = \Gamma_K x` with
    :math:`-x^\top` over :math:`\Sigma_K`.
    ``process_noise`` is the covariance :math:`\Sigma_\omega` (shape (n, n)) of additive noise in the dynamics,
    :math:`x' = \Lambda x + Ha + \omega`; it enters :math:`\Sigma_K` only (see the module's text). None means no noise.

    >>> from pgbook import lqr
    >>> system = LinearQuadratic([[1.0]], [[1.0]], [[1.0]], [[1.0]], [[1.0]], gamma=0.9)
    >>> step = 1e-6
    >>> numerical = (lqr.cost(system, [[0.5 + step]], noise_std=0.0)
    ...              - lqr.cost(system, [[0.5 - step]], noise_std=0.0)) / (2 * step)
    >>> bool(np.isclose(policy_gradient(system, [[0.5]])[0, 0], numerical, rtol=1e-7))
    True
    """
    gain = checked_gain(system, gain)
    if process_noise is None:
        moments = state_covariance(system, gain, 0.0)
    else:
        noise = as_real_array("process_noise", process_noise, ndim=2)
        check_shape("process_noise", noise, (system.n_states, system.n_states))
        if not np.allclose(noise, noise.T) or np.linalg.eigvalsh(noise).min() < -1e-12 * max(1.0, np.abs(noise).max()):
            raise ValueError("process_noise must be a symmetric positive semidefinite covariance matrix")
        closed_loop = np.sqrt(system.gamma) * (system.A - system.B @ gain)
        source = system.initial_covariance + system.gamma / (1 - system.gamma) * noise
        moments = solve_discrete_lyapunov(closed_loop, source)
        moments = (moments + moments.T) / 2
    return -action_gradient_matrix(system, gain) @ moments


def gradient_samples(
    system: LinearQuadratic, gain: Any, *, n_episodes: int, horizon: int, seed: int | np.random.Generator | None
) -> GradientEstimate:
    r"""Per-episode samples :math:`\hat g_i = -\sum_{t < \text{horizon}} \gamma^t\, \Gamma_K x_{i,t} x_{i,t}^\top` of
    the deterministic policy gradient: noise-free rollouts of :math:`a = -Kx` from :math:`x_0 \sim N(0, \Sigma_0)`,
    with the exact critic's :math:`\nabla_a Q` at every visited state. Uses the same initial states as
    :func:`pgbook.lqr.pathwise_gradient` for the same ``seed``; the cut-off leaves a bias of order
    :math:`\gamma^{\text{horizon}}`.
    """
    gain = checked_gain(system, gain)
    initial, _ = episode_draws(system, n_episodes, horizon, seed)
    action_gradient = action_gradient_matrix(system, gain)
    closed_loop = system.A - system.B @ gain
    state, moments = initial, np.zeros((initial.shape[0], system.n_states, system.n_states))
    for t in range(horizon):
        moments += system.gamma**t * np.einsum("in,ik->ink", state, state)
        state = state @ closed_loop.T
    return GradientEstimate(-np.einsum("mn,ink->imk", action_gradient, moments))
