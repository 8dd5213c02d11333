r"""Policy-gradient ascent with exact gradients: what the optimisation does when sampling adds no noise.

:math:`\theta_{k+1} = \theta_k + \eta\, \nabla J(\theta_k)` (policy gradient) or
:math:`\theta_{k+1} = \theta_k + \frac{\eta}{1-\gamma} F(\theta_k)^+ \nabla J(\theta_k)` (natural policy gradient, with
the Fisher matrix of the *unnormalised* visitation and the factor :math:`1/(1-\gamma)` written out, as in Agarwal,
Kakade, Lee & Mahajan 2021, §5.3 of arXiv:1908.00261v5). For tabular softmax the natural step is :math:`\pi_{k+1}(a|s)`
:math:`{} \propto \pi_k(a|s) \exp(\eta A_k(s,a) / (1-\gamma))` in every state the policy visits, on continuing and
episodic problems alike. (Agarwal et al. write :math:`F_\rho^+` with the visitation scaled to
:math:`(1-\gamma) d`, normalised only on a continuing problem; on an episodic problem
:math:`\sum_s d(s) < 1/(1-\gamma)`, and dividing by :math:`\sum_s d` instead would make the effective step change
along the run.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from pgbook.arguments import as_count, as_real
from pgbook.examples import chain
from pgbook.fisher import DEFAULT_RCOND, _compatible_weights
from pgbook.mdp import FiniteMDP
from pgbook.policies import Params, Policy, TabularSoftmax, policy_table


@dataclass(frozen=True)
class ExactAscentHistory:
    """What :func:`exact_ascent` recorded: ``objectives[k]`` is J(θ) and ``parameters[k]`` is θ after
    ``iterations[k]`` updates; ``final_theta`` is θ after the last update. (With ``parameters``,
    :func:`pgbook.exact_objectives` evaluates the run under another start distribution.)"""

    iterations: np.ndarray
    objectives: np.ndarray
    parameters: np.ndarray
    final_theta: np.ndarray

    def iterations_to_reach(self, level: float) -> int | None:
        """The first recorded iteration with J ≥ ``level``, or None if J never got there."""
        reached = np.flatnonzero(self.objectives >= level)
        return int(self.iterations[reached[0]]) if reached.size else None


def exact_ascent(
    mdp: FiniteMDP,
    policy: Policy,
    initial_theta: Params,
    *,
    step_size: float,
    n_iterations: int,
    direction: Literal["gradient", "natural"] = "gradient",
    record: Any = None,
    judged_on: FiniteMDP | None = None,
) -> ExactAscentHistory:
    r"""Run ``n_iterations`` exact ascent steps :math:`\theta \leftarrow \theta + \eta\, g(\theta)`.

    Parameters
    ----------
    mdp, policy, initial_theta
        The problem, the policy and the starting parameters.
    step_size : float
        The step size η > 0.
    n_iterations : int
    direction : {"gradient", "natural"}
        :math:`g = \nabla J` (:func:`pgbook.exact_gradient`) or
        :math:`g = F^+\nabla J / (1-\gamma)` (:func:`pgbook.natural_gradient` with the unnormalised visitation,
        divided by :math:`1-\gamma`; needs γ < 1).
    record : array_like of int, optional
        The iterations (in [0, n_iterations], increasing) after which J is recorded; default every one.
        Long runs on a log scale need only a few hundred.
    judged_on : FiniteMDP, optional
        The problem whose objective is recorded (default ``mdp``): the same dynamics with another start
        distribution, to ascend J from one start distribution and judge the run from another.

    References
    ----------
    Agarwal, A., Kakade, S. M., Lee, J. D., Mahajan, G. (2021). On the theory of policy gradient methods:
    optimality, approximation, and distribution shift. JMLR 22(98). Mei, J., Xiao, C., Szepesvári, C.,
    Schuurmans, D. (2020). On the global convergence rates of softmax policy gradient methods. ICML.

    Examples
    --------
    >>> import pgbook as pg
    >>> mdp, policy = pg.examples.chain(4), pg.TabularSoftmax(4, 2)
    >>> pg_run = exact_ascent(mdp, policy, np.zeros((4, 2)), step_size=1.0, n_iterations=200)
    >>> npg_run = exact_ascent(mdp, policy, np.zeros((4, 2)), step_size=1.0, n_iterations=200, direction="natural")
    >>> optimum = 0.9 ** 2
    >>> round(float(optimum - pg_run.objectives[-1]), 4), round(float(optimum - npg_run.objectives[-1]), 10)
    (0.0072, 0.0)
    """
    if direction not in ("gradient", "natural"):
        raise ValueError(f'direction must be "gradient" or "natural"; got {direction!r}')
    if direction == "natural" and not mdp.gamma < 1.0:
        raise ValueError(f'direction="natural" takes the step η/(1−γ) and needs mdp.gamma < 1; got {mdp.gamma}')
    step_size = as_real("step_size", step_size)
    if not step_size > 0:
        raise ValueError(f"step_size must be positive; got {step_size}")
    n_iterations = as_count("n_iterations", n_iterations, minimum=0)
    if record is None:
        iterations = np.arange(n_iterations + 1)
    else:
        iterations = np.asarray(record)
        if (
            iterations.ndim != 1
            or iterations.size == 0
            or not np.issubdtype(iterations.dtype, np.integer)
            or iterations[0] < 0
            or iterations[-1] > n_iterations
            or np.any(np.diff(iterations) <= 0)
        ):
            raise ValueError(f"record must be increasing integers in [0, n_iterations={n_iterations}]; got {record!r}")
    policy_table(mdp, policy, initial_theta)  # the policy fits the problem
    judge = mdp if judged_on is None else judged_on
    if not isinstance(judge, FiniteMDP) or not (
        judge.P.shape == mdp.P.shape and np.array_equal(judge.P, mdp.P) and np.array_equal(judge.R, mdp.R)
    ):
        raise ValueError("judged_on must be a FiniteMDP with the dynamics and rewards of mdp")
    theta = policy.check_params(initial_theta).copy()
    objectives = np.empty(iterations.size)
    parameters = np.empty((iterations.size, *policy.param_shape))
    position = 0
    # Everything was checked above; the loop works on checked values (one table and one solve per step).
    for k in range(n_iterations + 1):
        pi = policy._probabilities(theta)
        values, visitation = mdp._values_and_visitation(pi)
        if position < iterations.size and iterations[position] == k:
            judged_values = values if judge is mdp else judge._values_and_visitation(pi)[0]
            objectives[position] = float(judge.initial @ judged_values)
            parameters[position] = theta
            position += 1
        if k < n_iterations:
            q_values = mdp.action_values(pi, values)
            if direction == "gradient":
                theta = theta + step_size * policy._probability_vjp(theta, visitation[:, None] * q_values)
            else:  # unnormalised F: tabular softmax gives A
                advantage = q_values - values[:, None]
                natural = _compatible_weights(policy, theta, pi, visitation, advantage, DEFAULT_RCOND)
                theta = theta + step_size / (1.0 - mdp.gamma) * natural
    return ExactAscentHistory(iterations, objectives, parameters, theta)


CHAIN_STARTS = ("state 0", "uniform")


@dataclass(frozen=True)
class PlateauSweep:
    """The runs of :func:`chain_plateaus`: ``runs[n, start, direction]`` is the :class:`ExactAscentHistory` on the
    chain of ``n`` states ascended from ``start`` (``"state 0"`` or ``"uniform"``) in ``direction``
    (``"gradient"`` or ``"natural"``), its objective recorded from state 0."""

    lengths: tuple[int, ...]
    gamma: float
    runs: dict[tuple[int, str, str], ExactAscentHistory]

    def iterations_to_half(self, n: int, start: str, direction: str) -> int | None:
        r"""The first recorded iteration at which J (from state 0) reaches
        :math:`J^*/2 = \gamma^{\lvert\mathcal S\rvert-2}/2`, on the chain of ``n`` states."""
        return self.runs[n, start, direction].iterations_to_reach(self.gamma ** (n - 2) / 2)

    def table(self) -> str:
        """The plateau table: iterations until J (from state 0) reaches J*/2, per chain length (rows) and per
        direction and start distribution (columns); ``|S|`` is the number of states."""
        lines = [
            "iterations until J (from state 0) reaches J*/2",
            "      policy gradient   natural gradient",
            "|S|  start 0  uniform   start 0  uniform",
        ]
        for n in self.lengths:
            counts = [
                self.iterations_to_half(n, start, direction)
                for direction in ("gradient", "natural")
                for start in CHAIN_STARTS
            ]
            lines.append(f"{n:2d}" + "".join(f"{'never' if c is None else c:>9}" for c in counts))
        return "\n".join(lines)


def chain_start(n_states: int, start: str) -> np.ndarray:
    """The start distribution ``"state 0"`` (the chain's own) or ``"uniform"`` over the non-terminal states of
    the chain of :func:`pgbook.examples.chain`.

    >>> chain_start(3, "uniform")
    array([0.5, 0.5, 0. ])
    """
    n_states = as_count("n_states", n_states, minimum=2)
    if start == "state 0":
        return np.eye(n_states)[0]
    if start == "uniform":
        return np.r_[np.full(n_states - 1, 1 / (n_states - 1)), 0.0]
    raise ValueError(f'start must be "state 0" or "uniform"; got {start!r}')


def chain_plateaus(
    lengths: Any,
    *,
    gamma: float = 0.9,
    n_actions: int = 4,
    step_size: float = 1.0,
    n_iterations: tuple[int, int] = (1500, 50),
    n_recorded: int = 120,
) -> PlateauSweep:
    r"""Exact policy-gradient and natural-gradient ascent from :math:`\theta_0 = 0` on the chain of Agarwal et
    al. (§4.3) for each length in ``lengths``, each ascending :math:`J` from state 0 or from the uniform start
    distribution (:func:`chain_start`) and judged by :math:`J` from state 0 (the plateau of softmax policy
    gradient, Mei et al. 2020; Li et al. 2023):

    .. math::
        &\theta_{k+1} = \theta_k + \eta\, \nabla J_\nu(\theta_k) \quad\text{or} \\
        &\theta_{k+1} = \theta_k + \tfrac{\eta}{1-\gamma} F_\nu^+ \nabla J_\nu(\theta_k).

    Parameters
    ----------
    lengths : iterable of int
        Chain lengths (numbers of states, each at least 2).
    gamma, n_actions : float, int
        The chain's discount and number of actions.
    step_size : float
        η, the same for both directions.
    n_iterations : (int, int)
        Iterations of policy gradient and of the natural gradient.
    n_recorded : int
        J is recorded at about this many iterations, on a logarithmic grid (every one for the natural gradient
        where the grid is finer than that).

    References
    ----------
    Agarwal, A., Kakade, S. M., Lee, J. D., Mahajan, G. (2021). On the theory of policy gradient methods:
    optimality, approximation, and distribution shift. JMLR 22(98); §4.3 of arXiv:1908.00261v5.

    Examples
    --------
    >>> sweep = chain_plateaus([3, 4], n_iterations=(300, 10))
    >>> print(sweep.table())
    iterations until J (from state 0) reaches J*/2
          policy gradient   natural gradient
    |S|  start 0  uniform   start 0  uniform
     3        2        2        1        1
     4       10        9        1        1
    """
    lengths = tuple(as_count("lengths", n, minimum=2) for n in lengths)
    counts = [as_count("n_iterations", k, minimum=1) for k in n_iterations]
    if len(counts) != 2:
        raise ValueError(f"n_iterations must be two counts (gradient, natural); got {n_iterations!r}")
    grid = np.unique(np.r_[0, np.geomspace(1, counts[0], as_count("n_recorded", n_recorded, minimum=2)).astype(int)])
    runs = {}
    for n in lengths:
        judge = chain(n, gamma=gamma, n_actions=n_actions)
        policy = TabularSoftmax(n, n_actions)
        for start in CHAIN_STARTS:
            mdp = chain(n, gamma=gamma, n_actions=n_actions, initial=chain_start(n, start))
            for direction, count in zip(("gradient", "natural"), counts, strict=True):
                runs[n, start, direction] = exact_ascent(
                    mdp,
                    policy,
                    np.zeros((n, n_actions)),
                    step_size=step_size,
                    n_iterations=count,
                    direction=direction,
                    record=grid[grid <= count],
                    judged_on=judge,
                )
    return PlateauSweep(lengths=lengths, gamma=float(gamma), runs=runs)
