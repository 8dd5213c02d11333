"""The oracles against closed forms from the literature (../shared/ORACLES.md)."""

import numpy as np
import pytest
from scipy.optimize import minimize_scalar

import pgbook as pg

ORACLES = ("exact_gradient", "autodiff_gradient")


@pytest.mark.parametrize("oracle", ORACLES)
@pytest.mark.parametrize("seed", range(5))
def test_softmax_bandit_gradient(oracle, seed):
    """∂J/∂θ_k = π_k (μ_k − J) for J = Σ_k π_k μ_k (Sutton & Barto 2018, §2.8)."""
    rng = np.random.default_rng(seed)
    means = rng.normal(size=5)
    mdp, policy = pg.examples.bandit(means), pg.TabularSoftmax(1, 5)
    theta = policy.init_params(seed=rng)
    pi = policy.probabilities(theta)[0]
    objective = pi @ means
    assert np.isclose(pg.exact_objective(mdp, policy, theta), objective, rtol=1e-14)
    gradient = getattr(pg, oracle)(mdp, policy, theta)
    np.testing.assert_allclose(gradient[0], pi * (means - objective), rtol=1e-12, atol=1e-15)


def corridor_objective(p):
    """Sutton & Barto 2018, Example 13.1: J(p) = 2(p − 2) / (p(1 − p))."""
    return 2 * (p - 2) / (p * (1 - p))


@pytest.mark.parametrize("p", [0.05, 0.3, 2 - np.sqrt(2), 0.8, 0.97])
def test_short_corridor_objective_and_gradient(p):
    mdp, policy = pg.examples.short_corridor(), pg.examples.short_corridor_policy()
    theta = pg.examples.corridor_params(p)
    assert np.isclose(pg.exact_objective(mdp, policy, theta), corridor_objective(p), rtol=1e-12)
    # θ = (θ0, θ1) with p = σ(θ0 − θ1): ∂J/∂θ0 = J'(p) p(1 − p) = −∂J/∂θ1, with J'(p) from the closed form.
    dJ_dp = 2 / (p * (1 - p)) - 2 * (p - 2) * (1 - 2 * p) / (p * (1 - p)) ** 2
    expected = dJ_dp * p * (1 - p) * np.array([1.0, -1.0])
    for oracle in ORACLES:
        np.testing.assert_allclose(getattr(pg, oracle)(mdp, policy, theta), expected, rtol=1e-10, atol=1e-12)


def test_short_corridor_optimum():
    """Maximising the exact J over p finds p* = 2 − √2 and J* = −6 − 4√2, where the gradient vanishes."""
    mdp, policy = pg.examples.short_corridor(), pg.examples.short_corridor_policy()
    result = minimize_scalar(
        lambda p: -pg.exact_objective(mdp, policy, pg.examples.corridor_params(p)),
        bounds=(0.01, 0.99),
        method="bounded",
        options={"xatol": 1e-10},
    )
    assert abs(result.x - (2 - np.sqrt(2))) < 1e-6
    assert np.isclose(-result.fun, -6 - 4 * np.sqrt(2), rtol=1e-12)
    gradient = pg.exact_gradient(mdp, policy, pg.examples.corridor_params(2 - np.sqrt(2)))
    assert np.abs(gradient).max() < 1e-12
    p_star, j_star = pg.examples.corridor_optimum()  # the library's one home for the closed form, against both
    assert abs(result.x - p_star) < 1e-6 and p_star == pytest.approx(2 - np.sqrt(2), rel=1e-15)
    assert np.isclose(-result.fun, j_star, rtol=1e-12) and j_star == pytest.approx(-6 - 4 * np.sqrt(2), rel=1e-15)


@pytest.mark.parametrize(
    "mdp",
    [
        pg.examples.random_mdp(7, 3, gamma=0.9, seed=3),
        pg.examples.random_mdp(7, 3, gamma=1.0, seed=4, n_terminal=2),
        pg.examples.gridworld(3, 4, slip=0.2),
    ],
    ids=["continuing", "episodic", "gridworld"],
)
def test_tabular_softmax_gradient_is_visitation_times_pi_times_advantage(mdp):
    """Agarwal, Kakade, Lee & Mahajan (JMLR 2021), Lemma C.1: ∂J/∂θ_{s,a} = d(s) π(a|s) A(s,a)."""
    policy = pg.TabularSoftmax(mdp.n_states, mdp.n_actions)
    theta = policy.init_params(seed=0)
    visitation = pg.discounted_visitation(mdp, policy, theta)
    closed_form = visitation[:, None] * policy.probabilities(theta) * pg.advantages(mdp, policy, theta)
    for oracle in ORACLES:
        np.testing.assert_allclose(getattr(pg, oracle)(mdp, policy, theta), closed_form, rtol=1e-10, atol=1e-13)


def test_gridworld_episode_length_by_absorbing_chain():
    """On a gridworld with reward −1 a step, −J is the expected episode length, which is also Σ_s d(s)."""
    mdp = pg.examples.gridworld(3, 3, slip=0.3)
    policy = pg.TabularSoftmax(mdp.n_states, mdp.n_actions)
    theta = policy.init_params(seed=1)
    length = pg.discounted_visitation(mdp, policy, theta).sum()
    assert np.isclose(-pg.exact_objective(mdp, policy, theta), length, rtol=1e-12)
