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


@pytest.mark.slow  # statistical: 100,000 episodes per case
@pytest.mark.parametrize("per_decision", [True, False])
def test_off_policy_gradient_is_unbiased(per_decision):
    """Bonferroni over the 15 components, false-failure rate 1e-3, fixed seed."""
    batch = pg.sample_episodes(MDP, POLICY, OLD, 100_000, max_steps=400, seed=1)
    estimate = su.off_policy_gradient(batch, POLICY, NEW, OLD, per_decision=per_decision)
    z = pg.stats.z_scores(estimate, pg.exact_gradient(MDP, POLICY, NEW))
    assert np.abs(z).max() < pg.stats.two_sided_threshold(1e-3, z.size)


def test_off_policy_at_the_behaviour_policy_is_reward_to_go():
    batch = pg.sample_episodes(MDP, POLICY, OLD, 500, max_steps=400, seed=2)
    for per_decision in (True, False):
        estimate = su.off_policy_gradient(batch, POLICY, OLD, OLD, per_decision=per_decision)
        np.testing.assert_allclose(estimate.per_episode, pg.reward_to_go(batch, POLICY, OLD).per_episode)


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


def test_off_policy_gradient_names_a_batch_that_does_not_fit():
    """A batch from a 3-state problem with a 2-state policy (IndexError before), and behaviour probabilities
    ~0 on the batch's actions (overflowing ratios, inf and nan before)."""
    three = pg.examples.random_mdp(3, 2, gamma=0.9, seed=0)
    batch = pg.sample_episodes(three, pg.TabularSoftmax(3, 2), np.zeros((3, 2)), 50, max_steps=40, seed=0)
    with pytest.raises(ValueError, match="batch holds states or actions outside the policy's 2 states"):
        su.off_policy_gradient(batch, pg.TabularSoftmax(2, 2), np.zeros((2, 2)), np.zeros((2, 2)))
    never = np.tile([800.0, -800.0], (3, 1))  # action 1 has probability e^-1600 = 0 under the behaviour policy
    with pytest.raises(ValueError, match="behaviour_theta gives probability 0 to action 1 in state"):
        su.off_policy_gradient(batch, pg.TabularSoftmax(3, 2), np.zeros((3, 2)), never)
