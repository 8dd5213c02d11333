"""The off-policy chapter: every number it prints, read from the built page and recomputed here by means that
share no code with :mod:`pgbook.off_policy` — episodes enumerated by a plain recursion with the softmax's
closed-form score, the excursion objective's finite differences, the counterexample's closed forms, LQR costs
summed forward in time.

Every pattern must match: a page whose output changed shape fails here rather than passing vacuously.
"""

import functools
import math
import re

import numpy as np
import pytest
from scipy.stats import norm

import pgbook as pg
from pgbook import lqr
from pgbook.deterministic import lqr_action_value
from pgbook.trajectories import layered_mdp

from pages import NUMBER, numbers, one, page_text

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("book")]
PAGE = "off-policy"


def test_page_ran_and_has_its_parts(built_book):
    source, text = page_text(built_book, PAGE)
    assert "Traceback" not in text and not re.search(r"\b\w+Error:", text)
    assert text.count("Correct.") == 2 and "Not yet." not in text  # both exercises' solutions pass their checks
    folded = [m.start() for m in re.finditer(r'<div class="solution dropdown admonition"', source)]
    assert len(folded) == 2
    assert "tag_hide-input" in source  # the plotting cells are folded
    assert len(re.findall(r'<img [^>]*src="[^"]*_images/[^"]+\.png"', source)) == 2, "the two figures"


def layered(n_layers):
    base = layered_mdp(n_layers, 2, 2, gamma=1.0, seed=7)
    return pg.FiniteMDP(base.P, np.abs(base.R), gamma=1.0, initial=base.initial, terminal=base.terminal)


@functools.cache
def plain_kappas(n_layers, xi):
    """κ of the per-decision and trajectory-wise estimators by a recursion over every episode of the uniform
    behaviour policy, with π_θ(a|s) ∝ exp(θ_sa) and the score e_(s,a) − π(·|s) written out here."""
    mdp = layered(n_layers)
    n = mdp.n_states
    theta = xi * np.tile([0.5, -0.5], (n, 1))
    pi = np.exp(theta) / np.exp(theta).sum(axis=1, keepdims=True)
    samples, weights = {True: [], False: []}, []

    def walk(state, probability, steps):
        if mdp.terminal[state]:
            ratios = [pi[s, a] / 0.5 for s, a in steps]
            rewards = [mdp.R[s, a] for s, a in steps]
            T = len(steps)
            for per_decision in (True, False):
                total = np.zeros((n, 2))
                for t, (s, a) in enumerate(steps):
                    if per_decision:  # Σ_{k≥t} ρ_{0:k} r_{k+1}, term by term
                        weight = sum(math.prod(ratios[: k + 1]) * rewards[k] for k in range(t, T))
                    else:  # ρ_{0:T} G_t
                        weight = math.prod(ratios) * sum(rewards[t:])
                    total[s] -= weight * pi[s]  # the score of a softmax: e_(s,a) − π(·|s)
                    total[s, a] += weight
                samples[per_decision].append(total.ravel())
            weights.append(probability)
            return
        for a in range(2):
            for successor in np.flatnonzero(mdp.P[state, a] > 0):
                walk(successor, probability * 0.5 * mdp.P[state, a, successor], [*steps, (state, a)])

    for start in np.flatnonzero(mdp.initial > 0):
        walk(start, mdp.initial[start], [])
    weights = np.array(weights)
    result = {}
    for per_decision, rows in samples.items():
        rows = np.array(rows)
        mean = weights @ rows
        result[per_decision] = (mean, weights @ np.sum((rows - mean) ** 2, axis=1) / np.sum(mean**2))
    return result, len(weights)


def test_importance_sampling_numbers(built_book):
    _, text = page_text(built_book, PAGE)
    count, total = one(rf"{NUMBER} episodes of π_b, total probability {NUMBER}", text)
    assert count == 2 * 4**5 * 2 and total == pytest.approx(1.0, abs=1e-12)  # 2 starts × (2 × 2)⁵ × 2 actions
    mdp = layered(6)
    rows = numbers(rf"ξ = {NUMBER}: exact mean − ∇J: {NUMBER}; κ per-decision {NUMBER}, trajectory-wise {NUMBER}", text,
                   count=3)  # fmt: skip
    policy = pg.TabularSoftmax(13, 2)
    for xi, gap, pd_kappa, tw_kappa in rows:
        assert gap < 1e-12  # "to rounding"
        plain, episodes = plain_kappas(6, xi)
        assert episodes == count
        gradient = pg.autodiff_gradient(mdp, policy, xi * np.tile([0.5, -0.5], (13, 1))).ravel()
        for per_decision, printed in ((True, pd_kappa), (False, tw_kappa)):
            mean, kappa = plain[per_decision]
            np.testing.assert_allclose(mean, gradient, atol=1e-12)  # unbiased, by a second enumeration
            assert printed == pytest.approx(kappa, rel=1e-3)
        assert tw_kappa > pd_kappa  # "grows more slowly with the distance"
    (threshold,) = one(rf"z-score threshold {NUMBER} \(false alarm 1e-3\)", text)
    assert threshold == pytest.approx(norm.isf(1e-3 / (2 * 2 * 26)), abs=0.006)  # Bonferroni over 2 × 26, two-sided
    sampled = numbers(rf"(?:per-decision|trajectory-wise): max \|z\| = {NUMBER}; tr Cov sampled {NUMBER} ± {NUMBER},"
                      rf" exact {NUMBER}", text, count=2)  # fmt: skip
    plain, _ = plain_kappas(6, 1.0)
    gradient = pg.autodiff_gradient(mdp, policy, np.tile([0.5, -0.5], (13, 1))).ravel()
    for (z, variance, error, exact), per_decision in zip(sampled, (True, False), strict=True):
        assert exact == pytest.approx(plain[per_decision][1] * np.sum(gradient**2), rel=1e-3)  # κ ‖∇J‖²
        # 4 standard errors of the sample variance (CLT): false failure 6e-5 per estimator, fixed seed
        assert z < threshold and abs(variance - exact) < 4 * error
    by_length = numbers(
        rf"{NUMBER} steps: κ per-decision {NUMBER}, trajectory-wise {NUMBER}, ratio {NUMBER}", text, count=7
    )
    for length, pd_kappa, tw_kappa, ratio in by_length:
        plain, _ = plain_kappas(int(length), 1.0)
        assert pd_kappa == pytest.approx(plain[True][1], rel=1e-3)
        assert tw_kappa == pytest.approx(plain[False][1], rel=1e-3)
        assert ratio == pytest.approx(tw_kappa / pd_kappa, rel=2e-3)
    ratios = {int(length): ratio for length, _, _, ratio in by_length}
    assert ratios[1] == pytest.approx(1.0) and ratios[2] < 1.0  # "at two steps ... the per-decision one is larger"
    assert all(ratios[h] > 1.2 for h in range(3, 8)) and ratios[7] > ratios[3]  # "the gap opens with the length"


def linear_problem():
    mdp = pg.examples.random_mdp(5, 3, gamma=0.9, seed=12, n_terminal=1)
    policy = pg.LinearSoftmax(np.random.default_rng(13).normal(size=(5, 3, 4)))
    return mdp, policy, policy.init_params(seed=14, scale=0.5), policy.init_params(seed=15, scale=0.5)


def test_excursion_objective_numbers(built_book):
    _, text = page_text(built_book, PAGE)
    (difference,) = one(rf"∇J_ν vs central differences of J_ν: largest difference {NUMBER}", text)
    assert difference < 1e-8
    z, threshold = one(rf"follow-on traces vs E\[T\] d_ν: max \|z\| = {NUMBER} \(threshold {NUMBER}\)", text)
    assert z < threshold and threshold == pytest.approx(norm.isf(1e-3 / 8), abs=0.006)
    mdp, policy, theta, behaviour = linear_problem()
    # ν by simulation-free power iteration of the restarting chain of π_b; d_ν by a Neumann series
    pi_b, pi = policy.probabilities(behaviour), policy.probabilities(theta)
    restart = np.einsum("sa,sat->st", pi_b, mdp.P)
    restart[mdp.terminal] = mdp.initial
    nu = np.full(5, 0.2)
    for _ in range(5_000):
        nu = nu @ restart
    nu = np.where(mdp.terminal, 0.0, nu)
    nu /= nu.sum()
    live = ~mdp.terminal
    P_pi = np.einsum("sa,sat->st", pi, mdp.P) * live[:, None] * live[None, :]
    term, d_nu = nu.copy(), np.zeros(5)
    for _ in range(600):
        d_nu, term = d_nu + term, mdp.gamma * P_pi.T @ term
    for label, expected, tolerance in (("d_ν exact", d_nu[live], 1e-4), ("ν = d_πb", nu[live], 1e-4)):
        (row,) = re.findall(rf"{label}: +\[([-\d. ]+)\]", text)
        np.testing.assert_allclose(np.array(row.split(), dtype=float), expected, atol=tolerance)
    (row,) = re.findall(r"d_ν traces: +\[([-\d. ]+)\]", text)
    assert np.abs(np.array(row.split(), dtype=float) - d_nu[live]).max() < 0.1
    # Off-PAC's g from the closed-form softmax score, and ∇J_ν by central differences of ν·V
    q_values = mdp.R + mdp.gamma * mdp.P @ mdp.state_values(pi)
    features = policy.features
    centred = features - np.einsum("sa,saf->sf", pi, features)[:, None, :]
    off_pac = np.einsum("s,sa,saf,sa->f", nu, pi, centred, q_values)
    exact = pg.finite_difference(lambda t: nu @ mdp.state_values(policy.probabilities(t)), theta)
    cosine, length, total_nu, total_d = one(
        rf"Off-PAC vs ∇J_ν: cosine {NUMBER}, length ratio {NUMBER}; Σ ν = {NUMBER}, Σ d_ν = {NUMBER}", text
    )
    assert cosine == pytest.approx(off_pac @ exact / np.linalg.norm(off_pac) / np.linalg.norm(exact), abs=1e-4)
    assert length == pytest.approx(np.linalg.norm(off_pac) / np.linalg.norm(exact), abs=1e-3)
    assert total_nu == pytest.approx(1.0) and total_d == pytest.approx(d_nu.sum(), abs=1e-3)
    assert cosine < 0.99 and length < 0.5  # "much shorter ... and off in direction"


def test_counterexample_numbers(built_book):
    _, text = page_text(built_book, PAGE)
    (row,) = re.findall(r"d_πb = \[([-\d. ]+)\]", text)
    np.testing.assert_allclose(np.array(row.split(), dtype=float), [0.5, 0.125, 0.375])
    assert re.search(r"ascent +p0 +p1 +J +J_ν", text)  # the table's header
    row = rf" +{NUMBER} {NUMBER} {NUMBER} {NUMBER}"
    starts = re.findall(rf"from \({NUMBER}, {NUMBER}\):\s+∇J_ν{row}\s+Off-PAC{row}", text)
    assert [(float(a), float(b)) for a, b, *_ in starts] == [(0.5, 0.5), (0.9, 0.9), (0.2, 0.8)]
    runs = [(direction, values) for _, _, *ends in starts
            for direction, values in (("excursion", ends[:4]), ("off-pac", ends[4:]))]  # fmt: skip
    for direction, values in runs:
        p0, p1, j, j_nu = (float(v) for v in values)
        # the closed forms J = 2 p0 p1 + (1 − p0)(1 − p1) and J_ν of eq. (off-policy-counterexample)
        assert j == pytest.approx(2 * p0 * p1 + (1 - p0) * (1 - p1), abs=2e-4)
        assert j_nu == pytest.approx(0.5 * j + 0.25 * p1 + 0.375 * (1 - p1), abs=2e-4)
        if direction == "excursion":
            assert min(p0, p1) > 0.999 and j > 1.99  # the optimum, J = 2
        else:
            assert max(p0, p1) < 0.001 and j < 1.01  # the policy through s2, J = 1


def forward_cost(system, gain, start_moment, steps=2_000):
    """Σ_t γ^t E[x_tᵀ (Q + KᵀRK) x_t] from E[x_0 x_0ᵀ] = start_moment, summed forward (no value matrix)."""
    moment, total, closed = np.array(start_moment, dtype=float), 0.0, system.A - system.B @ gain
    for t in range(steps):
        total += system.gamma**t * np.trace((system.Q + gain.T @ system.R @ gain) @ moment)
        moment = closed @ moment @ closed.T
    return total


def test_deterministic_numbers(built_book):
    _, text = page_text(built_book, PAGE)
    (difference,) = one(rf"∇C_ν vs central differences: largest difference {NUMBER}", text)
    assert difference < 1e-7
    system = lqr.LinearQuadratic(
        [[1.0, 0.2], [0.0, 0.9]], [[0.0], [1.0]], np.eye(2), [[0.5]], [[0.5, 0.1], [0.1, 0.3]], gamma=0.9
    )
    # the behaviour's normalised discounted state moment, summed forward: x' = (A − B K_b) x + B σ ε
    closed_b = system.A - system.B @ np.array([[0.0, 0.5]])
    assert np.abs(np.linalg.eigvals(closed_b)).max() == pytest.approx(1.0)  # "an eigenvalue 1 of the closed loop"
    moment, behaviour_moment = system.initial_covariance.copy(), np.zeros((2, 2))
    for t in range(2_000):
        behaviour_moment += (1 - system.gamma) * system.gamma**t * moment
        moment = closed_b @ moment @ closed_b.T + system.B @ system.B.T
    gain = np.array([[0.3, 0.8]])
    exact = pg.finite_difference(lambda k: forward_cost(system, k, behaviour_moment), gain)
    step = 1e-5

    def dpg(moment):
        """E[−∇_a Q_K(x, −Kx) xᵀ] for states of second moment Σ value x xᵀ, ∇_a Q by central differences."""
        g = np.zeros((1, 2))
        values, vectors = np.linalg.eigh(moment)
        for value, x in zip(values, vectors.T, strict=True):
            a = -gain @ x
            up, down = lqr_action_value(system, gain, [x], [a + step]), lqr_action_value(system, gain, [x], [a - step])
            g -= value * ((up - down)[0] / (2 * step)) * x[None, :]
        return g

    g_dpg = dpg(behaviour_moment)
    printed = numbers(rf"g_DPG: \[\[ *{NUMBER} +{NUMBER}\]\]\s+∇C_ν: +\[\[ *{NUMBER} +{NUMBER}\]\]\s+cosine {NUMBER}",
                      text, count=1)[0]  # fmt: skip
    np.testing.assert_allclose(printed[:2], g_dpg.ravel(), atol=1e-4)
    np.testing.assert_allclose(printed[2:4], exact.ravel(), atol=1e-4)
    cosine = float(g_dpg.ravel() @ exact.ravel() / np.linalg.norm(g_dpg) / np.linalg.norm(exact))
    assert printed[4] == pytest.approx(cosine, abs=1e-4) and printed[4] < 0.99
    rows = numbers(rf"(?:DPG fixed point|minimum of C_ν) *: ξ = {NUMBER}, C_ν = {NUMBER}", text, count=2)
    (xi_dpg, cost_dpg), (xi_exact, cost_exact) = rows

    def along(xi):
        return forward_cost(system, xi * np.ones((1, 2)), behaviour_moment)

    slope = (along(xi_exact + 1e-4) - along(xi_exact - 1e-4)) / 2e-4
    assert abs(slope) < 1e-3  # the printed minimum is the minimum along the line
    slope_dpg = (along(xi_dpg + 1e-4) - along(xi_dpg - 1e-4)) / 2e-4  # ξ is printed to 4 decimals
    assert cost_dpg == pytest.approx(along(xi_dpg), abs=abs(slope_dpg) * 5e-5 + 2e-6)
    assert cost_exact == pytest.approx(along(xi_exact), abs=2e-6)
    assert abs(slope_dpg) > 1e-3  # DPG's fixed point is not stationary for C_ν
    assert abs(xi_dpg - xi_exact) > 0.01 and cost_dpg > cost_exact  # the two stationary points part
    (gap,) = one(rf"compatible critic's gradient vs g_DPG on the same states: largest difference {NUMBER}", text)
    assert gap < 1e-12
    (relative,) = one(rf"its distance to ∇C_ν, relative: {NUMBER}", text)
    # the compatible critic's gradient is g_DPG on the page's 2,000 sampled states (the same draws: numpy's)
    states = np.random.default_rng(3).multivariate_normal(np.zeros(2), behaviour_moment, size=2_000)
    on_states = dpg(states.T @ states / len(states))
    assert relative == pytest.approx(np.linalg.norm(on_states - exact) / np.linalg.norm(exact), abs=1e-3)
    assert relative > 0.5  # "not the dropped term"
