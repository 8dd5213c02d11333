"""Part I, number by number: every number the prose of a Part I chapter states, held against an oracle.

The oracles here share nothing with the library's exact linear algebra: a torch re-implementation of the
objectives differentiated by autograd, episodes simulated here with numpy, series summed term by term, and
closed forms. A number is read from the page's *output* (or prose) by a pattern, and a pattern that finds
nothing fails the test: a test cannot pass because the wording changed.
"""

import inspect
import re

import numpy as np
import pytest
import scipy.stats
import torch

import pgbook as pg

from pages import NUMBER, ROOT, article, check_numbered, numbers, one, outputs, plain, prose, table

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("book")]

# ---- oracles: torch, from the MDP's arrays only -------------------------------------------------------------


def torch_quantities(mdp, theta, gamma=None):
    """For a tabular softmax on a continuing MDP: π, V, J, d, the stationary d_π and r̄, as torch functions of θ."""
    gamma = mdp.gamma if gamma is None else gamma
    P, R, mu0 = (torch.tensor(array) for array in (mdp.P, mdp.R, mdp.initial))
    n = mdp.n_states
    eye = torch.eye(n, dtype=torch.float64)

    def pi(t):
        return torch.softmax(t, dim=1)

    def chain(t):
        return torch.einsum("sa,sat->st", pi(t), P), (pi(t) * R).sum(1)

    def values(t):
        P_pi, r_pi = chain(t)
        return torch.linalg.solve(eye - gamma * P_pi, r_pi)

    def q_values(t):
        return R + gamma * P @ values(t)

    def visitation(t):
        P_pi, _ = chain(t)
        return torch.linalg.solve((eye - gamma * P_pi).T, mu0)

    def stationary(t):
        P_pi, _ = chain(t)
        system = torch.cat([(P_pi.T - eye)[:-1], torch.ones(1, n, dtype=torch.float64)])
        return torch.linalg.solve(system, torch.cat([torch.zeros(n - 1, dtype=torch.float64), torch.ones(1)]))

    def objective(t):
        return mu0 @ values(t)

    def average_reward(t):
        return stationary(t) @ chain(t)[1]

    return {
        "pi": pi,
        "V": values,
        "Q": q_values,
        "d": visitation,
        "stationary": stationary,
        "J": objective,
        "r_bar": average_reward,
    }


def grad(f, theta):
    t = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(f(t), t)
    return g.numpy()


def value(f, theta):
    with torch.no_grad():
        result = f(torch.tensor(theta, dtype=torch.float64)).numpy()
    return float(result) if result.ndim == 0 else result


def simulated_lengths(mdp, pi, n_episodes, seed, max_steps=2_000):
    """Episode lengths T simulated with numpy from P, π and μ0 (not the library's sampler)."""
    rng = np.random.default_rng(seed)
    states = rng.choice(mdp.n_states, size=n_episodes, p=mdp.initial)
    lengths = np.zeros(n_episodes, dtype=int)
    alive = ~mdp.terminal[states]
    for _ in range(max_steps):
        if not alive.any():
            break
        lengths += alive
        actions = (rng.random(n_episodes)[:, None] > np.cumsum(pi[states], axis=1)).sum(axis=1)
        actions = np.minimum(actions, mdp.n_actions - 1)
        transitions = np.cumsum(mdp.P[states, actions], axis=1)
        successors = np.minimum((rng.random(n_episodes)[:, None] > transitions).sum(axis=1), mdp.n_states - 1)
        states = np.where(alive, successors, states)
        alive = alive & ~mdp.terminal[states]
    assert not alive.any(), "an episode outlived max_steps"
    return lengths


def survival_series(mdp, pi, gamma, terms=5_000):
    """Σ_t γ^t Pr(T > t), with Pr(T > t) = μ0ᵀ P_π^t 1 on the live states, summed term by term."""
    live = ~mdp.terminal
    chain = np.einsum("sa,sat->st", pi, mdp.P)[np.ix_(live, live)]
    survival, total = mdp.initial[live], 0.0
    for t in range(terms):
        total += gamma**t * survival.sum()
        survival = survival @ chain
    return total


def check_estimator_episodic_problem():
    mdp = pg.examples.random_mdp(6, 3, gamma=0.95, seed=13, n_terminal=1)
    policy = pg.TabularSoftmax(6, 3)
    return mdp, policy.probabilities(policy.init_params(seed=14))


def theorem_problem():
    mdp = pg.examples.random_mdp(5, 3, gamma=0.9, seed=4)
    return mdp, pg.TabularSoftmax(5, 3).init_params(seed=4)


# ---- the theorem chapter --------------------------------------------------------------------------------------


def test_theorem_every_computed_line_holds_and_none_checks_exact_gradient_against_itself(built_book):
    text = outputs(built_book, "policy-gradient-theorem")
    gaps = [gap for (gap,) in numbers(r"largest difference (\d\.?\d*e[-+]\d+)", text)]
    assert len(gaps) == 18 and max(gaps) < 1e-8, gaps
    chapter = (ROOT / "book" / "policy-gradient-theorem.md").read_text()
    code = "\n".join(re.findall(r"```\{code-cell\} ipython3\n(.*?)```", chapter, re.S))
    assert "exact_gradient" not in code, "the theorem chapter's checks use autodiff or finite differences"
    for label in ("vs autodiff of J", "vs central differences", "d = Σ_t γ^t μ0ᵀ P_π^t", "Σ ∇d r_π = Σ d Σ ∇π γ Σ P V"):
        assert label in text, label


def test_theorem_checked_by_enumerating_every_trajectory(built_book):
    text = outputs(built_book, "policy-gradient-theorem")
    count, gap = one(rf"{NUMBER} trajectories: J: largest difference {NUMBER}", text)
    (gradient_gap,) = one(rf"(?m)^∇J: largest difference {NUMBER}", text)
    assert count == 2 * 6 * 3 and gap < 1e-12 and gradient_gap < 1e-12  # 2 starts × (3 actions × 2) × 3 actions
    assert re.search(
        r"No machine-checked proof of the\s+theorem is known to us", prose(built_book, "policy-gradient-theorem")
    )
    assert re.search(r"no citable machine-checked proof of the policy\s+gradient\s+theorem", prose(built_book, "intro"))


def test_theorem_prints_the_shapes_it_explains(built_book):
    text = outputs(built_book, "policy-gradient-theorem")
    mdp, theta = theorem_problem()
    score = pg.TabularSoftmax(5, 3).score(theta)
    assert f"score {score.shape}".replace(" (", " (") in text.replace("  ", " ")
    assert "θ (5, 3)" in text and "∂Q/∂θ (5, 3, 5, 3)" in text and "∂d/∂θ (5, 5, 3)" in text


def test_corridor_without_termination(built_book):
    text = outputs(built_book, "policy-gradient-theorem")
    rows = numbers(rf"(?m)^ *{NUMBER} +{NUMBER} +{NUMBER} +{NUMBER} +{NUMBER}$", text)
    rows = [row for row in rows if 0 < row[0] < 1 and 0 < row[1] < 1]
    assert len(rows) == 7
    for p, rho, J, closed, slope in rows:
        chain = np.array([[1 - p, p, 0], [p, 0, 1 - p], [0, 1 - p, 0]])
        # printed to 5 decimals
        assert rho == pytest.approx(np.abs(np.linalg.eigvals(chain)).max(), abs=6e-6)
        exact_J = 2 * (p - 2) / (p * (1 - p))
        assert J == pytest.approx(exact_J, abs=0.006) and closed == pytest.approx(exact_J, abs=0.006)
        # dJ/dθ_right = p(1 − p) dJ/dp = 2(p² − 4p + 2)/(p(1 − p))
        assert slope == pytest.approx(abs(2 * (p**2 - 4 * p + 2) / (p * (1 - p))), abs=0.006)
    assert max(rho for _, rho, *_ in rows) > 0.9995, "the spectral radius → 1 as p → 0 or 1"
    ranks = numbers(r"p = ([01]) \(always (?:left|right)\): rank of I − P_π on the 3 live states (\d+), not 3", text, 2)
    for p, rank in ranks:
        chain = np.array([[1 - p, p, 0], [p, 0, 1 - p], [0, 1 - p, 0]])
        assert rank == np.linalg.matrix_rank(np.eye(3) - chain) < 3
    assert "the library refuses it: with gamma=1 the policy must reach a terminal state" in text


def test_the_factor_sum_d_on_three_problems(built_book):
    text = outputs(built_book, "policy-gradient-theorem")
    continuing = one(rf"continuing, γ = 0\.9\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}\s+∞", text)
    corridor = one(rf"corridor, γ = 1, p = 0\.3\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}\s+∞\s+{NUMBER}", text)
    episodic = one(rf"episodic, γ = 0\.95\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}", text)
    assert continuing == pytest.approx((10, 10, 10, 10), abs=0.006)  # 1/(1 − γ)
    assert corridor == pytest.approx([-2 * (0.3 - 2) / (0.3 * 0.7)] * 4, abs=0.006)  # E[T] = −J(p), closed form
    mdp, pi = check_estimator_episodic_problem()
    discounted = survival_series(mdp, pi, 0.95)
    length = survival_series(mdp, pi, 1.0)
    assert episodic[:3] == pytest.approx([discounted] * 3, abs=0.006)
    assert episodic[3:] == pytest.approx((20, length), abs=0.006)
    # the series against episodes simulated here
    lengths = simulated_lengths(mdp, pi, 40_000, seed=7)
    for sample, target in ((lengths, length), ((1 - 0.95**lengths) / 0.05, discounted)):
        assert abs(sample.mean() - target) < 4.5 * sample.std() / np.sqrt(sample.size)
    # the sentence that states them
    page = prose(built_book, "policy-gradient-theorem")
    stated = one(
        rf"On the third problem \\\(\\sum_s d = {NUMBER}\\\), far from both \\\(1/\(1-\\gamma\) = {NUMBER}\\\)", page
    )
    stated_length = one(rf"\\mathbb E\[T\] = {NUMBER}\\\): an\s+episode", page)
    assert stated + stated_length == pytest.approx((discounted, 20, length), abs=0.006)
    (line6,) = one(r"expectation over d̄\) = (\d+\.\d+) = 1/\(1 − γ\)", text)
    assert line6 == pytest.approx(1 / (1 - 0.9), abs=1e-4)


def test_gradients_docstring_states_the_same_factor():
    doc = " ".join(inspect.getdoc(pg.exact_gradient).split())
    pattern = rf"for example {NUMBER} on .*?1/\(1-\\gamma\) = {NUMBER}` and :math:`\\mathbb E\[T\] = {NUMBER}`"
    stated = one(pattern, doc)
    mdp, pi = check_estimator_episodic_problem()
    expected = (survival_series(mdp, pi, 0.95), 20, survival_series(mdp, pi, 1.0))
    assert stated == pytest.approx(expected, abs=0.006)


def test_the_notes_dropped_terms_and_what_line_2_computes(built_book):
    text = outputs(built_book, "policy-gradient-theorem")
    mdp, theta = theorem_problem()
    q = torch_quantities(mdp, theta)
    dpi = torch.autograd.functional.jacobian(q["pi"], torch.tensor(theta)).numpy()  # (S, A, S, A)
    Q, stationary = value(q["Q"], theta), value(q["stationary"], theta)
    u = np.einsum("satb,sa->stb", dpi, Q)
    line2 = np.einsum("s,stb->tb", stationary, u)
    grad_J = grad(q["J"], theta)

    def notes_objective(t):
        return q["stationary"](t) @ q["V"](t)

    (notes_size,) = one(r"notes' weights d_π: dropped term, size (\d+\.\d+)", text)
    assert notes_size == pytest.approx(np.linalg.norm(grad(notes_objective, theta) - line2), abs=1e-4)
    (start_size,) = one(r"start weights μ0: +dropped term, size (\d+\.\d+)", text)
    assert start_size == pytest.approx(np.linalg.norm(grad_J - np.einsum("s,stb->tb", mdp.initial, u)), abs=1e-4)
    (norm,) = one(r"‖∇J‖ = (\d+\.\d+)", text)
    assert norm == pytest.approx(np.linalg.norm(grad_J), abs=1e-4)
    sum_dV, J = one(rf"Σ d V = {NUMBER}, but J = μ0ᵀV = {NUMBER}", text)
    assert (sum_dV, J) == pytest.approx((value(q["d"], theta) @ value(q["V"], theta), value(q["J"], theta)), abs=1e-4)
    factor, residual = one(r"best factor (\d+\.\d+); after rescaling, still (\d+\.\d+)% off ∇J", text)
    best = np.sum(line2 * grad_J) / np.sum(line2**2)
    assert factor == pytest.approx(best, abs=1e-3)
    assert residual == pytest.approx(100 * np.linalg.norm(best * line2 - grad_J) / np.linalg.norm(grad_J), abs=0.06)
    # line (2) against ∇r̄ as γ → 1
    rows = numbers(r"(?m)^ *(0\.9+) +(\d+\.\d+)%$", text)
    assert [gamma for gamma, _ in rows] == [0.9, 0.99, 0.999]
    grad_r_bar = grad(q["r_bar"], theta)
    for gamma, percent in rows:
        Q_gamma = value(torch_quantities(mdp, theta, gamma)["Q"], theta)
        line2_gamma = np.einsum("s,satb,sa->tb", stationary, dpi, Q_gamma)
        gap = np.linalg.norm(line2_gamma - grad_r_bar) / np.linalg.norm(grad_r_bar)
        assert percent == pytest.approx(100 * gap, abs=6e-4)
    percents = [percent for _, percent in rows]
    assert percents[0] > 9 * percents[1] > 81 * percents[2], "the gap shrinks like 1 − γ"


def test_the_regularity_examples(built_book):
    text = outputs(built_book, "policy-gradient-theorem")
    true, trick = one(rf"boundary: true derivative {NUMBER}, log-derivative expectation {NUMBER}", text)
    f = np.array([1.0, 3.0])
    assert (true, trick) == (f[0] - f[1], f[0])
    true, estimate, error = one(
        rf"moving support: true derivative {NUMBER}, log-derivative estimate {NUMBER} ± {NUMBER}", text
    )
    assert true == 0.5  # d/dθ of E[a] = θ/2
    assert abs(estimate - (-0.5)) < 4.5 * error, "the score estimate converges to −1/2, the wrong sign"


def test_the_theorem_chapter_has_as_many_callouts_as_it_announces(built_book):
    page = prose(built_book, "policy-gradient-theorem")
    assert "Six things need correcting" in page
    source = (ROOT / "book" / "policy-gradient-theorem.md").read_text()
    notes_part = source[source.index("## The notes, line by line") : source.index("## Interactive")]
    assert notes_part.count(":class: warning") == 6


# ---- learning the policy --------------------------------------------------------------------------------------


def test_learning_the_policy_numbers(built_book):
    text = outputs(built_book, "learning-the-policy")
    J, sum_d = one(rf"J = μ0ᵀV = {NUMBER}, Σ d = {NUMBER} = 1/\(1 − γ\)", text)
    continuing = pg.examples.random_mdp(6, 3, gamma=0.9, seed=1)
    theta = pg.TabularSoftmax(6, 3).init_params(seed=1)
    q = torch_quantities(continuing, theta)
    assert J == pytest.approx(value(q["J"], theta), abs=1e-4) and sum_d == pytest.approx(10, abs=1e-4)
    (J_half,) = one(rf"p = 0\.5: J = {NUMBER}", text)
    (total,) = one(rf"total {NUMBER} = E\[T\] = −J", text)
    assert J_half == pytest.approx(2 * (0.5 - 2) / 0.25, abs=0.05) and total == pytest.approx(-J_half)
    # the discounted, terminating problem: Σd, sampled, E[T]
    mdp, pi = check_estimator_episodic_problem()
    discounted, length = survival_series(mdp, pi, 0.95), survival_series(mdp, pi, 1.0)
    (sum_d,) = one(rf"γ = 0\.95: Σ d = {NUMBER}", text)
    sampled, error = one(rf"sampled E\[\(1 − γ\^T\)/\(1 − γ\)\] = {NUMBER} ± {NUMBER}", text)
    (mean_T, sampled_T, inverse) = one(rf"E\[T\] = {NUMBER} \(sampled {NUMBER}\), 1/\(1 − γ\) = {NUMBER}", text)
    assert sum_d == pytest.approx(discounted, abs=1e-4) and mean_T == pytest.approx(length, abs=1e-4)
    assert abs(sampled - discounted) < 4.5 * error and inverse == 20
    lengths = simulated_lengths(mdp, pi, 20_000, seed=3)
    assert abs(sampled_T - length) < 4.5 * lengths.std() / np.sqrt(lengths.size) + 0.005
    page = prose(built_book, "learning-the-policy")
    stated = one(rf"on the problem above, {NUMBER} against {NUMBER} and {NUMBER}\.", page)
    assert stated == pytest.approx((discounted, length, 20), abs=0.006)
    # the notes' objective: d_πᵀV = r̄/(1 − γ)
    (start,) = one(rf"μ0ᵀ V += {NUMBER}", text)
    (notes,) = one(rf"d_πᵀ V += {NUMBER}", text)
    (scaled,) = one(rf"r̄ / \(1 − γ\) = {NUMBER}", text)
    stationary, V = value(q["stationary"], theta), value(q["V"], theta)
    assert start == pytest.approx(value(q["J"], theta), abs=1e-6)
    assert notes == pytest.approx(stationary @ V, abs=1e-6) and scaled == pytest.approx(
        value(q["r_bar"], theta) / 0.1, abs=1e-6
    )


def test_learning_the_policy_corrects_the_notes_first_paragraph(built_book):
    page = prose(built_book, "learning-the-policy")
    assert "following the optimal policy" in page and "optimal action value" in page
    assert "expected  return" in page.replace("*", "") or "expected return" in page


# ---- REINFORCE ------------------------------------------------------------------------------------------------


def test_reinforce_bias_is_hundreds_of_standard_errors(built_book):
    text = outputs(built_book, "reinforce")
    z = table(r"(?m)^(.+?): max \|z\| = (\d+\.\d+), relative", text, 3)
    (components, threshold) = one(r"largest of (\d+) \|z\| at a 0\.1% false-alarm rate: (\d+\.\d+)", text)
    assert components == 8 * 3 and threshold == pytest.approx(scipy.stats.norm.isf(0.001 / 48), abs=0.006)
    assert z["REINFORCE (whole return)"] < threshold and z["reward-to-go, with γ^t"] < threshold
    assert 100 <= z["reward-to-go, without γ^t"] < 1000, "the prose says hundreds"
    assert "hundreds of standard errors" in prose(built_book, "reinforce")


# ---- one notation, in every chapter ------------------------------------------------------------------------------

# Part I's chapters, for the tests of its own pages below
PART_ONE = [
    "intro",
    "learning-the-policy",
    "finite-differences",
    "log-derivative-trick",
    "policy-gradient-theorem",
    "reinforce",
]
# the symbols the preface's table gives one meaning, and the reuses that were found and renamed
REUSES = (
    (r"\\mu_\\theta|\\mu_a|\\mu_k|\\mu\)|\\mu\(|d_\\mu", "μ is the start distribution μ0 only"),
    (r"\\phi\(s\)", "φ(s, a) are features; the theorem's per-state term is u(s)"),
    (r"(?<![\\\w])d = \\theta", "d is the visitation"),
    (r"\\delta_t = r_t", "the reward for a_t is r_{t+1}"),
    (r"\\eta\(s\)", "the visitation is d, also when γ = 1"),
    (r"P_K", "the value matrix of linear-quadratic control is S_K"),
    (r"K \+ \\kappa|\\kappa D|\\kappa = 0", "κ is the relative variance; a line of gains is K + ξD"),
    (r"\(1 - \\alpha\)|\\alpha = [01]\b", "α is a step size"),
    (r"\\sigma\(\\theta\)", "σ is a standard deviation, not the logistic function"),
    (r"J - J\^\\top", "J is the objective; the Jacobian of U is ∇U"),
    (r"G_K", "G is the return; linear-quadratic control's action-gradient matrix is Γ_K"),
    (r"\\delta\^\\top", "δ is the TD error; a step in the parameters is Δθ"),
    (r"c_\\theta|\{c\^2|\(a - c\)", "c is an estimator's factor c∇J; min optimal-action probability is π*_min"),
    (r"\\Delta\(s|\\Delta_\{\\min\}", "Δ is the bandit's offset m − a*; an optimal policy's advantages are A*"),
    (r"\\bar D\b|(?<![\\\w])D\(\\theta", "D is a direction of gains; a visitation-weighted KL is KL_d or KL_{d̄}"),
    (r"\\Delta\^\\top|\\omega\(", "a step in the parameters is Δθ; ω is the dynamics' noise, TRPO's multiplier is χ"),
    (r"(?<![\\\w])L\(w\)|\\nabla_w L\b", "L is the surrogate; the compatible critic's error is err(w)"),
    (r"\\chi_\\nu|\(1 - \\nu\)", "ν is a start distribution and χ a multiplier; a mixing coordinate is ξ"),
    (r"\\sigma\^2 \\Xi", "Ξ is Mei et al.'s rate constant; the σ² part of the state moment is Σ_ε"),
    (r"p_1\(s\)|V\^v", "p₁ is a probability of the off-policy counterexample, v a direction: μ0, any function of s"),
    (r"(?<![\\\w])pq\b|\\tilde p\s*\\tilde q", "q is a prompt and q̃ a differential action value: write 1 − p"),
    (r"\\Xi\^", "Ξ is Mei et al.'s rate constant; GRPO's sums of scores are ψ¹_q and ψ⁰_q"),
    (r"\^\\ell\b|\\ell = [01]", "ℓ is the smoothness constant; GRPO's length exponent is 𝟙_len"),
    (r"\\zeta_[12]", "ζ is the temperature of entropy regularisation; the softmax's derivative sums are y₁, y₂"),
    (r"\\bar r = \\pi|\\bar r/\\partial", "r̄ is the average reward; a bandit's expected reward under π is J"),
    (r"\\hat v\(|(?<![\\\w])x\(s\)", "a learned state value is V̂_w; x is linear-quadratic control's state, features φ"),
    (r"\\gamma\^\{n ?-|4\^\{-\(n", "n is a group's size; a chain's size is |S|"),
    (
        r"\\varepsilon\^\{1/3\}|\\sqrt\\varepsilon\b|\\varepsilon \\approx 2",
        "ε is a normal draw; float64's precision is ε_mach",
    ),
    (r"\\frac1\{\|A\|\}|\\log ?\|A\|", "A is an advantage; the number of actions is |𝒜|"),
)
# reuses searched in the whole source (display math, and inline math split around "${} = "), not only in $…$
SOURCE_REUSES = (
    (r"\\le \\delta\b|\{2\\delta\}", "δ is a TD error; TRPO's KL limit is KL_max"),
    (r"\\alpha\^2|\\le 2\\alpha", "α is a step size; the improvement bound's largest total variation is TV_max"),
    (r"1 ?- ?\\(?:var)?epsilon\b", "ε is a Gaussian policy's noise; PPO's clip range is ε_clip"),
    (r"(?<![\\\w])DU\b", "D is a direction of gains; the Jacobian of U is ∇U (also in printed labels)"),
    (
        r"(?<![\\\w{])F ?x(?:_t)? \+ H|(?<![\\\w])F_K\b|(?<![\\\w])F - HK|S_K F\b",
        "F is the Fisher matrix; linear-quadratic control's dynamics are Λ, H, its closed loop Λ_K",
    ),
    (
        r"\\(?:arg)?max_\{?p\}?(?!\w)|\\mathrm\{KL\}\(p\b|\\log p(?:_\\theta)?\(|(?<![\\\w])p_\\theta\(\\tau",
        "p is one action's probability in a small example; a distribution is π̄, an episode's probability Pr_θ(τ)",
    ),
    (r"(?<![\\\w])(?:\\bar )?F ?x = [gb]\b", "x is linear-quadratic control's state; a parameter direction is v"),
    (
        r"(?<![\\\w])u_t = -K|(?<![\\\w])u = -Kx|H ?u_t\b|\\nabla_u Q|Hu\)",
        "u(s) is the theorem's per-state term; linear-quadratic control's action is a",
    ),
    (
        r"\\sigma\^2 - n\b|- n ?\\log ?\\sigma|σ² − n\b|dimension \$n\$",
        "n is a group's size; an action's dimension is dim a",
    ),
    (r"\\rho\((?:\\gamma )?P_\\pi|ρ\((?:γ ?)?P_π", "ρ is an importance ratio; a spectral radius is written out"),
    (r"\\Sigma_w\b|Σ_w\b", "w is a critic's weights; the covariance of the dynamics' noise ω is Σ_ω"),
)


@pytest.mark.parametrize("name", re.findall(r"file: book/([\w-]+)", (ROOT / "_toc.yml").read_text()))
def test_every_chapter_follows_the_preface_notation(name):
    source = (ROOT / "book" / f"{name}.md").read_text()
    math = " ".join(re.findall(r"\$([^$]+)\$", source))
    for reused, meaning in REUSES:
        assert not re.search(reused, math), f"{name}: {meaning}"
    for reused, meaning in SOURCE_REUSES:
        assert not re.search(reused, source), f"{name}: {meaning}"
    assert "|J − Jᵀ|" not in source, f"{name}: J is the objective; the Jacobian of U is ∇U (also in printed labels)"
    assert not re.search("ζ[₁₂]", source), f"{name}: ζ is the temperature; the softmax's derivative sums are y₁, y₂"


def test_api_docstrings_follow_the_preface_notation():
    """The same lint on the math of every docstring the API page shows (the code keeps its own names)."""
    for module in sorted((ROOT / "pgbook").rglob("*.py")):
        docstrings = " ".join(re.findall(r'"""(.*?)"""', module.read_text(), re.S))
        math = " ".join(re.findall(r":math:`([^`]+)`", docstrings))
        displays = " ".join(re.findall(r"\.\. math::\n((?:[ \t]{4,}.*\n|\n)+)", docstrings))
        assert math and displays or module.name not in ("surrogate.py", "lqr.py"), f"{module.name}: no math found"
        for reused, meaning in REUSES + SOURCE_REUSES:
            found = re.search(reused, f"{math} {displays}")
            assert not found, f"{module.relative_to(ROOT)}: {found.group()!r}: {meaning}"


def test_the_notation_lint_finds_what_it_looks_for():
    """Each pattern catches the reuse it names (a lint that matches nothing would pass vacuously)."""
    examples = [r"\mu_\theta(s)", r"\phi(s)", r"d = \theta", r"\delta_t = r_t", r"\eta(s)", "P_K", r"K + \kappa D",
                r"(1 - \alpha)", r"\sigma(\theta)", r"J - J^\top", r"-G_K \Sigma_K",
                r"\tfrac12 \delta^\top F \delta", r"\frac{c_\theta}{2}", r"\Delta(s, a)", r"\bar D(\theta)",
                r"\frac12 \Delta^\top F \Delta", r"L(w) = 0", r"(1 - \nu)\,\psi", r"\sigma^2 \Xi",
                r"V^v(s)", r"\tilde p \tilde q", r"\Xi^1_q", r"\lvert o\rvert^\ell",
                r"\zeta_1 \le 1", r"\bar r = \pi^\top r", r"\exp(\theta_\sigma^\top x(s))",
                r"J^* = \gamma^{n-2}", r"h \approx \varepsilon^{1/3}", r"\frac{\log|A|}{\eta T'}"]  # fmt: skip
    for (pattern, _), example in zip(REUSES, examples, strict=True):
        assert re.search(pattern, example), (pattern, example)
    source_examples = [r"\frac{2\delta}{g}", r"\alpha^2", r"1 - \varepsilon", "max |DU − DUᵀ|", "x' = Fx + Ha",
                       r"\arg\max_p \sum_a p(a)", r"\bar F x = g", r"u_t = -K x_t + \sigma\varepsilon_t",
                       "(‖a − m‖²/σ² − n)/σ", "{'ρ(P_π)':>7}",
                       r"\omega \sim \mathcal N(0, \Sigma_w)"]  # fmt: skip
    for (pattern, _), example in zip(SOURCE_REUSES, source_examples, strict=True):
        assert re.search(pattern, example), (pattern, example)


def test_preface_table_defines_the_symbols_part_one_uses(built_book):
    page = prose(built_book, "intro")
    table = page[page.index("Notation#") : page.index("A first check#")]
    for meaning in (
        "features of a linear softmax",
        "mean and standard deviation of a Gaussian",
        "temporal-difference error",
        "one state’s term of the theorem",
        "differential state and action values",
        "relative variance",
        "the expected update without",  # Part III
        "the compatible features",
        "the Fisher matrix",
        "a deterministic policy",
        "the value matrix of the gain",
    ):
        assert meaning in table.replace("'", "’"), meaning


# ---- a text that links (issue 12, items 5 and 6) ----------------------------------------------------------------

CHAPTER_NUMBERS = {name: number for number, name in enumerate(PART_ONE[1:], start=1)}


@pytest.mark.parametrize("name", PART_ONE)
def test_part_one_links_to_other_chapters_and_to_the_api(built_book, name):
    body = article(built_book, name)
    links = re.findall(r'<a class="reference internal" href="([a-z-]+)\.html[#"]', body)
    chapters = set(links) - {"api", "references", name}
    assert chapters, f"{name}: no link to another chapter"
    api = set(re.findall(r'<a class="reference internal" href="api\.html#(pgbook\.[\w.]+)"', body))
    assert len(api) >= 3, f"{name}: {len(api)} distinct library names linked to the API page"
    # a library name in the prose is a link, not a bare literal (a call with its arguments may stay literal)
    literals = [plain(code) for code in re.findall(r'<code class="docutils literal notranslate">(.*?)</code>', body)]
    bare = [text for text in literals if re.fullmatch(r"pg(book)?\.[\w.]+(\(\))?", text)]
    assert not bare, f"{name}: library names not linked: {bare}"


@pytest.mark.parametrize("name", PART_ONE[1:])
def test_part_one_chapters_sections_and_equations_are_numbered_and_cited(built_book, name):
    body = article(built_book, name)
    check_numbered(body, CHAPTER_NUMBERS[name])
    assert re.search(r'href="[a-z-]*(\.html)?#equation-[a-z-]+"', body), f"{name}: no equation is cited"


def test_the_preface_is_not_numbered(built_book):
    body = article(built_book, "intro")
    assert 'class="section-number"' not in body


@pytest.mark.parametrize(
    ("name", "environments"),
    [
        ("log-derivative-trick", {"proof lemma": 1, "proof": 1}),
        ("policy-gradient-theorem", {"proof theorem": 2, "proof": 2}),
        ("reinforce", {"proof lemma": 1, "proof": 1}),
    ],
)
def test_theorems_lemmas_and_proofs_are_environments(built_book, name, environments):
    body = article(built_book, name)
    found = re.findall(r'<div class="(proof(?: theorem| lemma)?) admonition"', body)
    for kind, count in environments.items():
        assert found.count(kind) == count, (kind, found)
    captions = re.findall(r'<span class="caption-number">((?:Theorem|Lemma) [\d.]+) </span>', body)
    assert len(captions) == sum(count for kind, count in environments.items() if kind != "proof"), captions
    assert re.search(r'<a class="reference internal" href="#[a-z-]+">(Theorem|Lemma) [\d.]+</a>', body), (
        f"{name}: the text does not cite its theorem or lemma"
    )


@pytest.mark.parametrize("name", PART_ONE[1:])
def test_exercises_are_numbered_with_folded_solutions(built_book, name):
    body = article(built_book, name)
    exercises = re.findall(r'<div class="exercise admonition" id="([a-z-]+)">', body)
    solutions = [m.start() for m in re.finditer(r'<div class="solution dropdown admonition"', body)]
    assert exercises and len(solutions) == len(exercises), (exercises, len(solutions))
    for start in solutions:
        solution = body[start : body.index("</section>", start)]
        assert "Solution to" in plain(solution)
        if "cell_output" in solution:  # a checked solution: its verdict is inside the fold, and positive
            verdict = plain(solution)
            assert "Correct." in verdict or "PASSED" in verdict, verdict[-300:]


@pytest.mark.parametrize("name", [*PART_ONE, "api", "references"])
def test_no_raw_rest_on_the_page(built_book, name):
    text = plain(article(built_book, name))
    assert not re.search(r":(math|func|class|cite):`", text), f"{name}: raw reST on the page"


def test_citations_read_the_same_in_the_text_and_in_the_list(built_book):
    references = (built_book / "book" / "references.html").read_text()
    labels = dict(
        re.findall(
            r'<div class="citation" id="([^"]+)" role="doc-biblioentry">\s*<span class="label">'
            r'<span class="fn-bracket">\[</span>([^<]+)<',
            references,
        )
    )
    assert len(labels) >= 20
    wrong = [label for label in labels.values() if not re.fullmatch(r"[A-Z][^\[\]]*, \d{4}[a-z]?", label)]
    assert not wrong, f"labels not in the text's author-year style: {wrong}"
    assert len(set(labels.values())) == len(labels), "two works share a label"
    cited = 0
    for name in PART_ONE:
        for target, text in re.findall(r'href="references\.html#([^"]+)"[^>]*>([^<]+)</a>', article(built_book, name)):
            label = labels[target]
            assert label == text or label.endswith(f", {text}"), (name, text, label)
            cited += 1
    assert cited >= 8
