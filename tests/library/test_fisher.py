"""The exact Fisher matrix and the natural gradient, against independent computations.

- F against the Hessian of the visitation-weighted KL divergence by torch autograd (no score, no outer products);
- F against its sampled estimate Σ_t γ^t ψψᵀ along episodes (unbiased): every entry within 4.5 standard
  errors; P(|z| > 4.5) = 6.8e-6 per entry, so with at most 64 entries a correct F fails with probability < 0.05 %;
- the natural gradient against autodiff ∇J (F ng = ∇J), against its closed form for tabular softmax, and the
  minimum-norm property (no component in F's null space).
"""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import pgbook as pg

from cases import problems


def kl_hessian(mdp, policy, theta, *, normalized=False):
    """∂²/∂θ'² Σ_s d(s) KL(π_θ(·|s) ‖ π_θ'(·|s)) at θ' = θ, by torch autograd."""
    d = torch.tensor(pg.discounted_visitation(mdp, policy, theta, normalized=normalized))
    anchor = torch.tensor(theta, dtype=torch.float64)
    p = policy.torch_log_probabilities(anchor).exp().detach()

    def kl(flat):
        log_q = policy.torch_log_probabilities(flat.reshape(anchor.shape))
        return (d[:, None] * p * (p.clamp_min(1e-300).log() - log_q)).sum()

    return torch.autograd.functional.hessian(kl, anchor.reshape(-1)).numpy()


@settings(max_examples=40)
@given(problems(max_states=5, max_actions=3))
def test_fisher_is_the_hessian_of_the_expected_kl(problem):
    mdp, policy, theta = problem
    for normalized in (False, True):
        F = pg.fisher_matrix(mdp, policy, theta, normalized=normalized)
        expected = kl_hessian(mdp, policy, theta, normalized=normalized)
        scale = max(np.abs(expected).max(), 1e-12)
        assert np.abs(F - expected).max() <= 1e-9 * scale
        assert np.allclose(F, F.T) and np.linalg.eigvalsh(F).min() >= -1e-12 * scale


def test_fisher_agrees_with_its_sampled_estimate():
    mdp = pg.examples.random_mdp(4, 2, gamma=0.9, seed=3, n_terminal=1)
    policy = pg.TabularSoftmax(4, 2)
    theta = policy.init_params(seed=3)
    batch = pg.sample_episodes(mdp, policy, theta, 40_000, max_steps=300, seed=11)
    assert batch.terminated.mean() > 0.999
    scores = policy.score(theta).reshape(4, 2, -1)[batch.states, batch.actions]  # (n, T, k)
    weights = batch.discounts() * batch.alive
    per_episode = np.einsum("nt,nti,ntj->nij", weights, scores, scores).reshape(batch.n_episodes, -1)
    mean, standard_error = per_episode.mean(0), per_episode.std(0, ddof=1) / np.sqrt(batch.n_episodes)
    exact = pg.fisher_matrix(mdp, policy, theta).ravel()
    live = standard_error > 0
    assert np.all(np.abs(mean[~live] - exact[~live]) < 1e-12)  # the terminal state's entries: never visited
    assert np.abs((mean[live] - exact[live]) / standard_error[live]).max() < 4.5


@settings(max_examples=40)
@given(problems(max_states=5, max_actions=3))
def test_natural_gradient_solves_f_w_equals_the_autodiff_gradient(problem):
    mdp, policy, theta = problem
    F = pg.fisher_matrix(mdp, policy, theta)
    natural = pg.natural_gradient(mdp, policy, theta, rcond=1e-14)
    gradient = pg.autodiff_gradient(mdp, policy, theta).ravel()
    scale = max(np.abs(gradient).max(), 1e-8 * np.abs(F).max(), 1e-300)
    assert np.abs(F @ natural.ravel() - gradient).max() <= 1e-6 * scale
    # minimum norm: no component in the null space of F
    eigenvalues, eigenvectors = np.linalg.eigh(F)
    null = eigenvectors[:, eigenvalues <= 1e-14 * max(eigenvalues.max(), 1e-300)]
    assert np.abs(null.T @ natural.ravel()).max(initial=0.0) <= 1e-6 * max(np.abs(natural).max(), 1.0)


def test_tabular_natural_gradient_is_the_centred_advantage():
    """Kakade (2001): for tabular softmax, F⁺∇J = A(s,a) − mean_b A(s,b) on visited states."""
    mdp = pg.examples.random_mdp(6, 3, gamma=0.8, seed=7)
    policy = pg.TabularSoftmax(6, 3)
    theta = policy.init_params(seed=7)
    A = pg.advantages(mdp, policy, theta)
    assert np.allclose(pg.natural_gradient(mdp, policy, theta), A - A.mean(axis=1, keepdims=True), atol=1e-10)
    total = pg.discounted_visitation(mdp, policy, theta).sum()  # 1/(1-γ) = 5
    assert total == pytest.approx(5.0)
    assert np.allclose(
        pg.natural_gradient(mdp, policy, theta, normalized=True), total * pg.natural_gradient(mdp, policy, theta)
    )


def test_natural_gradient_is_invariant_to_an_invertible_reparameterisation():
    """θ = M u: the natural step in u moves θ by M ũ, which equals the natural step in θ up to F's null space."""
    mdp = pg.examples.random_mdp(3, 2, gamma=0.9, seed=2)
    tabular = pg.TabularSoftmax(3, 2)
    M = np.random.default_rng(2).normal(size=(6, 6))
    linear = pg.LinearSoftmax(M.reshape(3, 2, 6))  # logits = M u
    u = np.random.default_rng(3).normal(size=6)
    theta = (M @ u).reshape(3, 2)
    assert np.allclose(linear.probabilities(u), tabular.probabilities(theta))
    step_theta = pg.natural_gradient(mdp, tabular, theta).ravel()
    step_u = M @ pg.natural_gradient(mdp, linear, u)
    F = pg.fisher_matrix(mdp, tabular, theta)
    assert np.allclose(F @ step_u, F @ step_theta, atol=1e-9)  # the same change of policy to first order
    vanilla_theta = pg.exact_gradient(mdp, tabular, theta).ravel()
    vanilla_u = M @ pg.exact_gradient(mdp, linear, u)
    assert np.abs(F @ (vanilla_u - vanilla_theta)).max() > 1e-2  # the plain gradient is not invariant


def test_bad_rcond_is_rejected():
    mdp, policy = pg.examples.bandit([0.0, 1.0]), pg.TabularSoftmax(1, 2)
    with pytest.raises(ValueError, match="rcond"):
        pg.natural_gradient(mdp, policy, np.zeros((1, 2)), rcond=-1.0)
    with pytest.raises(ValueError, match="theta"):
        pg.fisher_matrix(mdp, policy, np.zeros(3))


def dense_fisher(mdp, policy, theta, *, normalized=False):
    """F = Σ_s d(s) Σ_a π ψψᵀ from the dense score table, the way it was computed before the per-state blocks."""
    pi = policy.probabilities(theta)
    d = pg.discounted_visitation(mdp, policy, theta, normalized=normalized)
    psi = policy.score(theta).reshape(pi.size, -1)
    return psi.T @ ((d[:, None] * pi).reshape(-1, 1) * psi)


@settings(max_examples=30)
@given(problems(max_states=5, max_actions=4))
def test_the_structured_fisher_and_natural_gradient_equal_the_dense_ones(problem):
    """Per-state blocks (tabular) or the square-root design (linear) against the dense score table, and the
    natural gradient against the pseudo-inverse of that dense F, on problems where F is well conditioned."""
    mdp, policy, theta = problem
    theta = theta / 3  # |θ| ≤ 1: no near-deterministic policy, F⁺ of the dense F is accurate
    dense = dense_fisher(mdp, policy, theta, normalized=True)
    np.testing.assert_allclose(pg.fisher_matrix(mdp, policy, theta, normalized=True), dense, rtol=1e-9, atol=1e-13)
    gradient = pg.exact_gradient(mdp, policy, theta).ravel()
    expected = np.linalg.lstsq(dense, gradient, rcond=1e-10)[0]
    natural = pg.natural_gradient(mdp, policy, theta, normalized=True).ravel()
    np.testing.assert_allclose(natural, expected, rtol=1e-6, atol=1e-8 * max(1.0, np.abs(expected).max()))


def test_the_matrix_free_natural_gradient_equals_the_dense_one(monkeypatch):
    """LSQR with Fisher-vector products (forced by a zero size limit) against the pseudo-inverse of the design."""
    mdp = pg.examples.random_mdp(30, 4, gamma=0.9, seed=3)
    policy = pg.LinearSoftmax(np.random.default_rng(3).standard_normal((30, 4, 12)))
    theta = policy.init_params(seed=3)
    dense = pg.natural_gradient(mdp, policy, theta)
    compatible = pg.compatible_fit(mdp, policy, theta)
    monkeypatch.setattr(pg.fisher, "MAX_DENSE_DESIGN", 0)
    np.testing.assert_allclose(pg.natural_gradient(mdp, policy, theta), dense, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(pg.compatible_fit(mdp, policy, theta), compatible, rtol=1e-7, atol=1e-9)


@st.composite
def tabular_ascents(draw):
    """A random tabular problem (continuing or episodic, γ < 1: the natural step is η/(1−γ)), θ up to 40 in size
    (near-deterministic policies whose Fisher matrix is ~1e-17 and less) and a step size from 0.1 to 10."""
    n_states, n_actions = draw(st.integers(1, 6)), draw(st.integers(1, 4))
    episodic = n_states > 1 and draw(st.booleans())
    seed = draw(st.integers(0, 2**32 - 1))
    gamma = draw(st.floats(0.0, 0.99))
    mdp = pg.examples.random_mdp(n_states, n_actions, gamma=gamma, seed=seed, n_terminal=int(episodic))
    scale = draw(st.sampled_from([0.5, 3.0, 10.0, 40.0]))
    theta = np.random.default_rng(seed + 1).uniform(-scale, scale, (n_states, n_actions))
    return mdp, pg.TabularSoftmax(n_states, n_actions), theta, draw(st.floats(0.1, 10.0))


@given(tabular_ascents())
def test_exact_natural_ascent_never_loses_objective(ascent):
    """π ← π exp(η A / (1−γ)) per state: J cannot decrease (Agarwal et al. 2021, Lemma 5.x: the performance
    difference Σ d' Σ π' A ≥ 0). Before the closed form a pseudo-inverse cut relative to F's largest eigenvalue,
    5e-23 there, amplified rounding error to steps of 1e8, and J fell (issue 24)."""
    mdp, policy, theta, step_size = ascent
    run = pg.exact_ascent(mdp, policy, theta, step_size=step_size, n_iterations=8, direction="natural")
    scale = 1.0 + np.abs(run.objectives).max()
    assert np.diff(run.objectives).min() >= -1e-9 * scale


def test_the_issue_24_ascent_no_longer_falls():
    mdp = pg.examples.random_mdp(5, 3, gamma=0.8, seed=2, n_terminal=1)
    policy = pg.TabularSoftmax(5, 3)
    run = pg.exact_ascent(mdp, policy, policy.init_params(seed=2), step_size=1.0, n_iterations=60, direction="natural")
    assert np.diff(run.objectives).min() >= -1e-12
    assert run.objectives[-1] == pytest.approx(run.objectives.max())


@pytest.mark.parametrize("call", [pg.natural_gradient, pg.compatible_fit])
@pytest.mark.parametrize(
    "rcond, error", [("1e-12", TypeError), (True, TypeError), (None, TypeError), (1.0, ValueError)]
)
def test_rcond_must_be_a_real_number(call, rcond, error):
    mdp, policy = pg.examples.bandit([0.0, 1.0]), pg.TabularSoftmax(1, 2)
    with pytest.raises(error, match="rcond must (be a real number|lie) in \\[0, 1\\)"):
        call(mdp, policy, np.zeros((1, 2)), rcond=rcond)
