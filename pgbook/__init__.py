"""pgbook: exact, verified policy gradients on finite MDPs.

>>> import pgbook as pg
>>> mdp, policy = pg.examples.short_corridor(), pg.examples.short_corridor_policy()
>>> theta = pg.examples.corridor_params(0.5)
>>> pg.exact_objective(mdp, policy, theta)
-12.0
"""

from pgbook import (
    deterministic,
    direction,
    examples,
    exercises,
    expectations,
    lqr,
    mistakes,
    sequences,
    stats,
    surrogate,
    training,
    update_field,
    variance,
)
from pgbook.average_reward import (
    average_reward,
    average_reward_gradient,
    differential_action_values,
    stationary_distribution,
)
from pgbook.batch import Batch
from pgbook.compatible import compatible_fit, critic_gradient
from pgbook.environments import FiniteMDPEnv, sample_environment
from pgbook.estimator_check import EstimatorReport, ProblemResult, check_estimator, check_samples
from pgbook.estimators import (
    advantage_estimator,
    fit_state_values,
    gae_estimator,
    reinforce,
    reward_to_go,
    score_sums,
)
from pgbook.evaluation import (
    action_values,
    advantages,
    discounted_visitation,
    exact_objective,
    exact_objectives,
    state_values,
)
from pgbook.exact_ascent import ExactAscentHistory, exact_ascent
from pgbook.finite_differences import finite_difference
from pgbook.fisher import fisher_matrix, natural_gradient
from pgbook.gaussian import gaussian_pathwise_gradient, gaussian_score_gradient, quadratic_bandit_variances
from pgbook.gradient_estimate import GradientEstimate
from pgbook.gradients import autodiff_gradient, autodiff_jacobians, exact_gradient
from pgbook.mdp import FiniteMDP
from pgbook.mistakes import diagnose
from pgbook.module_policy import ModulePolicy
from pgbook.performance_difference_lemma import performance_difference
from pgbook.policies import LinearSoftmax, Policy, SoftmaxPolicy, TabularSoftmax
from pgbook.problem import Problem, standard_problems
from pgbook.sampling import sample_episodes

__all__ = [
    # classes
    "Batch",
    "EstimatorReport",
    "ExactAscentHistory",
    "FiniteMDP",
    "FiniteMDPEnv",
    "GradientEstimate",
    "LinearSoftmax",
    "ModulePolicy",
    "Policy",
    "Problem",
    "ProblemResult",
    "SoftmaxPolicy",
    "TabularSoftmax",
    # functions
    "action_values",
    "advantage_estimator",
    "advantages",
    "autodiff_gradient",
    "autodiff_jacobians",
    "average_reward",
    "average_reward_gradient",
    "check_estimator",
    "check_samples",
    "compatible_fit",
    "critic_gradient",
    "diagnose",
    "differential_action_values",
    "discounted_visitation",
    "exact_ascent",
    "exact_gradient",
    "exact_objective",
    "exact_objectives",
    "finite_difference",
    "fisher_matrix",
    "fit_state_values",
    "gae_estimator",
    "gaussian_pathwise_gradient",
    "gaussian_score_gradient",
    "natural_gradient",
    "performance_difference",
    "quadratic_bandit_variances",
    "reinforce",
    "reward_to_go",
    "sample_environment",
    "sample_episodes",
    "score_sums",
    "standard_problems",
    "state_values",
    "stationary_distribution",
    # modules
    "deterministic",
    "direction",
    "examples",
    "exercises",
    "expectations",
    "lqr",
    "mistakes",
    "sequences",
    "stats",
    "surrogate",
    "training",
    "update_field",
    "variance",
]


def __getattr__(name: str):
    """The presentation modules load on first use (``pg.plotting``, ``pg.figures``): ``import pgbook`` does not
    import matplotlib, Pillow, ipywidgets or anywidget."""
    if name in ("figures", "plotting"):
        import importlib

        return importlib.import_module(f"pgbook.{name}")
    raise AttributeError(f"module 'pgbook' has no attribute {name!r}")
