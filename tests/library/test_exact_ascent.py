"""Exact ascent: its steps against closed forms, and the chain problem's optimum."""

import numpy as np
import pytest

import pgbook as pg


def test_one_natural_step_on_tabular_softmax_is_the_mirror_descent_step():
    """π ← π exp(η A / (1−γ)), normalised (Agarwal et al. 2021, Lemma 5.1 of arXiv:1908.00261v5), from the
    advantages alone."""
    mdp = pg.examples.random_mdp(5, 3, gamma=0.9, seed=0)
    policy = pg.TabularSoftmax(5, 3)
    theta = policy.init_params(seed=0)
    eta = 0.3
    run = pg.exact_ascent(mdp, policy, theta, step_size=eta, n_iterations=1, direction="natural")
    pi, A = policy.probabilities(theta), pg.advantages(mdp, policy, theta)
    expected = pi * np.exp(eta * A / (1 - mdp.gamma))
    expected /= expected.sum(axis=1, keepdims=True)
    assert np.allclose(policy.probabilities(run.final_theta), expected, atol=1e-12)
    assert run.objectives[1] == pytest.approx(mdp.objective(expected), abs=1e-12)


def test_natural_step_is_the_mirror_descent_step_on_an_episodic_problem_too():
    """With a terminal state Σd < 1/(1−γ) and changes along a run; the step η/(1−γ) · F⁺∇J (unnormalised F)
    is still π exp(η A / (1−γ)) in every visited state, and its size does not depend on Σd."""
    mdp = pg.examples.chain(5, gamma=0.9, n_actions=3)
    policy = pg.TabularSoftmax(5, 3)
    theta = np.random.default_rng(2).normal(size=(5, 3))
    eta = 0.7
    run = pg.exact_ascent(mdp, policy, theta, step_size=eta, n_iterations=3, direction="natural")
    for k in range(3):
        P, R, g = mdp.P, mdp.R, mdp.gamma
        pi = policy.probabilities(run.parameters[k])
        live = np.arange(4)  # the chain's last state is terminal
        P_pi = np.einsum("sa,sat->st", pi, P)[np.ix_(live, live)]
        V = np.zeros(5)
        V[live] = np.linalg.solve(np.eye(live.size) - g * P_pi, (pi * R).sum(1)[live])
        A = R + g * P @ V - V[:, None]
        expected = pi * np.exp(eta * A / (1 - g))
        expected /= expected.sum(axis=1, keepdims=True)
        after = policy.probabilities(run.parameters[k + 1])
        assert np.allclose(after[live], expected[live], atol=1e-10)
        assert np.allclose(after[4], pi[4], atol=1e-12)  # d = 0 there: unchanged
    assert pg.discounted_visitation(mdp, policy, theta).sum() < 0.9 / (1 - mdp.gamma)  # really episodic
    with pytest.raises(ValueError, match="gamma"):
        pg.exact_ascent(pg.examples.chain(3, gamma=1.0), pg.TabularSoftmax(3, 2), np.zeros((3, 2)),
                        step_size=1.0, n_iterations=1, direction="natural")  # fmt: skip


def test_one_gradient_step_follows_the_tabular_closed_form():
    """∂J/∂θ_{s,a} = d(s) π(a|s) A(s,a) (Agarwal et al. 2021)."""
    mdp = pg.examples.random_mdp(4, 2, gamma=0.8, seed=1)
    policy = pg.TabularSoftmax(4, 2)
    theta = policy.init_params(seed=1)
    run = pg.exact_ascent(mdp, policy, theta, step_size=0.5, n_iterations=1)
    d = pg.discounted_visitation(mdp, policy, theta)
    closed_form = d[:, None] * policy.probabilities(theta) * pg.advantages(mdp, policy, theta)
    assert np.allclose(run.final_theta, theta + 0.5 * closed_form, atol=1e-12)


def test_chain_optimum_and_ascent_records():
    for n in (2, 3, 6):
        mdp = pg.examples.chain(n, gamma=0.8, n_actions=3)
        right = np.tile(np.eye(3)[pg.examples.RIGHT], (n, 1))
        assert mdp.objective(right) == pytest.approx(0.8 ** (n - 2))
        assert mdp.objective(np.tile(np.eye(3)[0], (n, 1))) == 0.0
    mdp, policy = pg.examples.chain(5), pg.TabularSoftmax(5, 2)
    run = pg.exact_ascent(mdp, policy, np.zeros((5, 2)), step_size=1.0, n_iterations=50, record=[0, 10, 50])
    assert run.objectives.shape == (3,) and np.all(np.diff(run.objectives) > 0)
    assert run.objectives[0] == pytest.approx(pg.exact_objective(mdp, policy, np.zeros((5, 2))))
    assert np.allclose(pg.exact_objectives(mdp, policy, run.parameters), run.objectives)
    assert np.array_equal(run.parameters[-1], run.final_theta)
    assert run.iterations_to_reach(2.0) is None and run.iterations_to_reach(-1.0) == 0
    uniform = pg.examples.chain(5, initial=[0.25, 0.25, 0.25, 0.25, 0.0])
    judged = pg.exact_ascent(uniform, policy, np.zeros((5, 2)), step_size=1.0, n_iterations=5, judged_on=mdp)
    ascended = pg.exact_ascent(uniform, policy, np.zeros((5, 2)), step_size=1.0, n_iterations=5)
    assert np.array_equal(judged.parameters, ascended.parameters)
    assert np.allclose(judged.objectives, [mdp.objective(policy.probabilities(t)) for t in judged.parameters])
    with pytest.raises(ValueError, match="judged_on"):
        pg.exact_ascent(mdp, policy, np.zeros((5, 2)), step_size=1.0, n_iterations=1, judged_on=pg.examples.chain(4))


def test_bad_arguments_are_named():
    mdp, policy = pg.examples.chain(3), pg.TabularSoftmax(3, 2)
    theta = np.zeros((3, 2))
    for kwargs, name in (
        ({"step_size": -1.0, "n_iterations": 2}, "step_size"),
        ({"step_size": 1.0, "n_iterations": 2, "direction": "mirror"}, "direction"),
        ({"step_size": 1.0, "n_iterations": 2, "record": [3]}, "record"),
        ({"step_size": 1.0, "n_iterations": 2, "record": [1, 1]}, "record"),
    ):
        with pytest.raises(ValueError, match=name):
            pg.exact_ascent(mdp, policy, theta, **kwargs)
    with pytest.raises(ValueError, match="initial"):
        pg.examples.chain(3, initial=[0.5, 0.0, 0.5])
    with pytest.raises(ValueError, match="n_states"):
        pg.examples.chain(1)


@pytest.mark.parametrize("direction", ["gradient", "natural"])
def test_arguments_are_checked_once_per_call_not_per_step(direction, monkeypatch):
    """The loop works on checked values: θ and the policy table are validated when the call starts, never at
    each of its 30 steps (an ascent step used to re-validate θ and re-table π four times)."""
    mdp, policy = pg.examples.random_mdp(4, 3, gamma=0.9, seed=0), pg.TabularSoftmax(4, 3)
    checks = {"check_params": 0, "check_policy_table": 0}

    def counted(name, check):
        def wrapper(*args, **kwargs):
            checks[name] += 1
            return check(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(pg.TabularSoftmax, "check_params", counted("check_params", pg.TabularSoftmax.check_params))
    monkeypatch.setattr(
        pg.FiniteMDP, "check_policy_table", counted("check_policy_table", pg.FiniteMDP.check_policy_table)
    )
    run = pg.exact_ascent(mdp, policy, policy.init_params(seed=0), step_size=0.5, n_iterations=30, direction=direction)
    assert run.objectives.size == 31 and checks["check_params"] > 0
    assert checks["check_params"] <= 2 and checks["check_policy_table"] <= 1, checks
