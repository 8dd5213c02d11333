"""The entropy-regularisation chapter: every number it prints, read from the built page and held to the claim the
prose makes, and where the claim is a value, to an independent recomputation here in plain numpy (the problems'
arrays are the only thing taken from pgbook; gradients by central differences or closed forms written here, the
soft optimum by soft policy iteration written here rather than the library's soft value iteration).

Every extraction fails when its pattern finds nothing.
"""

import re

import numpy as np
import pytest
import yaml
from plain import central_differences, chain_arrays

import pgbook as pg

from pages import NUMBER, ROOT, article, check_numbered, numbers, one, page_text

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("book")]

PAGE = "entropy-regularisation"
GAMMA, N, N_ACTIONS, ZETA = 0.9, 5, 4, 0.03


def softmax(logits):
    z = np.exp(logits - logits.max(1, keepdims=True))
    return z / z.sum(1, keepdims=True)


def entropy(pi):
    return -(pi * np.log(np.where(pi > 0, pi, 1.0))).sum(1)


def evaluate(P, R, pi, gamma, start, zeta=0.0):
    """Soft values, visitation and soft action values of a table on the live states."""
    M = np.eye(len(start)) - gamma * np.einsum("sa,sat->st", pi, P)
    V = np.linalg.solve(M, (pi * R).sum(1) + zeta * entropy(pi))
    d = np.linalg.solve(M.T, start)
    return V, d, R + gamma * P @ V


def soft_policy_iteration(P, R, gamma, zeta, start, sweeps=200):
    """π ← softmax(Q_ζ^π / ζ) from the uniform policy, until it stops changing."""
    pi = np.full(R.shape, 1 / R.shape[1])
    for _ in range(sweeps):
        _, _, Q = evaluate(P, R, pi, gamma, start, zeta)
        new = softmax(Q / zeta)
        if np.abs(new - pi).max() < 1e-15:
            break
        pi = new
    return pi


def test_entropy_page(built_book):
    source, text = page_text(built_book, PAGE)
    P, R = chain_arrays(N, N_ACTIONS)
    state0 = np.eye(N - 1)[0]

    # the gradient of J_ζ against central differences; J_ζ at the page's random parameters, recomputed
    rows = numbers(r"seed (\d): J_ζ = " + NUMBER + "; largest difference " + NUMBER, text, 2)
    for seed, value, difference in rows:
        theta = np.random.default_rng(int(seed)).standard_normal((N, N_ACTIONS))[:-1]  # init_params(seed)
        V, _, _ = evaluate(P, R, softmax(theta), GAMMA, state0, ZETA)
        assert value == pytest.approx(V[0], abs=6e-7) and difference < 1e-8

    # the bonus as coded, sampled, against its expectation: P(some |z| > 4.5 of 16) < 16 · 2 · P(t_49 > 4.5) < 7e-4
    ((z, count),) = numbers(r"largest \|z\| = " + NUMBER + r" over (\d+) components", text, 1)
    assert z < 4.5 and count == 16

    # the exact pieces along the unregularised run, recomputed: plain ascent, central differences, visitations
    table = numbers(
        r"\n\s*(\d+)\s+(0\.\d{4})" + r"\s+(\d\.\d{3})\s+(\d\.\d{4})" + r"\s+(\d\.\d{3})" * 3 + r"(?=\s)", text, 4
    )
    theta, t = np.zeros((N - 1, N_ACTIONS)), 0
    for recorded, objective, share, cosine, ratio, total, scaled in table:
        while t < recorded:
            pi = softmax(theta)
            V, d, Q = evaluate(P, R, pi, GAMMA, state0)
            theta = theta + d[:, None] * pi * (Q - V[:, None])
            t += 1
        pi = softmax(theta)
        V, d, _ = evaluate(P, R, pi, GAMMA, state0)

        def J(logits, zeta):
            return evaluate(P, R, softmax(logits), GAMMA, state0, zeta)[0][0]

        part = central_differences(lambda x: J(x, ZETA), theta) - central_differences(lambda x: J(x, 0.0), theta)
        first = ZETA * central_differences(lambda x, d=d: d @ entropy(softmax(x)), theta)
        counts = np.linalg.solve(np.eye(N - 1) - np.einsum("sa,sat->st", pi, P).T, state0)  # γ = 1 visits
        weights = counts / counts.sum()
        bonus = ZETA * central_differences(lambda x, w=weights: w @ entropy(softmax(x)), theta)
        assert objective == pytest.approx(V[0], abs=6e-5) and total == pytest.approx(d.sum(), abs=6e-4)
        assert share == pytest.approx(np.linalg.norm(part - first) / np.linalg.norm(part), abs=2e-3)
        cos = bonus.ravel() @ part.ravel() / np.linalg.norm(bonus) / np.linalg.norm(part)
        assert cosine == pytest.approx(cos, abs=2e-4)
        assert ratio == pytest.approx(np.linalg.norm(bonus) / np.linalg.norm(part), abs=2e-3)
        assert scaled == pytest.approx(d.sum() * np.linalg.norm(bonus) / np.linalg.norm(part), abs=6e-3)
        assert 0.65 <= scaled < 0.95  # "the ratio is 0.7 to 0.9"
    assert all(row[3] > 0.99 for row in table)  # "a cosine above 0.99"
    assert table[0][2] == pytest.approx(0.29, abs=0.005)  # "carries 29 % of that part"
    assert all(3.5 < 1 / row[4] < 6.5 for row in table)  # "4 to 6 times smaller" (rounded)
    ratios = [row[4] for row in table]
    assert ratios == sorted(ratios) and ratios[-1] > 1.5 * ratios[0]  # "the factor changes along the run"

    # the bias against ζ, the soft optimum by plain soft policy iteration
    bias = numbers(r"\n(\d\.\d{3})\s+" + NUMBER + r"\s+" + NUMBER + r"\s+" + NUMBER + r"\s+" + NUMBER, text, 7)
    optimum = GAMMA ** (N - 2)
    for zeta_text, gap, middle, last, agree in bias:
        zeta = np.geomspace(1e-3, 1.0, 31)[np.argmin(np.abs(np.geomspace(1e-3, 1.0, 31) - zeta_text))]
        pi = soft_policy_iteration(P, R, GAMMA, zeta, state0)
        V, d, _ = evaluate(P, R, pi, GAMMA, state0)
        assert gap == pytest.approx(optimum - V[0], abs=max(6e-3 * abs(gap), 1e-12))
        assert middle == pytest.approx(zeta * np.log(4) * d.sum(), rel=6e-3)
        assert last == pytest.approx(zeta * np.log(4) / (1 - GAMMA), rel=6e-3)
        assert gap <= middle <= last and agree < 1e-12  # the bound holds; VI and PI agree
    gaps = {zeta: gap for zeta, gap, *_ in bias}
    assert gaps[0.01] < 1e-3 and gaps[0.1] > 0.95 * optimum  # "tiny below 0.01", "nearly all of J* by 0.1"
    assert all(middle / gap < 6 for zeta, gap, middle, _, _ in bias if 0.02 < zeta < 0.2)  # "a factor of a few"
    assert bias[2][2] / bias[2][1] > 100  # "elsewhere loose"
    # π*_ζ(right | the last state before the goal), by soft policy iteration written here
    right = numbers(r"ζ = (\d\.\d{3}): (\d\.\d{3})(?=;|\s)", text, 3)
    for zeta, probability in right:
        pi = soft_policy_iteration(P, R, GAMMA, zeta, state0)
        assert probability == pytest.approx(pi[N - 2, 1], abs=6e-4)
    assert [z for z, _ in right] == [0.01, 0.1, 1.0]
    assert right[0][1] > 0.99 and right[1][1] < 0.25 / 4  # right almost surely; "far less often than ... 1/4"

    # softmax PG on J_ζ from the uniform start: plain ascent with the closed-form gradient d π A_ζ
    ((rate, run_min, limit_min, pi_min),) = numbers(
        r"gap ×" + NUMBER + r" per iteration over t = 2000..3000; smallest probability " + NUMBER
        + r" over the run, " + NUMBER + r" in π\*_ζ, so π_min,ζ ≤ " + NUMBER,
        text,
        1,
    )  # fmt: skip
    ((per_step, theorem, eta_theorem),) = numbers(
        r"measured \(1 − rate\)/η = " + NUMBER + r"; theorem Ξ/η ≤ " + NUMBER + r" \(η = " + NUMBER, text, 1
    )
    nu = np.full(N - 1, 0.25)
    best = soft_policy_iteration(P, R, GAMMA, ZETA, nu)
    target = nu @ evaluate(P, R, best, GAMMA, nu, ZETA)[0]
    theta, gaps_run, smallest = np.zeros((N - 1, N_ACTIONS)), [], 1.0
    for _ in range(3001):
        pi = softmax(theta)
        V, d, Q = evaluate(P, R, pi, GAMMA, nu, ZETA)
        gaps_run.append(target - nu @ V)
        smallest = min(smallest, pi.min())
        theta = theta + d[:, None] * pi * (Q - ZETA * np.log(pi) - V[:, None])
    measured = (gaps_run[3000] / gaps_run[2000]) ** (1 / 1000)
    assert rate == pytest.approx(measured, abs=6e-6) and run_min == pytest.approx(smallest, rel=6e-3)
    assert limit_min == pytest.approx(best.min(), rel=6e-3) and pi_min == min(run_min, limit_min)
    assert limit_min < run_min  # "below any the run has reached"
    smallest = min(smallest, best.min())
    assert per_step == pytest.approx(1 - measured, rel=2e-2)
    eta = (1 - GAMMA) ** 3 / (8 + ZETA * (4 + 8 * np.log(4)))
    d_star = (1 - GAMMA) * evaluate(P, R, best, GAMMA, nu)[1]
    xi = (1 - GAMMA) ** 4 * 0.25 * smallest**2 / ((8 / ZETA + 4 + 8 * np.log(4)) * 4 * (d_star / nu).max())
    assert eta_theorem == pytest.approx(eta, rel=6e-3) and theorem == pytest.approx(xi / eta, rel=6e-3)
    assert per_step > 1e5 * theorem  # "many orders of magnitude smaller"

    # the regularised natural gradient: plain iterates of π ∝ π^(1−ηζ/(1−γ)) exp(ηQ_ζ/(1−γ))
    npg_pattern = (
        r"NPG on J_ζ, η = " + NUMBER + r": error ×" + NUMBER + r" per iteration over t = 1..(\d+) \(theorem: ×"
        + NUMBER + r"\); smallest slack " + NUMBER + r"; error at t = 40: " + NUMBER
    )  # fmt: skip
    lines = numbers(npg_pattern, text, 3)
    star = soft_policy_iteration(P, R, GAMMA, ZETA, state0)
    q_star = evaluate(P, R, star, GAMMA, state0, ZETA)[2]
    for (eta_text, factor, k, promised, slack, last_error), eta in zip(
        lines, (0.1, 1.0, (1 - GAMMA) / ZETA), strict=True
    ):
        assert eta_text == pytest.approx(eta, abs=6e-4) and promised == pytest.approx(1 - eta * ZETA, abs=6e-5)
        log_pi, errors = np.log(np.full((N - 1, N_ACTIONS), 0.25)), []
        for _ in range(41):
            _, _, Q = evaluate(P, R, np.exp(log_pi), GAMMA, state0, ZETA)
            errors.append(np.abs(q_star - Q).max())
            logits = (1 - eta * ZETA / (1 - GAMMA)) * log_pi + eta * Q / (1 - GAMMA)
            log_pi = (
                logits
                - np.log(np.exp(logits - logits.max(1, keepdims=True)).sum(1, keepdims=True))
                - logits.max(1, keepdims=True)
            )
        errors = np.array(errors)
        upsilon = errors[0] + 2 * ZETA * (1 - eta * ZETA / (1 - GAMMA)) * np.abs(np.log(star / 0.25)).max()
        assert slack >= 0 and slack == pytest.approx(
            np.min(upsilon * GAMMA * (1 - eta * ZETA) ** np.arange(40) - errors[1:]), rel=6e-2
        )
        k = int(k)
        assert factor == pytest.approx((errors[k] / errors[1]) ** (1 / (k - 1)), rel=1e-3, abs=6e-5)
        assert factor < promised  # "its rate is pessimistic"
        assert last_error == pytest.approx(errors[40], rel=0.05, abs=1e-13)
        if eta == 1.0:
            assert 0.25 < factor < 0.45  # "shrinks about threefold per iteration"
    assert lines[2][5] < 1e-12 and lines[2][2] <= 4  # soft policy iteration: rounding error in a few iterations

    # soft actor-critic's fixed point on the random MDP: soft policy iteration written here
    (residual,) = one(r"soft Bellman residual " + NUMBER, text)
    (boltzmann,) = one(r"distance to its Boltzmann policy " + NUMBER, text)
    ((spi, stationary),) = numbers(
        r"after 30 steps: " + NUMBER + r" from π\*_ζ; largest \|∇J_ζ\(π\*_ζ\)\| " + NUMBER, text, 1
    )
    assert residual <= 1e-12 and boltzmann < 1e-14 and spi < 1e-14 and stationary < 1e-13
    ((soft_value, plain_value),) = numbers(r"J_ζ\(π\*_ζ\) = " + NUMBER + r"; J\(π\*_ζ\) = " + NUMBER, text, 1)
    mdp = pg.examples.random_mdp(6, 3, gamma=0.9, seed=27)
    pi = soft_policy_iteration(mdp.P, mdp.R, 0.9, 0.5, mdp.initial)
    assert soft_value == pytest.approx(mdp.initial @ evaluate(mdp.P, mdp.R, pi, 0.9, mdp.initial, 0.5)[0], abs=6e-5)
    assert plain_value == pytest.approx(mdp.initial @ evaluate(mdp.P, mdp.R, pi, 0.9, mdp.initial)[0], abs=6e-5)

    # two figures, three checked exercises folded in their solutions, the chapter numbered
    assert len(re.findall(r'id="fig-entropy-(?:bias|rates)"', source)) == 2
    assert text.count("Correct.") == 3 and "Not yet." not in text
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    numbered = [c["file"] for part in toc["parts"] if part.get("numbered") for c in part["chapters"]]
    check_numbered(article(built_book, PAGE), numbered.index(f"book/{PAGE}") + 1)
