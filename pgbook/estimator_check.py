r"""Check your own policy-gradient estimator against exact gradients on small problems.

:func:`check_estimator` runs an estimator on a suite of problems whose gradient is known exactly, and
reports, for each, the bias z-scores with a confidence interval, the relative variance and the cosine to
the exact gradient, beside the same figures for reference estimators computed on the same episodes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from pgbook import examples
from pgbook.arguments import as_count, as_real, as_seed
from pgbook.batch import Batch
from pgbook.estimators import Estimator, estimator_output, reinforce, reward_to_go
from pgbook.evaluation import state_values
from pgbook.gradient_estimate import GradientEstimate
from pgbook.gradients import exact_gradient
from pgbook.mdp import FiniteMDP
from pgbook.mistakes import Diagnosis, diagnose
from pgbook.policies import Policy, TabularSoftmax, check_fit
from pgbook.sampling import sample_episodes
from pgbook.stats import cosine_similarity, relative_variance, two_sided_threshold, z_scores

REPLICATES = 32  # sub-batches used when an estimator returns only its mean


@dataclass(frozen=True)
class Problem:
    """A finite MDP, a policy, parameters and the episode cut-off to sample it with."""

    name: str
    mdp: FiniteMDP
    policy: Policy
    theta: np.ndarray
    max_steps: int

    def __post_init__(self) -> None:
        check_fit(self.mdp, self.policy)  # the other fields are checked where the problem is sampled


def standard_problems() -> list[Problem]:
    """The default suite: the short corridor, a bandit, and random continuing and episodic MDPs."""
    bandit_policy = TabularSoftmax(1, 4)
    continuing, episodic = TabularSoftmax(6, 3), TabularSoftmax(6, 3)
    return [
        Problem(
            "short corridor (γ=1)",
            examples.short_corridor(),
            examples.short_corridor_policy(),
            examples.corridor_params(0.3),
            2_000,
        ),
        Problem(
            "4-armed bandit",
            examples.bandit([1.0, -0.5, 2.0, 0.3]),
            bandit_policy,
            bandit_policy.init_params(seed=3),
            1,
        ),
        Problem(
            "random MDP, continuing (γ=0.9)",
            examples.random_mdp(6, 3, gamma=0.9, seed=11),
            continuing,
            continuing.init_params(seed=12),
            300,  # 0.9**300 ≈ 2e-14: truncation is invisible
        ),
        Problem(
            "random MDP, episodic (γ=0.95)",
            examples.random_mdp(6, 3, gamma=0.95, seed=13, n_terminal=1),
            episodic,
            episodic.init_params(seed=14),
            1_000,
        ),
    ]


@dataclass(frozen=True)
class ProblemResult:
    problem: str
    z: np.ndarray
    threshold: float
    lower: np.ndarray
    upper: np.ndarray
    exact: np.ndarray
    relative_variance: float
    cosine: float
    references: dict[str, tuple[float, float]]
    """κ and the cosine are nan where undefined: κ when the exact gradient is 0, the cosine when either vector
    is 0."""

    @property
    def passed(self) -> bool:
        return bool(np.all(np.abs(self.z) <= self.threshold))


@dataclass(frozen=True)
class EstimatorReport:
    """What :func:`check_estimator` found; ``str(report)`` is a readable table, ``report.passed`` the verdict."""

    results: list[ProblemResult]
    n_episodes: int
    false_alarm: float
    diagnosis: Diagnosis | None = None  # which catalogued mistake a failing estimator matches

    @property
    def passed(self) -> bool:
        return all(result.passed for result in self.results)

    def __str__(self) -> str:
        lines = [
            f"check_estimator: {self.n_episodes} episodes per problem. A component fails when its bias",
            f"z-score exceeds the threshold (probability {self.false_alarm:g} that an unbiased estimator",
            "fails anywhere).",
        ]
        for result in self.results:
            worst = int(np.argmax(np.abs(result.z)))
            lines += [
                "",
                f"[{'ok' if result.passed else 'BIASED?'}] {result.problem}",
                f"    max |z| = {np.abs(result.z).max():.2f} (threshold {result.threshold:.2f}), "
                f"κ = {_kappa_text(result.relative_variance)}, cosine to exact {_cosine_text(result.cosine)}",
                f"    worst component {worst}: exact {result.exact.flat[worst]:.5g}, "
                f"interval [{result.lower.flat[worst]:.5g}, {result.upper.flat[worst]:.5g}]",
            ]
            lines += [
                f"    reference {name}: κ = {_kappa_text(kappa)}, cosine {_cosine_text(cosine)}"
                for name, (kappa, cosine) in result.references.items()
            ]
        lines += ["", "PASSED" if self.passed else "FAILED: see the problems marked BIASED? above"]
        if self.diagnosis is not None:
            lines.append(str(self.diagnosis))
        return "\n".join(lines)


def check_estimator(
    estimator: Estimator,
    *,
    n_episodes: int = 20_000,
    seed: int | np.random.Generator = 0,
    problems: Sequence[Problem] | None = None,
    false_alarm: float = 1e-3,
) -> EstimatorReport:
    r"""Run ``estimator(batch, policy, theta)`` on problems with exact gradients and report its bias and variance.

    The estimator follows the estimator contract of :mod:`pgbook.estimators`: it may return a
    :class:`~pgbook.GradientEstimate`, per-episode samples, or only the mean gradient; in that last case it
    is run on 32 equal sub-batches and the spread of their means gives the standard error (then the
    thresholds come from Student's t with 31 degrees of freedom). Its batch is read-only (copy an array
    before editing it), and the reference estimators are computed before it runs.

    Examples
    --------
    A classic mistake: forgetting the discount :math:`\gamma^t` in the reward-to-go weights.

    >>> import pgbook as pg
    >>> def my_estimator(batch, policy, theta):
    ...     return pg.reward_to_go(batch, policy, theta, weighting="undiscounted")
    >>> report = pg.check_estimator(my_estimator, n_episodes=5_000, seed=0)
    >>> report.passed
    False
    >>> [result.passed for result in report.results]   # only problems with γ < 1 reveal it
    [True, True, False, False]
    >>> report.diagnosis.matches[0].name   # the catalogued mistake it matches (pgbook.mistakes)
    'discount weights γᵗ dropped'
    """
    if not callable(estimator):
        raise TypeError(
            f"estimator must be a callable (batch, policy, theta) -> gradient; got {type(estimator).__name__}"
        )
    n_episodes = as_count("n_episodes", n_episodes, minimum=2 * REPLICATES)
    false_alarm = as_real("false_alarm", false_alarm, within="(0, 1)")
    rng = as_seed("seed", seed)
    problems = standard_problems() if problems is None else list(problems)
    if not problems:
        raise ValueError("problems must hold at least one Problem (None runs the standard suite); got none")
    for problem in problems:
        if not isinstance(problem, Problem):
            raise TypeError(f"problems must hold pgbook.estimator_check.Problem objects; got {type(problem).__name__}")
    n_components = sum(int(np.prod(problem.policy.param_shape)) for problem in problems)
    results, estimates = [], []
    for problem in problems:
        batch = sample_episodes(
            problem.mdp, problem.policy, problem.theta, n_episodes, max_steps=problem.max_steps, seed=rng
        )
        exact = exact_gradient(problem.mdp, problem.policy, problem.theta)
        references = {
            "REINFORCE": reinforce(batch, problem.policy, problem.theta),
            "reward-to-go": reward_to_go(batch, problem.policy, problem.theta),
            "reward-to-go with true V": reward_to_go(
                batch,
                problem.policy,
                problem.theta,
                baseline=state_values(problem.mdp, problem.policy, problem.theta),
            ),
        }
        # ∇J = 0 up to rounding (a flat bandit gives 6e-17): no direction, and κ = tr Cov / ‖∇J‖² is undefined
        scale = max(np.sqrt(np.mean(reference.per_episode**2) * exact.size) for reference in references.values())
        if np.linalg.norm(exact) <= 1e-12 * scale:
            exact = np.zeros_like(exact)
        estimate, degrees_of_freedom = _run(estimator, batch, problem)
        estimates.append(estimate)
        threshold = two_sided_threshold(false_alarm, n_components, degrees_of_freedom)
        z = z_scores(estimate, exact)
        margin = threshold * estimate.standard_error
        results.append(
            ProblemResult(
                problem=problem.name,
                z=z,
                threshold=threshold,
                lower=estimate.mean - margin,
                upper=estimate.mean + margin,
                exact=exact,
                relative_variance=_kappa(estimate, exact) * _per_episode_scale(estimate, batch),
                cosine=_cosine(estimate.mean, exact),
                references={
                    name: (_kappa(reference, exact), _cosine(reference.mean, exact))
                    for name, reference in references.items()
                },
            )
        )
    report = EstimatorReport(results=results, n_episodes=n_episodes, false_alarm=false_alarm)
    if report.passed:
        return report
    diagnosis = diagnose(estimates, problems, [result.threshold for result in results])
    return EstimatorReport(results, n_episodes, false_alarm, diagnosis)


def _run(estimator: Estimator, batch: Batch, problem: Problem) -> tuple[GradientEstimate, float]:
    """The estimator's samples and the degrees of freedom of their standard error."""
    shape = problem.policy.param_shape
    output = estimator_output(_call(estimator, batch, problem), batch.n_episodes, shape)
    if isinstance(output, GradientEstimate):
        return output, np.inf
    size = batch.n_episodes // REPLICATES
    means = []
    for k in range(REPLICATES):
        mean = estimator_output(_call(estimator, batch.subset(slice(k * size, (k + 1) * size)), problem), size, shape)
        means.append(mean.mean if isinstance(mean, GradientEstimate) else mean)
    return GradientEstimate(np.stack(means)), REPLICATES - 1


def _call(estimator: Estimator, batch: Batch, problem: Problem) -> Any:
    """The estimator on its own copy of the episodes: whatever it does to its arrays (``b.rewards *= 3``, or a
    tensor sharing their memory), the episodes that the references and later calls see stay as sampled. The
    copies are writable, as sampled batches are (torch warns about a tensor made from a read-only array)."""
    arrays = {name: np.array(getattr(batch, name)) for name in _BATCH_ARRAYS}
    return estimator(replace(batch, **arrays), problem.policy, problem.theta)


_BATCH_ARRAYS = ("states", "actions", "rewards", "alive", "final_states", "terminated")


def _kappa(estimate: GradientEstimate, exact: np.ndarray) -> float:
    """κ, or nan when the exact gradient is 0 (κ is relative to its norm)."""
    return relative_variance(estimate, exact) if np.any(exact != 0) else float("nan")


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    """The cosine, or nan when either vector is 0."""
    return cosine_similarity(a, b) if np.any(a != 0) and np.any(b != 0) else float("nan")


def _kappa_text(kappa: float) -> str:
    return "undefined (∇J = 0)" if np.isnan(kappa) else f"{kappa:.3g}"


def _cosine_text(cosine: float) -> str:
    return "undefined (a zero vector)" if np.isnan(cosine) else f"{cosine:.4f}"


def _per_episode_scale(estimate: GradientEstimate, batch: Batch) -> float:
    """Replicate means have 1/size of the per-episode variance: scale κ back to per-episode units."""
    return 1.0 if estimate.n_episodes == batch.n_episodes else batch.n_episodes // estimate.n_episodes
