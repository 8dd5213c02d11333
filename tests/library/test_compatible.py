"""Compatible function approximation: the fit against finite differences of its loss and against autodiff ∇J."""

import numpy as np
import pytest
from hypothesis import given, settings

import pgbook as pg

from cases import problems


def weighted_loss(mdp, policy, theta, features, target):
    weights = pg.discounted_visitation(mdp, policy, theta)[:, None] * policy.probabilities(theta)
    return lambda w: float(np.sum(weights * (features @ w.ravel() - target) ** 2))


@settings(max_examples=40)
@given(problems(max_states=5, max_actions=3))
def test_compatible_fit_gives_the_gradient_without_bias(problem):
    """Theorem 2 of Sutton et al. (2000): Σ d Σ ∇π ψᵀw = ∇J, checked against autodiff."""
    mdp, policy, theta = problem
    w = pg.compatible_fit(mdp, policy, theta)
    psi = policy.score(theta).reshape(mdp.n_states, mdp.n_actions, -1)
    gradient = pg.autodiff_gradient(mdp, policy, theta)
    scale = max(np.abs(gradient).max(), 1e-300)
    critic = psi @ w.ravel()
    assert np.abs(pg.critic_gradient(mdp, policy, theta, critic) - gradient).max() <= 1e-6 * max(scale, 1e-9)
    assert np.abs(pg.critic_gradient(mdp, policy, theta, pg.action_values(mdp, policy, theta)) - gradient).max() <= (
        1e-8 * max(scale, 1e-9)
    )


def test_the_fit_minimises_the_weighted_loss():
    """Finite differences of the loss vanish at w, and it beats random perturbations."""
    mdp = pg.examples.random_mdp(5, 3, gamma=0.9, seed=1)
    policy = pg.TabularSoftmax(5, 3)
    theta = policy.init_params(seed=1)
    Q = pg.action_values(mdp, policy, theta)
    other = np.random.default_rng(0).normal(size=(5, 3, 4))
    for features, w in (
        (policy.score(theta).reshape(5, 3, -1), pg.compatible_fit(mdp, policy, theta)),
        (other, pg.compatible_fit(mdp, policy, theta, features=other)),
    ):
        loss = weighted_loss(mdp, policy, theta, features, Q)
        assert np.abs(pg.finite_difference(loss, w)).max() < 1e-7
        rng = np.random.default_rng(1)
        assert all(loss(w + 1e-3 * rng.normal(size=w.shape)) > loss(w) for _ in range(20))


def test_q_and_advantage_targets_agree_for_compatible_features_only():
    mdp = pg.examples.random_mdp(4, 3, gamma=0.9, seed=5)
    policy = pg.TabularSoftmax(4, 3)
    theta = policy.init_params(seed=5)
    assert np.allclose(pg.compatible_fit(mdp, policy, theta), pg.compatible_fit(mdp, policy, theta, target="advantage"))
    other = np.random.default_rng(5).normal(size=(4, 3, 3))
    on_q = pg.compatible_fit(mdp, policy, theta, features=other)
    on_a = pg.compatible_fit(mdp, policy, theta, features=other, target="advantage")
    assert np.abs(on_q - on_a).max() > 1e-2


def test_other_features_give_a_biased_gradient():
    mdp = pg.examples.random_mdp(4, 3, gamma=0.9, seed=5)
    policy = pg.TabularSoftmax(4, 3)
    theta = policy.init_params(seed=5)
    other = np.random.default_rng(5).normal(size=(4, 3, 6))  # half as many features as ψ
    critic = other @ pg.compatible_fit(mdp, policy, theta, features=other)
    gradient = pg.exact_gradient(mdp, policy, theta)
    assert np.linalg.norm(pg.critic_gradient(mdp, policy, theta, critic) - gradient) > 0.1 * np.linalg.norm(gradient)


def test_the_exact_fit_solves_the_sampled_normal_equations():
    """Along episodes, r = Σ_t γ^t ψ(s_t, a_t) (ψ(s_t, a_t)ᵀw − G_t) has expectation F w − ∇J, which is 0 for the
    exact fit w. Each component of its mean over 40 000 episodes must lie within 4.5 standard errors of 0:
    P(|z| > 4.5) = 6.8e-6 per component, 6 components, so a correct fit fails with probability < 5e-5 (fixed seed).
    Power: a fit 10 % too large gives |z| = 10.0, one 20 % too large |z| > 10 (checked below)."""
    mdp = pg.examples.random_mdp(3, 2, gamma=0.9, seed=3, n_terminal=1)
    policy = pg.TabularSoftmax(3, 2)
    theta = policy.init_params(seed=3)
    batch = pg.sample_episodes(mdp, policy, theta, 40_000, max_steps=300, seed=4)
    assert batch.terminated.all()
    psi = policy.score(theta).reshape(3, 2, -1)[batch.states, batch.actions]
    weights = batch.discounts() * batch.alive
    w = pg.compatible_fit(mdp, policy, theta).ravel()

    def max_abs_z(weights_vector):
        residual = np.einsum("nt,nti,nt->ni", weights, psi, psi @ weights_vector - batch.returns_to_go())
        error = residual.std(axis=0, ddof=1) / np.sqrt(batch.n_episodes)
        visited = error > 0
        assert np.all(residual[:, ~visited] == 0)  # the terminal state's parameters
        return np.abs(residual.mean(axis=0)[visited] / error[visited]).max()

    assert max_abs_z(w) < 4.5
    assert max_abs_z(1.2 * w) > 10


def test_bad_arguments_are_named():
    mdp, policy = pg.examples.bandit([0.0, 1.0]), pg.TabularSoftmax(1, 2)
    with pytest.raises(ValueError, match="target"):
        pg.compatible_fit(mdp, policy, np.zeros((1, 2)), target="v")
    with pytest.raises(ValueError, match="features"):
        pg.compatible_fit(mdp, policy, np.zeros((1, 2)), features=np.zeros((2, 2, 1)))
    with pytest.raises(ValueError, match="critic"):
        pg.critic_gradient(mdp, policy, np.zeros((1, 2)), np.zeros((1, 3)))


def test_features_with_no_feature_are_refused():
    mdp, policy = pg.examples.random_mdp(3, 2, seed=0), pg.TabularSoftmax(3, 2)
    with pytest.raises(
        ValueError, match=r"features must have at least one entry along every axis; got shape \(3, 2, 0\)"
    ):
        pg.compatible_fit(mdp, policy, np.zeros((3, 2)), features=np.zeros((3, 2, 0)))
