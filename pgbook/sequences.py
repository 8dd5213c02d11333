r"""Responses of a language model as episodes of tokens, and the estimators that fine-tune it, computed exactly.

A prompt :math:`q` is a start state; the model writes a response :math:`o = (o_1, \dots, o_{|o|})` one token at a
time, each drawn from :math:`\pi_\theta(o_t \mid q, o_{<t})`, until it writes the end token or reaches the horizon;
the response then gets one reward :math:`r(q, o)`. The states are the prefixes :math:`(q, o_{<t})`, so the episode
is a walk down a tree: a :class:`pgbook.FiniteMDP` with γ = 1, deterministic transitions and a reward on the last
step, and a tabular softmax over prefixes is a :class:`pgbook.TabularSoftmax`. With a small vocabulary and horizon
every response can be listed (:class:`TokenTask` keeps the list), so the objective

.. math::
    J(\theta) = \sum_q \mu_0(q) \sum_o \pi_\theta(o \mid q)\, r(q, o)

and every expected update are finite sums. The estimators take :math:`n` responses per prompt (a group):
REINFORCE, REINFORCE with the leave-one-out baseline (RLOO; Kool, van Hoof & Welling 2019; Ahmadian et al. 2024),
GRPO's group-normalised advantages with per-response length normalisation (Shao et al. 2024) and Dr. GRPO, which
removes both normalisations (Liu et al. 2025); and the per-token estimators of the KL divergence to a reference
policy used as a loss (Schulman 2020), whose expected gradients are biased.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy.special import comb

from pgbook.arguments import as_count, as_distributions, as_flag, as_real, as_seed, check_shape, check_type
from pgbook.baselines import Baseline, parse_baseline
from pgbook.gradient_estimate import GradientEstimate
from pgbook.gradients import exact_gradient
from pgbook.mdp import FiniteMDP
from pgbook.policies import Params, Policy, check_fit

END = "."
"""The end token, written after a response that ends before the horizon."""


@dataclass(frozen=True, eq=False)
class TokenTask:
    r"""Prompts, a vocabulary with an end token, a horizon and a reward: the tree MDP and the list of responses.

    Built by :func:`token_task`. States ``0 .. n_states - 2`` are the prefixes, the last state is terminal;
    action ``i`` writes ``vocabulary[i]``, the last action the end token.

    Attributes
    ----------
    mdp : FiniteMDP
        The tree, γ = 1; the reward is on each response's last step.
    prompts, vocabulary : tuple of str
    horizon : int
        The most tokens a response has, the end token included.
    prefixes : tuple of (int, str)
        The prompt and the text written so far, per non-terminal state.
    roots : numpy.ndarray of int
        The state of each prompt's empty prefix.
    texts : tuple of str
        Every response, with the end token if it has one.
    prompt, length, reward : numpy.ndarray
        Per response: its prompt, its number of tokens :math:`|o|` and its reward.
    states, actions, alive : numpy.ndarray, shape (n_responses, horizon)
        Per response, the prefix and the token of each step, and which steps exist.
    """

    mdp: FiniteMDP
    prompts: tuple[str, ...]
    vocabulary: tuple[str, ...]
    horizon: int
    prefixes: tuple[tuple[int, str], ...]
    roots: np.ndarray
    texts: tuple[str, ...]
    prompt: np.ndarray
    length: np.ndarray
    reward: np.ndarray
    states: np.ndarray
    actions: np.ndarray
    alive: np.ndarray

    @property
    def n_responses(self) -> int:
        return len(self.texts)

    def __repr__(self) -> str:
        return (
            f"TokenTask(prompts={list(self.prompts)}, vocabulary={''.join(self.vocabulary)!r} + {END!r}, "
            f"horizon={self.horizon}, n_states={self.mdp.n_states}, n_responses={self.n_responses})"
        )

    def pair_counts(self, weights: np.ndarray) -> np.ndarray:
        r"""Per response, :math:`\sum_t w_t [s_t = s, a_t = a]`: the table that turns step weights ``weights``
        (shape (n_responses, horizon), or (n_responses,) for one weight per response) into a gradient
        through :meth:`pgbook.Policy.weighted_score`. Shape (n_responses, n_states, n_actions)."""
        weights = np.asarray(weights, dtype=float)
        if weights.ndim == 1:
            weights = weights[:, None] * np.ones(self.horizon)
        check_shape("weights", weights, (self.n_responses, self.horizon))
        counts = np.zeros((self.n_responses, self.mdp.n_states, self.mdp.n_actions))
        rows = np.broadcast_to(np.arange(self.n_responses)[:, None], self.states.shape)
        np.add.at(counts, (rows[self.alive], self.states[self.alive], self.actions[self.alive]), weights[self.alive])
        return counts


def token_task(
    prompts: Sequence[str],
    reward: Callable[[str, str], float],
    *,
    vocabulary: str = "ab",
    horizon: int = 4,
    prompt_weights: Any = None,
) -> TokenTask:
    r"""The tree MDP of responses to ``prompts``: each token one step, the end token or the horizon ends it.

    Parameters
    ----------
    prompts : sequence of str
        The prompts, distinct; each is a start state.
    reward : callable
        ``reward(prompt, text)``, the reward of a response; ``text`` ends with the end token ``"."`` when the
        response ended before the horizon.
    vocabulary : str
        The tokens other than the end token, one character each.
    horizon : int
        The most tokens in a response, the end token included.
    prompt_weights : array_like, optional
        :math:`\mu_0`, the probability of each prompt; uniform by default.

    Examples
    --------
    >>> task = token_task(["x"], lambda prompt, text: float(text == "a."), vocabulary="ab", horizon=2)
    >>> task.texts
    ('.', 'aa', 'ab', 'a.', 'ba', 'bb', 'b.')
    >>> import pgbook as pg
    >>> policy = pg.TabularSoftmax(task.mdp.n_states, task.mdp.n_actions)
    >>> round(pg.exact_objective(task.mdp, policy, policy.init_params(seed=0) * 0), 6)  # (1/3)²
    0.111111
    """
    if isinstance(prompts, str) or not all(isinstance(p, str) for p in prompts) or len(prompts) == 0:
        raise TypeError(f"prompts must be a non-empty sequence of strings; got {prompts!r}")
    if len(set(prompts)) != len(prompts):
        raise ValueError(f"prompts must be distinct; got {list(prompts)}")
    if not callable(reward):
        raise TypeError(f"reward must be a callable reward(prompt, text); got {type(reward).__name__}")
    check_type("vocabulary", vocabulary, str, "a string of one-character tokens")
    if not vocabulary or len(set(vocabulary)) != len(vocabulary) or END in vocabulary:
        raise ValueError(f"vocabulary must be distinct characters, without the end token {END!r}; got {vocabulary!r}")
    horizon = as_count("horizon", horizon)
    n_prompts = len(prompts)
    weights = np.full(n_prompts, 1.0 / n_prompts) if prompt_weights is None else prompt_weights
    weights = as_distributions("prompt_weights", weights, (n_prompts,))
    tokens = (*vocabulary, END)
    prefixes: list[tuple[int, str]] = []
    for x in range(n_prompts):  # breadth-first per prompt: the prefixes of length 0 .. horizon − 1
        level = [""]
        for _ in range(horizon):
            prefixes += [(x, text) for text in level]
            level = [text + token for text in level for token in vocabulary]
    index = {prefix: s for s, prefix in enumerate(prefixes)}
    n_states, n_actions, terminal = len(prefixes) + 1, len(tokens), len(prefixes)
    P = np.zeros((n_states, n_actions, n_states))
    R = np.zeros((n_states, n_actions))
    P[terminal, :, terminal] = 1.0
    for s, (x, text) in enumerate(prefixes):
        for a, token in enumerate(tokens):
            written = text + token
            if token == END or len(written) == horizon:
                P[s, a, terminal] = 1.0
                R[s, a] = as_real("reward", reward(prompts[x], written))
            else:
                P[s, a, index[(x, written)]] = 1.0
    initial = np.zeros(n_states)
    roots = np.array([index[(x, "")] for x in range(n_prompts)])
    initial[roots] = weights
    mdp = FiniteMDP(P, R, gamma=1.0, initial=initial, terminal=[terminal])
    texts, prompt, length, rewards, states, actions = [], [], [], [], [], []
    for s, (x, text) in enumerate(prefixes):  # a response is a prefix and the token that ends it
        for a, token in enumerate(tokens):
            if P[s, a, terminal] == 1.0:
                path = [index[(x, text[:t])] for t in range(len(text) + 1)]
                moves = [tokens.index(c) for c in text] + [a]
                texts.append(text + token)
                prompt.append(x)
                length.append(len(path))
                rewards.append(R[s, a])
                states.append(path + [0] * (horizon - len(path)))
                actions.append(moves + [0] * (horizon - len(path)))
    length = np.array(length)
    alive = np.arange(horizon) < length[:, None]
    return TokenTask(
        mdp, tuple(prompts), tuple(vocabulary), horizon, tuple(prefixes), roots, tuple(texts), np.array(prompt),
        length, np.array(rewards), np.array(states), np.array(actions), alive,
    )  # fmt: skip


def counting_reward(prompt: str, text: str) -> float:
    """The reward of :func:`counting_task`: 1 if ``text`` ends with the end token and holds exactly as many letters
    "a" as the number the prompt starts with, else 0.

    >>> counting_reward("2 a's", "aba."), counting_reward("2 a's", "abab"), counting_reward("0 a's", ".")
    (1.0, 0.0, 1.0)
    """
    check_type("prompt", prompt, str, "a string")
    check_type("text", text, str, "a string")
    return float(text.endswith(END) and text.count("a") == int(prompt.split()[0]))


def counting_task() -> TokenTask:
    r"""The chapter's task: three prompts "k a's" (k = 0, 1, 2), vocabulary "ab", horizon 4, reward
    :func:`counting_reward` (1 for a response that ends with the end token and holds exactly k letters "a").

    >>> task = counting_task()
    >>> task.n_responses, int(task.reward.sum())
    (93, 14)
    """
    return token_task(("0 a's", "1 a's", "2 a's"), counting_reward, horizon=4)


def _check(task: TokenTask, policy: Policy, theta: Params) -> tuple[np.ndarray, np.ndarray]:
    """θ checked; the policy table and the log-probability of every response."""
    check_type("task", task, TokenTask, "a pgbook.sequences.TokenTask (made by token_task)")
    check_fit(task.mdp, policy)
    theta = policy.check_params(theta)
    log_pi = policy.log_probabilities(theta)
    with np.errstate(invalid="ignore"):
        log_response = np.where(task.alive, log_pi[task.states, task.actions], 0.0).sum(axis=1)
    return theta, log_response


def response_probabilities(task: TokenTask, policy: Policy, theta: Params) -> np.ndarray:
    r"""Every response's probability given its prompt, :math:`\pi_\theta(o \mid q) = \prod_t \pi_\theta(o_t \mid q,
    o_{<t})`, shape (n_responses,); they sum to 1 over each prompt's responses.

    >>> import pgbook as pg
    >>> task = counting_task()
    >>> policy = pg.TabularSoftmax(task.mdp.n_states, task.mdp.n_actions)
    >>> p = response_probabilities(task, policy, np.zeros(policy.param_shape))
    >>> np.bincount(task.prompt, weights=p).round(12)
    array([1., 1., 1.])
    """
    return np.exp(_check(task, policy, theta)[1])


def response_scores(task: TokenTask, policy: Policy, theta: Params, weights: Any = None) -> np.ndarray:
    r"""Per response, :math:`\sum_t w_t \nabla_\theta \log \pi_\theta(o_t \mid q, o_{<t})`; with no ``weights``
    (:math:`w_t = 1`) the score of the whole response, :math:`\nabla_\theta \log \pi_\theta(o \mid q)`. Shape
    (n_responses, \*param_shape). ``weights`` has shape (n_responses, horizon), or (n_responses,)."""
    theta, _ = _check(task, policy, theta)
    weights = np.ones(task.n_responses) if weights is None else np.asarray(weights, dtype=float)
    return policy.weighted_score(theta, task.pair_counts(weights))


def prompt_success(task: TokenTask, policy: Policy, theta: Params) -> np.ndarray:
    r"""Each prompt's expected reward :math:`J_q = \sum_o \pi_\theta(o \mid q) r(q, o)` (its probability of
    success when the reward is 0 or 1), by enumeration, shape (n_prompts,)."""
    p = response_probabilities(task, policy, theta)
    return np.bincount(task.prompt, weights=p * task.reward, minlength=len(task.prompts))


def enumerated_gradient(task: TokenTask, policy: Policy, theta: Params) -> np.ndarray:
    r""":math:`\nabla J = \sum_q \mu_0(q) \sum_o \pi_\theta(o \mid q)` :math:`r(q, o)\, \nabla_\theta \log
    \pi_\theta(o \mid q)`, the log-derivative trick summed over every response rather than sampled.

    >>> import pgbook as pg
    >>> task = counting_task()
    >>> policy = pg.TabularSoftmax(task.mdp.n_states, task.mdp.n_actions)
    >>> theta = policy.init_params(seed=0)
    >>> bool(np.allclose(enumerated_gradient(task, policy, theta), pg.exact_gradient(task.mdp, policy, theta)))
    True
    """
    p = response_probabilities(task, policy, theta)
    mu = task.mdp.initial[task.roots][task.prompt]
    return response_scores(task, policy, theta, mu * p * task.reward).sum(axis=0)


# Groups of responses ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Groups:
    """Sampled groups: ``prompts[i]`` is group i's prompt, ``responses[i]`` the indices (into the task's list of
    responses) of its :math:`n` responses, shape (n_groups, group_size)."""

    prompts: np.ndarray
    responses: np.ndarray

    @property
    def group_size(self) -> int:
        return self.responses.shape[1]


def sample_groups(
    task: TokenTask, policy: Policy, theta: Params, group_size: int, n_groups: int, seed: int | np.random.Generator
) -> Groups:
    r"""``n_groups`` prompts drawn from :math:`\mu_0`, and for each ``group_size`` responses written token by
    token from :math:`\pi_\theta`.

    >>> import pgbook as pg
    >>> task = counting_task()
    >>> policy = pg.TabularSoftmax(task.mdp.n_states, task.mdp.n_actions)
    >>> groups = sample_groups(task, policy, np.zeros(policy.param_shape), 4, 2, seed=0)
    >>> groups.responses.shape
    (2, 4)
    """
    theta, _ = _check(task, policy, theta)
    group_size, n_groups = as_count("group_size", group_size), as_count("n_groups", n_groups)
    rng = as_seed("seed", seed)
    pi = policy.probabilities(theta)
    prompts = rng.choice(len(task.prompts), size=n_groups, p=task.mdp.initial[task.roots])
    state = np.repeat(task.roots[prompts], group_size)
    terminal = task.mdp.n_states - 1
    ending = {(int(s), int(a)): i for i, (s, a) in enumerate(_last_pairs(task))}
    responses = np.full(state.size, -1)
    for _ in range(task.horizon):
        running = responses < 0
        cdf = np.cumsum(pi[state[running]], axis=1)
        action = np.minimum((rng.random(running.sum())[:, None] > cdf).sum(axis=1), task.mdp.n_actions - 1)
        after = task.mdp.P[state[running], action].argmax(axis=1)
        done = after == terminal
        rows = np.flatnonzero(running)
        responses[rows[done]] = [ending[(int(s), int(a))] for s, a in zip(state[rows[done]], action[done], strict=True)]
        state[rows[~done]] = after[~done]
    return Groups(prompts, responses.reshape(n_groups, group_size))


def _last_pairs(task: TokenTask) -> np.ndarray:
    """Each response's last (prefix, token) pair, which identifies it."""
    last = task.length - 1
    rows = np.arange(task.n_responses)
    return np.stack([task.states[rows, last], task.actions[rows, last]], axis=1)


def _advantages(
    rewards: np.ndarray, baseline: Any, normalise: bool, epsilon: float, ddof: int, prompt_values: np.ndarray | None
) -> np.ndarray:
    """Each response's weight from its group's rewards, shape (n_groups, G)."""
    G = rewards.shape[1]
    if isinstance(baseline, np.ndarray):
        centred = rewards - prompt_values[:, None]
    elif baseline == "none":
        centred = rewards
    elif baseline == "mean":
        centred = rewards - (rewards.sum(axis=1, keepdims=True) - rewards) / (G - 1)
    else:
        centred = rewards - rewards.mean(axis=1, keepdims=True)
    if normalise:
        spread = rewards.std(axis=1, ddof=ddof, keepdims=True)
        centred = np.divide(centred, spread + epsilon, out=np.zeros_like(centred), where=spread > 0)
    return centred


def _check_baseline(baseline: Baseline, accepts: tuple, group_size: int, n_values: int) -> str | np.ndarray:
    """The baseline in the library's vocabulary (:func:`pgbook.baselines.parse_baseline`): its kind, or the array
    of values."""
    parsed = parse_baseline(baseline, accepts=accepts, n_states=n_values)
    if parsed.kind == "mean" and group_size < 2:
        raise ValueError('baseline "mean" (the other responses\' mean, RLOO) needs a group_size of at least 2')
    return parsed.value if parsed.kind == "values" else parsed.kind


def _check_update_options(baseline: Baseline, std: bool, length: bool, group_size: int, task: TokenTask) -> Any:
    baseline = _check_baseline(baseline, ("none", "values", "mean", "group mean"), group_size, len(task.prompts))
    as_flag("std", std)
    as_flag("length", length)
    if std and group_size < 2:
        raise ValueError("std=True divides by the group's spread: it needs a group_size of at least 2")
    return baseline


def group_update(
    task: TokenTask,
    policy: Policy,
    theta: Params,
    groups: Groups,
    *,
    baseline: Baseline = None,
    std: bool = False,
    length: bool = False,
    epsilon: float = 0.0,
    ddof: int = 1,
) -> GradientEstimate:
    r"""One update per group: :math:`\hat g = \frac1n \sum_{i=1}^n \frac{\hat A_i}{|o_i|^{\mathbb 1_{\text{len}}}}
    \nabla_\theta \log \pi_\theta(o_i \mid q)`, with :math:`\mathbb 1_{\text{len}} = 1` if ``length`` else 0, and

    .. math::
        \hat A_i &= (r_i - b_i) / (\mathrm{std}(r) + \epsilon)^{s}, \\
        b_i &= 0,\ \textstyle\frac{1}{n-1}\sum_{j \ne i} r_j,\
        \operatorname{mean}(r) \text{ or } V(q)

    for ``baseline`` None, ``"mean"`` (the other responses' mean: RLOO), ``"group mean"`` or an array of a value
    per prompt (:mod:`pgbook.baselines`), and
    :math:`s = 1` if ``std`` (0 where the group's rewards are all equal). GRPO (Shao et al. 2024) is "group mean"
    with ``std`` and ``length`` (the standard deviation with ``ddof=1``, as ``torch.std``); Dr. GRPO (Liu et al.
    2025) is "group mean" with neither; RLOO (Kool et al. 2019; Ahmadian et al. 2024) is ``"mean"``.
    Returns one sample per group.

    Examples
    --------
    >>> import pgbook as pg
    >>> task = counting_task()
    >>> policy = pg.TabularSoftmax(task.mdp.n_states, task.mdp.n_actions)
    >>> theta = policy.init_params(seed=1)
    >>> groups = sample_groups(task, policy, theta, 4, 20_000, seed=2)
    >>> rloo = group_update(task, policy, theta, groups, baseline="mean")
    >>> z = pg.stats.z_scores(rloo, pg.exact_gradient(task.mdp, policy, theta))
    >>> bool(np.abs(z).max() < 4.5)
    True
    """
    theta, _ = _check(task, policy, theta)
    check_type("groups", groups, Groups, "a pgbook.sequences.Groups (made by sample_groups)")
    G = groups.group_size
    baseline = _check_update_options(baseline, std, length, G, task)
    epsilon = as_real("epsilon", epsilon, within="[0, inf)")
    ddof = as_count("ddof", ddof, minimum=0)
    rewards = task.reward[groups.responses]
    values = baseline[groups.prompts] if isinstance(baseline, np.ndarray) else None
    advantages = _advantages(rewards, baseline, std, epsilon, ddof, values)
    if length:
        advantages = advantages / task.length[groups.responses]
    scores = response_scores(task, policy, theta)
    return GradientEstimate(np.einsum("gi,gi...->g...", advantages, scores[groups.responses]) / G)


def expected_group_update(
    task: TokenTask,
    policy: Policy,
    theta: Params,
    group_size: int,
    *,
    baseline: Baseline = None,
    std: bool = False,
    length: bool = False,
    epsilon: float = 0.0,
    ddof: int = 1,
) -> np.ndarray:
    r"""The exact expectation of :func:`group_update` over groups of ``group_size`` responses.

    Write :math:`w(o) = 1/|o|` with ``length`` (else 1) and, per prompt, :math:`S = \sum_o \pi(o|q)\, w(o)\,
    \nabla\log\pi(o|q)` and :math:`S_r = \sum_o \pi(o|q)\, r(q, o)\, w(o)\, \nabla\log\pi(o|q)`. Without ``std``
    the update is linear in the rewards:

    .. math::
        E[\hat g_q] &= S_r - b(q)\, S \\
            &\qquad (b = 0 \text{ or } V(q)), \\
        E[\hat g_q] &= S_r - J_q S \\
            &\qquad \text{(leave-one-out)}, \\
        E[\hat g_q] &= (1 - \tfrac1n)(S_r - J_q S) \\
            &\qquad \text{(group mean)}.

    With ``std`` the rewards must be 0 or 1. Given the number :math:`k` of successes in the group, the mean and
    standard deviation depend on :math:`k` alone, and a member that succeeded is distributed as π conditioned on
    success; the other :math:`n - 1` succeed :math:`j \sim \mathrm{Binomial}(n-1, J_q)` times, so

    .. math::
        E[\hat g_q] &= \textstyle\sum_{j=0}^{n-1} \binom{n-1}{j} \\
        &\quad \times J_q^j (1-J_q)^{n-1-j} \\
        &\quad \times \big[A(1, j+1)\, S_1 \\
        &\qquad + A(0, j)\, S_0\big],

    with :math:`S_1 = S_r`, :math:`S_0 = S - S_r` and :math:`A(r, k)` the advantage of a reward :math:`r` in a group
    with :math:`k` successes. The result is :math:`\sum_q \mu_0(q) E[\hat g_q]`.

    Examples
    --------
    Dr. GRPO is :math:`\nabla J` times :math:`1 - 1/n`:

    >>> import pgbook as pg
    >>> task = counting_task()
    >>> policy = pg.TabularSoftmax(task.mdp.n_states, task.mdp.n_actions)
    >>> theta = policy.init_params(seed=1)
    >>> update = expected_group_update(task, policy, theta, 4, baseline="group mean")
    >>> bool(np.allclose(update, 0.75 * pg.exact_gradient(task.mdp, policy, theta)))
    True
    """
    theta, _ = _check(task, policy, theta)
    G = as_count("group_size", group_size)
    baseline = _check_update_options(baseline, std, length, G, task)
    epsilon = as_real("epsilon", epsilon, within="[0, inf)")
    ddof = as_count("ddof", ddof, minimum=0)
    if ddof >= G and std:
        raise ValueError(f"ddof must be below group_size ({G}); got {ddof}")
    p = response_probabilities(task, policy, theta)
    w = 1.0 / task.length if length else np.ones(task.n_responses)
    scores = response_scores(task, policy, theta, p * w)  # π(o) w(o) ∇log π(o), per response
    n_prompts = len(task.prompts)
    mu = task.mdp.initial[task.roots]
    success = prompt_success(task, policy, theta)
    shape = (n_prompts, *scores.shape[1:])
    S = np.zeros(shape)
    S_r = np.zeros(shape)
    np.add.at(S, task.prompt, scores)
    np.add.at(S_r, task.prompt, task.reward.reshape(-1, *[1] * (scores.ndim - 1)) * scores)
    factors_r, factors_1 = np.ones(n_prompts), np.zeros(n_prompts)  # E[ĝ_x] = a_x S_r + b_x S
    if std:
        if not np.all((task.reward == 0) | (task.reward == 1)):
            raise ValueError("std=True has an exact expectation here only for rewards that are 0 or 1")
        for x in range(n_prompts):
            one, zero = _binary_weights(G, success[x], baseline, std, epsilon, ddof, x)
            factors_r[x], factors_1[x] = one - zero, zero  # A1 S_r + A0 (S − S_r)
    elif isinstance(baseline, np.ndarray):
        factors_1 = -baseline
    elif baseline == "mean":
        factors_1 = -success
    elif baseline == "group mean":
        factors_r, factors_1 = np.full(n_prompts, 1 - 1 / G), -(1 - 1 / G) * success
    per_prompt = _along(factors_r, S_r) + _along(factors_1, S)
    return np.tensordot(mu, per_prompt, axes=1)


def _along(factors: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    return factors.reshape(-1, *[1] * (vectors.ndim - 1)) * vectors


def _binary_weights(
    G: int, p: float, baseline: Any, std: bool, epsilon: float, ddof: int, x: int
) -> tuple[float, float]:
    r""":math:`E[A(1, 1 + j)]` and :math:`E[A(0, j)]` for :math:`j \sim \mathrm{Binomial}(n-1, p)`."""
    j = np.arange(G)
    weights = comb(G - 1, j) * p**j * (1 - p) ** (G - 1 - j)  # Binomial(G − 1, p); scipy.stats is slow to import
    expected = []
    for r, k in ((1.0, j + 1), (0.0, j)):
        group = np.zeros((G, G))  # one row per j: a group with k successes, its member 0 has reward r
        for row, successes in enumerate(k):
            group[row, :successes] = 1.0
            if r == 0.0:
                group[row] = np.roll(group[row], 1)
        values = baseline[x] * np.ones(G) if isinstance(baseline, np.ndarray) else None
        expected.append(float(weights @ _advantages(group, baseline, std, epsilon, ddof, values)[:, 0]))
    return expected[0], expected[1]


def grpo_weight(group_size: int, success: float, *, epsilon: float = 0.0, ddof: int = 1) -> float:
    r"""The factor :math:`\varsigma_n(p)` by which GRPO's group normalisation, without length normalisation,
    multiplies a prompt's gradient in groups of :math:`n` = ``group_size``: :math:`E[\hat g_q] = \varsigma_n(J_q)\,
    \nabla J_q` for a reward of 0 or 1 with success probability :math:`p = J_q` (:func:`expected_group_update`):

    .. math::
        \varsigma_n(p) &= E[A(1, 1 + j)] - E[A(0, j)], \\
        j &\sim \mathrm{Binomial}(n - 1, p).

    For large :math:`n` it tends to :math:`1/\sqrt{p(1-p)}`; as :math:`p \to 0` or :math:`p \to 1` it tends to
    :math:`(1 - 1/n)\sqrt n`, its largest value (computed, not proved); with ``ddof=1`` it is :math:`1/\sqrt 2` for
    every :math:`p` when :math:`n = 2` and :math:`2/\sqrt 3` when :math:`n = 3`. Shao et al. (2024); Liu et al.
    (2025) on the bias it brings.

    >>> round(grpo_weight(2, 0.3), 6)  # 1/√2 for every p when n = 2
    0.707107
    """
    G = as_count("group_size", group_size, minimum=2)
    p = as_real("success", success, within="[0, 1]")
    epsilon = as_real("epsilon", epsilon, within="[0, inf)")
    ddof = as_count("ddof", ddof, minimum=0)
    if ddof >= G:
        raise ValueError(f"ddof must be below group_size ({G}); got {ddof}")
    one, zero = _binary_weights(G, p, "group mean", True, epsilon, ddof, 0)
    return one - zero


def group_variance(
    task: TokenTask, policy: Policy, theta: Params, group_size: int, *, baseline: Baseline = None
) -> float:
    r"""The exact total variance :math:`\operatorname{tr}\operatorname{Cov}(\hat g)` of one group's update
    (:func:`group_update` without normalisations), for ``baseline`` None, ``"mean"`` (RLOO) or an array of
    per-state values :math:`b(s)` (a critic, used at every token: :math:`\sum_t (r - b(s_t)) \nabla\log\pi(o_t|s_t)`;
    a per-prompt value is the critic that gives every prefix its prompt's value).

    With :math:`u = r\,\nabla\log\pi(o|q)`, :math:`v = \nabla\log\pi(o|q)` and :math:`J_q` per prompt, the
    leave-one-out update of :math:`n` responses has

    .. math::
        E\lVert\hat g\rVert^2 &= \tfrac1n E\lVert u\rVert^2 \\
            &\quad + (1 - \tfrac1n) \lVert\nabla J_q\rVert^2 \\
            &\quad - \tfrac2n J_q E[r \lVert v\rVert^2] \\
        &\quad + \frac{(E[r^2] + (n-2) J_q^2) E\lVert v\rVert^2}{n(n-1)} \\
        &\quad + \frac{\lVert\nabla J_q\rVert^2}{n(n-1)};

    a baseline that does not depend on the group has :math:`E\lVert\hat g\rVert^2 = \frac1n E\lVert z\rVert^2 +
    (1 - \frac1n)\lVert\nabla J_q\rVert^2` with :math:`z` one response's term. Averaged over prompts, less
    :math:`\lVert\nabla J\rVert^2`.

    >>> import pgbook as pg
    >>> task = counting_task()
    >>> policy = pg.TabularSoftmax(task.mdp.n_states, task.mdp.n_actions)
    >>> theta = policy.init_params(seed=1)
    >>> values = pg.state_values(task.mdp, policy, theta)  # the exact critic V(s)
    >>> bool(group_variance(task, policy, theta, 4, baseline=values) < group_variance(task, policy, theta, 4))
    True
    """
    theta, _ = _check(task, policy, theta)
    G = as_count("group_size", group_size)
    baseline = _check_baseline(baseline, ("none", "values", "mean"), G, task.mdp.n_states)
    p = response_probabilities(task, policy, theta)
    n_prompts = len(task.prompts)
    mu = task.mdp.initial[task.roots]
    flat = task.n_responses, -1
    if isinstance(baseline, np.ndarray):
        step_weights = np.where(task.alive, task.reward[:, None] - baseline[task.states], 0.0)
        z = response_scores(task, policy, theta, step_weights).reshape(flat)
    else:
        v = response_scores(task, policy, theta).reshape(flat)
        z = task.reward[:, None] * v

    def per_prompt(values: np.ndarray) -> np.ndarray:
        return np.bincount(task.prompt, weights=p * values, minlength=n_prompts)

    means = np.zeros((n_prompts, z.shape[1]))
    np.add.at(means, task.prompt, p[:, None] * z)
    mean_squares = np.sum(means**2, axis=1)
    square = per_prompt(np.sum(z**2, axis=1)) / G + (1 - 1 / G) * mean_squares
    if isinstance(baseline, str) and baseline == "mean":
        v2 = np.sum(v**2, axis=1)
        J, r2, v_sq, r_v = (
            per_prompt(task.reward),
            per_prompt(task.reward**2),
            per_prompt(v2),
            per_prompt(task.reward * v2),
        )
        square += -2 * J * r_v / G + ((r2 + (G - 2) * J**2) * v_sq + mean_squares) / (G * (G - 1))
    gradient = mu @ means
    return float(mu @ square - gradient @ gradient)


# The KL penalty ---------------------------------------------------------------------------------------------


KLChoice = Literal["k1", "k2", "k3"]


def _log_ratio(
    task: TokenTask, policy: Policy, theta: Params, reference_theta: Params
) -> tuple[np.ndarray, np.ndarray]:
    theta, _ = _check(task, policy, theta)
    reference_theta = policy.check_params(reference_theta)
    log_pi = policy.log_probabilities(theta)
    return theta, log_pi - policy.log_probabilities(reference_theta)


def _kl_mdp(task: TokenTask, log_ratio: np.ndarray) -> FiniteMDP:
    """The tree with the reward log π/π_ref on every step: its objective is the KL divergence."""
    R = np.where(task.mdp.terminal[:, None], 0.0, log_ratio)
    return FiniteMDP(task.mdp.P, R, gamma=1.0, initial=task.mdp.initial, terminal=task.mdp.terminal)


def kl_divergence(task: TokenTask, policy: Policy, theta: Params, reference_theta: Params) -> float:
    r"""The KL divergence of the responses to the reference policy's, averaged over prompts:

    .. math::
        \mathrm{KL} &= \sum_q \mu_0(q) \sum_o \pi_\theta(o|q) \\
            &\qquad \times \log\frac{\pi_\theta(o|q)}{\pi_{\text{ref}}(o|q)},

    the expected sum over tokens of :math:`\log \pi_\theta/\pi_{\text{ref}}`: the objective of the tree with that
    reward. ``reference_theta`` is the reference policy's θ (the same policy class).

    >>> import pgbook as pg
    >>> task = counting_task()
    >>> policy = pg.TabularSoftmax(task.mdp.n_states, task.mdp.n_actions)
    >>> theta = policy.init_params(seed=1)
    >>> kl_divergence(task, policy, theta, theta)
    0.0
    """
    _, log_ratio = _log_ratio(task, policy, theta, reference_theta)
    return _kl_mdp(task, log_ratio).objective(policy.probabilities(theta))


def kl_gradient(task: TokenTask, policy: Policy, theta: Params, reference_theta: Params) -> np.ndarray:
    r"""The exact :math:`\nabla_\theta \mathrm{KL}`: the policy gradient theorem on the tree whose reward is
    :math:`c(s, a) = \log \pi_\theta(a|s)/\pi_{\text{ref}}(a|s)`, since the term of :math:`\nabla c` has expectation
    :math:`E[\sum_t \nabla\log\pi_\theta(o_t|s_t)] = 0`:

    .. math::
        \nabla \mathrm{KL} &= E\Big[\sum_t \nabla\log\pi_\theta(o_t|s_t) \\
            &\qquad \times \sum_{t' \ge t} c(s_{t'}, o_{t'})\Big].
    """
    theta, log_ratio = _log_ratio(task, policy, theta, reference_theta)
    return exact_gradient(_kl_mdp(task, log_ratio), policy, theta)


def expected_kl_estimator_gradient(
    task: TokenTask, policy: Policy, theta: Params, reference_theta: Params, kl_estimator: KLChoice
) -> np.ndarray:
    r"""The expected gradient of a per-token KL estimator used as a loss, :math:`E_{o \sim \pi_\theta}[\sum_t
    \nabla_\theta k(o_t | s_t)]`, the samples held fixed (as GRPO's loss does). With :math:`\rho = \pi_{\text{ref}}
    / \pi_\theta` at the token (Schulman 2020):

    .. math::
        k_1 &= -\log\rho, \\
        \nabla k_1 &= \nabla\log\pi_\theta, \\
        k_2 &= \tfrac12 (\log\rho)^2, \\
        \nabla k_2 &= -\log\rho\, \nabla\log\pi_\theta, \\
        k_3 &= \rho - 1 - \log\rho, \\
        \nabla k_3 &= (1 - \rho)\, \nabla\log\pi_\theta,

    so :math:`E[\sum_t \nabla k(o_t|s_t)]` :math:`{} = \sum_s d(s) \sum_a \pi_\theta(a|s)\, c_k(s, a)`
    :math:`\nabla\log\pi_\theta(a|s)`
    with :math:`d` the probability of reaching the prefix :math:`s`. None is :func:`kl_gradient`: :math:`k_1`'s is 0,
    :math:`k_2`'s drops the later tokens' terms, and :math:`k_3`'s, :math:`-\sum_a \pi_{\text{ref}}(a|s)
    \nabla\log\pi_\theta(a|s)` per prefix, is the gradient of
    :math:`\mathrm{KL}(\pi_{\text{ref}} \Vert \pi_\theta)` at each prefix with the prefixes' probabilities held
    fixed (Tang & Munos 2025 on these pitfalls).

    >>> import pgbook as pg
    >>> task = counting_task()
    >>> policy = pg.TabularSoftmax(task.mdp.n_states, task.mdp.n_actions)
    >>> theta, reference = policy.init_params(seed=1), policy.init_params(seed=2)
    >>> k1 = expected_kl_estimator_gradient(task, policy, theta, reference, "k1")
    >>> bool(np.abs(k1).max() < 1e-12)
    True
    """
    theta, log_ratio = _log_ratio(task, policy, theta, reference_theta)
    if kl_estimator not in ("k1", "k2", "k3"):
        raise ValueError(f'kl_estimator must be "k1", "k2" or "k3"; got {kl_estimator!r}')
    pi = policy.probabilities(theta)
    weight = {"k1": np.ones_like(pi), "k2": log_ratio, "k3": 1.0 - np.exp(-log_ratio)}[kl_estimator]
    visits = task.mdp.discounted_visitation(pi)
    return policy.weighted_score(theta, visits[:, None] * pi * weight)
