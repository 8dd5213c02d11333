"""The tabular estimators against the definition, step by step: ĝ_i = Σ_t w_{i,t} ∇log π(a_t|s_t), with the score
of every step taken from the autograd Jacobian (pgbook.Policy.score, not the softmax closed forms the estimators
contract with) and the weights, returns and baselines summed by hand in Python loops. The estimators count the
steps into (s, a) tables and contract them with the score's structure: these are equal to rounding."""

from functools import partial

import numpy as np
import pytest

import pgbook as pg


def problems():
    mdp = pg.examples.random_mdp(4, 3, gamma=0.8, seed=5, n_terminal=1)
    tabular = pg.TabularSoftmax(4, 3)
    linear = pg.LinearSoftmax(np.random.default_rng(1).standard_normal((4, 3, 5)))
    return {"tabular": (mdp, tabular, tabular.init_params(seed=2)), "linear": (mdp, linear, linear.init_params(seed=2))}


@pytest.fixture(scope="module", params=["tabular", "linear"])
def problem(request):
    mdp, policy, theta = problems()[request.param]
    batch = pg.sample_episodes(mdp, policy, theta, 40, max_steps=9, seed=3)
    assert batch.terminated.any() and not batch.terminated.all()  # padding after ends, and cut-off episodes
    return mdp, policy, theta, batch


SCORES = {}


def score_table(policy, theta):
    """The generic autograd Jacobian of log π (pgbook.Policy.score), once per policy and θ."""
    key = (policy, theta.tobytes())  # the policy itself: the dict keeps it alive, its id unique
    if key not in SCORES:
        SCORES[key] = pg.Policy.score(policy, theta)
    return SCORES[key]


def steps(batch):
    """Each episode's real steps as lists of (state, action, reward)."""
    return [
        [(int(batch.states[i, t]), int(batch.actions[i, t]), float(batch.rewards[i, t])) for t in range(length)]
        for i, length in enumerate(batch.alive.sum(axis=1))
    ]


def score_sum(policy, theta, episode, weights):
    psi = score_table(policy, theta)
    return sum((w * psi[s, a] for (s, a, _), w in zip(episode, weights, strict=True)), np.zeros(policy.param_shape))


def to_go(episode, gamma):
    return [sum(gamma ** (k - t) * r for k, (_, _, r) in enumerate(episode) if k >= t) for t in range(len(episode))]


def leave_one_out(values, weights):
    return [
        sum(w * v for j, (v, w) in enumerate(zip(values, weights, strict=True)) if j != i)
        / sum(w for j, w in enumerate(weights) if j != i)
        for i in range(len(values))
    ]


def with_constant(u, v, baseline, returns):
    """u_i − b_i v_i for a constant baseline given by name or value."""
    if baseline is None:
        return u
    if baseline == "mean":
        b = leave_one_out(returns, [1.0] * len(returns))
    elif baseline == "optimal":
        b = leave_one_out(
            [np.sum(ui * vi) / np.sum(vi**2) for ui, vi in zip(u, v, strict=True)], [np.sum(vi**2) for vi in v]
        )
    else:
        b = [baseline] * len(u)
    return [ui - bi * vi for ui, bi, vi in zip(u, b, v, strict=True)]


@pytest.mark.parametrize("baseline", [None, 0.7, "mean", "optimal", "values", "normalized"])
def test_reinforce_step_by_step(problem, baseline):
    mdp, policy, theta, batch = problem
    episodes, gamma = steps(batch), mdp.gamma
    returns = [to_go(e, gamma)[0] for e in episodes]
    v = [score_sum(policy, theta, e, [1.0] * len(e)) for e in episodes]
    if baseline == "values":
        V = pg.state_values(mdp, policy, theta)
        expected = [(g - V[e[0][0]]) * vi for g, e, vi in zip(returns, episodes, v, strict=True)]
        baseline = V
    elif baseline == "normalized":
        mean, spread = np.mean(returns), np.std(returns)
        expected = [(g - mean) / spread * vi for g, vi in zip(returns, v, strict=True)]
    else:
        expected = with_constant([g * vi for g, vi in zip(returns, v, strict=True)], v, baseline, returns)
    estimate = pg.reinforce(batch, policy, theta, baseline=baseline).per_episode
    np.testing.assert_allclose(estimate, np.array(expected), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("baseline", [None, 0.7, "mean", "optimal", "values"])
@pytest.mark.parametrize("weighting", ["discounted", "undiscounted"])
def test_reward_to_go_step_by_step(problem, baseline, weighting):
    mdp, policy, theta, batch = problem
    episodes, gamma = steps(batch), mdp.gamma
    discounts = [[(gamma if weighting == "discounted" else 1.0) ** t for t in range(len(e))] for e in episodes]
    if baseline == "values":
        V = pg.state_values(mdp, policy, theta)
        expected = [
            score_sum(
                policy, theta, e, [c * (g - V[s]) for c, g, (s, _, _) in zip(cs, to_go(e, gamma), e, strict=True)]
            )
            for e, cs in zip(episodes, discounts, strict=True)
        ]
        baseline = V
    else:
        u = [
            score_sum(policy, theta, e, [c * g for c, g in zip(cs, to_go(e, gamma), strict=True)])
            for e, cs in zip(episodes, discounts, strict=True)
        ]
        v = [score_sum(policy, theta, e, cs) for e, cs in zip(episodes, discounts, strict=True)]
        expected = with_constant(u, v, baseline, [to_go(e, gamma)[0] for e in episodes])
    estimate = pg.reward_to_go(batch, policy, theta, baseline=baseline, weighting=weighting).per_episode
    np.testing.assert_allclose(estimate, np.array(expected), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("per_decision", [True, False])
def test_off_policy_gradient_step_by_step(problem, per_decision):
    mdp, policy, behaviour, batch = problem
    theta = behaviour + 0.3 * np.random.default_rng(4).standard_normal(behaviour.shape)
    pi, b = policy.probabilities(theta), policy.probabilities(behaviour)
    gamma, expected = mdp.gamma, []
    for e in steps(batch):
        rho = np.cumprod([pi[s, a] / b[s, a] for s, a, _ in e])  # ρ_{0:k}
        if per_decision:
            weights = [sum(gamma**k * rho[k] * e[k][2] for k in range(t, len(e))) for t in range(len(e))]
        else:
            weights = [rho[-1] * gamma**t * g for t, g in enumerate(to_go(e, gamma))]
        expected.append(score_sum(policy, theta, e, weights))
    estimate = pg.off_policy.off_policy_gradient(batch, policy, theta, behaviour, per_decision=per_decision)
    np.testing.assert_allclose(estimate.per_episode, np.array(expected), rtol=1e-10, atol=1e-12)


def test_advantage_estimator_step_by_step(problem):
    mdp, policy, theta, batch = problem
    A = pg.advantages(mdp, policy, theta)
    expected = [
        score_sum(policy, theta, e, [mdp.gamma**t * A[s, a] for t, (s, a, _) in enumerate(e)]) for e in steps(batch)
    ]
    estimate = pg.advantage_estimator(batch, policy, theta, A).per_episode
    np.testing.assert_allclose(estimate, np.array(expected), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("lam", [0.0, 0.6, 1.0])
def test_gae_estimator_step_by_step(problem, lam):
    """δ_t = r_t + γ V(s_{t+1}) − V(s_t), with V = 0 after a terminal step and V(final state) after a cut-off."""
    mdp, policy, theta, batch = problem
    V, gamma, expected = 0.5 * pg.state_values(mdp, policy, theta), mdp.gamma, []  # a critic that is not V_π
    for i, e in enumerate(steps(batch)):
        after = [s for s, _, _ in e[1:]] + [int(batch.final_states[i])]
        next_values = [V[s] for s in after[:-1]] + [0.0 if batch.terminated[i] else V[after[-1]]]
        deltas = [r + gamma * v_next - V[s] for (s, _, r), v_next in zip(e, next_values, strict=True)]
        gae = [sum((gamma * lam) ** (k - t) * deltas[k] for k in range(t, len(e))) for t in range(len(e))]
        expected.append(score_sum(policy, theta, e, [gamma**t * g for t, g in enumerate(gae)]))
    estimate = pg.gae_estimator(batch, policy, theta, values=V, lam=lam).per_episode
    np.testing.assert_allclose(estimate, np.array(expected), rtol=1e-10, atol=1e-12)


def test_what_the_padding_holds_changes_nothing(problem):
    """Padding steps count 0 whatever pair they hold, not only (0, 0) (the estimators give them weights, which the
    score sums drop, rather than copy out the real steps)."""
    mdp, policy, theta, batch = problem
    padding = ~batch.alive
    garbage = pg.Batch(
        np.where(padding, policy.n_states - 1, batch.states),
        np.where(padding, policy.n_actions - 1, batch.actions),
        batch.rewards,
        batch.alive,
        batch.final_states,
        batch.terminated,
        batch.gamma,
    )
    V = pg.state_values(mdp, policy, theta)
    for estimator in (
        pg.reinforce,
        pg.reward_to_go,
        partial(pg.advantage_estimator, advantages=pg.advantages(mdp, policy, theta)),
        partial(pg.gae_estimator, values=V, lam=0.5),
    ):
        np.testing.assert_array_equal(estimator(garbage, policy, theta).per_episode,
                                      estimator(batch, policy, theta).per_episode)  # fmt: skip
    off_policy = pg.off_policy.off_policy_gradient
    np.testing.assert_array_equal(
        off_policy(garbage, policy, theta, theta + 0.1).per_episode,
        off_policy(batch, policy, theta, theta + 0.1).per_episode,
    )
