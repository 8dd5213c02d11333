"""The problems the library is tested on (random ones as a hypothesis strategy, and named ones), and the comparison
of a computed gradient with the exact one at the problem's own scale."""

import numpy as np
from hypothesis import strategies as st

import pgbook as pg


@st.composite
def problems(draw, *, max_states: int = 6, max_actions: int = 4):
    """A random MDP (continuing with gamma < 1, or episodic with gamma = 1), a policy and theta.

    The policy is tabular or linear softmax; theta has entries up to 3 in size, so that some action
    probabilities are far from uniform.
    """
    n_states = draw(st.integers(1, max_states), label="n_states")
    n_actions = draw(st.integers(1, max_actions), label="n_actions")
    episodic = n_states > 1 and draw(st.booleans(), label="episodic")
    gamma = 1.0 if episodic else draw(st.floats(0.0, 0.95), label="gamma")
    seed = draw(st.integers(0, 2**32 - 1), label="seed")
    mdp = pg.examples.random_mdp(n_states, n_actions, gamma=gamma, seed=seed, n_terminal=int(episodic))
    rng = np.random.default_rng(seed + 1)
    if draw(st.booleans(), label="linear"):
        policy = pg.LinearSoftmax(rng.standard_normal((n_states, n_actions, draw(st.integers(1, 5)))))
    else:
        policy = pg.TabularSoftmax(n_states, n_actions)
    theta = rng.uniform(-3.0, 3.0, size=policy.param_shape)
    return mdp, policy, theta


def gradient_scale(mdp: pg.FiniteMDP, policy: pg.Policy, theta: np.ndarray) -> float:
    r"""A natural size for ∇J on this problem: Σ_s d(s) · max|Q| · max|∇ logits|.

    It bounds ‖∇J‖_∞ up to a small constant, and serves as the absolute floor of relative comparisons, so
    that a gradient that is zero (one action, say) is compared at the problem's own scale and not at 0.
    """
    visitation = pg.discounted_visitation(mdp, policy, theta)
    q_values = pg.action_values(mdp, policy, theta)
    features = getattr(policy, "features", np.ones(1))
    return float(visitation.sum() * max(np.abs(q_values).max(), 1e-300) * np.abs(features).max())


def assert_close(actual, expected, *, rtol: float, scale: float) -> None:
    """‖actual − expected‖_∞ ≤ rtol · max(‖expected‖_∞, scale), with a message giving both sides."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    error = np.abs(actual - expected).max(initial=0.0)
    bound = rtol * max(np.abs(expected).max(initial=0.0), scale)
    assert error <= bound, f"error {error:.3e} > {bound:.3e}\nactual   {actual}\nexpected {expected}"


def corridor_batch() -> pg.Batch:
    """Five short-corridor episodes at P(right) = 0.3, seed 0: a small valid batch for the input tests to edit."""
    mdp, policy = pg.examples.short_corridor(), pg.examples.short_corridor_policy()
    return pg.sample_episodes(mdp, policy, pg.examples.corridor_params(0.3), 5, max_steps=1_000, seed=0)


def estimator_problems() -> dict[str, tuple]:
    """The problems the estimators are tested on: name → (mdp, policy, θ, max_steps)."""
    corridor = (
        pg.examples.short_corridor(),
        pg.examples.short_corridor_policy(),
        pg.examples.corridor_params(0.3),
        2_000,
    )
    bandit_policy = pg.TabularSoftmax(1, 4)
    bandit = pg.examples.bandit([1.0, -0.5, 2.0, 0.3]), bandit_policy, bandit_policy.init_params(seed=3), 1
    tabular = pg.TabularSoftmax(10, 4)
    # Cut off at 150 steps: the discounted rewards left out (γ^150 ≈ 1e-7 of the scale) bias the mean by well
    # under a thousandth of its standard error.
    continuing = pg.examples.random_mdp(10, 4, gamma=0.9, seed=0), tabular, tabular.init_params(seed=0), 150
    episodic = (
        pg.examples.random_mdp(10, 4, gamma=1.0, seed=1, n_terminal=2),
        tabular,
        tabular.init_params(seed=1),
        2_000,
    )
    linear = pg.LinearSoftmax(np.random.default_rng(2).standard_normal((10, 4, 3)))
    discounted_episodic = (
        pg.examples.random_mdp(10, 4, gamma=0.8, seed=2, n_terminal=1),
        linear,
        linear.init_params(seed=2),
        300,
    )
    return {
        "corridor": corridor,
        "corridor, torch sampling": corridor,
        "bandit": bandit,
        "continuing": continuing,
        "episodic": episodic,
        "discounted-episodic-linear": discounted_episodic,
    }
