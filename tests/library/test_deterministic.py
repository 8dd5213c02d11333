"""The deterministic policy gradient on LQR, against finite differences, autodiff and the pathwise estimator."""

import numpy as np
import pytest
import torch

import pgbook as pg
from pgbook import deterministic, lqr
from pgbook.deterministic import (
    action_gradient_matrix,
    lqr_action_value,
)

SYSTEM = lqr.LinearQuadratic(
    [[1.0, 0.2], [0.0, 0.9]], [[0.0], [1.0]], np.eye(2), [[0.5]], np.diag([1.0, 0.5]), gamma=0.9
)
GAIN = np.array([[0.3, 0.6]])


def test_action_value_is_the_cost_of_one_control_then_the_policy():
    """Q(x, u) against a long noise-free rollout: u first, then u = -Kx."""
    rng = np.random.default_rng(0)
    states, controls = rng.normal(size=(5, 2)), rng.normal(size=(5, 1))
    total, state, control = np.zeros(5), states, controls
    for t in range(400):
        total += SYSTEM.gamma**t * (np.einsum("kn,nl,kl->k", state, SYSTEM.Q, state) + 0.5 * control[:, 0] ** 2)
        state = state @ SYSTEM.A.T + control @ SYSTEM.B.T
        control = -state @ GAIN.T
    np.testing.assert_allclose(lqr_action_value(SYSTEM, GAIN, states, controls), total, rtol=1e-10)


def test_action_gradient_matches_autodiff_of_q():
    rng = np.random.default_rng(1)
    P = torch.tensor(lqr.value_matrix(SYSTEM, GAIN))
    A, B, Q, R = (torch.tensor(m) for m in (SYSTEM.A, SYSTEM.B, SYSTEM.Q, SYSTEM.R))
    for x in rng.normal(size=(4, 2)):
        x = torch.tensor(x)
        u = (-torch.tensor(GAIN) @ x).requires_grad_()
        nxt = A @ x + B @ u
        q = x @ Q @ x + u @ R @ u + SYSTEM.gamma * nxt @ P @ nxt
        (grad,) = torch.autograd.grad(q, u)
        np.testing.assert_allclose(action_gradient_matrix(SYSTEM, GAIN) @ x.numpy(), grad.numpy(), rtol=1e-10)


def test_theorem_matches_finite_differences_of_the_cost():
    numerical = pg.finite_difference(lambda k: lqr.cost(SYSTEM, k, noise_std=0.0), GAIN)
    np.testing.assert_allclose(deterministic.policy_gradient(SYSTEM, GAIN), numerical, rtol=1e-6)


def test_gaussian_gradient_tends_to_it_like_sigma_squared():
    exact = deterministic.policy_gradient(SYSTEM, GAIN)
    gaps = [np.abs(lqr.gradient(SYSTEM, GAIN, noise_std=s) - exact).max() / s**2 for s in (0.3, 0.1, 0.01)]
    np.testing.assert_allclose(gaps, gaps[0], rtol=1e-6)  # exactly quadratic: Σ_K is affine in σ²


def test_samples_are_the_pathwise_estimator_at_zero_noise_episode_by_episode():
    samples = deterministic.gradient_samples(SYSTEM, GAIN, n_episodes=200, horizon=300, seed=3)
    pathwise = lqr.pathwise_gradient(SYSTEM, GAIN, noise_std=0.0, n_episodes=200, horizon=300, seed=3)
    np.testing.assert_allclose(samples.per_episode, pathwise.per_episode, rtol=1e-8, atol=1e-10)


def test_samples_are_unbiased():
    """Bonferroni over the 2 components, false-failure rate 1e-3, fixed seed."""
    samples = deterministic.gradient_samples(SYSTEM, GAIN, n_episodes=20_000, horizon=300, seed=4)
    z = pg.stats.z_scores(samples, deterministic.policy_gradient(SYSTEM, GAIN))
    assert np.abs(z).max() < pg.stats.two_sided_threshold(1e-3, z.size)


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="states must have shape"):
        lqr_action_value(SYSTEM, GAIN, np.zeros((3, 3)), np.zeros((3, 1)))


def cost_by_moments(system, gain, noise, steps=1_500):
    """C(K) with process noise by summing γᵗ tr((Q + KᵀRK) E[x_t x_tᵀ]) forward in time: no value matrix, no
    Lyapunov solver (0.9^1500 ≈ 1e-69)."""
    closed_loop, stage = system.A - system.B @ gain, system.Q + gain.T @ system.R @ gain
    moment, total = system.initial_covariance.copy(), 0.0
    for t in range(steps):
        total += system.gamma**t * np.trace(stage @ moment)
        moment = closed_loop @ moment @ closed_loop.T + noise
    return total


def test_theorem_with_process_noise_matches_differences_of_a_forward_sum():
    noise = np.array([[0.3, 0.1], [0.1, 0.2]])
    numerical = pg.finite_difference(lambda k: cost_by_moments(SYSTEM, k, noise), GAIN)
    with_noise = deterministic.policy_gradient(SYSTEM, GAIN, process_noise=noise)
    np.testing.assert_allclose(with_noise, numerical, rtol=1e-6)
    assert np.abs(with_noise - deterministic.policy_gradient(SYSTEM, GAIN)).max() > 0.1  # the noise matters
    np.testing.assert_allclose(deterministic.policy_gradient(SYSTEM, GAIN, process_noise=np.zeros((2, 2))),
                               deterministic.policy_gradient(SYSTEM, GAIN), rtol=1e-12)  # fmt: skip
    with pytest.raises(ValueError, match="process_noise must be"):
        deterministic.policy_gradient(SYSTEM, GAIN, process_noise=-np.eye(2))
