"""pgbook: exact, verified policy gradients on finite MDPs.

>>> import pgbook as pg
>>> mdp, policy = pg.envs.short_corridor(), pg.envs.short_corridor_policy()
>>> theta = pg.envs.corridor_params(0.5)
>>> pg.exact_objective(mdp, policy, theta)
-12.0
"""

from pgbook import envs
from pgbook.evaluation import (
    action_values,
    advantages,
    discounted_visitation,
    exact_objective,
    state_values,
)
from pgbook.gradients import autodiff_gradient, exact_gradient, finite_difference
from pgbook.mdp import FiniteMDP
from pgbook.policies import LinearSoftmax, Policy, SoftmaxPolicy, TabularSoftmax

__all__ = [
    "FiniteMDP",
    "LinearSoftmax",
    "Policy",
    "SoftmaxPolicy",
    "TabularSoftmax",
    "action_values",
    "advantages",
    "autodiff_gradient",
    "discounted_visitation",
    "envs",
    "exact_gradient",
    "exact_objective",
    "finite_difference",
    "state_values",
]
