r"""Off-policy policy gradients: the gradient of a target policy :math:`\pi_\theta` from the data of a behaviour
policy :math:`b` (Precup, Sutton & Singh 2000; Degris, White & Sutton 2012; Imani, Graves & White 2018; Silver
et al. 2014).

Two questions have two answers.

*The gradient of J from b's episodes.* Importance sampling reweights an episode of :math:`b` by the ratios
:math:`\rho_t = \pi_\theta(a_t|s_t) / b(a_t|s_t)`: :func:`off_policy_gradient` estimates :math:`\nabla J(\theta)`
without bias, with whole-episode products or per decision, and :func:`importance_sampling_moments` gives an
estimator's exact mean and variance by enumerating every episode of a short problem.

*The gradient of what b's states can judge.* An agent that learns while following :math:`b` sees states from
:math:`b`'s distribution :math:`d_b` (:func:`behaviour_distribution`) and maximises the *excursion objective*

.. math::
    J_b(\theta) = \sum_s d_b(s)\, V_\pi(s)

(:func:`excursion_objective`; any state weighting :math:`\nu \ge 0` in place of :math:`d_b`). It is the
ordinary objective with start distribution :math:`\nu`, so the policy gradient theorem gives

.. math::
    \nabla J_\nu &= \sum_s m(s) \sum_a \nabla\pi_\theta(a|s)\, Q_\pi(s,a), \\
    m^\top &= \nu^\top (I - \gamma P_\pi)^{-1},

the emphatic weighting :math:`m` of Imani et al. (2018, Theorem 1; :func:`emphatic_weightings`,
:func:`excursion_gradient`). Off-PAC (Degris et al. 2012) uses :math:`\nu` itself in place of :math:`m`
(:func:`off_pac_gradient`): it drops the term :math:`\sum_s \nu(s) \sum_a \pi(a|s) \nabla Q_\pi(s,a)`, and its
fixed points can differ from those of :math:`J_\nu` (:func:`imani_counterexample`, :func:`off_policy_ascent`).
The deterministic off-policy gradient behind DDPG drops the same term
(:func:`off_policy_deterministic_gradient`).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from pgbook.arguments import as_count, as_flag, as_real, as_real_array, check_shape
from pgbook.average_reward import stationary_distribution
from pgbook.batch import Batch
from pgbook.deterministic import action_gradient_matrix
from pgbook.estimators import check_batch_and_policy, score_sums
from pgbook.evaluation import action_values, state_values
from pgbook.gradient_estimate import GradientEstimate
from pgbook.lqr import LinearQuadratic, checked_gain
from pgbook.mdp import FiniteMDP
from pgbook.policies import LinearSoftmax, Params, Policy, check_fit, policy_table
from pgbook.trajectories import enumerate_episodes
from pgbook.update_field import undiscounted_visitation

# Importance sampling: ∇J from the episodes of b ------------------------------------------------------------


def off_policy_gradient(
    batch: Batch, policy: Policy, theta: Params, behaviour_theta: Params, *, per_decision: bool = True
) -> GradientEstimate:
    r"""The policy gradient at ``theta`` from episodes sampled with ``behaviour_theta``, by importance sampling.

    With :math:`\rho_{0:k} = \prod_{j \le k} \pi_\theta(a_j|s_j) / \pi_{\text{behaviour}}(a_j|s_j)`:

    - per-decision (Precup, Sutton & Singh 2000): :math:`\hat g_i`
      :math:`{} = \sum_t \gamma^t \nabla\log\pi_\theta(a_t|s_t)`
      :math:`\sum_{k \ge t} \gamma^{k-t} \rho_{0:k} r_{k+1}`: a reward is reweighted only by the actions before it;
    - ``per_decision=False``: the whole episode's ratio, :math:`\rho_{0:T} \sum_t \gamma^t G_t
      \nabla\log\pi_\theta(a_t|s_t)`.

    Both are unbiased when the behaviour policy gives every action positive probability and the episodes
    terminate (truncation at ``max_steps`` leaves its usual :math:`\gamma^{\mathtt{max\_steps}}` bias).

    >>> import pgbook as pg
    >>> mdp, policy = pg.examples.random_mdp(3, 2, gamma=0.9, seed=0, n_terminal=1), pg.TabularSoftmax(3, 2)
    >>> behaviour = policy.init_params(seed=1)
    >>> batch = pg.sample_episodes(mdp, policy, behaviour, 5, max_steps=100, seed=2)
    >>> estimate = off_policy_gradient(batch, policy, behaviour + 0.1, behaviour)
    >>> estimate.per_episode.shape
    (5, 3, 2)
    """
    theta = check_batch_and_policy(batch, policy, theta)  # the batch's states and actions fit the policy
    behaviour_theta = policy.check_params(behaviour_theta)
    per_decision = as_flag("per_decision", per_decision)
    behaviour_log_pi = policy.log_probabilities(behaviour_theta)
    weights = _importance_weights(
        batch, policy.log_probabilities(theta) - behaviour_log_pi, behaviour_log_pi, per_decision
    )
    return score_sums(batch, policy, theta, weights)  # padding steps count 0 whatever their weight


def _importance_weights(
    batch: Batch, log_ratio: np.ndarray, behaviour_log_pi: np.ndarray, per_decision: bool
) -> np.ndarray:
    r"""The step weights of :func:`off_policy_gradient`, :math:`\sum_{k \ge t} \gamma^k \rho_{0:k} r_k` or
    :math:`\rho_{0:T} \gamma^t G_t`, shape (n_episodes, horizon), from the table :math:`\log \pi_\theta - \log b`.
    A function of its own so that its step arrays are freed before the score sums: fresh memory costs time."""
    log_cumulative = np.cumsum(np.where(batch.alive, log_ratio[batch.states, batch.actions], 0.0), axis=1)
    try:
        with np.errstate(over="raise"):  # cheaper than looking for inf afterwards
            cumulative = np.exp(log_cumulative)  # ρ_{0:k}
    except FloatingPointError:
        with np.errstate(over="ignore"):
            i, t = (int(k) for k in np.argwhere(np.isinf(np.exp(log_cumulative)))[0])
        s, a = batch.states[i, t], batch.actions[i, t]
        raise ValueError(
            f"behaviour_theta gives probability {np.exp(behaviour_log_pi[s, a]):.3g} to action {a} in state {s}, "
            f"taken in episode {i} at step {t}: the importance ratios overflow (was the batch sampled with "
            "behaviour_theta?)"
        ) from None
    del log_cumulative
    discounts = batch.gamma ** np.arange(batch.rewards.shape[1])
    if not per_decision:
        return cumulative[:, -1:] * discounts * batch.returns_to_go()
    cumulative *= batch.rewards
    cumulative *= discounts  # γ^k ρ_{0:k} r_k, in place
    return np.cumsum(cumulative[:, ::-1], axis=1)[:, ::-1]  # Σ_{k≥t} γ^k ρ_{0:k} r_k = γ^t Σ γ^{k-t} ...


def importance_sampling_moments(
    mdp: FiniteMDP, policy: Policy, theta: Params, behaviour_theta: Params, *, horizon: int, per_decision: bool = True
) -> tuple[np.ndarray, float]:
    r"""The exact mean :math:`E_b[\hat g]` and total variance :math:`\operatorname{tr}\operatorname{Cov}_b(\hat g)`
    of the one-episode estimate of :func:`off_policy_gradient`, by enumerating every episode of the behaviour
    policy (:func:`pgbook.trajectories.enumerate_episodes`): sums over episodes, no sampling. The problem's
    episodes must all end within ``horizon`` steps (for example :func:`pgbook.trajectories.layered_mdp`).

    >>> import pgbook as pg
    >>> from pgbook.trajectories import layered_mdp
    >>> mdp, policy = layered_mdp(3, 2, 2, gamma=0.9, seed=0), pg.TabularSoftmax(7, 2)
    >>> behaviour, theta = np.zeros((7, 2)), policy.init_params(seed=1)
    >>> mean, variance = importance_sampling_moments(mdp, policy, theta, behaviour, horizon=3)
    >>> bool(np.allclose(mean, pg.exact_gradient(mdp, policy, theta), atol=1e-12)), variance > 0
    (True, True)
    """
    per_decision = as_flag("per_decision", per_decision)
    batch, probabilities = enumerate_episodes(mdp, policy, behaviour_theta, horizon=horizon)
    samples = off_policy_gradient(batch, policy, theta, behaviour_theta, per_decision=per_decision).per_episode
    mean = np.tensordot(probabilities, samples, axes=1)
    deviations = (samples - mean).reshape(batch.n_episodes, -1)
    return mean, float(probabilities @ np.sum(deviations**2, axis=1))


# The excursion objective, Off-PAC and the emphatic weighting ---------------------------------------------------


def behaviour_distribution(mdp: FiniteMDP, policy: Policy, behaviour_theta: Params) -> np.ndarray:
    r""":math:`d_b`, the distribution of the states an agent following :math:`b` sees, shape (n_states,).

    On an episodic problem (with terminal states), episodes restart from :math:`\mu_0`: the share of the
    visits, :math:`d_b(s) = \sum_t \Pr_b(s_t = s) / E_b[T]`. On a continuing one, the stationary
    distribution of :math:`P_b` (:func:`pgbook.stationary_distribution`, required to be unique).

    >>> import pgbook as pg
    >>> mdp, policy, behaviour = imani_counterexample()
    >>> behaviour_distribution(mdp, policy, behaviour)   # s0 every episode, then s1 or s2 (1 : 3)
    array([0.5  , 0.125, 0.375, 0.   ])
    """
    check_fit(mdp, policy)
    if mdp.terminal.any():
        visits = undiscounted_visitation(mdp, policy, behaviour_theta)
        return visits / visits.sum()
    return stationary_distribution(mdp, policy, behaviour_theta)


def _checked_state_weights(mdp: FiniteMDP, policy: Policy, state_weights: Any) -> np.ndarray:
    check_fit(mdp, policy)
    nu = as_real_array("state_weights", state_weights, ndim=1)
    check_shape("state_weights", nu, (mdp.n_states,))
    if np.any(nu < 0) or not np.any(nu[~mdp.terminal] > 0):
        raise ValueError(
            f"state_weights must be non-negative with positive weight on a non-terminal state; got {nu.tolist()}"
        )
    return nu


def excursion_objective(mdp: FiniteMDP, policy: Policy, theta: Params, state_weights: Any) -> float:
    r"""The excursion objective :math:`J_\nu(\theta) = \sum_s \nu(s)\, V_\pi(s)` for state weights :math:`\nu`
    (:math:`d_b` for the objective of an agent following :math:`b`; Degris et al. 2012, Imani et al. 2018).

    >>> import pgbook as pg
    >>> mdp, policy, behaviour = imani_counterexample()
    >>> d_b = behaviour_distribution(mdp, policy, behaviour)
    >>> round(excursion_objective(mdp, policy, np.zeros(4), d_b), 6)   # uniform π: V = (0.75, 1, 0.5, 0)
    0.6875
    """
    nu = _checked_state_weights(mdp, policy, state_weights)
    return float(nu @ state_values(mdp, policy, theta))


def emphatic_weightings(mdp: FiniteMDP, policy: Policy, theta: Params, state_weights: Any) -> np.ndarray:
    r"""The emphatic weighting :math:`m^\top = \nu^\top (I - \gamma P_\pi)^{-1}` (Imani et al. 2018, with
    :math:`\nu = d_b \circ i` for an interest :math:`i`; Sutton, Mahmood & White 2016), shape (n_states,), 0 on
    terminal states: the discounted visitation of :math:`\pi_\theta` from the start measure :math:`\nu`. It weights
    the states in :func:`excursion_gradient` as :math:`d` does in the policy gradient theorem.

    >>> import pgbook as pg
    >>> mdp, policy, behaviour = imani_counterexample()
    >>> d_b = behaviour_distribution(mdp, policy, behaviour)
    >>> emphatic_weightings(mdp, policy, np.zeros(4), d_b)   # s1 and s2 also get ½ × ½ from s0
    array([0.5  , 0.375, 0.625, 0.   ])
    """
    nu = _checked_state_weights(mdp, policy, state_weights)
    pi = policy_table(mdp, policy, theta)
    if mdp.gamma == 1.0:
        mdp.check_termination(pi)
    P_pi, _ = mdp.markov_chain(pi)
    live = np.flatnonzero(~mdp.terminal)
    weights = np.zeros(mdp.n_states)
    weights[live] = np.linalg.solve((np.eye(live.size) - mdp.gamma * P_pi[np.ix_(live, live)]).T, nu[live])
    return weights


def excursion_gradient(mdp: FiniteMDP, policy: Policy, theta: Params, state_weights: Any) -> np.ndarray:
    r"""The exact gradient of :func:`excursion_objective` (Imani, Graves & White 2018, Theorem 1):

    .. math::
        \nabla J_\nu(\theta) &= \sum_s m(s) \\
            &\qquad \times \sum_a \nabla\pi_\theta(a|s)\, Q_\pi(s,a),

    with the emphatic weighting :math:`m` of :func:`emphatic_weightings`.

    >>> import pgbook as pg
    >>> mdp, policy, behaviour = imani_counterexample()
    >>> d_b = behaviour_distribution(mdp, policy, behaviour)
    >>> numerical = pg.finite_difference(lambda t: excursion_objective(mdp, policy, t, d_b), np.zeros(4))
    >>> bool(np.allclose(excursion_gradient(mdp, policy, np.zeros(4), d_b), numerical, atol=1e-9))
    True
    """
    m = emphatic_weightings(mdp, policy, theta, state_weights)
    return policy.weighted_probability_gradient(theta, m[:, None] * action_values(mdp, policy, theta))


def off_pac_gradient(mdp: FiniteMDP, policy: Policy, theta: Params, state_weights: Any) -> np.ndarray:
    r"""Off-PAC's approximate gradient (Degris, White & Sutton 2012, eq. 5):

    .. math::
        g(\theta) = \sum_s \nu(s) \sum_a \nabla\pi_\theta(a|s)\, Q_\pi(s,a).

    The product rule on :math:`J_\nu = \sum_s \nu(s) \sum_a \pi(a|s) Q_\pi(s,a)` gives this term and
    :math:`\sum_s \nu(s) \sum_a \pi(a|s) \nabla Q_\pi(s,a)`, which Off-PAC drops; :func:`excursion_gradient` keeps
    it (it moves :math:`\nu` to :math:`m`).

    >>> import pgbook as pg
    >>> mdp, policy, behaviour = imani_counterexample()
    >>> d_b = behaviour_distribution(mdp, policy, behaviour)
    >>> off_pac_gradient(mdp, policy, np.zeros(4), d_b)   # s1, s2 shared: ¼ (⅛·2 − ⅜·1) = −1/32
    array([ 0.0625 , -0.0625 , -0.03125,  0.03125])
    """
    nu = _checked_state_weights(mdp, policy, state_weights)
    return policy.weighted_probability_gradient(theta, nu[:, None] * action_values(mdp, policy, theta))


def follow_on_visits(
    batch: Batch, policy: Policy, theta: Params, behaviour_theta: Params, *, interest: Any = None
) -> GradientEstimate:
    r"""Per-episode sums :math:`\sum_t \mathcal F_t\, [s_t = s]` of the follow-on trace (Sutton, Mahmood & White 2016;
    Imani et al. 2018), along episodes of the behaviour policy:

    .. math::
        \mathcal F_0 = i(s_0), \qquad \mathcal F_t = i(s_t) + \gamma \rho_{t-1} \mathcal F_{t-1},

    with :math:`\rho_t = \pi_\theta(a_t|s_t) / b(a_t|s_t)` and the interest :math:`i` (default 1). Their
    expectation is :math:`E_b[T]\, m`, with :math:`m` the :func:`emphatic_weightings` for :math:`\nu = d_b \circ i`
    (:func:`behaviour_distribution`): a second, sampled, way to the emphatic weights, the one an agent such as
    ACE can use. Episodes must end (a truncated episode is refused).

    >>> import pgbook as pg
    >>> mdp, policy, behaviour = imani_counterexample()
    >>> batch = pg.sample_episodes(mdp, policy, behaviour, 4, max_steps=10, seed=0)
    >>> follow_on_visits(batch, policy, np.zeros(4), behaviour).per_episode.shape
    (4, 4)
    """
    theta = check_batch_and_policy(batch, policy, theta)
    behaviour_theta = policy.check_params(behaviour_theta)
    if not np.all(batch.terminated):
        raise ValueError("batch must hold complete episodes (some were cut off at max_steps): raise max_steps")
    if interest is None:
        interest = np.ones(policy.n_states)
    interest = as_real_array("interest", interest, ndim=1)
    check_shape("interest", interest, (policy.n_states,))
    ratios = np.exp(policy.log_probabilities(theta) - policy.log_probabilities(behaviour_theta))
    step_ratios = ratios[batch.states, batch.actions]
    traces = np.zeros(batch.rewards.shape)
    previous = np.zeros(batch.n_episodes)
    for t in range(batch.rewards.shape[1]):
        traces[:, t] = interest[batch.states[:, t]] + batch.gamma * previous
        previous = traces[:, t] * step_ratios[:, t]
    visits = np.zeros((batch.n_episodes, policy.n_states))
    np.add.at(visits, (np.repeat(np.arange(batch.n_episodes), batch.alive.shape[1]), batch.states.ravel()),
              (traces * batch.alive).ravel())  # fmt: skip
    return GradientEstimate(visits)


def off_policy_ascent(
    mdp: FiniteMDP,
    policy: Policy,
    initial_theta: Params,
    state_weights: Any,
    *,
    step_size: float,
    n_iterations: int,
    direction: Literal["excursion", "off-pac"] = "excursion",
) -> np.ndarray:
    r"""Exact ascent :math:`\theta \leftarrow \theta + \eta\, g(\theta)` with the fixed state weights :math:`\nu`
    (a fixed behaviour policy's :math:`d_b`), along :func:`excursion_gradient` (``direction="excursion"``) or
    :func:`off_pac_gradient` (``"off-pac"``). Returns the parameters after each iteration, shape
    (n_iterations + 1, \*param_shape), the first being ``initial_theta``.

    >>> import pgbook as pg
    >>> mdp, policy, behaviour = imani_counterexample()
    >>> d_b = behaviour_distribution(mdp, policy, behaviour)
    >>> path = off_policy_ascent(mdp, policy, np.zeros(4), d_b, step_size=1.0, n_iterations=3)
    >>> path.shape
    (4, 4)
    """
    _checked_state_weights(mdp, policy, state_weights)
    theta = policy.check_params(initial_theta)
    step_size = as_real("step_size", step_size, within="(0, inf)")
    n_iterations = as_count("n_iterations", n_iterations, minimum=0)
    gradients = {"excursion": excursion_gradient, "off-pac": off_pac_gradient}
    if direction not in gradients:
        raise ValueError(f'direction must be "excursion" or "off-pac"; got {direction!r}')
    path = [theta]
    for _ in range(n_iterations):
        theta = theta + step_size * gradients[direction](mdp, policy, theta, state_weights)
        path.append(theta)
    return np.array(path)


def imani_counterexample() -> tuple[FiniteMDP, LinearSoftmax, np.ndarray]:
    r"""The counterexample of Imani, Graves & White (2018, Figure 1 and §5.1): the MDP, the target policy's
    family, and the behaviour policy's parameters.

    From :math:`s_0`, action 0 leads to :math:`s_1` and action 1 to :math:`s_2`, reward 0; then the episode
    ends, with reward 2 for action 0 in :math:`s_1` and 1 for action 1 in :math:`s_2` (0 otherwise); γ = 1.
    The policy cannot tell :math:`s_1` from :math:`s_2`: a softmax linear in the features
    :math:`\phi(s, a) = e_{j(s)} \otimes e_a`, :math:`j(s_0) = 0`, :math:`j(s_1) = j(s_2) = 1`, so θ has 4 entries, two
    logits for :math:`s_0` and two shared by :math:`s_1, s_2`. The behaviour policy takes action 0 with
    probability ¼ everywhere. State 3 is terminal.

    >>> mdp, policy, behaviour = imani_counterexample()
    >>> mdp, policy.probabilities(behaviour)[0].round(2)
    (FiniteMDP(n_states=4, n_actions=2, gamma=1.0, terminal=[3]), array([0.25, 0.75]))
    """
    P = np.zeros((4, 2, 4))
    P[0, 0, 1] = P[0, 1, 2] = 1.0
    P[1:, :, 3] = 1.0
    R = np.zeros((4, 2))
    R[1, 0], R[2, 1] = 2.0, 1.0
    mdp = FiniteMDP(P, R, gamma=1.0, initial=[1.0, 0.0, 0.0, 0.0], terminal=[3])
    state_features = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [1.0, 0.0]])
    features = np.einsum("sf,ab->safb", state_features, np.eye(2)).reshape(4, 2, 4)
    behaviour = np.log(np.array([0.25, 0.75, 0.25, 0.75]))
    return mdp, LinearSoftmax(features), behaviour


# The deterministic off-policy gradient (DPG, DDPG) on linear-quadratic control ---------------------------------


def off_policy_deterministic_gradient(system: LinearQuadratic, gain: Any, state_moment: Any) -> np.ndarray:
    r"""The off-policy deterministic policy gradient (Silver et al. 2014, §4.2, eq. 15; the actor update of DDPG,
    Lillicrap et al. 2016) of the cost on linear-quadratic control, for the policy :math:`a = m(x) = -Kx` and states
    from a behaviour distribution with second moment :math:`S_b = E_b[x x^\top]`:

    .. math::
        g &= E_{x \sim b}\big[\nabla_K m(x)^\top \\
            &\qquad \times \nabla_a Q_K(x, a)|_{a = -Kx}\big] \\
            &= -\Gamma_K S_b,

    shape (m, n). The gradient of the excursion cost :math:`E_{x_0 \sim b}[V_K(x_0)]` is
    :math:`-\Gamma_K \Sigma_K` with :math:`\Sigma_K` the discounted state moment from :math:`\Sigma_0 = S_b`
    (:func:`pgbook.deterministic.policy_gradient`); :math:`g` drops the term with
    :math:`\nabla_K Q_K`, as Off-PAC does.

    >>> system = LinearQuadratic([[1.0]], [[1.0]], [[1.0]], [[1.0]], [[1.0]], gamma=0.9)
    >>> off_policy_deterministic_gradient(system, [[0.5]], [[2.0]]).round(6)   # Γ_K = 0.451613
    array([[-0.903226]])
    """
    gain = checked_gain(system, gain)
    moment = as_real_array("state_moment", state_moment, ndim=2)
    check_shape("state_moment", moment, (system.n_states, system.n_states))
    if not np.allclose(moment, moment.T) or np.linalg.eigvalsh(moment).min() < -1e-12 * max(1.0, np.abs(moment).max()):
        raise ValueError("state_moment must be a symmetric positive semidefinite matrix")
    return -action_gradient_matrix(system, gain) @ moment
