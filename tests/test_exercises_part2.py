"""The Part II exercise checks: a right answer passes, wrong answers fail, and the library does not do the exercise.

Each check is also tried with the shortcut a reader might take through the library (the function that computes
the same thing for a softmax policy or a batch of episodes); the check's cases are built so that it fails.
"""

import numpy as np

import pgbook as pg
from pgbook import exercises

# Optimal state baseline ---------------------------------------------------------------------------------


def squared_score_norms(pi, score):
    return np.sum(score.reshape(*pi.shape, -1) ** 2, axis=-1)


def test_optimal_state_baseline_check():
    def right(pi, score, q):
        weights = pi * squared_score_norms(pi, score)
        return np.sum(weights * q, axis=1) / np.sum(weights, axis=1)

    def value_baseline(pi, score, q):  # the usual choice, V(s): not the optimum
        return np.sum(pi * q, axis=1)

    def unnormalised(pi, score, q):
        return np.sum(pi * squared_score_norms(pi, score) * q, axis=1)

    def library_shortcut(pi, score, q):  # pg.variance.optimal_state_baseline's weights: the softmax's own score
        n_states, n_actions = pi.shape
        policy = pg.TabularSoftmax(n_states, n_actions)
        softmax_score = policy.score(np.log(pi))
        weights = pi * squared_score_norms(pi, softmax_score)
        return np.sum(weights * q, axis=1) / np.sum(weights, axis=1)

    assert exercises.check_optimal_state_baseline(right)
    for wrong in (value_baseline, unnormalised, library_shortcut):
        result = exercises.check_optimal_state_baseline(wrong)
        assert not result and "but the answer is" in repr(result), wrong.__name__
    wrong_shape = exercises.check_optimal_state_baseline(lambda pi, score, q: q)
    assert not wrong_shape and "shape" in repr(wrong_shape)


# GAE advantages -----------------------------------------------------------------------------------------


def test_gae_advantages_check():
    def right(rewards, values, gamma, lam):  # the backward recursion Â_t = δ_t + γλ Â_{t+1}
        deltas = rewards + gamma * values[1:] - values[:-1]
        advantages = np.zeros_like(deltas)
        running = 0.0
        for t in reversed(range(len(deltas))):
            running = deltas[t] + gamma * lam * running
            advantages[t] = running
        return advantages

    def without_lambda(rewards, values, gamma, lam):
        return right(rewards, values, gamma, 1.0)

    def one_step(rewards, values, gamma, lam):
        return rewards + gamma * values[1:] - values[:-1]

    def no_bootstrap(rewards, values, gamma, lam):  # treats every episode as terminated
        return right(rewards, np.append(values[:-1], 0.0), gamma, lam)

    def library_shortcut(rewards, values, gamma, lam):
        """pg.gae_estimator on a one-episode batch: state t at step t, two actions, uniform policy, action 0.

        The gradient's (t, 0) entry is γᵗ Â_t · ½, so Â_t = 2 g[t, 0] / γᵗ: this cannot work for γ = 0.
        """
        length = len(rewards)
        batch = pg.Batch(
            states=np.arange(length)[None], actions=np.zeros((1, length), dtype=int), rewards=np.asarray(rewards)[None],
            alive=np.ones((1, length), dtype=bool), final_states=np.array([length]), terminated=np.array([False]),
            gamma=gamma,
        )  # fmt: skip
        policy = pg.TabularSoftmax(length + 1, 2)
        estimate = pg.gae_estimator(batch, policy, np.zeros((length + 1, 2)), values=values, lam=lam)
        with np.errstate(divide="ignore", invalid="ignore"):
            return 2 * estimate.mean[:length, 0] / gamma ** np.arange(length)

    assert exercises.check_gae_advantages(right)
    # the shortcut is right where it can be (γ > 0), so the check's γ = 0 case is what stops it
    rng = np.random.default_rng(0)
    rewards, values = rng.normal(size=6), rng.normal(size=7)
    assert np.allclose(library_shortcut(rewards, values, 0.9, 0.7), right(rewards, values, 0.9, 0.7))
    for wrong in (without_lambda, one_step, no_bootstrap, library_shortcut):
        assert not exercises.check_gae_advantages(wrong), wrong.__name__
    crashing = exercises.check_gae_advantages(lambda rewards, values, gamma, lam: values[len(values) + 1])
    assert not crashing and "raised" in repr(crashing)


# Gaussian score -----------------------------------------------------------------------------------------


def test_gaussian_score_check():
    def right(a, m, std):
        return np.append((a - m) / std**2, (np.sum((a - m) ** 2) / std**2 - len(a)) / std)

    def forgot_normaliser(a, m, std):  # drops the −n from the log-density's −n log σ
        return np.append((a - m) / std**2, np.sum((a - m) ** 2) / std**3)

    def with_respect_to_variance(a, m, std):  # ∂/∂σ², not ∂/∂σ
        return np.append((a - m) / std**2, (np.sum((a - m) ** 2) / std**2 - len(a)) / (2 * std**2))

    def library_shortcut(a, m, std):  # pgbook.gaussian's score (a − m)/σ² has no σ part
        return np.append((a - m) / std**2, 0.0)

    assert exercises.check_gaussian_score(right)
    for wrong in (forgot_normaliser, with_respect_to_variance, library_shortcut):
        assert not exercises.check_gaussian_score(wrong), wrong.__name__
    mean_only = exercises.check_gaussian_score(lambda a, m, std: (a - m) / std**2)
    assert not mean_only and "shape" in repr(mean_only)


# Learned baseline ---------------------------------------------------------------------------------------


def returns_to_go(rewards, gamma):
    returns, running = np.zeros_like(rewards), 0.0
    for t in reversed(range(len(rewards))):
        running = rewards[t] + gamma * running
        returns[t] = running
    return returns


def test_learned_baseline_weights_check():
    def right(rewards, gamma, alpha_w, w):
        G, weights = returns_to_go(rewards, gamma), np.zeros(len(rewards))
        for t in range(len(rewards)):
            weights[t] = gamma**t * (G[t] - w)
            w += alpha_w * (G[t] - w)
        return weights, w

    def updated_first(rewards, gamma, alpha_w, w):  # moves w before using it
        G, weights = returns_to_go(rewards, gamma), np.zeros(len(rewards))
        for t in range(len(rewards)):
            w += alpha_w * (G[t] - w)
            weights[t] = gamma**t * (G[t] - w)
        return weights, w

    def fixed_baseline(rewards, gamma, alpha_w, w):  # w held for the episode, updated after it
        G = returns_to_go(rewards, gamma)
        weights = gamma ** np.arange(len(rewards)) * (G - w)
        return weights, w + alpha_w * np.sum(G - w)

    def no_discount(rewards, gamma, alpha_w, w):
        weights, w = right(rewards, gamma, alpha_w, w)
        return weights / gamma ** np.arange(len(rewards)) if gamma > 0 else weights, w

    def library_shortcut(rewards, gamma, alpha_w, w):  # pg.reward_to_go's weights γᵗ G_t: no baseline at all
        batch = pg.Batch(
            states=np.zeros((1, len(rewards)), dtype=int), actions=np.zeros((1, len(rewards)), dtype=int),
            rewards=np.asarray(rewards)[None], alive=np.ones((1, len(rewards)), dtype=bool),
            final_states=np.array([0]), terminated=np.array([True]), gamma=gamma,
        )  # fmt: skip
        return batch.discounts()[0] * batch.returns_to_go()[0], w

    assert exercises.check_learned_baseline_weights(right)
    for wrong in (updated_first, fixed_baseline, no_discount, library_shortcut):
        result = exercises.check_learned_baseline_weights(wrong)
        assert not result and "final w" in repr(result), wrong.__name__
    not_a_pair = exercises.check_learned_baseline_weights(lambda rewards, gamma, alpha_w, w: rewards)
    assert not not_a_pair and "raised" in repr(not_a_pair)
    assert not exercises.check_learned_baseline_weights("not a function")
