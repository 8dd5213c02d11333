"""Part III's first chapters (compatible features, the natural gradient, convergence): every number the prose
states, read from the built pages and held to the claim, and where the claim is a value, to an independent
recomputation here (plain numpy, no pgbook oracle beyond the problem's arrays).

Every extraction fails when its pattern finds nothing.
"""

import re

import numpy as np
import pytest

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
    (line,) = re.findall(r"relative error at ν = (0\.0: .*)", text)
    mixed = [float(v) for v in re.findall(r"\d\.\d: (\d+\.\d+)", line)]
    assert len(mixed) == 11 and mixed[0] == 0.0 and min(mixed[1:]) > 0.0  # "zero only at ν = 0"
    assert_frames(source, 11)
    assert_exercises_pass(source, text, 1)


# The natural policy gradient ---------------------------------------------------------------------------------


def test_natural_gradient_page(built_book):
    source, text = page_text(built_book, "natural-gradient")
    steps = checked_steps(text)
    assert len(steps) == 7 and max(steps) < 1e-8  # every identity of the page, to rounding
    slope_pattern = r"(gradient|natural gradient): policies after one step differ by ∝ η\^" + NUMBER
    slopes = table(slope_pattern, text, 2)
    assert slopes["gradient"] == pytest.approx(1.0, abs=0.1)  # "slope 1"
    assert slopes["natural gradient"] == pytest.approx(2.0, abs=0.1)  # "slope 2"
    (length,) = one(r"expected episode length " + NUMBER + " steps", text)
    assert 13.5 <= length < 14.5  # "episodes of about 14 steps"
    (cosine,) = one(r"γᵗ dropped: cosine to the natural gradient " + NUMBER, text)
    assert cosine < 0.9  # "changes the direction"
    ascent = table(r"(natural gradient|γᵗ dropped): ascent per unit of KL, ∇J·δ / √\(δᵀFδ\): " + NUMBER, text, 2)
    assert ascent["γᵗ dropped"] < ascent["natural gradient"]  # "ascends more slowly"
    assert_frames(source, 8)
    assert_exercises_pass(source, text, 2)


# Convergence with exact gradients ----------------------------------------------------------------------------


def plain_iterations_to_half(n, gamma=0.9, n_actions=4, step=1.0, limit=2000):
    """Exact tabular softmax PG on the chain from state 0 in plain numpy, with the closed-form gradient
    d(s) π(a|s) A(s,a): the first iteration where J ≥ J*/2."""
    P = np.zeros((n, n_actions, n))
    P[:, :, 0] = 1.0
    P[:, 1, 0] = 0.0
    P[np.arange(n - 1), 1, np.arange(1, n)] = 1.0
    R = np.zeros((n, n_actions))
    R[n - 2, 1] = 1.0
    live = n - 1
    P, R = P[:live, :, :live], R[:live]  # the terminal state: value 0, never visited
    theta = np.zeros((live, n_actions))
    for t in range(limit):
        pi = np.exp(theta) / np.exp(theta).sum(1, keepdims=True)
        P_pi = np.einsum("sa,sat->st", pi, P)
        V = np.linalg.solve(np.eye(live) - gamma * P_pi, (pi * R).sum(1))
        if V[0] >= gamma ** (n - 2) / 2:
            return t
        d = np.linalg.solve((np.eye(live) - gamma * P_pi).T, np.eye(live)[0])
        A = R + gamma * P @ V - V[:, None]
        theta += step * d[:, None] * pi * A
    raise AssertionError("did not reach J*/2")


def test_convergence_page(built_book):
    source, text = page_text(built_book, "convergence")
    ((difference, lemma),) = numbers(r"J\(new\) − J\(old\) = " + NUMBER + "; lemma: " + NUMBER, text, 1)
    assert difference == lemma and max(checked_steps(text)) < 1e-10
    (z,) = one(r"z = " + NUMBER, text)
    assert abs(z) < 4.5  # unbiased sampled lemma; P(|z| > 4.5) = 6.8e-6 for a correct page (fixed seed)
    rows = numbers(r"\n\s*(\d)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)(?=\s)", text, 6)
    lengths, pg_first, pg_uniform, npg_first, npg_uniform = (np.array(column) for column in zip(*rows, strict=True))
    assert list(lengths) == list(range(3, 9))
    record = np.unique(np.r_[0, np.geomspace(1, 1500, 120).astype(int)])  # the page's recording grid
    for n in (5, 6, 7):
        first_recorded = record[record >= plain_iterations_to_half(n)][0]
        assert pg_first[n - 3] == first_recorded, n
    first_ratios = pg_first[-3:] / pg_first[-4:-1]
    uniform_ratios = pg_uniform[-3:] / pg_uniform[-4:-1]
    assert np.all(first_ratios > 3)  # "multiplies the plateau by more than three"
    assert np.all(uniform_ratios < first_ratios) and np.all(np.diff(uniform_ratios) < 0)  # "falls"
    assert npg_first.max() <= 4 and npg_uniform.max() <= 4  # "a few iterations"
    printed = numbers(r"growth of the plateau from 5 to 6, 6 to 7, 7 to 8 states: ×" + NUMBER + ", ×" + NUMBER + ", ×"
                   + NUMBER, text, 2)  # fmt: skip
    assert np.allclose(printed[0], first_ratios, atol=0.006) and np.allclose(printed[1], uniform_ratios, atol=0.006)
    mismatch = dict(numbers(r"n = (\d): ‖d\*/ρ‖∞ = " + NUMBER, text, 2))
    for n, value in mismatch.items():  # normalised visitation of "always right" at state 0, over ρ = 1/(n−1)
        assert value == pytest.approx((n - 1) * 0.1 / (1 - 0.9 ** (n - 1)), abs=0.006)
    (slope,) = one(r"slope of log\(J\* − J\) against log t for t ≥ 500: " + NUMBER, text)
    assert slope == pytest.approx(-1.0, abs=0.05)  # "O(1/t)"
    ((rate, npg_gap, pg_gap),) = numbers(
        r"the gap shrinks by ×" + NUMBER + r" per iteration; J\* − J = " + NUMBER + r" after 50 iterations, against "
        + NUMBER, text, 1)  # fmt: skip
    assert rate < 0.9 and npg_gap < pg_gap  # linear, and far ahead of policy gradient
    assert_frames(source, 12)
    assert_exercises_pass(source, text, 1)
