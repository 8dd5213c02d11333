r"""Policy-gradient ascent on finite MDPs, recorded against the exact objective and gradient.

- :func:`reinforce_runs`: Sutton & Barto's (2018, §13.3–13.4) REINFORCE, one update per episode,
  :math:`\theta \leftarrow \theta`
  :math:`{} + \alpha \sum_t \gamma^t (G_t - b)\, \nabla\log\pi(a_t|s_t)`, optionally with a
  learned baseline, :math:`b \leftarrow b + \alpha_b (G_t - b)` after each step. Many independent runs advance
  side by side (their episodes are sampled together, each under its own θ), as the book's learning curves
  average over runs.
- :func:`gradient_ascent`: batch updates with any estimator, recording at every step J(θ), the exact
  gradient and the cosine between the estimate and it (in the spirit of Ilyas et al. 2020).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pgbook.arguments import as_count, as_real_array, as_seed
from pgbook.estimators import Estimator, estimator_output
from pgbook.evaluation import exact_objective
from pgbook.gradient_estimate import GradientEstimate
from pgbook.gradients import exact_gradient
from pgbook.lazy_torch import torch
from pgbook.mdp import FiniteMDP
from pgbook.policies import Params, Policy, policy_table
from pgbook.sampling import sample_episodes, simulate
from pgbook.stats import cosine_or_nan


@dataclass(frozen=True)
class RunsHistory:
    """What :func:`reinforce_runs` recorded: ``returns[r, k]`` and ``parameters[r, k]`` are run r's k-th
    episode's (undiscounted) return and the θ that episode was sampled with."""

    returns: np.ndarray
    parameters: np.ndarray


def reinforce_runs(
    mdp: FiniteMDP,
    policy: Policy,
    initial_theta: Params,
    *,
    n_runs: int,
    n_episodes: int,
    step_size: float | Sequence[float],
    baseline_step_size: float | Sequence[float] | None = None,
    max_steps: int,
    seed: int | np.random.Generator | None,
) -> RunsHistory:
    r"""``n_runs`` independent runs of per-episode REINFORCE from ``initial_theta``.

    Each episode of each run is followed by :math:`\theta \leftarrow \theta + \alpha \sum_t \gamma^t (G_t - b)
    \nabla\log\pi_\theta(a_t|s_t)` (the reward-to-go form; with ``baseline_step_size=None``, b = 0). With a
    ``baseline_step_size`` :math:`\alpha_b`, b is a learned number, :math:`b \leftarrow b + \alpha_b (G_t - b)`
    after each step t, starting at 0 (Sutton & Barto 2018, §13.4, with one value for every state, since the
    book's corridor agent cannot tell its states apart); step t is weighted with the b it saw.

    ``step_size`` and ``baseline_step_size`` may also give one value per run (shape ``(n_runs,)``), so that
    several settings are sampled side by side in one loop; a baseline step size of 0 keeps b = 0 (no
    baseline) for that run.

    Examples
    --------
    >>> import pgbook as pg
    >>> mdp, policy = pg.examples.short_corridor(), pg.examples.short_corridor_policy()
    >>> history = reinforce_runs(mdp, policy, pg.examples.corridor_params(0.05), n_runs=4, n_episodes=3,
    ...                          step_size=2**-13, max_steps=1_000, seed=0)
    >>> history.returns.shape, history.parameters.shape
    ((4, 3), (4, 3, 2))
    >>> two_settings = reinforce_runs(mdp, policy, pg.examples.corridor_params(0.05), n_runs=4, n_episodes=3,
    ...                               step_size=[2**-13, 2**-13, 2**-9, 2**-9], baseline_step_size=[0, 0, 2**-6, 2**-6],
    ...                               max_steps=1_000, seed=0)
    >>> two_settings.returns.shape
    (4, 3)
    """
    policy_table(mdp, policy, initial_theta)  # mdp, policy and θ fit together
    n_runs = as_count("n_runs", n_runs)
    theta = np.broadcast_to(policy.check_params(initial_theta), (n_runs, *policy.param_shape)).copy()
    n_episodes = as_count("n_episodes", n_episodes)
    step_size = _per_run("step_size", step_size, n_runs, minimum_exclusive=True)[:, None]
    learn_baseline = baseline_step_size is not None
    baseline_rate = (
        _per_run("baseline_step_size", baseline_step_size, n_runs, minimum_exclusive=False) if learn_baseline else 0.0
    )
    rng = as_seed("seed", seed)
    baselines = np.zeros(n_runs)
    returns = np.empty((n_runs, n_episodes))
    parameters = np.empty((n_runs, n_episodes, *policy.param_shape))
    for k in range(n_episodes):
        parameters[:, k] = theta
        theta_tensor = torch.tensor(theta, requires_grad=True)
        log_pi = torch.stack([policy.torch_log_probabilities(run_theta) for run_theta in theta_tensor])
        batch = simulate(mdp, log_pi.detach().exp().numpy(), n_runs, max_steps=max_steps, seed=rng)
        returns[:, k] = batch.rewards.sum(axis=1)
        rewards_to_go = batch.returns_to_go()
        errors = np.empty_like(rewards_to_go)  # G_t − b, with b updated after every step as in the book
        for t in range(batch.actions.shape[1]):
            errors[:, t] = rewards_to_go[:, t] - baselines
            if learn_baseline:
                baselines = baselines + baseline_rate * np.where(batch.alive[:, t], errors[:, t], 0.0)
        weights = batch.discounts() * errors * batch.alive
        counts = batch.pair_counts(weights, mdp.n_states, mdp.n_actions)
        # Σ_{s,a} counts_r(s, a) ∇ log π_r(a|s) for every run r, in one backward pass (run r's table
        # depends on its own θ_r only).
        (steps,) = torch.autograd.grad(log_pi, theta_tensor, grad_outputs=torch.from_numpy(counts))
        theta += (step_size * steps.numpy().reshape(n_runs, -1)).reshape(theta.shape)
    return RunsHistory(returns, parameters)


@dataclass(frozen=True)
class AscentHistory:
    """What :func:`gradient_ascent` recorded at each iteration k (before its update): ``objectives[k]`` =
    J(θ_k), ``gradient_norms[k]`` = ‖∇J(θ_k)‖, ``cosines[k]`` = cos(estimate_k, ∇J(θ_k)); ``parameters`` has
    one more row, the final θ."""

    objectives: np.ndarray
    gradient_norms: np.ndarray
    cosines: np.ndarray
    parameters: np.ndarray


def gradient_ascent(
    mdp: FiniteMDP,
    policy: Policy,
    initial_theta: Params,
    estimator: Estimator,
    *,
    n_iterations: int,
    n_episodes: int,
    step_size: float,
    max_steps: int,
    seed: int | np.random.Generator | None,
) -> AscentHistory:
    r""":math:`\theta_{k+1} = \theta_k + \alpha\, \hat g_k`, :math:`\hat g_k` the mean of ``estimator`` on
    ``n_episodes`` fresh episodes, with the exact J, ‖∇J‖ and cos(ĝ, ∇J) recorded at every step.
    ``estimator`` follows the estimator contract of :mod:`pgbook.estimators` (a GradientEstimate,
    per-episode samples or the mean gradient).

    Examples
    --------
    >>> import pgbook as pg
    >>> mdp = pg.examples.random_mdp(4, 2, gamma=0.9, seed=0)
    >>> policy = pg.TabularSoftmax(4, 2)
    >>> history = gradient_ascent(mdp, policy, np.zeros((4, 2)), pg.reward_to_go, n_iterations=30,
    ...                           n_episodes=20, step_size=0.5, max_steps=200, seed=0)
    >>> bool(history.objectives[-1] > history.objectives[0])
    True
    """
    if not callable(estimator):
        raise TypeError(f"estimator must be a callable estimator(batch, policy, theta); got {type(estimator).__name__}")
    policy_table(mdp, policy, initial_theta)  # policy fits mdp
    theta = policy.check_params(initial_theta).copy()
    n_iterations = as_count("n_iterations", n_iterations)
    n_episodes = as_count("n_episodes", n_episodes, minimum=2)
    step_size = _positive("step_size", step_size)
    rng = as_seed("seed", seed)
    objectives, norms, cosines = (np.empty(n_iterations) for _ in range(3))
    parameters = np.empty((n_iterations + 1, *policy.param_shape))
    for k in range(n_iterations):
        parameters[k] = theta
        batch = sample_episodes(mdp, policy, theta, n_episodes, max_steps=max_steps, seed=rng)
        output = estimator_output(estimator(batch, policy, theta), n_episodes, policy.param_shape)
        estimate = output.mean if isinstance(output, GradientEstimate) else output
        exact = exact_gradient(mdp, policy, theta)
        objectives[k] = exact_objective(mdp, policy, theta)
        norms[k] = np.linalg.norm(exact)
        cosines[k] = cosine_or_nan(estimate, exact)
        theta = theta + step_size * estimate
    parameters[-1] = theta
    return AscentHistory(objectives, norms, cosines, parameters)


def _per_run(name: str, value: Any, n_runs: int, *, minimum_exclusive: bool) -> np.ndarray:
    """A step size given once or once per run, as an array of shape (n_runs,): positive, or (for a baseline's
    step size) non-negative."""
    values = as_real_array(name, value)
    if values.ndim == 0:
        values = np.full(n_runs, float(values))
    elif values.shape != (n_runs,):
        raise ValueError(f"{name} must be a number or one number per run, shape ({n_runs},); got shape {values.shape}")
    if np.any(values <= 0) if minimum_exclusive else np.any(values < 0):
        bound = "positive" if minimum_exclusive else "non-negative"
        raise ValueError(f"{name} must be {bound}; got {value}")
    return values


def _positive(name: str, value: Any) -> float:
    value = float(as_real_array(name, value, ndim=0))
    if value <= 0:
        raise ValueError(f"{name} must be positive; got {value}")
    return value
