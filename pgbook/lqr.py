r"""Linear-quadratic control with a Gaussian policy: the exact cost, its exact gradient, and two estimators.

The system :math:`x_{t+1} = \Lambda x_t + H a_t`, :math:`x_0 \sim \mathcal N(0, \Sigma_0)`, is driven by the
linear Gaussian policy :math:`a_t = -K x_t + \sigma \varepsilon_t`, :math:`\varepsilon_t \sim \mathcal N(0, I)`,
and pays the cost :math:`x_t^\top W_x x_t + a_t^\top W_u a_t` per step. The book's symbols are used here; the
code keeps the control literature's names, ``A``, ``B``, ``Q``, ``R`` for :math:`\Lambda`, :math:`H`,
:math:`W_x`, :math:`W_u` (and ``P`` for :math:`S_K`). With the closed loop :math:`\Lambda_K = \Lambda - HK` and
:math:`0 \le \gamma < 1`:

.. math::
    S_K &= W_x + K^\top W_u K \\
        &\quad + \gamma \Lambda_K^\top S_K \Lambda_K, \\
    C(K) &= E \sum_t \gamma^t (x_t^\top W_x x_t + a_t^\top W_u a_t) \\
        &= \operatorname{tr}(S_K \Sigma_0) \\
        &\quad + \frac{\sigma^2 (\operatorname{tr} W_u + \gamma \operatorname{tr} H^\top S_K H)}{1 - \gamma}, \\
    \Sigma_K &= \textstyle\sum_t \gamma^t E[x_t x_t^\top] \\
        &= \Sigma_0 + \gamma \Lambda_K \Sigma_K \Lambda_K^\top \\
        &\quad + \frac{\gamma}{1-\gamma} \sigma^2 H H^\top, \\
    \nabla_K C &= 2 \big[(W_u + \gamma H^\top S_K H) K \\
        &\qquad - \gamma H^\top S_K \Lambda\big] \Sigma_K

(with γ = 1 and σ = 0 this is the gradient of Fazel, Ge, Kakade & Mesbahi 2018). The cost is finite only
when :math:`\sqrt\gamma\, \Lambda_K` is stable (spectral radius below 1); other gains are refused.

Two Monte-Carlo estimators of :math:`\nabla_K C` from the same draws (the same ``seed`` gives the same
:math:`x_0` and :math:`\varepsilon`, so their variances compare on common random numbers):

- :func:`score_gradient`, the score function (likelihood ratio):
  :math:`\hat g = \sum_t \gamma^t C_t\, \nabla_K \log \pi(a_t|x_t)`,
  :math:`\nabla_K \log\pi = -\varepsilon_t x_t^\top / \sigma`, with :math:`C_t` the discounted cost to go;
  it needs only sampled costs;
- :func:`pathwise_gradient`, the pathwise (reparameterization) gradient: differentiate the sampled
  cost through :math:`a_t = -K x_t + \sigma \varepsilon_t` *and through the dynamics*, which it must know.

Policy-gradient *ascent* on :math:`J = -C` is descent on C: the book's sign convention is kept by the
chapter, the functions here return gradients of the cost as the control literature does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.linalg import solve_discrete_lyapunov

from pgbook.arguments import as_count, as_real, as_real_array, as_seed, check_shape, check_type
from pgbook.discounting import discounted_suffix_sums
from pgbook.gradient_estimate import GradientEstimate
from pgbook.lazy_torch import torch


@dataclass(frozen=True)
class LinearQuadratic:
    r"""A discounted linear-quadratic control problem.

    Parameters
    ----------
    A : array_like, shape (n, n): the dynamics matrix :math:`\Lambda`.
    B : array_like, shape (n, m): the control matrix :math:`H`.
    Q : array_like, shape (n, n), symmetric positive semidefinite: the state cost :math:`W_x`.
    R : array_like, shape (m, m), symmetric positive definite: the control cost :math:`W_u`.
    initial_covariance : array_like, shape (n, n), symmetric positive semidefinite: :math:`\Sigma_0`.
    gamma : float in [0, 1)

    Examples
    --------
    A scalar system :math:`x' = x + a`, cost :math:`x^2 + a^2`, with the gain K = 0.5:

    >>> system = LinearQuadratic([[1.0]], [[1.0]], [[1.0]], [[1.0]], [[1.0]], gamma=0.9)
    >>> round(cost(system, [[0.5]], noise_std=0.0), 6)   # S_K = 1.25 / (1 - 0.9 * 0.25)
    1.612903
    """

    A: np.ndarray
    B: np.ndarray
    Q: np.ndarray
    R: np.ndarray
    initial_covariance: np.ndarray
    gamma: float

    def __post_init__(self) -> None:
        A = as_real_array("A", self.A, ndim=2)
        n = A.shape[0]
        check_shape("A", A, (n, n))
        B = as_real_array("B", self.B, ndim=2)
        if B.shape[0] != n or B.shape[1] == 0:
            raise ValueError(f"B must have shape ({n}, m) with m >= 1 controls; got {B.shape}")
        m = B.shape[1]
        arrays = {"A": A, "B": B}
        for name, size, definite in (("Q", n, False), ("R", m, True), ("initial_covariance", n, False)):
            matrix = as_real_array(name, getattr(self, name), ndim=2)
            check_shape(name, matrix, (size, size))
            if not np.allclose(matrix, matrix.T, rtol=0, atol=1e-12 * max(1.0, np.abs(matrix).max())):
                raise ValueError(f"{name} must be symmetric")
            smallest = np.linalg.eigvalsh(matrix).min()
            if smallest <= 0 if definite else smallest < -1e-12 * max(1.0, np.abs(matrix).max()):
                kind = "positive definite" if definite else "positive semidefinite"
                raise ValueError(f"{name} must be {kind}; its smallest eigenvalue is {smallest:.3g}")
            arrays[name] = matrix
        gamma = as_real("gamma", self.gamma)
        if not 0.0 <= gamma < 1.0:
            raise ValueError(f"gamma must lie in [0, 1) (the discounted setting); got {gamma}")
        for name, array in arrays.items():
            array.setflags(write=False)
            object.__setattr__(self, name, array)
        object.__setattr__(self, "gamma", gamma)

    @property
    def n_states(self) -> int:
        return self.A.shape[0]

    @property
    def n_controls(self) -> int:
        return self.B.shape[1]

    def check_gain(self, gain: Any) -> np.ndarray:
        r"""``gain`` as a float64 array of shape (m, n), or raise naming it; refuse a gain whose closed loop
        :math:`\sqrt\gamma (\Lambda - HK)` is not stable (the cost would be infinite)."""
        gain = as_real_array("gain", gain, ndim=2)
        check_shape("gain", gain, (self.n_controls, self.n_states))
        radius = np.abs(np.linalg.eigvals(np.sqrt(self.gamma) * (self.A - self.B @ gain))).max()
        if radius >= 1.0:
            raise ValueError(
                f"gain does not stabilise the discounted closed loop: the spectral radius of √γ(A − BK) is "
                f"{radius:.4g} ≥ 1, so the expected cost is infinite"
            )
        return gain


def checked_gain(system: LinearQuadratic, gain: Any) -> np.ndarray:
    r"""``gain`` as a float64 array of shape (m, n) that stabilises ``system`` (:meth:`LinearQuadratic.check_gain`),
    or raise naming the argument that is wrong: what every function of a system and a gain checks first.

    Examples
    --------
    >>> system = LinearQuadratic([[1.0]], [[1.0]], [[1.0]], [[1.0]], [[1.0]], gamma=0.9)
    >>> checked_gain(system, [[0.5]])
    array([[0.5]])

    A gain that does not stabilise the system, ``[[3.0]]`` here, is refused with a `ValueError`: ``gain does not
    stabilise the discounted closed loop: the spectral radius of √γ(A − BK) is 1.897 ≥ 1 …``.
    """
    check_type("system", system, LinearQuadratic, "a pgbook.lqr.LinearQuadratic")
    return system.check_gain(gain)


def damped_double_integrator(gamma: float = 0.9) -> LinearQuadratic:
    r"""The two-state system of the book's chapters on continuous actions: a position and a velocity, the
    position moved by 0.2 of the velocity, the velocity damped by 0.9 and pushed by the one control,

    .. math::
        \Lambda &= \begin{pmatrix} 1 & 0.2 \\ 0 & 0.9 \end{pmatrix},\quad
        H = \begin{pmatrix} 0 \\ 1 \end{pmatrix}, \\
        W_x &= I,\quad W_u = 0.5, \\
        \Sigma_0 &= \begin{pmatrix} 0.5 & 0.1 \\ 0.1 & 0.3 \end{pmatrix}.

    >>> system = damped_double_integrator()
    >>> system.n_states, system.n_controls, system.gamma
    (2, 1, 0.9)
    """
    return LinearQuadratic(
        A=[[1.0, 0.2], [0.0, 0.9]], B=[[0.0], [1.0]], Q=np.eye(2), R=[[0.5]],
        initial_covariance=[[0.5, 0.1], [0.1, 0.3]], gamma=gamma,
    )  # fmt: skip


def value_matrix(system: LinearQuadratic, gain: Any) -> np.ndarray:
    r""":math:`S_K`, the solution of :math:`S = W_x + K^\top W_u K`
    :math:`{} + \gamma (\Lambda - HK)^\top S (\Lambda - HK)`: the noise-free
    cost from :math:`x_0` is :math:`x_0^\top S_K x_0`."""
    gain = checked_gain(system, gain)
    closed_loop = np.sqrt(system.gamma) * (system.A - system.B @ gain)
    return _symmetric(solve_discrete_lyapunov(closed_loop.T, system.Q + gain.T @ system.R @ gain))


def state_covariance(system: LinearQuadratic, gain: Any, noise_std: float) -> np.ndarray:
    r""":math:`\Sigma_K = \sum_t \gamma^t E[x_t x_t^\top]`, the discounted state second moment, from
    :math:`\Sigma = \Sigma_0 + \gamma \Lambda_K \Sigma \Lambda_K^\top`
    :math:`{} + \frac{\gamma}{1-\gamma}\sigma^2 H H^\top`."""
    gain = checked_gain(system, gain)
    sigma = _noise_std(noise_std)
    closed_loop = np.sqrt(system.gamma) * (system.A - system.B @ gain)
    source = system.initial_covariance + system.gamma / (1 - system.gamma) * sigma**2 * system.B @ system.B.T
    return _symmetric(solve_discrete_lyapunov(closed_loop, source))


def cost(system: LinearQuadratic, gain: Any, *, noise_std: float) -> float:
    r"""The expected discounted cost :math:`C(K) = \operatorname{tr}(S_K\Sigma_0)`
    :math:`{} + \sigma^2(\operatorname{tr}W_u +
    \gamma\operatorname{tr}H^\top S_K H)/(1-\gamma)` of the policy :math:`a = -Kx + \sigma\varepsilon`."""
    sigma = _noise_std(noise_std)
    P = value_matrix(system, gain)
    noise = sigma**2 * (np.trace(system.R) + system.gamma * np.trace(system.B.T @ P @ system.B)) / (1 - system.gamma)
    return float(np.trace(P @ system.initial_covariance) + noise)


def gradient(system: LinearQuadratic, gain: Any, *, noise_std: float) -> np.ndarray:
    r"""The exact :math:`\nabla_K C`
    :math:`{} = 2[(W_u + \gamma H^\top S_K H)K`
    :math:`{} - \gamma H^\top S_K \Lambda]\Sigma_K`, shape (m, n).

    Examples
    --------
    >>> system = LinearQuadratic([[1.0]], [[1.0]], [[1.0]], [[1.0]], [[1.0]], gamma=0.9)
    >>> step = 1e-6
    >>> numerical = (cost(system, [[0.5 + step]], noise_std=0.3)
    ...              - cost(system, [[0.5 - step]], noise_std=0.3)) / (2 * step)
    >>> bool(np.isclose(gradient(system, [[0.5]], noise_std=0.3)[0, 0], numerical, rtol=1e-7))
    True
    """
    gain = checked_gain(system, gain)
    P = value_matrix(system, gain)
    covariance = state_covariance(system, gain, noise_std)
    A, B, R, gamma = system.A, system.B, system.R, system.gamma
    return 2 * ((R + gamma * B.T @ P @ B) @ gain - gamma * B.T @ P @ A) @ covariance


def score_gradient(
    system: LinearQuadratic,
    gain: Any,
    *,
    noise_std: float,
    n_episodes: int,
    horizon: int,
    seed: int | np.random.Generator | None,
) -> GradientEstimate:
    r"""Score-function samples :math:`\hat g_i = -\sum_t \gamma^t C_{i,t}\, \varepsilon_{i,t} x_{i,t}^\top / \sigma` of
    :math:`\nabla_K C` (per episode, shape (n_episodes, m, n)), :math:`C_{i,t}` the discounted cost to go.

    Episodes are cut after ``horizon`` steps; the bias this leaves shrinks like :math:`\gamma^{\text{horizon}}`.
    """
    sigma = _noise_std(noise_std)
    if sigma == 0:
        raise ValueError("noise_std must be positive for the score function: a deterministic policy has no score")
    states, noise, costs = _rollouts(system, gain, sigma, n_episodes, horizon, seed)
    discounts = system.gamma ** np.arange(horizon)
    cost_to_go_discounted = discounts * discounted_suffix_sums(costs, system.gamma)  # γ^t C_t
    gradients = -np.einsum("it,itm,itn->imn", cost_to_go_discounted, noise, states) / sigma
    return GradientEstimate(gradients)


def pathwise_gradient(
    system: LinearQuadratic,
    gain: Any,
    *,
    noise_std: float,
    n_episodes: int,
    horizon: int,
    seed: int | np.random.Generator | None,
) -> GradientEstimate:
    r"""Pathwise samples :math:`\hat g_i = \nabla_K C_{i,0}`, the derivative of episode i's discounted cost with its
    draws :math:`x_{i,0}, \varepsilon_{i,\cdot}` held fixed, by autograd through the controls and the dynamics (per
    episode, shape (n_episodes, m, n)).

    Uses the same draws as :func:`score_gradient` for the same ``seed``.
    """
    sigma = _noise_std(noise_std)
    gain = checked_gain(system, gain)
    initial, noise = episode_draws(system, n_episodes, horizon, seed)
    A, B, Q, R = (torch.tensor(m, dtype=torch.float64) for m in (system.A, system.B, system.Q, system.R))
    gains = torch.tensor(gain, dtype=torch.float64).expand(initial.shape[0], *gain.shape).clone().requires_grad_()
    state, noise = torch.tensor(initial), torch.tensor(noise)
    total = torch.zeros(initial.shape[0], dtype=torch.float64)
    for t in range(noise.shape[1]):
        control = -torch.einsum("imn,in->im", gains, state) + sigma * noise[:, t]
        step_cost = torch.einsum("in,nk,ik->i", state, Q, state) + torch.einsum("im,mk,ik->i", control, R, control)
        total = total + system.gamma**t * step_cost
        state = state @ A.T + control @ B.T
    (gradients,) = torch.autograd.grad(total.sum(), gains)  # episode i's cost depends on its own copy of K
    return GradientEstimate(gradients.numpy())


def _rollouts(
    system: LinearQuadratic, gain: Any, sigma: float, n_episodes: int, horizon: int, seed: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """States (n_episodes, horizon, n), noises (n_episodes, horizon, m) and step costs (n_episodes, horizon)."""
    gain = checked_gain(system, gain)
    initial, noise = episode_draws(system, n_episodes, horizon, seed)
    states = np.empty((initial.shape[0], noise.shape[1], system.n_states))
    costs = np.empty((initial.shape[0], noise.shape[1]))
    state = initial
    for t in range(noise.shape[1]):
        control = -state @ gain.T + sigma * noise[:, t]
        states[:, t] = state
        costs[:, t] = np.einsum("in,nk,ik->i", state, system.Q, state) + np.einsum(
            "im,mk,ik->i", control, system.R, control
        )
        state = state @ system.A.T + control @ system.B.T
    return states, noise, costs


def episode_draws(
    system: LinearQuadratic, n_episodes: int, horizon: int, seed: int | np.random.Generator | None
) -> tuple[np.ndarray, np.ndarray]:
    r"""The random draws of ``n_episodes`` episodes of ``horizon`` steps: initial states
    :math:`x_0 \sim N(0, \Sigma_0)`, shape (n_episodes, n), and standard normal control noise
    :math:`\varepsilon_t`, shape (n_episodes, horizon, m), from ``seed``. The estimators of this module and
    :func:`pgbook.deterministic.gradient_samples` use them, so that the same ``seed`` gives them the same draws.

    Examples
    --------
    >>> system = LinearQuadratic([[1.0]], [[1.0]], [[1.0]], [[1.0]], [[1.0]], gamma=0.9)
    >>> initial, noise = episode_draws(system, 4, 10, seed=0)
    >>> initial.shape, noise.shape
    ((4, 1), (4, 10, 1))
    """
    check_type("system", system, LinearQuadratic, "a pgbook.lqr.LinearQuadratic")
    n_episodes = as_count("n_episodes", n_episodes, minimum=2)
    horizon = as_count("horizon", horizon)
    rng = as_seed("seed", seed)
    eigenvalues, eigenvectors = np.linalg.eigh(system.initial_covariance)
    root = eigenvectors * np.sqrt(np.clip(eigenvalues, 0.0, None))  # Σ0 = root rootᵀ, also when singular
    initial = rng.standard_normal((n_episodes, system.n_states)) @ root.T
    noise = rng.standard_normal((n_episodes, horizon, system.n_controls))
    return initial, noise


def _noise_std(noise_std: Any) -> float:
    sigma = as_real("noise_std", noise_std)
    if sigma < 0:
        raise ValueError(f"noise_std must be non-negative; got {sigma}")
    return sigma


def _symmetric(matrix: np.ndarray) -> np.ndarray:
    return (matrix + matrix.T) / 2
