"""Surrogate objectives against autodiff, exact objectives and Monte Carlo."""

import numpy as np
import pytest
import torch

import pgbook as pg
from pgbook import surrogate as su

MDP = pg.examples.random_mdp(5, 3, gamma=0.9, seed=2, n_terminal=1)
POLICY = pg.TabularSoftmax(5, 3)
OLD = POLICY.init_params(seed=3)
NEW = OLD + 0.4 * np.random.default_rng(0).normal(size=OLD.shape)


def test_surrogate_touches_j_to_first_order():
    assert su.surrogate_objective(MDP, POLICY, OLD, OLD) == pytest.approx(pg.exact_objective(MDP, POLICY, OLD))
    np.testing.assert_allclose(su.surrogate_gradient(MDP, POLICY, OLD, OLD), pg.autodiff_gradient(MDP, POLICY, OLD))
    numerical = pg.finite_difference(lambda t: su.surrogate_objective(MDP, POLICY, OLD, t), NEW)
    np.testing.assert_allclose(su.surrogate_gradient(MDP, POLICY, OLD, NEW), numerical, atol=1e-7)


def test_kl_and_total_variation_against_direct_sums():
    p, q = POLICY.probabilities(OLD), POLICY.probabilities(NEW)
    np.testing.assert_allclose(su.kl_divergences(POLICY, OLD, NEW), [sum(p[s] * np.log(p[s] / q[s])) for s in range(5)])
    np.testing.assert_allclose(su.total_variations(POLICY, OLD, NEW), np.abs(p - q).sum(axis=1) / 2)


def test_bound_holds_on_random_policies():
    continuing = pg.examples.random_mdp(5, 3, gamma=0.9, seed=4)
    rng = np.random.default_rng(5)
    for _ in range(20):
        new = OLD + rng.normal(scale=rng.uniform(0.01, 2.0), size=OLD.shape)
        assert su.improvement_bound(continuing, POLICY, OLD, new) <= pg.exact_objective(continuing, POLICY, new)


def test_clipped_gradient_at_old_is_the_policy_gradient_and_matches_finite_differences_away():
    for epsilon in (0.1, 0.2, 0.5):
        np.testing.assert_allclose(
            su.clipped_gradient(MDP, POLICY, OLD, OLD, epsilon=epsilon), pg.exact_gradient(MDP, POLICY, OLD)
        )
    near = OLD + 0.05 * np.random.default_rng(1).normal(size=OLD.shape)
    numerical = pg.finite_difference(lambda t: su.clipped_objective(MDP, POLICY, OLD, t, epsilon=0.2), near)
    np.testing.assert_allclose(su.clipped_gradient(MDP, POLICY, OLD, near, epsilon=0.2), numerical, atol=1e-6)


def test_autodiff_of_the_pseudo_loss_is_reward_to_go():
    batch = pg.sample_episodes(MDP, POLICY, OLD, 300, max_steps=400, seed=3)
    theta = torch.tensor(OLD, requires_grad=True)
    log_pi = POLICY.torch_log_probabilities(theta)[batch.states, batch.actions]
    weights = torch.tensor(np.array(batch.discounts()) * batch.returns_to_go() * batch.alive)
    (-(log_pi * weights).sum() / batch.n_episodes).backward()
    np.testing.assert_allclose(-theta.grad.numpy(), pg.reward_to_go(batch, POLICY, OLD).mean, atol=1e-12)


def test_bad_arguments():
    with pytest.raises(ValueError, match="epsilon must lie in"):
        su.clipped_objective(MDP, POLICY, OLD, NEW, epsilon=1.5)
    with pytest.raises(ValueError, match="the bound needs gamma < 1"):
        su.improvement_bound(pg.examples.short_corridor(), pg.examples.short_corridor_policy(), [0.0, 0.0], [0.1, 0.0])


def plain_tables(mdp, pi):
    """V, the unnormalised visitation and P_π on the live states, by plain linear solves."""
    live = ~mdp.terminal
    P_pi = np.einsum("sa,sat->st", pi, mdp.P) * live[:, None] * live[None, :]
    inverse = np.linalg.inv(np.eye(mdp.n_states) - mdp.gamma * P_pi)
    values = inverse @ ((pi * mdp.R).sum(1) * live)
    return values, (mdp.initial * live) @ inverse, P_pi


@pytest.mark.parametrize("mdp", [MDP, pg.examples.random_mdp(5, 3, gamma=0.9, seed=2)], ids=["episodic", "continuing"])
def test_improvement_bound_lines_against_plain_numpy(mdp):
    for scale in (0.2, 1.0, 3.0):
        new = OLD + scale * np.random.default_rng(1).normal(size=OLD.shape)
        old_pi, new_pi = POLICY.probabilities(OLD), POLICY.probabilities(new)
        v_old, d_old, P_old = plain_tables(mdp, old_pi)
        v_new, d_new, P_new = plain_tables(mdp, new_pi)
        adv = mdp.R + mdp.gamma * mdp.P @ v_old - v_old[:, None]
        a_bar = (new_pi * adv).sum(1)
        lines = su.improvement_bound_lines(mdp, POLICY, OLD, new)
        j_old, j_new = mdp.initial @ v_old, mdp.initial @ v_new
        assert lines.difference == pytest.approx(j_new - j_old, abs=1e-12)
        assert lines.lemma == pytest.approx(j_new - j_old, abs=1e-12)  # performance difference
        assert lines.surrogate_gain == pytest.approx(d_old @ a_bar, abs=1e-12)
        assert lines.gap == pytest.approx((j_new - j_old) - d_old @ a_bar, abs=1e-12)
        assert lines.shift_identity < 1e-12
        tv = 0.5 * np.abs(new_pi - old_pi).sum(1) * ~mdp.terminal
        assert abs(lines.gap) <= lines.holder + 1e-12
        assert lines.shift == pytest.approx(np.abs(d_new - d_old).sum(), abs=1e-12)
        assert lines.shift <= lines.shift_bound + 1e-12
        assert lines.shift_bound == pytest.approx(2 * mdp.gamma / (1 - mdp.gamma) * d_old @ tv)
        assert lines.holder <= lines.mean_tv_penalty + 1e-12
        assert lines.advantage_sup <= lines.advantage_bound + 1e-12
        alpha, epsilon = tv.max(), np.abs(adv).max()
        assert lines.penalty == pytest.approx(4 * epsilon * mdp.gamma * alpha**2 / (1 - mdp.gamma) ** 2)
        assert lines.mean_tv_penalty <= lines.penalty + 1e-12


def test_fisher_vector_products_and_the_trpo_step():
    F = pg.fisher_matrix(MDP, POLICY, OLD, normalized=True)
    rng = np.random.default_rng(3)
    for _ in range(3):
        v = rng.normal(size=OLD.shape)
        assert np.allclose(su.fisher_vector_product(MDP, POLICY, OLD, v).ravel(), F @ v.ravel(), atol=1e-12)
    natural = pg.natural_gradient(MDP, POLICY, OLD, normalized=True)
    g = pg.autodiff_gradient(MDP, POLICY, OLD)
    for delta in (0.001, 0.01, 0.1):
        step = su.trpo_step(MDP, POLICY, OLD, max_kl=delta)
        expected = np.sqrt(2 * delta / (g.ravel() @ natural.ravel())) * natural
        assert np.allclose(step, expected, rtol=1e-8, atol=1e-12)  # the natural gradient scaled to the KL radius
        assert step.ravel() @ F @ step.ravel() / 2 == pytest.approx(delta, rel=1e-9)
    # CG from 0 on a singular F: the minimum-norm solution (no component along the null space, constant per state)
    assert np.allclose(su.trpo_step(MDP, POLICY, OLD, max_kl=0.01).sum(axis=1), 0.0, atol=1e-10)


def test_ppo_inner_loop_follows_the_clipping_rule():
    """The clipped gradient, term by term for tabular softmax: ∇_θ(s,·) ρ(a|s) = ρ (e_a − π(·|s)); a term is
    removed exactly when its ratio has passed the boundary on the side its advantage favours."""
    epsilon = 0.2
    run = su.ppo_inner_loop(MDP, POLICY, OLD, epsilon=epsilon, step_size=0.25, n_steps=40, record=[0, 10, 40])
    old_pi = POLICY.probabilities(OLD)
    v, d, _ = plain_tables(MDP, old_pi)
    adv = MDP.R + MDP.gamma * MDP.P @ v - v[:, None]
    theta = OLD.copy()
    for k in range(41):
        pi = POLICY.probabilities(theta)
        ratio = pi / old_pi
        active = ~(((adv > 0) & (ratio > 1 + epsilon)) | ((adv < 0) & (ratio < 1 - epsilon)))
        weights = d[:, None] * old_pi * adv * ratio * active  # d π_old A ρ, for the terms still in play
        gradient = weights - pi * weights.sum(axis=1, keepdims=True)
        if k in (0, 10, 40):
            i = [0, 10, 40].index(k)
            assert run.min_ratio[i] == pytest.approx(ratio[d > 0].min()) and run.max_ratio[i] == pytest.approx(
                ratio[d > 0].max()
            )
            assert run.clipped[i] == pytest.approx((d[:, None] * old_pi)[~active].sum() / d.sum())
            assert np.allclose(su.clipped_gradient(MDP, POLICY, OLD, theta, epsilon=epsilon), gradient, atol=1e-12)
        if k < 40:
            theta = theta + 0.25 * gradient
    assert np.allclose(run.final_theta, theta, atol=1e-10)
    early = su.ppo_inner_loop(MDP, POLICY, OLD, epsilon=0.2, step_size=0.25, n_steps=400, record=[0], target_kl=0.01)
    assert early.stopped_at is not None and early.stopped_at < 400


def test_ppo_as_practised_starts_along_the_update_field():
    """With the undiscounted weighting d₁ (the loss averaged over time steps), the clipped gradient at θ_old is
    u = Σ_s d₁(s) Σ_a Q_γ ∇π, not ∇J."""
    practised = su.clipped_gradient(MDP, POLICY, OLD, OLD, epsilon=0.2, weighting="undiscounted")
    old_pi = POLICY.probabilities(OLD)
    undiscounted = pg.FiniteMDP(MDP.P, MDP.R, gamma=1.0, initial=MDP.initial, terminal=MDP.terminal)
    _, d_one, _ = plain_tables(undiscounted, old_pi)
    v, _, _ = plain_tables(MDP, old_pi)
    q = MDP.R + MDP.gamma * MDP.P @ v
    weights = d_one[:, None] * old_pi * q
    assert np.allclose(practised, weights - old_pi * weights.sum(axis=1, keepdims=True), atol=1e-12)
    assert not np.allclose(practised, pg.exact_gradient(MDP, POLICY, OLD), atol=1e-3)
    with pytest.raises(ValueError, match="weighting"):
        su.clipped_gradient(MDP, POLICY, OLD, OLD, epsilon=0.2, weighting="average")
