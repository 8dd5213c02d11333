"""The softmax families' closed forms against the generic autograd versions in pgbook.Policy."""

import numpy as np
import pytest
from hypothesis import given

import pgbook as pg

from cases import problems


@given(problems())
def test_probabilities_are_distributions(problem):
    _, policy, theta = problem
    pi = policy.probabilities(theta)
    assert pi.shape == (policy.n_states, policy.n_actions)
    assert np.all(pi >= 0)
    np.testing.assert_allclose(pi.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    torch_version = pg.Policy.log_probabilities(policy, theta)
    np.testing.assert_allclose(policy.log_probabilities(theta), torch_version, rtol=1e-12, atol=1e-12)


@given(problems())
def test_analytic_score_matches_autograd(problem):
    _, policy, theta = problem
    analytic = policy.score(theta)
    assert analytic.shape == (policy.n_states, policy.n_actions, *policy.param_shape)
    np.testing.assert_allclose(analytic, pg.Policy.score(policy, theta), rtol=1e-10, atol=1e-12)


@given(problems())
def test_analytic_probability_vjp_matches_autograd(problem):
    _, policy, theta = problem
    weights = np.random.default_rng(0).standard_normal((policy.n_states, policy.n_actions))
    analytic = policy.weighted_probability_gradient(theta, weights)
    generic = pg.Policy.weighted_probability_gradient(policy, theta, weights)
    np.testing.assert_allclose(analytic, generic, rtol=1e-10, atol=1e-12)
    # and both equal Σ_{s,a} w π ∇log π, built from the score
    from_score = np.einsum("sa,sa,sa...->...", weights, policy.probabilities(theta), policy.score(theta))
    np.testing.assert_allclose(analytic, from_score, rtol=1e-10, atol=1e-12)


def test_score_has_zero_mean_under_the_policy():
    """E_{a~π}[∇log π(a|s)] = Σ_a ∇π(a|s) = ∇1 = 0 in every state."""
    policy = pg.LinearSoftmax(np.random.default_rng(1).standard_normal((4, 3, 2)))
    theta = policy.init_params(seed=2)
    mean_score = np.einsum("sa,saf->sf", policy.probabilities(theta), policy.score(theta))
    np.testing.assert_allclose(mean_score, 0.0, atol=1e-15)


def test_init_params_is_reproducible():
    policy = pg.TabularSoftmax(3, 2)
    np.testing.assert_array_equal(policy.init_params(seed=7), policy.init_params(seed=7))
    assert not np.array_equal(policy.init_params(seed=7), policy.init_params(seed=8))
    assert policy.init_params(seed=0).shape == (3, 2)


class TemperatureSoftmax(pg.Policy):
    """A policy the library does not know, defined by its torch log-probabilities alone."""

    def __init__(self, n_states, n_actions):
        self.n_states, self.n_actions = n_states, n_actions
        self.param_shape = (n_states, n_actions + 1)  # logits and a log-temperature per state

    def torch_log_probabilities(self, theta):
        import torch

        return torch.log_softmax(theta[:, :-1] * torch.exp(theta[:, -1:]), dim=1)


def test_a_user_defined_policy_works_with_every_oracle():
    mdp = pg.examples.random_mdp(5, 3, gamma=0.8, seed=5)
    policy = TemperatureSoftmax(5, 3)
    theta = policy.init_params(seed=0, scale=0.5)
    exact = pg.exact_gradient(mdp, policy, theta)
    np.testing.assert_allclose(exact, pg.autodiff_gradient(mdp, policy, theta), rtol=1e-10, atol=1e-13)
    numerical = pg.finite_difference(lambda t: pg.exact_objective(mdp, policy, t), theta)
    np.testing.assert_allclose(exact, numerical, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("kind", ["tabular", "linear", "user-defined"])
def test_weighted_score_and_score_products_equal_the_dense_score_table(kind):
    """The structured contractions (no (|S||A|) × dim θ table) against the score table itself, to rounding;
    the generic autograd versions too."""
    rng = np.random.default_rng(3)
    policy = {
        "tabular": pg.TabularSoftmax(4, 3),
        "linear": pg.LinearSoftmax(rng.standard_normal((4, 3, 5))),
        "user-defined": TemperatureSoftmax(4, 3),
    }[kind]
    theta = policy.init_params(seed=1)
    weights = rng.standard_normal((6, 2, 4, 3))
    direction = rng.standard_normal(policy.param_shape)
    score = policy.score(theta)
    dense = np.tensordot(weights, score, axes=2)
    products = np.tensordot(score, direction, axes=direction.ndim)
    for owner in (type(policy), pg.Policy):  # the closed form, and the generic autograd version
        np.testing.assert_allclose(owner.weighted_score(policy, theta, weights), dense, rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(owner.score_products(policy, theta, direction), products, rtol=1e-12, atol=1e-13)
    with pytest.raises(ValueError, match=r"weights must have shape \(\.\.\., 4, 3\)"):
        policy.weighted_score(theta, np.zeros((4, 2)))
