r"""Check your own policy-gradient estimator, or another library's gradients, against exact gradients.

:func:`check_estimator` runs an estimator on a suite of problems whose gradient is known exactly;
:func:`check_samples` takes gradient samples that another pipeline (Stable-Baselines3, TorchRL, CleanRL, your
own training loop) produced at θ on such a problem. Both return the same :class:`EstimatorReport`: for each
problem, the bias z-scores with a confidence interval, the verdict (unbiased; ∇J up to a positive factor c,
which is gradient ascent with a step size c times the one set; or biased in direction, by an angle with its
confidence interval), κ against the estimator's own mean, and, when it is not unbiased, the catalogued mistake
or combination of mistakes it matches (:mod:`pgbook.mistakes`).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from pgbook.arguments import as_count, as_real, as_seed
from pgbook.batch import Batch
from pgbook.direction import angle, angle_interval, fit_scale, own_relative_variance
from pgbook.estimators import Estimator, estimator_output, reinforce, reward_to_go
from pgbook.gradient_estimate import GradientEstimate
from pgbook.mistakes import CATALOGUE, Diagnosis, Mistake, diagnose
from pgbook.problem import Problem, check_problems, standard_problems
from pgbook.sampling import sample_episodes
from pgbook.stats import cosine_similarity, two_sided_threshold, z_scores

__all__ = ["EstimatorReport", "ProblemResult", "check_estimator", "check_samples"]  # Problem: pgbook.problem

REPLICATES = 32  # sub-batches used when an estimator returns only its mean


VERDICTS = ("unbiased", "scaled", "biased")


@dataclass(frozen=True)
class ProblemResult:
    """What the check found on one problem.

    ``verdict`` is ``"unbiased"`` (every :math:`|z|` against ∇J within the threshold), ``"scaled"`` (not that, but
    every :math:`|z|` against ``scale`` · ∇J within it, for the fitted factor ``scale`` > 0: gradient ascent with a
    step size ``scale`` times the one set) or ``"biased"`` (in direction: ``angle`` degrees from ∇J, with the
    confidence interval ``angle_interval``). ``relative_variance`` is κ against the estimator's own mean;
    κ, the cosine, the scale and the angle are nan where undefined (∇J = 0, or a zero vector).
    """

    problem: str
    z: np.ndarray
    threshold: float
    lower: np.ndarray
    upper: np.ndarray
    exact: np.ndarray
    relative_variance: float
    cosine: float
    references: dict[str, tuple[float, float]]
    verdict: str
    scale: float
    scaled_z: np.ndarray
    angle: float
    angle_interval: tuple[float, float]
    n_samples: int

    @property
    def passed(self) -> bool:
        return self.verdict == "unbiased"

    def summary(self) -> str:
        """The verdict in words a user acts on."""
        if self.verdict == "unbiased":
            return "unbiased: E[ĝ] = ∇J within the noise"
        if self.verdict == "scaled":
            return f"∇J up to a factor c = {self.scale:.4g} ({_step_size(self.scale)})"
        low, high = self.angle_interval
        if not np.any(self.exact):
            return "biased: ∇J = 0 here, but the estimator's mean is not"
        if np.isnan(self.angle):
            return "biased: its mean is 0 where ∇J is not"
        return f"biased in direction by {self.angle:.1f}° [{low:.1f}°, {high:.1f}°]"


def _step_size(c: float) -> str:
    if abs(np.log(c)) < 5e-3:
        return "the step size you set"
    return f"a step size {1 / c:.3g} times smaller" if c < 1 else f"a step size {c:.3g} times larger"


@dataclass(frozen=True)
class EstimatorReport:
    """What :func:`check_estimator` or :func:`check_samples` found; ``str(report)`` is a readable report,
    ``report.verdict`` the overall verdict (``"unbiased"``, ``"scaled"`` or ``"biased"``) and
    ``report.passed`` whether it is unbiased."""

    results: list[ProblemResult]
    n_episodes: int
    false_alarm: float
    diagnosis: Diagnosis | None = None  # which catalogued mistakes an estimator that is not unbiased matches
    unit: str = "episodes"

    @property
    def passed(self) -> bool:
        return all(result.passed for result in self.results)

    @property
    def verdict(self) -> str:
        verdicts = {result.verdict for result in self.results}
        return next(v for v in reversed(VERDICTS) if v in verdicts or v == "unbiased")

    def __str__(self) -> str:
        name = "check_estimator" if self.unit == "episodes" else "check_samples"
        lines = [
            f"{name}: {self.n_episodes} {self.unit} per problem. A component is off when its bias z-score exceeds",
            f"the threshold (probability {self.false_alarm:g} that an unbiased estimator is off anywhere).",
        ]
        for result in self.results:
            worst = int(np.argmax(np.abs(result.z)))
            tag = {"unbiased": "unbiased", "scaled": "scaled", "biased": "BIASED"}[result.verdict]
            low, high = result.angle_interval
            lines += [
                "",
                f"[{tag}] {result.problem}: {result.summary()}",
                f"    max |z| = {np.abs(result.z).max():.2f} against ∇J, {np.abs(result.scaled_z).max():.2f} against "
                f"c·∇J with c = {result.scale:.4g} (threshold {result.threshold:.2f})",
                f"    angle to ∇J {_degrees(result.angle)} [{_degrees(low)}, {_degrees(high)}], cosine "
                f"{_cosine_text(result.cosine)}, κ = {_kappa_text(result.relative_variance)} against its own mean",
                f"    worst component {worst}: exact {result.exact.flat[worst]:.5g}, "
                f"interval [{result.lower.flat[worst]:.5g}, {result.upper.flat[worst]:.5g}]",
            ]
            lines += [
                f"    reference {name}: κ = {_kappa_text(kappa)}, cosine {_cosine_text(cosine)}"
                for name, (kappa, cosine) in result.references.items()
            ]
        lines += ["", self.conclusion()]
        if self.diagnosis is not None:
            lines.append(str(self.diagnosis))
        return "\n".join(lines)

    def conclusion(self) -> str:
        """The overall verdict in words."""
        if self.verdict == "unbiased":
            return "PASSED: unbiased on every problem."
        if self.verdict == "scaled":
            scaled = [r for r in self.results if r.verdict == "scaled"]
            factors = "; ".join(f"c = {r.scale:.4g} on {r.problem}" for r in scaled)
            return (
                "∇J up to a positive factor on every problem: it ascends J like the exact gradient, with a step "
                f"size c times the one you set under plain gradient steps ({factors}); Adam and RMSprop rescale "
                "their steps by the gradient's own size, which leaves only the direction to check."
            )
        biased = [r for r in self.results if r.verdict == "biased"]
        return "FAILED: biased in direction on " + "; ".join(f"{r.problem} ({r.summary()})" for r in biased) + "."


def _degrees(value: float) -> str:
    return "undefined" if np.isnan(value) else f"{value:.1f}°"


def check_estimator(
    estimator: Estimator,
    *,
    n_episodes: int = 20_000,
    seed: int | np.random.Generator = 0,
    problems: Sequence[Problem] | None = None,
    false_alarm: float = 1e-3,
    catalogue: Sequence[Mistake] = CATALOGUE,
) -> EstimatorReport:
    r"""Run ``estimator(batch, policy, theta)`` on problems with exact gradients and report its bias and variance.

    The estimator follows the estimator contract of :mod:`pgbook.estimators`: it may return a
    :class:`~pgbook.GradientEstimate`, per-episode samples, or only the mean gradient; in that last case it
    is run on 32 equal sub-batches and the spread of their means gives the standard error (then the
    thresholds come from Student's t with 31 degrees of freedom). Its batch is read-only (copy an array
    before editing it), and the reference estimators are computed before it runs. An estimator with a fourth
    positional parameter, or a parameter named ``problem``, is called ``estimator(batch, policy, theta,
    problem)`` and gets the :class:`pgbook.Problem` (its MDP, exact values, critic, environment).

    Each problem gets a verdict: unbiased, ∇J up to a positive factor c (``"scaled"``), or biased in
    direction (the angle to ∇J with a confidence interval); one that is not unbiased is diagnosed against
    ``catalogue`` (:func:`pgbook.mistakes.diagnose`).

    Examples
    --------
    A classic mistake: forgetting the discount :math:`\gamma^t` in the reward-to-go weights.

    >>> import pgbook as pg
    >>> def my_estimator(batch, policy, theta):
    ...     return pg.reward_to_go(batch, policy, theta, weighting="undiscounted")
    >>> report = pg.check_estimator(my_estimator, n_episodes=5_000, seed=0)
    >>> report.verdict
    'biased'
    >>> [result.verdict for result in report.results]   # only problems with γ < 1 reveal it
    ['unbiased', 'unbiased', 'biased', 'scaled']

    On the episodic problem its direction is 2.5° off, within the noise of 5,000 episodes; the factor, 1.24,
    shows first.
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
    problems = _check_problems(standard_problems() if problems is None else problems)
    _check_catalogue(catalogue, problems)
    estimates, references, batch_sizes = [], [], []
    for problem in problems:
        batch = sample_episodes(
            problem.mdp, problem.policy, problem.theta, n_episodes, max_steps=problem.max_steps, seed=rng
        )
        references.append(
            {
                "REINFORCE": reinforce(batch, problem.policy, problem.theta),
                "reward-to-go": reward_to_go(batch, problem.policy, problem.theta),
                "reward-to-go with true V": reward_to_go(batch, problem.policy, problem.theta, baseline=problem.values),
            }
        )
        estimate = _run(estimator, batch, problem)
        estimates.append(estimate)
        batch_sizes.append(None if estimate.n_episodes == n_episodes else n_episodes // REPLICATES)
    return _report(estimates, problems, false_alarm, catalogue, references, batch_sizes, n_episodes, "episodes")


def check_samples(
    samples: Any,
    problem: Problem | Sequence[Problem],
    *,
    false_alarm: float = 1e-3,
    catalogue: Sequence[Mistake] = CATALOGUE,
) -> EstimatorReport:
    r"""Check gradient samples that another pipeline produced at θ on ``problem``: the same report as
    :func:`check_estimator`, without running an estimator.

    Each sample is one gradient update direction the pipeline computed (one rollout batch, one minibatch
    step's gradient, ...), as the ascent direction of J (minus the gradient of a loss), in θ's layout. The
    K samples must be independent (fresh rollouts each). Thresholds come from Student's t with K − 1
    degrees of freedom, so a few dozen samples are enough to test, more to see small biases.

    Parameters
    ----------
    samples : array_like of shape (K, \*θ.shape), or a sequence of them, one per problem
    problem : pgbook.Problem, or a sequence of them
        Several problems are diagnosed together, which tells more mistakes apart.
    false_alarm : float
        The probability that an unbiased pipeline is reported off anywhere.
    catalogue : sequence of pgbook.mistakes.Mistake
        The candidates for the diagnosis; add your pipeline's settings with
        :func:`pgbook.mistakes.rollout_models`, :func:`pgbook.mistakes.gae`.

    Examples
    --------
    >>> import pgbook as pg
    >>> problem = pg.standard_problems()[2]
    >>> batch = pg.sample_episodes(problem.mdp, problem.policy, problem.theta, 20_000, max_steps=300, seed=0)
    >>> samples = pg.reward_to_go(batch, problem.policy, problem.theta).batch_means(100)   # 200 updates
    >>> report = pg.check_samples(samples, problem)
    >>> report.verdict, round(report.results[0].scale, 1)
    ('unbiased', 1.0)
    """
    single = isinstance(problem, Problem)
    problems = _check_problems([problem] if single else problem)
    samples = [samples] if single else list(samples)
    _check_catalogue(catalogue, problems)
    if len(samples) != len(problems):
        raise ValueError(f"samples must hold one array per problem: {len(problems)} problems, {len(samples)} arrays")
    false_alarm = as_real("false_alarm", false_alarm, within="(0, 1)")
    estimates = []
    for value, one in zip(samples, problems, strict=True):
        if isinstance(value, GradientEstimate):
            value = value.per_episode
        array = np.asarray(value.detach().cpu().numpy() if hasattr(value, "detach") else value, dtype=np.float64)
        shape = tuple(one.policy.param_shape)
        if array.ndim != len(shape) + 1 or array.shape[1:] != shape or array.shape[0] < 2:
            raise ValueError(
                f"samples for {one.name!r} must have shape (K >= 2, *{shape}) (one gradient per row, in θ's "
                f"layout); got {array.shape}"
            )
        if not np.all(np.isfinite(array)):
            raise ValueError(f"samples for {one.name!r} hold nan or inf")
        estimates.append(GradientEstimate(array))
    K = estimates[0].n_episodes
    return _report(estimates, problems, false_alarm, catalogue, None, [None] * len(problems), K, "gradient samples")


def _report(
    estimates: list[GradientEstimate],
    problems: list[Problem],
    false_alarm: float,
    catalogue: Sequence[Mistake],
    references: list[dict[str, GradientEstimate]] | None,
    batch_sizes: list[int | None],
    n_episodes: int,
    unit: str,
) -> EstimatorReport:
    """The report on ``estimates``: one verdict per problem, then the diagnosis unless all are unbiased."""
    n_components = sum(int(np.prod(problem.policy.param_shape)) for problem in problems)
    results, thresholds = [], []
    for k, (estimate, problem) in enumerate(zip(estimates, problems, strict=True)):
        refs = {} if references is None else references[k]
        exact = np.array(problem.gradient)
        # ∇J = 0 up to rounding (a flat bandit gives 6e-17): no direction, and κ, c and the angle are undefined
        sizes = [np.sqrt(np.mean(e.per_episode**2) * exact.size) for e in (estimate, *refs.values())]
        if np.linalg.norm(exact) <= 1e-12 * max(sizes):
            exact = np.zeros_like(exact)
        threshold = two_sided_threshold(false_alarm, n_components, estimate.n_episodes - 1)
        thresholds.append(threshold)
        results.append(_assess(problem, estimate, exact, threshold, false_alarm / len(problems), refs, n_episodes))
    report = EstimatorReport(results, n_episodes, false_alarm, None, unit)
    if report.passed:
        return report
    diagnosis = diagnose(estimates, problems, thresholds, catalogue=catalogue, batch_episodes=batch_sizes)
    return replace(report, diagnosis=diagnosis)


def _assess(
    problem: Problem,
    estimate: GradientEstimate,
    exact: np.ndarray,
    threshold: float,
    false_alarm: float,
    references: dict[str, GradientEstimate],
    n_episodes: int,
) -> ProblemResult:
    z = z_scores(estimate, exact)
    margin = threshold * estimate.standard_error
    defined = bool(np.any(exact != 0))
    scale = fit_scale(estimate, exact) if defined else float("nan")
    scaled_z = z_scores(estimate, scale * exact) if defined else z
    if np.all(np.abs(z) <= threshold):
        verdict = "unbiased"
    elif defined and scale > 0 and np.all(np.abs(scaled_z) <= threshold):
        verdict = "scaled"
    else:
        verdict = "biased"
    return ProblemResult(
        problem=problem.name,
        z=z,
        threshold=threshold,
        lower=estimate.mean - margin,
        upper=estimate.mean + margin,
        exact=exact,
        relative_variance=_kappa(estimate, exact) * _per_episode_scale(estimate, n_episodes),
        cosine=_cosine(estimate.mean, exact),
        references={
            name: (_kappa(reference, exact), _cosine(reference.mean, exact)) for name, reference in references.items()
        },
        verdict=verdict,
        scale=scale,
        scaled_z=scaled_z,
        angle=angle(estimate.mean, exact) if defined else float("nan"),
        angle_interval=angle_interval(estimate, exact, false_alarm) if defined else (float("nan"), float("nan")),
        n_samples=estimate.n_episodes,
    )


def _check_problems(problems: Any) -> list[Problem]:
    problems = check_problems(problems)
    if not problems:
        raise ValueError("problems must hold at least one Problem (None runs the standard suite); got none")
    return problems


def _check_catalogue(catalogue: Sequence[Mistake], problems: list[Problem]) -> None:
    for entry in catalogue:
        if not isinstance(entry, Mistake):
            raise TypeError(f"catalogue must hold pgbook.mistakes.Mistake entries; got {type(entry).__name__}")
        if entry.needs_critic:
            missing = [problem.name for problem in problems if problem.critic is None]
            if missing:
                raise ValueError(
                    f"the catalogue's {entry.name!r} needs each problem's critic; {missing} have none: give "
                    "pgbook.Problem(..., critic=V̂ per state)"
                )


def _run(estimator: Estimator, batch: Batch, problem: Problem) -> GradientEstimate:
    """The estimator's samples: per-episode, or the means of 32 sub-batches when it returns only its mean."""
    shape = problem.policy.param_shape
    output = estimator_output(_call(estimator, batch, problem), batch.n_episodes, shape)
    if isinstance(output, GradientEstimate):
        return output
    size = batch.n_episodes // REPLICATES
    means = []
    for k in range(REPLICATES):
        mean = estimator_output(_call(estimator, batch.subset(slice(k * size, (k + 1) * size)), problem), size, shape)
        means.append(mean.mean if isinstance(mean, GradientEstimate) else mean)
    return GradientEstimate(np.stack(means))


def _call(estimator: Estimator, batch: Batch, problem: Problem) -> Any:
    """The estimator on its own copy of the episodes: whatever it does to its arrays (``b.rewards *= 3``, or a
    tensor sharing their memory), the episodes that the references and later calls see stay as sampled. The
    copies are writable, as sampled batches are (torch warns about a tensor made from a read-only array)."""
    arrays = {name: np.array(getattr(batch, name)) for name in _BATCH_ARRAYS}
    copy = replace(batch, **arrays)
    how = _takes_problem(estimator)
    if how == "keyword":
        return estimator(copy, problem.policy, problem.theta, problem=problem)
    if how == "positional":
        return estimator(copy, problem.policy, problem.theta, problem)
    return estimator(copy, problem.policy, problem.theta)


def _takes_problem(estimator: Estimator) -> str | None:
    """How the estimator takes the problem: a parameter named ``problem`` ("keyword"), a fourth positional
    parameter ("positional"), or not at all (None: ``estimator(batch, policy, theta)``)."""
    try:
        parameters = inspect.signature(estimator).parameters
    except (TypeError, ValueError):  # builtins and some C callables have no signature
        return None
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    positional = [p for p in parameters.values() if p.kind in kinds]
    named = parameters.get("problem")
    if named is not None and named.kind is inspect.Parameter.KEYWORD_ONLY:
        return "keyword"
    if len(positional) >= 4 and (named is None or named.kind in kinds):
        return "positional"
    return None


_BATCH_ARRAYS = ("states", "actions", "rewards", "alive", "final_states", "terminated")


def _kappa(estimate: GradientEstimate, exact: np.ndarray) -> float:
    """κ against the estimate's own mean, or nan when the exact gradient is 0 (no direction to ascend)."""
    return own_relative_variance(estimate) if np.any(exact != 0) else float("nan")


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    """The cosine, or nan when either vector is 0."""
    return cosine_similarity(a, b) if np.any(a != 0) and np.any(b != 0) else float("nan")


def _kappa_text(kappa: float) -> str:
    return "undefined (∇J = 0 or a mean lost in the noise)" if np.isnan(kappa) else f"{kappa:.3g}"


def _cosine_text(cosine: float) -> str:
    return "undefined (a zero vector)" if np.isnan(cosine) else f"{cosine:.4f}"


def _per_episode_scale(estimate: GradientEstimate, n_episodes: int) -> float:
    """Replicate means have 1/size of the per-episode variance: scale κ back to per-episode units."""
    return 1.0 if estimate.n_episodes == n_episodes else n_episodes // estimate.n_episodes
