"""The exercise checks accept right answers and explain wrong ones."""

import sys

import numpy as np

import pgbook as pg
from pgbook import exercises


def softmax(h):
    z = np.exp(h - h.max())
    return z / z.sum()


def test_softmax_score_check():
    assert exercises.check_softmax_score(lambda h, a: np.eye(len(h))[a] - softmax(h))
    forgot_mean = exercises.check_softmax_score(lambda h, a: np.eye(len(h))[a])
    assert not forgot_mean and "returned" in repr(forgot_mean) and "but the answer is" in repr(forgot_mean)
    scalar = exercises.check_softmax_score(lambda h, a: 1 - softmax(h)[a])
    assert not scalar and "shape" in repr(scalar)
    library = exercises.check_softmax_score(lambda h, a: pg.TabularSoftmax(1, h.size).score(h[None])[0, a, 0])
    assert not library and "score" in repr(library) and "which computes the answer for you" in repr(library)


def test_visitation_check():
    def correct(mdp, pi):
        P_pi, _ = mdp.markov_chain(pi)
        live = ~mdp.terminal
        d = np.zeros(mdp.n_states)
        d[live] = np.linalg.solve((np.eye(live.sum()) - mdp.gamma * P_pi[np.ix_(live, live)]).T, mdp.initial[live])
        return d

    assert exercises.check_visitation(correct)
    assert not exercises.check_visitation(lambda mdp, pi: mdp.discounted_visitation(pi, normalized=True))
    crashing = exercises.check_visitation(lambda mdp, pi: np.linalg.inv(mdp.P))
    assert not crashing and "raised" in repr(crashing)
    for library in (lambda mdp, pi: mdp.discounted_visitation(pi), lambda mdp, pi: mdp.values_and_visitation(pi)[1]):
        verdict = exercises.check_visitation(library)
        assert not verdict and "which computes the answer for you" in repr(verdict), repr(verdict)


def central(f, theta, h):
    gradient = np.zeros_like(theta)
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e[i] = h
        gradient[i] = (f(theta + e) - f(theta - e)) / (2 * h)
    return gradient


def test_central_difference_check():
    def forward(f, theta, h):
        return np.array([(f(theta + h * e) - f(theta)) / h for e in np.eye(theta.size)])

    def off_by_a_little(f, theta, h):  # right formula, a relative error of 1e-6: still wrong
        return central(f, theta, h) * (1 + 1e-6)

    assert exercises.check_central_difference(central)
    assert not exercises.check_central_difference(forward)
    assert not exercises.check_central_difference(off_by_a_little)
    assert not exercises.check_central_difference(lambda f, theta, h: np.zeros(theta.size + 1))


def test_central_difference_check_cannot_be_passed_with_the_library_function():
    from pgbook import finite_difference  # bound before the check: still out of reach

    for library in (
        lambda f, theta, h: pg.finite_difference(f, theta, step=h),
        lambda f, theta, h: finite_difference(f, theta, step=h),
    ):
        verdict = exercises.check_central_difference(library)
        assert not verdict and "finite_difference" in repr(verdict), repr(verdict)

    def swallowing(f, theta, h):  # catches the check's exception and answers anyway
        try:
            return pg.finite_difference(f, theta, step=h)
        except Exception:
            return pg.finite_difference(f, theta, step=h)

    assert not exercises.check_central_difference(swallowing)
    assert sys.getprofile() is None, "the check leaves no profiler behind"


def by_the_theorem(mdp, policy, theta):
    d = pg.discounted_visitation(mdp, policy, theta)
    weights = policy.probabilities(theta) * pg.action_values(mdp, policy, theta)
    return np.einsum("s,sa,sa...->...", d, weights, policy.score(theta))


def test_policy_gradient_check():
    def notes_version(mdp, policy, theta):  # the normalised distribution and "=": off by the factor Σ d
        return by_the_theorem(mdp, policy, theta) / pg.discounted_visitation(mdp, policy, theta).sum()

    def stationary_weights(mdp, policy, theta):  # the notes' line (2): only π differentiated, d_π weights
        if mdp.terminal.any():
            return by_the_theorem(mdp, policy, theta)
        d = pg.stationary_distribution(mdp, policy, theta)
        weights = policy.probabilities(theta) * pg.action_values(mdp, policy, theta)
        return np.einsum("s,sa,sa...->...", d, weights, policy.score(theta))

    def advantage_without_d(mdp, policy, theta):  # Σ_s π A ∇log π with no state weights
        weights = policy.probabilities(theta) * pg.advantages(mdp, policy, theta)
        return np.einsum("sa,sa...->...", weights, policy.score(theta))

    assert exercises.check_policy_gradient(by_the_theorem)
    for wrong in (notes_version, stationary_weights, advantage_without_d):
        verdict = exercises.check_policy_gradient(wrong)
        assert not verdict and "but the answer is" in repr(verdict), wrong.__name__
    assert not exercises.check_policy_gradient("not a function")


def test_policy_gradient_check_cannot_be_passed_with_a_library_gradient():
    from pgbook import exact_gradient  # bound before the check: still out of reach

    for name, library in (
        ("exact_gradient", exact_gradient),
        ("exact_gradient", lambda mdp, policy, theta: pg.exact_gradient(mdp, policy, theta)),
        ("autodiff_gradient", pg.autodiff_gradient),
        ("finite_difference", lambda m, p, t: pg.finite_difference(lambda x: pg.exact_objective(m, p, x), t)),
    ):
        verdict = exercises.check_policy_gradient(library)
        assert not verdict and name in repr(verdict), repr(verdict)
    assert sys.getprofile() is None
