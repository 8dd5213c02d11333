r"""The update most code implements, the one without :math:`\gamma^t`, as a vector field (Nota & Thomas 2020).

Dropping the :math:`\gamma^t` weights from the reward-to-go estimator gives, in expectation, the field

.. math::
    U(\theta) &= \sum_s d_1(s) \sum_a Q_\gamma(s, a)\, \nabla_\theta \pi_\theta(a|s), \\
    d_1(s) &= \sum_t \Pr(s_t = s),

the *undiscounted* visitation weighting the *discounted* action values, where the policy gradient theorem
has the discounted visitation :math:`d_\gamma`. The field is a gradient only if its Jacobian
:math:`\partial U_i / \partial \theta_j` is symmetric (the mixed partial derivatives of a potential commute);
:func:`update_jacobian` computes it exactly by autodiff of the field itself. An antisymmetric part, or a
nonzero circulation :math:`\oint U \cdot d\theta` around a closed loop (:func:`circulation`), shows that
:math:`U` is the gradient of no function at all (Nota & Thomas 2020, "Is the policy gradient a gradient?").

The field needs a finite :math:`d_1`: an episodic problem whose policy reaches a terminal state.

:func:`coordination_counterexample` is a problem on which following the field ends at the worst policy of its
class for both the discounted and the undiscounted objective (a counterexample of the kind Nota & Thomas
construct); :func:`flow` follows a field and :func:`line_integral` integrates one along a segment, so that the
circulation around a trajectory closed by a chord shows that no potential explains the trajectory.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from pgbook.arguments import as_count, as_real, as_real_array, as_unit_interval
from pgbook.gradients import _gradient_from_table, torch_values_and_visitation
from pgbook.lazy_torch import torch
from pgbook.mdp import FiniteMDP
from pgbook.policies import LinearSoftmax, Params, Policy, check_fit, policy_table

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


def undiscounted_visitation(mdp: FiniteMDP, policy: Policy, theta: Params) -> np.ndarray:
    r""":math:`d_1(s) = \sum_t \Pr(s_t = s)`, the expected number of visits to each state in an episode."""
    pi, undiscounted = policy_table(mdp, policy, theta), _undiscounted(mdp)
    undiscounted.check_termination(pi, needed=_EPISODES_MUST_END)
    return undiscounted.discounted_visitation(pi)


def expected_update(mdp: FiniteMDP, policy: Policy, theta: Params) -> np.ndarray:
    r"""The expected update without :math:`\gamma^t`,
    :math:`U(\theta) = \sum_s d_1(s) \sum_a Q_\gamma(s,a) \nabla_\theta \pi_\theta(a|s)`, shape ``param_shape``.

    Examples
    --------
    At γ = 1 it is the policy gradient:

    >>> import pgbook as pg
    >>> mdp, policy = pg.examples.short_corridor(), pg.examples.short_corridor_policy()
    >>> theta = pg.examples.corridor_params(0.3)
    >>> bool(np.allclose(expected_update(mdp, policy, theta), pg.exact_gradient(mdp, policy, theta)))
    True
    """
    policy_table(mdp, policy, theta)  # checks θ and that the policy fits the MDP
    return _field("update", mdp, policy)(policy.check_params(theta))


def _torch_field(mdp: FiniteMDP, undiscounted: FiniteMDP, policy: Policy, theta: torch.Tensor) -> torch.Tensor:
    """U(θ) in torch, differentiable in θ: Q_γ and d_1 from the MDP's arrays, ∇π by autograd."""
    _, q_values, _ = torch_values_and_visitation(mdp, policy, theta)
    _, _, visits = torch_values_and_visitation(undiscounted, policy, theta)
    weights = visits[:, None] * q_values

    def weighted_probabilities(phi: torch.Tensor) -> torch.Tensor:
        return (weights * policy.torch_log_probabilities(phi).exp()).sum()

    return torch.func.grad(weighted_probabilities)(theta)


def update_jacobian(mdp: FiniteMDP, policy: Policy, theta: Params) -> np.ndarray:
    r"""The Jacobian :math:`\partial U_i / \partial \theta_j` of :func:`expected_update` by autodiff, shape
    (n_params, n_params) over the flattened parameters. Symmetric if U were a gradient.

    Examples
    --------
    >>> import pgbook as pg
    >>> mdp = pg.examples.random_mdp(4, 2, gamma=0.8, seed=0, n_terminal=1)
    >>> policy = pg.TabularSoftmax(4, 2)
    >>> jacobian = update_jacobian(mdp, policy, policy.init_params(seed=0))
    >>> bool(np.abs(jacobian - jacobian.T).max() > 1e-3)   # not symmetric: U is no gradient
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


def _field(name: str, mdp: FiniteMDP, policy: Policy) -> Callable[[np.ndarray], np.ndarray]:
    """The field ``name``, U (:func:`expected_update`) or ∇J (:func:`pgbook.exact_gradient`), as a function of
    checked parameters: for the many evaluations of :func:`line_integral` and :func:`flow`, whose arguments are
    checked once. Each evaluation is one policy table, the solves for V_γ (and d, or d₁ on the undiscounted twin of
    ``mdp``) and one vector-Jacobian product."""
    if name == "gradient":
        return lambda theta: _gradient_from_table(mdp, policy, theta, policy._probabilities(theta))
    if name != "update":
        raise ValueError(f"field must be 'update' (the field U) or 'gradient' (∇J); got {name!r}")
    undiscounted = _undiscounted(mdp)

    def update(theta: np.ndarray) -> np.ndarray:
        pi = policy._probabilities(theta)
        undiscounted._require_termination(undiscounted._markov_chain(pi)[0], _EPISODES_MUST_END)
        visits = undiscounted._values_and_visitation(pi)[1]
        values = mdp._values_and_visitation(pi)[0]
        return policy._probability_vjp(theta, visits[:, None] * mdp.action_values(pi, values))

    return update


def line_integral(
    mdp: FiniteMDP, policy: Policy, start: Any, end: Any, *, field: str = "update", nodes: int = 12
) -> float:
    r"""The line integral :math:`\int U \cdot d\theta` of a field along the segment from ``start`` to ``end``,
    by Gauss–Legendre quadrature with ``nodes`` points; ``field`` is ``"update"`` (:func:`expected_update`) or
    ``"gradient"`` (:func:`pgbook.exact_gradient`, whose integral is :math:`J(\text{end}) - J(\text{start})`).

    >>> import pgbook as pg
    >>> mdp, policy = pg.examples.short_corridor(gamma=0.9), pg.examples.corridor_recognising_policy()
    >>> a, b = np.array([0.0, 0.0]), np.array([1.0, -0.5])
    >>> gain = pg.exact_objective(mdp, policy, b) - pg.exact_objective(mdp, policy, a)
    >>> bool(np.isclose(line_integral(mdp, policy, a, b, field="gradient"), gain, rtol=1e-10))
    True
    """
    check_fit(mdp, policy)
    function = _field(field, mdp, policy)
    nodes = as_count("nodes", nodes)
    start, end = policy.check_params(start), policy.check_params(end)
    points, weights = np.polynomial.legendre.leggauss(nodes)
    side = end - start
    return sum(
        w / 2 * float(np.sum(function(start + (x + 1) / 2 * side) * side)) for x, w in zip(points, weights, strict=True)
    )


def circulation(mdp: FiniteMDP, policy: Policy, corners: Any, *, nodes: int = 12, field: str = "update") -> float:
    r"""The line integral :math:`\oint U \cdot d\theta` of :func:`expected_update` (or of :math:`\nabla J` with
    ``field="gradient"``) around the closed polygon through ``corners`` (shape (k, \*param_shape)), by
    Gauss–Legendre quadrature with ``nodes`` points per side. Zero around every loop for a gradient field;
    nonzero proves that U is no gradient.
    """
    corners = as_real_array("corners", corners)
    if corners.ndim < 1 or corners.shape[0] < 3:
        raise ValueError(f"corners must hold at least 3 parameter vectors; got shape {corners.shape}")
    return sum(
        line_integral(mdp, policy, start, end, field=field, nodes=nodes)
        for start, end in zip(corners, np.roll(corners, -1, axis=0), strict=True)
    )


def flow(
    mdp: FiniteMDP, policy: Policy, theta: Params, duration: float, *, field: str = "update", n_points: int = 101
) -> tuple[np.ndarray, np.ndarray, float]:
    r"""Follow a field: the solution of :math:`d\theta/dt = U(\theta)` (or :math:`\nabla J(\theta)` with
    ``field="gradient"``) from ``theta`` for ``duration``, the limit of small steps of the expected update.

    Returns the times (``n_points`` of them), the parameters at those times, shape (n_points, \*param_shape),
    and the work :math:`\int U \cdot d\theta = \int_0^{\text{duration}} \lVert U(\theta(t))\rVert^2 dt`
    along the path, integrated with the path (RK45, relative tolerance 1e-10). If U were the gradient of
    some F, the work would be :math:`F(\theta(\text{end})) - F(\theta(0))`, so the path closed by the chord
    back to its start would have circulation 0 (:func:`line_integral`).

    >>> import pgbook as pg
    >>> mdp, policy = coordination_counterexample(0.5)
    >>> times, path, work = flow(mdp, policy, [2.0], 1000.0)
    >>> round(float(policy.probabilities(path[-1])[0, 1]), 6)   # Pr(R) → 1/2, the worst policy
    0.5
    """
    check_fit(mdp, policy)
    from scipy.integrate import solve_ivp  # here, not at import: import pgbook stays fast

    function = _field(field, mdp, policy)
    theta = policy.check_params(theta)
    duration = as_real("duration", duration)
    if not duration > 0:
        raise ValueError(f"duration must be positive; got {duration}")
    n_points = as_count("n_points", n_points, minimum=2)

    def right_side(_: float, state: np.ndarray) -> np.ndarray:
        velocity = function(state[:-1].reshape(theta.shape)).ravel()
        return np.append(velocity, velocity @ velocity)

    times = np.linspace(0.0, duration, n_points)
    solution = solve_ivp(
        right_side, (0.0, duration), np.append(theta.ravel(), 0.0), t_eval=times, rtol=1e-10, atol=1e-12
    )
    if not solution.success:
        raise RuntimeError(f"the flow could not be integrated: {solution.message}")
    path = solution.y[:-1].T.reshape((n_points, *theta.shape))
    return times, path, float(solution.y[-1, -1])


def coordination_counterexample(gamma: float, *, n_params: int = 1) -> tuple[FiniteMDP, LinearSoftmax]:
    r"""An episodic problem on which following the update without :math:`\gamma^t` ends at the worst policy.

    Six states: the start A, a mirror pair B and C, a mirror pair D and E, and a terminal state; two actions,
    L and R. From A, L leads to B and R to C (reward 0). From B, L leads to E and R ends the episode; from C,
    R leads to D and L ends it (reward 0). In E, R pays 2 and L pays 1; in D, L pays 2 and R pays 1; both
    end the episode. The policy cannot tell the states apart: one parameter, :math:`p = \Pr(R) =
    1/(1 + e^{-\theta})` in every state (``n_params=2``: one parameter for A, B, C and one for D, E):

    .. math::
        J_\gamma(p) &= \gamma^2 \big(1 - p(1 - p)\big), \\
        J_1(p) &= 1 - p(1 - p), \\
        \frac{dJ_\gamma}{d\theta} &= \gamma^2\, p(1 - p)\, (2p - 1), \\
        U(\theta) &= (\gamma^2 + \gamma - 1)\, p(1 - p)\, (2p - 1).

    Both objectives are smallest at :math:`p = 1/2` and largest at :math:`p \in \{0, 1\}`. For
    :math:`\gamma < (\sqrt 5 - 1)/2` the factor :math:`\gamma^2 + \gamma - 1` is negative: U points towards
    :math:`p = 1/2` from everywhere, and following it ends at the worst policy of the class for both.

    >>> mdp, policy = coordination_counterexample(0.5)
    >>> p = 0.8
    >>> theta = [np.log(p / (1 - p))]
    >>> bool(np.isclose(expected_update(mdp, policy, theta)[0], (0.25 + 0.5 - 1) * p * (1 - p) * (2 * p - 1)))
    True
    """
    gamma = as_unit_interval("gamma", gamma)
    if n_params not in (1, 2):
        raise ValueError(f"n_params must be 1 or 2; got {n_params!r}")
    a, b, c, d, e, end = range(6)
    left, right = 0, 1
    P, R = np.zeros((6, 2, 6)), np.zeros((6, 2))
    P[a, left, b] = P[a, right, c] = 1.0
    P[b, left, e] = P[b, right, end] = 1.0
    P[c, right, d] = P[c, left, end] = 1.0
    P[d, :, end] = P[e, :, end] = P[end, :, end] = 1.0
    R[e, right] = R[d, left] = 2.0
    R[e, left] = R[d, right] = 1.0
    mdp = FiniteMDP(P, R, gamma=gamma, initial=np.eye(6)[a], terminal=[end])
    features = np.zeros((6, 2, n_params))
    features[:, right, 0] = 1.0
    if n_params == 2:
        features[[d, e], right] = [0.0, 1.0]
    return mdp, LinearSoftmax(features)
