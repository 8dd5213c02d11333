"""Exact gradients (pgbook.gradients): the three gradient oracles agree with each other, on random problems and
random parameters.

Theorem vs autodiff: both exact, so they must agree to rounding (1e-10 relative). Theorem vs central
differences: the difference has truncation and round-off error of about 1e-10 at the default step; 1e-6
relative leaves room for ill-conditioned problems (γ near 1) without hiding a wrong factor or sign.
"""

import numpy as np
from hypothesis import given, settings

import pgbook as pg

from cases import assert_close, gradient_scale, problems


@given(problems())
def test_theorem_matches_autodiff(problem):
    mdp, policy, theta = problem
    assert_close(
        pg.exact_gradient(mdp, policy, theta),
        pg.autodiff_gradient(mdp, policy, theta),
        rtol=1e-10,
        scale=gradient_scale(mdp, policy, theta),
    )


@given(problems())
def test_theorem_matches_central_differences(problem):
    mdp, policy, theta = problem
    numerical = pg.finite_difference(lambda t: pg.exact_objective(mdp, policy, t), theta)
    assert_close(pg.exact_gradient(mdp, policy, theta), numerical, rtol=1e-6, scale=gradient_scale(mdp, policy, theta))


@given(problems())
def test_theorem_in_expectation_form_with_normalised_visitation(problem):
    """∇J = (Σ_s d(s)) · E_{s~d_norm, a~π}[∇log π(a|s) Q(s,a)]: the factor the notes' "=" drops."""
    mdp, policy, theta = problem
    d_norm = pg.discounted_visitation(mdp, policy, theta, normalized=True)
    total = pg.discounted_visitation(mdp, policy, theta).sum()
    pi, q_values, score = (
        policy.probabilities(theta),
        pg.action_values(mdp, policy, theta),
        policy.score(theta),
    )
    expectation = np.einsum("s,sa,sa,sa...->...", d_norm, pi, q_values, score)
    assert_close(
        total * expectation,
        pg.exact_gradient(mdp, policy, theta),
        rtol=1e-10,
        scale=gradient_scale(mdp, policy, theta),
    )


@settings(max_examples=40)  # each example differentiates every (s, a) entry numerically: the slowest oracle test
@given(problems(max_states=4, max_actions=3))
def test_autodiff_jacobians_match_central_differences(problem):
    """∂V/∂θ, ∂Q/∂θ and ∂d/∂θ (the pieces of the theorem's proof) against differences of the exact arrays."""
    mdp, policy, theta = problem
    jacobians = pg.autodiff_jacobians(mdp, policy, theta)
    pieces = {
        "V": lambda t: pg.state_values(mdp, policy, t),
        "Q": lambda t: pg.action_values(mdp, policy, t),
        "d": lambda t: pg.discounted_visitation(mdp, policy, t),
    }
    for name, function in pieces.items():
        size = function(theta).size
        rows = [pg.finite_difference(lambda t, k=k, f=function: f(t).flat[k], theta) for k in range(size)]
        numerical = np.array(rows).reshape(jacobians[name].shape)
        scale = gradient_scale(mdp, policy, theta) * max(1.0, pg.discounted_visitation(mdp, policy, theta).sum())
        assert_close(jacobians[name], numerical, rtol=1e-6, scale=scale)
