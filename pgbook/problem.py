r"""A problem to check a gradient estimator on: a finite MDP, a policy, θ, and what is known about it exactly.

A :class:`Problem` is what :func:`pgbook.check_estimator` samples episodes from, what
:func:`pgbook.check_samples` compares another library's gradient samples on, and what the catalogue of
mistakes (:mod:`pgbook.mistakes`) computes exact expected values for. Its exact quantities (:math:`\nabla J`,
:math:`V`) come from the policy gradient theorem's linear algebra; :meth:`Problem.env` is the same MDP as a
Gymnasium environment, for a library that collects its own rollouts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from pgbook import examples
from pgbook.arguments import as_count, as_real_array, check_shape
from pgbook.evaluation import state_values
from pgbook.gradients import exact_gradient
from pgbook.mdp import FiniteMDP
from pgbook.policies import Params, Policy, TabularSoftmax


@dataclass(frozen=True, eq=False)  # compared by identity: θ and the critic are arrays
class Problem:
    r"""A finite MDP, a policy, parameters θ and the episode cut-off ``max_steps`` to sample it with.

    Parameters
    ----------
    name : str
    mdp : FiniteMDP
    policy : Policy
        Any pgbook policy, a :class:`~pgbook.ModulePolicy` wrapping your network included.
    theta : array_like of shape ``policy.param_shape``
    max_steps : int
        Episodes are cut off after this many steps.
    critic : array_like of shape (n_states,), optional
        The critic :math:`\hat V(s)` your pipeline used at θ (for example your value network evaluated on
        each state's observation). The catalogue's entries that use a critic (GAE(λ), bootstrapping,
        fixed-length rollouts) are tried only on problems that have one.

    Examples
    --------
    >>> import pgbook as pg
    >>> policy = pg.TabularSoftmax(3, 2)
    >>> problem = Problem("random", pg.examples.random_mdp(3, 2, seed=0), policy, policy.init_params(seed=0), 200)
    >>> problem.values.shape, problem.gradient.shape
    ((3,), (3, 2))
    """

    name: str
    mdp: FiniteMDP
    policy: Policy
    theta: Params
    max_steps: int
    critic: Any = field(default=None)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise TypeError(f"name must be a str; got {type(self.name).__name__}")
        if not isinstance(self.mdp, FiniteMDP):
            raise TypeError(f"mdp must be a pgbook.FiniteMDP; got {type(self.mdp).__name__}")
        if not isinstance(self.policy, Policy):
            raise TypeError(f"policy must be a pgbook.Policy; got {type(self.policy).__name__}")
        if (self.policy.n_states, self.policy.n_actions) != (self.mdp.n_states, self.mdp.n_actions):
            raise ValueError(
                f"policy is for {self.policy.n_states} states and {self.policy.n_actions} actions, but mdp has "
                f"{self.mdp.n_states} states and {self.mdp.n_actions} actions"
                + (" (a ModulePolicy needs observations=, one per state)" if self.policy.n_states == 0 else "")
            )
        object.__setattr__(self, "theta", self.policy.check_params(self.theta))
        object.__setattr__(self, "max_steps", as_count("max_steps", self.max_steps))
        if self.critic is not None:
            critic = as_real_array("critic", self.critic, ndim=1)
            check_shape("critic", critic, (self.mdp.n_states,))
            object.__setattr__(self, "critic", critic)

    @cached_property
    def gradient(self) -> np.ndarray:
        r"""The exact :math:`\nabla J(\theta)` (the policy gradient theorem)."""
        return exact_gradient(self.mdp, self.policy, self.theta)

    @cached_property
    def values(self) -> np.ndarray:
        r"""The exact :math:`V_{\pi_\theta}(s)`, shape (n_states,)."""
        return state_values(self.mdp, self.policy, self.theta)

    def env(self, **options: Any) -> Any:
        """The MDP as a Gymnasium environment, :class:`pgbook.FiniteMDPEnv` (``options`` are its keyword
        arguments: ``observations``, ``dtype``)."""
        from pgbook.environments import FiniteMDPEnv  # Gymnasium loads only when an environment is asked for

        return FiniteMDPEnv(self.mdp, **options)


def standard_problems(policy: Callable[[np.ndarray, int], Any] | None = None) -> list[Problem]:
    """The default suite: the short corridor, a bandit, and random continuing and episodic MDPs.

    Parameters
    ----------
    policy : callable, optional
        Builds the suite around your own network: ``policy(observations, n_actions)`` gets each problem's
        observation table (one row per state: one-hot, or a constant row for the corridor, whose states
        look alike) and returns a ``torch.nn.Module``, or a :class:`~pgbook.ModulePolicy`. θ is then the
        built-in policy's θ put into the module when the module can express it
        (:meth:`pgbook.ModulePolicy.params_for`; a ``Linear`` on one-hot observations can), and the module's
        own parameters otherwise.

    Examples
    --------
    >>> import torch
    >>> problems = standard_problems(lambda observations, n: torch.nn.Linear(observations.shape[1], n))
    >>> [p.theta.shape for p in problems]
    [(4,), (8,), (21,), (21,)]
    >>> mine, builtin = problems[3], standard_problems()[3]   # the same policy, now in your module
    >>> bool(np.allclose(mine.policy.probabilities(mine.theta), builtin.policy.probabilities(builtin.theta)))
    True
    """
    bandit_policy = TabularSoftmax(1, 4)
    continuing, episodic = TabularSoftmax(6, 3), TabularSoftmax(6, 3)
    built = [
        (
            "short corridor (γ=1)",
            examples.short_corridor(),
            examples.short_corridor_policy(),
            examples.corridor_params(0.3),
            2_000,
            np.ones((4, 1)),
        ),
        ("4-armed bandit", examples.bandit([1.0, -0.5, 2.0, 0.3]), bandit_policy, bandit_policy.init_params(seed=3), 1),
        (
            "random MDP, continuing (γ=0.9)",
            examples.random_mdp(6, 3, gamma=0.9, seed=11),
            continuing,
            continuing.init_params(seed=12),
            300,  # 0.9**300 ≈ 2e-14: truncation is invisible
        ),
        (
            "random MDP, episodic (γ=0.95)",
            examples.random_mdp(6, 3, gamma=0.95, seed=13, n_terminal=1),
            episodic,
            episodic.init_params(seed=14),
            1_000,
        ),
    ]
    problems = []
    for name, mdp, builtin, theta, max_steps, *observations in built:
        if policy is not None:
            table = observations[0] if observations else np.eye(mdp.n_states)
            builtin, theta = _around(policy, table, mdp.n_actions, builtin, theta)
        problems.append(Problem(name, mdp, builtin, theta, max_steps))
    return problems


def _around(make: Callable[[np.ndarray, int], Any], observations: np.ndarray, n_actions: int, builtin, theta):
    from pgbook.module_policy import ModulePolicy  # torch-only path

    made = make(observations, n_actions)
    user = made if isinstance(made, ModulePolicy) else ModulePolicy(made, n_actions, observations=observations)
    try:
        return user, user.params_for(builtin.probabilities(theta))
    except ValueError:
        return user, user.current_params()


def check_problems(problems: Any) -> list[Problem]:
    """``problems`` as a list, or a `TypeError` naming the first entry that is not a :class:`Problem` (a name,
    say): the one check of every function that takes a sequence of problems."""
    problems = list(problems)
    for problem in problems:
        if not isinstance(problem, Problem):
            raise TypeError(f"problems must hold pgbook.Problem objects; got {type(problem).__name__}")
    return problems
