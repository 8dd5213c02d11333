r"""A catalogue of known mistakes in policy-gradient code, with the exact expected value of each.

Every score-function estimator has the form :math:`\hat g = \frac1N \sum_i \sum_t c_t Y_{i,t}
\nabla_\theta \log \pi_\theta(a_{i,t}|s_{i,t})`; the correct one (reward-to-go) has :math:`c_t = \gamma^t` and
:math:`Y_{i,t} = G_{i,t}`. Each mistake is data on how it changes that recipe: a table of step weights
:math:`c_t` (``weights``), a table of targets :math:`E[Y_t | s_t = s, a_t = a]` (``target``), a positive
factor (``factor``: scale-only mistakes), a sign, or a whole fixed-length rollout pipeline (``pipeline``). The
expected value is then an exact sum over the steps of an episode cut off after ``max_steps`` steps:

.. math::
    E[\hat g] &= \sum_{s,a} \pi_\theta(a|s)\, \bar Y(s,a) \\
        &\quad \times \nabla_\theta \log \pi_\theta(a|s), \\
    \bar Y(s,a) &= \textstyle\sum_t c_t\, \Pr(s_t = s) \\
        &\quad \times E[Y_t | s_t = s, a_t = a],

computed from the finite-horizon tables :math:`\Pr(s_t = s)`, :math:`E[G_t | s, a]` and :math:`E[G_t^2 | s, a]`
(backward recursions; rewards are deterministic, ``R[s, a]``) and contracted with
:meth:`pgbook.Policy.weighted_probability_gradient` (no table of scores is built).

**Scale-only mistakes.** A loss averaged over all steps divides by :math:`E[T]`, a missing :math:`1/N`
multiplies by the batch size, and normalising advantages or returns by the batch's mean and standard
deviation divides by that deviation (subtracting a constant is a baseline): each multiplies the
expectation by a positive factor and leaves its direction alone. They are catalogued by their large-batch
limit, the ratio of the expectations (exact up to :math:`O(1/N)`), and :func:`diagnose` first fits the
direction with a free positive factor, then names the factor.

**Critics and rollouts.** :func:`gae` is GAE(λ) with the problem's critic :math:`\hat V`
(``critic`` of :class:`pgbook.Problem`), :func:`bootstrapped` the n-step return bootstrapped with the critic, and
:func:`rollouts` the update of Stable-Baselines3, TorchRL and CleanRL: fixed-length rollouts of n steps of an
auto-reset environment (from a reset, or in the auto-reset chain's stationary state; with Gymnasium 1.x's
NEXT_STEP autoreset, one extra step at each episode's terminal state), GAE(λ) with the critic cut at episode
ends and bootstrapped at the rollout's end, the loss averaged over the rollout's steps. Their expected
advantages come from one backward recursion in the number of steps left,

.. math::
    E[\hat A \mid s, a, k] &= R(s,a) - \hat V(s) \\
        &\quad + \gamma (C \hat V)(s,a) \\
        &\quad + \gamma\lambda\, (C h_{k-1})(s,a), \\
    h_k(s) &= \textstyle\sum_a \pi(a|s)\, E[\hat A \mid s, a, k], \\
    h_0 &= 0,

with :math:`C(s'|s,a)` the transitions on which the advantage continues (not into a terminal state), and
the same for :math:`E[\hat A^2]`. Gradient-norm clipping has no exact expectation (it depends on the whole
distribution of the batch's gradient norm): the catalogue lists it as outside what can be named.

:func:`diagnose` compares an estimator's means on several problems with every combination of up to three
mistakes and names those it matches on every problem; when the problems cannot tell candidates apart it
says so and lists them. References: Nota & Thomas (2020) and Thomas (2014) for the dropped :math:`\gamma^t`;
Williams (1992) and Greensmith, Bartlett & Baxter (2004) for baselines; Schulman et al. (2016) for GAE.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from itertools import combinations, product
from typing import Any

import numpy as np

from pgbook.arguments import as_count, as_flag, as_real, as_unit_interval, check_type
from pgbook.direction import fit_scale
from pgbook.gradient_estimate import GradientEstimate
from pgbook.mdp import FiniteMDP
from pgbook.policies import Params, Policy
from pgbook.problem import Problem, check_problems
from pgbook.stats import two_sided_threshold, z_scores

# The parts of the recipe a mistake changes; at most one mistake per part in a combination.
DIRECTION_PARTS = ("weights", "target", "sign", "pipeline")
SCALE_PARTS = ("normalisation", "average")


@dataclass(frozen=True)
class StepTables:
    """Finite-horizon tables of an episode cut off after ``horizon`` steps.

    occupancy[t, s] = Pr(s_t = s, episode still running); returns[t, s, a] = E[G_t | s_t = s, a_t = a];
    squares[t, s, a] = E[G_t² | s, a]; next_returns[t, s, a] = E[G_{t+1} | s_t = s, a_t = a] and
    next_squares[t, s, a] = E[G_{t+1}² | s_t = s, a_t = a].
    """

    occupancy: np.ndarray
    returns: np.ndarray
    squares: np.ndarray
    next_returns: np.ndarray
    next_squares: np.ndarray

    @classmethod
    def compute(cls, mdp: FiniteMDP, pi: np.ndarray, horizon: int) -> StepTables:
        n_states, n_actions = pi.shape
        gamma, live = mdp.gamma, (~mdp.terminal).astype(float)
        returns = np.empty((horizon, n_states, n_actions))
        squares, next_returns, next_squares = np.empty_like(returns), np.empty_like(returns), np.empty_like(returns)
        value, second = np.zeros(n_states), np.zeros(n_states)  # E[G_{t+1} | s], E[G_{t+1}^2 | s]
        for t in reversed(range(horizon)):
            next_returns[t], next_squares[t] = mdp.P @ value, mdp.P @ second
            returns[t] = mdp.R + gamma * next_returns[t]
            squares[t] = mdp.R**2 + 2 * gamma * mdp.R * next_returns[t] + gamma**2 * next_squares[t]
            value, second = np.sum(pi * returns[t], axis=1) * live, np.sum(pi * squares[t], axis=1) * live
        occupancy = np.empty((horizon, n_states))
        occupancy[0] = mdp.initial * live
        transition = np.einsum("sa,sat->st", pi, mdp.P)
        for t in range(1, horizon):
            occupancy[t] = (occupancy[t - 1] @ transition) * live
        return cls(occupancy, returns, squares, next_returns, next_squares)


@dataclass
class Setting:
    """One problem prepared for the catalogue: the policy table at θ, the finite-horizon tables, the critic,
    and the batch size the estimator averaged over (when known: the factor of a missing 1/N)."""

    mdp: FiniteMDP
    policy: Policy
    theta: np.ndarray
    max_steps: int
    critic: np.ndarray | None = None
    batch_episodes: int | None = None
    pi: np.ndarray = field(init=False)
    _tables: StepTables | None = field(default=None, init=False, repr=False)
    _memo: dict = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.theta = self.policy.check_params(self.theta)
        self.max_steps = as_count("max_steps", self.max_steps)
        self.pi = self.policy.probabilities(self.theta)

    @classmethod
    def of(cls, problem: Any, batch_episodes: int | None = None) -> Setting:
        """The setting of a :class:`pgbook.Problem` (anything with mdp, policy, theta, max_steps)."""
        return cls(
            problem.mdp,
            problem.policy,
            problem.theta,
            problem.max_steps,
            getattr(problem, "critic", None),
            batch_episodes,
        )

    @property
    def tables(self) -> StepTables:
        if self._tables is None:
            self._tables = StepTables.compute(self.mdp, self.pi, self.max_steps)
        return self._tables

    def memo(self, key: Any, compute: Callable[[], Any]) -> Any:
        """``compute()``, once per setting and key (a mistake's target or pipeline is tried in many combinations)."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def require_critic(self, what: str) -> np.ndarray:
        if self.critic is None:
            raise ValueError(f"{what} needs the problem's critic: give pgbook.Problem(..., critic=V̂ per state)")
        return self.critic


@dataclass(frozen=True)
class Recipe:
    """What an estimator's combination of direction mistakes computes on one problem: ``pair_values`` Ȳ(s, a)
    (its expectation is Σ π(a|s) Ȳ(s, a) ∇log π(a|s)), the expected number of steps per sample, and the
    mean and mean square of the per-step target over those steps (None where unknown), and of the return."""

    pair_values: np.ndarray
    steps: float
    target_mean: float | None
    target_square: float | None
    return_mean: float
    return_square: float
    sign: float = 1.0


Target = Callable[[Setting], tuple[np.ndarray, np.ndarray | None]]


@dataclass(frozen=True)
class Mistake:
    """One known mistake: its name, the part of the recipe it changes, what the code does, and its effect.

    The effect is exactly one of: ``weights`` (the step weights c_t, shape (max_steps,)), ``target``
    (E[Y_t | s, a] and E[Y_t² | s, a] or None, shape (max_steps, n_states, n_actions)), ``factor`` (a
    positive factor from the recipe, None where it cannot be known), ``sign``, or ``pipeline`` (the whole
    :class:`Recipe`). A mistake with none is outside what can be named (``nameable`` is False).
    """

    name: str
    part: str  # "weights", "target", "sign", "pipeline", "normalisation", "average" or "outside"
    code: str
    weights: Callable[[Setting], np.ndarray] | None = field(default=None, compare=False)
    target: Target | None = field(default=None, compare=False)
    factor: Callable[[Setting, Recipe], float | None] | None = field(default=None, compare=False)
    sign: float = 1.0
    pipeline: Callable[[Setting], Recipe] | None = field(default=None, compare=False)
    needs_critic: bool = False

    @property
    def nameable(self) -> bool:
        return self.part != "outside"

    @property
    def scale_only(self) -> bool:
        return self.part in SCALE_PARTS

    def __post_init__(self) -> None:
        check_type("name", self.name, str, "a string")
        if self.part not in DIRECTION_PARTS + SCALE_PARTS + ("outside",):
            raise ValueError(f"part must be one of {DIRECTION_PARTS + SCALE_PARTS + ('outside',)}; got {self.part!r}")
        for effect in ("weights", "target", "factor", "pipeline"):
            if getattr(self, effect) is not None and not callable(getattr(self, effect)):
                raise TypeError(f"{effect} must be None or a callable of the setting; got {getattr(self, effect)!r}")
        object.__setattr__(self, "sign", as_real("sign", self.sign))
        object.__setattr__(self, "needs_critic", as_flag("needs_critic", self.needs_critic))

    def __str__(self) -> str:
        return self.name


def _first_step(setting: Setting) -> np.ndarray:
    return (np.arange(setting.max_steps) == 0).astype(float)


def _off_by_one(setting: Setting) -> tuple[np.ndarray, np.ndarray]:
    return setting.tables.next_returns, setting.tables.next_squares


def _q_baseline(setting: Setting) -> tuple[np.ndarray, np.ndarray]:
    tables, q = setting.tables, setting.mdp.action_values(setting.pi)
    return tables.returns - q, tables.squares - 2 * q * tables.returns + q**2


def _per_step(setting: Setting, recipe: Recipe) -> float:
    return 1.0 / recipe.steps


def _missing_mean(setting: Setting, recipe: Recipe) -> float | None:
    return None if setting.batch_episodes is None else float(setting.batch_episodes)


def _normalised_advantages(setting: Setting, recipe: Recipe) -> float | None:
    if recipe.target_square is None or recipe.target_mean is None:
        return None
    return _inverse_spread(recipe.target_square - recipe.target_mean**2)


def _normalised_returns(setting: Setting, recipe: Recipe) -> float:
    return _inverse_spread(recipe.return_square - recipe.return_mean**2)


def _inverse_spread(variance: float) -> float:
    spread = np.sqrt(max(variance, 0.0))
    return 1.0 / spread if spread > 0 else 1.0


#: The known mistakes with a fixed meaning, eleven :class:`Mistake` entries (discount weights dropped or applied
#: twice, the score of the first step only, an off-by-one or action-dependent target, per-batch normalisation of
#: the advantages or returns, the wrong average per step or a sum, a flipped sign, and gradient-norm clipping,
#: which has no exact value and is never matched). :func:`gae`, :func:`bootstrapped` and :func:`rollouts` make
#: the entries that depend on your pipeline's settings.
#:
#: :meta hide-value:
CATALOGUE: tuple[Mistake, ...] = (
    Mistake(
        "discount weights γᵗ dropped",
        "weights",
        "w_t = G_t instead of γ^t G_t",
        weights=lambda s: np.ones(s.max_steps),
    ),
    Mistake(
        "discounting applied twice",
        "weights",
        "w_t = γ^t · (γ^t G_t): returns discounted from t = 0, times γ^t",
        weights=lambda s: s.mdp.gamma ** (2 * np.arange(s.max_steps)),
    ),
    Mistake(
        "score taken for the first step only", "weights", "only log π(a_0|s_0) enters the loss", weights=_first_step
    ),
    Mistake("reward-to-go off by one step", "target", "w_t = γ^t G_{t+1}: the reward r_t left out", target=_off_by_one),
    Mistake("action-dependent baseline Q(s, a)", "target", "w_t = γ^t (G_t − Q(s_t, a_t))", target=_q_baseline),
    Mistake(
        "advantages normalised per batch",
        "normalisation",
        "the advantages (or returns-to-go) replaced by (F − mean) / std over the batch's steps: a factor 1/std",
        factor=_normalised_advantages,
    ),
    Mistake(
        "episode returns normalised per batch",
        "normalisation",
        "every step weighted by (G_0 − mean) / std of the episode returns: a factor 1/std",
        factor=_normalised_returns,
    ),
    Mistake(
        "loss averaged over all steps, not over episodes",
        "average",
        "divided by Σ_i T_i instead of N: a factor 1/E[T]",
        factor=_per_step,
    ),
    Mistake(
        "loss summed over the batch (1/N missing)",
        "average",
        "the sum over N episodes where the mean belongs: a factor N",
        factor=_missing_mean,
    ),
    Mistake("sign flipped", "sign", "the gradient of −J (a loss minimised where it should be maximised)", sign=-1.0),
    Mistake(
        "gradient-norm clipping",
        "outside",
        "g · min(1, c/‖g‖): its expectation depends on the whole distribution of ‖g‖, so it has no exact value "
        "here; check the gradient before clipping",
    ),
)


def mistake(name: str) -> Mistake:
    """The catalogue's mistake of that name.

    >>> mistake("sign flipped").part
    'sign'
    """
    for candidate in CATALOGUE:
        if candidate.name == name:
            return candidate
    raise ValueError(f"no mistake named {name!r}; the catalogue has {[m.name for m in CATALOGUE]}")


# Critics: GAE(λ), n-step bootstrapping, fixed-length rollouts ----------------------------------------------


@dataclass(frozen=True)
class _Chain:
    """An environment's steps as the advantage recursion sees them: the reward, the transitions on which the
    advantage continues (``cont``, S×A×S; the rest of each row ends it: a terminal transition), and the
    transitions of the state sequence (``moves``, S×A×S, for the state distribution)."""

    rewards: np.ndarray
    cont: np.ndarray
    moves: np.ndarray


def _episode_chain(mdp: FiniteMDP) -> _Chain:
    live = ~mdp.terminal
    return _Chain(mdp.R, mdp.P * live, mdp.P)


def _autoreset_chain(mdp: FiniteMDP, next_step: bool) -> _Chain:
    """Auto-reset: after a terminal transition the environment resets (μ0). Gymnasium's SAME_STEP mode
    (Stable-Baselines3's VecEnv) moves straight to the reset state; NEXT_STEP (Gymnasium 1.x's default,
    CleanRL) first spends one step at the terminal state, reward 0, whose advantage continues into the
    next episode."""
    live, ending = ~mdp.terminal, mdp.P[:, :, mdp.terminal].sum(axis=2)
    rewards, cont = mdp.R.copy(), mdp.P * live
    if next_step:
        moves = mdp.P.copy()
        moves[mdp.terminal] = mdp.initial
        cont[mdp.terminal] = mdp.initial
        rewards[mdp.terminal] = 0.0
    else:
        moves = cont + ending[:, :, None] * mdp.initial
    return _Chain(rewards, cont, moves)


def _advantage_moments(
    chain: _Chain, pi: np.ndarray, critic: np.ndarray, gamma: float, lam: float, steps: int
) -> tuple[np.ndarray, np.ndarray]:
    r"""E[Â | s, a, k] and E[Â² | s, a, k] for k = 1..steps steps left (index k − 1), by the recursion of the
    module docstring: :math:`\hat A = \delta + \gamma\lambda\, \hat A'` on continuing transitions, with
    :math:`\delta = r + \gamma \hat V(s') - \hat V(s)` there and :math:`r - \hat V(s)` on ending ones."""
    base = chain.rewards - critic[:, None]  # δ without the bootstrap
    cont_v, cont_v2 = chain.cont @ critic, chain.cont @ critic**2
    mean_delta = base + gamma * cont_v
    # Σ_s' C (base + γV̂(s'))² + (1 − Σ_s' C) base²: the continuing and the ending transitions
    square_delta = base**2 + 2 * gamma * base * cont_v + gamma**2 * cont_v2
    means, squares = np.empty((steps, *pi.shape)), np.empty((steps, *pi.shape))
    h, h2 = np.zeros(pi.shape[0]), np.zeros(pi.shape[0])
    g = gamma * lam
    for k in range(steps):
        cont_h, cont_h2 = chain.cont @ h, chain.cont @ h2
        means[k] = mean_delta + g * cont_h
        squares[k] = square_delta + 2 * g * (base * cont_h + gamma * (chain.cont @ (critic * h))) + g**2 * cont_h2
        h, h2 = np.sum(pi * means[k], axis=1), np.sum(pi * squares[k], axis=1)
    return means, squares


def gae(lam: float) -> Mistake:
    r"""GAE(λ) advantages with the problem's critic :math:`\hat V` in place of :math:`G_t` (episodes cut at
    ``max_steps`` bootstrap with :math:`\hat V` there, as :func:`pgbook.gae_estimator` does). Unbiased with
    the true V for every λ; with another critic it is biased unless λ = 1 (:mod:`pgbook.expectations`).

    >>> gae(0.95).name
    'GAE(λ=0.95) with the critic'
    """
    lam = as_unit_interval("lam", lam)

    def target(setting: Setting) -> tuple[np.ndarray, np.ndarray]:
        critic = setting.require_critic("GAE with the critic")
        means, squares = _advantage_moments(
            _episode_chain(setting.mdp), setting.pi, critic, setting.mdp.gamma, lam, setting.max_steps
        )
        return means[::-1], squares[::-1]  # step t has max_steps − t steps left

    return Mistake(
        f"GAE(λ={lam:g}) with the critic",
        "target",
        f"w_t = γ^t Â_t, Â_t = Σ_l (γλ)^l δ_(t+l), δ_t = r_t + γ V̂(s_(t+1)) − V̂(s_t), λ = {lam:g}",
        target=target,
        needs_critic=True,
    )


def bootstrapped(n_steps: int) -> Mistake:
    r"""The n-step return bootstrapped with the critic, :math:`\sum_{l<n} \gamma^l r_{t+l} + \gamma^n
    \hat V(s_{t+n})`, in place of :math:`G_t` (cut at episode ends and at ``max_steps``).

    >>> bootstrapped(5).name
    'returns bootstrapped with the critic after 5 steps'
    """
    n_steps = as_count("n_steps", n_steps)

    def target(setting: Setting) -> tuple[np.ndarray, np.ndarray]:
        critic = setting.require_critic("bootstrapping with the critic")
        means, squares = _advantage_moments(
            _episode_chain(setting.mdp), setting.pi, critic, setting.mdp.gamma, 1.0, min(n_steps, setting.max_steps)
        )
        left = np.minimum(n_steps, setting.max_steps - np.arange(setting.max_steps)) - 1
        v = critic[:, None]  # the n-step return is Â(λ = 1) + V̂(s_t)
        return means[left] + v, squares[left] + 2 * v * means[left] + v**2

    return Mistake(
        f"returns bootstrapped with the critic after {n_steps} steps",
        "target",
        f"w_t = γ^t (Σ_(l<{n_steps}) γ^l r_(t+l) + γ^{n_steps} V̂(s_(t+{n_steps})))",
        target=target,
        needs_critic=True,
    )


def rollouts(n_steps: int, lam: float = 1.0, *, start: str = "stationary", autoreset: str = "same-step") -> Mistake:
    r"""The fixed-length rollout update of Stable-Baselines3's A2C and PPO, TorchRL and CleanRL.

    Rollouts of ``n_steps`` steps of an auto-reset environment, each starting from a reset
    (``start="reset"``) or where the last one stopped, in the auto-reset chain's stationary state
    (``start="stationary"``, what a long run at fixed θ converges to); advantages GAE(λ) with the problem's
    critic, cut at episode ends and bootstrapped with the critic at the rollout's end; the loss averaged
    over the rollout's steps, with no :math:`\gamma^t`. ``autoreset="next-step"`` models Gymnasium 1.x's
    default NEXT_STEP autoreset, whose extra step at each terminal state enters the rollout (it adds
    nothing to the expectation, but takes a step of the rollout and of the average).

    With the exact critic and γ = 1 the stationary update is :math:`\nabla J / E[T]` (a renewal argument:
    the stationary state distribution is the visitation divided by the expected episode length).

    Examples
    --------
    >>> import pgbook as pg
    >>> mdp = pg.examples.random_mdp(4, 2, gamma=1.0, seed=0, n_terminal=1)
    >>> policy = pg.TabularSoftmax(4, 2)
    >>> theta = policy.init_params(seed=0)
    >>> values = pg.state_values(mdp, policy, theta)
    >>> update = expected_gradient(mdp, policy, theta, 1, [rollouts(8)], critic=values)
    >>> per_step = mistake("loss averaged over all steps, not over episodes")
    >>> bool(np.allclose(update, expected_gradient(mdp, policy, theta, 500, [per_step])))
    True
    """
    n_steps = as_count("n_steps", n_steps)
    lam = as_unit_interval("lam", lam)
    if start not in ("reset", "stationary"):
        raise ValueError(f"start must be 'reset' or 'stationary'; got {start!r}")
    if autoreset not in ("same-step", "next-step"):
        raise ValueError(f"autoreset must be 'same-step' or 'next-step'; got {autoreset!r}")

    def pipeline(setting: Setting) -> Recipe:
        critic = setting.require_critic("rollouts with the critic")
        mdp, pi = setting.mdp, setting.pi
        chain = _autoreset_chain(mdp, autoreset == "next-step")
        means, squares = _advantage_moments(chain, pi, critic, mdp.gamma, lam, n_steps)
        moves = np.einsum("sa,sat->st", pi, chain.moves)
        occupancy = np.empty((n_steps, mdp.n_states))
        occupancy[0] = mdp.initial if start == "reset" else _stationary(moves)
        for t in range(1, n_steps):
            occupancy[t] = occupancy[t - 1] @ moves
        left = n_steps - 1 - np.arange(n_steps)  # step t has n_steps − t steps left
        pair_values = np.einsum("ts,tsa->sa", occupancy, means[left]) / n_steps
        visits = occupancy[:, :, None] * pi
        returns = setting.tables
        start_pairs = returns.occupancy[0][:, None] * pi
        return Recipe(
            pair_values,
            float(n_steps),
            float(np.sum(visits * means[left]) / n_steps),
            float(np.sum(visits * squares[left]) / n_steps),
            float(np.sum(start_pairs * returns.returns[0])),
            float(np.sum(start_pairs * returns.squares[0])),
        )

    where = "from a reset" if start == "reset" else "in the auto-reset chain's stationary state"
    extra = ", with Gymnasium's NEXT_STEP extra step" if autoreset == "next-step" else ""
    return Mistake(
        f"rollouts of {n_steps} steps {where}{extra}, GAE(λ={lam:g}) with the critic bootstrapped at the cut-off, "
        "averaged over steps",
        "pipeline",
        f"mean over the rollout's {n_steps} steps of Â_t ∇log π(a_t|s_t), no γ^t; Â_t = GAE(λ={lam:g}) with V̂, "
        "cut at episode ends, V̂ at the rollout's end",
        pipeline=pipeline,
        needs_critic=True,
    )


def rollout_models(n_steps: int, lam: float = 1.0) -> tuple[Mistake, ...]:
    """The four fixed-length rollout models of ``n_steps`` steps with GAE(λ): from a reset or stationary,
    with Gymnasium's SAME_STEP or NEXT_STEP autoreset (:func:`rollouts`)."""
    return tuple(
        rollouts(n_steps, lam, start=start, autoreset=mode)
        for start, mode in product(("stationary", "reset"), ("same-step", "next-step"))
    )


# Group normalisations: GRPO and its relatives ---------------------------------------------------------------


def _length_tables(mdp: FiniteMDP, pi: np.ndarray, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    r"""For every step t < ``horizon``: :math:`E[1/T \mid s_t = s, a_t = a]` and :math:`E[G_t / T \mid s_t = s,
    a_t = a]`, shape (horizon, n_states, n_actions), with :math:`T` the episode's length (cut at ``horizon``).

    A backward recursion in the steps left :math:`k` on the joint law of the remaining length :math:`L`:
    :math:`N_k(l) = \Pr(L = l \mid s, a)`, :math:`M_k(l) = E[G\, [L = l] \mid s, a]`, with
    :math:`N_1(1) = 1`, :math:`M_1(1) = R`; for :math:`k > 1`, :math:`N_k(1)` is the probability of ending,
    :math:`M_k(1) = R N_k(1)`, and :math:`N_k(l) = C \pi N_{k-1}(l-1)`,
    :math:`M_k(l) = R N_k(l) + \gamma C \pi M_{k-1}(l-1)` over the continuing transitions :math:`C`."""
    live = ~mdp.terminal
    cont = mdp.P * live
    end = 1.0 - cont.sum(axis=2)
    inverse, weighted = np.empty((horizon, *pi.shape)), np.empty((horizon, *pi.shape))
    N = np.ones((1, *pi.shape))
    M = mdp.R[None].copy()
    for k in range(1, horizon + 1):
        if k > 1:
            N_next = np.einsum("sat,lt->lsa", cont, np.sum(pi * N, axis=2))
            M_next = mdp.R * N_next + mdp.gamma * np.einsum("sat,lt->lsa", cont, np.sum(pi * M, axis=2))
            N = np.concatenate([end[None], N_next])
            M = np.concatenate([(mdp.R * end)[None], M_next])
        t = horizon - k
        lengths = t + np.arange(1, k + 1)
        inverse[t] = np.tensordot(1.0 / lengths, N, axes=1)
        weighted[t] = np.tensordot(1.0 / lengths, M, axes=1)
    return inverse, weighted


def _group_normalised(setting: Setting, spread: bool, length: bool) -> Recipe:
    """The large-batch limit of an update that gives each episode the advantage (G_0 − J(s_0)), divided by the
    spread of G_0 from the same start state (``spread``), on every step's score, divided by the episode's
    length (``length``)."""
    mdp, pi, H, tables = setting.mdp, setting.pi, setting.max_steps, setting.tables
    live = (~mdp.terminal).astype(float)
    start_value = np.sum(pi * tables.returns[0], axis=1)
    start_square = np.sum(pi * tables.squares[0], axis=1)
    deviation = np.sqrt(np.maximum(start_square - start_value**2, 0.0))
    scale = np.ones(mdp.n_states)
    if spread:
        scale = np.divide(1.0, deviation, out=np.zeros(mdp.n_states), where=deviation > 1e-12)
    if length:
        inverse, weighted = _length_tables(mdp, pi, H)
    else:
        inverse, weighted = np.ones((H, *pi.shape)), tables.returns
    starts = np.flatnonzero(mdp.initial * live > 0)
    occupancy = np.zeros((starts.size, mdp.n_states))  # Pr(s_t = s, running | s_0), one row per start
    occupancy[np.arange(starts.size), starts] = 1.0
    past = np.zeros_like(occupancy)  # E[Σ_{k<t} γ^k r_{k+1} [s_t = s, running] | s_0]
    weight = mdp.initial[starts] * scale[starts]
    values = start_value[starts]
    pair_values = np.zeros(pi.shape)
    for t in range(H):
        discount = mdp.gamma**t
        pair_values += np.einsum("k,ks,sa->sa", weight, past, inverse[t])
        pair_values += np.einsum("k,ks,sa->sa", weight, occupancy, discount * weighted[t])
        pair_values -= np.einsum("k,ks,sa->sa", weight * values, occupancy, inverse[t])
        flow = occupancy[:, :, None] * pi
        past = (np.einsum("ksa,sat->kt", past[:, :, None] * pi, mdp.P)
                + discount * np.einsum("ksa,sa,sat->kt", flow, mdp.R, mdp.P)) * live  # fmt: skip
        occupancy = np.einsum("ksa,sat->kt", flow, mdp.P) * live
    start = tables.occupancy[0][:, None] * pi
    return Recipe(
        pair_values,
        float(tables.occupancy.sum()),
        None,
        None,
        float(np.sum(start * tables.returns[0])),
        float(np.sum(start * tables.squares[0])),
    )


def group_models() -> tuple[Mistake, ...]:
    r"""GRPO's normalisations (Shao et al. 2024), as catalogue entries in their large-batch limit: each
    episode's advantage is its return less the mean return of the episodes from the same start state (the
    prompt: a group), divided by their standard deviation, and put on every step's score; and each episode's
    terms divided by its length :math:`T` (:math:`1/|o|`). With the start state's exact mean :math:`J(s_0)` and
    deviation :math:`\sigma(s_0)` of :math:`G_0`, the expectation is

    .. math::
        E[\hat g] &= \textstyle\sum_{s_0} \mu_0(s_0)\, \sigma(s_0)^{-1} \\
        &\quad \times E\Big[\tfrac{G_0 - J(s_0)}{T} \\
        &\qquad \times \sum_t \nabla\log\pi(a_t|s_t) \,\Big|\, s_0\Big],

    computed with :math:`E[1/T \mid s_t, a_t]` and :math:`E[G_t/T \mid s_t, a_t]` from a recursion on the
    remaining length, and the rewards before :math:`t` carried forward. Three entries: both normalisations
    (GRPO), the standard deviation alone, and the length alone (with the group mean subtracted); without either
    (Dr. GRPO, Liu et al. 2025) the update is unbiased in this limit. A finite group of :math:`n` multiplies
    the mean-subtracted update by :math:`1 - 1/n` and the standard deviation's weight by a factor
    (:func:`pgbook.sequences.grpo_weight`); the limit is what a batch that groups many episodes per start state
    computes. Add them to a check: ``catalogue=CATALOGUE + group_models()``.

    Examples
    --------
    >>> [m.name for m in group_models()][0]
    "GRPO's advantages: returns normalised per start state (group std), each episode's terms divided by its length"
    """
    entries = (
        (
            "GRPO's advantages: returns normalised per start state (group std), each episode's terms divided by "
            "its length",
            True,
            True,
        ),
        ("returns normalised per start state (GRPO's group std)", True, False),
        ("each episode's terms divided by its length (GRPO's 1/|o|), group mean subtracted", False, True),
    )
    return tuple(
        Mistake(
            name,
            "pipeline",
            ("(G_0 − mean) / std over the episodes from the same start state" if spread else "G_0 − mean")
            + (" / T" if length else "")
            + " on every step's score",
            pipeline=lambda setting, spread=spread, length=length: _group_normalised(setting, spread, length),
        )
        for name, spread, length in entries
    )


def _stationary(moves: np.ndarray) -> np.ndarray:
    """The stationary distribution of a state chain (the left eigenvector of eigenvalue 1, by least squares)."""
    n = moves.shape[0]
    system = np.vstack([moves.T - np.eye(n), np.ones((1, n))])
    rhs = np.zeros(n + 1)
    rhs[-1] = 1.0
    distribution = np.linalg.lstsq(system, rhs, rcond=None)[0]
    return np.clip(distribution, 0.0, None) / np.clip(distribution, 0.0, None).sum()


# Expected values ---------------------------------------------------------------------------------------------


def _recipe(setting: Setting, direction: Sequence[Mistake]) -> Recipe:
    """The recipe of reward-to-go with the direction mistakes ``direction`` made."""
    sign = float(np.prod([m.sign for m in direction]))
    pipelines = [m for m in direction if m.pipeline is not None]
    if pipelines:
        pipeline = pipelines[0]
        return replace(setting.memo((id(pipeline), "pipeline"), lambda: pipeline.pipeline(setting)), sign=sign)
    tables, pi = setting.tables, setting.pi
    weights = setting.mdp.gamma ** np.arange(setting.max_steps)
    mean, square = tables.returns, tables.squares
    for m in direction:
        if m.weights is not None:
            weights = m.weights(setting)
        if m.target is not None:
            mean, square = setting.memo((id(m), "target"), lambda m=m: m.target(setting))
    steps = float(tables.occupancy.sum())
    visits = tables.occupancy[:, :, None] * pi
    start = tables.occupancy[0][:, None] * pi
    return Recipe(
        pair_values=np.einsum("t,ts,tsa->sa", weights, tables.occupancy, mean),
        steps=steps,
        target_mean=float(np.sum(visits * mean) / steps),
        target_square=None if square is None else float(np.sum(visits * square) / steps),
        return_mean=float(np.sum(start * tables.returns[0])),
        return_square=float(np.sum(start * tables.squares[0])),
        sign=sign,
    )


def _direction(setting: Setting, recipe: Recipe) -> np.ndarray:
    """The recipe's expectation; 0 where it is 0 up to rounding (a Q(s, a) baseline gives 1e-16, and a fitted
    factor would blow that up into anything)."""
    vector = recipe.sign * setting.policy.weighted_probability_gradient(setting.theta, recipe.pair_values)
    size = np.abs(recipe.pair_values).max(initial=0.0) * np.sqrt(vector.size)
    return np.zeros_like(vector) if np.linalg.norm(vector) <= 1e-10 * size else vector


def _factor(setting: Setting, recipe: Recipe, scale: Sequence[Mistake]) -> float | None:
    factor = 1.0
    for m in scale:
        value = m.factor(setting, recipe)
        if value is None:
            return None
        factor *= value
    return factor


def _check_combination(mistakes: Sequence[Mistake]) -> None:
    for m in mistakes:
        check_type("mistakes", m, Mistake, 'a sequence of Mistake objects (mistake("sign flipped") is one)')
    parts = [m.part for m in mistakes]
    if len(set(parts)) != len(parts):
        raise ValueError(f"mistakes must change different parts of the recipe; got {[str(m) for m in mistakes]}")
    if "outside" in parts:
        raise ValueError(f"{[str(m) for m in mistakes if not m.nameable]} has no exact expected value")
    if "pipeline" in parts and {"weights", "target", "average"} & set(parts):
        raise ValueError(
            "a rollout pipeline sets its own weights, targets and average; combine it only with a "
            f"normalisation or the sign; got {[str(m) for m in mistakes]}"
        )


def expected_gradient(
    mdp: FiniteMDP,
    policy: Policy,
    theta: Params,
    max_steps: int,
    mistakes: Sequence[Mistake] = (),
    *,
    critic: Any = None,
    batch_episodes: int | None = None,
) -> np.ndarray:
    r"""The exact expected value of the reward-to-go estimator with ``mistakes`` made, on episodes of at
    most ``max_steps`` steps (large-batch limit for the batch-normalised and per-step-averaged mistakes).

    With no mistake it is the policy gradient (up to the truncation at ``max_steps``). ``critic`` (shape
    (n_states,)) is needed by :func:`gae`, :func:`bootstrapped` and :func:`rollouts`; ``batch_episodes`` by
    the missing 1/N.

    Examples
    --------
    >>> import pgbook as pg
    >>> mdp, policy = pg.examples.random_mdp(4, 2, gamma=0.9, seed=0), pg.TabularSoftmax(4, 2)
    >>> theta = policy.init_params(seed=1)
    >>> bool(np.allclose(expected_gradient(mdp, policy, theta, 400), pg.exact_gradient(mdp, policy, theta)))
    True
    >>> flipped = expected_gradient(mdp, policy, theta, 400, [mistake("sign flipped")])
    >>> bool(np.allclose(flipped, -pg.exact_gradient(mdp, policy, theta)))
    True
    """
    if isinstance(mistakes, str | Mistake):
        raise TypeError(
            f'mistakes must be a sequence of Mistake objects (mistake("sign flipped") is one); got {mistakes!r}'
        )
    mistakes = list(mistakes)
    _check_combination(mistakes)
    problem = Problem("expected_gradient", mdp, policy, theta, as_count("max_steps", max_steps), critic)
    setting = Setting.of(problem, batch_episodes)
    direction = [m for m in mistakes if not m.scale_only]
    recipe = _recipe(setting, direction)
    factor = _factor(setting, recipe, [m for m in mistakes if m.scale_only])
    if factor is None:
        raise ValueError("the factor of a missing 1/N is the batch size: give batch_episodes")
    return factor * _direction(setting, recipe)


# Diagnosis ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    """A candidate explanation: mistakes, and whether their factor is exact (``scales`` is None) or was
    fitted, one positive factor per problem, because no catalogued scale mistake explains it."""

    mistakes: tuple[Mistake, ...]
    max_abs_z: float  # the largest |z| over every component of every problem
    scales: tuple[float, ...] | None = None

    @property
    def name(self) -> str:
        if not self.mistakes and self.scales is None:
            return "no mistake (the policy gradient itself)"
        text = " + ".join(m.name for m in self.mistakes) or "the direction of ∇J"
        if self.scales is not None:
            factors = ", ".join(f"{c:.3g}" for c in self.scales)
            text += f", times a factor that no catalogued scale mistake explains (c = {factors})"
        return text


@dataclass(frozen=True)
class Diagnosis:
    """Which catalogued mistakes, or combinations, an estimator's means are consistent with.

    ``matches`` are the simplest consistent candidates, best first; more than one means the problems
    cannot tell them apart (``ambiguous``).
    """

    matches: list[Match]
    nearest: Match
    threshold: float
    n_candidates: int
    n_mistakes: int = len(CATALOGUE)  # the single mistakes tried
    outside: tuple[Mistake, ...] = ()
    one_direction: bool = False  # every match points the same way on every problem: only their factors differ

    @property
    def found(self) -> bool:
        return bool(self.matches)

    @property
    def ambiguous(self) -> bool:
        return len(self.matches) > 1

    def __str__(self) -> str:
        outside = " " + self.caveat() if self.outside else ""
        if not self.matches:
            return (
                f"looks like none of the {self.n_mistakes} catalogued mistakes nor the "
                f"{self.n_candidates - self.n_mistakes} combinations of up to three of them: the nearest, "
                f"{self.nearest.name}, is off by {self.nearest.max_abs_z:.1f} SE (threshold {self.threshold:.2f})."
                + outside
            )
        if self.ambiguous:
            listed = "; ".join(f"{m.name} ({m.max_abs_z:.1f} SE)" for m in self.matches[:6])
            more = f"; and {len(self.matches) - 6} more (diagnosis.matches)" if len(self.matches) > 6 else ""
            same_way = "they all point the same way here (one effective direction), so " if self.one_direction else ""
            return (
                f"cannot tell apart: {same_way}these problems give the same expected value, within the noise, to "
                f"each of {listed}{more}. Add a problem that separates them{self._scale_caveat() or '.'}"
            )
        best = self.matches[0]
        return (
            f"looks like: {best.name} — matches within {best.max_abs_z:.1f} SE on every problem{self._scale_caveat()}"
        )

    def _scale_caveat(self) -> str:
        """Gradient-norm clipping shrinks an update too: where a factor was named, say that it is not seen."""
        factors = any(
            m.scales is not None or any(k.scale_only or k.part == "pipeline" for k in m.mistakes) for m in self.matches
        )
        return ". " + self.caveat() if factors and self.outside else ""

    def caveat(self) -> str:
        """What the diagnosis cannot see: the catalogue's entries without an exact expected value."""
        return "".join(f"Outside what can be named: {m.name} ({m.code})." for m in self.outside)


def _combinations(pool: Sequence[Mistake], size: int, taken: Sequence[Mistake] = ()) -> list[tuple[Mistake, ...]]:
    """Every combination of ``size`` mistakes of ``pool`` that, with ``taken``, change different parts."""
    valid = []
    for combo in combinations(pool, size):
        try:
            _check_combination([*taken, *combo])
        except ValueError:
            continue
        valid.append(combo)
    return valid


def diagnose(
    estimates: Sequence[GradientEstimate],
    problems: Sequence[Any],
    thresholds: Sequence[float] | None = None,
    *,
    false_alarm: float = 1e-3,
    catalogue: Sequence[Mistake] = CATALOGUE,
    batch_episodes: Sequence[int | None] | None = None,
) -> Diagnosis:
    r"""Compare an estimator's results on ``problems`` with every catalogued mistake and combination of up to
    three.

    First the direction: each combination of the mistakes that change it (step weights, target, sign,
    a rollout pipeline) is fitted with a free positive factor per problem (:func:`pgbook.direction.fit_scale`).
    For a direction that fits, the factor is named: each combination of the scale-only mistakes (a
    normalisation, a per-step mean or a missing 1/N) that brings the total to three at most is tested with
    its exact factor. A candidate matches when :math:`|\bar g - E[\hat g]| \le` threshold × SE in every
    component of every problem, so a true match is missed with probability at most ``false_alarm``.

    The simplest matching candidates (fewest mistakes; exact factors before fitted ones) are reported,
    together with every other candidate whose expected value these problems cannot tell from theirs (the
    same up to rounding, as γᵗ dropped is at γ = 1, or the same direction when the factor is fitted, as on
    a problem with one effective direction). More than one candidate left means "cannot tell apart".

    Parameters
    ----------
    estimates : sequence of GradientEstimate
        The estimator's samples on each problem.
    problems : sequence of pgbook.Problem
        Anything with ``mdp``, ``policy``, ``theta``, ``max_steps`` (and optionally ``critic``).
    thresholds : sequence of float, optional
        The :math:`|z|` threshold of each problem; by default Bonferroni over every component of every problem at
        ``false_alarm``, with Student's t of each estimate's K − 1 degrees of freedom.
    catalogue : sequence of Mistake
        The candidates: :data:`CATALOGUE` by default; add :func:`gae`, :func:`bootstrapped` or
        :func:`rollout_models` entries with your pipeline's settings. Entries that need a critic are tried
        only when every problem has one.
    batch_episodes : sequence of int or None, optional
        The number of episodes each sample averaged over, where known (the factor of a missing 1/N).
    """
    estimates, problems = list(estimates), check_problems(problems)
    false_alarm = as_real("false_alarm", false_alarm, within="(0, 1)")
    for estimate in estimates:
        if not isinstance(estimate, GradientEstimate):
            raise TypeError(f"estimates must hold pgbook.GradientEstimate objects; got {type(estimate).__name__}")
    if thresholds is None:
        n_components = sum(int(np.prod(e.per_episode.shape[1:])) for e in estimates)
        thresholds = [two_sided_threshold(false_alarm, n_components, e.n_episodes - 1) for e in estimates]
    thresholds = [float(t) for t in thresholds]
    if not len(estimates) == len(problems) == len(thresholds):
        raise ValueError("estimates, problems and thresholds must have the same length")
    if batch_episodes is None:
        batch_episodes = [None] * len(problems)
    settings = [Setting.of(p, n) for p, n in zip(problems, batch_episodes, strict=True)]
    have_critic = all(s.critic is not None for s in settings)
    usable = [m for m in catalogue if m.nameable and (have_critic or not m.needs_critic)]
    outside = tuple(m for m in catalogue if not m.nameable)
    directional = [m for m in usable if not m.scale_only]
    scaling = [m for m in usable if m.scale_only]

    named: list[tuple[Match, list[np.ndarray]]] = []
    fitted: list[tuple[Match, list[np.ndarray]]] = []
    tried: list[Match] = []
    n_candidates = n_single = 0
    for size in range(4):
        for direction in _combinations(directional, size):
            recipes = [_recipe(s, direction) for s in settings]
            vectors = [_direction(s, r) for s, r in zip(settings, recipes, strict=True)]
            scales = tuple(fit_scale(e, v) for e, v in zip(estimates, vectors, strict=True))
            free = _worst_per_problem(estimates, [c * v for c, v in zip(scales, vectors, strict=True)])
            match = Match(direction, max(free), scales)
            tried.append(match)
            if all(z <= t for z, t in zip(free, thresholds, strict=True)):
                fitted.append((match, [_unit(v) for v in vectors]))
            for extra in range(4 - size):
                for scale in _combinations(scaling, extra, direction):
                    factors = [_factor(s, r, scale) for s, r in zip(settings, recipes, strict=True)]
                    if any(f is None for f in factors):
                        continue
                    expected = [f * v for f, v in zip(factors, vectors, strict=True)]
                    n_candidates += size + extra > 0
                    n_single += size + extra == 1
                    worst = _worst_per_problem(estimates, expected)
                    if all(z <= t for z, t in zip(worst, thresholds, strict=True)):
                        named.append((Match((*direction, *scale), max(worst)), expected))
    matches = _simplest_and_twins(named or fitted)
    kept = [vectors for match, vectors in fitted if match in matches] if not named else []
    one_direction = len(kept) > 1 and all(
        all(_same(a, b) for a, b in zip(vectors, kept[0], strict=True)) for vectors in kept
    )
    nearest = min(tried, key=lambda m: m.max_abs_z)
    return Diagnosis(matches, nearest, max(thresholds), n_candidates, n_single, outside, one_direction)


def _worst_per_problem(estimates: Sequence[GradientEstimate], expected: Sequence[np.ndarray]) -> list[float]:
    return [float(np.abs(z_scores(e, v)).max(initial=0.0)) for e, v in zip(estimates, expected, strict=True)]


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(vector)
    return vector / norm if norm > 0 else vector


def _simplest_and_twins(pool: Sequence[tuple[Match, list[np.ndarray]]]) -> list[Match]:
    """The consistent candidates with the fewest mistakes, and every other consistent candidate whose expected
    values equal theirs on every problem (to rounding; in direction when the factor is fitted). A zero
    expectation has no twins: a factor or a sign does not change it, and listing them would say nothing."""
    if not pool:
        return []
    fewest = min(len(m.mistakes) for m, _ in pool)
    simplest = [(m, v) for m, v in pool if len(m.mistakes) == fewest]
    kept = [m for m, _ in simplest]
    for match, vectors in pool:
        if len(match.mistakes) == fewest:
            continue
        for _, reference in simplest:
            if not any(np.any(r != 0) for r in reference):
                continue
            if all(_same(a, b) for a, b in zip(vectors, reference, strict=True)):
                kept.append(match)
                break
    return sorted(kept, key=lambda m: (len(m.mistakes), m.max_abs_z))


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    scale = max(np.abs(a).max(initial=0.0), np.abs(b).max(initial=0.0), 1e-300)
    return bool(np.abs(a - b).max(initial=0.0) <= 1e-9 * scale)
