"""GRPO's normalisations in the mistake catalogue (pgbook.mistakes.group_models): their exact expectations against
the listed responses of a tree (no code shared with the recursion), against the Monte-Carlo mean of an
implementation written as a user would on a general MDP (discounted, several start states, rewards before the
end), and their diagnosis by check_estimator.
"""

import numpy as np
import pytest
import torch
from sequence_oracle import group_limit

import pgbook as pg
from pgbook import sequences as sq
from pgbook.mistakes import CATALOGUE, expected_gradient, group_models

NAMES = [m.name for m in group_models()]
OPTIONS = dict(zip(NAMES, [(True, True), (True, False), (False, True)], strict=True))


@pytest.mark.parametrize("name", NAMES)
def test_against_the_listed_responses(name):
    """On the counting task: Σ_q μ0(q)/σ_q Σ_o π(o|q) (r − J_q) / |o|^ℓ ∇log π(o|q), from the listing."""
    spread, length = OPTIONS[name]
    task = sq.counting_task()
    policy = pg.TabularSoftmax(task.mdp.n_states, task.mdp.n_actions)
    theta = policy.init_params(seed=4)
    expected = group_limit(task, theta, spread=spread, length=length)
    (model,) = [m for m in group_models() if m.name == name]
    found = expected_gradient(task.mdp, policy, theta, task.horizon, [model])
    assert np.allclose(found, expected, atol=1e-13)


def user_grpo(batch, policy, theta, spread=True, length=True):
    """GRPO's advantages as a user writes them: group the batch's episodes by start state, normalise their
    returns, divide by each episode's length, weigh every step's score (one gradient per episode, for a tabular
    softmax in closed form)."""
    returns, starts = batch.returns(), batch.states[:, 0]
    advantages = np.zeros(batch.n_episodes)
    for start in np.unique(starts):
        mine = starts == start
        spread_here = returns[mine].std() if spread else 1.0
        if spread_here > 0:
            advantages[mine] = (returns[mine] - returns[mine].mean()) / spread_here
    if length:
        advantages = advantages / batch.lengths
    counts = np.zeros((batch.n_episodes, *np.shape(theta)))  # Σ_t w_t [s_t = s, a_t = a] per episode
    rows = np.broadcast_to(np.arange(batch.n_episodes)[:, None], batch.states.shape)
    alive = batch.alive
    np.add.at(
        counts,
        (rows[alive], batch.states[alive], batch.actions[alive]),
        np.broadcast_to(advantages[:, None], alive.shape)[alive],
    )
    pi = torch.softmax(torch.tensor(theta), dim=1).numpy()
    # ∂/∂θ(s, b) of Σ_a W(s, a) log π(a|s) for a tabular softmax: W(s, b) − π(b|s) Σ_a W(s, a)
    return counts - pi * counts.sum(axis=2, keepdims=True)


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_against_a_users_implementation_on_a_general_mdp(name):
    """A random MDP with γ = 0.9, four start states and rewards at every step: 20 000 episodes, every component
    within 4.5 standard errors of the exact large-batch limit (P(|z| > 4.5) = 6.8e-6; 10 components × 3 tests: a
    false failure below 2e-4, the seed fixed). The batch's own mean and deviation move the mean by O(1/N)."""
    spread, length = OPTIONS[name]
    mdp = pg.examples.random_mdp(5, 2, gamma=0.9, seed=3, n_terminal=1)
    policy = pg.TabularSoftmax(5, 2)
    theta = policy.init_params(seed=0)
    batch = pg.sample_episodes(mdp, policy, theta, 20_000, max_steps=200, seed=8)
    assert batch.terminated.all()
    samples = pg.GradientEstimate(user_grpo(batch, policy, theta, spread, length))
    (model,) = [m for m in group_models() if m.name == name]
    expected = expected_gradient(mdp, policy, theta, 200, [model])
    assert np.abs(pg.stats.z_scores(samples, expected)).max() < 4.5
    assert pg.direction.angle(expected, pg.exact_gradient(mdp, policy, theta)) > 1, "a bias to find"


@pytest.mark.slow
def test_check_estimator_names_grpo():
    """check_estimator's diagnosis (false alarm 1e-3) names GRPO's normalisations on two trees (as the chapter says):
    both, the standard deviation alone, and none for Dr. GRPO."""
    task = sq.counting_task()
    policy = pg.TabularSoftmax(task.mdp.n_states, task.mdp.n_actions)
    problems = [
        pg.Problem(f"θ {s}", task.mdp, policy, policy.init_params(seed=s, scale=0.5), task.horizon) for s in (4, 1)
    ]

    for spread, length, named in ((True, True, NAMES[0]), (True, False, NAMES[1]), (False, False, None)):

        def estimator(batch, policy, theta, *, spread=spread, length=length):  # keyword-only: no 4th argument
            return user_grpo(batch, policy, theta, spread, length)

        report = pg.check_estimator(
            estimator, problems=problems, n_episodes=20_000, seed=0, catalogue=CATALOGUE + group_models()
        )
        if named is None:  # Dr. GRPO in the large-group limit: the gradient
            assert report.verdict == "unbiased"
        else:
            assert report.verdict == "biased"
            assert [m.name for m in report.diagnosis.matches] == [named]


def test_without_normalisation_it_is_the_gradient():
    mdp = pg.examples.random_mdp(5, 2, gamma=1.0, seed=3, n_terminal=1)
    policy = pg.TabularSoftmax(5, 2)
    theta = policy.init_params(seed=0)
    from pgbook.mistakes import Setting, _direction, _group_normalised

    setting = Setting(mdp, policy, theta, 300)
    assert np.allclose(
        _direction(setting, _group_normalised(setting, False, False)), pg.exact_gradient(mdp, policy, theta)
    )
