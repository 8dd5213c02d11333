"""Part III's exercise checks pass right answers and fail wrong ones, including a call of the library function."""

import numpy as np

import pgbook as pg
from pgbook import exercises_theory as ex


def fisher_by_sum(mdp, policy, theta):
    d, pi = pg.discounted_visitation(mdp, policy, theta), policy.probabilities(theta)
    psi = policy.score(theta).reshape(mdp.n_states, mdp.n_actions, -1)
    return np.einsum("s,sa,sai,saj->ij", d, pi, psi, psi)


def test_fisher_check():
    assert ex.check_fisher_matrix(fisher_by_sum)

    def normalized(mdp, policy, theta):
        return fisher_by_sum(mdp, policy, theta) / pg.discounted_visitation(mdp, policy, theta).sum()

    assert not ex.check_fisher_matrix(normalized)
    assert not ex.check_fisher_matrix(lambda mdp, policy, theta: pg.fisher_matrix(mdp, policy, theta))
    assert not ex.check_fisher_matrix(pg.fisher_matrix)
    assert "without pg.fisher_matrix" in repr(ex.check_fisher_matrix(lambda *a: pg.fisher_matrix(*a)))
    # the library function is restored afterwards
    assert pg.fisher_matrix(pg.envs.bandit([0.0, 1.0]), pg.TabularSoftmax(1, 2), np.zeros((1, 2))).shape == (2, 2)


def test_compatible_fit_check():
    def fit(mdp, policy, theta, target=None):
        F = fisher_by_sum(mdp, policy, theta)
        d, pi = pg.discounted_visitation(mdp, policy, theta), policy.probabilities(theta)
        psi = policy.score(theta).reshape(mdp.n_states, mdp.n_actions, -1)
        values = pg.action_values(mdp, policy, theta) if target is None else target(mdp, policy, theta)
        b = np.einsum("s,sa,sai,sa->i", d, pi, psi, values)
        return np.linalg.lstsq(F, b, rcond=None)[0].reshape(theta.shape)

    assert ex.check_compatible_fit(fit)
    assert ex.check_compatible_fit(lambda m, p, t: fit(m, p, t, pg.advantages))  # the same w

    def values_only(*problem):  # a target with no action dependence: w = 0
        return np.repeat(pg.state_values(*problem)[:, None], problem[0].n_actions, axis=1)

    assert not ex.check_compatible_fit(lambda m, p, t: fit(m, p, t, values_only))
    assert not ex.check_compatible_fit(pg.exact_gradient)
    assert not ex.check_compatible_fit(pg.compatible_fit)
    assert not ex.check_compatible_fit(lambda m, p, t: pg.natural_gradient(m, p, t))
    assert not ex.check_compatible_fit(lambda m, p, t: pg.compatible_fit(m, p, t))


def test_soft_policy_iteration_check():
    def step(pi, A, eta, gamma):
        new = pi * np.exp(eta * A / (1 - gamma))
        return new / new.sum(axis=1, keepdims=True)

    assert ex.check_soft_policy_iteration(step)
    assert not ex.check_soft_policy_iteration(lambda pi, A, eta, gamma: step(pi, A, eta, 0.0))  # factor dropped
    assert not ex.check_soft_policy_iteration(lambda pi, A, eta, gamma: pi * np.exp(eta * A / (1 - gamma)))
    assert not ex.check_soft_policy_iteration(lambda pi, A, eta, gamma: pi + eta * A)


def test_performance_difference_check():
    def lemma(mdp, pi, new_pi):
        V = mdp.state_values(pi)
        A = mdp.action_values(pi, V) - V[:, None]
        return float(np.sum(mdp.discounted_visitation(new_pi)[:, None] * new_pi * A))

    assert ex.check_performance_difference(lemma)
    assert not ex.check_performance_difference(lambda mdp, pi, new_pi: lemma(mdp, new_pi, pi))

    def old_advantages(mdp, pi):
        return mdp.action_values(pi) - mdp.state_values(pi)[:, None]

    def wrong_visitation(mdp, pi, new_pi):
        return float(np.sum(mdp.discounted_visitation(pi)[:, None] * new_pi * old_advantages(mdp, pi)))

    def normalised(mdp, pi, new_pi):
        d = mdp.discounted_visitation(new_pi, normalized=True)
        return float(np.sum(d[:, None] * new_pi * old_advantages(mdp, pi)))

    assert not ex.check_performance_difference(wrong_visitation)
    assert not ex.check_performance_difference(normalised)

    def through_library(mdp, pi, new_pi):
        policy = pg.TabularSoftmax(mdp.n_states, mdp.n_actions)
        return pg.performance_difference(mdp, policy, np.log(pi), np.log(new_pi))

    assert not ex.check_performance_difference(through_library)
