r"""Every trajectory of a short episodic problem, enumerated: J and ∇J with no linear algebra.

When every episode ends within ``horizon`` steps and the problem is small, the expectations that define the objective
and its gradient are finite sums over trajectories :math:`\tau = (s_0, a_0, s_1, \dots)`:

.. math::
    \Pr(\tau) &= \mu_0(s_0) \prod_t \pi_\theta(a_t|s_t) \\
        &\qquad \times P(s_{t+1}|s_t, a_t), \\
    G(\tau) &= \sum_t \gamma^t R(s_t, a_t), \\
    J(\theta) &= \sum_\tau \Pr(\tau)\, G(\tau), \\
    \nabla J(\theta) &= \sum_\tau \nabla \Pr(\tau)\, G(\tau) \\
        &= \sum_\tau \Pr(\tau)\, G(\tau) \\
        &\qquad \times \sum_t \nabla \log \pi_\theta(a_t|s_t),

the last line because the dynamics in :math:`\Pr(\tau)` do not depend on θ. Nothing here solves a linear system
or uses the policy gradient theorem: :func:`enumerate_trajectories` is an oracle for both that shares no code
path with :func:`pgbook.exact_objective` and :func:`pgbook.exact_gradient`. :func:`layered_mdp` makes problems
on which it is finite: states in layers, each step moving to the next layer, the last layer ending the episode.
"""

from __future__ import annotations

import numpy as np

from pgbook.arguments import as_count, as_seed, as_unit_interval
from pgbook.batch import Batch
from pgbook.mdp import FiniteMDP
from pgbook.policies import Params, Policy, policy_table


def layered_mdp(
    n_layers: int, width: int, n_actions: int, *, gamma: float = 0.9, seed: int | np.random.Generator | None = None
) -> FiniteMDP:
    r"""A random episodic MDP whose every episode lasts exactly ``n_layers`` steps.

    ``n_layers`` layers of ``width`` states; from a state of layer k every action moves to a state of layer k + 1
    (Dirichlet(1) probabilities), from the last layer to the terminal state (the last one). Rewards are standard
    normal; episodes start in the first layer (Dirichlet(1) start distribution).

    >>> mdp = layered_mdp(3, 2, 2, gamma=1.0, seed=0)
    >>> mdp
    FiniteMDP(n_states=7, n_actions=2, gamma=1.0, terminal=[6])
    """
    n_layers, width, n_actions = (as_count(name, value) for name, value in
                                  (("n_layers", n_layers), ("width", width), ("n_actions", n_actions)))  # fmt: skip
    rng = as_seed("seed", seed)
    n_states = n_layers * width + 1
    end = n_states - 1
    P = np.zeros((n_states, n_actions, n_states))
    for layer in range(n_layers):
        states = range(layer * width, (layer + 1) * width)
        if layer + 1 < n_layers:
            following = slice((layer + 1) * width, (layer + 2) * width)
            for s in states:
                P[s, :, following] = rng.dirichlet(np.ones(width), size=n_actions)
        else:
            P[list(states), :, end] = 1.0
    P[end, :, end] = 1.0
    R = rng.standard_normal((n_states, n_actions))
    R[end] = 0.0
    initial = np.zeros(n_states)
    initial[:width] = rng.dirichlet(np.ones(width))
    return FiniteMDP(P, R, gamma=as_unit_interval("gamma", gamma), initial=initial, terminal=[end])


def enumerate_episodes(mdp: FiniteMDP, policy: Policy, theta: Params, *, horizon: int) -> tuple[Batch, np.ndarray]:
    r"""Every episode of positive probability under :math:`\pi_\theta` of at most ``horizon`` steps, as one
    :class:`~pgbook.Batch`, and each episode's probability :math:`\Pr(\tau)` :math:`{} = \mu_0(s_0)`
    :math:`\prod_t \pi_\theta(a_t|s_t)` :math:`P(s_{t+1}|s_t, a_t)` (they sum to 1). The exact
    expectation of any estimator is then ``probabilities @ estimate.per_episode``: a finite sum, not a sample.

    Raises ValueError if an episode can still be running after ``horizon`` steps: the sums would be cut off.

    >>> import pgbook as pg
    >>> mdp = layered_mdp(2, 2, 2, gamma=0.9, seed=0)
    >>> batch, probabilities = enumerate_episodes(mdp, pg.TabularSoftmax(5, 2), np.zeros((5, 2)), horizon=2)
    >>> batch.n_episodes, round(float(probabilities.sum()), 12)
    (16, 1.0)
    """
    horizon = as_count("horizon", horizon)
    pi = policy_table(mdp, policy, theta)
    episodes: list[tuple[float, list[int], list[int], int]] = []

    def extend(state: int, probability: float, states: list[int], actions: list[int]) -> None:
        if mdp.terminal[state]:
            episodes.append((probability, states, actions, state))
            return
        if len(states) == horizon:
            raise ValueError(
                f"an episode can still be running after horizon={horizon} steps (state {state}); "
                "horizon must cover every episode"
            )
        for action in np.flatnonzero(pi[state] > 0):
            for successor in np.flatnonzero(mdp.P[state, action] > 0):
                extend(
                    int(successor),
                    probability * pi[state, action] * mdp.P[state, action, successor],
                    [*states, state],
                    [*actions, int(action)],
                )

    for start in np.flatnonzero(mdp.initial > 0):
        extend(int(start), float(mdp.initial[start]), [], [])
    longest = max(len(states) for _, states, _, _ in episodes)
    shape = (len(episodes), longest)
    states, actions, alive = np.zeros(shape, np.int64), np.zeros(shape, np.int64), np.zeros(shape, bool)
    for i, (_, visited, taken, _) in enumerate(episodes):
        states[i, : len(visited)], actions[i, : len(taken)], alive[i, : len(taken)] = visited, taken, True
    batch = Batch(
        states=states,
        actions=actions,
        rewards=np.where(alive, mdp.R[states, actions], 0.0),
        alive=alive,
        final_states=np.array([final for *_, final in episodes], dtype=np.int64),
        terminated=np.ones(len(episodes), dtype=bool),
        gamma=mdp.gamma,
    )
    return batch, np.array([probability for probability, *_ in episodes])


def enumerate_trajectories(
    mdp: FiniteMDP, policy: Policy, theta: Params, *, horizon: int
) -> tuple[float, np.ndarray, int]:
    r"""J(θ) and ∇J(θ) as sums over every trajectory of at most ``horizon`` steps (:func:`enumerate_episodes`),
    and the number of trajectories of positive probability. ∇J is
    :math:`\sum_\tau \Pr(\tau) \sum_t \nabla\log\pi(a_t|s_t)\, G(\tau)` with ``policy.score(theta)`` for the
    score; no linear solve, no theorem.

    Raises ValueError if an episode can still be running after ``horizon`` steps: the sums would be cut off.

    >>> import pgbook as pg
    >>> mdp, policy = layered_mdp(3, 2, 2, gamma=0.9, seed=0), pg.TabularSoftmax(7, 2)
    >>> theta = policy.init_params(seed=0)
    >>> J, gradient, count = enumerate_trajectories(mdp, policy, theta, horizon=3)
    >>> count, bool(np.isclose(J, pg.exact_objective(mdp, policy, theta), rtol=1e-12))
    (64, True)
    """
    batch, probabilities = enumerate_episodes(mdp, policy, theta, horizon=horizon)
    score = policy.score(theta)
    score_sums = np.einsum("it,it...->i...", batch.alive.astype(float), score[batch.states, batch.actions])
    weights = probabilities * batch.returns()
    return float(weights.sum()), np.tensordot(weights, score_sums, axes=1), batch.n_episodes
