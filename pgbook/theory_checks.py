"""Checks for the exercises of the Part III chapters on the deterministic policy gradient, the update without
γᵗ, and surrogate objectives. Each runs the reader's function on several cases and compares it with an
independent computation (finite differences, exact objectives); see :mod:`pgbook.exercises` for the format.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from pgbook import envs, lqr
from pgbook.evaluation import advantages, discounted_visitation, exact_objective, policy_table
from pgbook.exercises import CheckResult, _compare
from pgbook.policies import LinearSoftmax, TabularSoftmax
from pgbook.update_field import update_field


def _systems() -> list[tuple[lqr.LinearQuadratic, np.ndarray]]:
    return [
        (lqr.LinearQuadratic([[1.0]], [[1.0]], [[1.0]], [[1.0]], [[1.0]], gamma=0.9), np.array([[0.5]])),
        (
            lqr.LinearQuadratic(
                [[1.0, 0.2], [0.0, 0.9]], [[0.0], [1.0]], np.eye(2), [[0.5]], np.diag([1.0, 0.5]), gamma=0.95
            ),
            np.array([[0.3, 0.6]]),
        ),
    ]


def check_directional_gradient(answer: Callable[[lqr.LinearQuadratic, np.ndarray, np.ndarray], Any]) -> CheckResult:
    r"""Check ``answer(system, gain, direction)``: :math:`\frac{d}{d\kappa} C(K + \kappa D)|_{\kappa=0}` for the
    noise-free policy :math:`u = -Kx`, a number. The check's own answer is a central difference of
    :func:`pgbook.lqr.lqr_cost` with step 1e-5 (error ~1e-10).

    >>> from pgbook.deterministic import deterministic_policy_gradient
    >>> check_directional_gradient(lambda s, k, d: np.sum(deterministic_policy_gradient(s, k) * d))
    Correct. answer(system, gain, direction) matched on 6 cases.
    """

    def cases() -> Iterator[tuple[tuple, np.ndarray]]:
        rng = np.random.default_rng(0)
        for system, gain in _systems():
            for _ in range(3):
                direction = rng.normal(size=gain.shape)
                step = 1e-5
                difference = (
                    lqr.lqr_cost(system, gain + step * direction, noise_std=0.0)
                    - lqr.lqr_cost(system, gain - step * direction, noise_std=0.0)
                ) / (2 * step)
                yield (system, gain.copy(), direction), np.asarray(difference)

    return _compare("answer(system, gain, direction)", answer, cases(), rtol=1e-6)


def check_curl(answer: Callable[[Any, Any, np.ndarray], Any]) -> CheckResult:
    r"""Check ``answer(mdp, policy, theta)`` for two-parameter policies: the curl
    :math:`\partial u_1/\partial\theta_0 - \partial u_0/\partial\theta_1` of the update without :math:`\gamma^t`
    (:func:`pgbook.update_field.update_field`), a number. The check differentiates the field by central
    differences.

    >>> from pgbook.update_field import update_jacobian
    >>> check_curl(lambda m, p, t: update_jacobian(m, p, t)[1, 0] - update_jacobian(m, p, t)[0, 1])
    Correct. answer(mdp, policy, theta) matched on 4 cases.
    """

    def cases() -> Iterator[tuple[tuple, np.ndarray]]:
        features = np.random.default_rng(1).normal(size=(4, 2, 2))
        problems = [
            (envs.short_corridor(gamma=0.8), envs.corridor_recognising_policy(), np.array([0.5, -0.5])),
            (envs.short_corridor(gamma=0.6), envs.corridor_recognising_policy(), np.array([-0.2, 0.4])),
            (envs.random_mdp(4, 2, gamma=0.7, seed=2, n_terminal=1), LinearSoftmax(features), np.array([0.3, 0.1])),
            (envs.random_mdp(4, 2, gamma=0.9, seed=3, n_terminal=1), LinearSoftmax(features), np.array([-0.5, 1.0])),
        ]
        step = 1e-5
        for mdp, policy, theta in problems:
            e0, e1 = np.array([step, 0.0]), np.array([0.0, step])
            du1 = (update_field(mdp, policy, theta + e0)[1] - update_field(mdp, policy, theta - e0)[1]) / (2 * step)
            du0 = (update_field(mdp, policy, theta + e1)[0] - update_field(mdp, policy, theta - e1)[0]) / (2 * step)
            yield (mdp, policy, theta.copy()), np.asarray(du1 - du0)

    return _compare("answer(mdp, policy, theta)", answer, cases(), rtol=1e-6)


def check_performance_difference(answer: Callable[[Any, Any, np.ndarray, np.ndarray], Any]) -> CheckResult:
    r"""Check ``answer(mdp, policy, theta_old, theta)``: the per-state terms
    :math:`d_\theta(s) \sum_a \pi_\theta(a|s) A_{\text{old}}(s,a)` of the performance difference lemma, shape
    (n_states,). They must sum to :math:`J(\theta) - J(\theta_{\text{old}})`, which the check also verifies
    against :func:`pgbook.exact_objective`.

    >>> import pgbook as pg
    >>> check_performance_difference(lambda m, p, o, t: pg.discounted_visitation(m, p, t)
    ...     * np.sum(p.probabilities(t) * pg.advantages(m, p, o), axis=1))
    Correct. answer(mdp, policy, theta_old, theta) matched on 3 cases.
    """

    def cases() -> Iterator[tuple[tuple, np.ndarray]]:
        rng = np.random.default_rng(2)
        for mdp in (
            envs.random_mdp(5, 3, gamma=0.9, seed=4),
            envs.random_mdp(5, 3, gamma=0.95, seed=5, n_terminal=1),
            envs.random_mdp(5, 3, gamma=1.0, seed=6, n_terminal=1),
        ):
            policy = TabularSoftmax(5, 3)
            old = policy.init_params(seed=rng)
            new = old + rng.normal(size=old.shape)
            terms = discounted_visitation(mdp, policy, new) * np.sum(
                policy_table(mdp, policy, new) * advantages(mdp, policy, old), axis=1
            )
            gap = exact_objective(mdp, policy, new) - exact_objective(mdp, policy, old)
            if not np.isclose(terms.sum(), gap, rtol=1e-9, atol=1e-12):  # the lemma itself, from two sides
                raise AssertionError("the performance difference lemma failed: the check is broken")
            yield (mdp, policy, old.copy(), new.copy()), terms

    return _compare("answer(mdp, policy, theta_old, theta)", answer, cases(), rtol=1e-8)
