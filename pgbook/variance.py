r"""Where an estimator's variance comes from, computed exactly on a finite MDP (Tucker et al. 2018).

The policy gradient theorem is an expectation over one state and one action,

.. math::
    \nabla J &= c\, E_{s \sim d/c,\ a \sim \pi(\cdot|s)} \\
        &\qquad \big[\nabla \log \pi(a|s)\, Q(s,a)\big], \\
    c &= \textstyle\sum_s d(s),

(:math:`c = E[(1-\gamma^T)/(1-\gamma)]` for episodes of length :math:`T`: :math:`1/(1-\gamma)` for a continuing
problem, the expected episode length only when γ = 1). Its
one-sample estimator draws the state, the action and then a return :math:`G` from :math:`(s, a)`:
:math:`\hat g = c\, \nabla \log \pi(a|s)\, (G - b(s))`. By the law of total variance its total variance
:math:`\operatorname{tr}\operatorname{Cov}(\hat g)` splits into three terms,

.. math::
    &\underbrace{\operatorname{tr}\operatorname{Cov}_s\, E[\hat g \mid s]}_{\text{state}} \\
    &\quad + \underbrace{E_s \operatorname{tr}\operatorname{Cov}_{a|s}\, E[\hat g \mid s, a]}_{\text{action}} \\
    &\quad + \underbrace{E_{s,a} \operatorname{tr}\operatorname{Cov}(\hat g \mid s, a)}_{\text{trajectory}},

with :math:`E[\hat g|s] = c \sum_a \nabla\pi(a|s) Q(s,a)` (no baseline changes it),
:math:`E[\hat g|s,a] = c \nabla\log\pi(a|s)(Q(s,a) - b(s))` (the only term a baseline can change) and
:math:`\operatorname{Cov}(\hat g|s,a)`
:math:`{} = c^2 \nabla\log\pi\, \nabla\log\pi^\top \operatorname{Var}(G|s,a)` (what a
critic that replaces G by Q removes). :math:`\operatorname{Var}(G|s,a)` comes from the Bellman equation of
the second moment, :math:`m(s)` :math:`{} = \sum_a \pi(a|s)[R^2 + 2\gamma R\, (PV)]`
:math:`{} + \gamma^2 (P_\pi m)(s)`, a linear
solve like V's. Tucker et al. (2018) measured these terms on continuous-control tasks and found the action
term, the only one an action-dependent baseline can touch, small beside the others.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pgbook.baselines import Baseline, parse_baseline
from pgbook.gradient_estimate import GradientEstimate
from pgbook.mdp import FiniteMDP
from pgbook.policies import Params, Policy, policy_table
from pgbook.sampling import sample_episodes


@dataclass(frozen=True)
class VarianceDecomposition:
    """The three terms of the one-sample estimator's total variance (traces of covariance matrices)."""

    state: float
    action: float
    trajectory: float

    @property
    def total(self) -> float:
        return self.state + self.action + self.trajectory


def return_variances(mdp: FiniteMDP, policy: Policy, theta: Params) -> np.ndarray:
    r""":math:`\operatorname{Var}(G \mid s_0 = s, a_0 = a)`, shape (n_states, n_actions), for the MDP's
    deterministic rewards :math:`R(s,a)` (the randomness is in the transitions and later actions).

    Examples
    --------
    A bandit's return is its reward, fixed per arm here: no variance.

    >>> import pgbook as pg
    >>> return_variances(pg.examples.bandit([1.0, 2.0]), pg.TabularSoftmax(1, 2), np.zeros((1, 2)))
    array([[0., 0.]])
    """
    pi = policy_table(mdp, policy, theta)
    values = mdp.state_values(pi)
    next_values = mdp.P @ values  # (PV)(s, a)
    gamma = mdp.gamma
    live = np.flatnonzero(~mdp.terminal)
    P_pi, _ = mdp.markov_chain(pi)
    source = np.einsum("sa,sa->s", pi, mdp.R**2 + 2 * gamma * mdp.R * next_values)
    second_moments = np.zeros(mdp.n_states)  # m(s) = E[G² | s], 0 on terminal states
    second_moments[live] = np.linalg.solve(np.eye(live.size) - gamma**2 * P_pi[np.ix_(live, live)], source[live])
    q_second_moments = mdp.R**2 + 2 * gamma * mdp.R * next_values + gamma**2 * mdp.P @ second_moments
    q_values = mdp.R + gamma * next_values
    variances = np.clip(q_second_moments - q_values**2, 0.0, None)  # rounding can leave -1e-16
    variances[mdp.terminal] = 0.0
    return variances


def variance_decomposition(
    mdp: FiniteMDP, policy: Policy, theta: Params, *, baseline: Baseline = None
) -> VarianceDecomposition:
    r"""The state, action and trajectory terms of :math:`\operatorname{tr}\operatorname{Cov}` of the one-sample
    estimator :math:`\hat g = c\,\nabla\log\pi(a|s)\,(G - b(s))`, :math:`s \sim d/c`, :math:`a \sim \pi(\cdot|s)`.

    Parameters
    ----------
    baseline : None, a number or array_like of shape (n_states,)
        :math:`b(s)`, in the library's one vocabulary (:mod:`pgbook.baselines`): ``None`` (or ``"none"``) for
        none, a constant, or a value per state; the true :func:`pgbook.evaluation.state_values` is the usual
        choice.

    Examples
    --------
    A baseline changes only the action term:

    >>> import pgbook as pg
    >>> mdp = pg.examples.random_mdp(5, 3, gamma=0.9, seed=0)
    >>> policy = pg.TabularSoftmax(5, 3)
    >>> theta = policy.init_params(seed=0)
    >>> plain = variance_decomposition(mdp, policy, theta)
    >>> centred = variance_decomposition(mdp, policy, theta, baseline=pg.state_values(mdp, policy, theta))
    >>> bool(np.isclose(plain.state, centred.state) and np.isclose(plain.trajectory, centred.trajectory))
    True
    >>> bool(centred.action < plain.action)
    True
    """
    pi = policy_table(mdp, policy, theta)
    baseline = _state_baseline(baseline, mdp.n_states)
    values, visitation = mdp.values_and_visitation(pi)
    scale = visitation.sum()
    if scale == 0.0:
        raise ValueError("initial puts all its mass on terminal states: there is nothing to estimate")
    states = visitation / scale  # the state distribution d/c
    q_values = mdp.action_values(pi, values)
    score = policy.score(theta).reshape(mdp.n_states, mdp.n_actions, -1)
    score = np.where(pi[..., None] > 0, score, 0.0)  # actions never taken contribute nothing
    per_action_means = scale * score * (q_values - baseline[:, None])[..., None]  # E[ĝ | s, a]
    per_state_means = np.einsum("sa,sap->sp", pi, per_action_means)  # E[ĝ | s], baseline-free
    gradient = states @ per_state_means  # ∇J
    state_term = states @ np.sum(per_state_means**2, axis=1) - np.sum(gradient**2)
    action_term = states @ (
        np.einsum("sa,sa->s", pi, np.sum(per_action_means**2, axis=2)) - np.sum(per_state_means**2, axis=1)
    )
    squared_scores = np.sum(score**2, axis=2)
    trajectory_term = (
        scale**2 * states @ np.einsum("sa,sa->s", pi, squared_scores * return_variances(mdp, policy, theta))
    )
    return VarianceDecomposition(float(max(state_term, 0.0)), float(max(action_term, 0.0)), float(trajectory_term))


def optimal_state_baseline(mdp: FiniteMDP, policy: Policy, theta: Params) -> np.ndarray:
    r"""The state baseline that minimises the action term, state by state:
    :math:`b^*(s)` :math:`{} = \sum_a \pi(a|s) \|\nabla\log\pi(a|s)\|^2 Q(s,a)`
    :math:`{} / \sum_a \pi(a|s) \|\nabla\log\pi(a|s)\|^2`,
    a score-weighted average of Q that differs from :math:`V(s) = \sum_a \pi(a|s) Q(s,a)` (the usual
    choice). Where every score is 0 (one action, say) any baseline does; V(s) is returned there.
    """
    pi = policy_table(mdp, policy, theta)
    return score_weighted_values(pi, policy.score(theta), mdp.action_values(pi))


def score_weighted_values(pi: np.ndarray, score: np.ndarray, q_values: np.ndarray) -> np.ndarray:
    r""":func:`optimal_state_baseline` from the tables ``pi[s, a]``, ``score[s, a, ...]`` (any number of parameter
    axes) and ``q_values[s, a]``: :math:`\sum_a \pi(a|s) \|\mathrm{score}(s,a)\|^2 Q(s,a)` :math:`{} / \sum_a \pi(a|s)
    \|\mathrm{score}(s,a)\|^2`, and :math:`\sum_a \pi(a|s) Q(s,a)` where every score is 0.

    >>> score_weighted_values(np.array([[0.5, 0.5]]), np.array([[[1.0], [3.0]]]), np.array([[2.0, 0.0]]))
    array([0.2])
    """
    weights = pi * np.sum(score.reshape(*pi.shape, -1) ** 2, axis=2)
    totals = weights.sum(axis=1)
    values = np.einsum("sa,sa->s", pi, q_values)
    weighted = np.einsum("sa,sa->s", weights, q_values)
    return np.divide(weighted, totals, out=values.copy(), where=totals > 0)


def one_sample_estimates(
    mdp: FiniteMDP,
    policy: Policy,
    theta: Params,
    n_samples: int,
    *,
    baseline: Baseline = None,
    max_steps: int,
    seed: int | np.random.Generator | None,
) -> GradientEstimate:
    r"""Samples of the one-sample estimator :math:`\hat g = c\,\nabla\log\pi(a|s)\,(G - b(s))` that
    :func:`variance_decomposition` analyses: :math:`s \sim d/c`, :math:`a \sim \pi(\cdot|s)`, and G the
    discounted return of one episode started from :math:`(s, a)` (cut after ``max_steps`` steps). ``baseline``
    as in :func:`variance_decomposition`.
    """
    pi = policy_table(mdp, policy, theta)
    baseline = _state_baseline(baseline, mdp.n_states)
    visitation = mdp.discounted_visitation(pi)
    scale = visitation.sum()
    if scale == 0.0:
        raise ValueError("initial puts all its mass on terminal states: there is nothing to estimate")
    started_from_visits = FiniteMDP(mdp.P, mdp.R, gamma=mdp.gamma, initial=visitation / scale, terminal=mdp.terminal)
    batch = sample_episodes(started_from_visits, policy, theta, n_samples, max_steps=max_steps, seed=seed)
    first_states, first_actions = batch.states[:, 0], batch.actions[:, 0]
    score = policy.score(theta)[first_states, first_actions]
    weights = scale * (batch.returns() - baseline[first_states])
    return GradientEstimate(weights.reshape(-1, *[1] * (score.ndim - 1)) * score)


def _state_baseline(baseline: Baseline, n_states: int) -> np.ndarray:
    """:math:`b(s)` for every state, from ``None``, a constant or an array V[s] (read by
    :func:`pgbook.baselines.parse_baseline`)."""
    parsed = parse_baseline(baseline, accepts=("none", "constant", "values"), n_states=n_states)
    return np.full(n_states, 0.0 if parsed.value is None else parsed.value)
