"""The convergence proofs line by line, against plain numpy: values by a linear solve, the optimum by enumerating
every deterministic policy, the natural-gradient iterates by pg.exact_ascent (the pseudo-inverse of the Fisher
matrix, another code path), the gradient with respect to the table by central differences."""

import itertools

import numpy as np
import pytest

import pgbook as pg
from pgbook import convergence_theory as ct
from pgbook.exact_ascent import chain_start


def plain_values(mdp, pi):
    live = np.flatnonzero(~mdp.terminal)
    P_pi = np.einsum("sa,sat->st", pi, mdp.P)[np.ix_(live, live)]
    values = np.zeros(mdp.n_states)
    values[live] = np.linalg.solve(np.eye(live.size) - mdp.gamma * P_pi, (pi * mdp.R).sum(1)[live])
    return values


def plain_visitation(mdp, pi, start):
    P_pi = np.einsum("sa,sat->st", pi, mdp.P) * ~mdp.terminal[:, None]
    return np.linalg.solve((np.eye(mdp.n_states) - mdp.gamma * P_pi).T, start) * ~mdp.terminal


def brute_force_optimum(mdp):
    tables = [np.eye(mdp.n_actions)[list(a)] for a in itertools.product(range(mdp.n_actions), repeat=mdp.n_states)]
    return max(tables, key=lambda pi: float(mdp.initial @ plain_values(mdp, pi)))


def problems():
    chain = pg.examples.chain(5, gamma=0.9, n_actions=3)
    base = pg.examples.random_mdp(5, 3, gamma=0.8, seed=4, n_terminal=1)
    rewards = (base.R - base.R.min()) / np.ptp(base.R) * ~base.terminal[:, None]  # in [0, 1], 0 when terminal
    unit = pg.FiniteMDP(base.P, rewards, gamma=0.8, initial=base.initial, terminal=base.terminal)
    return [chain, unit]


@pytest.mark.parametrize("index", [0, 1])
def test_optimal_policy_is_the_best_deterministic_policy(index):
    mdp = problems()[index]
    best = ct.optimal_policy(mdp)
    assert float(mdp.initial @ plain_values(mdp, best)) == pytest.approx(
        float(mdp.initial @ plain_values(mdp, brute_force_optimum(mdp))), abs=1e-12
    )


@pytest.mark.parametrize("index", [0, 1])
def test_natural_policy_iteration_is_exact_ascent_in_visited_states(index):
    mdp = problems()[index]
    policy = pg.TabularSoftmax(mdp.n_states, mdp.n_actions)
    run = pg.exact_ascent(mdp, policy, np.zeros(policy.param_shape), step_size=0.4, n_iterations=5, direction="natural")
    tables = ct.natural_policy_iteration(mdp, np.full(policy.param_shape, 1 / mdp.n_actions), step_size=0.4,
                                         n_iterations=5)  # fmt: skip
    live = ~mdp.terminal
    for theta, table in zip(run.parameters, tables, strict=True):
        assert np.allclose(policy.probabilities(theta)[live], table[live], atol=1e-10)


@pytest.mark.parametrize("index", [0, 1])
def test_natural_gradient_bound_line_by_line(index):
    mdp = problems()[index]
    eta, T = 0.5, 30
    lines = ct.natural_gradient_bound(mdp, step_size=eta, n_iterations=T)
    tables = ct.natural_policy_iteration(mdp, np.full((mdp.n_states, mdp.n_actions), 1 / mdp.n_actions),
                                         step_size=eta, n_iterations=T)  # fmt: skip
    best = brute_force_optimum(mdp)
    d_star = plain_visitation(mdp, best, mdp.initial)
    v_star = plain_values(mdp, best)
    gaps = np.array([mdp.initial @ (v_star - plain_values(mdp, pi)) for pi in tables])
    assert np.allclose(lines.gaps, gaps, atol=1e-12)
    assert np.allclose(lines.lemma, gaps[:-1], atol=1e-12)  # performance difference: an equality
    assert np.allclose(lines.mirror, gaps[:-1], atol=1e-10)  # the log of the update: an equality
    values = np.array([plain_values(mdp, pi) for pi in tables])
    assert np.allclose(lines.improvement, (values[1:] - values[:-1]) @ d_star, atol=1e-12)
    assert np.all(lines.log_partition >= -1e-15) and np.all(lines.log_partition <= lines.improvement + 1e-12)
    assert np.allclose(lines.telescoped, np.cumsum(gaps[:-1]))
    assert np.all(lines.telescoped <= lines.telescoped_bound + 1e-12)
    assert np.all(np.diff(gaps) <= 1e-12)  # the gaps never grow
    counts = np.arange(1, T + 1)
    theorem = np.log(mdp.n_actions) / (eta * counts) + 1 / ((1 - mdp.gamma) ** 2 * counts)
    assert np.allclose(lines.theorem, theorem)
    assert np.all(lines.telescoped_bound / counts <= theorem) and np.all(gaps[1:] <= theorem)


@pytest.mark.parametrize("index", [0, 1])
def test_gradient_domination_and_lojasiewicz_line_by_line(index):
    mdp = problems()[index]
    live = ~mdp.terminal
    mu = live / live.sum()
    rng = np.random.default_rng(index)
    best = brute_force_optimum(mdp)
    d_star = plain_visitation(mdp, best, mdp.initial)
    for _ in range(3):
        pi = rng.dirichlet(np.ones(mdp.n_actions), size=mdp.n_states)
        values = plain_values(mdp, pi)
        gap = float(mdp.initial @ (plain_values(mdp, best) - values))
        lines = ct.gradient_domination(mdp, pi, mu=mu)
        assert lines.gap == pytest.approx(gap, abs=1e-12) and lines.lemma == pytest.approx(gap, abs=1e-12)
        assert lines.gap <= lines.greedy + 1e-12 <= lines.mismatch_line + 2e-12 <= lines.bound + 3e-12
        d_mu = plain_visitation(mdp, pi, mu)
        assert lines.start_mismatch == pytest.approx(np.max(d_star[live] / mu[live]))
        assert lines.mismatch == pytest.approx(np.max(d_star[live] / d_mu[live]))

        # ∇_π J_μ by central differences on the table entries (direct parameterisation)
        def J(table):
            return float(mu @ plain_values(mdp, table))

        h = 1e-6
        grad = np.zeros_like(pi)
        for s, a in np.ndindex(pi.shape):
            step = np.zeros_like(pi)
            step[s, a] = h
            grad[s, a] = (J(pi + step) - J(pi - step)) / (2 * h)
        best_direction = sum(np.max(grad[s]) - pi[s] @ grad[s] for s in range(mdp.n_states))
        assert lines.gradient_term == pytest.approx(best_direction, rel=1e-6, abs=1e-9)
        assert lines.gradient_line == pytest.approx(lines.mismatch_line, rel=1e-9)

        lo = ct.lojasiewicz(mdp, pi, mu=mu)
        policy = pg.TabularSoftmax(mdp.n_states, mdp.n_actions)
        uniform_start = pg.FiniteMDP(mdp.P, mdp.R, gamma=mdp.gamma, initial=mu, terminal=mdp.terminal)
        gradient = pg.autodiff_gradient(uniform_start, policy, np.log(pi))
        assert lo.norm == pytest.approx(np.linalg.norm(gradient), rel=1e-9)
        assert lo.norm >= lo.optimal - 1e-15 >= lo.cauchy - 2e-15 >= lo.smallest - 3e-15
        assert lo.smallest >= lo.mismatch_line - 1e-15 >= lo.bound - 2e-15
        assert lo.bound == pytest.approx(lo.c / (np.sqrt(live.sum()) * lo.mismatch) * gap, rel=1e-9)


def plain_softmax_objective(mdp, mu, theta):
    z = np.exp(theta - theta.max(axis=1, keepdims=True))
    return float(mu @ plain_values(mdp, z / z.sum(axis=1, keepdims=True)))


@pytest.mark.parametrize("index", [0, 1])
def test_smoothness_line_by_line(index):
    """The four-term identity against second differences of the plain J along the line; each line's bound as
    the docstring states it; the Hessian (by second differences, every pair of coordinates) below 2/(1−γ)³."""
    mdp = problems()[index]
    live = ~mdp.terminal
    mu = live / live.sum()
    rng = np.random.default_rng(10 + index)
    k = 1 / (1 - mdp.gamma)
    for _ in range(4):
        theta = 3 * rng.standard_normal((mdp.n_states, mdp.n_actions))
        u = rng.standard_normal(theta.shape)
        u /= np.linalg.norm(u)
        lines = ct.smoothness(mdp, theta, 5 * u, mu=mu)  # the direction is scaled to unit norm
        h = 1e-3
        second = (plain_softmax_objective(mdp, mu, theta + h * u) - 2 * plain_softmax_objective(mdp, mu, theta)
                  + plain_softmax_objective(mdp, mu, theta - h * u)) / h**2  # fmt: skip
        assert lines.curvature == pytest.approx(second, abs=1e-6)  # O(h²) truncation, O(ε/h²) rounding
        assert lines.curvature == pytest.approx(lines.terms.sum(), abs=1e-15)
        pi = np.exp(theta) / np.exp(theta).sum(axis=1, keepdims=True)
        centred = u - (pi * u).sum(axis=1, keepdims=True)
        assert lines.first_order == pytest.approx(np.abs(pi * centred)[live].sum(axis=1).max())
        assert lines.first_order <= lines.spread + 1e-15 <= 1 and lines.second_order <= 2 * lines.spread**2 + 1e-15
        assert np.all(np.abs(lines.terms) <= lines.term_bounds)
        a1, a2, g = lines.first_order, lines.second_order, mdp.gamma
        expected = [2 * g**2 * a1**2 * k**3, g * a2 * k**2, 2 * g * a1**2 * k**2, a2 * k]
        assert lines.term_bounds == pytest.approx(expected)
        assert lines.bound <= lines.constant == pytest.approx(2 * k**3) and lines.constant <= 8 * k**3
    # the largest curvature over all directions: the Hessian of the plain J by second differences
    theta, n, h = rng.standard_normal((mdp.n_states, mdp.n_actions)), mdp.n_states * mdp.n_actions, 1e-4
    flat = theta.ravel()
    H = np.empty((n, n))
    for i, j in np.ndindex(n, n):
        ei, ej = h * np.eye(n)[i], h * np.eye(n)[j]
        H[i, j] = sum(sign * plain_softmax_objective(mdp, mu, (flat + si * ei + sj * ej).reshape(theta.shape))
                      for sign, si, sj in ((1, 1, 1), (-1, 1, -1), (-1, -1, 1), (1, -1, -1))) / (4 * h * h)  # fmt: skip
    eigenvalues, vectors = np.linalg.eigh((H + H.T) / 2)
    top = vectors[:, np.argmax(np.abs(eigenvalues))].reshape(theta.shape)
    lines = ct.smoothness(mdp, theta, top, mu=mu)
    assert lines.curvature == pytest.approx(eigenvalues[np.argmax(np.abs(eigenvalues))], abs=1e-5)
    assert np.abs(eigenvalues).max() <= lines.bound <= 2 * k**3


def test_bad_arguments_are_named():
    mdp = problems()[0]
    with pytest.raises(ValueError, match="mu"):
        ct.gradient_domination(mdp, np.full((5, 3), 1 / 3), mu=[1.0, 0.0, 0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="rewards"):
        ct.natural_gradient_bound(pg.examples.random_mdp(3, 2, seed=0), step_size=1.0, n_iterations=2)
    with pytest.raises(ValueError, match="step_size"):
        ct.natural_policy_iteration(mdp, np.full((5, 3), 1 / 3), step_size=0.0, n_iterations=1)
    with pytest.raises(ValueError, match="direction"):
        ct.smoothness(mdp, np.zeros((5, 3)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="theta"):
        ct.smoothness(mdp, np.zeros((4, 3)), np.ones((5, 3)))
    with pytest.raises(ValueError, match="rewards"):
        ct.smoothness(pg.examples.random_mdp(3, 2, seed=0), np.zeros((3, 2)), np.ones((3, 2)))


def test_chain_plateaus_against_plain_ascent():
    """The sweep's first recorded iteration at J*/2, against softmax ascent written out in plain numpy (gradient
    d(s)π(a|s)A(s,a) from the start distribution, judged from state 0) on the same recording grid."""
    sweep = pg.chain_plateaus([4, 5], n_iterations=(300, 10), n_recorded=40)
    grid = np.unique(np.r_[0, np.geomspace(1, 300, 40).astype(int)])
    for n, start, direction in sweep.runs:
        chain = pg.examples.chain(n, gamma=0.9, n_actions=4)
        live = ~chain.terminal
        nu = np.eye(n)[0] if start == "state 0" else live / live.sum()
        theta = np.zeros((n, 4))
        t = 0
        while True:
            pi = np.exp(theta) / np.exp(theta).sum(axis=1, keepdims=True)
            values = plain_values(chain, pi)
            if values[0] >= 0.9 ** (n - 2) / 2 or t == 300:
                break
            advantages = chain.R + 0.9 * chain.P @ values - values[:, None]
            if direction == "natural":
                theta += advantages / 0.1 * live[:, None]
            else:
                theta += plain_visitation(chain, pi, nu)[:, None] * pi * advantages
            t += 1
        expected = t if direction == "natural" else grid[grid >= t][0]
        assert sweep.iterations_to_half(n, start, direction) == expected, (n, start, direction)
    assert "iterations until J" in sweep.table() and len(sweep.table().splitlines()) == 5
    with pytest.raises(ValueError, match="start"):
        chain_start(4, "everywhere")
