"""The exact state/action/trajectory variance decomposition against Monte-Carlo variances."""

import numpy as np
import pytest

import pgbook as pg
from pgbook import variance


def problems():
    continuing = pg.examples.random_mdp(6, 3, gamma=0.8, seed=1)
    episodic = pg.examples.random_mdp(5, 2, gamma=1.0, seed=4, n_terminal=1)
    return [
        ("continuing", continuing, pg.TabularSoftmax(6, 3)),
        ("episodic", episodic, pg.TabularSoftmax(5, 2)),
        ("corridor", pg.examples.short_corridor(gamma=0.9), pg.examples.short_corridor_policy()),
    ]


@pytest.mark.slow  # statistical: 10,000 returns from each of 18 pairs
def test_return_variance_matches_sampled_returns():
    """Var(G | s0, a0) against 10 000 sampled returns from each (s, a): G = R(s, a) + γ G', with G' the return
    of an episode started from s' ~ P(·|s, a). |z| < 4.5 for 18 pairs: false-failure probability below 1.3e-4
    (the variance estimate's standard error is taken from the samples' fourth moment)."""
    mdp, policy = pg.examples.random_mdp(6, 3, gamma=0.8, seed=1), pg.TabularSoftmax(6, 3)
    theta = policy.init_params(seed=1)
    exact = variance.return_variances(mdp, policy, theta)
    values = pg.action_values(mdp, policy, theta)
    rng = np.random.default_rng(0)
    for s in range(6):
        for a in range(3):
            after = pg.FiniteMDP(mdp.P, mdp.R, gamma=mdp.gamma, initial=mdp.P[s, a])
            later = pg.sample_episodes(after, policy, theta, 10_000, max_steps=80, seed=rng)  # 0.8^80 ≈ 2e-8
            returns = mdp.R[s, a] + mdp.gamma * later.returns()
            assert abs(returns.mean() - values[s, a]) < 4.5 * returns.std() / np.sqrt(returns.size)
            deviations = (returns - values[s, a]) ** 2
            z = (deviations.mean() - exact[s, a]) / (deviations.std() / np.sqrt(returns.size))
            assert abs(z) < 4.5, (s, a, z)


# Three problems × two baselines = 6 variance comparisons, and 6 × (number of parameters ≤ 18) mean
# z-scores; each |z| < 4.5: the false-failure probability is below 1e-3 in all.
@pytest.mark.slow  # statistical: 30,000 episodes per case
@pytest.mark.parametrize(("name", "mdp", "policy"), problems(), ids=[p[0] for p in problems()])
@pytest.mark.parametrize("with_baseline", [False, True])
def test_decomposition_sums_to_the_sampled_variance(name, mdp, policy, with_baseline):
    theta = policy.init_params(seed=5)
    baseline = pg.state_values(mdp, policy, theta) if with_baseline else None
    parts = variance.variance_decomposition(mdp, policy, theta, baseline=baseline)
    samples = variance.one_sample_estimates(mdp, policy, theta, 30_000, baseline=baseline, max_steps=120, seed=9)
    exact = pg.exact_gradient(mdp, policy, theta)
    assert np.abs(pg.stats.z_scores(samples, exact)).max() < 4.5
    flat = samples.per_episode.reshape(samples.n_episodes, -1)
    squared = np.sum((flat - exact.ravel()) ** 2, axis=1)  # centred on the exact mean: unbiased for tr Cov
    z = (squared.mean() - parts.total) / (squared.std() / np.sqrt(squared.size))
    assert abs(z) < 4.5, (parts, squared.mean())


def test_each_term_is_what_it_claims():
    """The state term is the variance of E[ĝ|s] alone; state + action is the variance with G replaced by Q
    (no trajectory noise). Both computed here by direct enumeration over (s, a)."""
    mdp, policy = pg.examples.random_mdp(5, 3, gamma=0.9, seed=2), pg.TabularSoftmax(5, 3)
    theta = policy.init_params(seed=2)
    pi = policy.probabilities(theta)
    d = pg.discounted_visitation(mdp, policy, theta)
    scale, states = d.sum(), d / d.sum()
    q = pg.action_values(mdp, policy, theta)
    baseline = np.linspace(-1, 1, 5)
    score = policy.score(theta).reshape(5, 3, -1)
    exact = pg.exact_gradient(mdp, policy, theta).ravel()
    with_q = [(states[s] * pi[s, a], scale * score[s, a] * (q[s, a] - baseline[s])) for s in range(5) for a in range(3)]
    variance_with_q = sum(w * np.sum((g - exact) ** 2) for w, g in with_q)
    per_state = [sum(pi[s, a] * scale * score[s, a] * q[s, a] for a in range(3)) for s in range(5)]
    variance_of_state_means = sum(states[s] * np.sum((per_state[s] - exact) ** 2) for s in range(5))
    parts = variance.variance_decomposition(mdp, policy, theta, baseline=baseline)
    assert parts.state == pytest.approx(variance_of_state_means, rel=1e-10)
    assert parts.state + parts.action == pytest.approx(variance_with_q, rel=1e-10)
    assert parts.trajectory > 0


def test_optimal_state_baseline_minimises_the_action_term():
    mdp, policy = pg.examples.random_mdp(6, 3, gamma=0.9, seed=3), pg.TabularSoftmax(6, 3)
    theta = policy.init_params(seed=3)
    best = variance.optimal_state_baseline(mdp, policy, theta)
    smallest = variance.variance_decomposition(mdp, policy, theta, baseline=best).action
    values = pg.state_values(mdp, policy, theta)
    assert variance.variance_decomposition(mdp, policy, theta, baseline=values).action > smallest
    for state in range(6):
        for shift in (-0.3, -1e-3, 1e-3, 0.3):
            moved = best.copy()
            moved[state] += shift
            assert variance.variance_decomposition(mdp, policy, theta, baseline=moved).action > smallest


def test_bad_baseline_is_refused():
    mdp, policy = pg.examples.random_mdp(3, 2, seed=0), pg.TabularSoftmax(3, 2)
    with pytest.raises(ValueError, match="baseline must have shape"):
        variance.variance_decomposition(mdp, policy, np.zeros((3, 2)), baseline=np.zeros(4))
