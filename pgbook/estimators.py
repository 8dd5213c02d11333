r"""Monte-Carlo estimators of :math:`\nabla_\theta J(\theta)` from a batch of episodes.

Every score-function estimator here has the form

.. math::
    \hat g_i &= \sum_t w_{i,t}\, \nabla_\theta \log \pi_\theta(a_{i,t} | s_{i,t}), \\
    \hat g &= \frac1N \sum_{i=1}^N \hat g_i,

and they differ only in the step weights :math:`w_{i,t}`:

- :func:`reinforce`: :math:`w_{i,t} = G_{i,0} - b_i`, the whole discounted return less a constant or the
  start state's value (unbiased);
- :func:`reward_to_go`: :math:`w_{i,t} = \gamma^t (G_{i,t} - b(s_{i,t}))` (unbiased; REINFORCE with the
  :math:`\gamma^t` of the discounted theorem, Sutton & Barto 2018 §13.3–13.4); with
  ``weighting="undiscounted"`` the :math:`\gamma^t` is dropped, which is biased when γ < 1;
- :func:`advantage_estimator`: :math:`w_{i,t} = \gamma^t A_\pi(s_{i,t}, a_{i,t})` with the exact advantage
  (unbiased);
- :func:`gae_estimator`: :math:`w_{i,t} = \gamma^t \hat A^{\mathrm{GAE}(\lambda)}_{i,t}` (unbiased with the
  true V, or at λ = 1).

Baselines estimated from the batch are *leave-one-out* (episode i's baseline uses the other episodes
only) or *cross-fitted* (fitted on the other half of the batch), so that they stay independent of the
episode they correct and the estimator stays exactly unbiased. Per-episode samples :math:`\hat g_i` are
kept (:class:`GradientEstimate`), so that variance can be studied, not only the mean.

The estimator contract
----------------------
An *estimator* is a callable ``estimator(batch, policy, theta)``, like every function here. It may return a
:class:`GradientEstimate`, per-episode samples of shape (n_episodes, \*param_shape), or only the mean
gradient, of shape ``param_shape`` (numpy arrays, nested lists or torch tensors). Every function that takes
an estimator (:func:`pgbook.check_estimator`, :func:`pgbook.training.gradient_ascent`) accepts all three
forms, through :func:`estimator_output`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import numpy as np

from pgbook.arguments import as_count, as_real_array, as_unit_interval, check_shape
from pgbook.baselines import Baseline, ParsedBaseline, parse_baseline
from pgbook.batch import Batch
from pgbook.discounting import discounted_suffix_sums
from pgbook.gradient_estimate import GradientEstimate
from pgbook.lazy_torch import is_tensor, torch
from pgbook.module_policy import ModulePolicy
from pgbook.policies import Params, Policy
from pgbook.stats import leave_one_out_mean

Estimator = Callable[[Batch, Policy, np.ndarray], Any]


def estimator_output(value: Any, n_episodes: int, param_shape: tuple[int, ...]) -> GradientEstimate | np.ndarray:
    r"""What an estimator returned, checked against the estimator contract (see the module's docstring).

    Returns a :class:`GradientEstimate` for per-episode samples (given as one or as an array of shape
    (n_episodes, \*param_shape)), or the mean gradient, an array of shape ``param_shape``; raises a
    `TypeError` or `ValueError` saying what was expected otherwise.

    >>> estimator_output([0.5, -1.0], 10, (2,))
    array([ 0.5, -1. ])
    >>> estimator_output(np.zeros((10, 2)), 10, (2,)).n_episodes
    10
    """
    if isinstance(value, GradientEstimate):
        value = value.per_episode
    elif is_tensor(value):
        value = value.detach().cpu().numpy()
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(
            "the estimator must return a GradientEstimate or an array of numbers (per-episode samples or the "
            f"mean gradient); got {type(value).__name__}"
        ) from error
    per_episode = (n_episodes, *param_shape)
    if array.shape not in (per_episode, tuple(param_shape)):
        raise ValueError(
            f"the estimator returned shape {array.shape}; expected per-episode samples {per_episode} or a mean "
            f"gradient {tuple(param_shape)}"
        )
    if not np.all(np.isfinite(array)):
        raise ValueError("the estimator returned nan or inf")
    return GradientEstimate(array) if array.shape == per_episode else array


def score_sums(batch: Batch, policy: Policy, theta: Params, weights: np.ndarray) -> GradientEstimate:
    r"""Per-episode :math:`\hat g_i = \sum_t w_{i,t} \nabla_\theta \log \pi_\theta(a_{i,t}|s_{i,t})`.

    The shared last stage of every score-function estimator. Steps are first summed into counts
    :math:`W_i(s,a) = \sum_t w_{i,t} [s_{i,t}=s, a_{i,t}=a]`, then contracted with the score by
    :meth:`~pgbook.policies.Policy.weighted_score`, which uses the score's structure (for a softmax,
    :math:`\sum_{s,a} (W_i(s,a)` :math:`{} - \pi(a|s) \sum_b W_i(s,b)) \nabla h(s,a)`) instead of the
    (n_states · n_actions) × dim θ score table: memory grows with n_episodes · n_states · n_actions, not with
    the episodes' length nor with the square of the table.
    """
    theta = check_batch_and_policy(batch, policy, theta)
    weights = as_real_array("weights", weights, ndim=2)
    check_shape("weights", weights, batch.actions.shape)
    return _score_sums(batch, policy, theta, weights)


def _score_sums(batch: Batch, policy: Policy, theta: np.ndarray, weights: np.ndarray) -> GradientEstimate:
    """:func:`score_sums` for arguments already checked."""
    if batch.has_observations:
        return _module_score_sums(batch, policy, theta, weights)
    counts = batch.pair_counts(weights, policy.n_states, policy.n_actions)
    return GradientEstimate(policy._score_operators(theta)[1](counts))  # theta checked: no second check


def _module_score_sums(
    batch: Batch, policy: ModulePolicy, theta: np.ndarray, weights: np.ndarray, chunk: int = 256
) -> GradientEstimate:
    """Per-episode score sums for observation batches, by autograd: one gradient per episode, vectorized
    over episodes with :func:`torch.func.vmap` (memory grows with ``chunk`` episodes, not with their square).
    """
    theta_tensor = torch.tensor(theta, dtype=torch.float64)

    def weighted_log_likelihood(params, observations, actions, step_weights, alive):
        log_pi = policy.torch_action_log_probabilities(params, observations)
        taken = log_pi.gather(-1, actions[:, None]).squeeze(-1)
        return torch.sum(torch.where(alive, step_weights * taken, 0.0))

    per_episode_gradient = torch.func.vmap(torch.func.grad(weighted_log_likelihood), in_dims=(None, 0, 0, 0, 0))
    gradients = []
    for start in range(0, batch.n_episodes, chunk):
        episodes = slice(start, start + chunk)
        gradients.append(
            per_episode_gradient(
                theta_tensor,
                torch.tensor(batch.states[episodes], dtype=torch.float64),
                torch.tensor(batch.actions[episodes]),
                torch.tensor(weights[episodes], dtype=torch.float64),
                torch.tensor(batch.alive[episodes]),
            )
        )
    return GradientEstimate(torch.cat(gradients).numpy())


def reinforce(
    batch: Batch,
    policy: Policy,
    theta: Params,
    *,
    baseline: Baseline = None,
) -> GradientEstimate:
    r"""REINFORCE (Williams 1992): :math:`\hat g_i = (G_i - b_i) \sum_t \nabla \log \pi(a_t|s_t)`.

    Parameters
    ----------
    baseline
        In the library's one vocabulary (:mod:`pgbook.baselines`). ``None`` (or ``"none"``): :math:`b = 0`.
        A number: that constant. ``"mean"``: the mean return of the *other* episodes. ``"optimal"``: the
        variance-optimal constant
        :math:`b^* = E[\|g\|^2 G] / E[\|g\|^2]`, :math:`g = \sum_t \nabla \log \pi(a_t|s_t)` (Greensmith,
        Bartlett & Baxter 2004), estimated from the other episodes. An array ``V[s]`` of shape (n_states,):
        :math:`b_i = V(s_{i,0})`, the value of the episode's start state, which none of its actions can
        influence; ``"learned"``: the same with the Monte-Carlo values of :func:`fit_state_values`, fitted on
        the other half of the batch (cross-fitted, as in :func:`reward_to_go`). All of these are unbiased.
        ``"normalized"``: :math:`(G_i - \bar G)/\mathrm{sd}(G)` over the whole batch, as many
        implementations do; it is **biased** (it rescales the gradient and couples the episodes).

    Examples
    --------
    >>> import pgbook as pg
    >>> mdp, policy = pg.examples.short_corridor(), pg.examples.short_corridor_policy()
    >>> theta = pg.examples.corridor_params(0.3)
    >>> batch = pg.sample_episodes(mdp, policy, theta, 20_000, max_steps=2_000, seed=1)
    >>> estimate = reinforce(batch, policy, theta, baseline="optimal")
    >>> exact = pg.exact_gradient(mdp, policy, theta)
    >>> bool(np.all(np.abs(estimate.mean - exact) < 4.5 * estimate.standard_error))
    True
    """
    theta = check_batch_and_policy(batch, policy, theta)
    baseline = parse_baseline(
        baseline, accepts=("none", "constant", "values", "mean", "optimal", "learned", "normalized")
    )
    returns = batch.returns()
    if baseline.kind == "normalized":
        if batch.n_episodes < 2:
            raise ValueError('baseline="normalized" needs at least two episodes (it divides by their spread)')
        spread = returns.std()
        if spread == 0:
            raise ValueError(
                'baseline="normalized" divides by the spread of the returns, and every episode has return '
                f"{returns[0]:g}: the normalized returns are undefined"
            )
    elif _is_state_baseline(baseline):
        start_values = _value_tables(batch, policy.n_states, baseline.value, name="baseline")[
            np.arange(batch.n_episodes), batch.states[:, 0]
        ]
    # Every step has the same weight: the episode's score Σ_t ∇log π once, then scaled by its weight.
    scores = _score_sums(batch, policy, theta, np.broadcast_to(1.0, batch.actions.shape)).per_episode
    if baseline.kind == "normalized":
        return GradientEstimate(_scaled((returns - returns.mean()) / spread, scores))
    if _is_state_baseline(baseline):
        return GradientEstimate(_scaled(returns - start_values, scores))
    return _with_constant_baseline(batch, _scaled(returns, scores), scores, baseline)


def reward_to_go(
    batch: Batch,
    policy: Policy,
    theta: Params,
    *,
    baseline: Baseline = None,
    weighting: Literal["discounted", "undiscounted"] = "discounted",
) -> GradientEstimate:
    r"""Reward-to-go: :math:`\hat g_i`
    :math:`{} = \sum_t \gamma^t (G_{i,t} - b(s_{i,t})) \nabla \log \pi(a_{i,t}|s_{i,t})`.

    REINFORCE (Williams 1992) with causality: the rewards received before :math:`a_t` are removed from its
    weight. This is the episodic REINFORCE of Sutton & Barto (2018, §13.3; with a state-value baseline
    §13.4). It is not GPOMDP (Baxter & Bartlett 2001), an average-reward estimator that discounts an
    eligibility trace by β and has no :math:`\gamma^t`. The :math:`\gamma^t` is the discounted theorem's
    own factor; ``weighting="undiscounted"`` drops it, as many implementations do,
    and is then **biased** for γ < 1 (it estimates the gradient of neither the discounted nor the
    undiscounted objective; Thomas 2014, Nota & Thomas 2020).

    Parameters
    ----------
    baseline
        In the library's one vocabulary (:mod:`pgbook.baselines`): ``None`` (or ``"none"``); a constant;
        ``"mean"`` or ``"optimal"``: constants estimated from the other episodes as in :func:`reinforce`; an
        array ``V[s]`` of shape (n_states,), for example the
        true :func:`pgbook.state_values`; or ``"learned"``: the Monte-Carlo values of :func:`fit_state_values`
        (the average of :math:`G_t` in each state), fitted on the other half of the batch (cross-fitting keeps
        the estimator unbiased).
    """
    if weighting not in ("discounted", "undiscounted"):
        raise ValueError(f'weighting must be "discounted" or "undiscounted"; got {weighting!r}')
    theta = check_batch_and_policy(batch, policy, theta)
    baseline = parse_baseline(baseline, accepts=("none", "constant", "values", "mean", "optimal", "learned"))
    # The step weights c_t (padding steps count 0 in the score sums whatever their weight).
    weights = batch.discounts() if weighting == "discounted" else np.broadcast_to(1.0, batch.actions.shape)
    if _is_state_baseline(baseline):
        advantages = batch.returns_to_go() - _state_baseline(batch, policy, baseline.value)
        return _score_sums(batch, policy, theta, weights * advantages)
    with_returns = _score_sums(batch, policy, theta, weights * batch.returns_to_go()).per_episode
    without = None if baseline.kind == "none" else _score_sums(batch, policy, theta, weights).per_episode
    return _with_constant_baseline(batch, with_returns, without, baseline)


def advantage_estimator(batch: Batch, policy: Policy, theta: Params, advantages: Any) -> GradientEstimate:
    r""":math:`\hat g_i = \sum_t \gamma^t A(s_{i,t}, a_{i,t}) \nabla \log \pi(a_{i,t}|s_{i,t})` with a given
    advantage table (the exact :func:`pgbook.advantages` makes it an oracle-assisted, unbiased estimator).
    """
    theta = check_batch_and_policy(batch, policy, theta)
    _require_state_indices(batch, "the advantage estimator")
    advantages = as_real_array("advantages", advantages, ndim=2)
    check_shape("advantages", advantages, (policy.n_states, policy.n_actions))
    step_advantages = advantages[batch.states, batch.actions]
    return _score_sums(batch, policy, theta, batch.discounts() * step_advantages)  # padding steps count 0


def gae_estimator(batch: Batch, policy: Policy, theta: Params, *, values: Any, lam: float) -> GradientEstimate:
    r"""Actor-critic with generalized advantage estimation (Schulman et al. 2016):

    .. math::
        \delta_t &= r_{t+1} + \gamma V(s_{t+1}) - V(s_t), \\
        \hat A_t &= \sum_{l \ge 0} (\gamma\lambda)^l \delta_{t+l}, \\
        \hat g_i &= \sum_t \gamma^t \hat A_{i,t} \nabla \log \pi(a_{i,t}|s_{i,t}).

    With the true :math:`V_\pi` it is unbiased for every λ; with another critic it is biased except at
    λ = 1, and λ trades that bias against variance. λ = 0 is one-step actor-critic.

    Parameters
    ----------
    values : array_like of shape (n_states,) or "learned"
        The critic :math:`V(s)`. The value after a terminal step is 0 whatever ``values`` says; after a
        truncated episode's last step it is ``values`` of the state where it was cut off.
        ``"learned"``: the Monte-Carlo values of :func:`fit_state_values`, fitted on the other half of the batch
        (cross-fitted), the same table as ``baseline="learned"`` in :func:`reward_to_go` and :func:`reinforce`.
    lam : float in [0, 1]
    """
    lam = as_unit_interval("lam", lam)
    theta = check_batch_and_policy(batch, policy, theta)
    tables = _value_tables(batch, policy.n_states, values, name="values")
    state_values = np.take_along_axis(tables, batch.states, axis=1)
    final_values = tables[np.arange(batch.n_episodes), batch.final_states]
    final_values = np.where(batch.terminated, 0.0, final_values)
    next_values = np.zeros_like(state_values)
    next_values[:, :-1] = np.where(batch.alive[:, 1:], state_values[:, 1:], 0.0)
    last = np.maximum(batch.lengths - 1, 0)
    next_values[np.arange(batch.n_episodes), last] = final_values
    deltas = (batch.rewards + batch.gamma * next_values - state_values) * batch.alive
    advantages = discounted_suffix_sums(deltas, batch.gamma * lam)
    return _score_sums(batch, policy, theta, batch.discounts() * advantages)  # padding steps count 0


# Baselines ----------------------------------------------------------------------------------------------


def _with_constant_baseline(
    batch: Batch, with_returns: np.ndarray, without: np.ndarray | None, baseline: ParsedBaseline
) -> GradientEstimate:
    r"""Samples :math:`\hat g_i = u_i - b_i v_i` from :math:`u_i = \sum_t c_t R_t \nabla\log\pi` (``with_returns``)
    and :math:`v_i = \sum_t c_t \nabla\log\pi` (``without``; ``None`` when there is no baseline), per episode.

    ``"mean"``: :math:`b_i` is the mean return of the other episodes. ``"optimal"``: the constant that
    minimises :math:`E\|u - b v\|^2`, :math:`b^* = E\langle u, v\rangle / E\|v\|^2`, from the other episodes
    (for REINFORCE, :math:`v` is the episode's score and this is :math:`E[\|g\|^2 G]/E[\|g\|^2]`).
    """
    if baseline.kind == "none":
        return GradientEstimate(with_returns)
    if baseline.kind == "mean":
        constants = leave_one_out_mean(batch.returns(), np.ones(batch.n_episodes))
    elif baseline.kind == "optimal":
        u, v = with_returns.reshape(batch.n_episodes, -1), without.reshape(batch.n_episodes, -1)
        squared_norms = np.sum(v**2, axis=1)
        ratios = np.divide(
            np.sum(u * v, axis=1), squared_norms, out=np.zeros(batch.n_episodes), where=squared_norms > 0
        )
        constants = leave_one_out_mean(ratios, squared_norms)
    else:
        constants = np.full(batch.n_episodes, baseline.value)
    return GradientEstimate(with_returns - _scaled(constants, without))


def _scaled(per_episode: np.ndarray, samples: np.ndarray) -> np.ndarray:
    r"""``samples`` (n_episodes, \*param_shape) with episode i's multiplied by ``per_episode[i]``."""
    return per_episode.reshape((-1,) + (1,) * (samples.ndim - 1)) * samples


def _is_state_baseline(baseline: ParsedBaseline) -> bool:
    """Whether ``baseline`` is a state-value baseline (``"learned"`` or an array V[s]) rather than a constant."""
    return baseline.kind in ("values", "learned")


def _state_baseline(batch: Batch, policy: Policy, baseline: Any) -> np.ndarray:
    """The state-dependent baseline's value b(s_t) at every step, shape (n_episodes, horizon)."""
    tables = _value_tables(batch, policy.n_states, baseline, name="baseline")
    return np.take_along_axis(tables, batch.states, axis=1)


def _value_tables(batch: Batch, n_states: int, values: Any, *, name: str) -> np.ndarray:
    """The state-value table each episode uses, shape (n_episodes, n_states), from an array V[s] (shared by
    every episode: a broadcast view) or ``"learned"`` (cross-fitted)."""
    _require_state_indices(batch, "a state-dependent baseline or critic")
    if isinstance(values, str):
        if values != "learned":
            raise ValueError(f'{name} must be an array V[s] or "learned"; got {values!r}')
        return _cross_fitted_tables(batch, n_states)
    table = as_real_array(name, values, ndim=1)
    check_shape(name, table, (n_states,))
    return np.broadcast_to(table, (batch.n_episodes, n_states))


def fit_state_values(batch: Batch, n_states: int) -> np.ndarray:
    r"""Monte-Carlo state values: the mean of :math:`G_t` over the steps in each state (0 if never visited).

    Every visit counts, so this estimates :math:`V_\pi(s)` (exactly so in expectation for a continuing or
    terminating problem sampled without truncation).
    """
    if not isinstance(batch, Batch):
        raise TypeError(f"batch must be a pgbook.Batch; got {type(batch).__name__}")
    _require_state_indices(batch, "fit_state_values")
    n_states = as_count("n_states", n_states)
    returns = batch.returns_to_go()[batch.alive]
    states = batch.states[batch.alive]
    totals = np.bincount(states, weights=returns, minlength=n_states)
    counts = np.bincount(states, minlength=n_states)
    return np.divide(totals, counts, out=np.zeros(n_states), where=counts > 0)


def _cross_fitted_tables(batch: Batch, n_states: int) -> np.ndarray:
    """Per-episode value tables, shape (n_episodes, n_states): each half's fitted on the other half."""
    if batch.n_episodes < 2:
        raise ValueError("a learned baseline needs at least two episodes (it is fitted on the other half)")
    half = batch.n_episodes // 2
    first, second = batch.subset(slice(0, half)), batch.subset(slice(half, None))
    tables = np.empty((batch.n_episodes, n_states))
    tables[:half] = fit_state_values(second, n_states)
    tables[half:] = fit_state_values(first, n_states)
    return tables


def _check_observation_batch(batch: Batch, policy: Policy, theta: np.ndarray) -> np.ndarray:
    if not isinstance(policy, ModulePolicy):
        raise TypeError(
            "this batch holds observation vectors (from an environment): its policy must be a "
            f"pgbook.ModulePolicy; got {type(policy).__name__}"
        )
    if batch.actions[batch.alive].max(initial=0) >= policy.n_actions:
        raise ValueError(f"batch holds actions outside the policy's {policy.n_actions} actions")
    with torch.no_grad():
        log_pi = policy.torch_action_log_probabilities(
            torch.tensor(theta, dtype=torch.float64), torch.tensor(batch.states, dtype=torch.float64)
        ).numpy()
    taken = np.take_along_axis(log_pi, batch.actions[..., None], axis=-1)[..., 0]
    impossible = batch.alive & np.isneginf(taken)
    if impossible.any():
        i, t = (int(k) for k in np.argwhere(impossible)[0])
        raise ValueError(
            f"the policy gives probability 0 to action {batch.actions[i, t]}, taken in episode {i} at step "
            f"{t}: its score ∇log π is undefined (was the batch sampled from another policy or theta?)"
        )
    return theta


def _require_state_indices(batch: Batch, what: str) -> None:
    if batch.has_observations:
        raise ValueError(
            f"{what} needs the states of a finite MDP, but this batch holds observation vectors from an "
            "environment: use REINFORCE or reward-to-go with a constant baseline"
        )


def check_batch_and_policy(batch: Batch, policy: Policy, theta: Params) -> np.ndarray:
    r"""Validate an estimator's arguments and return ``theta`` as checked float64 parameters.

    ``batch`` must be a :class:`~pgbook.Batch` and ``policy`` a :class:`~pgbook.policies.Policy`; the batch's
    states and actions must lie in the policy's tables, and every action taken must have
    :math:`\pi_\theta(a_t|s_t) > 0`, so that its score :math:`\nabla_\theta \log \pi_\theta(a_t|s_t)` is
    defined (a batch of observation vectors needs a :class:`~pgbook.ModulePolicy`). Every estimator here, and
    those of :mod:`pgbook.off_policy`, begins with it; a ``ValueError`` or ``TypeError`` names what does not fit.

    >>> import pgbook as pg
    >>> mdp, policy = pg.examples.random_mdp(3, 2, gamma=0.9, seed=0, n_terminal=1), pg.TabularSoftmax(3, 2)
    >>> batch = pg.sample_episodes(mdp, policy, np.zeros((3, 2)), 4, max_steps=20, seed=0)
    >>> check_batch_and_policy(batch, policy, [[0, 0], [0, 0], [0, 0]]).dtype
    dtype('float64')
    >>> check_batch_and_policy(batch, pg.TabularSoftmax(1, 2), np.zeros((1, 2)))   # a policy for 1 state
    Traceback (most recent call last):
    ...
    ValueError: batch holds states or actions outside the policy's 1 states and 2 actions
    """
    if not isinstance(batch, Batch):
        raise TypeError(f"batch must be a pgbook.Batch; got {type(batch).__name__}")
    if not isinstance(policy, Policy):
        raise TypeError(f"policy must be a pgbook.Policy; got {type(policy).__name__}")
    theta = policy.check_params(theta)
    if batch.has_observations:
        return _check_observation_batch(batch, policy, theta)
    steps = batch.alive
    # The whole arrays first (padding holds 0, a valid index); the steps alone only if the padding is out of range.
    if (batch.states.max() >= policy.n_states or batch.actions.max() >= policy.n_actions) and (
        batch.states.max(where=steps, initial=0) >= policy.n_states
        or batch.actions.max(where=steps, initial=0) >= policy.n_actions
    ):
        raise ValueError(
            f"batch holds states or actions outside the policy's {policy.n_states} states and "
            f"{policy.n_actions} actions"
        )
    pi = policy._probabilities(theta)  # theta checked
    if not np.any(pi == 0.0):  # every action has a score: no step to look at
        return theta
    zero = steps & (pi[batch.states, batch.actions] == 0.0)
    if zero.any():
        i, t = (int(k) for k in np.argwhere(zero)[0])
        raise ValueError(
            f"the policy gives probability 0 to action {batch.actions[i, t]} in state {batch.states[i, t]}, "
            f"taken in episode {i} at step {t}: its score ∇log π is undefined (was the batch sampled from "
            "another policy or another theta?)"
        )
    return theta
