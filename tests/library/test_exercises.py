"""The exercise checks accept right answers and explain wrong ones, and the library does not do the exercise.

Each check is also tried with the shortcut a reader might take through the library (the function the exercise
asks for, however it was imported, or the one that computes the same thing for a softmax policy or a batch of
episodes): the check fails on it.
"""

import sys

import numpy as np

import pgbook as pg
from pgbook import deterministic, exercises, lqr

# Part I ------------------------------------------------------------------------------------------------


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
    assert not library and "score" in repr(library) and "does not let you use" in repr(library)


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
        assert not verdict and "does not let you use" in repr(verdict), repr(verdict)


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
        P_pi = np.einsum("sa,sat->st", policy.probabilities(theta), mdp.P)  # d_π P_π = d_π, in plain numpy
        values, vectors = np.linalg.eig(P_pi.T)
        d = np.real(vectors[:, np.argmin(np.abs(values - 1))])
        d = d / d.sum()
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
        # the library's answer by other routes (both passed the deny-list guard): a critic's gradient with the
        # exact Q, the mistake catalogue's finite-horizon sum with no mistake, the policy's weighted ∇π
        ("critic_gradient", lambda m, p, t: pg.critic_gradient(m, p, t, pg.action_values(m, p, t))),
        ("expected_gradient", lambda m, p, t: pg.mistakes.expected_gradient(m, p, t, 3_000, [])),
        (
            "weighted_probability_gradient",
            lambda m, p, t: p.weighted_probability_gradient(
                t, pg.discounted_visitation(m, p, t)[:, None] * pg.action_values(m, p, t)
            ),
        ),
    ):
        verdict = exercises.check_policy_gradient(library)
        assert not verdict and name in repr(verdict), repr(verdict)
    assert sys.getprofile() is None


# Part II -----------------------------------------------------------------------------------------------

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
    for wrong in (value_baseline, unnormalised):
        result = exercises.check_optimal_state_baseline(wrong)
        assert not result and "but the answer is" in repr(result), wrong.__name__
    shortcut = exercises.check_optimal_state_baseline(library_shortcut)
    assert not shortcut and "called pgbook's score" in repr(shortcut)
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


# Part III: compatible features, the natural gradient, convergence --------------------------------------


def fisher_by_sum(mdp, policy, theta):
    d, pi = pg.discounted_visitation(mdp, policy, theta), policy.probabilities(theta)
    psi = policy.score(theta).reshape(mdp.n_states, mdp.n_actions, -1)
    return np.einsum("s,sa,sai,saj->ij", d, pi, psi, psi)


def test_fisher_check():
    assert exercises.check_fisher_matrix(fisher_by_sum)

    def normalized(mdp, policy, theta):
        return fisher_by_sum(mdp, policy, theta) / pg.discounted_visitation(mdp, policy, theta).sum()

    assert not exercises.check_fisher_matrix(normalized)
    assert not exercises.check_fisher_matrix(lambda mdp, policy, theta: pg.fisher_matrix(mdp, policy, theta))
    assert not exercises.check_fisher_matrix(pg.fisher_matrix)
    assert "called pgbook's fisher_matrix" in repr(exercises.check_fisher_matrix(lambda *a: pg.fisher_matrix(*a)))
    # the library function is restored afterwards
    assert pg.fisher_matrix(pg.examples.bandit([0.0, 1.0]), pg.TabularSoftmax(1, 2), np.zeros((1, 2))).shape == (2, 2)


def test_part_three_checks_cannot_be_passed_with_the_library_function():
    from pgbook import compatible_fit  # bound before the check
    from pgbook.fisher import fisher_matrix

    def swallowing(function):  # catches the check's exception and answers anyway
        def answer(*arguments):
            try:
                return function(*arguments)
            except Exception:
                return function(*arguments)

        return answer

    for check, library, name in (
        (exercises.check_fisher_matrix, fisher_matrix, "fisher_matrix"),
        (exercises.check_compatible_fit, compatible_fit, "compatible_fit"),
        (exercises.check_optimal_state_baseline, pg.variance.score_weighted_values, "score_weighted_values"),
    ):
        for answer in (library, swallowing(library)):
            verdict = check(answer)
            # the first pgbook call the exercise does not allow is named
            assert not verdict and f"called pgbook's {name}" in repr(verdict), repr(verdict)
    assert sys.getprofile() is None, "the checks leave no profiler behind"


def test_compatible_fit_check():
    def fit(mdp, policy, theta, target=None):
        F = fisher_by_sum(mdp, policy, theta)
        d, pi = pg.discounted_visitation(mdp, policy, theta), policy.probabilities(theta)
        psi = policy.score(theta).reshape(mdp.n_states, mdp.n_actions, -1)
        values = pg.action_values(mdp, policy, theta) if target is None else target(mdp, policy, theta)
        b = np.einsum("s,sa,sai,sa->i", d, pi, psi, values)
        return np.linalg.lstsq(F, b, rcond=None)[0].reshape(theta.shape)

    assert exercises.check_compatible_fit(fit)
    assert exercises.check_compatible_fit(lambda m, p, t: fit(m, p, t, pg.advantages))  # the same w

    def values_only(*problem):  # a target with no action dependence: w = 0
        return np.repeat(pg.state_values(*problem)[:, None], problem[0].n_actions, axis=1)

    assert not exercises.check_compatible_fit(lambda m, p, t: fit(m, p, t, values_only))
    assert not exercises.check_compatible_fit(pg.exact_gradient)
    assert not exercises.check_compatible_fit(pg.compatible_fit)
    assert not exercises.check_compatible_fit(lambda m, p, t: pg.natural_gradient(m, p, t))
    assert not exercises.check_compatible_fit(lambda m, p, t: pg.compatible_fit(m, p, t))


def test_tabular_compatible_weights_check():
    """The derivation's answer (w = A + any constant per state) passes; ∇J, d·A, π·A and the library's answers do
    not. The oracle: the critic's gradient in plain numpy, Σ_s d(s) Σ_a π (e_a − π) ψᵀw, equals finite
    differences of J for w = A (a check of the claim the exercise asks the reader to derive)."""
    rng = np.random.default_rng(0)
    assert exercises.check_tabular_compatible_weights(lambda m, p, t: pg.advantages(m, p, t))
    assert exercises.check_tabular_compatible_weights(lambda m, p, t: pg.action_values(m, p, t))  # A + V(s)
    shift = rng.normal(size=(8, 1))
    assert exercises.check_tabular_compatible_weights(lambda m, p, t: pg.advantages(m, p, t) + shift[: m.n_states])
    assert not exercises.check_tabular_compatible_weights(pg.exact_gradient)  # w = d π A, not A

    def scaled_by_visitation(m, p, t):  # the natural gradient's normalisation mistaken for the weights
        return pg.discounted_visitation(m, p, t)[:, None] * pg.advantages(m, p, t)

    def times_pi(m, p, t):
        return p.probabilities(t) * pg.advantages(m, p, t)

    assert not exercises.check_tabular_compatible_weights(scaled_by_visitation)
    assert not exercises.check_tabular_compatible_weights(times_pi)
    for library in (pg.natural_gradient, pg.compatible_fit, lambda m, p, t: pg.natural_gradient(m, p, t)):
        verdict = exercises.check_tabular_compatible_weights(library)
        assert not verdict and "called pgbook's" in repr(verdict)
    # the claim itself, in plain numpy: f_w = ψᵀA = A, and Σ d Σ ∇π A = ∇J (central differences of J)
    mdp = pg.examples.random_mdp(4, 3, gamma=0.9, seed=1)
    theta = np.random.default_rng(1).standard_normal((4, 3))  # TabularSoftmax(4, 3).init_params(seed=1)

    def plain(t):
        pi = np.exp(t) / np.exp(t).sum(1, keepdims=True)
        P_pi = np.einsum("sa,sat->st", pi, mdp.P)
        inverse = np.linalg.inv(np.eye(4) - mdp.gamma * P_pi)
        V = inverse @ (pi * mdp.R).sum(1)
        return pi, mdp.initial @ inverse, mdp.R + mdp.gamma * mdp.P @ V - V[:, None], float(mdp.initial @ V)

    pi, d, A, _ = plain(theta)
    critic = A - np.sum(pi * A, axis=1, keepdims=True)  # ψᵀw for w = A
    assert np.allclose(critic, A, atol=1e-12)
    h = 1e-6
    steps = np.eye(12).reshape(12, 4, 3)
    numeric = np.array([(plain(theta + h * e)[3] - plain(theta - h * e)[3]) / (2 * h) for e in steps])
    assert np.allclose(d[:, None] * pi * critic, numeric.reshape(4, 3), atol=1e-7)


# Part III: the deterministic policy gradient, the update without γᵗ, surrogate objectives --------------


def test_noise_gap_check():
    from scipy.linalg import solve_discrete_lyapunov

    def action_gradient(system, gain):  # Γ_K, derived from S_K
        S, g = lqr.value_matrix(system, gain), system.gamma
        return 2 * (g * system.B.T @ S @ system.A - (system.R + g * system.B.T @ S @ system.B) @ gain)

    def moment(system, gain, source_scale):  # L = γ M L Mᵀ + c H Hᵀ
        closed_loop = np.sqrt(system.gamma) * (system.A - system.B @ gain)
        return solve_discrete_lyapunov(closed_loop, source_scale * system.B @ system.B.T)

    def derived(system, gain):
        return -action_gradient(system, gain) @ moment(system, gain, system.gamma / (1 - system.gamma))

    right = exercises.check_noise_gap(derived)
    assert right.passed and repr(right).startswith("Correct.")
    for wrong in (
        lambda s, k: -action_gradient(s, k) @ moment(s, k, 1 / (1 - s.gamma)),  # noise from t = 0, not t = 1
        lambda s, k: -action_gradient(s, k) @ moment(s, k, s.gamma),  # the noise not accumulated
        lambda s, k: -derived(s, k),  # the sign
        lambda s, k: np.zeros_like(k),  # "the noise averages out"
        lambda s, k: derived(s, k).ravel(),  # the shape
        lambda s, k: 1 / 0,
    ):
        result = exercises.check_noise_gap(wrong)
        assert not result.passed and repr(result).startswith("Not yet.")
    for name, library in (  # the library's answers
        ("gradient", lambda s, k: lqr.gradient(s, k, noise_std=1.0) - lqr.gradient(s, k, noise_std=0.0)),
        (
            "state_covariance",
            lambda s, k: -action_gradient(s, k) @ (lqr.state_covariance(s, k, 1.0) - lqr.state_covariance(s, k, 0.0)),
        ),
        (
            "action_gradient_matrix",
            lambda s, k: -pg.deterministic.action_gradient_matrix(s, k) @ moment(s, k, s.gamma / (1 - s.gamma)),
        ),
        ("policy_gradient", lambda s, k: deterministic.policy_gradient(s, k) * 0),
    ):
        verdict = exercises.check_noise_gap(library)
        assert not verdict and f"called pgbook's {name}" in repr(verdict), repr(verdict)


def test_update_field_check():
    def visits(mdp, pi):  # d₁ = μ₀ + P_πᵀ d₁ on the non-terminal states, derived from the chain
        P_pi, _ = mdp.markov_chain(pi)
        live, d_1 = ~mdp.terminal, np.zeros(mdp.n_states)
        d_1[live] = np.linalg.solve(np.eye(live.sum()) - P_pi[np.ix_(live, live)].T, mdp.initial[live])
        return d_1

    def from_d1_and_q(mdp, policy, theta):
        pi = policy.probabilities(theta)
        weights = pi * pg.action_values(mdp, policy, theta)
        return np.einsum("s,sa,sa...->...", visits(mdp, pi), weights, policy.score(theta))

    def discounted(mdp, policy, theta):  # d_γ: the gradient, not U
        pi = policy.probabilities(theta)
        P_pi, _ = mdp.markov_chain(pi)
        live, d = ~mdp.terminal, np.zeros(mdp.n_states)
        d[live] = np.linalg.solve(np.eye(live.sum()) - mdp.gamma * P_pi[np.ix_(live, live)].T, mdp.initial[live])
        return np.einsum("s,sa,sa...->...", d, pi * pg.action_values(mdp, policy, theta), policy.score(theta))

    def undiscounted_values(mdp, policy, theta):  # Q₁ for Q_γ: ∇J₁
        one = pg.FiniteMDP(mdp.P, mdp.R, gamma=1.0, initial=mdp.initial, terminal=mdp.terminal)
        return from_d1_and_q(one, policy, theta)

    def not_transposed(mdp, policy, theta):  # P_π d₁ where P_πᵀ d₁ is meant
        pi = policy.probabilities(theta)
        P_pi, _ = mdp.markov_chain(pi)
        live, d_1 = ~mdp.terminal, np.zeros(mdp.n_states)
        d_1[live] = np.linalg.solve(np.eye(live.sum()) - P_pi[np.ix_(live, live)], mdp.initial[live])
        return np.einsum("s,sa,sa...->...", d_1, pi * pg.action_values(mdp, policy, theta), policy.score(theta))

    dropped = [pg.mistakes.mistake("discount weights γᵗ dropped")]
    assert exercises.check_update_field(from_d1_and_q)
    for wrong in (discounted, undiscounted_values, not_transposed):
        verdict = exercises.check_update_field(wrong)
        assert not verdict and "but the answer is" in repr(verdict), wrong.__name__

    def by_visitation(mdp, policy, theta):  # the visitation of a γ = 1 copy: the step the exercise asks for
        undiscounted = pg.FiniteMDP(mdp.P, mdp.R, gamma=1.0, initial=mdp.initial, terminal=mdp.terminal)
        d_1 = pg.discounted_visitation(undiscounted, policy, theta)
        weights = policy.probabilities(theta) * pg.action_values(mdp, policy, theta)
        return np.einsum("s,sa,sa...->...", d_1, weights, policy.score(theta))

    for name, library in (
        ("expected_update", pg.update_field.expected_update),
        ("undiscounted_visitation", lambda m, p, t: np.einsum(
            "s,sa,sa...->...", pg.update_field.undiscounted_visitation(m, p, t),
            p.probabilities(t) * pg.action_values(m, p, t), p.score(t))),
        ("expected_gradient", lambda m, p, t: pg.mistakes.expected_gradient(m, p, t, 3_000, dropped)),
        ("discounted_visitation", by_visitation),
    ):  # fmt: skip
        verdict = exercises.check_update_field(library)
        assert not verdict and f"called pgbook's {name}" in repr(verdict), repr(verdict)
    assert sys.getprofile() is None


def test_counterexample_curl_check():
    def curl(gamma, theta):  # (γ² + γ − 2) pq rs, worked by hand from U's closed form
        p, r = 1 / (1 + np.exp(-theta[0])), 1 / (1 + np.exp(-theta[1]))
        return (gamma**2 + gamma - 2) * p * (1 - p) * r * (1 - r)

    assert exercises.check_counterexample_curl(curl)
    for wrong in (
        lambda g, t: -curl(g, t),  # the sign (∂U₀/∂θ₁ − ∂U₁/∂θ₀)
        lambda g, t: curl(g, t) * (g**2 + g - 1) / (g**2 + g - 2),  # the one-parameter factor
        lambda g, t: curl(g, t) * g**2 / (g**2 + g - 2),  # only the γ² of ∇J
        lambda g, t: 0.0,  # "a gradient"
        lambda g, t: np.array([curl(g, t)] * 2),  # not a number
    ):
        verdict = exercises.check_counterexample_curl(wrong)
        assert not verdict and repr(verdict).startswith("Not yet."), repr(verdict)

    def by_library(gamma, theta):
        jacobian = pg.update_field.update_jacobian(
            *pg.update_field.coordination_counterexample(gamma, n_params=2), theta
        )
        return jacobian[1, 0] - jacobian[0, 1]

    verdict = exercises.check_counterexample_curl(by_library)
    assert not verdict and "called pgbook's coordination_counterexample" in repr(verdict)
    assert sys.getprofile() is None


def test_compatible_dpg_weights_check():
    def action_gradient(system, gain, gamma):  # Γ_K, derived from S_K (γ an argument to get it wrong below)
        S = lqr.value_matrix(system, gain)
        return 2 * (gamma * system.B.T @ S @ system.A - (system.R + gamma * system.B.T @ S @ system.B) @ gain)

    def fit(system, gain, basis, moments, gamma):
        gram = np.einsum("jmn,kml,nl->jk", basis, basis, moments)
        return -np.linalg.solve(gram, np.einsum("jmn,ml,nl->j", basis, action_gradient(system, gain, gamma), moments))

    def right(system, gain, basis):
        return fit(system, gain, basis, lqr.state_covariance(system, gain, 0.0), system.gamma)

    assert exercises.check_compatible_dpg_weights(right)
    for wrong in (
        lambda s, k, b: fit(s, k, b, np.eye(s.n_states), s.gamma),  # the fit not weighted by the visitation
        lambda s, k, b: fit(s, k, b, s.initial_covariance, s.gamma),  # weighted by the start states only
        lambda s, k, b: fit(s, k, b, lqr.state_covariance(s, k, 0.0), 1.0),  # γ left out of ∇_a Q
        lambda s, k, b: -right(s, k, b),  # the sign of ∇_θ m
        lambda s, k, b: np.einsum("jmn,kml,nl,k->j", b, b, lqr.state_covariance(s, k, 0.0), right(s, k, b)),  # G w
    ):
        verdict = exercises.check_compatible_dpg_weights(wrong)
        assert not verdict and repr(verdict).startswith("Not yet."), repr(verdict)
    for name, library in (
        (
            "policy_gradient",
            lambda s, k, b: np.einsum("jmn,mn->j", b, deterministic.policy_gradient(s, k)),
        ),
        (
            "action_gradient_matrix",
            lambda s, k, b: (
                -np.linalg.lstsq(
                    np.einsum("jmn,nl->mlj", b, np.eye(s.n_states)).reshape(-1, len(b)),
                    pg.deterministic.action_gradient_matrix(s, k).ravel(),
                    rcond=None,
                )[0]
            ),
        ),
    ):
        verdict = exercises.check_compatible_dpg_weights(library)
        assert not verdict and f"called pgbook's {name}" in repr(verdict), repr(verdict)
    assert sys.getprofile() is None


# Part III, derivations (the TRPO step, the natural gradient by CG, a Gaussian's Fisher matrix, the NPG rate) -----


def clipped_by_cases(pi_old, theta, advantage, epsilon, rule=None, coupled=True):
    pi = softmax(theta)
    ratio = pi / pi_old
    clipped = ((advantage > 0) & (ratio > 1 + epsilon)) | ((advantage < 0) & (ratio < 1 - epsilon))
    if rule is not None:
        clipped = rule(ratio, advantage, epsilon)
    weight = np.where(clipped, 0.0, pi_old * advantage) / pi_old  # d/dρ of each term, times dρ/dπ = 1/π_old
    return pi * weight - (pi * np.sum(pi * weight) if coupled else 0.0)


def test_clipped_gradient_check():
    assert exercises.check_clipped_gradient(clipped_by_cases)
    wrong = (
        lambda *a: clipped_by_cases(*a, rule=lambda r, A, e: np.abs(r - 1) > e),  # "outside the band: no term"
        lambda *a: clipped_by_cases(*a, rule=lambda r, A, e: np.zeros_like(r, dtype=bool)),  # no clip at all
        lambda *a: clipped_by_cases(*a, rule=lambda r, A, e: (A > 0) & (r > 1 + e)),  # one side only
        lambda *a: clipped_by_cases(*a, coupled=False),  # the softmax's shared normaliser forgotten
    )
    for answer in wrong:
        assert not exercises.check_clipped_gradient(answer)

    def by_library(pi_old, theta, advantage, epsilon):
        pg.surrogate.clipped_objective(None, None, None, None, epsilon=epsilon)
        return clipped_by_cases(pi_old, theta, advantage, epsilon)

    verdict = exercises.check_clipped_gradient(by_library)
    assert not verdict and "called pgbook's clipped_objective" in repr(verdict)


def test_bandit_hessian_check():
    def by_hand(pi, r):
        g = pi * (r - pi @ r)
        return np.diag(g) - np.outer(g, pi) - np.outer(pi, g)

    assert exercises.check_bandit_hessian(by_hand)
    wrong = (
        lambda pi, r: np.diag(pi * (r - pi @ r)),  # only the diagonal
        lambda pi, r: by_hand(pi, r) + np.outer(pi * (r - pi @ r), pi),  # one cross term
        lambda pi, r: np.diag(pi) - np.outer(pi, pi),  # the softmax's Jacobian, not J's Hessian
        lambda pi, r: -by_hand(pi, r),
    )
    for answer in wrong:
        assert not exercises.check_bandit_hessian(answer)

    from pgbook import convergence_theory

    def through_smoothness(pi, r):  # the library's curvature along each coordinate: forbidden
        P = np.zeros((2, pi.size, 2))
        P[:, :, 1] = 1.0  # one step, then the terminal state
        mdp = pg.FiniteMDP(P, np.stack([r, 0 * r]), gamma=0.5, initial=[1.0, 0.0], terminal=[False, True])
        theta = np.stack([np.log(pi), 0 * pi])
        lines = [convergence_theory.smoothness(mdp, theta, np.stack([e, 0 * e])) for e in np.eye(pi.size)]
        return np.diag([line.curvature for line in lines])

    verdict = exercises.check_bandit_hessian(through_smoothness)
    assert not verdict and "called pgbook's" in repr(verdict)


def test_proximal_value_check():
    def log_partition(pi, A, eta, gamma):
        scale = (1 - gamma) / eta
        return scale * np.log(np.sum(pi * np.exp(A / scale), axis=1))

    assert exercises.check_proximal_value(log_partition)

    def maximiser(pi, A, eta, gamma):
        p = pi * np.exp(eta * A / (1 - gamma))
        return p / p.sum(axis=1, keepdims=True)

    wrong = (
        lambda pi, A, eta, gamma: log_partition(pi, A, eta, gamma) * eta / (1 - gamma),  # log Z without its scale
        lambda pi, A, eta, gamma: np.sum(maximiser(pi, A, eta, gamma) * A, axis=1),  # the linear term only
        lambda pi, A, eta, gamma: A.max(axis=1),  # η → ∞
        lambda pi, A, eta, gamma: np.zeros(len(pi)),  # p = π
    )
    for answer in wrong:
        assert not exercises.check_proximal_value(answer)

    def by_library(pi, A, eta, gamma):  # the library's natural step: forbidden
        from pgbook import convergence_theory

        mdp = pg.examples.random_mdp(*pi.shape, gamma=0.5, seed=0)
        convergence_theory.natural_policy_iteration(mdp, pi, step_size=eta, n_iterations=1)
        return log_partition(pi, A, eta, gamma)

    verdict = exercises.check_proximal_value(by_library)
    assert not verdict and "called pgbook's" in repr(verdict)


def test_trpo_step_check():
    from pgbook import surrogate

    def trpo(g, F, max_kl):
        x = np.linalg.pinv(F) @ g
        return np.sqrt(2 * max_kl / (g @ x)) * x

    assert exercises.check_trpo_step(trpo)
    assert not exercises.check_trpo_step(
        lambda g, F, max_kl: np.sqrt(max_kl / (g @ np.linalg.pinv(F) @ g)) * (np.linalg.pinv(F) @ g)
    )  # fmt: skip  (the factor 2 of ½xᵀFx forgotten)
    assert not exercises.check_trpo_step(lambda g, F, max_kl: np.linalg.pinv(F) @ g)  # not scaled to the radius
    assert not exercises.check_trpo_step(lambda g, F, max_kl: np.linalg.lstsq(F + np.eye(len(g)), g, rcond=None)[0])

    mdp, policy = pg.examples.random_mdp(2, 2, seed=0), pg.TabularSoftmax(2, 2)

    def through_the_library(g, F, max_kl):  # the library's natural gradient cannot be used
        pg.natural_gradient(mdp, policy, np.zeros((2, 2)))
        return trpo(g, F, max_kl)

    assert "called pgbook's natural_gradient" in repr(exercises.check_trpo_step(through_the_library))

    def via_trpo(g, F, max_kl):
        surrogate.trpo_step(mdp, policy, np.zeros((2, 2)), max_kl=max_kl)
        return trpo(g, F, max_kl)

    assert "called pgbook's trpo_step" in repr(exercises.check_trpo_step(via_trpo))


def test_natural_gradient_by_cg_check():
    from pgbook import surrogate

    def by_cg(mdp, policy, theta):
        d, pi = pg.discounted_visitation(mdp, policy, theta), policy.probabilities(theta)
        psi = policy.score(theta).reshape(mdp.n_states * mdp.n_actions, -1)
        w = (d[:, None] * pi).ravel()
        g = pg.exact_gradient(mdp, policy, theta).ravel()
        x, r = np.zeros_like(g), g.copy()
        p, rr = r.copy(), r @ r
        for _ in range(g.size):
            if rr <= 1e-20 * (g @ g):
                break
            Fp = psi.T @ (w * (psi @ p))
            a = rr / (p @ Fp)
            x, r = x + a * p, r - a * Fp
            p, rr = r + (r @ r) / rr * p, r @ r
        return x.reshape(theta.shape)

    assert exercises.check_natural_gradient_by_cg(by_cg)
    assert not exercises.check_natural_gradient_by_cg(lambda m, p, t: pg.exact_gradient(m, p, t))

    def normalised(mdp, policy, theta):  # F with the normalised visitation: Σd times too large
        return by_cg(mdp, policy, theta) * pg.discounted_visitation(mdp, policy, theta).sum()

    assert not exercises.check_natural_gradient_by_cg(normalised)
    for library in (
        lambda m, p, t: pg.natural_gradient(m, p, t),
        lambda m, p, t: pg.compatible_fit(m, p, t),
        lambda m, p, t: np.linalg.pinv(pg.fisher_matrix(m, p, t)) @ pg.exact_gradient(m, p, t).ravel(),
        lambda m, p, t: surrogate.conjugate_gradient(
            lambda v: surrogate.fisher_vector_product(m, p, t, v), pg.exact_gradient(m, p, t), n_iterations=t.size
        ),
    ):
        assert "called pgbook's" in repr(exercises.check_natural_gradient_by_cg(library))


def test_gaussian_fisher_check():
    assert exercises.check_gaussian_fisher(lambda mean, std: np.diag([1 / std**2, 2.0]))
    assert not exercises.check_gaussian_fisher(lambda mean, std: np.diag([1 / std**2, 2 / std**2]))
    assert not exercises.check_gaussian_fisher(lambda mean, std: np.diag([1 / std, 2.0]))  # parameter σ, not log σ
    assert not exercises.check_gaussian_fisher(lambda mean, std: np.diag([1 / std**2, 1.0]))


def test_natural_gradient_rate_check():
    from pgbook.convergence_theory import optimal_policy

    def predicted(mdp, eta):
        best = optimal_policy(mdp)
        V = mdp.state_values(best)
        gaps = (V[:, None] - mdp.action_values(best, V))[~mdp.terminal]
        return np.exp(-eta * gaps[gaps > 1e-12].min() / (1 - mdp.gamma))

    assert exercises.check_natural_gradient_rate(predicted)
    assert not exercises.check_natural_gradient_rate(lambda mdp, eta: np.exp(-eta))
    wrong_gap = exercises.check_natural_gradient_rate(lambda mdp, eta: predicted(mdp, eta) ** (1 - mdp.gamma))
    assert not wrong_gap  # the 1/(1−γ) of the step forgotten

    def one_state(pick):  # the smallest gap of one state only: the first, or the likeliest start
        def answer(mdp, eta):
            best = optimal_policy(mdp)
            V = mdp.state_values(best)
            row = (V[:, None] - mdp.action_values(best, V))[pick(mdp)]
            return np.exp(-eta * row[row > 1e-12].min() / (1 - mdp.gamma))

        return answer

    assert not exercises.check_natural_gradient_rate(one_state(lambda mdp: 0))
    assert not exercises.check_natural_gradient_rate(one_state(lambda mdp: int(mdp.initial.argmax())))

    def measured(mdp, eta):  # running the library's ascent is not a derivation
        run = pg.exact_ascent(mdp, pg.TabularSoftmax(mdp.n_states, 3), np.zeros((mdp.n_states, 3)), step_size=eta,
                              n_iterations=3, direction="natural")  # fmt: skip
        return run.objectives[-1]

    assert "called pgbook's exact_ascent" in repr(exercises.check_natural_gradient_rate(measured))


# Part IV: off-policy gradients ---------------------------------------------------------------------------------


def test_per_decision_weights_check():
    def per_decision(rewards, ratios, gamma):
        terms = gamma ** np.arange(len(rewards)) * np.cumprod(ratios) * rewards
        return np.cumsum(terms[::-1])[::-1]

    assert exercises.check_per_decision_weights(per_decision)
    no_discount = exercises.check_per_decision_weights(lambda r, rho, g: per_decision(r, rho, 1.0))
    assert not no_discount and "but the answer is" in repr(no_discount)

    def ratios_before(rewards, ratios, gamma):  # ρ_{0:k-1}: the ratio of a_k itself left out
        return per_decision(rewards, np.concatenate([[1.0], ratios[:-1]]), gamma)

    def ratios_from_t(rewards, ratios, gamma):  # Σ_{k≥t} γ^k ρ_{t:k} r_{k+1}: the ratios before t left out
        return np.array([per_decision(rewards[t:], ratios[t:], gamma)[0] * gamma**t for t in range(len(rewards))])

    for wrong in (ratios_before, ratios_from_t):
        verdict = exercises.check_per_decision_weights(wrong)
        assert not verdict and "but the answer is" in repr(verdict), wrong.__name__

    def through_the_library(rewards, ratios, gamma):  # one episode through off_policy_gradient's weights
        batch = pg.Batch(
            states=np.zeros((1, len(rewards)), dtype=np.int64),
            actions=np.zeros((1, len(rewards)), dtype=np.int64),
            rewards=rewards[None],
            alive=np.ones((1, len(rewards)), dtype=bool),
            final_states=np.zeros(1, dtype=np.int64),
            terminated=np.ones(1, dtype=bool),
            gamma=gamma,
        )
        return pg.off_policy.off_policy_gradient(batch, pg.TabularSoftmax(1, 2), np.zeros((1, 2)), np.zeros((1, 2)))

    verdict = exercises.check_per_decision_weights(through_the_library)
    assert not verdict and "does not let you use" in repr(verdict)


def test_excursion_gradient_check():
    from pgbook import off_policy

    def exact(mdp, policy, theta, nu):
        start = pg.FiniteMDP(mdp.P, mdp.R, gamma=mdp.gamma, initial=nu / nu.sum(), terminal=mdp.terminal)
        pi = policy.probabilities(theta)
        weights = nu.sum() * start.discounted_visitation(pi)
        return policy.weighted_probability_gradient(theta, weights[:, None] * mdp.action_values(pi))

    assert exercises.check_excursion_gradient(exact)

    def off_pac(mdp, policy, theta, nu):
        pi = policy.probabilities(theta)
        return policy.weighted_probability_gradient(theta, nu[:, None] * mdp.action_values(pi))

    wrong = exercises.check_excursion_gradient(off_pac)
    assert not wrong and "but the answer is" in repr(wrong)
    for library in (off_policy.excursion_gradient, lambda m, p, t, nu: pg.off_policy.excursion_gradient(m, p, t, nu)):
        verdict = exercises.check_excursion_gradient(library)
        assert not verdict and "does not let you use" in repr(verdict), repr(verdict)


# Part IV: entropy regularisation -------------------------------------------------------------------------------


def test_entropy_checks_accept_the_derivation_and_refuse_the_library_and_wrong_answers():
    from pgbook.entropy import regularised_gradient, soft_optimum  # bound before the check

    def soft(mdp, pi, zeta):
        P_pi, r_pi = mdp.markov_chain(pi)
        live = ~mdp.terminal
        V = np.zeros(mdp.n_states)
        system = np.eye(live.sum()) - mdp.gamma * P_pi[np.ix_(live, live)]
        V[live] = np.linalg.solve(system, (r_pi - zeta * (pi * np.log(pi)).sum(1))[live])
        Q = mdp.R + mdp.gamma * mdp.P @ V
        return mdp.discounted_visitation(pi)[:, None] * pi * (Q - zeta * np.log(pi) - V[:, None])

    def unregularised_values(mdp, pi, zeta):  # the entropy of the current state only, the ordinary V and Q
        V = mdp.state_values(pi)
        return mdp.discounted_visitation(pi)[:, None] * pi * (mdp.action_values(pi, V) - zeta * np.log(pi) - V[:, None])

    def library(mdp, pi, zeta):
        return regularised_gradient(mdp, pg.TabularSoftmax(*pi.shape), np.log(pi), temperature=zeta)

    assert exercises.check_soft_gradient(soft)
    assert not exercises.check_soft_gradient(unregularised_values)
    verdict = exercises.check_soft_gradient(library)
    assert not verdict and "regularised_gradient" in repr(verdict), repr(verdict)

    def soft_max(means, zeta):
        return float(np.max(means) + zeta * np.log(np.sum(np.exp((means - np.max(means)) / zeta))))

    def library_value(means, zeta):
        bandit = pg.FiniteMDP(np.ones((1, len(means), 1)), np.asarray(means)[None], gamma=0.0, initial=[1.0])
        return float(soft_optimum(bandit, temperature=zeta).values[0])

    assert exercises.check_soft_bandit_value(soft_max)
    assert not exercises.check_soft_bandit_value(lambda means, zeta: float(np.max(means)))  # ζ forgotten
    assert not exercises.check_soft_bandit_value(lambda means, zeta: float(np.mean(means) + zeta * np.log(len(means))))
    verdict = exercises.check_soft_bandit_value(library_value)
    assert not verdict and "soft_optimum" in repr(verdict), repr(verdict)
    assert sys.getprofile() is None


def test_regularised_natural_step_check():
    def step(pi, Q, eta, zeta, gamma):
        logits = (1 - eta * zeta / (1 - gamma)) * np.log(pi) + eta * Q / (1 - gamma)
        new = np.exp(logits - logits.max(axis=1, keepdims=True))
        return new / new.sum(axis=1, keepdims=True)

    def unregularised(pi, Q, eta, zeta, gamma):  # the step of the unregularised natural gradient
        return step(pi, Q, eta, 0.0, gamma)

    def boltzmann(pi, Q, eta, zeta, gamma):  # soft policy iteration, whatever the step
        return step(pi, Q, (1 - gamma) / zeta, zeta, gamma)

    def without_horizon(pi, Q, eta, zeta, gamma):  # θ + η F⁺∇J_ζ: the 1/(1 − γ) of the book's step dropped
        return step(pi, Q, eta * (1 - gamma), zeta, gamma)

    assert exercises.check_regularised_natural_step(step)
    for wrong in (unregularised, boltzmann, without_horizon):
        assert not exercises.check_regularised_natural_step(wrong), wrong.__name__

    def library(pi, Q, eta, zeta, gamma):
        from pgbook.entropy import regularised_natural_policy_iteration

        bandit = pg.FiniteMDP(np.ones((1, pi.shape[1], 1)), Q[:1], gamma=0.0, initial=[1.0])
        return regularised_natural_policy_iteration(bandit, pi[:1], temperature=zeta, step_size=eta, n_iterations=1)

    verdict = exercises.check_regularised_natural_step(library)
    assert not verdict and "regularised_natural_policy_iteration" in repr(verdict), repr(verdict)
