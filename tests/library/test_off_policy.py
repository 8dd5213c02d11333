"""Off-policy gradients against oracles that share no code with them: enumeration of every episode, sampling,
closed forms on the counterexample of Imani et al. (2018), finite differences, a Neumann series.

Statistical tests use fixed seeds and state their false-failure probability (two-sided normal thresholds with
a Bonferroni correction over the components tested, :func:`pgbook.stats.two_sided_threshold`).
"""

import dataclasses

import numpy as np
import pytest

import pgbook as pg
from pgbook import lqr
from pgbook import off_policy as op
from pgbook.deterministic import lqr_action_value, policy_gradient
from pgbook.trajectories import layered_mdp
from pgbook.update_field import undiscounted_visitation

MDP = pg.examples.random_mdp(5, 3, gamma=0.9, seed=2, n_terminal=1)
POLICY = pg.TabularSoftmax(5, 3)
OLD = POLICY.init_params(seed=3)
NEW = OLD + 0.4 * np.random.default_rng(0).normal(size=OLD.shape)
IMANI, IMANI_POLICY, IMANI_BEHAVIOUR = op.imani_counterexample()


def imani_params(p, q):
    """θ with π(action 0 | s0) = p and π(action 0 | s1 or s2) = q."""
    return np.array([np.log(p), np.log(1 - p), np.log(q), np.log(1 - q)])


# Importance sampling ---------------------------------------------------------------------------------------


@pytest.mark.slow  # statistical: 100,000 episodes per case
@pytest.mark.parametrize("per_decision", [True, False])
def test_off_policy_gradient_is_unbiased(per_decision):
    """Bonferroni over the 15 components, false-failure rate 1e-3, fixed seed."""
    batch = pg.sample_episodes(MDP, POLICY, OLD, 100_000, max_steps=400, seed=1)
    estimate = op.off_policy_gradient(batch, POLICY, NEW, OLD, per_decision=per_decision)
    z = pg.stats.z_scores(estimate, pg.exact_gradient(MDP, POLICY, NEW))
    assert np.abs(z).max() < pg.stats.two_sided_threshold(1e-3, z.size)


def test_off_policy_at_the_behaviour_policy_is_reward_to_go():
    batch = pg.sample_episodes(MDP, POLICY, OLD, 500, max_steps=400, seed=2)
    for per_decision in (True, False):
        estimate = op.off_policy_gradient(batch, POLICY, OLD, OLD, per_decision=per_decision)
        np.testing.assert_allclose(estimate.per_episode, pg.reward_to_go(batch, POLICY, OLD).per_episode)


@pytest.mark.parametrize("gamma", [0.8, 1.0])
@pytest.mark.parametrize("per_decision", [True, False])
def test_exact_mean_over_every_episode_is_the_gradient(gamma, per_decision):
    """Unbiasedness exactly: the sum over every episode of b (enumeration) against the linear-algebra theorem."""
    mdp, policy = layered_mdp(3, 2, 3, gamma=gamma, seed=4), pg.TabularSoftmax(7, 3)
    behaviour = policy.init_params(seed=5)
    for scale in (0.0, 0.5, 2.0):
        theta = behaviour + scale * np.random.default_rng(6).normal(size=behaviour.shape)
        mean, variance = op.importance_sampling_moments(
            mdp, policy, theta, behaviour, horizon=3, per_decision=per_decision
        )
        np.testing.assert_allclose(mean, pg.exact_gradient(mdp, policy, theta), atol=1e-12)
        assert variance > 0


def test_exact_variance_against_the_sample_variance():
    """tr Cov by enumeration against the sample variance of 40,000 sampled episodes. The sample variance's
    standard error is the standard deviation of ‖ĝ_i − ḡ‖² over √N (the CLT); two estimators, false-failure
    probability 1e-3 in all (Bonferroni), fixed seed."""
    mdp, policy = layered_mdp(4, 2, 2, gamma=0.9, seed=7), pg.TabularSoftmax(9, 2)
    behaviour = np.zeros((9, 2))
    theta = behaviour + 0.8 * np.random.default_rng(8).normal(size=behaviour.shape)
    batch = pg.sample_episodes(mdp, policy, behaviour, 40_000, max_steps=4, seed=9)
    threshold = pg.stats.two_sided_threshold(1e-3, 2)
    for per_decision in (True, False):
        _, exact = op.importance_sampling_moments(mdp, policy, theta, behaviour, horizon=4, per_decision=per_decision)
        samples = op.off_policy_gradient(batch, policy, theta, behaviour, per_decision=per_decision).per_episode
        squared = np.sum((samples - samples.mean(axis=0)).reshape(len(samples), -1) ** 2, axis=1)
        standard_error = squared.std(ddof=1) / np.sqrt(len(squared))
        assert abs(squared.mean() - exact) < threshold * standard_error


# The excursion objective, Off-PAC and the emphatic weighting ---------------------------------------------------


def test_behaviour_distribution_on_the_counterexample_and_a_continuing_problem():
    np.testing.assert_allclose(
        op.behaviour_distribution(IMANI, IMANI_POLICY, IMANI_BEHAVIOUR), [0.5, 0.125, 0.375, 0.0], atol=1e-15
    )
    continuing = pg.examples.random_mdp(4, 2, gamma=0.9, seed=10)
    policy = pg.TabularSoftmax(4, 2)
    behaviour = policy.init_params(seed=11)
    P_b = np.einsum("sa,sat->st", policy.probabilities(behaviour), continuing.P)
    values, vectors = np.linalg.eig(P_b.T)
    stationary = np.real(vectors[:, np.argmin(np.abs(values - 1))])
    np.testing.assert_allclose(op.behaviour_distribution(continuing, policy, behaviour), stationary / stationary.sum())


@pytest.mark.parametrize("p, q", [(0.5, 0.5), (0.9, 0.9), (0.2, 0.7), (0.95, 0.05)])
def test_closed_forms_on_the_counterexample(p, q):
    """With p = π(0|s0) and q = π(0|s1) = π(0|s2), d_b = (½, ⅛, ⅜):
    J_b = ½(2pq + (1−p)(1−q)) + ⅛·2q + ⅜(1−q); Off-PAC's components are ½p(1−p)(3q − 1) for s0's first logit
    and q(1−q)(⅛·2 − ⅜) = −q(1−q)/8 for the shared one, the true gradient's ½p(1−p)(3q − 1) and
    q(1−q)(3p/2 − 5/8)."""
    theta = imani_params(p, q)
    d_b = op.behaviour_distribution(IMANI, IMANI_POLICY, IMANI_BEHAVIOUR)
    closed = 0.5 * (2 * p * q + (1 - p) * (1 - q)) + 0.25 * q + 0.375 * (1 - q)
    assert op.excursion_objective(IMANI, IMANI_POLICY, theta, d_b) == pytest.approx(closed, rel=1e-13)
    first = 0.5 * p * (1 - p) * (3 * q - 1)
    off_pac = op.off_pac_gradient(IMANI, IMANI_POLICY, theta, d_b)
    np.testing.assert_allclose(off_pac, [first, -first, -q * (1 - q) / 8, q * (1 - q) / 8], atol=1e-14)
    shared = q * (1 - q) * (1.5 * p - 0.625)
    exact = op.excursion_gradient(IMANI, IMANI_POLICY, theta, d_b)
    np.testing.assert_allclose(exact, [first, -first, shared, -shared], atol=1e-14)


def test_the_counterexample_has_a_saddle_inside_and_its_maxima_at_two_corners():
    """J_b's derivatives in p and q, ½(3q − 1) and 3p/2 − 5/8, vanish at (5/12, 1/3), where the closed form's
    Hessian [[0, 3/2], [3/2, 0]] makes a saddle: J_b rises along (1, 1) and falls along (1, −1). Off-PAC's
    shared component −q(1 − q)/8 = −1/36 does not vanish there. The two corners: J_b = 7/8 at (0, 0), 5/4 at
    (1, 1), each a local maximum on the square."""
    d_b = op.behaviour_distribution(IMANI, IMANI_POLICY, IMANI_BEHAVIOUR)
    saddle = imani_params(5 / 12, 1 / 3)
    np.testing.assert_allclose(op.excursion_gradient(IMANI, IMANI_POLICY, saddle, d_b), 0.0, atol=1e-15)
    assert op.off_pac_gradient(IMANI, IMANI_POLICY, saddle, d_b)[2] == pytest.approx(-1 / 36, rel=1e-12)

    def j_b(p, q):
        return op.excursion_objective(IMANI, IMANI_POLICY, imani_params(p, q), d_b)

    h = 0.01
    assert j_b(5 / 12 + h, 1 / 3 + h) > j_b(5 / 12, 1 / 3) > j_b(5 / 12 + h, 1 / 3 - h)
    for corner, value, inward in ((0.0, 7 / 8, h), (1.0, 5 / 4, -h)):
        edge = min(max(corner, 1e-12), 1 - 1e-12)
        assert j_b(edge, edge) == pytest.approx(value, abs=1e-9)
        assert j_b(edge + inward, edge) < j_b(edge, edge) and j_b(edge, edge + inward) < j_b(edge, edge)


@pytest.mark.parametrize("gamma, n_terminal", [(0.9, 0), (0.9, 1), (1.0, 1)])
def test_excursion_gradient_is_the_gradient_of_the_excursion_objective(gamma, n_terminal):
    mdp = pg.examples.random_mdp(5, 3, gamma=gamma, seed=12, n_terminal=n_terminal)
    policy = pg.LinearSoftmax(np.random.default_rng(13).normal(size=(5, 3, 4)))
    theta, behaviour = policy.init_params(seed=14), policy.init_params(seed=15)
    nu = op.behaviour_distribution(mdp, policy, behaviour)
    numerical = pg.finite_difference(lambda t: op.excursion_objective(mdp, policy, t, nu), theta)
    np.testing.assert_allclose(op.excursion_gradient(mdp, policy, theta, nu), numerical, atol=1e-8)
    # and Off-PAC's g is not it: the dropped term is not small here
    gap = np.linalg.norm(op.off_pac_gradient(mdp, policy, theta, nu) - numerical)
    assert gap > 0.05 * np.linalg.norm(numerical)


def test_emphatic_weightings_against_a_neumann_series():
    """m = Σ_k (γ P_πᵀ)^k ν, summed until the terms vanish: no linear solve."""
    mdp, policy = pg.examples.random_mdp(6, 2, gamma=0.8, seed=16, n_terminal=1), pg.TabularSoftmax(6, 2)
    theta = policy.init_params(seed=17)
    nu = np.random.default_rng(18).dirichlet(np.ones(6))
    live = ~mdp.terminal
    P_pi = np.einsum("sa,sat->st", policy.probabilities(theta), mdp.P) * live[:, None] * live[None, :]
    term, total = nu * live, np.zeros(6)
    for _ in range(400):
        total, term = total + term, mdp.gamma * P_pi.T @ term
    np.testing.assert_allclose(op.emphatic_weightings(mdp, policy, theta, nu), total, atol=1e-14)


@pytest.mark.slow  # statistical: 50,000 episodes per problem
@pytest.mark.parametrize("problem", ["imani", "random"])
def test_follow_on_traces_estimate_the_emphatic_weightings(problem):
    """The per-episode Σ_t 𝓕_t [s_t = s] have mean E_b[T] m (m for ν = d_b ∘ i); z-scores on the live states,
    false-failure rate 1e-3 (Bonferroni), fixed seed."""
    if problem == "imani":
        mdp, policy, behaviour = IMANI, IMANI_POLICY, IMANI_BEHAVIOUR
        theta, interest = imani_params(0.8, 0.3), np.ones(4)
    else:
        mdp, policy = pg.examples.random_mdp(5, 2, gamma=0.9, seed=19, n_terminal=1), pg.TabularSoftmax(5, 2)
        behaviour, theta = policy.init_params(seed=20), policy.init_params(seed=21)
        interest = np.array([1.0, 0.5, 2.0, 0.0, 0.0])
    batch = pg.sample_episodes(mdp, policy, behaviour, 50_000, max_steps=2_000, seed=22)
    episode_length = undiscounted_visitation(mdp, policy, behaviour).sum()  # E_b[T], exact
    nu = op.behaviour_distribution(mdp, policy, behaviour) * interest
    expected = episode_length * op.emphatic_weightings(mdp, policy, theta, nu)
    estimate = op.follow_on_visits(batch, policy, theta, behaviour, interest=interest)
    live = ~mdp.terminal
    z = pg.stats.z_scores(estimate, expected)[live]
    assert np.abs(z).max() < pg.stats.two_sided_threshold(1e-3, int(live.sum()))


def test_off_pac_and_the_excursion_gradient_part_on_the_counterexample():
    """From the uniform policy, ascent on J_b reaches the optimum (p, q → 1, V(s0) → 2); Off-PAC's ascent
    goes to p, q → 0, where V(s0) → 1 (Imani et al. 2018, §5.1)."""
    d_b = op.behaviour_distribution(IMANI, IMANI_POLICY, IMANI_BEHAVIOUR)
    ends = {}
    for direction in ("excursion", "off-pac"):
        path = op.off_policy_ascent(
            IMANI, IMANI_POLICY, np.zeros(4), d_b, step_size=4.0, n_iterations=3_000, direction=direction
        )
        pi = IMANI_POLICY.probabilities(path[-1])
        ends[direction] = (pi[0, 0], pi[1, 0], pg.exact_objective(IMANI, IMANI_POLICY, path[-1]))
    assert ends["excursion"][0] > 0.99 and ends["excursion"][1] > 0.99 and ends["excursion"][2] > 1.98
    assert ends["off-pac"][0] < 0.01 and ends["off-pac"][1] < 0.01 and ends["off-pac"][2] < 1.02


def test_without_aliasing_both_ascents_reach_the_same_policy():
    """A tabular policy can be greedy in every state at once: Off-PAC's fixed point is then the optimum too."""
    mdp, policy = pg.examples.random_mdp(4, 2, gamma=0.9, seed=23, n_terminal=1), pg.TabularSoftmax(4, 2)
    d_b = op.behaviour_distribution(mdp, policy, np.zeros((4, 2)))
    greedy = []
    for direction in ("excursion", "off-pac"):
        path = op.off_policy_ascent(mdp, policy, np.zeros((4, 2)), d_b, step_size=5.0, n_iterations=2_000,
                                    direction=direction)  # fmt: skip
        greedy.append(policy.probabilities(path[-1])[:3].argmax(axis=1))
    values = np.zeros(4)
    for _ in range(2_000):  # value iteration: the optimal actions, an independent oracle
        q_values = mdp.R + mdp.gamma * mdp.P @ values
        values = np.where(mdp.terminal, 0.0, q_values.max(axis=1))
    np.testing.assert_array_equal(greedy[0], q_values[:3].argmax(axis=1))
    np.testing.assert_array_equal(greedy[1], greedy[0])


# The deterministic off-policy gradient ------------------------------------------------------------------------


def test_off_policy_deterministic_gradient_against_differentiated_action_values():
    """g = E_b[−∇_a Q_K(x, −Kx) xᵀ] with S_b = Σ_i x_i x_iᵀ / k, ∇_a Q by central differences of Q_K."""
    system = lqr.LinearQuadratic(
        [[1.0, 0.2], [0.0, 0.9]], [[0.0], [1.0]], np.eye(2), [[0.5]], [[0.5, 0.1], [0.1, 0.3]], gamma=0.9
    )
    gain = np.array([[0.3, 0.8]])
    states = np.array([[1.0, 0.0], [0.3, -1.2], [-0.5, 0.4]])
    moment = states.T @ states / len(states)
    step = 1e-5
    expected = np.zeros((1, 2))
    for x in states:
        a = -gain @ x
        slope = lqr_action_value(system, gain, [x], [a + step]) - lqr_action_value(system, gain, [x], [a - step])
        expected -= (slope[0] / (2 * step)) * x[None, :] / len(states)
    g = op.off_policy_deterministic_gradient(system, gain, moment)
    np.testing.assert_allclose(g, expected, rtol=1e-6)
    # the exact gradient of the excursion cost E_{x0~b}[x0ᵀ S_K x0] differs: it weights by Σ_K from S_b
    excursion = dataclasses.replace(system, initial_covariance=moment)
    numerical = pg.finite_difference(lambda k: lqr.cost(excursion, k, noise_std=0.0), gain)
    np.testing.assert_allclose(policy_gradient(excursion, gain), numerical, rtol=1e-6)
    assert np.linalg.norm(g - numerical) > 0.1 * np.linalg.norm(numerical)


# Bad input ------------------------------------------------------------------------------------------------------


def test_off_policy_gradient_names_a_batch_that_does_not_fit():
    """A batch from a 3-state problem with a 2-state policy (IndexError before), and behaviour probabilities
    ~0 on the batch's actions (overflowing ratios, inf and nan before)."""
    three = pg.examples.random_mdp(3, 2, gamma=0.9, seed=0)
    batch = pg.sample_episodes(three, pg.TabularSoftmax(3, 2), np.zeros((3, 2)), 50, max_steps=40, seed=0)
    with pytest.raises(ValueError, match="batch holds states or actions outside the policy's 2 states"):
        op.off_policy_gradient(batch, pg.TabularSoftmax(2, 2), np.zeros((2, 2)), np.zeros((2, 2)))
    never = np.tile([800.0, -800.0], (3, 1))  # action 1 has probability e^-1600 = 0 under the behaviour policy
    with pytest.raises(ValueError, match="behaviour_theta gives probability 0 to action 1 in state"):
        op.off_policy_gradient(batch, pg.TabularSoftmax(3, 2), np.zeros((3, 2)), never)


def test_bad_state_weights_direction_interest_and_truncated_batches():
    with pytest.raises(ValueError, match="state_weights must be non-negative"):
        op.excursion_gradient(IMANI, IMANI_POLICY, np.zeros(4), [1.0, -0.5, 0.5, 0.0])
    with pytest.raises(ValueError, match="state_weights must be non-negative with positive weight"):
        op.off_pac_gradient(IMANI, IMANI_POLICY, np.zeros(4), [0.0, 0.0, 0.0, 1.0])
    with pytest.raises(ValueError, match=r"state_weights must have shape \(4,\)"):
        op.emphatic_weightings(IMANI, IMANI_POLICY, np.zeros(4), [1.0, 0.0])
    with pytest.raises(ValueError, match='direction must be "excursion" or "off-pac"'):
        op.off_policy_ascent(IMANI, IMANI_POLICY, np.zeros(4), np.ones(4), step_size=1.0, n_iterations=1,
                             direction="natural")  # fmt: skip
    batch = pg.sample_episodes(IMANI, IMANI_POLICY, IMANI_BEHAVIOUR, 5, max_steps=1, seed=0)
    with pytest.raises(ValueError, match="batch must hold complete episodes"):
        op.follow_on_visits(batch, IMANI_POLICY, np.zeros(4), IMANI_BEHAVIOUR)
    batch = pg.sample_episodes(IMANI, IMANI_POLICY, IMANI_BEHAVIOUR, 5, max_steps=5, seed=0)
    with pytest.raises(ValueError, match=r"interest must have shape \(4,\)"):
        op.follow_on_visits(batch, IMANI_POLICY, np.zeros(4), IMANI_BEHAVIOUR, interest=[1.0])
    system = lqr.LinearQuadratic([[1.0]], [[1.0]], [[1.0]], [[1.0]], [[1.0]], gamma=0.9)
    with pytest.raises(ValueError, match="state_moment must be a symmetric positive semidefinite"):
        op.off_policy_deterministic_gradient(system, [[0.5]], [[-1.0]])
