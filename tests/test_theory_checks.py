"""The Part III exercise checks accept right answers and refuse wrong ones."""

import numpy as np

import pgbook as pg
from pgbook import lqr, theory_checks
from pgbook.deterministic import deterministic_policy_gradient
from pgbook.update_field import update_jacobian


def test_directional_gradient_check():
    right = theory_checks.check_directional_gradient(lambda s, k, d: np.sum(deterministic_policy_gradient(s, k) * d))
    assert right.passed and repr(right).startswith("Correct.")
    for wrong in (
        lambda s, k, d: np.sum(lqr.lqr_gradient(s, k, noise_std=0.3) * d),  # a Gaussian policy's gradient
        lambda s, k, d: np.sum(deterministic_policy_gradient(s, k) * d) / 2,  # a dropped factor 2
        lambda s, k, d: -np.sum(deterministic_policy_gradient(s, k) * d),  # the sign
        lambda s, k, d: deterministic_policy_gradient(s, k),  # the whole gradient, not the derivative along d
        lambda s, k, d: 1 / 0,
    ):
        result = theory_checks.check_directional_gradient(wrong)
        assert not result.passed and repr(result).startswith("Not yet.")


def test_curl_check():
    assert theory_checks.check_curl(lambda m, p, t: update_jacobian(m, p, t)[1, 0] - update_jacobian(m, p, t)[0, 1])
    for wrong in (
        lambda m, p, t: update_jacobian(m, p, t)[0, 1] - update_jacobian(m, p, t)[1, 0],  # the sign
        lambda m, p, t: 0.0,  # "it is a gradient"
        lambda m, p, t: update_jacobian(m, p, t)[1, 0],
    ):
        assert not theory_checks.check_curl(wrong)


def test_performance_difference_check():
    def right(mdp, policy, old, new):
        return pg.discounted_visitation(mdp, policy, new) * np.sum(
            policy.probabilities(new) * pg.advantages(mdp, policy, old), axis=1
        )

    assert theory_checks.check_performance_difference(right)
    for wrong in (
        lambda m, p, o, t: (
            pg.discounted_visitation(m, p, o)  # the old visitation: the surrogate's terms
            * np.sum(p.probabilities(t) * pg.advantages(m, p, o), axis=1)
        ),
        lambda m, p, o, t: (
            pg.discounted_visitation(m, p, t)  # the new policy's own advantage: zero
            * np.sum(p.probabilities(t) * pg.advantages(m, p, t), axis=1)
        ),
        lambda m, p, o, t: np.full(5, (pg.exact_objective(m, p, t) - pg.exact_objective(m, p, o)) / 5),
    ):
        assert not theory_checks.check_performance_difference(wrong)
