"""The exercise checks accept right answers and explain wrong ones."""

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


def test_central_difference_check():
    def correct(f, theta, h):
        gradient = np.zeros_like(theta)
        for i in range(theta.size):
            e = np.zeros_like(theta)
            e[i] = h
            gradient[i] = (f(theta + e) - f(theta - e)) / (2 * h)
        return gradient

    def forward(f, theta, h):
        return np.array([(f(theta + h * e) - f(theta)) / h for e in np.eye(theta.size)])

    assert exercises.check_central_difference(correct)
    assert not exercises.check_central_difference(forward)


def test_policy_gradient_check():
    def by_the_theorem(mdp, policy, theta):
        d = pg.discounted_visitation(mdp, policy, theta)
        return policy.weighted_probability_gradient(theta, d[:, None] * pg.action_values(mdp, policy, theta))

    def notes_version(mdp, policy, theta):  # the normalised distribution and "=": off by the factor Σ d
        d = pg.discounted_visitation(mdp, policy, theta, normalized=True)
        return policy.weighted_probability_gradient(theta, d[:, None] * pg.action_values(mdp, policy, theta))

    assert exercises.check_policy_gradient(by_the_theorem)
    assert not exercises.check_policy_gradient(notes_version)
    assert not exercises.check_policy_gradient("not a function")
