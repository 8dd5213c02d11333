r"""Entropy regularisation on a finite MDP: the regularised objective, its gradient, its optimum, and the
regularised natural gradient.

With the temperature :math:`\zeta \ge 0` and the entropy :math:`\mathcal H(\pi(\cdot|s)) = -\sum_a \pi(a|s)
\log \pi(a|s)`, the regularised objective is

.. math::
    J_\zeta(\theta) &= \mathbb E\Big[\sum_{t < T} \gamma^t \big(r_{t+1} \\
        &\qquad + \zeta\, \mathcal H(\pi_\theta(\cdot|s_t))\big)\Big],

the objective of soft actor-critic (Haarnoja, Zhou, Abbeel & Levine 2018) and of the convergence analyses of
Mei, Xiao, Szepesvári & Schuurmans (2020) and Cen, Cheng, Chen, Wei & Chi (2022), who write τ for ζ. An episode
that has ended earns no entropy: terminal states count :math:`\mathcal H = 0`. Its soft values are
:math:`V_\zeta = (I - \gamma P_\pi)^{-1}(r_\pi + \zeta \mathcal H_\pi)` and
:math:`Q_\zeta(s,a) = R(s,a)` :math:`{} + \gamma \sum_{s'} P(s'|s,a) V_\zeta(s')` (the entropy of the action already
taken is not in :math:`Q_\zeta`), so that :math:`V_\zeta(s) = \sum_a \pi(a|s)`
:math:`(Q_\zeta(s,a) - \zeta \log \pi(a|s))`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from pgbook.arguments import as_count, as_distributions, as_real, as_real_array, check_shape, check_type
from pgbook.mdp import FiniteMDP
from pgbook.policies import Params, Policy, policy_table

__all__ = [
    "SoftOptimum",
    "entropy_gradient",
    "policy_entropy",
    "regularised_gradient",
    "regularised_natural_policy_iteration",
    "regularised_objective",
    "soft_optimum",
    "soft_values",
]


def _temperature(value: Any, *, positive: bool = False) -> float:
    return as_real("temperature", value, within="(0, inf)" if positive else "[0, inf)")


def _log(pi: np.ndarray) -> np.ndarray:
    """log π with 0 where π = 0 (the term π log π is 0 there, and a softmax policy's ∇π is 0 there too)."""
    return np.log(np.where(pi > 0, pi, 1.0))


def policy_entropy(pi: Any) -> np.ndarray:
    r"""The entropy of each row of the policy table, :math:`\mathcal H(\pi(\cdot|s)) = -\sum_a \pi(a|s) \log \pi(a|s)`
    (with :math:`0 \log 0 = 0`), shape (n_states,). It lies in :math:`[0, \log|\mathcal A|]`.

    References
    ----------
    Cover, T. M., Thomas, J. A. (2006). Elements of Information Theory, 2nd ed., §2.1.

    Examples
    --------
    >>> policy_entropy([[0.5, 0.5], [1.0, 0.0]]).round(6)
    array([0.693147, 0.      ])
    """
    pi = as_distributions("pi", pi, (None, None))
    return 0.0 - np.sum(pi * _log(pi), axis=1)  # 0.0 - : no -0.0 for a deterministic row


def soft_values(mdp: FiniteMDP, pi: Any, *, temperature: float) -> tuple[np.ndarray, np.ndarray]:
    r"""The soft values of the policy table ``pi``: :math:`V_\zeta` and :math:`Q_\zeta`.

    .. math::
        V_\zeta &= (I - \gamma P_\pi)^{-1} \\
            &\qquad \times (r_\pi + \zeta\, \mathcal H_\pi), \\
        Q_\zeta(s, a) &= R(s, a) \\
            &\qquad + \gamma \textstyle\sum_{s'} P(s'|s,a)\, V_\zeta(s'),

    on the non-terminal states (both are 0 on terminal states, which earn no entropy). With
    :math:`\zeta = 0` they are :math:`V_\pi` and :math:`Q_\pi`.

    References
    ----------
    Haarnoja, T., Zhou, A., Abbeel, P., Levine, S. (2018). Soft actor-critic: off-policy maximum entropy deep
    reinforcement learning with a stochastic actor. ICML, §4.1 (soft policy evaluation).

    Examples
    --------
    A bandit (γ = 0): the uniform policy over two arms earns their mean reward plus ζ log 2.

    >>> import pgbook as pg
    >>> V, Q = soft_values(pg.examples.bandit([0.0, 1.0]), [[0.5, 0.5]], temperature=1.0)
    >>> round(float(V[0]), 6), Q
    (1.193147, array([[0., 1.]]))
    """
    check_type("mdp", mdp, FiniteMDP, "a pgbook.FiniteMDP")
    pi = mdp.check_policy_table(pi)
    zeta = _temperature(temperature)
    P_pi, r_pi = mdp.markov_chain(pi)
    if mdp.gamma == 1.0:
        mdp.check_termination(pi)
    live = np.flatnonzero(~mdp.terminal)
    bonus = zeta * policy_entropy(pi)
    values = np.zeros(mdp.n_states)
    values[live] = np.linalg.solve(np.eye(live.size) - mdp.gamma * P_pi[np.ix_(live, live)], (r_pi + bonus)[live])
    return values, mdp.R + mdp.gamma * mdp.P @ values


def regularised_objective(mdp: FiniteMDP, policy: Policy, theta: Params, *, temperature: float) -> float:
    r"""The regularised objective :math:`J_\zeta(\theta) = \mu_0^\top V_\zeta`
    :math:`{} = J(\theta) + \zeta \sum_s d(s)\, \mathcal H(\pi_\theta(\cdot|s))`.

    References
    ----------
    Mei, J., Xiao, C., Szepesvári, C., Schuurmans, D. (2020). On the global convergence rates of softmax policy
    gradient methods. ICML (their entropy-regularised value :math:`\tilde V^{\pi}(\rho)`, τ for ζ).

    Examples
    --------
    >>> import pgbook as pg
    >>> mdp, policy = pg.examples.bandit([0.0, 1.0]), pg.TabularSoftmax(1, 2)
    >>> round(regularised_objective(mdp, policy, np.zeros((1, 2)), temperature=1.0), 6)   # 1/2 + log 2
    1.193147
    """
    pi = policy_table(mdp, policy, theta)
    return float(mdp.initial @ soft_values(mdp, pi, temperature=temperature)[0])


def regularised_gradient(mdp: FiniteMDP, policy: Policy, theta: Params, *, temperature: float) -> np.ndarray:
    r"""The exact gradient of :math:`J_\zeta`: the policy gradient theorem with the reward :math:`r - \zeta \log \pi`,

    .. math::
        \nabla J_\zeta(\theta) &= \sum_s d(s) \sum_a \nabla \pi_\theta(a|s) \\
            &\qquad \times \big(Q_\zeta(s,a) \\
            &\qquad\quad - \zeta \log \pi_\theta(a|s)\big)

    (the derivative of the :math:`\log \pi` inside the reward, :math:`-\zeta \sum_a \pi \nabla \log \pi
    = -\zeta \nabla \sum_a \pi`, is 0). For tabular softmax its entries are :math:`d(s) \pi(a|s) A_\zeta(s,a)` with
    the soft advantage :math:`A_\zeta = Q_\zeta - \zeta \log \pi - V_\zeta` (Mei et al. 2020, Lemma 10).

    References
    ----------
    Mei, J., Xiao, C., Szepesvári, C., Schuurmans, D. (2020). On the global convergence rates of softmax policy
    gradient methods. ICML, Lemma 10.

    Examples
    --------
    On a bandit, :math:`\partial J_\zeta / \partial \theta_k = \pi_k (R(k) - \zeta \log \pi_k - J_\zeta)`:

    >>> import pgbook as pg
    >>> mdp, policy = pg.examples.bandit([0.0, 1.0]), pg.TabularSoftmax(1, 2)
    >>> regularised_gradient(mdp, policy, np.zeros((1, 2)), temperature=1.0)
    array([[-0.25,  0.25]])
    """
    pi = policy_table(mdp, policy, theta)
    zeta = _temperature(temperature)
    _, q = soft_values(mdp, pi, temperature=zeta)
    visitation = mdp.discounted_visitation(pi)
    return policy.weighted_probability_gradient(theta, visitation[:, None] * (q - zeta * _log(pi)))


def entropy_gradient(mdp: FiniteMDP, policy: Policy, theta: Params, *, state_weights: Any) -> np.ndarray:
    r"""The gradient of a weighted sum of the policy's entropies with the states held fixed,

    .. math::
        &\nabla_\theta \sum_s w(s)\, \mathcal H(\pi_\theta(\cdot|s)) \\
        &\quad = -\sum_s w(s) \sum_a \nabla \pi_\theta(a|s) \\
        &\qquad\qquad \times \log \pi_\theta(a|s):

    the expected gradient of the entropy bonus as A2C and PPO implement it (a loss term :math:`-\zeta` times the mean
    entropy over the states of the batch, differentiated as if the states did not depend on θ), with :math:`w` the
    distribution of the batch's states: the normalised undiscounted visitation :math:`\bar d_1` for a batch of whole
    episodes.

    References
    ----------
    Mnih, V. et al. (2016). Asynchronous methods for deep reinforcement learning. ICML (the entropy bonus).
    Raffin, A. et al. (2021). Stable-Baselines3. JMLR 22(268) (``ent_coef``).

    Examples
    --------
    >>> import pgbook as pg
    >>> mdp, policy = pg.examples.bandit([0.0, 1.0]), pg.TabularSoftmax(1, 2)
    >>> theta = np.log([[0.25, 0.75]])
    >>> entropy_gradient(mdp, policy, theta, state_weights=[1.0]).round(6)   # ∂𝓗/∂θ_k = -π_k (log π_k + 𝓗)
    array([[ 0.20599, -0.20599]])
    """
    pi = policy_table(mdp, policy, theta)
    weights = as_real_array("state_weights", state_weights, ndim=1)
    check_shape("state_weights", weights, (mdp.n_states,))
    if not np.all(np.isfinite(weights)):
        raise ValueError("state_weights must be finite")
    return policy.weighted_probability_gradient(theta, -weights[:, None] * _log(pi))


@dataclass(frozen=True)
class SoftOptimum:
    r"""The optimum of :math:`J_\zeta` found by :func:`soft_optimum`: the soft-optimal policy
    :math:`\pi^*_\zeta(a|s) = \exp((Q^*_\zeta(s,a) - V^*_\zeta(s))/\zeta)`, its soft values, and the number of
    backups soft value iteration took."""

    policy: np.ndarray
    values: np.ndarray
    action_values: np.ndarray
    iterations: int


def soft_optimum(mdp: FiniteMDP, *, temperature: float, tolerance: float = 1e-12) -> SoftOptimum:
    r"""The soft-optimal policy by soft value iteration: repeat, on the non-terminal states,

    .. math::
        V(s) &\leftarrow \zeta \log \sum_a \exp\big(Q(s, a)/\zeta\big), \\
        Q(s, a) &= R(s,a) \\
            &\qquad + \gamma \textstyle\sum_{s'} P(s'|s,a)\, V(s')

    (a γ-contraction in the sup norm) until a backup changes V by at most ``tolerance`` × (1 − γ), so that
    :math:`\|V - V^*_\zeta\|_\infty \le` ``tolerance``; then :math:`\pi^*_\zeta \propto \exp(Q^*_\zeta/\zeta)`. As
    :math:`\zeta \to 0` the log-sum-exp becomes a max: value iteration.

    References
    ----------
    Ziebart, B. D. (2010). Modeling purposeful adaptive behavior with the principle of maximum causal entropy.
    PhD thesis, Carnegie Mellon University (soft value iteration). Haarnoja, T., Tang, H., Abbeel, P., Levine, S.
    (2017). Reinforcement learning with deep energy-based policies. ICML (soft Q-iteration).

    Examples
    --------
    A bandit: :math:`\pi^*_\zeta` is the softmax of the means over ζ, and
    :math:`V^*_\zeta = \zeta \log \sum_k e^{R(k) / \zeta}`.

    >>> import pgbook as pg
    >>> best = soft_optimum(pg.examples.bandit([0.0, 1.0]), temperature=1.0)
    >>> best.policy.round(6), round(float(best.values[0]), 6)
    (array([[0.268941, 0.731059]]), 1.313262)
    """
    check_type("mdp", mdp, FiniteMDP, "a pgbook.FiniteMDP")
    zeta = _temperature(temperature, positive=True)
    tolerance = as_real("tolerance", tolerance, within="(0, inf)")
    if not mdp.gamma < 1.0:
        raise ValueError(f"soft value iteration contracts only with mdp.gamma < 1; got {mdp.gamma}")
    live = ~mdp.terminal
    values = np.zeros(mdp.n_states)
    iterations, change = 0, np.inf
    while change > tolerance * (1 - mdp.gamma):  # a γ-contraction: the change shrinks at least geometrically
        q = mdp.R + mdp.gamma * mdp.P @ values
        top = q.max(axis=1)
        backup = np.where(live, top + zeta * np.log(np.exp((q - top[:, None]) / zeta).sum(axis=1)), 0.0)
        change = np.abs(backup - values).max()
        values, iterations = backup, iterations + 1
    q = mdp.R + mdp.gamma * mdp.P @ values
    logits = (q - q.max(axis=1, keepdims=True)) / zeta
    policy = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return SoftOptimum(policy, values, q, iterations)


def regularised_natural_policy_iteration(
    mdp: FiniteMDP, pi: Any, *, temperature: float, step_size: float, n_iterations: int
) -> np.ndarray:
    r"""The entropy-regularised natural policy gradient on tables, shape (n_iterations + 1, n_states, n_actions):

    .. math::
        &\pi_{t+1}(a|s) \\
        &\quad \propto \pi_t(a|s)^{1 - \eta\zeta/(1-\gamma)} \\
        &\quad \times \exp\big(\eta\, Q_\zeta^{(t)}(s,a)/(1-\gamma)\big),

    the step :math:`\theta \leftarrow \theta + \frac{\eta}{1-\gamma} F^+ \nabla J_\zeta` of tabular softmax (the
    Fisher matrix of the unnormalised visitation), in every state. With :math:`\eta = (1-\gamma)/\zeta` it is soft
    policy iteration, :math:`\pi_{t+1} \propto \exp(Q_\zeta^{(t)}/\zeta)` (Haarnoja et al. 2018, Lemma 2).
    Cen et al. prove :math:`\|Q^*_\zeta - Q_\zeta^{(t+1)}\|_\infty \le \Upsilon \gamma (1 - \eta\zeta)^t` for
    :math:`0 < \eta \le (1-\gamma)/\zeta`, with :math:`\Upsilon = \|Q^*_\zeta - Q_\zeta^{(0)}\|_\infty`
    :math:`{} + 2\zeta(1 - \frac{\eta\zeta}{1-\gamma})`
    :math:`\|\log\pi^*_\zeta - \log\pi^{(0)}\|_\infty` (their :math:`C_1`).

    References
    ----------
    Cen, S., Cheng, C., Chen, Y., Wei, Y., Chi, Y. (2022). Fast global convergence of natural policy gradient
    methods with entropy regularization. Operations Research 70(4), eq. (17) and Theorem 1.

    Examples
    --------
    >>> import pgbook as pg
    >>> tables = regularised_natural_policy_iteration(
    ...     pg.examples.bandit([0.0, 1.0]), [[0.5, 0.5]], temperature=1.0, step_size=1.0, n_iterations=1)
    >>> tables[-1].round(6)   # γ = 0, η = (1 − γ)/ζ: one step reaches softmax(μ/ζ)
    array([[0.268941, 0.731059]])
    """
    check_type("mdp", mdp, FiniteMDP, "a pgbook.FiniteMDP")
    pi = mdp.check_policy_table(pi)
    zeta = _temperature(temperature)
    eta = as_real("step_size", step_size, within="(0, inf)")
    if not mdp.gamma < 1.0:
        raise ValueError(f"the step η/(1−γ) needs mdp.gamma < 1; got {mdp.gamma}")
    if np.any(pi <= 0):
        raise ValueError("pi must give every action positive probability (a softmax policy)")
    tables, log_pi = [pi], np.log(pi)
    keep = 1 - eta * zeta / (1 - mdp.gamma)
    for _ in range(as_count("n_iterations", n_iterations, minimum=0)):
        _, q = soft_values(mdp, tables[-1], temperature=zeta)
        logits = keep * log_pi + eta * q / (1 - mdp.gamma)  # log π kept as logits: finite where π underflows
        logits -= logits.max(axis=1, keepdims=True)
        log_pi = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        tables.append(np.exp(log_pi))
    return np.array(tables)
