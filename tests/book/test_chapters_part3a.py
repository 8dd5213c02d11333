"""Part III's first chapters (compatible features, the natural gradient, convergence): every number the prose
states, read from the built pages and held to the claim, and where the claim is a value, to an independent
recomputation here (plain numpy, no pgbook oracle beyond the problem's arrays).

Every extraction fails when its pattern finds nothing.
"""

import re

import numpy as np
import pytest
from plain import chain_arrays

import pgbook as pg

from pages import NUMBER, numbers, one, page_text, table

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("book")]


def checked_steps(text):
    return [step for (step,) in numbers(r"largest difference (\d\.?\d*e[-+]\d+)", text)]


def assert_frames(source, at_least):
    figures = re.findall(r'<div class="pgbook-frames" id="(pgbook-[0-9a-f]+)">(.*?)</div>', source, re.S)
    assert len(figures) == 1
    assert int(re.search(r'type="range" min="0" max="(\d+)"', figures[0][1])[1]) + 1 >= at_least
    assert figures[0][1].count('<img src="data:image/svg+xml') == 1, "the shown frame, as the image's source"


def assert_exercises_pass(source, text, count):
    assert text.count("Correct.") == count and "Not yet." not in text
    # each checked solution is folded: inside a sphinx-exercise {solution} dropdown
    folded = [m.start() for m in re.finditer(r'<div class="solution dropdown admonition"', source)]
    assert len(folded) == count
    assert all("Correct." in source[start : source.index("</section>", start)] for start in folded)


# Compatible function approximation ---------------------------------------------------------------------------


def plain_critic_gradient_error(features_seed):
    """The page's problem; the critic with other features fitted and its gradient, in plain numpy; ∇J by
    central differences of J computed by a linear solve."""
    mdp = pg.examples.random_mdp(6, 3, gamma=0.9, seed=14)
    phi_policy = np.random.default_rng(14).normal(size=(6, 3, 4))
    theta = np.random.default_rng(14).standard_normal(4)  # policy.init_params(seed=14)
    P, R, mu, gamma = mdp.P, mdp.R, mdp.initial, mdp.gamma

    def table(t):
        logits = phi_policy @ t
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def evaluate(t):
        pi = table(t)
        P_pi, r_pi = np.einsum("sa,sat->st", pi, P), (pi * R).sum(1)
        V = np.linalg.solve(np.eye(6) - gamma * P_pi, r_pi)
        d = np.linalg.solve((np.eye(6) - gamma * P_pi).T, mu)
        return pi, V, d

    def J(t):
        return float(mu @ evaluate(t)[1])

    h = 1e-6
    grad = np.array([(J(theta + h * e) - J(theta - h * e)) / (2 * h) for e in np.eye(4)])
    pi, V, d = evaluate(theta)
    Q = R + gamma * P @ V
    other = np.random.default_rng(features_seed).normal(size=(6, 3, 4))
    root = np.sqrt(d[:, None] * pi)
    w = np.linalg.lstsq((root[..., None] * other).reshape(18, 4), (root * Q).ravel(), rcond=None)[0]
    critic = other @ w
    # Σ_s d Σ_a ∇π f = Σ_s d Σ_a π (φ_policy − mean φ) f
    centred = phi_policy - np.einsum("sa,saf->sf", pi, phi_policy)[:, None]
    g = np.einsum("s,sa,saf,sa->f", d, pi, centred, critic)
    weights = d[:, None] * pi
    fit = np.sum(weights * (critic - Q) ** 2) / weights.sum()
    return np.linalg.norm(g - grad) / np.linalg.norm(grad), fit, g @ grad / np.linalg.norm(g) / np.linalg.norm(grad)


def test_compatible_features_page(built_book):
    source, text = page_text(built_book, "compatible-features")
    steps = checked_steps(text)
    assert len(steps) == 4 and max(steps) < 1e-8  # steps 1-4 of the derivation, to rounding
    (r_squared,) = one(r"weighted R² of the compatible critic against A: " + NUMBER, text)
    assert 0 < r_squared < 0.95  # "fits even A only in part"
    ((critic_error, q_size),) = numbers(
        r"largest error of the critic against Q: " + NUMBER + r" \(\|Q\| up to " + NUMBER, text, 1
    )
    assert critic_error > 0.5 * q_size  # "a poor model of Q"
    rows = table(
        r"(compatible ψ|4 other features|ψ and the other 4): weighted MSE against Q "
        + NUMBER
        + r"; relative error of the gradient "
        + NUMBER
        + r", cosine to ∇J "
        + NUMBER,
        text,
        3,
    )
    errors = {name: row[1] for name, row in rows.items()}
    assert errors["compatible ψ"] < 1e-10 and errors["ψ and the other 4"] < 1e-10
    assert errors["4 other features"] > 0.1  # "its gradient is wrong"
    other_error, other_fit, other_cosine = plain_critic_gradient_error(1)
    assert f"{other_error:.1e}" == f"{errors['4 other features']:.1e}"  # as printed
    # the punchline: the other critic fits Q better, yet its gradient is nearly orthogonal to ∇J
    assert rows["4 other features"][0] == pytest.approx(other_fit, abs=6e-4)
    assert rows["4 other features"][2] == pytest.approx(other_cosine, abs=6e-4)
    assert rows["4 other features"][0] < rows["compatible ψ"][0] and abs(other_cosine) < 0.05
    (line,) = re.findall(r"relative error at ξ = (0\.0: .*)", text)
    mixed = [float(v) for v in re.findall(r"\d\.\d: (\d+\.\d+)", line)]
    assert len(mixed) == 11 and mixed[0] == 0.0 and min(mixed[1:]) > 0.0  # "zero only at ξ = 0"
    assert_frames(source, 11)
    assert_exercises_pass(source, text, 2)  # the weighted fit, and the tabular closed form w = A


# The natural policy gradient ---------------------------------------------------------------------------------


def test_natural_gradient_page(built_book):
    source, text = page_text(built_book, "natural-gradient")
    steps = checked_steps(text)
    assert len(steps) == 9 and max(steps) < 1e-8  # every identity of the page, to rounding
    (proximal,) = one(r"KL-proximal problem solved by BFGS vs the closed form: " + NUMBER, text)
    assert proximal < 1e-6  # "the closed form solves the proximal problem"
    # Σd on the episodic random MDP, in plain numpy: it is not 1/(1−γ)
    mdp = pg.examples.random_mdp(8, 4, gamma=0.9, seed=7, n_terminal=1)
    theta = np.random.default_rng(7).standard_normal((8, 4))  # TabularSoftmax(8, 4).init_params(seed=7)
    pi = np.exp(theta) / np.exp(theta).sum(1, keepdims=True)
    live = ~mdp.terminal
    P_pi = np.einsum("sa,sat->st", pi, mdp.P)[np.ix_(live, live)]
    d = np.linalg.solve((np.eye(live.sum()) - 0.9 * P_pi).T, mdp.initial[live])
    ((total, horizon),) = numbers(r"episodic: Σd = " + NUMBER + r", against 1/\(1−γ\) = " + NUMBER, text, 1)
    assert total == pytest.approx(d.sum(), abs=6e-4) and horizon == 10 and total < 0.9 * horizon
    distances = numbers(r"η = (\d+): largest distance to the greedy policy " + NUMBER, text, 3)
    assert [eta for eta, _ in distances] == [10, 100, 1000]
    assert distances[0][1] > distances[1][1] > distances[2][1] and distances[2][1] < 1e-10  # "becomes greedy"
    slope_pattern = r"(gradient|natural gradient): policies after one step differ by ∝ η\^" + NUMBER
    slopes = table(slope_pattern, text, 2)
    assert slopes["gradient"] == pytest.approx(1.0, abs=0.1)  # "slope 1"
    assert slopes["natural gradient"] == pytest.approx(2.0, abs=0.1)  # "slope 2"
    (length,) = one(r"expected episode length " + NUMBER + " steps", text)
    assert 13.5 <= length < 14.5  # "episodes of about 14 steps"
    (cosine,) = one(r"γᵗ dropped: cosine to the natural gradient " + NUMBER, text)
    assert cosine < 0.9  # "changes the direction"
    ascent = table(r"(natural gradient|γᵗ dropped): ascent per Fisher length, ∇J·Δθ / √\(ΔθᵀFΔθ\): " + NUMBER, text, 2)
    assert ascent["γᵗ dropped"] < ascent["natural gradient"]  # "ascends more slowly"
    assert_frames(source, 8)
    assert_exercises_pass(source, text, 4)


# Convergence with exact gradients ----------------------------------------------------------------------------


def plain_evaluate(P, R, pi, gamma, start):
    live = P.shape[0]
    P_pi = np.einsum("sa,sat->st", pi, P)
    V = np.linalg.solve(np.eye(live) - gamma * P_pi, (pi * R).sum(1))
    d = np.linalg.solve((np.eye(live) - gamma * P_pi).T, start)
    return V, d, R + gamma * P @ V - V[:, None]


def plain_iterations_to_half(n, gamma=0.9, n_actions=4, step=1.0, limit=3000, start="state 0", b=0.0, natural=False):
    """Exact tabular softmax PG (closed-form gradient d(s) π(a|s) A(s,a)) or NPG (π ← π e^{ηA/(1−γ)}) on the
    chain in plain numpy, ascending from ``start``, judged from state 0: the first iteration where J ≥ J*/2."""
    P, R = chain_arrays(n, n_actions)
    live = n - 1
    mu = np.eye(live)[0] if start == "state 0" else np.full(live, 1 / live)
    theta = np.zeros((live, n_actions))
    theta[:, 1] = -b
    for t in range(limit):
        pi = np.exp(theta) / np.exp(theta).sum(1, keepdims=True)
        V, d, A = plain_evaluate(P, R, pi, gamma, mu)
        if V[0] >= gamma ** (n - 2) / 2:
            return t
        theta += step * (A / (1 - gamma) if natural else d[:, None] * pi * A)
    raise AssertionError("did not reach J*/2")


def recorded(grid, t):
    return grid[grid >= t][0]


def test_convergence_page(built_book):
    source, text = page_text(built_book, "convergence")
    ((difference, lemma),) = numbers(r"J\(new\) − J\(old\) = " + NUMBER + "; lemma: " + NUMBER, text, 1)
    assert difference == lemma and max(checked_steps(text)) < 1e-10
    (z,) = one(r"z = " + NUMBER, text)
    assert abs(z) < 4.5  # unbiased sampled lemma; P(|z| > 4.5) = 6.8e-6 for a correct page (fixed seed)

    # gradient domination: the page's random policies, the gap recomputed in plain numpy, each line in order
    domination = numbers(r"(?:chain|random MDP): J\* − J = " + NUMBER + r" \(line 1: " + NUMBER + r"\) ≤ " + NUMBER
                         + " ≤ " + NUMBER + " = " + NUMBER + " ≤ " + NUMBER, text, 4)  # fmt: skip
    for gap, line1, greedy, mismatch, gradient, bound in domination:
        assert gap == line1 and gap <= greedy <= mismatch and mismatch == gradient and gradient <= bound
    chain_gap = []
    P, R = chain_arrays(5)
    for seed in (0, 1):
        pi = np.random.default_rng(seed).dirichlet(np.ones(4), size=5)[:4]
        V, _, _ = plain_evaluate(P, R, pi, 0.9, np.eye(4)[0])
        chain_gap.append(0.9**3 - V[0])
    printed_chain = [row[0] for row in numbers(r"chain: J\* − J = " + NUMBER, text, 2)]
    assert printed_chain == pytest.approx(chain_gap, abs=6e-5)

    # the plateau table, recomputed by plain numpy ascent on the page's recording grid
    rows = numbers(r"\n\s*(\d)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)(?=\s)", text, 6)
    lengths, pg_first, pg_uniform, npg_first, npg_uniform = (np.array(column) for column in zip(*rows, strict=True))
    assert list(lengths) == list(range(3, 9))
    grid = np.unique(np.r_[0, np.geomspace(1, 1500, 120).astype(int)])  # the page's recording grid
    for n in (4, 5, 6, 7):
        assert pg_first[n - 3] == recorded(grid, plain_iterations_to_half(n)), n
        assert pg_uniform[n - 3] == recorded(grid, plain_iterations_to_half(n, start="uniform")), n
    for n in range(3, 9):
        assert npg_first[n - 3] == plain_iterations_to_half(n, natural=True)  # every iteration recorded below 50
        assert npg_uniform[n - 3] == plain_iterations_to_half(n, natural=True, start="uniform")
    first_ratios = pg_first[-4:] / pg_first[-5:-1]
    uniform_ratios = pg_uniform[-4:] / pg_uniform[-5:-1]
    assert np.all((first_ratios > 2.5) & (first_ratios < 4))  # "roughly three"
    assert np.all(uniform_ratios < first_ratios) and np.all(np.diff(uniform_ratios) < 0)  # "falls"
    assert npg_first.max() <= 4 and npg_uniform.max() <= 4  # "a few iterations"
    printed = numbers(r"growth of the plateau from 4 to 5, 5 to 6, 6 to 7, 7 to 8 states: ×" + NUMBER + ", ×" + NUMBER
                      + ", ×" + NUMBER + ", ×" + NUMBER, text, 2)  # fmt: skip
    assert np.allclose(printed[0], first_ratios, atol=0.006) and np.allclose(printed[1], uniform_ratios, atol=0.006)

    # a bad θ₀ with the uniform start: c at θ₀ in closed form, the plateau by plain numpy ascent
    bad = numbers(r"\n\s*(\d)\s+(0\.\d{5})\s+(\d+)\s+" + NUMBER + r"(?=\s)", text, 5)
    longer = np.unique(np.r_[0, np.geomspace(1, 2500, 150).astype(int)])
    for b, c, t_half, product in bad:
        assert c == pytest.approx(np.exp(-b) / (np.exp(-b) + 3), abs=6e-6)  # the infimum is at θ₀ here
        assert t_half == recorded(longer, plain_iterations_to_half(5, start="uniform", b=b))
        assert product == pytest.approx(t_half * c, abs=0.06)
    ts = [t for _, _, t, _ in bad]
    assert ts == sorted(ts) and ts[-1] > 50 * ts[0]  # "the plateau grows as c shrinks"
    products = [p for *_, p in bad]
    assert max(products[2:]) / min(products[2:]) < 1.3  # "t × c grows only slowly"

    mismatch = numbers(r"(\d) states: ‖\(1−γ\)d\*/ν‖∞ = " + NUMBER + r", ‖d\*/ν‖∞ = " + NUMBER, text, 2)
    for n, normalised, unnormalised in mismatch:  # always right from state 0 visits state 0 once: d*(0) = 1
        assert unnormalised == pytest.approx(n - 1, abs=0.006) and normalised == pytest.approx(0.1 * (n - 1), abs=0.006)

    lojasiewicz = numbers(r"(?:chain|random MDP): ‖∇J‖ = " + NUMBER + " ≥ " + NUMBER + " ≥ " + NUMBER + " ≥ " + NUMBER
                          + " ≥ " + NUMBER + " ≥ " + NUMBER + r" \(π\*_min = " + NUMBER, text, 4)  # fmt: skip
    for *chained, c in lojasiewicz:
        assert all(a >= b for a, b in zip(chained, chained[1:], strict=False)) and 0 < c < 1
    # ‖∇J‖ on the chain by central differences of the plain J from the uniform start
    P, R = chain_arrays(5)
    for seed, row in zip((0, 1), lojasiewicz[:2], strict=True):
        logits = np.random.default_rng(seed).normal(size=(5, 4))[:4]

        def J(flat):
            z = np.exp(flat.reshape(4, 4))
            return float(np.full(4, 0.25) @ plain_evaluate(P, R, z / z.sum(1, keepdims=True), 0.9, np.eye(4)[0])[0])

        h = 1e-6
        grad = [(J(logits.ravel() + h * e) - J(logits.ravel() - h * e)) / (2 * h) for e in np.eye(16)]
        assert row[0] == pytest.approx(np.linalg.norm(grad), abs=6e-5)

    # the smoothness lemma, line by line: J'' along the page's random lines by second differences of the plain J,
    # a₁, a₂ and the four bounds in plain numpy
    smooth = numbers(r"(?:chain|random MDP): J″ = " + NUMBER + r" \(second differences " + NUMBER + r"\); y₁ = "
                     + NUMBER + " ≤ √Var = " + NUMBER + " ≤ 1, y₂ = " + NUMBER + r" ≤ 2; \|terms\| ≤ " + NUMBER + ", "
                     + NUMBER + ", " + NUMBER + ", " + NUMBER + "; sum " + NUMBER + r" ≤ 2/\(1−γ\)³ = " + NUMBER,
                     text, 4)  # fmt: skip
    base = pg.examples.random_mdp(6, 3, gamma=0.9, seed=8, n_terminal=1)
    live_r = ~base.terminal
    unit = ((base.R - base.R.min()) / np.ptp(base.R))[live_r]
    problems = {"chain": (*chain_arrays(5), 5), "random MDP": (base.P[np.ix_(live_r, np.arange(3), live_r)], unit, 6)}
    order = (("chain", 0), ("random MDP", 0), ("chain", 1), ("random MDP", 1))  # the page's loop
    for (curvature2, fd, a1, spread, a2, *bounds, total, constant), (name, seed) in zip(smooth, order, strict=True):
        P, R, n_all = problems[name]
        rng = np.random.default_rng(seed)
        theta = 3 * rng.standard_normal((n_all, P.shape[1]))
        u = rng.standard_normal(theta.shape)
        u /= np.linalg.norm(u)
        theta, u = theta[: P.shape[0]], u[: P.shape[0]]  # the terminal state's row is the last one in both
        start = np.full(P.shape[0], 1 / P.shape[0])

        def J_line(alpha, P=P, R=R, theta=theta, u=u, start=start):
            z = np.exp(theta + alpha * u)
            return float(start @ plain_evaluate(P, R, z / z.sum(1, keepdims=True), 0.9, start)[0])

        h = 1e-3
        plain = (J_line(h) - 2 * J_line(0) + J_line(-h)) / h**2
        assert curvature2 == pytest.approx(plain, abs=3e-6) and fd == pytest.approx(plain, abs=3e-6)
        pi = np.exp(theta) / np.exp(theta).sum(1, keepdims=True)
        centred = u - (pi * u).sum(1, keepdims=True)
        var = (pi * centred**2).sum(1)
        plain_a1 = np.abs(pi * centred).sum(1).max()
        plain_a2 = np.abs(pi * (centred**2 - var[:, None])).sum(1).max()
        assert a1 == pytest.approx(plain_a1, abs=6e-4) and a2 == pytest.approx(plain_a2, abs=6e-4)
        assert spread == pytest.approx(np.sqrt(var.max()), abs=6e-4) and a1 <= spread <= 1 and a2 <= 2
        k = 10.0
        plain_bounds = [2 * 0.81 * plain_a1**2 * k**3, 0.9 * plain_a2 * k**2, 1.8 * plain_a1**2 * k**2, plain_a2 * k]
        assert bounds == pytest.approx(plain_bounds, abs=0.06) and total == pytest.approx(sum(plain_bounds), abs=0.06)
        assert abs(plain) <= total <= constant == 2000

    # the curvature of J_ν on the chain: second differences of the plain J at the page's 20 random θ
    hessian_line = r"largest \|eigenvalue\| of the Hessian at 20 random θ: " + NUMBER + r"; 2/\(1−γ\)³ = " + NUMBER
    ((curvature, constant, mei),) = numbers(hessian_line + r", 8/\(1−γ\)³ = " + NUMBER, text, 1)
    assert constant == 2000 and mei == 8000 and curvature < 1
    P, R = chain_arrays(5)

    def J_uniform(flat):
        z = np.exp(flat.reshape(4, 4))
        return float(np.full(4, 0.25) @ plain_evaluate(P, R, z / z.sum(1, keepdims=True), 0.9, np.eye(4)[0])[0])

    largest, h = 0.0, 1e-4
    for seed in range(20):
        theta = 3.0 * np.random.default_rng(seed).standard_normal((5, 4))[:4].ravel()
        H = np.empty((16, 16))
        for i, j in np.ndindex(16, 16):
            ei, ej = h * np.eye(16)[i], h * np.eye(16)[j]
            H[i, j] = (J_uniform(theta + ei + ej) - J_uniform(theta + ei - ej) - J_uniform(theta - ei + ej)
                       + J_uniform(theta - ei - ej)) / (4 * h * h)  # fmt: skip
        largest = max(largest, np.abs(np.linalg.eigvalsh((H + H.T) / 2)).max())
    assert curvature == pytest.approx(largest, abs=2e-3)
    (slope,) = one(r"slope of log\(J\* − J\) against log t for t ≥ 500: " + NUMBER, text)
    assert slope == pytest.approx(-1.0, abs=0.05)  # "O(1/t)"

    npg_lines = numbers(r"(?:chain|random MDP), η = " + NUMBER + ": line 1 " + NUMBER + ", line 2 " + NUMBER
                        + r" \(equalities\); slack of line 3 ≥ " + NUMBER + ", line 4 ≥ " + NUMBER + ", theorem ≥ "
                        + NUMBER, text, 4)  # fmt: skip
    for _eta, line1, line2, slack3, slack4, slack5 in npg_lines:
        assert line1 < 1e-12 and line2 < 1e-12 and slack3 >= 0 and slack4 >= 0 and slack5 >= 0
    # the chain's gaps under the natural step, in plain numpy, against the theorem's right side
    P, R = chain_arrays(5, n_actions=4)
    for (printed_eta, *_, slack5), eta in zip(npg_lines[:2], (1.0, 0.01 * np.log(4)), strict=True):
        assert printed_eta == pytest.approx(eta, abs=6e-5)  # η = 1 and Agarwal et al.'s (1−γ)² log|A|
        pi, gaps = np.full((4, 4), 0.25), []
        for _ in range(41):
            V, _, A = plain_evaluate(P, R, pi, 0.9, np.eye(4)[0])
            gaps.append(0.9**3 - V[0])
            pi = pi * np.exp(eta * A / 0.1)
            pi /= pi.sum(1, keepdims=True)
        T = np.arange(1, 41)
        assert slack5 == pytest.approx(np.min(np.log(4) / (eta * T) + 100 / T - np.array(gaps[1:])), abs=6e-4)

    rate_pattern = (
        r"the gap shrinks by ×" + NUMBER + r" per iteration at t = 25; predicted e\^\(−η\|A\*\|_min/\(1−γ\)\) = "
    )
    ((rate, predicted, delta),) = numbers(rate_pattern + NUMBER + r" \(\|A\*\|_min = " + NUMBER, text, 1)
    assert delta == pytest.approx(0.9**2 * 0.1, abs=6e-4)  # state 0: V* − γV* = (1−γ)γ²
    assert predicted == pytest.approx(np.exp(-0.081 / 0.1), abs=6e-5) and rate == pytest.approx(predicted, abs=2e-4)
    ((npg_gap, pg_gap),) = numbers(r"J\* − J = " + NUMBER + r" after 20 iterations, against " + NUMBER, text, 1)
    assert npg_gap < 1e-6 < pg_gap  # far ahead of policy gradient
    # the exercise's bandits: the largest |eigenvalue| of the Hessian by second differences of the plain J
    ((largest_bandit,),) = numbers(r"largest \|eigenvalue\| over 2000 random bandits: " + NUMBER + " ≤ 2", text, 1)
    rng, h, eye, found = np.random.default_rng(0), 1e-4, np.eye(4), 0.0
    for p in rng.dirichlet(np.full(4, 0.3), size=2000):
        r, theta = rng.uniform(size=4), np.log(p)

        def J_bandit(t, r=r):
            z = np.exp(t - t.max())
            return float(z @ r / z.sum())

        H = [[(J_bandit(theta + h * (a + b)) - J_bandit(theta + h * (a - b)) - J_bandit(theta - h * (a - b))
               + J_bandit(theta - h * (a + b))) / (4 * h * h) for b in eye] for a in eye]  # fmt: skip
        found = max(found, np.abs(np.linalg.eigvalsh(np.array(H))).max())
    assert largest_bandit == pytest.approx(found, abs=2e-3) and largest_bandit <= 2
    assert_frames(source, 12)
    assert_exercises_pass(source, text, 2)
