"""Checks for the exercises of Part III (theory): compatible features, the natural gradient, convergence.

Each check runs the reader's function on several problems and compares it with an answer computed beforehand
by the library. While the reader's function runs, the library function the exercise asks to rewrite is
replaced by one that raises, so calling it does not pass the check.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

import pgbook
from pgbook import compatible, envs, fisher, performance_difference_lemma
from pgbook.evaluation import advantages
from pgbook.exercises import CheckResult, _compare
from pgbook.gradients import exact_gradient
from pgbook.mdp import FiniteMDP
from pgbook.policies import LinearSoftmax, Policy, TabularSoftmax

_HOMES = {
    "fisher_matrix": fisher,
    "natural_gradient": fisher,
    "compatible_fit": compatible,
    "performance_difference": performance_difference_lemma,
}


@contextlib.contextmanager
def _without(*names: str) -> Iterator[None]:
    """Replace the named library functions (in ``pgbook`` and in their modules) by ones that raise."""
    saved = {name: getattr(pgbook, name) for name in names}

    def refuse(name: str) -> Callable:
        def refused(*args: Any, **kwargs: Any) -> None:
            raise RuntimeError(f"this exercise asks you to compute it yourself, without pg.{name}")

        return refused

    try:
        for name in names:
            setattr(pgbook, name, refuse(name))
            setattr(_HOMES[name], name, refuse(name))
        yield
    finally:
        for name, function in saved.items():
            setattr(pgbook, name, function)
            setattr(_HOMES[name], name, function)


def _check_without(names: tuple[str, ...], label: str, answer: Callable, cases: list, *, rtol: float) -> CheckResult:
    for name in names:
        if answer is getattr(pgbook, name):
            return CheckResult(False, f"{label} is pg.{name} itself: the exercise asks you to write it.")
    with _without(*names):
        return _compare(label, answer, iter(cases), rtol=rtol)


def _problems() -> list[tuple[FiniteMDP, Policy, np.ndarray]]:
    rng = np.random.default_rng(14)
    tabular, linear = TabularSoftmax(4, 3), LinearSoftmax(rng.normal(size=(4, 3, 5)))
    return [
        (envs.random_mdp(4, 3, gamma=0.9, seed=1), tabular, tabular.init_params(seed=1)),
        (envs.random_mdp(4, 3, gamma=1.0, seed=2, n_terminal=1), tabular, tabular.init_params(seed=2)),
        (envs.random_mdp(4, 3, gamma=0.8, seed=3), linear, linear.init_params(seed=3)),
        (envs.short_corridor(), envs.short_corridor_policy(), envs.corridor_params(0.3)),
    ]


def check_fisher_matrix(fisher_function: Callable[[FiniteMDP, Policy, np.ndarray], Any]) -> CheckResult:
    r"""Check ``fisher_function(mdp, policy, theta)``: the matrix
    :math:`F = \sum_s d(s) \sum_a \pi(a|s)\, \psi\psi^\top` with the unnormalised visitation d and the score
    :math:`\psi = \nabla_\theta \log\pi_\theta(a|s)` flattened (``policy.score(theta)``), shape (θ.size, θ.size).

    >>> import pgbook as pg
    >>> def fisher_by_expectation(mdp, policy, theta):
    ...     d, pi = pg.discounted_visitation(mdp, policy, theta), policy.probabilities(theta)
    ...     psi = policy.score(theta).reshape(mdp.n_states, mdp.n_actions, -1)
    ...     return sum(d[s] * pi[s, a] * np.outer(psi[s, a], psi[s, a])
    ...                for s in range(mdp.n_states) for a in range(mdp.n_actions))
    >>> check_fisher_matrix(fisher_by_expectation)
    Correct. fisher(mdp, policy, theta) matched on 4 cases.
    >>> check_fisher_matrix(pg.fisher_matrix)
    Not yet. fisher(mdp, policy, theta) is pg.fisher_matrix itself: the exercise asks you to write it.
    """
    cases = [
        ((mdp, policy, theta.copy()), fisher.fisher_matrix(mdp, policy, theta)) for mdp, policy, theta in _problems()
    ]
    return _check_without(("fisher_matrix",), "fisher(mdp, policy, theta)", fisher_function, cases, rtol=1e-7)


def check_compatible_fit(fit: Callable[[FiniteMDP, Policy, np.ndarray], Any]) -> CheckResult:
    r"""Check ``fit(mdp, policy, theta)``: weights w, shaped like θ, that minimise
    :math:`\sum_s d(s) \sum_a \pi(a|s) (\psi(s,a)^\top w - Q(s,a))^2`. Any minimiser is accepted: the check
    compares :math:`\sum_s d(s) \sum_a \nabla\pi(a|s)\, \psi(s,a)^\top w`, which is the same for all of them,
    with :math:`\nabla J`.

    >>> import pgbook as pg
    >>> def weighted_least_squares(mdp, policy, theta):
    ...     root = np.sqrt(pg.discounted_visitation(mdp, policy, theta)[:, None] * policy.probabilities(theta))
    ...     psi = policy.score(theta).reshape(mdp.n_states, mdp.n_actions, -1)
    ...     design = (root[..., None] * psi).reshape(-1, psi.shape[2])
    ...     target = root * pg.action_values(mdp, policy, theta)
    ...     return np.linalg.lstsq(design, target.ravel(), rcond=None)[0].reshape(theta.shape)
    >>> check_compatible_fit(weighted_least_squares)
    Correct. critic gradient of fit(mdp, policy, theta) matched on 4 cases.
    >>> check_compatible_fit(pg.exact_gradient)  # doctest: +ELLIPSIS
    Not yet. ...
    """
    forbidden = ("compatible_fit", "natural_gradient", "fisher_matrix")
    for name in forbidden:
        if fit is getattr(pgbook, name):
            return CheckResult(False, f"fit is pg.{name} itself: the exercise asks you to write it.")
    problems = _problems()
    expected = [exact_gradient(mdp, policy, theta) for mdp, policy, theta in problems]

    def through_critic(mdp: FiniteMDP, policy: Policy, theta: np.ndarray) -> np.ndarray:
        with _without(*forbidden):
            w = np.asarray(fit(mdp, policy, theta.copy()), dtype=float)
        if w.shape != theta.shape:
            raise ValueError(f"fit returned shape {w.shape}; w must be shaped like theta, {theta.shape}")
        psi = policy.score(theta).reshape(mdp.n_states, mdp.n_actions, -1)
        return compatible.critic_gradient(mdp, policy, theta, psi @ w.ravel())

    cases = [(problem, gradient) for problem, gradient in zip(problems, expected, strict=True)]
    return _compare("critic gradient of fit(mdp, policy, theta)", through_critic, iter(cases), rtol=1e-6)


def check_soft_policy_iteration(step: Callable[[np.ndarray, np.ndarray, float, float], Any]) -> CheckResult:
    r"""Check ``step(pi, A, eta, gamma)``: the policy table after one natural-gradient step of size η on a
    tabular softmax policy, from its table ``pi`` and its advantages ``A`` (the natural gradient taken with the
    normalised visitation, so that the answer is :math:`\pi(a|s) e^{\eta A(s,a)/(1-\gamma)}`, normalised).

    >>> def soft_step(pi, A, eta, gamma):
    ...     new = pi * np.exp(eta * A / (1 - gamma))
    ...     return new / new.sum(axis=1, keepdims=True)
    >>> check_soft_policy_iteration(soft_step)
    Correct. step(pi, A, eta, gamma) matched on 6 cases.
    >>> check_soft_policy_iteration(lambda pi, A, eta, gamma: soft_step(pi, A, eta, 0.0))  # doctest: +ELLIPSIS
    Not yet. ...
    """
    cases = []
    for seed, (gamma, eta) in enumerate([(0.5, 0.1), (0.9, 0.05), (0.9, 0.3), (0.0, 1.0), (0.8, 0.2), (0.95, 0.01)]):
        mdp = envs.random_mdp(4, 3, gamma=gamma, seed=seed)
        policy = TabularSoftmax(4, 3)
        theta = policy.init_params(seed=seed)
        new_theta = theta + eta * fisher.natural_gradient(mdp, policy, theta, normalized=True)
        arguments = (policy.probabilities(theta), advantages(mdp, policy, theta), eta, gamma)
        cases.append((arguments, policy.probabilities(new_theta)))
    return _check_without(("natural_gradient",), "step(pi, A, eta, gamma)", step, cases, rtol=1e-8)


def check_performance_difference(difference: Callable[[FiniteMDP, np.ndarray, np.ndarray], Any]) -> CheckResult:
    r"""Check ``difference(mdp, pi, new_pi)``: the right side of the performance-difference lemma,
    :math:`\sum_s d_{\pi'}(s) \sum_a \pi'(a|s) A_\pi(s,a)`, for two policy tables; its value is
    :math:`J(\pi') - J(\pi)`.

    >>> def lemma(mdp, pi, new_pi):
    ...     V = mdp.state_values(pi)
    ...     A = mdp.action_values(pi, V) - V[:, None]
    ...     return float(np.sum(mdp.discounted_visitation(new_pi)[:, None] * new_pi * A))
    >>> check_performance_difference(lemma)
    Correct. difference(mdp, pi, new_pi) matched on 5 cases.
    >>> check_performance_difference(lambda mdp, pi, new_pi: lemma(mdp, new_pi, pi))  # doctest: +ELLIPSIS
    Not yet. ...
    """
    rng = np.random.default_rng(15)
    cases = []
    for mdp in [envs.random_mdp(4, 3, gamma=g, seed=k) for k, g in enumerate((0.5, 0.9, 0.99))] + [
        envs.random_mdp(5, 2, gamma=1.0, seed=3, n_terminal=1),
        envs.chain(5, gamma=0.9),
    ]:
        pi, new_pi = rng.dirichlet(np.ones(mdp.n_actions), size=(2, mdp.n_states))
        cases.append(((mdp, pi, new_pi), np.asarray(mdp.objective(new_pi) - mdp.objective(pi))))
    return _check_without(("performance_difference",), "difference(mdp, pi, new_pi)", difference, cases, rtol=1e-8)


__all__ = [
    "check_compatible_fit",
    "check_fisher_matrix",
    "check_performance_difference",
    "check_soft_policy_iteration",
]
