"""Training loops: they learn, they are reproducible, and what they record is what they say."""

import numpy as np
import pytest
import torch

import pgbook as pg
from pgbook import training


def test_reinforce_runs_improve_the_corridor_and_are_reproducible():
    mdp, policy = pg.examples.short_corridor(), pg.examples.short_corridor_policy()
    settings = dict(n_runs=10, n_episodes=150, step_size=2**-10, baseline_step_size=2**-6, max_steps=1_000, seed=1)
    history = training.reinforce_runs(mdp, policy, pg.examples.corridor_params(0.05), **settings)
    again = training.reinforce_runs(mdp, policy, pg.examples.corridor_params(0.05), **settings)
    np.testing.assert_array_equal(history.returns, again.returns)
    first = [pg.exact_objective(mdp, policy, theta) for theta in history.parameters[:, 0]]
    last = [pg.exact_objective(mdp, policy, theta) for theta in history.parameters[:, -1]]
    assert np.allclose(first, 2 * (0.05 - 2) / (0.05 * 0.95))
    assert np.median(last) > -20 > np.max(first)


def test_step_sizes_per_run():
    """One value per run is the same as that value given once, and a baseline step size of 0 is no baseline."""
    mdp, policy = pg.examples.short_corridor(), pg.examples.short_corridor_policy()
    common = dict(n_runs=3, n_episodes=20, max_steps=1_000, seed=2)
    start = pg.examples.corridor_params(0.2)
    once = training.reinforce_runs(mdp, policy, start, step_size=2**-10, **common)
    per_run = training.reinforce_runs(
        mdp, policy, start, step_size=[2**-10] * 3, baseline_step_size=[0, 0, 0], **common
    )
    np.testing.assert_array_equal(once.parameters, per_run.parameters)
    mixed = training.reinforce_runs(mdp, policy, start, step_size=[2**-10, 2**-10, 2**-5], **common)
    assert not np.array_equal(mixed.parameters[2], once.parameters[2])  # the third run took larger steps
    with pytest.raises(ValueError, match=r"step_size must be a number or one number per run, shape \(3,\)"):
        training.reinforce_runs(mdp, policy, start, step_size=[0.1, 0.1], **common)
    with pytest.raises(ValueError, match="baseline_step_size must be non-negative"):
        training.reinforce_runs(mdp, policy, start, step_size=0.1, baseline_step_size=[0.1, -0.1, 0], **common)


def test_one_run_one_episode_is_the_reward_to_go_update():
    """With one run and one episode the update must equal the library's reward-to-go estimate on the episode
    it sampled (same seed, same episode)."""
    mdp, policy = pg.examples.random_mdp(4, 2, gamma=0.9, seed=0), pg.TabularSoftmax(4, 2)
    theta = policy.init_params(seed=0)
    history = training.reinforce_runs(mdp, policy, theta, n_runs=1, n_episodes=2, step_size=0.1, max_steps=50, seed=3)
    rng = np.random.default_rng(3)
    batch = pg.sample_episodes(mdp, policy, theta, 1, max_steps=50, seed=rng)
    step = pg.reward_to_go(batch, policy, theta).mean
    np.testing.assert_allclose(history.parameters[0, 1], theta + 0.1 * step, rtol=1e-12)


def test_gradient_ascent_records_exact_quantities():
    mdp, policy = pg.examples.random_mdp(4, 2, gamma=0.9, seed=0), pg.TabularSoftmax(4, 2)
    history = training.gradient_ascent(
        mdp, policy, np.zeros((4, 2)), pg.reward_to_go, n_iterations=5, n_episodes=10, step_size=0.5,
        max_steps=100, seed=0,
    )  # fmt: skip
    for k in range(5):
        theta = history.parameters[k]
        assert history.objectives[k] == pg.exact_objective(mdp, policy, theta)
        assert history.gradient_norms[k] == pytest.approx(np.linalg.norm(pg.exact_gradient(mdp, policy, theta)))
    assert np.all(np.abs(history.cosines) <= 1)


def test_bad_arguments():
    mdp, policy = pg.examples.short_corridor(), pg.examples.short_corridor_policy()
    theta = pg.examples.corridor_params(0.5)
    with pytest.raises(ValueError, match="step_size must be positive"):
        training.reinforce_runs(mdp, policy, theta, n_runs=2, n_episodes=2, step_size=0.0, max_steps=10, seed=0)
    with pytest.raises(ValueError, match="n_runs"):
        training.reinforce_runs(mdp, policy, theta, n_runs=0, n_episodes=2, step_size=0.1, max_steps=10, seed=0)
    with pytest.raises(ValueError, match="theta must have shape"):
        training.reinforce_runs(mdp, policy, [1.0], n_runs=2, n_episodes=2, step_size=0.1, max_steps=10, seed=0)
    with pytest.raises(TypeError, match="estimator must be a callable"):
        training.gradient_ascent(
            mdp, policy, theta, "reinforce", n_iterations=2, n_episodes=2, step_size=0.1, max_steps=10, seed=0
        )


@pytest.mark.parametrize(
    "estimator",
    [
        pg.reward_to_go,
        lambda b, p, t: pg.reward_to_go(b, p, t).per_episode,
        lambda b, p, t: pg.reward_to_go(b, p, t).mean,
        lambda b, p, t: torch.tensor(pg.reward_to_go(b, p, t).mean),
    ],
    ids=["estimate", "per-episode", "mean-only", "torch-mean"],
)
def test_gradient_ascent_accepts_every_form_of_the_estimator_contract(estimator):
    """The same forms check_estimator accepts, giving the same ascent (the same mean on the same episodes)."""
    mdp, policy = pg.examples.random_mdp(4, 2, gamma=0.9, seed=0), pg.TabularSoftmax(4, 2)
    settings = dict(n_iterations=5, n_episodes=20, step_size=0.5, max_steps=200, seed=0)
    history = pg.training.gradient_ascent(mdp, policy, np.zeros((4, 2)), estimator, **settings)
    reference = pg.training.gradient_ascent(mdp, policy, np.zeros((4, 2)), pg.reward_to_go, **settings)
    np.testing.assert_allclose(history.parameters, reference.parameters, rtol=1e-12)


def test_gradient_ascent_names_a_broken_estimator():
    mdp, policy = pg.examples.random_mdp(4, 2, gamma=0.9, seed=0), pg.TabularSoftmax(4, 2)
    with pytest.raises(ValueError, match=r"the estimator returned shape \(3,\)"):
        pg.training.gradient_ascent(
            mdp,
            policy,
            np.zeros((4, 2)),
            lambda b, p, t: np.zeros(3),
            n_iterations=1,
            n_episodes=20,
            step_size=0.5,
            max_steps=200,
            seed=0,
        )
