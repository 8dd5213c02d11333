"""Part III pages (deterministic policy gradient, is it a gradient?, surrogate objectives) and the REINFORCE
chapter's "names the bug" section: every claim in the prose is held by what the page printed, and the
numbers are recomputed here by independent means where the page does not already compare with an oracle.

Every pattern must match: a page whose output changed shape fails here rather than passing vacuously.
"""

import re

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import pgbook as pg
from pgbook import lqr
from pgbook.update_field import coordination_counterexample, expected_update

from pages import NUMBER, numbers, one, page_text

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("book")]


@pytest.mark.parametrize("name", ["deterministic-policy-gradient", "is-it-a-gradient"])
def test_pages_ran_and_have_their_parts(built_book, name):
    source, text = page_text(built_book, name)
    assert "Traceback" not in text and not re.search(r"\b\w+Error:", text)
    assert "Correct." in text and "Not yet." not in text  # the exercises' solutions pass their checks
    folded = [m.start() for m in re.finditer(r'<div class="solution dropdown admonition"', source)]
    assert len(folded) == 2  # two exercises, each solution folded and passing its check
    for start in folded:
        assert "Correct." in source[start : source.index("</section>", start)]
    assert "tag_hide-input" in source  # the long plotting cells are folded
    figures = re.findall(r'<div class="pgbook-frames" id="(pgbook-[0-9a-f]+)">(.*?)</div>', source, re.S)
    assert len(figures) == 1 and int(re.search(r'type="range" min="0" max="(\d+)"', figures[0][1])[1]) + 1 >= 8
    assert re.search(r'<img [^>]*src="[^"]*_images/[^"]+\.png"', source), "the page's static figure is missing"


def test_deterministic_policy_gradient_page(built_book):
    _, text = page_text(built_book, "deterministic-policy-gradient")
    (q, rollout) = one(rf"Q_K\(x, a\) = {NUMBER}, rollout: {NUMBER}", text)
    assert q == pytest.approx(rollout, abs=2e-10)
    (relative,) = one(rf"largest relative difference: {NUMBER}", text)
    assert relative < 1e-7
    # with process noise: against central differences of a cost summed forward here (no value matrix)
    (noisy_relative,) = one(rf"with process noise: .*? largest relative difference {NUMBER}", text)
    assert noisy_relative < 1e-7
    noise, gain = np.array([[0.3, 0.1], [0.1, 0.2]]), np.array([[0.3, 0.8]])
    system = lqr.LinearQuadratic(
        [[1.0, 0.2], [0.0, 0.9]], [[0.0], [1.0]], np.eye(2), [[0.5]], [[0.5, 0.1], [0.1, 0.3]], gamma=0.9
    )

    def forward_cost(k):
        moment, total = system.initial_covariance.copy(), 0.0
        for t in range(1_500):
            total += 0.9**t * np.trace((system.Q + k.T @ system.R @ k) @ moment)
            moment = (system.A - system.B @ k) @ moment @ (system.A - system.B @ k).T + noise
        return total

    printed = numbers(rf"with process noise: DPG \[\[ *{NUMBER} +{NUMBER}\]\]", text, count=1)[0]
    np.testing.assert_allclose(printed, pg.finite_difference(forward_cost, gain).ravel(), rtol=1e-6, atol=1e-8)
    # the σ² law: recompute each printed gap independently, by finite differences of the exact cost
    system = lqr.LinearQuadratic(
        [[1.0, 0.2], [0.0, 0.9]], [[0.0], [1.0]], np.eye(2), [[0.5]], [[0.5, 0.1], [0.1, 0.3]], gamma=0.9
    )
    gain = np.array([[0.3, 0.8]])
    deterministic = pg.finite_difference(lambda k: lqr.cost(system, k, noise_std=0.0), gain)
    rows = numbers(rf"σ = +{NUMBER}: ‖∇C_σ − ∇C_DPG‖ = {NUMBER}, divided by σ²: {NUMBER}", text, count=6)
    for sigma, gap, ratio in rows:
        gaussian = pg.finite_difference(lambda k, s=sigma: lqr.cost(system, k, noise_std=s), gain)
        assert gap == pytest.approx(np.linalg.norm(gaussian - deterministic), rel=1e-3, abs=1e-6)
        assert ratio == pytest.approx(rows[0][2], rel=1e-5)  # "exactly proportional to σ²"
    (gap_constant,) = one(rf"‖gap‖ = {NUMBER}", text)  # the exercise's constant is the printed ratio
    assert gap_constant == pytest.approx(rows[0][2], abs=2e-6)
    (slope,) = one(rf"log-log slope: {NUMBER}", text)
    assert slope == pytest.approx(2.0, abs=1e-5)
    (episode_gap,) = one(rf"largest per-episode difference: {NUMBER}", text)
    assert episode_gap < 1e-9  # "agree episode by episode"
    (z, threshold) = one(rf"max \|z\| against the theorem = {NUMBER} \(threshold {NUMBER}", text)
    assert z < threshold
    # the compatible critic (Theorem 3 of Silver et al.): a poor fit of ∇_a Q, yet the exact gradient along D₁
    (misfit,) = one(rf"compatible critic: relative error of ∇_a Q {NUMBER}", text)
    (along, differences) = one(rf"its gradient along D₁ {NUMBER}, finite differences {NUMBER}", text)
    assert misfit > 0.5  # "its error stays large"
    assert along == pytest.approx(deterministic[0, 1], rel=1e-7) and differences == pytest.approx(along, rel=1e-7)


def test_is_it_a_gradient_page(built_book):
    _, text = page_text(built_book, "is-it-a-gradient")
    (difference,) = one(rf"field vs the sum over time steps: largest difference {NUMBER}", text)
    assert difference < 1e-10
    (z, threshold) = one(rf"Monte Carlo \(50,000 episodes\): max \|z\| = {NUMBER} \(threshold {NUMBER}", text)
    assert z < threshold
    (autodiff_vs_fd,) = one(rf"autodiff vs finite differences, largest difference {NUMBER}", text)
    assert autodiff_vs_fd < 1e-7
    (asymmetry,) = one(rf"Jacobian ∇U of U: max \|∇U − ∇Uᵀ\| / max \|∇U\| = {NUMBER}", text)
    (hessian_asymmetry,) = one(rf"Hessian ∇²J of J: max \|∇²J − ∇²Jᵀ\| / max \|∇²J\| = {NUMBER}", text)
    assert asymmetry > 0.05 and hessian_asymmetry < 1e-6  # "far from zero" / "symmetric"
    (loop_u, loop_j) = one(rf"∮ U·dθ = {NUMBER}, ∮ ∇J·dθ = {NUMBER}", text)
    assert abs(loop_u) > 1e-3 and abs(loop_j) < 1e-10
    # the angle table, recomputed here from the finite-horizon sum of the mistake catalogue and autodiff
    policy = pg.TabularSoftmax(4, 2)
    theta = policy.init_params(seed=0)
    rows = numbers(rf"γ = {NUMBER}: angle\(U, ∇J\) = +{NUMBER}°", text, count=8)
    for gamma, angle in rows:
        mdp = pg.examples.random_mdp(4, 2, gamma=gamma, seed=0, n_terminal=1)
        u, g = expected_update(mdp, policy, theta), pg.autodiff_gradient(mdp, policy, theta)
        assert angle == pytest.approx(
            np.degrees(np.arccos(min(1.0, u.ravel() @ g.ravel() / np.linalg.norm(u) / np.linalg.norm(g)))), abs=0.01
        )
    assert rows[-1] == (1.0, 0.0) and all(
        a > b for (_, a), (_, b) in zip(rows, rows[1:], strict=False)
    )  # shrinks as γ → 1
    # which update is closer to ∇J₁: both biases shrink as γ → 1 (U by the time-step sum, not expected_update)
    gradient_1 = pg.autodiff_gradient(pg.examples.random_mdp(4, 2, gamma=1.0, seed=0, n_terminal=1), policy, theta)
    biases = numbers(rf"random MDP, γ = {NUMBER}: ‖U − ∇J₁‖/‖∇J₁‖ = {NUMBER}, ‖∇J_γ − ∇J₁‖/‖∇J₁‖ = {NUMBER}", text, 4)
    for gamma, u_error, discounted_error in biases:
        mdp = pg.examples.random_mdp(4, 2, gamma=gamma, seed=0, n_terminal=1)
        u = pg.mistakes.expected_gradient(
            mdp, policy, theta, 3_000, [pg.mistakes.mistake("discount weights γᵗ dropped")]
        )
        g = pg.autodiff_gradient(mdp, policy, theta)
        scale = np.linalg.norm(gradient_1)
        assert u_error == pytest.approx(np.linalg.norm(u - gradient_1) / scale, abs=2e-4)
        assert discounted_error == pytest.approx(np.linalg.norm(g - gradient_1) / scale, abs=2e-4)
    assert [row[1] for row in biases] == sorted((row[1] for row in biases), reverse=True)
    # "the update without γᵗ is closer at γ = 0.5 and the one with it at γ ≥ 0.9"
    assert biases[0][0] == 0.5 and biases[0][1] < biases[0][2]
    assert all(gamma >= 0.9 and u_error > discounted_error for gamma, u_error, discounted_error in biases[1:])
    # the counterexample, against its closed forms at γ = 0.5
    gamma = 0.5
    for p, j, _, u, _ in numbers(rf"p = {NUMBER}: J_γ = {NUMBER} \(closed form {NUMBER}\), U = {NUMBER} \(closed "
                                 rf"form {NUMBER}\)", text, 2):  # fmt: skip
        q = 1 - p
        assert j == pytest.approx(gamma**2 * (1 - p * q), abs=1e-6)
        assert u == pytest.approx((gamma**2 + gamma - 1) * p * q * (2 * p - 1), abs=1e-6)
    # "near p = 1/2, U ≈ (γ² + γ − 1) θ/8: at γ = 1/2 the logit decays like e^{−t/32}"; the slope of U at θ = 0
    # by hand: p(1 − p)(2p − 1) = tanh(θ/2)/(4 cosh²(θ/2)), whose derivative at 0 is 1/8
    (slope, slope_closed) = one(rf"near p = 1/2: U/θ = {NUMBER} \(closed form \(γ² \+ γ − 1\)/8 = {NUMBER}\)", text)
    assert slope == pytest.approx(-1 / 32, abs=2e-6) and slope_closed == pytest.approx(-1 / 32, abs=1e-6)
    ends = numbers(rf"J(?:_γ|₁) *: at the end of the flow {NUMBER}; smallest on the grid {NUMBER}, largest "
                   rf"\(p = 0 or 1\) {NUMBER}", text, 2)  # fmt: skip
    for scale, (final, smallest, largest) in zip((gamma**2, 1.0), ends, strict=True):
        grid = np.linspace(0.01, 0.99, 99)
        assert final == pytest.approx(0.75 * scale, abs=1e-6)  # 1 − 1/4 at p = 1/2: the worst of the class
        assert smallest == pytest.approx(min(scale * (1 - grid * (1 - grid))), abs=1e-6)
        assert largest == pytest.approx(scale, abs=1e-6)
    (p_end,) = one(rf"following U from p = 0.9 for t = 1000: p = {NUMBER}", text)
    (p_ascent,) = one(rf"following ∇J_γ instead: p = {NUMBER}", text)
    assert p_end == pytest.approx(0.5, abs=1e-6) and p_ascent > 0.99
    loops = numbers(rf"(?:update|gradient): path from θ = \[1\. 3\.\]\s+to \[ *{NUMBER} +{NUMBER}\]\s+work {NUMBER}, "
                    rf"chord back {NUMBER}\s+loop {NUMBER}", text, 2)  # fmt: skip
    (*_, update_work, update_back, update_loop), (*_, gradient_work, gradient_back, gradient_loop) = loops
    assert abs(update_loop) > 1e-2 and abs(gradient_loop) < 1e-9
    assert update_work + update_back == pytest.approx(update_loop, abs=1e-5)
    mdp, two = coordination_counterexample(gamma, n_params=2)
    rise = pg.exact_objective(mdp, two, np.array(loops[1][:2])) - pg.exact_objective(mdp, two, np.array([1.0, 3.0]))
    assert gradient_work == pytest.approx(rise, abs=1e-5)  # the work along ∇J is the rise of J

    # the path along U, integrated here from U's closed form worked by hand (no library call):
    # U₀ = (γ² + γ) pq (p(1 + q̃) − q(1 + p̃)), U₁ = p̃q̃ (q² − p²), p = σ(θ₀), p̃ = σ(θ₁)
    def closed_form_field(theta):
        p, p_de = 1 / (1 + np.exp(-theta[0])), 1 / (1 + np.exp(-theta[1]))
        q, q_de = 1 - p, 1 - p_de
        return np.array([(gamma**2 + gamma) * p * q * (p * (1 + q_de) - q * (1 + p_de)), p_de * q_de * (q**2 - p**2)])

    def right_side(_, state):
        velocity = closed_form_field(state[:2])
        return np.append(velocity, velocity @ velocity)

    path = solve_ivp(right_side, (0.0, 40.0), [1.0, 3.0, 0.0], rtol=1e-10, atol=1e-12).y[:, -1]
    np.testing.assert_allclose(loops[0][:2], path[:2], atol=1.5e-3)  # printed to 3 decimals
    assert update_work == pytest.approx(path[2], abs=2e-6)
    nodes, weights = np.polynomial.legendre.leggauss(40)
    chord = np.array([1.0, 3.0]) - path[:2]
    back = sum(
        w / 2 * closed_form_field(path[:2] + (x + 1) / 2 * chord) @ chord for x, w in zip(nodes, weights, strict=True)
    )
    assert update_back == pytest.approx(back, abs=2e-6) and update_loop == pytest.approx(path[2] + back, abs=1e-5)
    (curl,) = one(rf"curl ∂U₁/∂θ₀ − ∂U₀/∂θ₁ at θ = 0: {NUMBER}", text)
    step = 1e-5
    d1_by_d0 = (expected_update(mdp, two, [step, 0.0])[1] - expected_update(mdp, two, [-step, 0.0])[1]) / (2 * step)
    d0_by_d1 = (expected_update(mdp, two, [0.0, step])[0] - expected_update(mdp, two, [0.0, -step])[0]) / (2 * step)
    by_differences = d1_by_d0 - d0_by_d1
    assert curl == pytest.approx(by_differences, abs=1e-6) and abs(curl) > 0.05
    # and against the closed form worked by hand (the curl exercise): (γ² + γ − 2) pq p̃q̃, 1/16 at θ = 0
    assert curl == pytest.approx((gamma**2 + gamma - 2) / 16, abs=1e-6)


def plain_surrogate_problem():
    """The page's episodic random MDP and θ_old, and its exact quantities, in plain numpy."""
    mdp = pg.examples.random_mdp(5, 3, gamma=0.9, seed=2, n_terminal=1)
    theta = np.random.default_rng(3).standard_normal((5, 3))  # TabularSoftmax(5, 3).init_params(seed=3)
    return mdp, theta


def plain_exact(mdp, pi, gamma=None):
    gamma = mdp.gamma if gamma is None else gamma
    live = ~mdp.terminal
    P_pi = np.einsum("sa,sat->st", pi, mdp.P) * live[:, None] * live[None, :]
    inverse = np.linalg.inv(np.eye(mdp.n_states) - gamma * P_pi)
    V = inverse @ ((pi * mdp.R).sum(1) * live)
    return V, (mdp.initial * live) @ inverse, mdp.R + gamma * mdp.P @ V - V[:, None]


def softmax(theta):
    z = np.exp(theta - theta.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def test_surrogate_objectives_page(built_book):
    source, text = page_text(built_book, "surrogate-objectives")
    assert "Traceback" not in text and not re.search(r"\b\w+Error:", text)
    assert "tag_hide-input" in source  # the long plotting cells are folded
    figures = re.findall(r'<div class="pgbook-frames" id="(pgbook-[0-9a-f]+)">(.*?)</div>', source, re.S)
    assert len(figures) == 1 and int(re.search(r'type="range" min="0" max="(\d+)"', figures[0][1])[1]) + 1 >= 8
    assert re.search(r'<img [^>]*src="[^"]*_images/[^"]+\.png"', source), "the page's static figure is missing"
    folded = [m.start() for m in re.finditer(r'<div class="solution dropdown admonition"', source)]
    assert len(folded) >= 1 and all("Correct." in source[f : source.index("</section>", f)] for f in folded)
    # the clipped-gradient exercise: a clipped action's logit still moves (finite differences of the plain sum)
    ((clipped_component,),) = numbers(r"∂/∂θ\(0\) = " + NUMBER + " for the clipped action 0", text, 1)
    pi_old, advantage = np.array([0.5, 0.3, 0.2]), np.array([-1.0, 1.0, -0.5])

    def clipped_sum(t):
        rho = np.exp(t) / np.exp(t).sum() / pi_old
        return float(np.sum(pi_old * np.minimum(rho * advantage, np.clip(rho, 0.8, 1.2) * advantage)))

    at = np.log([0.25, 0.30, 0.45])
    step = 1e-6 * np.eye(3)[0]
    assert clipped_component == pytest.approx((clipped_sum(at + step) - clipped_sum(at - step)) / 2e-6, abs=6e-5)
    assert clipped_component < 0
    assert "Not yet." not in text

    (threshold,) = one(rf"z-score threshold {NUMBER}", text)
    rows = numbers(
        rf"step {NUMBER} \(max KL {NUMBER}\), (?:per-decision|whole episode) *: max \|z\| = {NUMBER}, κ = +{NUMBER}",
        text,
        count=6,
    )
    assert all(z < threshold for _, _, z, _ in rows)  # "both stay unbiased"
    per_decision, whole = rows[0::2], rows[1::2]
    assert per_decision[-1][3] > per_decision[0][3] and whole[-1][3] > whole[0][3]  # κ grows with distance
    assert whole[-1][3] > per_decision[-1][3]  # faster for whole-episode weights
    (at_old,) = one(rf"∇L\(θ_old\) vs autodiff ∇J\(θ_old\): largest difference {NUMBER}", text)
    assert at_old < 1e-12
    (lemma, difference) = one(rf"performance difference: lemma {NUMBER}, J\(θ\) − J\(θ_old\) {NUMBER}", text)
    assert lemma == pytest.approx(difference, abs=1e-11)

    # the trap: J(p) = 0.5 + 0.5p − 2.7p², L linear in p with slope 0.5 − 5.4 p_old (closed forms)
    def J(p):
        return 0.5 + 0.5 * p - 2.7 * p**2

    def L(p):
        return J(0.05) + (p - 0.05) * (0.5 - 5.4 * 0.05)

    def p_at(shift):
        return 1 / (1 + np.exp(-(np.log(0.05 / 0.95) + shift)))

    trap = numbers(rf"\n\s*(\d\.\d)\s+(0\.\d{{4}})\s+{NUMBER}\s+{NUMBER}(?=\s)", text, 6)
    for shift, p, j, l_value in trap:
        assert p == pytest.approx(p_at(shift), abs=6e-5)
        assert j == pytest.approx(J(p_at(shift)), abs=6e-5) and l_value == pytest.approx(L(p_at(shift)), abs=6e-5)
    assert trap[1][2] > trap[0][2] and trap[-1][2] < trap[0][2] < trap[-1][3]  # short step up, long step down

    lines = numbers(
        rf"(?:trap|random MDP): line 1 J − L = {NUMBER} \(lemma gap {NUMBER}\); line 2 {NUMBER}; \|J − L\| ≤ "
        rf"{NUMBER} \(line 3\) ≤ {NUMBER} \(line 4\) ≤ {NUMBER} \(line 6\); ‖ā‖∞ = {NUMBER} ≤ {NUMBER} \(line 5\)",
        text,
        count=2,
    )
    for gap, lemma_gap, identity, holder, mean_tv, penalty, sup, sup_bound in lines:
        assert lemma_gap < 1e-12 and identity < 1e-12
        assert abs(gap) <= holder <= mean_tv <= penalty and sup <= sup_bound
    assert lines[0][0] == pytest.approx(J(p_at(4.0)) - L(p_at(4.0)), rel=1e-3)  # L overestimates J
    assert "bound ≤ J at every point of the line: True" in text
    ((best, end_gap),) = numbers(rf"J is largest at Δθ = {NUMBER}; L_old still rises at the end of the line: "
                                 rf"L − J = {NUMBER}", text, 1)  # fmt: skip
    grid = np.linspace(0.0, 6.0, 61)
    assert best == pytest.approx(grid[np.argmax(J(p_at(grid)))]) and 0.5 < best < 1.0
    assert end_gap == pytest.approx(L(p_at(6.0)) - J(p_at(6.0)), abs=6e-4)

    # TRPO: the CG step against the natural gradient, ½ΔθᵀF̄Δθ = KL_max; on the trap Δθ = √(2KL_max/(p(1−p))) in
    # closed form, and the line search (halve until the exact KL ≤ KL_max and L rises) on the closed forms
    for max_kl, gap, quadratic in numbers(rf"KL_max = {NUMBER}: CG with Fisher-vector products vs "
                                          rf"√\(2KL_max/gᵀF⁺g\)·F⁺g: largest difference {NUMBER}; "
                                          rf"½ΔθᵀF̄Δθ = {NUMBER}", text, 2):  # fmt: skip
        assert gap < 1e-10 and quadratic == pytest.approx(max_kl, abs=6e-5)
    (by_pinv,) = one(rf"pg.natural_gradient vs pinv\(F̄\) g: largest difference {NUMBER}", text)
    assert by_pinv < 1e-10  # the closed form (no Fisher matrix) against the formed F̄'s pseudo-inverse

    def kl_at(p):
        return 0.05 * np.log(0.05 / p) + 0.95 * np.log(0.95 / (1 - p))

    trpo = numbers(rf"trap, KL_max = {NUMBER}: full step: exact mean KL {NUMBER}, L − J_old = {NUMBER}, "
                   rf"J − J_old = {NUMBER}", text, 4)  # fmt: skip
    searched = numbers(rf"line search: step × {NUMBER}, exact mean KL {NUMBER}, J − J_old = {NUMBER}", text, 4)
    for (max_kl, kl, l_gain, j_gain), (fraction, kl_after, j_after) in zip(trpo, searched, strict=True):
        step = np.sqrt(2 * max_kl / (0.05 * 0.95))
        p = p_at(step)
        assert j_gain == pytest.approx(J(p) - J(0.05), abs=6e-5) and l_gain == pytest.approx(L(p) - J(0.05), abs=6e-5)
        assert kl == pytest.approx(kl_at(p), abs=6e-5) and kl > max_kl  # the quadratic model undershoots the KL
        expected = 1.0
        while not (kl_at(p_at(expected * step)) <= max_kl and L(p_at(expected * step)) > J(0.05)):
            expected /= 2
        assert fraction == expected and kl_after == pytest.approx(kl_at(p_at(expected * step)), abs=6e-5)
        assert j_after == pytest.approx(J(p_at(expected * step)) - J(0.05), abs=6e-5)
    assert trpo[0][3] > 0 and trpo[1][3] > 0 and trpo[2][3] < 0  # a small radius improves J, a large one lowers it
    assert all(later[2] > earlier[2] for earlier, later in zip(trpo, trpo[1:], strict=False))  # while L rises
    assert searched[2][2] > 0 > searched[3][2]  # "rescues the step of radius 0.1, not the step of radius 1"

    at_old_rows = numbers(rf"ε_clip = [\d.]+: ∇L_CLIP\(θ_old\) vs ∇J\(θ_old\), largest difference {NUMBER}", text, 3)
    for (gap,) in at_old_rows:
        assert gap < 1e-12

    # the long PPO loop: the first 150 steps recomputed in plain numpy (closed-form clipped gradient)
    long_rows = numbers(rf"\n\s*(\d+)\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}(?=\s)", text, 5)
    assert [row[0] for row in long_rows] == [0, 10, 150, 1500, 6000]
    mdp, theta_old = plain_surrogate_problem()
    old_pi = softmax(theta_old)
    _, d_old, adv = plain_exact(mdp, old_pi)
    d_bar = d_old / d_old.sum()
    theta, checked, stop = theta_old.copy(), {}, {}
    for k in range(151):
        pi = softmax(theta)
        ratio = pi / old_pi
        kl = float(d_bar @ np.sum(old_pi * np.log(old_pi / pi), axis=1))
        for target in (0.01, 0.02):
            if target not in stop and kl > 1.5 * target:
                stop[target] = k
        if k in (10, 150):
            visited = d_bar > 0
            checked[k] = (kl, ratio[visited].min(), ratio[visited].max())
        active = ~(((adv > 0) & (ratio > 1.2)) | ((adv < 0) & (ratio < 0.8)))
        weights = d_old[:, None] * old_pi * adv * ratio * active
        clipped_grad = weights - pi * weights.sum(axis=1, keepdims=True)
        if k == 150:  # the angle between ∇L_CLIP and ∇J = d π A at θ (tabular softmax), in degrees
            _, d_now, adv_now = plain_exact(mdp, pi)
            true = d_now[:, None] * pi * adv_now
            cosine = np.sum(clipped_grad * true) / np.linalg.norm(clipped_grad) / np.linalg.norm(true)
            angle_150 = np.degrees(np.arccos(cosine))
        theta = theta + 0.25 * clipped_grad
    for step, kl, low, high, _, _ in long_rows[1:3]:
        assert (kl, low, high) == pytest.approx(checked[step], abs=6e-4)
    kls = [row[1] for row in long_rows]
    lows = [row[2] for row in long_rows]
    highs = [row[3] for row in long_rows]
    assert kls == sorted(kls) and lows == sorted(lows, reverse=True) and lows[-1] < 0.1  # "keeps falling"
    assert highs[1] > 1.2 and max(highs[1:]) - min(highs[1:]) < 1e-3  # "the largest ratio stops"
    stops = dict(numbers(rf"target_kl = {NUMBER}: the loop stops after {NUMBER} steps", text, 2))
    assert stops == {0.01: stop[0.01], 0.02: stop[0.02]}
    # the unclippable term: A > 0 and π_old > 1/(1 + ε_clip), so ρ ≤ 1/π_old never reaches 1.2 (plain numpy)
    free_pattern = (
        rf"state (\d), action (\d): A > 0, π_old = {NUMBER}, ρ ≤ 1/π_old = {NUMBER} < 1 \+ ε_clip; "
        rf"after 6000 steps the ratios in state \d are \[{NUMBER} +{NUMBER} +{NUMBER}\]"
    )
    free = numbers(free_pattern, text, 1)
    expected = [(s, a) for s, a in zip(*np.nonzero((adv > 0) & (old_pi > 1 / 1.2)), strict=True) if d_old[s] > 0]
    assert [(int(row[0]), int(row[1])) for row in free] == expected
    for s, a, p_old, cap, *final in free:
        s, a = int(s), int(a)
        assert p_old == pytest.approx(old_pi[s, a], abs=6e-5) and cap == pytest.approx(1 / old_pi[s, a], abs=6e-5)
        assert cap < 1.2 and final[a] <= cap + 6e-4  # never clipped, ...
        assert all(r < 0.8 for b, r in enumerate(final) if b != a)  # ... while the others fell past 1 − ε_clip

    drift = numbers(
        rf"ε_clip = {NUMBER}: after 150 steps mean KL = {NUMBER}, relative bias {NUMBER}, angle {NUMBER}°; "
        rf"first step: bias {NUMBER}",
        text,
        count=8,
    )
    assert all(first < 1e-12 and final > 0.9 for _, _, final, _, first in drift)  # 0 at θ_old, ~1 once clipped
    assert all(75 <= angle <= 85 for *_, angle, _ in drift)  # "at 75° to 85° from ∇J"
    (angle_02,) = [angle for epsilon, _, _, angle, _ in drift if epsilon == 0.2]
    assert angle_02 == pytest.approx(angle_150, abs=0.6)  # against the plain-numpy loop above
    kls = [kl for _, kl, _, _, _ in drift]
    assert kls == sorted(kls)  # "a wider clip range lets the policy travel further"

    # PPO as practised: U = Σ d₁ Σ_a Q ∇π, cos(u, ∇J) and the length ratio in plain numpy
    (practised,) = one(rf"PPO as practised, ∇L_CLIP\(θ_old\) vs U: largest difference {NUMBER}", text)
    assert practised < 1e-12
    ((cosine, ratio),) = numbers(rf"cos\(U, ∇J\) = {NUMBER}, ‖U‖/‖∇J‖ = {NUMBER}", text, 1)
    _, d_one, _ = plain_exact(mdp, old_pi, gamma=1.0)
    field = d_one[:, None] * old_pi * adv
    gradient = d_old[:, None] * old_pi * adv
    assert cosine == pytest.approx(
        np.sum(field * gradient) / np.linalg.norm(field) / np.linalg.norm(gradient), abs=6e-5
    )
    assert ratio == pytest.approx(np.linalg.norm(field) / np.linalg.norm(gradient), abs=6e-4) and ratio > 1.1

    (pseudo,) = one(rf"−∇\(pseudo-loss\) vs reward-to-go: largest difference {NUMBER}", text)
    assert pseudo < 1e-12
    (loss, minus_j) = one(rf"pseudo-loss value {NUMBER}; −J\(θ_old\) = {NUMBER}", text)
    assert abs(loss - minus_j) > 0.1  # "it is not −J"


def test_reinforce_page_names_the_bug(built_book):
    _, text = page_text(built_book, "reinforce")
    assert "passed: False" in text
    match = re.search(
        r"looks like: discount weights γᵗ dropped \+ loss averaged over all steps, not over episodes — "
        rf"matches within {NUMBER} SE on every problem",
        text,
    )
    assert match, "the REINFORCE page does not show the diagnosis of the tutorial estimator"
    assert "∇J up to a positive factor on every problem" in text  # the doubled gradient: a factor, not a direction
    assert "looks like: the direction of ∇J, times a factor that no catalogued scale mistake explains" in text
    for known in pg.mistakes.CATALOGUE:  # the catalogue is listed
        assert known.name in text
