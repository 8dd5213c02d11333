r"""The convergence proofs of exact policy gradient, line by line: each function returns both sides of every line
of one proof, so that a page or a test can check each line numerically.

With a start distribution :math:`\nu` (the argument ``mu``, Agarwal et al.'s :math:`\mu`), the unnormalised
discounted visitation :math:`d_\nu = \nu^\top (I - \gamma P_\pi)^{-1}` (:math:`\sum_s d \le 1/(1-\gamma)`, with
equality on a continuing problem) and objective :math:`J_\nu(\pi) = \nu^\top V_\pi`; the objective :math:`J` judged
from :math:`\mu_0` (the argument ``rho``, their :math:`\rho`; by default the problem's own start distribution),
the optimal policy :math:`\pi^*` and its visitation :math:`d^*` from :math:`\mu_0`:

- gradient domination (Agarwal, Kakade, Lee & Mahajan 2021, Lemma 4.1 of arXiv:1908.00261v5),
  :func:`gradient_domination`;
- the non-uniform Łojasiewicz inequality of softmax policy gradient (Mei, Xiao, Szepesvári & Schuurmans 2020,
  Lemma 8), :func:`lojasiewicz`;
- the :math:`O(1/t)` bound of the natural policy gradient (Agarwal et al. 2021, Theorem 16; arXiv Theorem 5.3) by
  mirror-descent telescoping, :func:`natural_gradient_bound`.

Each proof is written with the unnormalised :math:`d`, so it holds on episodic problems too; on a continuing
problem :math:`d = \bar d/(1-\gamma)` with Agarwal et al.'s normalised :math:`\bar d`, and the statements
become theirs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from pgbook.arguments import as_count, as_real, as_real_array, check_type
from pgbook.mdp import FiniteMDP
from pgbook.policies import Params

__all__ = [
    "GradientDomination",
    "Lojasiewicz",
    "NaturalGradientBound",
    "gradient_domination",
    "lojasiewicz",
    "natural_gradient_bound",
    "Smoothness",
    "natural_policy_iteration",
    "optimal_policy",
    "smoothness",
]


def optimal_policy(mdp: FiniteMDP) -> np.ndarray:
    r"""A deterministic optimal policy table, by policy iteration (Howard 1960): evaluate :math:`\pi`, make it
    greedy in :math:`Q_\pi`, stop when nothing changes (ties broken towards the current action, then the lowest).

    >>> import pgbook as pg
    >>> optimal_policy(pg.examples.chain(4, n_actions=3))[:3].argmax(axis=1)   # always "right" (action 1)
    array([1, 1, 1])
    """
    check_type("mdp", mdp, FiniteMDP, "a pgbook.FiniteMDP")
    n_states, n_actions = mdp.n_states, mdp.n_actions
    actions = np.zeros(n_states, dtype=int)
    if mdp.gamma >= 1.0:  # start from a policy that terminates: the greedy policy of a one-step lookahead
        actions = mdp.R.argmax(axis=1)
    for _ in range(10 * n_states * n_actions + 10):
        pi = np.eye(n_actions)[actions]
        q = mdp.action_values(pi)
        best = q.max(axis=1, keepdims=True)
        keep = q[np.arange(n_states), actions] >= best[:, 0] - 1e-12 * (1 + np.abs(best[:, 0]))
        improved = np.where(keep, actions, q.argmax(axis=1))
        if np.array_equal(improved, actions):
            return pi
        actions = improved
    raise RuntimeError("policy iteration did not settle")  # pragma: no cover (finite MDPs settle)


def _advantages(mdp: FiniteMDP, pi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    values = mdp.state_values(pi)
    return values, mdp.action_values(pi, values) - values[:, None]


def _visitation(mdp: FiniteMDP, pi: np.ndarray, start: np.ndarray) -> np.ndarray:
    """The unnormalised discounted visitation of ``pi`` from the start measure ``start``."""
    return FiniteMDP(mdp.P, mdp.R, gamma=mdp.gamma, initial=start / start.sum(), terminal=mdp.terminal)\
        .discounted_visitation(pi) * start.sum()  # fmt: skip


def _start(mdp: FiniteMDP, name: str, start: Any) -> np.ndarray:
    if start is None:
        return mdp.initial.copy()
    start = as_real_array(name, start, ndim=1)
    if start.shape != (mdp.n_states,) or np.any(start < 0) or not np.isclose(start.sum(), 1.0):
        raise ValueError(f"{name} must be a probability vector over the {mdp.n_states} states; got {start}")
    return start


@dataclass(frozen=True)
class GradientDomination:
    r"""Both sides of every line of Agarwal et al.'s Lemma 4.1 (arXiv:1908.00261v5; direct parameterisation,
    unnormalised d):

    .. math::
        &J^* - J(\pi) \\
        &\quad = \textstyle\sum_s d^*(s) \sum_a \pi^*(a|s) A(s,a) \\
        &\qquad\qquad (\text{1}) \\
        &\quad \le \textstyle\sum_s d^*(s) \max_a A(s,a) \\
        &\qquad\qquad (\text{2}) \\
        &\quad \le \big\|d^*/d_\nu\big\|_\infty \textstyle\sum_s d_\nu(s) \max_a A(s,a) \\
        &\qquad\qquad (\text{3}) \\
        &\quad = \big\|d^*/d_\nu\big\|_\infty \max_{\bar\pi} (\bar\pi - \pi)^\top \nabla_\pi J_\nu(\pi) \\
        &\qquad\qquad (\text{4}) \\
        &\quad \le \big\|d^*/\nu\big\|_\infty \max_{\bar\pi} (\bar\pi - \pi)^\top \nabla_\pi J_\nu(\pi) \\
        &\qquad\qquad (\text{5}),

    with :math:`\partial J_\nu / \partial \pi(a|s) = d_\nu(s) Q(s,a)`. The right sides of lines 1–5 are
    ``lemma``, ``greedy``, ``mismatch_line``, ``gradient_line`` and ``bound``; the third line uses
    :math:`\max_a A(s,a) \ge 0`, the last :math:`d_\nu \ge \nu`. ``gap`` is the left side; ``gradient_term`` is
    :math:`\max_{\bar\pi} (\bar\pi - \pi)^\top \nabla_\pi J_\nu`, computed as :math:`\sum_s d_\nu(s)(\max_a Q(s,a)
    - V(s))`; ``mismatch`` is :math:`\|d^*/d_\nu\|_\infty` and ``start_mismatch`` :math:`\|d^*/\nu\|_\infty`
    (over the states where :math:`d^* > 0`).
    """

    gap: float
    lemma: float
    greedy: float
    mismatch_line: float
    gradient_line: float
    bound: float
    gradient_term: float
    mismatch: float
    start_mismatch: float


def gradient_domination(mdp: FiniteMDP, pi: Any, *, mu: Any, rho: Any = None) -> GradientDomination:
    r"""Every line of the gradient-domination lemma at the policy table ``pi``: the objective is ascended from
    the start distribution ``mu`` and judged from ``rho`` (default: the problem's own start distribution).

    References
    ----------
    Agarwal, A., Kakade, S. M., Lee, J. D., Mahajan, G. (2021). On the theory of policy gradient methods:
    optimality, approximation, and distribution shift. JMLR 22(98); Lemma 4.1 of arXiv:1908.00261v5.

    Examples
    --------
    >>> import pgbook as pg
    >>> mdp = pg.examples.chain(4, n_actions=3)
    >>> lines = gradient_domination(mdp, np.full((4, 3), 1 / 3), mu=[1 / 3, 1 / 3, 1 / 3, 0.0])
    >>> bool(lines.gap <= lines.greedy <= lines.mismatch_line <= lines.bound)
    True
    """
    check_type("mdp", mdp, FiniteMDP, "a pgbook.FiniteMDP")
    pi = mdp.check_policy_table(pi)
    mu = _start(mdp, "mu", mu)
    rho = _start(mdp, "rho", rho)
    best = optimal_policy(mdp)
    d_star = _visitation(mdp, best, rho)
    d_mu = _visitation(mdp, pi, mu)
    values, adv = _advantages(mdp, pi)
    gap = float(rho @ (mdp.state_values(best) - values))
    support = d_star > 0
    if np.any(d_mu[support] <= 0) or np.any(mu[support] <= 0):
        raise ValueError("mu must reach every state the optimal policy visits (else the mismatch is infinite)")
    mismatch = float(np.max(d_star[support] / d_mu[support]))
    start_mismatch = float(np.max(d_star[support] / mu[support]))
    greedy = float(d_star @ adv.max(axis=1))
    # ∂J_μ/∂π(a|s) = d_μ(s) Q(s,a); the best π̄ puts its mass on argmax_a Q(s,a) in every state
    q = mdp.action_values(pi, values)
    gradient_term = float(np.sum(d_mu * (q.max(axis=1) - np.sum(pi * q, axis=1))))
    return GradientDomination(
        gap=gap,
        lemma=float(np.sum(d_star[:, None] * best * adv)),
        greedy=greedy,
        mismatch_line=mismatch * float(d_mu @ adv.max(axis=1)),
        gradient_line=mismatch * gradient_term,
        bound=start_mismatch * gradient_term,
        gradient_term=gradient_term,
        mismatch=mismatch,
        start_mismatch=start_mismatch,
    )


@dataclass(frozen=True)
class Lojasiewicz:
    r"""Both sides of every line of Mei et al.'s Lemma 8 for tabular softmax at :math:`\theta`, with
    :math:`g = \nabla_\theta J_\nu`, :math:`g(s,a) = d_\nu(s)\pi(a|s)A(s,a)`, :math:`a^*(s)` the optimal action,
    :math:`\pi^*_{\min}(\theta) = \min_s \pi(a^*(s)|s)` over the states :math:`d^*` visits (unnamed in Mei et
    al.'s Lemma 8; their :math:`c` of Lemma 9 is its infimum along a run) and :math:`S` their number:

    .. math::
        \|g\|_2 &\ge \textstyle\big(\sum_s g(s, a^*(s))^2\big)^{1/2} \\
            &\qquad\qquad (\text{1}) \\
        &\ge \tfrac{1}{\sqrt S} \textstyle\sum_s d_\nu(s)\, \pi(a^*(s)|s) \\
            &\qquad \times |A(s,a^*(s))| \quad (\text{2}) \\
        &\ge \tfrac{\pi^*_{\min}(\theta)}{\sqrt S} \\
            &\qquad \times \textstyle\sum_s d_\nu(s) |A(s,a^*(s))| \quad (\text{3}) \\
        &\ge \tfrac{\pi^*_{\min}(\theta)}{\sqrt S\, \|d^*/d_\nu\|_\infty} \\
            &\qquad \times \textstyle\sum_s d^*(s) |A(s,a^*(s))| \\
            &\qquad\qquad (\text{4}) \\
        &\ge \tfrac{\pi^*_{\min}(\theta)}{\sqrt S\, \|d^*/d_\nu\|_\infty} \\
            &\qquad \times \big(J^* - J(\theta)\big) \\
            &\qquad\qquad (\text{5}),

    the last by the performance-difference lemma with :math:`\pi^*` deterministic. The right sides of lines 1–5
    are ``optimal``, ``cauchy``, ``smallest``, ``mismatch_line`` and ``bound``; the left side is ``norm``;
    ``c`` is :math:`\pi^*_{\min}(\theta)`, ``mismatch`` :math:`\|d^*/d_\nu\|_\infty` and ``n_states`` :math:`S`.
    """

    norm: float
    optimal: float
    cauchy: float
    smallest: float
    mismatch_line: float
    bound: float
    c: float
    mismatch: float
    n_states: int


def lojasiewicz(mdp: FiniteMDP, pi: Any, *, mu: Any, rho: Any = None) -> Lojasiewicz:
    r"""Every line of the non-uniform Łojasiewicz inequality at the (softmax) policy table ``pi``.

    References
    ----------
    Mei, J., Xiao, C., Szepesvári, C., Schuurmans, D. (2020). On the global convergence rates of softmax policy
    gradient methods. ICML, Lemma 8.

    Examples
    --------
    >>> import pgbook as pg
    >>> mdp = pg.examples.chain(4, n_actions=3)
    >>> lines = lojasiewicz(mdp, np.full((4, 3), 1 / 3), mu=[1 / 3, 1 / 3, 1 / 3, 0.0])
    >>> bool(lines.norm >= lines.optimal >= lines.cauchy >= lines.smallest >= lines.mismatch_line >= lines.bound)
    True
    """
    check_type("mdp", mdp, FiniteMDP, "a pgbook.FiniteMDP")
    pi = mdp.check_policy_table(pi)
    if np.any(pi <= 0):
        raise ValueError("pi must be a softmax policy table (every probability positive)")
    mu = _start(mdp, "mu", mu)
    rho = _start(mdp, "rho", rho)
    best = optimal_policy(mdp)
    star = best.argmax(axis=1)
    d_star = _visitation(mdp, best, rho)
    d_mu = _visitation(mdp, pi, mu)
    values, adv = _advantages(mdp, pi)
    gradient = d_mu[:, None] * pi * adv
    support = d_star > 0
    if np.any(d_mu[support] <= 0):
        raise ValueError("mu must reach every state the optimal policy visits (else the mismatch is infinite)")
    rows = np.flatnonzero(support)
    n = rows.size
    at_best = np.abs(adv[rows, star[rows]])
    c = float(pi[rows, star[rows]].min())
    mismatch = float(np.max(d_star[rows] / d_mu[rows]))
    smallest = c / np.sqrt(n) * float(d_mu[rows] @ at_best)
    return Lojasiewicz(
        norm=float(np.linalg.norm(gradient)),
        optimal=float(np.linalg.norm(gradient[rows, star[rows]])),
        cauchy=float(np.sum(d_mu[rows] * pi[rows, star[rows]] * at_best) / np.sqrt(n)),
        smallest=float(smallest),
        mismatch_line=float(c / (np.sqrt(n) * mismatch) * (d_star[rows] @ at_best)),
        bound=float(c / (np.sqrt(n) * mismatch) * (rho @ (mdp.state_values(best) - values))),
        c=c,
        mismatch=mismatch,
        n_states=n,
    )


@dataclass(frozen=True)
class Smoothness:
    r"""Both sides of every line of the proof that :math:`\theta \mapsto J_\nu(\theta)` is
    :math:`2/(1-\gamma)^3`-smooth for tabular softmax with rewards in [0, 1] (so also Mei et al.'s
    :math:`8/(1-\gamma)^3`), along the line :math:`\theta + \xi v`, :math:`\|v\|_2 = 1`, at :math:`\xi = 0`.

    With :math:`M = (I - \gamma P_\pi)^{-1}` on the non-terminal states, :math:`V = M r_\pi`, and primes for
    :math:`d/d\xi`, ``curvature`` is the sum of the four ``terms``:

    .. math::
        J_\nu'' &= 2\gamma^2 \nu^\top M P_\pi' M P_\pi' V \\
        &\quad + \gamma\, \nu^\top M P_\pi'' V \\
        &\quad + 2\gamma\, \nu^\top M P_\pi' M r_\pi' \\
        &\quad + \nu^\top M r_\pi''

    with :math:`\pi'(a|s) = \pi(a|s)(v(s,a) - \bar v(s))` and
    :math:`\pi''(a|s) = \pi(a|s)((v(s,a) - \bar v(s))^2`
    :math:`{} - \operatorname{Var}_\pi v(s))`
    (:math:`\bar v(s)`, :math:`\operatorname{Var}_\pi v(s)` the mean and variance of :math:`v(s, \cdot)` under
    :math:`\pi`), so that

    .. math::
        y_1 &= \max_s \textstyle\sum_a |\pi'(a|s)| \\
        &\le \max_s (\operatorname{Var}_\pi v(s))^{1/2} \le 1, \\
        y_2 &= \max_s \textstyle\sum_a |\pi''(a|s)| \\
        &\le 2 \max_s \operatorname{Var}_\pi v(s) \le 2

    (``first_order`` is :math:`y_1`, ``spread`` the square root in between, ``second_order`` :math:`y_2`).

    Every row of :math:`M` sums to at most :math:`1/(1-\gamma)`,
    :math:`\|P_\pi' x\|_\infty \le y_1 \|x\|_\infty`, :math:`\|P_\pi'' x\|_\infty \le y_2 \|x\|_\infty`,
    :math:`\|r_\pi'\|_\infty \le y_1`,
    :math:`\|r_\pi''\|_\infty \le y_2` and :math:`0 \le V \le 1/(1-\gamma)`, so the four terms are at most
    (``term_bounds``)

    .. math::
        \frac{2\gamma^2 y_1^2}{(1-\gamma)^3},\ \frac{\gamma y_2}{(1-\gamma)^2},\
        \frac{2\gamma y_1^2}{(1-\gamma)^2},\ \frac{y_2}{1-\gamma},

    whose sum (``bound``) with :math:`y_1 \le 1`, :math:`y_2 \le 2` is at most
    :math:`(2\gamma^2 + 4\gamma(1-\gamma)` :math:`{} + 2(1-\gamma)^2)/(1-\gamma)^3`
    :math:`{} = 2/(1-\gamma)^3` (``constant``).
    """

    curvature: float
    terms: np.ndarray
    term_bounds: np.ndarray
    bound: float
    first_order: float
    second_order: float
    spread: float
    constant: float


def smoothness(mdp: FiniteMDP, theta: Params, direction: Any, *, mu: Any = None) -> Smoothness:
    r"""Every line of the smoothness bound of :math:`J_\nu` for a tabular softmax policy with logits ``theta``
    (shape (n_states, n_actions)), along ``direction`` (same shape; scaled here to unit norm): see
    :class:`Smoothness`. The objective is taken from ``mu`` (default: the problem's start distribution). For every
    :math:`\theta` and every :math:`v` with :math:`\|v\|_2 = 1`,

    .. math::
        &\Big|\frac{d^2}{d\xi^2} J_\nu(\theta + \xi v)\Big| \\
        &\quad \le \frac{2}{(1-\gamma)^3} \le \frac{8}{(1-\gamma)^3}

    References
    ----------
    Mei, J., Xiao, C., Szepesvári, C., Schuurmans, D. (2020). On the global convergence rates of softmax policy
    gradient methods. ICML, Lemma 7 (the constant :math:`8/(1-\gamma)^3`, by the same four terms).

    Examples
    --------
    >>> import pgbook as pg
    >>> mdp = pg.examples.chain(4, n_actions=3)
    >>> lines = smoothness(mdp, np.zeros((4, 3)), np.ones((4, 3)) - np.eye(4, 3), mu=[0.5, 0.5, 0, 0])
    >>> bool(abs(lines.curvature) <= lines.bound <= lines.constant), round(lines.constant)
    (True, 2000)
    """
    check_type("mdp", mdp, FiniteMDP, "a pgbook.FiniteMDP")
    if np.any(mdp.R < 0) or np.any(mdp.R > 1):
        raise ValueError("the bound assumes rewards in [0, 1]; got rewards outside it")
    if not mdp.gamma < 1:
        raise ValueError(f"the bound needs mdp.gamma < 1; got {mdp.gamma}")
    shape = (mdp.n_states, mdp.n_actions)
    theta = as_real_array("theta", theta, ndim=2)
    u = as_real_array("direction", direction, ndim=2)
    for name, array in (("theta", theta), ("direction", u)):
        if array.shape != shape:
            raise ValueError(f"{name} must have shape {shape} (logits of a tabular softmax); got {array.shape}")
    if not np.linalg.norm(u) > 0:
        raise ValueError("direction must be nonzero")
    u = u / np.linalg.norm(u)
    mu = _start(mdp, "mu", mu)
    gamma = mdp.gamma
    pi = np.exp(theta - theta.max(axis=1, keepdims=True))
    pi /= pi.sum(axis=1, keepdims=True)
    centred = u - np.sum(pi * u, axis=1, keepdims=True)
    variance = np.sum(pi * centred**2, axis=1)
    first = pi * centred  # dπ/dα
    second = pi * (centred**2 - variance[:, None])  # d²π/dα²
    live = np.flatnonzero(~mdp.terminal)
    P = mdp.P[np.ix_(live, np.arange(mdp.n_actions), live)]
    R = mdp.R[live]
    P_pi, P1, P2 = (np.einsum("sa,sat->st", table[live], P) for table in (pi, first, second))
    r_pi, r1, r2 = (np.sum(table[live] * R, axis=1) for table in (pi, first, second))
    M = np.linalg.inv(np.eye(live.size) - gamma * P_pi)
    V, m = M @ r_pi, mu[live] @ M
    terms = np.array(
        [
            2 * gamma**2 * m @ P1 @ M @ P1 @ V,
            gamma * m @ P2 @ V,
            2 * gamma * m @ P1 @ M @ r1,
            m @ r2,
        ]
    )
    a1 = float(np.abs(first[live]).sum(axis=1).max())
    a2 = float(np.abs(second[live]).sum(axis=1).max())
    k = 1 / (1 - gamma)
    term_bounds = np.array([2 * gamma**2 * a1**2 * k**3, gamma * a2 * k**2, 2 * gamma * a1**2 * k**2, a2 * k])
    return Smoothness(
        curvature=float(terms.sum()),
        terms=terms,
        term_bounds=term_bounds,
        bound=float(term_bounds.sum()),
        first_order=a1,
        second_order=a2,
        spread=float(np.sqrt(variance[live].max())),
        constant=2 * k**3,
    )


def natural_policy_iteration(mdp: FiniteMDP, pi: Any, *, step_size: float, n_iterations: int) -> np.ndarray:
    r"""The tabular natural-gradient (mirror-descent) iterates :math:`\pi_{t+1}(a|s) = \pi_t(a|s)
    e^{\eta A_t(s,a)/(1-\gamma)} / Z_t(s)` in *every* state, shape (n_iterations + 1, n_states, n_actions).

    It is what :func:`pgbook.exact_ascent` with ``direction="natural"`` does in every state the policy visits
    (Agarwal et al. 2021, Lemma 5.1 of arXiv:1908.00261v5); written on tables, it is the step the proof of
    :func:`natural_gradient_bound` uses. As :math:`\eta \to \infty` it becomes policy iteration.

    >>> import pgbook as pg
    >>> tables = natural_policy_iteration(pg.examples.chain(3), np.full((3, 2), 0.5), step_size=1.0, n_iterations=2)
    >>> tables.shape
    (3, 3, 2)
    """
    check_type("mdp", mdp, FiniteMDP, "a pgbook.FiniteMDP")
    pi = mdp.check_policy_table(pi)
    eta = as_real("step_size", step_size)
    if not eta > 0:
        raise ValueError(f"step_size must be positive; got {eta}")
    if not mdp.gamma < 1:
        raise ValueError(f"the step η/(1−γ) needs mdp.gamma < 1; got {mdp.gamma}")
    tables = [pi]
    for _ in range(as_count("n_iterations", n_iterations, minimum=0)):
        _, adv = _advantages(mdp, tables[-1])
        logits = np.log(tables[-1]) + eta * adv / (1 - mdp.gamma)
        logits -= logits.max(axis=1, keepdims=True)
        new = np.exp(logits)
        tables.append(new / new.sum(axis=1, keepdims=True))
    return np.array(tables)


@dataclass(frozen=True)
class NaturalGradientBound:
    r"""Both sides of every line of the proof of Agarwal et al.'s Theorem 16, along a run of
    :func:`natural_policy_iteration` from the uniform policy, with :math:`Z_t(s) = \sum_a \pi_t(a|s)
    e^{\eta A_t(s,a)/(1-\gamma)}` and :math:`\mathrm{KL}_t(s)`
    :math:`{} = \mathrm{KL}(\pi^*(\cdot|s)\,\|\,\pi_t(\cdot|s))`.
    Arrays over the iterations :math:`t = 0, 1, \dots` before the last (``n_iterations`` of them) unless said
    otherwise:

    - ``gaps`` (length ``n_iterations`` + 1): :math:`J^* - J(\pi_t)`;
    - ``lemma``: :math:`\sum_s d^*(s) \sum_a \pi^*(a|s) A_t(s,a)`, equal to ``gaps[:-1]`` (performance difference);
    - ``mirror``: :math:`\frac{1-\gamma}{\eta} \sum_s d^*(s) [\mathrm{KL}_t(s)`
      :math:`{} - \mathrm{KL}_{t+1}(s) + \log Z_t(s)]`, equal to ``lemma`` (take the log of the update);
    - ``log_partition``: :math:`\frac{1-\gamma}{\eta} \sum_s d^*(s) \log Z_t(s)`, at most
      ``improvement`` :math:`= \sum_s d^*(s) (V_{t+1} - V_t)(s)` (the improvement lemma, Lemma 5.2 of
      arXiv:1908.00261v5 by Agarwal et al.: the performance difference from the start measure :math:`d^*`, a
      KL dropped, :math:`d^{t+1}_{d^*} \ge d^*`);
    - ``telescoped`` and ``telescoped_bound`` (length ``n_iterations``, at :math:`t = 1, 2, \dots`):
      :math:`\sum_{k<t} \text{gap}_k`
      :math:`{} \le \frac{1-\gamma}{\eta} \sum_s d^*(s)\mathrm{KL}_0(s)`
      :math:`{} + \sum_s d^*(s)(V_t - V_0)(s)`;
    - ``theorem`` (length ``n_iterations``, at :math:`t = 1, 2, \dots`):
      :math:`\frac{\log|\mathcal A|}{\eta t} + \frac{1}{(1-\gamma)^2 t}`, which bounds ``telescoped_bound``/t
      (:math:`\sum_s d^* \le 1/(1-\gamma)`, rewards in [0, 1]) and ``gaps[t]`` (the gaps never grow).
    """

    gaps: np.ndarray
    lemma: np.ndarray
    mirror: np.ndarray
    log_partition: np.ndarray
    improvement: np.ndarray
    telescoped: np.ndarray
    telescoped_bound: np.ndarray
    theorem: np.ndarray


def natural_gradient_bound(
    mdp: FiniteMDP, *, step_size: float, n_iterations: int, rho: Any = None
) -> NaturalGradientBound:
    r"""Every line of the proof that the natural policy gradient from the uniform policy satisfies

    .. math::
        J^* - J(\pi_t) &\le \frac{\log|\mathcal A|}{\eta t} \\
            &\quad + \frac{1}{(1-\gamma)^2 t}

    (Agarwal et al. 2021, Theorem 16; rewards in [0, 1]), computed along the run. See
    :class:`NaturalGradientBound`.

    References
    ----------
    Agarwal, A., Kakade, S. M., Lee, J. D., Mahajan, G. (2021). On the theory of policy gradient methods:
    optimality, approximation, and distribution shift. JMLR 22(98), Theorem 16 (Theorem 5.3 of arXiv:1908.00261v5, whose
    Lemma 5.2 is the improvement lemma).

    Examples
    --------
    >>> import pgbook as pg
    >>> lines = natural_gradient_bound(pg.examples.chain(4, n_actions=3), step_size=0.5, n_iterations=20)
    >>> bool(np.all(lines.gaps[1:] <= lines.theorem))
    True
    """
    check_type("mdp", mdp, FiniteMDP, "a pgbook.FiniteMDP")
    if np.any(mdp.R < 0) or np.any(mdp.R > 1):
        raise ValueError("the theorem assumes rewards in [0, 1]; got rewards outside it")
    eta = as_real("step_size", step_size)
    rho = _start(mdp, "rho", rho)
    n_actions = mdp.n_actions
    tables = natural_policy_iteration(
        mdp, np.full((mdp.n_states, n_actions), 1 / n_actions), step_size=eta, n_iterations=n_iterations
    )
    best = optimal_policy(mdp)
    d_star = _visitation(mdp, best, rho)
    v_star = mdp.state_values(best)
    values = np.array([mdp.state_values(pi) for pi in tables])
    gaps = (v_star - values) @ rho
    kl = -np.einsum("sa,tsa->ts", best, np.log(tables))  # KL(π*‖π_t) per state, π* deterministic
    scale = (1 - mdp.gamma) / eta
    lemma, log_partition = [], []
    for t in range(n_iterations):
        adv = mdp.action_values(tables[t], values[t]) - values[t][:, None]
        lemma.append(float(np.sum(d_star[:, None] * best * adv)))
        z = np.sum(tables[t] * np.exp(eta * adv / (1 - mdp.gamma)), axis=1)
        log_partition.append(scale * float(d_star @ np.log(z)))
    lemma, log_partition = np.array(lemma), np.array(log_partition)
    mirror = scale * (kl[:-1] - kl[1:]) @ d_star + log_partition
    improvement = (values[1:] - values[:-1]) @ d_star
    counts = np.arange(1, n_iterations + 1)
    return NaturalGradientBound(
        gaps=gaps,
        lemma=lemma,
        mirror=mirror,
        log_partition=log_partition,
        improvement=improvement,
        telescoped=np.cumsum(gaps[:-1]),
        telescoped_bound=scale * float(d_star @ kl[0]) + (values[1:] - values[0]) @ d_star,
        theorem=np.log(n_actions) / (eta * counts) + 1 / ((1 - mdp.gamma) ** 2 * counts),
    )
