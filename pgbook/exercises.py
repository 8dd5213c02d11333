"""Checks for the book's exercises: each runs the reader's code on several cases and says whether it is right.

Every check returns a :class:`CheckResult`: ``result.passed`` is the verdict, and its text says what was
tried and, for a wrong answer, the first case where it went wrong, with the expected and the returned
values. An exception raised by the reader's code is reported, not re-raised.

The expected values are computed independently of what the reader is asked to write (autodiff for the policy
gradient, the difference quotient itself for central differences, exact objectives for the performance
difference lemma) or by the library's own function, which its tests check against such an oracle (the Fisher
matrix, the natural step). Each check has an *allow-list*: the pgbook functions the reader's code may call
(the ingredients the exercise names, such as :func:`pgbook.action_values`). A call from the reader's code to
any other pgbook function fails the check, however it was imported and even if the call sits in a
``try``/``except``: the check watches the calls made while the reader's code runs (:func:`sys.setprofile`).
Only the reader's own calls are judged; what an allowed function calls inside pgbook is not.

The checks come in the order of the book: Part I, Part II, Part III, then Part IV.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pgbook import examples, lqr
from pgbook.compatible import critic_gradient
from pgbook.evaluation import exact_objective
from pgbook.fisher import fisher_matrix, natural_gradient
from pgbook.gradients import autodiff_gradient, exact_gradient
from pgbook.mdp import FiniteMDP
from pgbook.policies import LinearSoftmax, Policy, TabularSoftmax, policy_table
from pgbook.update_field import coordination_counterexample
from pgbook.variance import score_weighted_values


@dataclass(frozen=True)
class CheckResult:
    """The verdict of an exercise check, printed as one readable message."""

    passed: bool
    message: str

    def __repr__(self) -> str:
        return ("Correct. " if self.passed else "Not yet. ") + self.message

    def __bool__(self) -> bool:
        return self.passed


class _Forbidden(Exception):
    """Raised inside the reader's code when it calls a pgbook function the exercise does not allow."""


_HERE = __file__
_PACKAGE = str(Path(__file__).resolve().parent)
# Always allowed: the shapes of the problems the checks hand over (properties are calls too).
_BASE = frozenset({("mdp", "n_states"), ("mdp", "n_actions"), ("lqr", "n_states"), ("lqr", "n_controls")})
# The ingredients of the policy gradient theorem: visitation, values, the policy's table and score.
_INGREDIENTS = _BASE | {
    ("evaluation", "discounted_visitation"),
    ("evaluation", "action_values"),
    ("evaluation", "state_values"),
    ("evaluation", "advantages"),
    ("policies", "probabilities"),
    ("policies", "score"),
    ("mdp", "discounted_visitation"),
    ("mdp", "action_values"),
    ("mdp", "state_values"),
    ("mdp", "values_and_visitation"),
}


def _call_reader(function: Callable, *arguments: Any) -> Any:
    """Call the reader's ``function``: every pgbook function called from here or from the reader's own code is
    judged against the allow-list (so passing a library function itself as the answer is judged too)."""
    return function(*arguments)


def _in_package(code: Any) -> bool:
    return code.co_filename.startswith(_PACKAGE)


@contextmanager
def _within(allowed: frozenset[tuple[str, str]]) -> Iterator[list[str]]:
    """While the block runs, a call from the reader's code to a pgbook function not in ``allowed`` (pairs of
    module name and function name; dunder methods such as ``__init__`` always pass) raises :class:`_Forbidden`.

    The names of the functions called are also collected in the list the block receives, in case the reader's
    code catches the exception.
    """
    called: list[str] = []
    boundary = _call_reader.__code__

    def watch(frame, event, argument):  # noqa: ARG001 (the profiler's signature)
        if event != "call" or not _in_package(frame.f_code) or frame.f_code.co_filename == _HERE:
            return  # this module's own code: the guard, and the functions a check hands the reader
        caller = frame.f_back
        if caller is not None and _in_package(caller.f_code) and caller.f_code is not boundary:
            return  # pgbook calling itself
        code = frame.f_code
        if code.co_name.startswith("__") or (Path(code.co_filename).stem, code.co_name) in allowed:
            return
        called.append(code.co_name)
        raise _Forbidden(code.co_name)

    previous = sys.getprofile()
    sys.setprofile(watch)
    try:
        yield called
    finally:
        sys.setprofile(previous)


def _allowed_names(allowed: frozenset[tuple[str, str]]) -> str:
    names = sorted({name for module, name in allowed - _BASE})
    return ", ".join(names) if names else "nothing from pgbook"


def _compare(
    name: str,
    answer: Callable,
    cases: Iterator[tuple[tuple, np.ndarray]],
    *,
    rtol: float,
    allowed: frozenset[tuple[str, str]] = _BASE,
    reader: bool = True,
) -> CheckResult:
    """Run ``answer`` on each case and compare. ``reader=False`` marks ``answer`` as the check's own wrapper,
    which calls the reader's function through :func:`_call_reader` itself."""
    if not callable(answer):
        return CheckResult(False, f"{name} must be a function; got {type(answer).__name__}.")
    count = 0
    for arguments, expected in cases:
        count += 1
        try:
            with _within(allowed) as called:
                returned = _call_reader(answer, *arguments) if reader else answer(*arguments)
            if called:
                raise _Forbidden(called[0])
            returned = np.asarray(returned, dtype=float)
        except _Forbidden as forbidden_call:
            return CheckResult(
                False,
                f"{name} called pgbook's {forbidden_call}, which this exercise does not let you use (it may call "
                f"{_allowed_names(allowed)}): the exercise is to compute it yourself.",
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


# Part I -------------------------------------------------------------------------------------------------


def check_softmax_score(score: Callable[[np.ndarray, int], Any]) -> CheckResult:
    r"""Check ``score(logits, a)``: the gradient of :math:`\log \mathrm{softmax}(h)_a` with respect to the
    logits h, a vector of shape ``logits.shape`` (the answer is :math:`e_a - \pi`).

    The reader's code may call nothing from pgbook (not :meth:`~pgbook.policies.Policy.score`, for one).

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

    return _compare("score(logits, a)", score, cases(), rtol=1e-8)


def check_visitation(visitation: Callable[[FiniteMDP, np.ndarray], Any]) -> CheckResult:
    r"""Check ``visitation(mdp, pi)``: the unnormalised discounted visitation
    :math:`d(s) = \sum_t \gamma^t \Pr(s_t = s)` of the policy table ``pi[s, a]``, zero on terminal states.

    The reader's code may call nothing from pgbook but the MDP's sizes and :meth:`FiniteMDP.markov_chain` (not
    :func:`pgbook.discounted_visitation` or :meth:`FiniteMDP.discounted_visitation`, for one).

    >>> def visitation(mdp, pi):
    ...     P_pi, live = np.einsum("sa,sat->st", pi, mdp.P), ~mdp.terminal
    ...     d = np.zeros(mdp.n_states)
    ...     system = np.eye(live.sum()) - mdp.gamma * P_pi[np.ix_(live, live)]
    ...     d[live] = np.linalg.solve(system.T, mdp.initial[live])
    ...     return d
    >>> check_visitation(visitation)
    Correct. visitation(mdp, pi) matched on 6 cases.
    >>> check_visitation(lambda mdp, pi: mdp.discounted_visitation(pi))  # doctest: +ELLIPSIS
    Not yet. visitation(mdp, pi) called pgbook's discounted_visitation, ...
    """

    def cases() -> Iterator[tuple[tuple, np.ndarray]]:
        problems = [examples.random_mdp(4, 2, gamma=gamma, seed=k) for k, gamma in enumerate((0.0, 0.5, 0.9))]
        problems += [examples.random_mdp(5, 3, gamma=1.0, seed=3, n_terminal=1), examples.short_corridor()]
        problems.append(examples.random_mdp(5, 2, gamma=0.8, seed=4, n_terminal=2))
        rng = np.random.default_rng(1)
        for mdp in problems:
            pi = rng.dirichlet(np.ones(mdp.n_actions), size=mdp.n_states)
            yield (mdp, pi), mdp.discounted_visitation(pi)

    allowed = _BASE | {("mdp", "markov_chain")}  # P_π and r_π: the chain the visitation is computed from
    return _compare("visitation(mdp, pi)", visitation, cases(), rtol=1e-8, allowed=allowed)


def check_central_difference(difference: Callable[[Callable, np.ndarray, float], Any]) -> CheckResult:
    r"""Check ``difference(f, theta, h)``: the central-difference gradient
    :math:`(f(\theta + h e_i) - f(\theta - h e_i)) / 2h` for every coordinate i.

    The expected value is that quotient, evaluated here; the reader's code may call nothing from pgbook (not
    :func:`pgbook.finite_difference`, the function the exercise asks for).

    >>> def difference(f, theta, h):
    ...     steps = h * np.eye(theta.size)
    ...     return np.array([(f(theta + e) - f(theta - e)) / (2 * h) for e in steps])
    >>> check_central_difference(difference)
    Correct. difference(f, theta, h) matched on 6 cases.
    >>> from pgbook.finite_differences import finite_difference
    >>> check_central_difference(lambda f, theta, h: finite_difference(f, theta, step=h))  # doctest: +ELLIPSIS
    Not yet. difference(f, theta, h) called pgbook's finite_difference, ...
    """

    def cases() -> Iterator[tuple[tuple, np.ndarray]]:
        functions = [lambda t: float(np.sum(np.sin(t) * t**2)), lambda t: float(np.exp(t[0]) * t[-1] ** 3)]
        rng = np.random.default_rng(2)
        for function in functions:
            for h in (1e-2, 1e-3, 1e-4):
                theta = rng.normal(size=3)
                quotients = [(function(theta + step) - function(theta - step)) / (2 * h) for step in h * np.eye(3)]
                yield (function, theta.copy(), h), np.array(quotients)

    return _compare("difference(f, theta, h)", difference, cases(), rtol=1e-7)


def check_policy_gradient(gradient: Callable[[FiniteMDP, Policy, np.ndarray], Any]) -> CheckResult:
    r"""Check ``gradient(mdp, policy, theta)``: the exact :math:`\nabla_\theta J`, for example by the policy
    gradient theorem from :func:`pgbook.discounted_visitation` and :func:`pgbook.action_values`.

    The expected value is :func:`pgbook.autodiff_gradient`, which knows nothing of the theorem. The reader's code
    may call only the theorem's ingredients (:func:`pgbook.discounted_visitation`, :func:`pgbook.action_values`,
    :func:`pgbook.state_values`, :func:`pgbook.advantages`, the policy's ``probabilities`` and ``score``, the MDP's
    own evaluation methods): not :func:`pgbook.exact_gradient`, :func:`pgbook.critic_gradient`, the policy's
    ``weighted_probability_gradient`` or :func:`pgbook.mistakes.expected_gradient`, each of which computes it.

    >>> import pgbook as pg
    >>> def gradient(mdp, policy, theta):
    ...     d = pg.discounted_visitation(mdp, policy, theta)
    ...     weights = policy.probabilities(theta) * pg.action_values(mdp, policy, theta)
    ...     return np.einsum("s,sa,sa...->...", d, weights, policy.score(theta))
    >>> check_policy_gradient(gradient)
    Correct. gradient(mdp, policy, theta) matched on 4 cases.
    >>> check_policy_gradient(exact_gradient)  # doctest: +ELLIPSIS
    Not yet. gradient(mdp, policy, theta) called pgbook's exact_gradient, ...
    """

    def cases() -> Iterator[tuple[tuple, np.ndarray]]:
        tabular = TabularSoftmax(4, 3)
        problems = [
            (examples.random_mdp(4, 3, gamma=0.9, seed=5), tabular, tabular.init_params(seed=5)),
            (examples.random_mdp(4, 3, gamma=1.0, seed=6, n_terminal=1), tabular, tabular.init_params(seed=6)),
            (examples.short_corridor(), examples.short_corridor_policy(), examples.corridor_params(0.3)),
            (examples.short_corridor(), examples.corridor_recognising_policy(), np.array([0.5, -0.5])),
        ]
        for mdp, policy, theta in problems:
            yield (mdp, policy, theta.copy()), autodiff_gradient(mdp, policy, theta)

    return _compare("gradient(mdp, policy, theta)", gradient, cases(), rtol=1e-6, allowed=_INGREDIENTS)


# Part II ------------------------------------------------------------------------------------------------


def check_optimal_state_baseline(baseline: Callable[[np.ndarray, np.ndarray, np.ndarray], Any]) -> CheckResult:
    r"""Check ``baseline(pi, score, q)``: the state baseline that minimises the action term of the variance,
    :math:`b^*(s)` :math:`{} = \sum_a \pi(a|s) \|\nabla\log\pi(a|s)\|^2 Q(s,a)`
    :math:`{} / \sum_a \pi(a|s) \|\nabla\log\pi(a|s)\|^2`,
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
            yield (pi.copy(), score.copy(), q.copy()), score_weighted_values(pi, score, q)

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
    the mean m and the standard deviation σ, as one vector of length dim a + 1 for an action a of dimension dim a:
    the part for m, :math:`(a - m)/\sigma^2`, then the one for σ,
    :math:`(\|a - m\|^2/\sigma^2 - \dim a)/\sigma`.

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

    The reference uses the closed form :math:`w_t = (1-\alpha_w)^t w_0`
    :math:`{} + \alpha_w \sum_{k<t} (1-\alpha_w)^{t-1-k} G_k`.

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
        step_weights, final = _call_reader(weights, *arguments)
        return np.append(np.asarray(step_weights, dtype=float), float(final))

    if not callable(weights):
        return CheckResult(
            False, f"weights(rewards, gamma, alpha_w, w) must be a function; got {type(weights).__name__}."
        )
    result = _compare("weights(rewards, gamma, alpha_w, w)", flattened, cases(), rtol=1e-9, reader=False)
    if result.passed:
        return result
    return CheckResult(False, result.message + "\n(the last entry is the final w, the others the step weights)")


# Part III: compatible features, the natural gradient, convergence ---------------------------------------


def _policy_problems() -> list[tuple[FiniteMDP, Policy, np.ndarray]]:
    rng = np.random.default_rng(14)
    tabular, linear = TabularSoftmax(4, 3), LinearSoftmax(rng.normal(size=(4, 3, 5)))
    return [
        (examples.random_mdp(4, 3, gamma=0.9, seed=1), tabular, tabular.init_params(seed=1)),
        (examples.random_mdp(4, 3, gamma=1.0, seed=2, n_terminal=1), tabular, tabular.init_params(seed=2)),
        (examples.random_mdp(4, 3, gamma=0.8, seed=3), linear, linear.init_params(seed=3)),
        (examples.short_corridor(), examples.short_corridor_policy(), examples.corridor_params(0.3)),
    ]


def check_fisher_matrix(fisher_function: Callable[[FiniteMDP, Policy, np.ndarray], Any]) -> CheckResult:
    r"""Check ``fisher_function(mdp, policy, theta)``: the matrix
    :math:`F = \sum_s d(s) \sum_a \pi(a|s)\, \psi\psi^\top` with the unnormalised visitation d and the score
    :math:`\psi = \nabla_\theta \log\pi_\theta(a|s)` flattened (``policy.score(theta)``), shape (θ.size, θ.size).

    The reader's code may call only the visitation and the policy's ``probabilities`` and ``score``.

    >>> import pgbook as pg
    >>> def fisher_by_expectation(mdp, policy, theta):
    ...     d, pi = pg.discounted_visitation(mdp, policy, theta), policy.probabilities(theta)
    ...     psi = policy.score(theta).reshape(mdp.n_states, mdp.n_actions, -1)
    ...     return sum(d[s] * pi[s, a] * np.outer(psi[s, a], psi[s, a])
    ...                for s in range(mdp.n_states) for a in range(mdp.n_actions))
    >>> check_fisher_matrix(fisher_by_expectation)
    Correct. fisher(mdp, policy, theta) matched on 4 cases.
    >>> check_fisher_matrix(pg.fisher_matrix)  # doctest: +ELLIPSIS
    Not yet. fisher(mdp, policy, theta) called pgbook's fisher_matrix, ...
    """
    cases = [
        ((mdp, policy, theta.copy()), fisher_matrix(mdp, policy, theta)) for mdp, policy, theta in _policy_problems()
    ]
    allowed = _BASE | {
        ("evaluation", "discounted_visitation"),
        ("mdp", "discounted_visitation"),
        ("policies", "probabilities"),
        ("policies", "score"),
    }
    return _compare("fisher(mdp, policy, theta)", fisher_function, iter(cases), rtol=1e-7, allowed=allowed)


def _through_compatible_critic(function: Callable, name: str) -> Callable:
    r"""The gradient :math:`\sum_s d(s) \sum_a \nabla\pi\, f_w` of the compatible critic :math:`f_w = \psi^\top w`
    whose weights w are the reader's ``function(mdp, policy, theta)`` (shaped like θ), as a function for
    :func:`_compare`."""

    def through_critic(mdp: FiniteMDP, policy: Policy, theta: np.ndarray) -> np.ndarray:
        w = np.asarray(_call_reader(function, mdp, policy, theta.copy()), dtype=float)
        if w.shape != theta.shape:
            raise ValueError(f"{name} returned shape {w.shape}; w must be shaped like theta, {theta.shape}")
        psi = policy.score(theta).reshape(mdp.n_states, mdp.n_actions, -1)
        return critic_gradient(mdp, policy, theta, psi @ w.ravel())

    return through_critic


def check_compatible_fit(fit: Callable[[FiniteMDP, Policy, np.ndarray], Any]) -> CheckResult:
    r"""Check ``fit(mdp, policy, theta)``: weights w, shaped like θ, that minimise
    :math:`\sum_s d(s) \sum_a \pi(a|s) (\psi(s,a)^\top w` :math:`{} - Q(s,a))^2`. Any minimiser is accepted: the check
    compares :math:`\sum_s d(s) \sum_a \nabla\pi(a|s)\, \psi(s,a)^\top w`, which is the same for all of them,
    with :math:`\nabla J` (:func:`pgbook.exact_gradient`).

    The reader's code may call only the theorem's ingredients (as for :func:`check_policy_gradient`): not
    :func:`pgbook.compatible_fit`, :func:`pgbook.natural_gradient` or :func:`pgbook.fisher_matrix`.

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
    problems = _policy_problems()
    cases = [(problem, exact_gradient(*problem)) for problem in problems]

    through_critic = _through_compatible_critic(fit, "fit")
    if not callable(fit):
        return CheckResult(False, f"fit(mdp, policy, theta) must be a function; got {type(fit).__name__}.")
    return _compare(
        "critic gradient of fit(mdp, policy, theta)",
        through_critic,
        iter(cases),
        rtol=1e-6,
        allowed=_INGREDIENTS,
        reader=False,
    )


def check_tabular_compatible_weights(weights: Callable[[FiniteMDP, Policy, np.ndarray], Any]) -> CheckResult:
    r"""Check ``weights(mdp, policy, theta)`` for a tabular softmax policy: the weights w, shaped like θ, of a
    compatible critic :math:`f_w = \psi^\top w` that minimises the weighted error, in closed form. With
    :math:`\psi(s,a)^\top w = w(s,a) - \sum_b \pi(b|s)\, w(s,b)` the fit is exact, :math:`f_w = A` on the visited
    states, and the minimisers are the advantages plus any constant in each state.

    The check compares the critic's gradient :math:`\sum_s d(s) \sum_a \nabla\pi\, f_w` with :math:`\nabla J`
    (:func:`pgbook.exact_gradient`) on three tabular problems. The reader's code may call only
    ``policy.probabilities`` and the values (:func:`pgbook.advantages`, :func:`pgbook.action_values`,
    :func:`pgbook.state_values`): neither the visitation nor the score, so no least-squares fit, and not
    :func:`pgbook.natural_gradient` or :func:`pgbook.compatible_fit`.

    >>> import pgbook as pg
    >>> check_tabular_compatible_weights(lambda mdp, policy, theta: pg.advantages(mdp, policy, theta))
    Correct. critic gradient of weights(mdp, policy, theta) matched on 3 cases.
    >>> check_tabular_compatible_weights(pg.exact_gradient)  # doctest: +ELLIPSIS
    Not yet. ...
    """
    tabular = TabularSoftmax(4, 3)
    problems: list[tuple[FiniteMDP, Policy, np.ndarray]] = [
        (examples.random_mdp(4, 3, gamma=0.9, seed=1), tabular, tabular.init_params(seed=1)),
        (examples.random_mdp(4, 3, gamma=1.0, seed=2, n_terminal=1), tabular, tabular.init_params(seed=2)),
        (examples.random_mdp(5, 4, gamma=0.7, seed=5), TabularSoftmax(5, 4), TabularSoftmax(5, 4).init_params(seed=5)),
    ]
    cases = [(problem, exact_gradient(*problem)) for problem in problems]

    through_critic = _through_compatible_critic(weights, "weights")
    if not callable(weights):
        return CheckResult(False, f"weights(mdp, policy, theta) must be a function; got {type(weights).__name__}.")
    allowed = _BASE | {
        ("evaluation", "advantages"),
        ("evaluation", "action_values"),
        ("evaluation", "state_values"),
        ("mdp", "action_values"),
        ("mdp", "state_values"),
        ("policies", "probabilities"),
    }
    return _compare(
        "critic gradient of weights(mdp, policy, theta)",
        through_critic,
        iter(cases),
        rtol=1e-6,
        allowed=allowed,
        reader=False,
    )


# Part III: the deterministic policy gradient, the update without γᵗ, surrogate objectives ---------------


def _linear_quadratic_systems() -> list[tuple[lqr.LinearQuadratic, np.ndarray]]:
    return [
        (lqr.LinearQuadratic([[1.0]], [[1.0]], [[1.0]], [[1.0]], [[1.0]], gamma=0.9), np.array([[0.5]])),
        (
            lqr.LinearQuadratic(
                [[1.0, 0.2], [0.0, 0.9]], [[0.0], [1.0]], np.eye(2), [[0.5]], np.diag([1.0, 0.5]), gamma=0.95
            ),
            np.array([[0.3, 0.6]]),
        ),
    ]


def check_noise_gap(gap: Callable[[lqr.LinearQuadratic, np.ndarray], Any]) -> CheckResult:
    r"""Check ``gap(system, gain)``: the matrix :math:`(\nabla_K C_\sigma - \nabla_K C_0)/\sigma^2` by which the
    exact gradient of the Gaussian policy :math:`a = -Kx + \sigma\varepsilon` differs from the deterministic
    policy gradient, shape (m, n). It does not depend on σ: the noise leaves :math:`\nabla_a Q` unchanged and
    enters only the state moment, :math:`\Sigma_K(\sigma) = \Sigma_K(0) + \sigma^2 \Sigma_\varepsilon`.

    The check's answer is the difference of central differences (step 1e-5) of the exact cost
    :func:`pgbook.lqr.cost` at σ = 1 and σ = 0, never :math:`\nabla_a Q` or a state moment. The reader's code
    may call only :func:`pgbook.lqr.value_matrix` (:math:`S_K`): not :func:`pgbook.lqr.state_covariance` (the
    difference of two of them is :math:`\Sigma_\varepsilon`), the gradients or the cost.

    >>> from scipy.linalg import solve_discrete_lyapunov
    >>> from pgbook.lqr import value_matrix
    >>> def gap(system, gain):
    ...     S, Lam, H, W_u, g = value_matrix(system, gain), system.A, system.B, system.R, system.gamma
    ...     G = 2 * (g * H.T @ S @ Lam - (W_u + g * H.T @ S @ H) @ gain)
    ...     Sigma_eps = solve_discrete_lyapunov(np.sqrt(g) * (Lam - H @ gain), g / (1 - g) * H @ H.T)
    ...     return -G @ Sigma_eps
    >>> check_noise_gap(gap)
    Correct. gap(system, gain) matched on 3 cases.
    >>> check_noise_gap(lambda s, k: lqr.gradient(s, k, noise_std=1.0) - lqr.gradient(s, k, noise_std=0.0))
    ... # doctest: +ELLIPSIS
    Not yet. gap(system, gain) called pgbook's gradient, ...
    """

    def gradient(system: lqr.LinearQuadratic, gain: np.ndarray, sigma: float) -> np.ndarray:
        step, slopes = 1e-5, np.zeros_like(gain)
        for index in np.ndindex(gain.shape):
            nudge = np.zeros_like(gain)
            nudge[index] = step
            slopes[index] = (
                lqr.cost(system, gain + nudge, noise_std=sigma) - lqr.cost(system, gain - nudge, noise_std=sigma)
            ) / (2 * step)
        return slopes

    def cases() -> Iterator[tuple[tuple, np.ndarray]]:
        problems = [*_linear_quadratic_systems(), (lqr.damped_double_integrator(gamma=0.95), np.array([[0.5, 1.2]]))]
        for system, gain in problems:
            yield (system, gain.copy()), gradient(system, gain, 1.0) - gradient(system, gain, 0.0)

    allowed = _BASE | {("lqr", "value_matrix"), ("lqr", "check_gain")}
    return _compare("gap(system, gain)", gap, cases(), rtol=1e-6, allowed=allowed)


def check_compatible_dpg_weights(weights: Callable[[lqr.LinearQuadratic, np.ndarray, np.ndarray], Any]) -> CheckResult:
    r"""Check ``weights(system, gain, basis)``: the weights w of the compatible critic of the deterministic
    policy gradient (Silver et al. 2014, Theorem 3) for the gains :math:`K(\theta) = K + \sum_j \theta_j D_j`
    at θ = 0, ``basis`` (the :math:`D_j`) of shape (p, m, n), a vector of shape (p,).

    The critic is :math:`Q^w(x, a)` :math:`{} = (a - m_\theta(x))^\top \nabla_\theta m_\theta(x)\, w`
    :math:`{} + V(x)`, with
    :math:`m_\theta(x) = -K(\theta) x`, and w minimises
    :math:`\sum_t \gamma^t E\lVert \nabla_a Q^w(x_t, m(x_t))` :math:`{} - \nabla_a Q_K(x_t, m(x_t)) \rVert^2`. Theorem 3
    says that then :math:`\nabla_\theta C = \Sigma_m w` with :math:`\Sigma_m = \sum_t \gamma^t E[\nabla_\theta m^\top
    \nabla_\theta m]`, :math:`(\Sigma_m)_{jk} = \operatorname{tr}(D_j^\top D_k \Sigma_K)`; the check's answer is
    :math:`\Sigma_m^{-1} \nabla_\theta C`, with :math:`\nabla_\theta C` by central differences of the exact cost
    (:func:`pgbook.lqr.cost`, step 1e-5) and :math:`\Sigma_K` summed forward in time, never from
    :math:`\nabla_a Q`. So it checks the theorem as well as the answer.

    The reader's code may call only :func:`pgbook.lqr.value_matrix` (:math:`S_K`) and
    :func:`pgbook.lqr.state_covariance` (:math:`\Sigma_K`): not the action gradient
    (:func:`pgbook.deterministic.action_gradient_matrix`) or the gradient itself.

    >>> from pgbook.lqr import state_covariance, value_matrix
    >>> def weights(system, gain, basis):
    ...     S, Lam, H, W_u, g = value_matrix(system, gain), system.A, system.B, system.R, system.gamma
    ...     Gamma = 2 * (g * H.T @ S @ Lam - (W_u + g * H.T @ S @ H) @ gain)
    ...     moments = state_covariance(system, gain, 0.0)
    ...     gram = np.einsum("jmn,kml,nl->jk", basis, basis, moments)
    ...     return -np.linalg.solve(gram, np.einsum("jmn,ml,nl->j", basis, Gamma, moments))
    >>> check_compatible_dpg_weights(weights)
    Correct. weights(system, gain, basis) matched on 5 cases.
    >>> check_compatible_dpg_weights(lambda system, gain, basis: np.zeros(len(basis)))  # doctest: +ELLIPSIS
    Not yet. ...
    """

    def forward_moments(system: lqr.LinearQuadratic, gain: np.ndarray) -> np.ndarray:
        closed_loop, moment = system.A - system.B @ gain, system.initial_covariance.copy()
        total = np.zeros_like(moment)
        for t in range(3_000):  # the closed loops below contract by at least 0.95^t
            total += system.gamma**t * moment
            moment = closed_loop @ moment @ closed_loop.T
        return total

    def cases() -> Iterator[tuple[tuple, np.ndarray]]:
        rng = np.random.default_rng(3)
        (scalar, scalar_gain), (plane, plane_gain) = _linear_quadratic_systems()
        bases = [
            (scalar, scalar_gain, np.ones((1, 1, 1))),
            (plane, plane_gain, np.array([[[1.0, 0.0]]])),  # only the first gain entry moves
            (plane, plane_gain, np.array([[[1.0, -1.0]]])),
            (plane, plane_gain, rng.normal(size=(2, 1, 2))),
            (plane, plane_gain, np.eye(2).reshape(2, 1, 2)),  # every entry: w is −Γ_K
        ]
        for system, gain, basis in bases:
            step = 1e-5
            slopes = np.array(
                [
                    lqr.cost(system, gain + step * b, noise_std=0.0) - lqr.cost(system, gain - step * b, noise_std=0.0)
                    for b in basis
                ]
            ) / (2 * step)
            gram = np.einsum("jmn,kml,nl->jk", basis, basis, forward_moments(system, gain))
            yield (system, gain.copy(), basis.copy()), np.linalg.solve(gram, slopes)

    allowed = _BASE | {("lqr", "value_matrix"), ("lqr", "state_covariance"), ("lqr", "check_gain")}
    return _compare("weights(system, gain, basis)", weights, cases(), rtol=1e-6, allowed=allowed)


def check_update_field(field: Callable[[FiniteMDP, Policy, np.ndarray], Any]) -> CheckResult:
    r"""Check ``field(mdp, policy, theta)``: the expected update without :math:`\gamma^t`,
    :math:`U(\theta)`
    :math:`{} = \sum_s d_1(s) \sum_a Q_\gamma(s, a)\, \nabla_\theta \pi_\theta(a|s)`, shaped like θ,
    with :math:`d_1(s) = \sum_t \Pr(s_t = s)` the expected number of visits, which the reader derives from
    the chain: :math:`d_1 = \mu_0 + P_\pi^\top d_1` on the non-terminal states.

    The expected value is the finite-horizon sum over time steps of the mistake catalogue
    (:func:`pgbook.mistakes.expected_gradient`, "discount weights γᵗ dropped"), which never forms :math:`d_1`.
    The reader's code may call only :func:`pgbook.action_values`, :func:`pgbook.state_values`, the policy's
    ``probabilities`` and ``score`` and the MDP's :meth:`~pgbook.FiniteMDP.markov_chain` and values: no
    visitation (not :func:`pgbook.discounted_visitation` of a γ = 1 copy, not
    :func:`pgbook.update_field.undiscounted_visitation`).

    >>> import pgbook as pg
    >>> def field(mdp, policy, theta):
    ...     pi = policy.probabilities(theta)
    ...     P_pi, _ = mdp.markov_chain(pi)
    ...     live, d_1 = ~mdp.terminal, np.zeros(mdp.n_states)
    ...     chain = np.eye(live.sum()) - P_pi[np.ix_(live, live)]
    ...     d_1[live] = np.linalg.solve(chain.T, mdp.initial[live])
    ...     weights = pi * pg.action_values(mdp, policy, theta)
    ...     return np.einsum("s,sa,sa...->...", d_1, weights, policy.score(theta))
    >>> check_update_field(field)
    Correct. field(mdp, policy, theta) matched on 4 cases.
    >>> check_update_field(pg.update_field.expected_update)  # doctest: +ELLIPSIS
    Not yet. field(mdp, policy, theta) called pgbook's expected_update, ...
    """
    from pgbook.mistakes import expected_gradient, mistake

    def cases() -> Iterator[tuple[tuple, np.ndarray]]:
        features = np.random.default_rng(1).normal(size=(5, 3, 2))
        tabular = TabularSoftmax(4, 2)
        problems = [
            (examples.random_mdp(4, 2, gamma=0.8, seed=0, n_terminal=1), tabular, tabular.init_params(seed=0)),
            (examples.short_corridor(gamma=0.8), examples.corridor_recognising_policy(), np.array([0.5, -0.5])),
            (examples.random_mdp(5, 3, gamma=0.5, seed=3, n_terminal=1), LinearSoftmax(features), np.array([0.3, -1])),
            (*coordination_counterexample(0.5, n_params=2), np.array([1.0, 3.0])),
        ]
        dropped = [mistake("discount weights γᵗ dropped")]
        for mdp, policy, theta in problems:
            yield (mdp, policy, theta.copy()), expected_gradient(mdp, policy, theta, 3_000, dropped)

    allowed = _BASE | {
        ("evaluation", "action_values"),
        ("evaluation", "state_values"),
        ("policies", "probabilities"),
        ("policies", "score"),
        ("mdp", "markov_chain"),
        ("mdp", "action_values"),
        ("mdp", "state_values"),
    }
    return _compare("field(mdp, policy, theta)", field, cases(), rtol=1e-8, allowed=allowed)


def check_counterexample_curl(curl: Callable[[float, np.ndarray], Any]) -> CheckResult:
    r"""Check ``curl(gamma, theta)``: the curl :math:`\partial U_1/\partial\theta_0 - \partial U_0/\partial\theta_1`
    of the update field U of the two-parameter counterexample
    (:func:`pgbook.update_field.coordination_counterexample` with ``n_params=2``) at ``theta``, a number, derived
    by hand as a closed form in γ and θ.

    The expected value is the curl by central differences (step 1e-5, error ~1e-10) of the library's field
    (:func:`pgbook.update_field.expected_update`, itself checked against the sum over time steps and Monte Carlo);
    the reader's code may call nothing from pgbook.

    >>> def curl(gamma, theta):
    ...     p, r = 1 / (1 + np.exp(-theta[0])), 1 / (1 + np.exp(-theta[1]))
    ...     return (gamma**2 + gamma - 2) * p * (1 - p) * r * (1 - r)
    >>> check_counterexample_curl(curl)
    Correct. curl(gamma, theta) matched on 5 cases.
    >>> check_counterexample_curl(lambda gamma, theta: 0.0)  # doctest: +ELLIPSIS
    Not yet. ...
    """
    from pgbook.update_field import expected_update

    def cases() -> Iterator[tuple[tuple, np.ndarray]]:
        for gamma, theta in (
            (0.5, (0.0, 0.0)),
            (0.3, (1.0, 3.0)),
            (0.8, (-1.0, 0.5)),
            (0.95, (2.0, -2.0)),
            (1.0, (0.3, 0.3)),
        ):
            mdp, policy = coordination_counterexample(gamma, n_params=2)
            step, at = 1e-5, np.array(theta)
            nudges = step * np.eye(2)
            d_u1 = expected_update(mdp, policy, at + nudges[0])[1] - expected_update(mdp, policy, at - nudges[0])[1]
            d_u0 = expected_update(mdp, policy, at + nudges[1])[0] - expected_update(mdp, policy, at - nudges[1])[0]
            yield (gamma, at.copy()), np.asarray((d_u1 - d_u0) / (2 * step))

    return _compare("curl(gamma, theta)", curl, cases(), rtol=1e-8)


def check_rollout_factor(answer: Callable[[FiniteMDP, Policy, np.ndarray], Any]) -> CheckResult:
    r"""Check ``answer(mdp, policy, theta)``: the factor :math:`1/\mathbb E[T]` that long fixed-length rollouts
    with the exact critic put in front of :math:`\nabla J` at :math:`\gamma = 1` (a float), on episodic MDPs.

    The expected episode length comes from the absorption times of the chain on the non-terminal states,
    :math:`t = (I - P_\pi)^{-1} \mathbf 1`, :math:`\mathbb E[T] = \mu_0^\top t`. An answer that calls pgbook's
    rollout model (:func:`pgbook.mistakes.expected_gradient`), or anything but the theorem's ingredients, fails.

    >>> import pgbook as pg
    >>> check_rollout_factor(lambda m, p, t: 1 / pg.discounted_visitation(m, p, t)[~m.terminal].sum())
    Correct. answer(mdp, policy, theta) matched on 4 cases.
    """

    def cases() -> Iterator[tuple[tuple, np.ndarray]]:
        for seed, n_states, n_actions in ((0, 4, 2), (1, 5, 3), (2, 6, 2), (3, 3, 4)):
            mdp = examples.random_mdp(n_states, n_actions, gamma=1.0, seed=seed, n_terminal=1)
            policy = TabularSoftmax(n_states, n_actions)
            theta = policy.init_params(seed=seed + 10, scale=1.5)
            live = ~mdp.terminal
            P_pi = np.einsum("sa,sat->st", policy_table(mdp, policy, theta), mdp.P)[np.ix_(live, live)]
            steps = np.linalg.solve(np.eye(live.sum()) - P_pi, np.ones(live.sum()))
            yield (mdp, policy, theta.copy()), np.array(1.0 / (mdp.initial[live] @ steps))

    return _compare("answer(mdp, policy, theta)", answer, cases(), rtol=1e-8, allowed=_INGREDIENTS)


# Part III, derivations: the TRPO step, PPO's clipped gradient, a bandit's Hessian, the natural step's proximal
# value, the natural gradient by conjugate gradients, a Gaussian's Fisher matrix, the natural gradient's rate ----------


def check_trpo_step(step: Callable[[np.ndarray, np.ndarray, float], Any]) -> CheckResult:
    r"""Check ``step(g, F, max_kl)``: the maximiser of :math:`g^\top \Delta\theta` subject to
    :math:`\frac12 \Delta\theta^\top F \Delta\theta \le \mathrm{KL}_{\max}`, for a symmetric positive semi-definite F
    (possibly singular, with g in its range), among the solutions the one of minimum norm:
    :math:`\Delta\theta = \sqrt{2\,\mathrm{KL}_{\max} / g^\top F^+ g}\, F^+ g`.

    The expected step is computed from the eigendecomposition of F, independently of any pgbook function; the
    reader's code may call no pgbook function (:func:`pgbook.surrogate.trpo_step` and
    :func:`pgbook.natural_gradient` included).

    >>> def trpo(g, F, max_kl):
    ...     x = np.linalg.pinv(F) @ g
    ...     return np.sqrt(2 * max_kl / (g @ x)) * x
    >>> check_trpo_step(trpo)
    Correct. step(g, F, max_kl) matched on 4 cases.
    >>> check_trpo_step(lambda g, F, max_kl: np.sqrt(2 * max_kl / (g @ g)) * g)  # doctest: +ELLIPSIS
    Not yet. ...
    """

    def cases() -> Iterator[tuple[tuple, np.ndarray]]:
        rng = np.random.default_rng(23)
        for size, rank, max_kl in ((3, 3, 0.01), (5, 5, 0.1), (6, 4, 0.05), (8, 5, 0.02)):
            basis = np.linalg.qr(rng.normal(size=(size, size)))[0][:, :rank]
            eigenvalues = rng.uniform(0.1, 3.0, size=rank)
            F = (basis * eigenvalues) @ basis.T
            g = basis @ rng.normal(size=rank)  # in the range of F
            direction = basis @ ((basis.T @ g) / eigenvalues)  # F⁺g from the eigendecomposition
            yield (g.copy(), F.copy(), max_kl), np.sqrt(2 * max_kl / (g @ direction)) * direction

    return _compare("step(g, F, max_kl)", step, cases(), rtol=1e-8)


def check_clipped_gradient(gradient: Callable[[np.ndarray, np.ndarray, np.ndarray, float], Any]) -> CheckResult:
    r"""Check ``gradient(pi_old, theta, advantage, epsilon)``: in one state with logits ``theta``
    (:math:`\pi_\theta = \operatorname{softmax}(\theta)`), the gradient with respect to ``theta`` of PPO's clipped
    terms :math:`\sum_a \pi_{\text{old}}(a) \min\big(\rho(a) A(a),`
    :math:`\operatorname{clip}(\rho(a), 1-\epsilon_{\text{clip}},`
    :math:`1+\epsilon_{\text{clip}}) A(a)\big)`, :math:`\rho = \pi_\theta/\pi_{\text{old}}`,
    an array shaped like ``theta``.

    The expected gradients are central differences of that sum, at logits whose ratios stay away from the kinks
    :math:`1 \pm \epsilon_{\text{clip}}`; the reader's code may call no pgbook function.

    >>> def by_cases(pi_old, theta, advantage, epsilon):
    ...     pi = np.exp(theta - theta.max()); pi /= pi.sum()
    ...     ratio = pi / pi_old
    ...     clipped = ((advantage > 0) & (ratio > 1 + epsilon)) | ((advantage < 0) & (ratio < 1 - epsilon))
    ...     weight = np.where(clipped, 0.0, pi_old * advantage)  # d/dρ of each term
    ...     return pi * (weight / pi_old) - pi * np.sum(pi * weight / pi_old)  # dρ(a)/dθ(b) = ρ(a)(1[a=b] − π(b))
    >>> check_clipped_gradient(by_cases)
    Correct. gradient(pi_old, theta, advantage, epsilon) matched on 6 cases.
    >>> def outside_band(pi_old, theta, advantage, epsilon):  # "a ratio outside the band stops contributing"
    ...     pi = np.exp(theta - theta.max()); pi /= pi.sum()
    ...     weight = np.where(np.abs(pi / pi_old - 1) > epsilon, 0.0, advantage)
    ...     return pi * weight - pi * np.sum(pi * weight)
    >>> check_clipped_gradient(outside_band)  # doctest: +ELLIPSIS
    Not yet. ...
    """

    def cases() -> Iterator[tuple[tuple, np.ndarray]]:
        rng = np.random.default_rng(31)
        found, seen = 0, set()  # every kind of term: each sign of A, above 1 + ε and below 1 − ε
        while found < 6 or len(seen) < 4:
            n, epsilon = int(rng.integers(3, 6)), float(rng.choice([0.1, 0.2, 0.3]))
            pi_old = rng.dirichlet(np.ones(n))
            theta = np.log(pi_old) + rng.normal(size=n)
            advantage = rng.normal(size=n)

            def total(
                t: np.ndarray, pi_old: np.ndarray = pi_old, A: np.ndarray = advantage, e: float = epsilon
            ) -> float:
                z = np.exp(t - t.max())
                rho = z / z.sum() / pi_old
                return float(np.sum(pi_old * np.minimum(rho * A, np.clip(rho, 1 - e, 1 + e) * A)))

            z = np.exp(theta - theta.max())
            rho = z / z.sum() / pi_old
            if np.min(np.abs(np.abs(rho - 1) - epsilon)) < 0.02:
                continue  # too close to a kink for central differences
            found += 1
            outside = np.abs(rho - 1) > epsilon
            seen |= {(bool(a > 0), bool(r > 1)) for a, r, o in zip(advantage, rho, outside, strict=True) if o}
            h, eye = 1e-6, np.eye(n)
            expected = np.array([(total(theta + h * e) - total(theta - h * e)) / (2 * h) for e in eye])
            yield (pi_old.copy(), theta.copy(), advantage.copy(), epsilon), expected

    return _compare("gradient(pi_old, theta, advantage, epsilon)", gradient, cases(), rtol=1e-6)


def check_bandit_hessian(hessian: Callable[[np.ndarray, np.ndarray], Any]) -> CheckResult:
    r"""Check ``hessian(pi, r)``: the Hessian :math:`\nabla^2_\theta J` of a softmax bandit,
    :math:`J(\theta) = \sum_a \pi_\theta(a) r(a)` with :math:`\pi_\theta = \operatorname{softmax}(\theta)`, at
    the policy ``pi`` (shape (n,); rewards ``r``, shape (n,)), an (n, n) array.

    The expected Hessians are second central differences of :math:`J` at :math:`\theta = \log\pi`; the reader's
    code may call no pgbook function (:func:`pgbook.convergence_theory.smoothness` included).

    >>> def by_hand(pi, r):
    ...     g = pi * (r - pi @ r)
    ...     return np.diag(g) - np.outer(g, pi) - np.outer(pi, g)
    >>> check_bandit_hessian(by_hand)
    Correct. hessian(pi, r) matched on 4 cases.
    >>> check_bandit_hessian(lambda pi, r: np.diag(pi * (r - pi @ r)))  # doctest: +ELLIPSIS
    Not yet. ...
    """

    def cases() -> Iterator[tuple[tuple, np.ndarray]]:
        rng = np.random.default_rng(37)
        for n in (2, 3, 4, 6):
            theta, r = rng.normal(size=n), rng.uniform(size=n)

            def J(t: np.ndarray, r: np.ndarray = r) -> float:
                z = np.exp(t - t.max())
                return float(z @ r / z.sum())

            h, eye = 1e-4, np.eye(n)
            second = np.array(
                [
                    [
                        (J(theta + h * (ei + ej)) - J(theta + h * (ei - ej)) - J(theta - h * (ei - ej))
                         + J(theta - h * (ei + ej))) / (4 * h * h)
                        for ej in eye
                    ]
                    for ei in eye
                ]
            )  # fmt: skip
            pi = np.exp(theta - theta.max())
            yield (pi / pi.sum(), r.copy()), second

    return _compare("hessian(pi, r)", hessian, cases(), rtol=1e-5)


def check_proximal_value(value: Callable[[np.ndarray, np.ndarray, float, float], Any]) -> CheckResult:
    r"""Check ``value(pi, A, eta, gamma)``: per state, the optimal value of the natural step's KL-proximal problem,
    :math:`\max_{\bar\pi} \sum_a \bar\pi(a) A(s,a)`
    :math:`{} - \frac{1-\gamma}{\eta} \mathrm{KL}(\bar\pi \,\|\, \pi(\cdot|s))`
    over distributions :math:`\bar\pi`, an array of shape (n_states,).

    The expected values are the objective evaluated at the maximiser :math:`\bar\pi \propto \pi e^{\eta A/(1-\gamma)}`;
    the check also confirms that no random distribution does better. The reader's code may call no pgbook
    function.

    >>> def log_partition(pi, A, eta, gamma):
    ...     scale = (1 - gamma) / eta
    ...     return scale * np.log(np.sum(pi * np.exp(A / scale), axis=1))
    >>> check_proximal_value(log_partition)
    Correct. value(pi, A, eta, gamma) matched on 4 cases.
    >>> check_proximal_value(lambda pi, A, eta, gamma: np.log(np.sum(pi * np.exp(eta * A / (1 - gamma)), axis=1)))
    ... # doctest: +ELLIPSIS
    Not yet. ...
    """

    def cases() -> Iterator[tuple[tuple, np.ndarray]]:
        rng = np.random.default_rng(43)
        for n_states, n_actions, eta, gamma in (
            (3, 2, 0.5, 0.9),
            (4, 3, 0.1, 0.8),
            (5, 4, 2.0, 0.95),
            (2, 5, 1.0, 0.0),
        ):
            pi = rng.dirichlet(np.ones(n_actions), size=n_states)
            A = rng.normal(size=(n_states, n_actions))
            A -= np.sum(pi * A, axis=1, keepdims=True)  # advantages average to 0 under π
            scale = (1 - gamma) / eta

            def objective(p: np.ndarray, pi: np.ndarray = pi, A: np.ndarray = A, scale: float = scale) -> np.ndarray:
                return np.sum(p * A, axis=1) - scale * np.sum(p * np.log(p / pi), axis=1)

            best = pi * np.exp(A / scale)
            best /= best.sum(axis=1, keepdims=True)
            optimum = objective(best)
            for p in rng.dirichlet(np.ones(n_actions), size=(200, n_states)):
                if np.any(objective(p) > optimum + 1e-12):  # the maximiser, from the other side
                    raise AssertionError("a random distribution beat the maximiser: the check is broken")
            yield (pi.copy(), A.copy(), eta, gamma), optimum

    return _compare("value(pi, A, eta, gamma)", value, cases(), rtol=1e-8)


def check_natural_gradient_by_cg(answer: Callable[[FiniteMDP, Policy, np.ndarray], Any]) -> CheckResult:
    r"""Check ``answer(mdp, policy, theta)``: the natural gradient :math:`F^+\nabla J` (unnormalised visitation),
    shaped like θ, computed by conjugate gradients from 0 with Fisher-vector products
    :math:`F v` :math:`{} = \sum_s d(s) \sum_a \pi(a|s)\, \psi\, (\psi^\top v)`, never forming F. Conjugate
    gradients from 0 stay in the range of F, so they reach the minimum-norm solution, which is what the check
    expects (computed from the eigendecomposition of :func:`pgbook.fisher_matrix`).

    The reader's code may call only the theorem's ingredients (visitation, values, the policy's table and
    score) and :func:`pgbook.exact_gradient`: not :func:`pgbook.natural_gradient`, :func:`pgbook.fisher_matrix`,
    :func:`pgbook.surrogate.conjugate_gradient` or :func:`pgbook.surrogate.fisher_vector_product`.

    >>> import pgbook as pg
    >>> def by_cg(mdp, policy, theta):
    ...     d, pi = pg.discounted_visitation(mdp, policy, theta), policy.probabilities(theta)
    ...     psi = policy.score(theta).reshape(mdp.n_states * mdp.n_actions, -1)
    ...     w = (d[:, None] * pi).ravel()
    ...     g = pg.exact_gradient(mdp, policy, theta).ravel()
    ...     x, r = np.zeros_like(g), g.copy()
    ...     p, rr = r.copy(), r @ r
    ...     for _ in range(g.size):
    ...         if rr <= 1e-20 * (g @ g):
    ...             break
    ...         Fp = psi.T @ (w * (psi @ p))
    ...         a = rr / (p @ Fp)
    ...         x, r = x + a * p, r - a * Fp
    ...         p, rr = r + (r @ r) / rr * p, r @ r
    ...     return x.reshape(theta.shape)
    >>> check_natural_gradient_by_cg(by_cg)
    Correct. answer(mdp, policy, theta) matched on 4 cases.
    >>> check_natural_gradient_by_cg(lambda m, p, t: pg.exact_gradient(m, p, t))  # doctest: +ELLIPSIS
    Not yet. ...
    """

    def cases() -> Iterator[tuple[tuple, np.ndarray]]:
        for mdp, policy, theta in _policy_problems():
            F = fisher_matrix(mdp, policy, theta)
            values, vectors = np.linalg.eigh(F)
            keep = values > 1e-10 * values.max()
            g = exact_gradient(mdp, policy, theta).ravel()
            natural = vectors[:, keep] @ ((vectors[:, keep].T @ g) / values[keep])
            yield (mdp, policy, theta.copy()), natural.reshape(theta.shape)

    allowed = _INGREDIENTS | {("gradients", "exact_gradient")}
    return _compare("answer(mdp, policy, theta)", answer, cases(), rtol=1e-6, allowed=allowed)


def check_gaussian_fisher(fisher: Callable[[float, float], Any]) -> CheckResult:
    r"""Check ``fisher(mean, std)``: the Fisher matrix of :math:`a \sim \mathcal N(m, \sigma^2)` in the parameters
    :math:`(m, \log\sigma)`, :math:`E[\psi\psi^\top]` with :math:`\psi = \nabla_{(m, \log\sigma)} \log \pi(a)`, shape
    (2, 2). The expected matrix is computed by 40-point Gauss–Hermite quadrature of the outer product of the
    score, not from a closed form.

    >>> check_gaussian_fisher(lambda mean, std: np.diag([1 / std**2, 2.0]))
    Correct. fisher(mean, std) matched on 4 cases.
    >>> check_gaussian_fisher(lambda mean, std: np.diag([1 / std**2, 2 / std**2]))  # doctest: +ELLIPSIS
    Not yet. ...
    """
    nodes, weights = np.polynomial.hermite_e.hermegauss(40)  # ∫ f(x) e^{-x²/2} dx
    weights = weights / weights.sum()

    def cases() -> Iterator[tuple[tuple, np.ndarray]]:
        for mean, std in ((0.0, 1.0), (1.5, 0.3), (-2.0, 2.5), (0.7, 0.05)):
            a = mean + std * nodes
            score = np.stack([(a - mean) / std**2, (a - mean) ** 2 / std**2 - 1.0])
            yield (mean, std), np.einsum("k,ik,jk->ij", weights, score, score)

    return _compare("fisher(mean, std)", fisher, cases(), rtol=1e-9)


def check_natural_gradient_rate(rate: Callable[[FiniteMDP, float], Any]) -> CheckResult:
    r"""Check ``rate(mdp, eta)``: the factor by which the natural gradient's gap :math:`J^* - J(\theta_t)` shrinks
    per iteration near the optimum, with the step :math:`\pi \leftarrow \pi e^{\eta A/(1-\gamma)}`, on a problem
    whose optimal action is unique in every state the optimal policy visits. The expected factor is *measured*: the
    ratio of two successive gaps late in a run of :func:`pgbook.exact_ascent`, so a derivation that gets the
    asymptotics wrong fails. The problems are three chains and a random MDP (rewards rescaled to [0, 1]) whose
    smallest gap :math:`|A^*(s,a)|` is neither in the likeliest start state nor in the first, so that one state's
    gap does not pass for the smallest over the states the run visits. The reader's code may call only
    :func:`pgbook.convergence_theory.optimal_policy` and the MDP's own values (not :func:`pgbook.exact_ascent`).

    >>> import pgbook as pg
    >>> from pgbook.convergence_theory import optimal_policy
    >>> def predicted(mdp, eta):
    ...     best = optimal_policy(mdp)
    ...     V = mdp.state_values(best)
    ...     gaps = (V[:, None] - mdp.action_values(best, V))[~mdp.terminal]
    ...     return np.exp(-eta * gaps[gaps > 1e-12].min() / (1 - mdp.gamma))
    >>> check_natural_gradient_rate(predicted)
    Correct. rate(mdp, eta) matched on 4 cases.
    >>> check_natural_gradient_rate(lambda mdp, eta: np.exp(-eta))  # doctest: +ELLIPSIS
    Not yet. ...
    """
    from pgbook.convergence_theory import optimal_policy  # noqa: PLC0415 (lazy, as below)
    from pgbook.exact_ascent import exact_ascent  # noqa: PLC0415 (exact_ascent imports the Fisher module)

    def measured(mdp: FiniteMDP, eta: float, at: int) -> np.ndarray:
        policy = TabularSoftmax(mdp.n_states, mdp.n_actions)
        run = exact_ascent(
            mdp,
            policy,
            np.zeros((mdp.n_states, mdp.n_actions)),
            step_size=eta,
            n_iterations=at + 1,
            direction="natural",
        )
        gap = mdp.objective(optimal_policy(mdp)) - run.objectives
        return np.asarray(gap[at + 1] / gap[at])

    def cases() -> Iterator[tuple[tuple, np.ndarray]]:
        for n, gamma, eta, at in ((4, 0.9, 1.0, 25), (5, 0.8, 0.5, 30), (3, 0.95, 0.2, 40)):
            mdp = examples.chain(n, gamma=gamma, n_actions=3)
            yield (mdp, eta), measured(mdp, eta, at)
        # smallest gap in state 2 (0.133; states 0, 1: 0.354, 0.317), start mass mostly on state 1
        raw = examples.random_mdp(4, 3, gamma=0.8, seed=3, n_terminal=1)
        unit = (raw.R - raw.R.min()) / np.ptp(raw.R) * ~raw.terminal[:, None]
        mdp = FiniteMDP(raw.P, unit, gamma=0.8, initial=raw.initial, terminal=raw.terminal)
        yield (mdp, 0.5), measured(mdp, 0.5, 50)

    allowed = _BASE | {("convergence_theory", "optimal_policy"), ("mdp", "state_values"), ("mdp", "action_values")}
    return _compare("rate(mdp, eta)", rate, cases(), rtol=2e-3, allowed=allowed)


# Part IV: entropy regularisation ------------------------------------------------------------------------------


def _plain_regularised_objective(mdp: FiniteMDP, logits: np.ndarray, zeta: float) -> float:
    """:math:`J_\\zeta` of the tabular softmax policy with these logits, by one linear solve (the checks' own
    oracle: no pgbook code beyond the problem's arrays)."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    pi = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    live = ~mdp.terminal
    P_pi = np.einsum("sa,sat->st", pi, mdp.P)[np.ix_(live, live)]
    reward = (pi * mdp.R).sum(axis=1) - zeta * (pi * np.log(pi)).sum(axis=1)
    values = np.linalg.solve(np.eye(live.sum()) - mdp.gamma * P_pi, reward[live])
    return float(mdp.initial[live] @ values)


def check_soft_gradient(gradient: Callable[[FiniteMDP, np.ndarray, float], Any]) -> CheckResult:
    r"""Check ``gradient(mdp, pi, zeta)``: :math:`\partial J_\zeta / \partial \theta_{s,a}` for the tabular softmax
    policy with table ``pi`` (shape of ``pi``), :math:`d(s)\pi(a|s)` :math:`(Q_\zeta(s,a) - \zeta\log\pi(a|s)`
    :math:`{} - V_\zeta(s))`.

    The expected gradient is a central difference (step 1e-6) of :math:`J_\zeta` computed here by a linear solve;
    the reader's code may call the MDP's own methods (:meth:`~pgbook.FiniteMDP.markov_chain`, the values and the
    visitation) but nothing from :mod:`pgbook.entropy`.

    >>> def soft(mdp, pi, zeta):
    ...     P_pi, r_pi = mdp.markov_chain(pi)
    ...     live = ~mdp.terminal
    ...     V = np.zeros(mdp.n_states)
    ...     A = np.eye(live.sum()) - mdp.gamma * P_pi[np.ix_(live, live)]
    ...     V[live] = np.linalg.solve(A, (r_pi - zeta * (pi * np.log(pi)).sum(1))[live])
    ...     Q = mdp.R + mdp.gamma * mdp.P @ V
    ...     return mdp.discounted_visitation(pi)[:, None] * pi * (Q - zeta * np.log(pi) - V[:, None])
    >>> check_soft_gradient(soft)
    Correct. gradient(mdp, pi, zeta) matched on 4 cases.
    >>> check_soft_gradient(lambda mdp, pi, zeta: soft(mdp, pi, 0.0))  # doctest: +ELLIPSIS
    Not yet. ...
    """

    def cases() -> Iterator[tuple[tuple, np.ndarray]]:
        problems = [
            (examples.chain(4, gamma=0.9, n_actions=3), 0.1),
            (examples.random_mdp(4, 3, gamma=0.8, seed=1), 0.5),
            (examples.random_mdp(5, 2, gamma=0.9, seed=2, n_terminal=1), 1.0),
            (examples.random_mdp(3, 4, gamma=0.5, seed=3), 0.05),
        ]
        rng = np.random.default_rng(27)
        for mdp, zeta in problems:
            logits = rng.normal(size=(mdp.n_states, mdp.n_actions))
            pi = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
            h, expected = 1e-6, np.zeros_like(logits)
            for index in np.ndindex(logits.shape):
                step = np.zeros_like(logits)
                step[index] = h
                expected[index] = (
                    _plain_regularised_objective(mdp, logits + step, zeta)
                    - _plain_regularised_objective(mdp, logits - step, zeta)
                ) / (2 * h)
            yield (mdp, pi, zeta), expected

    allowed = _BASE | {
        ("mdp", "markov_chain"),
        ("mdp", "state_values"),
        ("mdp", "action_values"),
        ("mdp", "discounted_visitation"),
        ("mdp", "values_and_visitation"),
        ("mdp", "check_policy_table"),
    }
    return _compare("gradient(mdp, pi, zeta)", gradient, cases(), rtol=1e-6, allowed=allowed)


def check_soft_bandit_value(value: Callable[[np.ndarray, float], Any]) -> CheckResult:
    r"""Check ``value(means, zeta)``: the largest value of :math:`\sum_a \pi(a) R(a) + \zeta \mathcal H(\pi)` over
    all distributions :math:`\pi` on the arms, a number.

    The expected value is found numerically, by BFGS on the logits of :math:`\pi`; the reader's code may call
    nothing from pgbook (not :func:`pgbook.entropy.soft_optimum`, for one).

    >>> check_soft_bandit_value(lambda means, zeta: zeta * np.log(np.sum(np.exp(means / zeta))))
    Correct. value(means, zeta) matched on 5 cases.
    >>> check_soft_bandit_value(lambda means, zeta: zeta * np.log(np.mean(np.exp(means / zeta))))  # doctest: +ELLIPSIS
    Not yet. ...
    """
    from scipy.optimize import minimize  # noqa: PLC0415 (only this check needs it)

    def cases() -> Iterator[tuple[tuple, np.ndarray]]:
        rng = np.random.default_rng(28)
        for size, zeta in ((2, 1.0), (3, 0.1), (4, 0.5), (5, 2.0), (3, 0.02)):
            means = rng.normal(size=size)

            def negative(logits: np.ndarray, means: np.ndarray = means, zeta: float = zeta) -> float:
                shifted = logits - logits.max()
                pi = np.exp(shifted) / np.exp(shifted).sum()
                return -float(pi @ means - zeta * pi @ np.log(pi))

            found = minimize(negative, np.zeros(size), method="BFGS", options={"gtol": 1e-12})
            yield (means, zeta), np.asarray(-found.fun)

    return _compare("value(means, zeta)", value, cases(), rtol=1e-8)


def check_regularised_natural_step(step: Callable[[np.ndarray, np.ndarray, float, float, float], Any]) -> CheckResult:
    r"""Check ``step(pi, Q, eta, zeta, gamma)``: the policy table after one entropy-regularised natural-gradient step
    :math:`\theta \leftarrow \theta + \frac{\eta}{1-\gamma} F^+ \nabla J_\zeta` of a tabular softmax policy, from its
    table ``pi`` and its soft action values ``Q`` (:math:`Q_\zeta`), with the Fisher matrix of the unnormalised
    visitation (every state visited).

    The expected table is the policy after a step along :func:`pgbook.natural_gradient` (the Fisher matrix's
    pseudo-inverse) of the problem with the reward :math:`R - \zeta \log\pi` held fixed, whose gradient is
    :math:`\nabla J_\zeta`; the reader's code may call nothing from pgbook.

    >>> def regularised(pi, Q, eta, zeta, gamma):
    ...     new = pi ** (1 - eta * zeta / (1 - gamma)) * np.exp(eta * Q / (1 - gamma))
    ...     return new / new.sum(axis=1, keepdims=True)
    >>> check_regularised_natural_step(regularised)
    Correct. step(pi, Q, eta, zeta, gamma) matched on 4 cases.
    >>> check_regularised_natural_step(lambda pi, Q, eta, zeta, gamma: regularised(pi, Q, eta, 0.0, gamma))
    ... # doctest: +ELLIPSIS
    Not yet. ...
    """
    cases = []
    for seed, (gamma, eta, zeta) in enumerate([(0.9, 0.05, 0.5), (0.5, 0.2, 1.0), (0.8, 0.1, 0.1), (0.95, 0.01, 2.0)]):
        mdp = examples.random_mdp(4, 3, gamma=gamma, seed=seed)
        policy = TabularSoftmax(4, 3)
        theta = policy.init_params(seed=seed)
        pi = policy.probabilities(theta)
        frozen = FiniteMDP(mdp.P, mdp.R - zeta * np.log(pi), gamma=gamma, initial=mdp.initial)
        soft_q = mdp.R + gamma * mdp.P @ frozen.state_values(pi)  # Q_ζ: the entropy of the next states only
        new_theta = theta + eta / (1 - gamma) * natural_gradient(frozen, policy, theta)
        cases.append(((pi, soft_q, eta, zeta, gamma), policy.probabilities(new_theta)))
    return _compare("step(pi, Q, eta, zeta, gamma)", step, iter(cases), rtol=1e-8)


# Part IV: off-policy gradients ------------------------------------------------------------------------------


def check_per_decision_weights(answer: Callable[[np.ndarray, np.ndarray, float], Any]) -> CheckResult:
    r"""Check ``answer(rewards, ratios, gamma)``: the weights :math:`w_t = \gamma^t \sum_{k \ge t} \gamma^{k-t}
    \rho_{0:k}\, r_{k+1}` of one episode's scores in the per-decision importance-sampling estimator (Precup,
    Sutton & Singh 2000), given the rewards :math:`r_1, \dots, r_T` and the ratios :math:`\rho_0, \dots,
    \rho_{T-1}`. The expected weights are the double sum written out term by term; the reader's code may call
    nothing from pgbook (not :func:`pgbook.off_policy.off_policy_gradient`).

    >>> def weights(rewards, ratios, gamma):
    ...     terms = gamma ** np.arange(len(rewards)) * np.cumprod(ratios) * rewards
    ...     return np.cumsum(terms[::-1])[::-1]
    >>> check_per_decision_weights(weights)
    Correct. answer(rewards, ratios, gamma) matched on 4 cases.
    >>> def whole_episode(rewards, ratios, gamma):   # every reward weighted by the whole product
    ...     terms = gamma ** np.arange(len(rewards)) * rewards
    ...     return np.prod(ratios) * np.cumsum(terms[::-1])[::-1]
    >>> check_per_decision_weights(whole_episode)  # doctest: +ELLIPSIS
    Not yet. ...
    """
    rng = np.random.default_rng(27)

    def cases() -> Iterator[tuple[tuple, np.ndarray]]:
        for length, gamma in ((1, 0.9), (4, 0.9), (7, 1.0), (5, 0.5)):
            rewards, ratios = rng.normal(size=length), rng.uniform(0.2, 3.0, size=length)
            expected = [
                sum(gamma**k * np.prod(ratios[: k + 1]) * rewards[k] for k in range(t, length)) for t in range(length)
            ]
            yield (rewards.copy(), ratios.copy(), gamma), np.array(expected)

    return _compare("answer(rewards, ratios, gamma)", answer, cases(), rtol=1e-10)


def check_excursion_gradient(answer: Callable[[FiniteMDP, Policy, np.ndarray, np.ndarray], Any]) -> CheckResult:
    r"""Check ``answer(mdp, policy, theta, nu)``: the gradient of the excursion objective
    :math:`J_\nu(\theta) = \sum_s \nu(s) V_\pi(s)` (Imani, Graves & White 2018), shape ``theta.shape``. The
    expected value is a central difference (step 1e-5) of :math:`\nu^\top V_\pi`, with the MDP's own
    :meth:`~pgbook.FiniteMDP.state_values`. The reader's code may call the MDP's chain and values and the
    policy's probabilities, score and weighted probability gradient, nothing from :mod:`pgbook.off_policy`.

    >>> def exact(mdp, policy, theta, nu):
    ...     pi = policy.probabilities(theta)
    ...     P_pi, _ = mdp.markov_chain(pi)
    ...     live = ~mdp.terminal
    ...     d_nu = np.zeros(mdp.n_states)
    ...     d_nu[live] = np.linalg.solve((np.eye(live.sum()) - mdp.gamma * P_pi[np.ix_(live, live)]).T, nu[live])
    ...     return policy.weighted_probability_gradient(theta, d_nu[:, None] * mdp.action_values(pi))
    >>> check_excursion_gradient(exact)
    Correct. answer(mdp, policy, theta, nu) matched on 4 cases.
    >>> def off_pac(mdp, policy, theta, nu):   # ν in place of the emphatic weighting
    ...     pi = policy.probabilities(theta)
    ...     return policy.weighted_probability_gradient(theta, nu[:, None] * mdp.action_values(pi))
    >>> check_excursion_gradient(off_pac)  # doctest: +ELLIPSIS
    Not yet. ...
    """
    rng = np.random.default_rng(28)

    def cases() -> Iterator[tuple[tuple, np.ndarray]]:
        for k, (gamma, n_terminal, linear) in enumerate(((0.9, 0, False), (0.9, 1, True), (1.0, 1, False),
                                                         (0.7, 1, True))):  # fmt: skip
            mdp = examples.random_mdp(5, 3, gamma=gamma, seed=40 + k, n_terminal=n_terminal)
            policy: Policy = LinearSoftmax(rng.normal(size=(5, 3, 4))) if linear else TabularSoftmax(5, 3)
            theta = policy.init_params(seed=50 + k)
            nu = rng.dirichlet(np.ones(5)) * ~mdp.terminal
            step, expected = 1e-5, np.zeros(theta.shape)
            for index in np.ndindex(theta.shape):
                shift = np.zeros(theta.shape)
                shift[index] = step
                up = nu @ mdp.state_values(policy.probabilities(theta + shift))
                down = nu @ mdp.state_values(policy.probabilities(theta - shift))
                expected[index] = (up - down) / (2 * step)
            yield (mdp, policy, theta, nu), expected

    allowed = _BASE | {
        ("mdp", "markov_chain"),
        ("mdp", "state_values"),
        ("mdp", "action_values"),
        ("mdp", "values_and_visitation"),
        ("mdp", "discounted_visitation"),
        ("policies", "probabilities"),
        ("policies", "score"),
        ("policies", "weighted_probability_gradient"),
    }
    return _compare("answer(mdp, policy, theta, nu)", answer, cases(), rtol=1e-6, allowed=allowed)


# Part IV: language models -------------------------------------------------------------------------------------


def _group_updates(n: int, theta: np.ndarray, advantage: Callable[[np.ndarray], np.ndarray]) -> tuple[np.ndarray, ...]:
    """On one prompt with responses of at most two tokens from "ab" and the end token (seven responses, the
    reward 1 for "a." and "ba"): the expected group update with ``advantage(rewards)`` summed over all 7ⁿ groups of
    ``n`` responses, ∇J by the policy gradient theorem, and J."""
    from itertools import product  # noqa: PLC0415

    from pgbook.sequences import response_probabilities, response_scores, token_task  # noqa: PLC0415

    task = token_task(["q"], lambda prompt, text: float(text in ("a.", "ba")), horizon=2)
    policy = TabularSoftmax(task.mdp.n_states, task.mdp.n_actions)
    p = response_probabilities(task, policy, theta)
    scores = response_scores(task, policy, theta).reshape(task.n_responses, -1)
    mean = np.zeros(scores.shape[1])
    for group in product(range(task.n_responses), repeat=n):
        rewards = task.reward[list(group)]
        mean += np.prod(p[list(group)]) * (advantage(rewards) @ scores[list(group)]) / n
    gradient = exact_gradient(task.mdp, policy, theta).ravel()
    return mean, gradient, exact_objective(task.mdp, policy, theta)


def _group_thetas() -> list[np.ndarray]:
    rng = np.random.default_rng(27)
    return [rng.normal(scale=scale, size=(4, 3)) for scale in (0.5, 1.5, 2.5)]


def check_dr_grpo_factor(answer: Callable[[int], Any]) -> CheckResult:
    r"""Check ``answer(n)``: the factor :math:`c_n` with :math:`E[\hat g] = c_n \nabla J` for Dr. GRPO's update
    :math:`\frac1n \sum_i (r_i - \operatorname{mean}(r)) \nabla\log\pi(o_i|q)`. The expected value is the update
    summed over every group of :math:`n` responses of a small task (:math:`n` = 2, 3, 4), projected on
    :math:`\nabla J`; the reader's code may call nothing from pgbook.

    >>> check_dr_grpo_factor(lambda n: 1 - 1 / n)
    Correct. answer(n) matched on 3 cases.
    >>> check_dr_grpo_factor(lambda n: 1.0)  # doctest: +ELLIPSIS
    Not yet. ...
    """

    def cases() -> Iterator[tuple[tuple, np.ndarray]]:
        for n, theta in zip((2, 3, 4), _group_thetas(), strict=True):
            mean, gradient, _ = _group_updates(n, theta, lambda r: r - r.mean())
            yield (n,), np.asarray(mean @ gradient / (gradient @ gradient))

    return _compare("answer(n)", answer, cases(), rtol=1e-9)


def check_grpo_weight(answer: Callable[[int, float], Any]) -> CheckResult:
    r"""Check ``answer(n, p)``: GRPO's weight :math:`\varsigma_n(p)` with :math:`E[\hat g] = \varsigma_n(p)
    \nabla J` on a prompt whose reward (0 or 1) succeeds with probability :math:`p`, without length
    normalisation, the standard deviation with :math:`n - 1` in its denominator. The expected value is GRPO's
    update summed over every group of :math:`n` responses of a small task at three θ (so three :math:`p`),
    projected on :math:`\nabla J`; the reader's code may call nothing from pgbook.

    >>> check_grpo_weight(lambda n, p: 1 / np.sqrt(p * (1 - p)))  # doctest: +ELLIPSIS
    Not yet. ...
    """

    def advantage(rewards: np.ndarray) -> np.ndarray:
        spread = rewards.std(ddof=1)
        return (rewards - rewards.mean()) / spread if spread > 0 else np.zeros_like(rewards)

    def cases() -> Iterator[tuple[tuple, np.ndarray]]:
        for n, theta in zip((2, 3, 4), _group_thetas(), strict=True):
            mean, gradient, success = _group_updates(n, theta, advantage)
            yield (n, success), np.asarray(mean @ gradient / (gradient @ gradient))

    return _compare("answer(n, p)", answer, cases(), rtol=1e-9)
