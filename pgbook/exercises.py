"""Checks for the book's exercises: each runs the reader's code on several cases and says whether it is right.

Every check returns a :class:`CheckResult`: ``result.passed`` is the verdict, and its text says what was
tried and, for a wrong answer, the first case where it went wrong, with the expected and the returned
values. An exception raised by the reader's code is reported, not re-raised.

The expected values are computed independently of what the reader is asked to write (autodiff for the policy
gradient, the difference quotient itself for central differences), and a check whose exercise is to write a
function the library already has fails if the reader's code calls that library function, however it was
imported: the check watches the calls made while the reader's code runs (:func:`sys.setprofile`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from pgbook import envs
from pgbook.evaluation import discounted_visitation
from pgbook.gradients import autodiff_gradient, autodiff_jacobians, exact_gradient, finite_difference
from pgbook.mdp import FiniteMDP
from pgbook.policies import Policy, SoftmaxPolicy, TabularSoftmax


@dataclass(frozen=True)
class CheckResult:
    """The verdict of an exercise check, printed as one readable message."""

    passed: bool
    message: str

    def __repr__(self) -> str:
        return ("Correct. " if self.passed else "Not yet. ") + self.message

    def __bool__(self) -> bool:
        return self.passed


def check_softmax_score(score: Callable[[np.ndarray, int], Any]) -> CheckResult:
    r"""Check ``score(logits, a)``: the gradient of :math:`\log \mathrm{softmax}(h)_a` with respect to the
    logits h, a vector of shape ``logits.shape`` (the answer is :math:`e_a - \pi`).

    The reader's code may not call the library's :meth:`~pgbook.policies.Policy.score`.

    >>> check_softmax_score(lambda h, a: np.eye(len(h))[a] - np.exp(h) / np.exp(h).sum())
    Correct. score(logits, a) matched on 12 cases.
    """

    def cases() -> Iterator[tuple[tuple, np.ndarray]]:
        rng = np.random.default_rng(0)
        for n_actions in (2, 3, 5):
            policy = TabularSoftmax(1, n_actions)
            for _ in range(4):
                logits = rng.normal(scale=2.0, size=n_actions)
                action = int(rng.integers(n_actions))
                yield (logits.copy(), action), policy.score(logits[None, :])[0, action, 0]

    forbidden = (Policy.score, SoftmaxPolicy.score)
    return _compare("score(logits, a)", score, cases(), rtol=1e-8, forbidden=forbidden)


def check_visitation(visitation: Callable[[FiniteMDP, np.ndarray], Any]) -> CheckResult:
    r"""Check ``visitation(mdp, pi)``: the unnormalised discounted visitation
    :math:`d(s) = \sum_t \gamma^t \Pr(s_t = s)` of the policy table ``pi[s, a]``, zero on terminal states.

    The reader's code may not call the library's visitation (:meth:`FiniteMDP.discounted_visitation`,
    :meth:`FiniteMDP.values_and_visitation`, :func:`pgbook.discounted_visitation`).

    >>> def visitation(mdp, pi):
    ...     P_pi, live = np.einsum("sa,sat->st", pi, mdp.P), ~mdp.terminal
    ...     d = np.zeros(mdp.n_states)
    ...     system = np.eye(live.sum()) - mdp.gamma * P_pi[np.ix_(live, live)]
    ...     d[live] = np.linalg.solve(system.T, mdp.initial[live])
    ...     return d
    >>> check_visitation(visitation)
    Correct. visitation(mdp, pi) matched on 6 cases.
    >>> check_visitation(lambda mdp, pi: mdp.discounted_visitation(pi))  # doctest: +ELLIPSIS
    Not yet. visitation(mdp, pi) called pgbook's discounted_visitation, which computes the answer for you: ...
    """

    def cases() -> Iterator[tuple[tuple, np.ndarray]]:
        problems = [envs.random_mdp(4, 2, gamma=gamma, seed=k) for k, gamma in enumerate((0.0, 0.5, 0.9))]
        problems += [envs.random_mdp(5, 3, gamma=1.0, seed=3, n_terminal=1), envs.short_corridor()]
        problems.append(envs.random_mdp(5, 2, gamma=0.8, seed=4, n_terminal=2))
        rng = np.random.default_rng(1)
        for mdp in problems:
            pi = rng.dirichlet(np.ones(mdp.n_actions), size=mdp.n_states)
            yield (mdp, pi), mdp.discounted_visitation(pi)

    forbidden = (FiniteMDP.discounted_visitation, FiniteMDP.values_and_visitation, discounted_visitation)
    return _compare("visitation(mdp, pi)", visitation, cases(), rtol=1e-8, forbidden=forbidden)


def check_central_difference(difference: Callable[[Callable, np.ndarray, float], Any]) -> CheckResult:
    r"""Check ``difference(f, theta, h)``: the central-difference gradient
    :math:`(f(\theta + h e_i) - f(\theta - h e_i)) / 2h` for every coordinate i.

    The expected value is that quotient, evaluated here; the reader's code may not call
    :func:`pgbook.finite_difference`, the function the exercise asks for.

    >>> def difference(f, theta, h):
    ...     steps = h * np.eye(theta.size)
    ...     return np.array([(f(theta + e) - f(theta - e)) / (2 * h) for e in steps])
    >>> check_central_difference(difference)
    Correct. difference(f, theta, h) matched on 6 cases.
    >>> check_central_difference(lambda f, theta, h: finite_difference(f, theta, step=h))  # doctest: +ELLIPSIS
    Not yet. difference(f, theta, h) called pgbook's finite_difference, which computes the answer for you: ...
    """

    def cases() -> Iterator[tuple[tuple, np.ndarray]]:
        functions = [lambda t: float(np.sum(np.sin(t) * t**2)), lambda t: float(np.exp(t[0]) * t[-1] ** 3)]
        rng = np.random.default_rng(2)
        for function in functions:
            for h in (1e-2, 1e-3, 1e-4):
                theta = rng.normal(size=3)
                quotients = [(function(theta + step) - function(theta - step)) / (2 * h) for step in h * np.eye(3)]
                yield (function, theta.copy(), h), np.array(quotients)

    return _compare("difference(f, theta, h)", difference, cases(), rtol=1e-7, forbidden=(finite_difference,))


def check_policy_gradient(gradient: Callable[[FiniteMDP, Policy, np.ndarray], Any]) -> CheckResult:
    r"""Check ``gradient(mdp, policy, theta)``: the exact :math:`\nabla_\theta J`, for example by the policy
    gradient theorem from :func:`pgbook.discounted_visitation` and :func:`pgbook.action_values`.

    The expected value is :func:`pgbook.autodiff_gradient`, which knows nothing of the theorem; the reader's code
    may not call :func:`pgbook.exact_gradient` (the function the exercise asks for), nor the other gradient oracles
    (:func:`pgbook.autodiff_gradient`, :func:`pgbook.autodiff_jacobians`, :func:`pgbook.finite_difference`).

    >>> import pgbook as pg
    >>> def gradient(mdp, policy, theta):
    ...     d = pg.discounted_visitation(mdp, policy, theta)
    ...     weights = policy.probabilities(theta) * pg.action_values(mdp, policy, theta)
    ...     return np.einsum("s,sa,sa...->...", d, weights, policy.score(theta))
    >>> check_policy_gradient(gradient)
    Correct. gradient(mdp, policy, theta) matched on 4 cases.
    >>> check_policy_gradient(exact_gradient)  # doctest: +ELLIPSIS
    Not yet. gradient(mdp, policy, theta) called pgbook's exact_gradient, which computes the answer for you: ...
    """

    def cases() -> Iterator[tuple[tuple, np.ndarray]]:
        tabular = TabularSoftmax(4, 3)
        problems = [
            (envs.random_mdp(4, 3, gamma=0.9, seed=5), tabular, tabular.init_params(seed=5)),
            (envs.random_mdp(4, 3, gamma=1.0, seed=6, n_terminal=1), tabular, tabular.init_params(seed=6)),
            (envs.short_corridor(), envs.short_corridor_policy(), envs.corridor_params(0.3)),
            (envs.short_corridor(), envs.corridor_recognising_policy(), np.array([0.5, -0.5])),
        ]
        for mdp, policy, theta in problems:
            yield (mdp, policy, theta.copy()), autodiff_gradient(mdp, policy, theta)

    forbidden = (exact_gradient, autodiff_gradient, autodiff_jacobians, finite_difference)
    return _compare("gradient(mdp, policy, theta)", gradient, cases(), rtol=1e-6, forbidden=forbidden)


class _Forbidden(Exception):
    """Raised inside the reader's code when it calls a function the exercise asks it to write."""


@contextmanager
def _out_of_reach(functions: tuple[Callable, ...]) -> Iterator[list[str]]:
    """While the block runs, a call to any of ``functions`` (however imported) raises :class:`_Forbidden`.

    The names of the functions called are also collected in the list the block receives, in case the reader's
    code catches the exception.
    """
    codes = {function.__code__: function.__name__ for function in functions}
    called: list[str] = []

    def watch(frame, event, argument):  # noqa: ARG001 (the profiler's signature)
        if event == "call" and frame.f_code in codes:
            called.append(codes[frame.f_code])
            raise _Forbidden(codes[frame.f_code])

    previous = sys.getprofile()
    sys.setprofile(watch)
    try:
        yield called
    finally:
        sys.setprofile(previous)


def _compare(
    name: str,
    answer: Callable,
    cases: Iterator[tuple[tuple, np.ndarray]],
    *,
    rtol: float,
    forbidden: tuple[Callable, ...] = (),
) -> CheckResult:
    if not callable(answer):
        return CheckResult(False, f"{name} must be a function; got {type(answer).__name__}.")
    count = 0
    for arguments, expected in cases:
        count += 1
        try:
            with _out_of_reach(forbidden) as called:
                returned = answer(*arguments)
            if called:
                raise _Forbidden(called[0])
            returned = np.asarray(returned, dtype=float)
        except _Forbidden as forbidden_call:
            return CheckResult(
                False,
                f"{name} called pgbook's {forbidden_call}, which computes the answer for you: the exercise is "
                "to write it yourself.",
            )
        except Exception as error:  # the reader's code: report it, do not crash the check
            return CheckResult(False, f"{name} raised {type(error).__name__}: {error} (case {count}).")
        if returned.shape != expected.shape:
            return CheckResult(
                False, f"{name} returned shape {returned.shape} in case {count}; expected shape {expected.shape}."
            )
        scale = max(np.abs(expected).max(initial=0.0), 1.0)
        if not np.all(np.abs(returned - expected) <= rtol * scale):
            return CheckResult(
                False,
                f"in case {count}, {name} returned\n{np.array2string(returned, precision=6)}\nbut the answer is\n"
                f"{np.array2string(expected, precision=6)}",
            )
    return CheckResult(True, f"{name} matched on {count} cases.")


# Part II ------------------------------------------------------------------------------------------------


def check_optimal_state_baseline(baseline: Callable[[np.ndarray, np.ndarray, np.ndarray], Any]) -> CheckResult:
    r"""Check ``baseline(pi, score, q)``: the state baseline that minimises the action term of the variance,
    :math:`b^*(s) = \sum_a \pi(a|s) \|\nabla\log\pi(a|s)\|^2 Q(s,a) / \sum_a \pi(a|s) \|\nabla\log\pi(a|s)\|^2`,
    shape (n_states,), from ``pi[s, a]``, ``score[s, a, ...]`` (any number of parameter axes) and ``q[s, a]``.

    The scores are arbitrary arrays, not those of a softmax policy, so the answer must use the ``score`` it is
    given.

    >>> check_optimal_state_baseline(
    ...     lambda pi, score, q: np.einsum("sa,sa,sa->s", pi, (score**2).reshape(*pi.shape, -1).sum(-1), q)
    ...     / np.einsum("sa,sa->s", pi, (score**2).reshape(*pi.shape, -1).sum(-1)))
    Correct. baseline(pi, score, q) matched on 6 cases.
    """

    def cases() -> Iterator[tuple[tuple, np.ndarray]]:
        rng = np.random.default_rng(10)
        shapes = ((1, 2, (2,)), (3, 4, (5,)), (4, 3, (2, 3)), (5, 2, (1,)), (2, 5, (3, 2, 2)), (6, 3, (4,)))
        for n_states, n_actions, param_shape in shapes:
            pi = rng.dirichlet(np.ones(n_actions), size=n_states)
            score = rng.normal(size=(n_states, n_actions, *param_shape))
            q = rng.normal(scale=3.0, size=(n_states, n_actions))
            expected = np.empty(n_states)
            for s in range(n_states):  # a weighted mean of q[s], weights π(a|s) ‖score(s, a)‖²
                norms = np.array([np.sum(score[s, a] ** 2) for a in range(n_actions)])
                expected[s] = np.average(q[s], weights=pi[s] * norms)
            yield (pi.copy(), score.copy(), q.copy()), expected

    return _compare("baseline(pi, score, q)", baseline, cases(), rtol=1e-8)


def check_gae_advantages(gae: Callable[[np.ndarray, np.ndarray, float, float], Any]) -> CheckResult:
    r"""Check ``gae(rewards, values, gamma, lam)``: the GAE(λ) advantages of one episode,
    :math:`\hat A_t = \sum_{l \ge 0} (\gamma\lambda)^l \delta_{t+l}` with
    :math:`\delta_t = r_{t+1} + \gamma V(s_{t+1}) - V(s_t)`, shape (T,).

    ``rewards`` holds :math:`r_1, \dots, r_T` (length T) and ``values`` holds :math:`V(s_0), \dots, V(s_T)`
    (length T + 1; the last is 0 if the episode terminated, the critic's value of the state where it was cut
    off otherwise).

    >>> def gae(rewards, values, gamma, lam):
    ...     deltas = rewards + gamma * values[1:] - values[:-1]
    ...     return np.array([np.sum((gamma * lam) ** np.arange(len(deltas) - t) * deltas[t:])
    ...                      for t in range(len(deltas))])
    >>> check_gae_advantages(gae)
    Correct. gae(rewards, values, gamma, lam) matched on 9 cases.
    """

    def cases() -> Iterator[tuple[tuple, np.ndarray]]:
        rng = np.random.default_rng(11)
        for length, gamma, lam in (
            (1, 0.9, 0.5), (5, 0.9, 0.0), (5, 0.9, 1.0), (8, 0.0, 0.7), (12, 1.0, 0.95),
            (20, 0.99, 0.9), (30, 0.5, 0.5), (3, 1.0, 1.0), (40, 0.95, 0.8),
        ):  # fmt: skip
            rewards = rng.normal(size=length)
            values = rng.normal(scale=2.0, size=length + 1)
            expected = np.zeros(length)
            for t in range(length):  # the sum as defined, term by term
                for k in range(t, length):
                    delta = rewards[k] + gamma * values[k + 1] - values[k]
                    expected[t] += (gamma * lam) ** (k - t) * delta
            yield (rewards.copy(), values.copy(), gamma, lam), expected

    return _compare("gae(rewards, values, gamma, lam)", gae, cases(), rtol=1e-9)


def check_gaussian_score(score: Callable[[np.ndarray, np.ndarray, float], Any]) -> CheckResult:
    r"""Check ``score(a, mean, std)``: the gradient of :math:`\log \mathcal N(a;\ m, \sigma^2 I)` with respect to
    the mean m and the standard deviation σ, as one vector of length n + 1 for an action of dimension n:
    :math:`\big((a - m)/\sigma^2,\ (\|a - m\|^2/\sigma^2 - n)/\sigma\big)`.

    The reference is automatic differentiation of the density (``torch.distributions.Normal``).

    >>> check_gaussian_score(lambda a, m, s: np.append((a - m) / s**2, (np.sum((a - m) ** 2) / s**2 - len(a)) / s))
    Correct. score(a, mean, std) matched on 12 cases.
    """
    import torch

    def cases() -> Iterator[tuple[tuple, np.ndarray]]:
        rng = np.random.default_rng(12)
        for dimension in (1, 2, 4):
            for std in (0.1, 0.5, 1.0, 3.0):
                mean = rng.normal(size=dimension)
                action = mean + std * rng.normal(size=dimension)
                m = torch.tensor(mean, requires_grad=True)
                s = torch.tensor(std, dtype=torch.float64, requires_grad=True)
                log_density = torch.distributions.Normal(m, s).log_prob(torch.tensor(action)).sum()
                grad_mean, grad_std = torch.autograd.grad(log_density, (m, s))
                yield (action.copy(), mean.copy(), std), np.append(grad_mean.numpy(), grad_std.item())

    return _compare("score(a, mean, std)", score, cases(), rtol=1e-9)


def check_learned_baseline_weights(
    weights: Callable[[np.ndarray, float, float, float], tuple[Any, float]],
) -> CheckResult:
    r"""Check ``weights(rewards, gamma, alpha_w, w)``: one episode of REINFORCE with a learned baseline
    (Sutton & Barto 2018, §13.4, with a single baseline number w). For t = 0, 1, ..., T − 1 in turn, the step
    weight is :math:`\gamma^t (G_t - w)` with w as it stands at step t, then :math:`w \leftarrow w + \alpha_w
    (G_t - w)`. ``rewards`` holds :math:`r_1, \dots, r_T`; return the pair (the T weights, the final w).

    The reference uses the closed form :math:`w_t = (1-\alpha_w)^t w_0 + \alpha_w \sum_{k<t} (1-\alpha_w)^{t-1-k} G_k`.

    >>> def weights(rewards, gamma, alpha_w, w):
    ...     G = np.array([np.sum(gamma ** np.arange(len(rewards) - t) * rewards[t:]) for t in range(len(rewards))])
    ...     out = []
    ...     for t in range(len(rewards)):
    ...         out.append(gamma**t * (G[t] - w))
    ...         w = w + alpha_w * (G[t] - w)
    ...     return np.array(out), w
    >>> check_learned_baseline_weights(weights)
    Correct. weights(rewards, gamma, alpha_w, w) matched on 8 cases.
    """

    def cases() -> Iterator[tuple[tuple, np.ndarray]]:
        rng = np.random.default_rng(13)
        for length, gamma, alpha, w0 in (
            (1, 1.0, 0.1, 0.0), (4, 1.0, 0.5, -3.0), (10, 0.9, 2.0**-6, 0.0), (10, 0.9, 0.0, 1.5),
            (25, 1.0, 0.2, -20.0), (7, 0.5, 1.0, 2.0), (30, 0.99, 0.05, 0.3), (15, 0.0, 0.3, 1.0),
        ):  # fmt: skip
            rewards = rng.normal(loc=-1.0, size=length)
            returns = np.array([np.sum(gamma ** np.arange(length - t) * rewards[t:]) for t in range(length)])
            baselines = np.array(
                [
                    (1 - alpha) ** t * w0 + alpha * sum((1 - alpha) ** (t - 1 - k) * returns[k] for k in range(t))
                    for t in range(length + 1)
                ]
            )
            expected = np.append(gamma ** np.arange(length) * (returns - baselines[:-1]), baselines[-1])
            yield (rewards.copy(), gamma, alpha, w0), expected

    def flattened(*arguments: Any) -> np.ndarray:
        step_weights, final = weights(*arguments)
        return np.append(np.asarray(step_weights, dtype=float), float(final))

    if not callable(weights):
        return CheckResult(
            False, f"weights(rewards, gamma, alpha_w, w) must be a function; got {type(weights).__name__}."
        )
    result = _compare("weights(rewards, gamma, alpha_w, w)", flattened, cases(), rtol=1e-9)
    if result.passed:
        return result
    return CheckResult(False, result.message + "\n(the last entry is the final w, the others the step weights)")
