"""pgbook.entropy against oracles that share none of its code: enumeration of every trajectory of a short-horizon
problem, central differences of J_ζ computed by a plain linear solve, a root finder on the soft Bellman equation,
and the natural gradient by the pseudo-inverse of the Fisher matrix."""

import itertools

import numpy as np
import pytest
from plain import central_differences
from scipy.optimize import fsolve

import pgbook as pg
from pgbook import convergence_theory as ct
from pgbook import entropy as ent


def layered_mdp(seed, gamma=0.9):
    """Three layers of two states and a terminal state: every episode ends after exactly three steps."""
    rng = np.random.default_rng(seed)
    P = np.zeros((7, 3, 7))
    for s in range(6):
        layer = s // 2
        if layer < 2:
            P[s, :, 2 * layer + 2 : 2 * layer + 4] = rng.dirichlet(np.ones(2), size=3)
        else:
            P[s, :, 6] = 1.0
    P[6, :, 6] = 1.0
    R = rng.normal(size=(7, 3))
    R[6] = 0.0
    return pg.FiniteMDP(P, R, gamma=gamma, initial=[0.3, 0.7, 0, 0, 0, 0, 0], terminal=[6])


def enumerated_objective(mdp, pi, zeta):
    """E[Σ_t γᵗ (r_{t+1} − ζ log π(a_t|s_t))] by summing over every trajectory of three steps."""
    total = 0.0
    for s0 in range(2):
        for a0, a1, a2 in itertools.product(range(3), repeat=3):
            for s1, s2 in itertools.product(range(2, 4), range(4, 6)):
                p = mdp.initial[s0] * pi[s0, a0] * mdp.P[s0, a0, s1] * pi[s1, a1] * mdp.P[s1, a1, s2] * pi[s2, a2]
                ret = sum(
                    mdp.gamma**t * (mdp.R[s, a] - zeta * np.log(pi[s, a]))
                    for t, (s, a) in enumerate(((s0, a0), (s1, a1), (s2, a2)))
                )
                total += p * ret
    return total


def plain_objective(mdp, pi, zeta):
    live = ~mdp.terminal
    P_pi = np.einsum("sa,sat->st", pi, mdp.P)[np.ix_(live, live)]
    reward = (pi * mdp.R).sum(1) - zeta * (pi * np.log(pi)).sum(1)
    return float(mdp.initial[live] @ np.linalg.solve(np.eye(live.sum()) - mdp.gamma * P_pi, reward[live]))


@pytest.mark.parametrize("seed", [0, 1])
def test_regularised_objective_is_the_expected_entropy_regularised_return(seed):
    mdp = layered_mdp(seed)
    policy = pg.TabularSoftmax(7, 3)
    theta = policy.init_params(seed=seed)
    pi = policy.probabilities(theta)
    assert ent.regularised_objective(mdp, policy, theta, temperature=0.7) == pytest.approx(
        enumerated_objective(mdp, pi, 0.7), abs=1e-12
    )


@pytest.mark.parametrize("kind", ["tabular", "linear"])
def test_regularised_gradient_matches_central_differences(kind):
    mdp = pg.examples.random_mdp(5, 3, gamma=0.9, seed=4, n_terminal=1)
    if kind == "tabular":
        policy = pg.TabularSoftmax(5, 3)
    else:
        policy = pg.LinearSoftmax(np.random.default_rng(4).normal(size=(5, 3, 4)))
    theta = policy.init_params(seed=4)

    def objective(t):
        logits = policy.logits(t)
        pi = np.exp(logits - logits.max(1, keepdims=True))
        return plain_objective(mdp, pi / pi.sum(1, keepdims=True), 0.4)

    exact = ent.regularised_gradient(mdp, policy, theta, temperature=0.4)
    assert np.allclose(exact, central_differences(objective, theta), atol=1e-8)


def test_zero_temperature_is_the_ordinary_objective_and_gradient():
    mdp, policy = pg.examples.chain(4, n_actions=3), pg.TabularSoftmax(4, 3)
    theta = policy.init_params(seed=2)
    assert ent.regularised_objective(mdp, policy, theta, temperature=0.0) == pytest.approx(
        pg.exact_objective(mdp, policy, theta), abs=1e-14
    )
    assert np.allclose(
        ent.regularised_gradient(mdp, policy, theta, temperature=0.0), pg.exact_gradient(mdp, policy, theta)
    )


def test_entropy_gradient_matches_central_differences_of_the_weighted_entropy():
    mdp, policy = pg.examples.random_mdp(4, 3, seed=5), pg.TabularSoftmax(4, 3)
    theta = policy.init_params(seed=5)
    weights = np.array([0.1, 0.5, 0.3, 0.1])

    def weighted_entropy(t):
        pi = np.exp(t) / np.exp(t).sum(1, keepdims=True)
        return float(weights @ -(pi * np.log(pi)).sum(1))

    assert np.allclose(
        ent.entropy_gradient(mdp, policy, theta, state_weights=weights),
        central_differences(weighted_entropy, theta),
        atol=1e-9,
    )


@pytest.mark.parametrize("zeta", [0.05, 0.5, 2.0])
def test_soft_optimum_solves_the_soft_bellman_equation_found_by_a_root_finder(zeta):
    mdp = pg.examples.random_mdp(5, 3, gamma=0.8, seed=6, n_terminal=1)
    live = ~mdp.terminal

    def residual(v_live):
        v = np.zeros(5)
        v[live] = v_live
        q = mdp.R + mdp.gamma * mdp.P @ v
        return (zeta * np.log(np.exp(q / zeta).sum(1)))[live] - v_live

    root = fsolve(residual, np.zeros(live.sum()), xtol=1e-12)
    best = ent.soft_optimum(mdp, temperature=zeta)
    assert np.allclose(best.values[live], root, atol=1e-10)
    # and it maximises J_ζ: no random policy does better
    rng = np.random.default_rng(6)
    top = plain_objective(mdp, best.policy, zeta)
    assert top == pytest.approx(float(mdp.initial @ best.values), abs=1e-10)
    for _ in range(200):
        assert plain_objective(mdp, rng.dirichlet(np.ones(3), size=5), zeta) <= top + 1e-12


def test_the_bias_bound_holds_on_random_problems():
    for seed in range(5):
        base = pg.examples.random_mdp(5, 3, gamma=0.9, seed=seed, n_terminal=1)
        optimum = ct.optimal_policy(base)
        for zeta in (0.01, 0.1, 1.0):
            best = ent.soft_optimum(base, temperature=zeta)
            gap = base.objective(optimum) - base.objective(best.policy)
            length = base.discounted_visitation(best.policy).sum()
            assert -1e-10 <= gap <= zeta * np.log(3) * length + 1e-10 <= zeta * np.log(3) / 0.1 + 1e-10


def test_the_episodic_bias_bound_holds_when_every_policy_ends():
    """γ = 1, every action ends the episode with probability at least 0.3: soft and plain value iteration written
    here (each backup a 0.7-contraction), the bound J* − J(π*_ζ) ≤ ζ log|A| E[T] of the chapter's proposition."""
    rng = np.random.default_rng(7)
    live, n_actions = 4, 3
    P = np.zeros((live + 1, n_actions, live + 1))
    P[:live, :, :live] = 0.7 * rng.dirichlet(np.ones(live), size=(live, n_actions))
    P[:live, :, live] = 0.3
    P[live, :, live] = 1.0
    R = np.zeros((live + 1, n_actions))
    R[:live] = rng.uniform(size=(live, n_actions))
    start = np.r_[1.0, np.zeros(live)]
    mdp = pg.FiniteMDP(P, R, gamma=1.0, initial=start, terminal=[live])
    Pl, Rl = P[:live, :, :live], R[:live]
    best_plain = np.zeros(live)
    for _ in range(200):
        best_plain = (Rl + Pl @ best_plain).max(axis=1)
    for zeta in (0.05, 0.3, 1.0):
        V = np.zeros(live)
        for _ in range(200):
            Q = Rl + Pl @ V
            V = Q.max(1) + zeta * np.log(np.exp((Q - Q.max(1, keepdims=True)) / zeta).sum(1))
        Q = Rl + Pl @ V
        soft = np.exp((Q - V[:, None]) / zeta)
        pi = np.vstack([soft / soft.sum(1, keepdims=True), np.full(n_actions, 1 / n_actions)])
        M = np.eye(live) - np.einsum("sa,sat->st", pi[:live], Pl)
        plain_value = np.linalg.solve(M, (pi[:live] * Rl).sum(1))[0]
        length = np.linalg.solve(M.T, start[:live]).sum()  # E[T] from state 0
        gap = best_plain[0] - plain_value
        assert 0 <= gap <= zeta * np.log(n_actions) * length
        # the library at γ = 1 agrees with soft value iteration written here
        policy = pg.TabularSoftmax(live + 1, n_actions)
        assert ent.regularised_objective(mdp, policy, np.log(pi), temperature=zeta) == pytest.approx(V[0], abs=1e-10)


def test_without_termination_for_every_policy_the_regularised_objective_is_unbounded():
    """The chain with γ = 1: lowering the probability of "right" makes episodes, and their entropy, as long as one
    likes, so J_ζ has no maximiser (the chapter's caveat to its episodic bound)."""
    chain = pg.examples.chain(5, gamma=1.0, n_actions=4)
    policy = pg.TabularSoftmax(5, 4)
    values = []
    for right in (0.5, 0.1, 0.02):
        pi = np.full((5, 4), (1 - right) / 3)
        pi[:, 1] = right
        values.append(ent.regularised_objective(chain, policy, np.log(pi), temperature=0.1))
    assert values[0] < values[1] < values[2] and values[2] > 1e3


def test_regularised_natural_step_is_the_natural_gradient_of_the_frozen_reward_problem():
    """θ + η/(1−γ) F⁺∇J_ζ, with ∇J_ζ the theorem on the reward R − ζ log π_θ held fixed (pg.natural_gradient: the
    Fisher pseudo-inverse), gives the table of one step of the library's update in every visited state."""
    mdp = pg.examples.random_mdp(5, 3, gamma=0.9, seed=8)
    policy = pg.TabularSoftmax(5, 3)
    theta = policy.init_params(seed=8)
    pi, zeta, eta = policy.probabilities(theta), 0.3, 0.2
    frozen = pg.FiniteMDP(mdp.P, mdp.R - zeta * np.log(pi), gamma=mdp.gamma, initial=mdp.initial)
    step = theta + eta / (1 - mdp.gamma) * pg.natural_gradient(frozen, policy, theta)
    tables = ent.regularised_natural_policy_iteration(mdp, pi, temperature=zeta, step_size=eta, n_iterations=1)
    assert np.allclose(policy.probabilities(step), tables[1], atol=1e-10)


def test_cen_bound_holds_and_soft_policy_iteration_reaches_the_soft_optimum():
    base = pg.examples.random_mdp(5, 3, gamma=0.8, seed=9)
    rewards = (base.R - base.R.min()) / np.ptp(base.R)
    mdp = pg.FiniteMDP(base.P, rewards, gamma=0.8, initial=base.initial)
    zeta = 0.2
    best = ent.soft_optimum(mdp, temperature=zeta)
    uniform = np.full((5, 3), 1 / 3)
    for eta in (0.1, 0.5, (1 - 0.8) / zeta):
        tables = ent.regularised_natural_policy_iteration(
            mdp, uniform, temperature=zeta, step_size=eta, n_iterations=30
        )
        errors = []
        for pi in tables:
            live_pi = pi
            v = np.linalg.solve(np.eye(5) - 0.8 * np.einsum("sa,sat->st", live_pi, mdp.P),
                                (live_pi * rewards).sum(1) - zeta * (live_pi * np.log(live_pi)).sum(1))  # fmt: skip
            errors.append(np.abs(best.action_values - (rewards + 0.8 * mdp.P @ v)).max())
        upsilon = errors[0] + 2 * zeta * (1 - eta * zeta / 0.2) * np.abs(np.log(best.policy / uniform)).max()
        assert np.all(np.array(errors[1:]) <= upsilon * 0.8 * (1 - eta * zeta) ** np.arange(30) + 1e-12)
    assert np.allclose(tables[-1], best.policy, atol=1e-10)


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: ent.policy_entropy([[0.5, 0.6]]), ValueError, "pi"),
        (
            lambda: ent.soft_values(pg.examples.chain(3), np.full((3, 2), 0.5), temperature=-1.0),
            ValueError,
            "temperature",
        ),
        (lambda: ent.soft_optimum(pg.examples.chain(3), temperature=0.0), ValueError, "temperature"),
        (lambda: ent.soft_optimum(pg.examples.chain(3, gamma=1.0), temperature=1.0), ValueError, "gamma"),
        (
            lambda: ent.entropy_gradient(
                pg.examples.chain(3), pg.TabularSoftmax(3, 2), np.zeros((3, 2)), state_weights=[1.0]
            ),
            ValueError,
            "state_weights",
        ),
        (
            lambda: ent.regularised_natural_policy_iteration(
                pg.examples.chain(3), [[1.0, 0.0]] * 3, temperature=1.0, step_size=0.1, n_iterations=1
            ),
            ValueError,
            "pi",
        ),
    ],
)
def test_bad_input_is_named(call, error, words):
    with pytest.raises(error, match=words):
        call()
