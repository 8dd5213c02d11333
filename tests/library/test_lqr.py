"""Linear-quadratic control: the closed-form cost and gradient against independent oracles, and the two
Monte-Carlo estimators against the exact gradient."""

import numpy as np
import pytest
import torch

import pgbook as pg
from pgbook import lqr


def example_system(gamma=0.9):
    """Two states, one control: a lightly coupled, marginally stable system (A has eigenvalues 1 and 0.9)."""
    return lqr.damped_double_integrator(gamma)


GAIN = np.array([[0.3, 0.8]])


def simulated_cost(system, gain, noise_std, horizon=400):
    """An independent oracle for C(K): the discounted second moments propagated step by step,
    E[x_{t+1} x_{t+1}ᵀ] = M E[x_t x_tᵀ] Mᵀ + σ² B Bᵀ, summed with the per-step cost tr(Q X) + tr(R (K X Kᵀ + σ² I))."""
    closed_loop = system.A - system.B @ gain
    moment, total = system.initial_covariance.copy(), 0.0
    for t in range(horizon):
        step = (
            np.trace(system.Q @ moment)
            + np.trace(system.R @ (gain @ moment @ gain.T))
            + noise_std**2 * np.trace(system.R)
        )
        total += system.gamma**t * step
        moment = closed_loop @ moment @ closed_loop.T + noise_std**2 * system.B @ system.B.T
    return total


@pytest.mark.parametrize("noise_std", [0.0, 0.4, 1.5])
@pytest.mark.parametrize("gamma", [0.0, 0.5, 0.9, 0.99])
def test_cost_matches_propagated_second_moments(gamma, noise_std):
    system = example_system(gamma)
    horizon = 5_000 if gamma == 0.99 else 400
    assert lqr.cost(system, GAIN, noise_std=noise_std) == pytest.approx(
        simulated_cost(system, GAIN, noise_std, horizon), rel=1e-10
    )


@pytest.mark.slow  # 12 cases of finite differences and autodiff through up to 5,000 steps
@pytest.mark.parametrize("noise_std", [0.0, 0.4, 1.5])
@pytest.mark.parametrize("gamma", [0.0, 0.5, 0.9, 0.99])
def test_gradient_matches_finite_differences_and_autodiff(gamma, noise_std):
    system = example_system(gamma)
    exact = lqr.gradient(system, GAIN, noise_std=noise_std)
    numerical = pg.finite_difference(lambda k: lqr.cost(system, k, noise_std=noise_std), GAIN)
    np.testing.assert_allclose(exact, numerical, rtol=1e-6, atol=1e-8 * np.abs(exact).max())

    # autodiff through the truncated sum of propagated second moments: independent of every closed form
    horizon = 3_000 if gamma == 0.99 else 300
    gain = torch.tensor(GAIN, requires_grad=True)
    A, B, Q, R = (torch.tensor(m) for m in (system.A, system.B, system.Q, system.R))
    moment, total = torch.tensor(system.initial_covariance), torch.zeros((), dtype=torch.float64)
    for t in range(horizon):
        step = torch.trace(Q @ moment) + torch.trace(R @ (gain @ moment @ gain.T)) + noise_std**2 * torch.trace(R)
        total = total + system.gamma**t * step
        closed_loop = A - B @ gain
        moment = closed_loop @ moment @ closed_loop.T + noise_std**2 * B @ B.T
    total.backward()
    np.testing.assert_allclose(exact, gain.grad.numpy(), rtol=1e-9)


def test_scalar_closed_form():
    """x' = x + u, cost x² + u², σ = 0: P = (1 + K²) / (1 − γ(1 − K)²), C = P Σ0."""
    gamma, k = 0.9, 0.5
    system = lqr.LinearQuadratic([[1.0]], [[1.0]], [[1.0]], [[1.0]], [[2.0]], gamma=gamma)
    expected = 2.0 * (1 + k**2) / (1 - gamma * (1 - k) ** 2)
    assert lqr.cost(system, [[k]], noise_std=0.0) == pytest.approx(expected, rel=1e-12)


# 2 components × 2 estimators × 2 settings = 8 z-scores; |z| < 4.5 each: false-failure probability < 6e-5.
@pytest.mark.slow  # statistical: 10,000 episodes per setting
@pytest.mark.parametrize("noise_std", [0.3, 1.0])
def test_score_and_pathwise_estimators_are_unbiased(noise_std):
    system = example_system()
    exact = lqr.gradient(system, GAIN, noise_std=noise_std)
    settings = dict(
        noise_std=noise_std, n_episodes=10_000, horizon=150, seed=3
    )  # γ^150 ≈ 1e-7: truncation bias far below SE
    for estimator in (lqr.score_gradient, lqr.pathwise_gradient):
        estimate = estimator(system, GAIN, **settings)
        assert estimate.per_episode.shape == (10_000, 1, 2)
        z = pg.stats.z_scores(estimate, exact)
        assert np.abs(z).max() < 4.5, (estimator.__name__, z)


def test_pathwise_has_lower_variance_than_score_on_the_same_draws():
    system = example_system()
    settings = dict(noise_std=0.5, n_episodes=5_000, horizon=150, seed=0)
    score = lqr.score_gradient(system, GAIN, **settings)
    pathwise = lqr.pathwise_gradient(system, GAIN, **settings)
    difference, error = pg.stats.variance_difference(score, pathwise)
    assert difference > 5 * error > 0


def test_pathwise_agrees_with_a_plain_autograd_loop_per_episode():
    system = example_system()
    estimate = lqr.pathwise_gradient(system, GAIN, noise_std=0.5, n_episodes=3, horizon=20, seed=7)
    initial, noise = lqr.episode_draws(system, 3, 20, 7)
    for i in range(3):
        gain = torch.tensor(GAIN, requires_grad=True)
        state, total = torch.tensor(initial[i]), 0.0
        for t in range(20):
            control = -gain @ state + 0.5 * torch.tensor(noise[i, t])
            total = total + system.gamma**t * (
                state @ torch.tensor(system.Q) @ state + control @ torch.tensor(system.R) @ control
            )
            state = torch.tensor(system.A) @ state + torch.tensor(system.B) @ control
        total.backward()
        np.testing.assert_allclose(estimate.per_episode[i], gain.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (dict(A=[[1.0, 0.0]]), "A must have shape"),
        (dict(B=[[1.0]]), "B must have shape"),
        (dict(Q=[[1.0, 1.0], [0.0, 1.0]]), "Q must be symmetric"),
        (dict(Q=-np.eye(2)), "Q must be positive semidefinite"),
        (dict(R=[[0.0]]), "R must be positive definite"),
        (dict(initial_covariance=np.eye(3)), "initial_covariance must have shape"),
        (dict(gamma=1.0), r"gamma must lie in \[0, 1\)"),
        (dict(A=[[np.nan, 0], [0, 1]]), "A must"),
    ],
)
def test_bad_systems_are_refused_with_the_argument_named(change, message):
    arguments = dict(A=np.eye(2), B=[[0.0], [1.0]], Q=np.eye(2), R=[[1.0]], initial_covariance=np.eye(2), gamma=0.9)
    with pytest.raises(ValueError, match=message):
        lqr.LinearQuadratic(**{**arguments, **change})


def test_bad_gains_and_noise_are_refused():
    system = example_system()
    with pytest.raises(ValueError, match="gain must have shape"):
        lqr.cost(system, [[0.3]], noise_std=0.1)
    with pytest.raises(ValueError, match="does not stabilise"):
        lqr.cost(system, [[0.0, -2.0]], noise_std=0.1)
    with pytest.raises(ValueError, match="noise_std must be non-negative"):
        lqr.gradient(system, GAIN, noise_std=-1.0)
    with pytest.raises(ValueError, match="noise_std must be positive for the score"):
        lqr.score_gradient(system, GAIN, noise_std=0.0, n_episodes=10, horizon=5, seed=0)
    with pytest.raises(ValueError, match="n_episodes"):
        lqr.pathwise_gradient(system, GAIN, noise_std=0.1, n_episodes=1, horizon=5, seed=0)
