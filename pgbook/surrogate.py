r"""Surrogate objectives: improving a policy from the data of another (Kakade & Langford 2002; Schulman et al.
2015, 2017).

With :math:`d_{\text{old}}` the unnormalised discounted visitation and :math:`A_{\text{old}}` the advantage of
:math:`\pi_{\text{old}} = \pi_{\theta_{\text{old}}}`:

.. math::
    L_{\text{old}}(\theta) &= J(\theta_{\text{old}}) \\
        &\quad + \sum_s d_{\text{old}}(s) \\
        &\qquad \sum_a \pi_\theta(a|s)\, A_{\text{old}}(s, a), \\
    J(\theta) &- J(\theta_{\text{old}}) \\
        &= \sum_s d_\theta(s) \sum_a \pi_\theta(a|s)\, A_{\text{old}}(s, a) \\
        &\quad \text{(performance difference)}, \\
    J(\theta) &\ge L_{\text{old}}(\theta) - \frac{4 A_{\max} \gamma}{(1-\gamma)^2}\, \mathrm{TV}_{\max}^2, \\
    \mathrm{TV}_{\max} &= \max_s \mathrm{TV}\big(\pi_{\text{old}}(\cdot|s), \pi_\theta(\cdot|s)\big), \\
    A_{\max} &= \max_{s,a} |A_{\text{old}}(s,a)|,

the last being Theorem 1 of Schulman et al. (2015). :math:`L` swaps the new policy's visitation for the old
one's, so :math:`\nabla L_{\text{old}}(\theta_{\text{old}}) = \nabla J(\theta_{\text{old}})`. PPO's clipped
objective (Schulman et al. 2017), with :math:`\rho = \pi_\theta / \pi_{\text{old}}`,

.. math::
    L^{\text{CLIP}}(\theta) &= \sum_s d_{\text{old}}(s) \sum_a \pi_{\text{old}}(a|s) \\
        &\quad \min\big(\rho A_{\text{old}}, \\
        &\qquad \operatorname{clip}(\rho, 1-\epsilon_{\text{clip}}, \\
        &\qquad\quad 1+\epsilon_{\text{clip}}) A_{\text{old}}\big),

is computed here exactly, as an expectation, not from samples.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from pgbook.arguments import as_count, as_real, as_real_array, check_callable, check_type
from pgbook.evaluation import advantages, discounted_visitation, exact_objective
from pgbook.gradients import exact_gradient
from pgbook.lazy_torch import torch
from pgbook.mdp import FiniteMDP
from pgbook.policies import Params, Policy, check_fit, policy_table
from pgbook.update_field import undiscounted_visitation


def surrogate_objective(mdp: FiniteMDP, policy: Policy, theta_old: Params, theta: Params) -> float:
    r""":math:`L_{\text{old}}(\theta) = J(\theta_{\text{old}})`
    :math:`{} + \sum_s d_{\text{old}}(s) \sum_a \pi_\theta(a|s)
    A_{\text{old}}(s,a)`: equal to J at :math:`\theta_{\text{old}}`, with the same gradient there.

    >>> import pgbook as pg
    >>> mdp, policy = pg.examples.random_mdp(4, 2, gamma=0.9, seed=0), pg.TabularSoftmax(4, 2)
    >>> old = policy.init_params(seed=1)
    >>> bool(np.isclose(surrogate_objective(mdp, policy, old, old), pg.exact_objective(mdp, policy, old)))
    True
    """
    weights = discounted_visitation(mdp, policy, theta_old)[:, None] * advantages(mdp, policy, theta_old)
    return exact_objective(mdp, policy, theta_old) + float(np.sum(weights * policy_table(mdp, policy, theta)))


def surrogate_gradient(mdp: FiniteMDP, policy: Policy, theta_old: Params, theta: Params) -> np.ndarray:
    r""":math:`\nabla_\theta L_{\text{old}}(\theta)` :math:`{} = \sum_s d_{\text{old}}(s) \sum_a A_{\text{old}}(s,a)
    \nabla_\theta \pi_\theta(a|s)`; at :math:`\theta = \theta_{\text{old}}` it is the policy gradient theorem."""
    weights = discounted_visitation(mdp, policy, theta_old)[:, None] * advantages(mdp, policy, theta_old)
    return policy.weighted_probability_gradient(theta, weights)


def kl_divergences(policy: Policy, theta_old: Params, theta: Params) -> np.ndarray:
    r""":math:`\mathrm{KL}(\pi_{\text{old}}(\cdot|s) \,\|\, \pi_\theta(\cdot|s))` in every state, shape (n_states,).

    >>> import pgbook as pg
    >>> policy = pg.TabularSoftmax(1, 2)
    >>> kl_divergences(policy, np.zeros((1, 2)), np.array([[0.0, np.log(3.0)]])).round(6)   # ½ log(½/¼) + ½ log(½/¾)
    array([0.143841])
    """
    check_type("policy", policy, Policy, "a pgbook.Policy")
    old, new = policy.log_probabilities(theta_old), policy.log_probabilities(theta)
    return np.sum(np.exp(old) * (old - new), axis=1)


def total_variations(policy: Policy, theta_old: Params, theta: Params) -> np.ndarray:
    r""":math:`\mathrm{TV}(\pi_{\text{old}}(\cdot|s), \pi_\theta(\cdot|s))`
    :math:`{} = \frac12 \sum_a |\pi_{\text{old}} - \pi_\theta|`,
    shape (n_states,)."""
    check_type("policy", policy, Policy, "a pgbook.Policy")
    return 0.5 * np.abs(policy.probabilities(theta_old) - policy.probabilities(theta)).sum(axis=1)


def improvement_bound(mdp: FiniteMDP, policy: Policy, theta_old: Params, theta: Params) -> float:
    r"""The lower bound :math:`L_{\text{old}}(\theta)`
    :math:`{} - 4A_{\max}\gamma\,\mathrm{TV}_{\max}^2/(1-\gamma)^2` on :math:`J(\theta)`
    (Schulman et al. 2015, Theorem 1, after Kakade & Langford 2002); needs γ < 1, on continuing and episodic
    problems alike (:func:`improvement_bound_lines` computes each line of the proof).

    >>> import pgbook as pg
    >>> mdp, policy = pg.examples.random_mdp(4, 2, gamma=0.9, seed=0), pg.TabularSoftmax(4, 2)
    >>> old = policy.init_params(seed=1)
    >>> new = old + 0.3
    >>> improvement_bound(mdp, policy, old, new) <= pg.exact_objective(mdp, policy, new)
    True
    """
    check_fit(mdp, policy)
    if mdp.gamma >= 1.0:
        raise ValueError(f"the bound needs gamma < 1; got gamma={mdp.gamma}")
    epsilon = float(np.abs(advantages(mdp, policy, theta_old)).max())
    alpha = float(total_variations(policy, theta_old, theta).max())
    penalty = 4 * epsilon * mdp.gamma * alpha**2 / (1 - mdp.gamma) ** 2
    return surrogate_objective(mdp, policy, theta_old, theta) - penalty


def _old_visitation(mdp: FiniteMDP, policy: Policy, theta_old: np.ndarray, weighting: str) -> np.ndarray:
    if weighting == "discounted":
        return discounted_visitation(mdp, policy, theta_old)
    if weighting == "undiscounted":
        return undiscounted_visitation(mdp, policy, theta_old)
    raise ValueError(f'weighting must be "discounted" or "undiscounted"; got {weighting!r}')


def _clipped_torch(
    mdp: FiniteMDP,
    policy: Policy,
    theta_old: np.ndarray,
    theta: torch.Tensor,
    epsilon: float,
    weighting: str = "discounted",
) -> torch.Tensor:
    old = torch.tensor(policy_table(mdp, policy, theta_old))
    weights = torch.tensor(_old_visitation(mdp, policy, theta_old, weighting))[:, None] * old
    advantage = torch.tensor(advantages(mdp, policy, theta_old))
    ratio = policy.torch_log_probabilities(theta).exp() / old
    clipped = torch.clamp(ratio, 1 - epsilon, 1 + epsilon)
    return torch.sum(weights * torch.minimum(ratio * advantage, clipped * advantage))


def _check_epsilon(epsilon: Any) -> float:
    return as_real("epsilon", epsilon, within="(0, 1)")


def clipped_objective(
    mdp: FiniteMDP, policy: Policy, theta_old: Params, theta: Params, *, epsilon: float, weighting: str = "discounted"
) -> float:
    r"""PPO's clipped surrogate :math:`L^{\text{CLIP}}(\theta)` as an exact expectation (0 at
    :math:`\theta_{\text{old}}`, where every ratio is 1). ``weighting="undiscounted"`` weights the states by
    :math:`d_1(s) = \sum_t \Pr(s_t = s)` instead of :math:`d_{\text{old}}`: PPO as practised, which averages its
    loss over time steps without :math:`\gamma^t`."""
    epsilon, _ = _check_epsilon(epsilon), check_fit(mdp, policy)
    theta = torch.tensor(policy.check_params(theta), dtype=torch.float64)
    return float(_clipped_torch(mdp, policy, policy.check_params(theta_old), theta, epsilon, weighting))


def clipped_gradient(
    mdp: FiniteMDP, policy: Policy, theta_old: Params, theta: Params, *, epsilon: float, weighting: str = "discounted"
) -> np.ndarray:
    r""":math:`\nabla_\theta L^{\text{CLIP}}` by autograd. A term's gradient is 0 exactly when its ratio has left
    :math:`[1-\epsilon_{\text{clip}}, 1+\epsilon_{\text{clip}}]` on the side its advantage favours
    (:math:`A > 0` and :math:`\rho > 1+\epsilon_{\text{clip}}`, or :math:`A < 0` and
    :math:`\rho < 1-\epsilon_{\text{clip}}`); otherwise it is
    :math:`d\,\pi_{\text{old}} A \nabla\rho`. At :math:`\theta_{\text{old}}` no term is clipped: with the
    discounted weighting it is the policy gradient, with ``weighting="undiscounted"`` the update field
    :math:`U` of :func:`pgbook.update_field.expected_update` (PPO as practised).

    >>> import pgbook as pg
    >>> mdp, policy = pg.examples.random_mdp(4, 2, gamma=0.9, seed=0), pg.TabularSoftmax(4, 2)
    >>> old = policy.init_params(seed=1)
    >>> bool(np.allclose(clipped_gradient(mdp, policy, old, old, epsilon=0.2), pg.exact_gradient(mdp, policy, old)))
    True
    """
    epsilon, _ = _check_epsilon(epsilon), check_fit(mdp, policy)
    theta = torch.tensor(policy.check_params(theta), dtype=torch.float64, requires_grad=True)
    (gradient,) = torch.autograd.grad(
        _clipped_torch(mdp, policy, policy.check_params(theta_old), theta, epsilon, weighting), theta
    )
    return gradient.numpy()


@dataclass(frozen=True)
class ImprovementBoundLines:
    r"""Both sides of every line of the proof of the improvement bound (numbered as in the book's chapter
    surrogate-objectives), with the unnormalised visitations
    :math:`d_{\text{old}}, d_\theta`, :math:`\bar a(s) = \sum_a \pi_\theta(a|s) A_{\text{old}}(s,a)`,
    :math:`\mathrm{TV}(s) = \mathrm{TV}(\pi_{\text{old}}(\cdot|s), \pi_\theta(\cdot|s))`,
    :math:`\mathrm{TV}_{\max} = \max_s \mathrm{TV}(s)` and :math:`A_{\max} = \max_{s,a}|A_{\text{old}}|`:

    1. ``difference`` :math:`J(\theta) - J(\theta_{\text{old}})` equals ``lemma`` :math:`d_\theta^\top \bar a`
       (performance difference) and ``surrogate_gain`` is :math:`L_{\text{old}}(\theta) - J(\theta_{\text{old}})
       = d_{\text{old}}^\top \bar a`, so ``gap`` :math:`= J - L = (d_\theta - d_{\text{old}})^\top \bar a`;
    2. ``shift_identity``: the largest entry of :math:`(d_\theta - d_{\text{old}})`
       :math:`{} - \gamma\, d_{\text{old}} (P_\theta - P_{\text{old}}) (I - \gamma P_\theta)^{-1}`
       (an identity: 0 to rounding);
    3. ``holder`` :math:`= \|d_\theta - d_{\text{old}}\|_1 \|\bar a\|_\infty \ge |\text{gap}|`;
    4. ``shift`` :math:`= \|d_\theta - d_{\text{old}}\|_1 \le` ``shift_bound``
       :math:`= \frac{2\gamma}{1-\gamma} \sum_s d_{\text{old}}(s)\, \mathrm{TV}(s)` (rows of
       :math:`P_\theta - P_{\text{old}}` have :math:`\ell_1` norm at most :math:`2\,\mathrm{TV}(s)`, and
       :math:`\|x (I-\gamma P_\theta)^{-1}\|_1 \le \|x\|_1/(1-\gamma)`); with line 3,
       ``mean_tv_penalty`` :math:`= \frac{2\gamma}{1-\gamma} \|\bar a\|_\infty \sum_s d_{\text{old}}(s)\,
       \mathrm{TV}(s)` :math:`{} \ge |\text{gap}|` (Achiam et al. 2017, Corollary 1, in unnormalised form);
    5. ``advantage_bound`` :math:`= 2\,\mathrm{TV}_{\max} A_{\max} \ge \|\bar a\|_\infty`
       (as :math:`\sum_a \pi_{\text{old}} A_{\text{old}} = 0`,
       :math:`\bar a(s) = \sum_a (\pi_\theta - \pi_{\text{old}}) A_{\text{old}}`);
    6. ``penalty`` :math:`= \frac{4A_{\max}\gamma}{(1-\gamma)^2}\mathrm{TV}_{\max}^2 \ge` ``mean_tv_penalty`` (as
       :math:`\sum_s d_{\text{old}}\,\mathrm{TV}` :math:`{} \le \mathrm{TV}_{\max} \sum_s d_{\text{old}}`
       :math:`{} \le \mathrm{TV}_{\max}/(1-\gamma)`), hence
       :math:`J(\theta) \ge L_{\text{old}}(\theta) - \text{penalty}` on episodic and continuing problems alike.
    """

    difference: float
    lemma: float
    surrogate_gain: float
    gap: float
    shift_identity: float
    holder: float
    shift: float
    shift_bound: float
    mean_tv_penalty: float
    advantage_sup: float
    advantage_bound: float
    penalty: float


def improvement_bound_lines(mdp: FiniteMDP, policy: Policy, theta_old: Params, theta: Params) -> ImprovementBoundLines:
    r"""Every line of the proof of :func:`improvement_bound` (Kakade & Langford 2002; Schulman et al. 2015,
    Theorem 1; Achiam, Held, Tamar & Abbeel 2017, Corollary 1), computed at ``theta``; see
    :class:`ImprovementBoundLines`.

    >>> import pgbook as pg
    >>> mdp, policy = pg.examples.random_mdp(4, 2, gamma=0.9, seed=0, n_terminal=1), pg.TabularSoftmax(4, 2)
    >>> old = policy.init_params(seed=1)
    >>> lines = improvement_bound_lines(mdp, policy, old, old + 0.5)
    >>> bool(abs(lines.gap) <= lines.holder <= lines.mean_tv_penalty <= lines.penalty)
    True
    """
    check_fit(mdp, policy)
    if mdp.gamma >= 1.0:
        raise ValueError(f"the bound needs gamma < 1; got gamma={mdp.gamma}")
    old_pi, new_pi = policy_table(mdp, policy, theta_old), policy_table(mdp, policy, theta)
    adv = advantages(mdp, policy, theta_old)
    a_bar = np.sum(new_pi * adv, axis=1)
    d_old, d_new = discounted_visitation(mdp, policy, theta_old), discounted_visitation(mdp, policy, theta)
    live = ~mdp.terminal
    P_old = mdp.markov_chain(old_pi)[0] * live[:, None] * live[None, :]
    P_new = mdp.markov_chain(new_pi)[0] * live[:, None] * live[None, :]
    resolvent = np.linalg.inv(np.eye(mdp.n_states) - mdp.gamma * P_new)
    shift_formula = mdp.gamma * (d_old @ (P_new - P_old)) @ resolvent
    tv = total_variations(policy, theta_old, theta) * live
    alpha, epsilon, gamma = float(tv.max()), float(np.abs(adv).max()), mdp.gamma
    j_old = exact_objective(mdp, policy, theta_old)
    shift_bound = 2 * gamma / (1 - gamma) * float(d_old @ tv)
    return ImprovementBoundLines(
        difference=exact_objective(mdp, policy, theta) - j_old,
        lemma=float(d_new @ a_bar),
        surrogate_gain=surrogate_objective(mdp, policy, theta_old, theta) - j_old,
        gap=float((d_new - d_old) @ a_bar),
        shift_identity=float(np.abs(d_new - d_old - shift_formula).max()),
        holder=float(np.abs(d_new - d_old).sum() * np.abs(a_bar[live]).max()),
        shift=float(np.abs(d_new - d_old).sum()),
        shift_bound=shift_bound,
        mean_tv_penalty=shift_bound * float(np.abs(a_bar[live]).max()),
        advantage_sup=float(np.abs(a_bar[live]).max()),
        advantage_bound=2 * alpha * epsilon,
        penalty=4 * epsilon * gamma * alpha**2 / (1 - gamma) ** 2,
    )


def _mean_kl_torch(mdp: FiniteMDP, policy: Policy, theta_old: np.ndarray) -> Callable[[torch.Tensor], torch.Tensor]:
    visits = torch.tensor(discounted_visitation(mdp, policy, theta_old, normalized=True))
    old_log = policy.torch_log_probabilities(torch.tensor(theta_old)).detach()

    def mean_kl(theta: torch.Tensor) -> torch.Tensor:
        return torch.sum(visits[:, None] * old_log.exp() * (old_log - policy.torch_log_probabilities(theta)))

    return mean_kl


def fisher_vector_product(mdp: FiniteMDP, policy: Policy, theta_old: Params, vector: Any) -> np.ndarray:
    r""":math:`\bar F v` without forming :math:`\bar F`: the Hessian-vector product of the mean KL
    :math:`\mathrm{KL}_{\bar d}(\theta)`
    :math:`{} = \sum_s \bar d_{\text{old}}(s)\, \mathrm{KL}(\pi_{\text{old}}(\cdot|s) \,\|\, \pi_\theta(\cdot|s))`
    at :math:`\theta_{\text{old}}`, :math:`\nabla_\theta (\nabla_\theta \mathrm{KL}_{\bar d} \cdot v)`, by
    two backward passes (Pearlmutter 1994; how TRPO implementations multiply by the Fisher matrix). Here
    :math:`\bar d_{\text{old}}` is the normalised visitation, so :math:`\bar F` is
    :func:`pgbook.fisher_matrix` with ``normalized=True``.

    >>> import pgbook as pg
    >>> mdp, policy = pg.examples.random_mdp(4, 2, gamma=0.9, seed=0), pg.TabularSoftmax(4, 2)
    >>> old, v = policy.init_params(seed=1), np.arange(8.0).reshape(4, 2)
    >>> F = pg.fisher_matrix(mdp, policy, old, normalized=True)
    >>> bool(np.allclose(fisher_vector_product(mdp, policy, old, v).ravel(), F @ v.ravel()))
    True
    """
    check_fit(mdp, policy)
    theta_old = policy.check_params(theta_old)
    vector = as_real_array("vector", vector)
    if vector.shape != theta_old.shape:
        raise ValueError(f"vector must have the shape of theta_old, {theta_old.shape}; got {vector.shape}")
    theta = torch.tensor(theta_old, requires_grad=True)
    (gradient,) = torch.autograd.grad(_mean_kl_torch(mdp, policy, theta_old)(theta), theta, create_graph=True)
    (product,) = torch.autograd.grad(torch.sum(gradient * torch.tensor(vector)), theta)
    return product.numpy()


def conjugate_gradient(
    product: Callable[[np.ndarray], np.ndarray], b: Any, *, n_iterations: int, tolerance: float = 1e-12
) -> np.ndarray:
    r"""Solve the linear system of a symmetric positive semi-definite matrix :math:`F` and right side :math:`b`,
    given only ``product(v)`` :math:`= F v`, by conjugate gradients from 0 (Hestenes & Stiefel 1952). Every
    iterate lies in the Krylov space of :math:`b`, inside the range of :math:`F` when :math:`b` is, so on a
    singular :math:`F` it converges to the minimum-norm solution :math:`F^+ b`. Stops when the residual's squared
    norm is at most ``tolerance`` times :math:`\|b\|^2`.

    >>> F = np.array([[2.0, 1.0], [1.0, 3.0]])
    >>> np.round(conjugate_gradient(lambda v: F @ v, [1.0, 0.0], n_iterations=2), 6)
    array([ 0.6, -0.2])
    """
    check_callable("product", product, "a callable v -> F v")
    b = as_real_array("b", b)
    n_iterations = as_count("n_iterations", n_iterations, minimum=1)
    tolerance = as_real("tolerance", tolerance, within="[0, inf)")
    x, r = np.zeros_like(b), b.copy()
    p, rr = r.copy(), float(np.sum(r * r))
    stop = tolerance * rr
    for _ in range(n_iterations):
        if rr <= stop or rr == 0.0:
            break
        fp = np.asarray(product(p), dtype=float).reshape(b.shape)
        step = rr / float(np.sum(p * fp))
        x, r = x + step * p, r - step * fp
        rr_new = float(np.sum(r * r))
        p, rr = r + (rr_new / rr) * p, rr_new
    return x


def trpo_step(
    mdp: FiniteMDP, policy: Policy, theta_old: Params, *, max_kl: float, n_cg_iterations: int | None = None
) -> np.ndarray:
    r"""TRPO's step (Schulman et al. 2015, Appendix C): maximise the linear model :math:`g^\top \Delta\theta` of
    :math:`L_{\text{old}}` subject to the quadratic model of the mean KL, :math:`\frac12 \Delta\theta^\top \bar F
    \Delta\theta \le \mathrm{KL}_{\max}`:

    .. math::
        \Delta\theta = \sqrt{\frac{2\,\mathrm{KL}_{\max}}{g^\top \bar F^{+} g}}\; \bar F^{+} g,

    with :math:`g = \nabla L_{\text{old}}(\theta_{\text{old}}) = \nabla J(\theta_{\text{old}})` and
    :math:`\bar F^{+} g` by :func:`conjugate_gradient` with :func:`fisher_vector_product` (default: as many
    iterations as parameters). It is the natural gradient scaled to the KL radius.

    >>> import pgbook as pg
    >>> mdp, policy = pg.examples.random_mdp(4, 2, gamma=0.9, seed=0), pg.TabularSoftmax(4, 2)
    >>> old = policy.init_params(seed=1)
    >>> step = trpo_step(mdp, policy, old, max_kl=0.01)
    >>> F = pg.fisher_matrix(mdp, policy, old, normalized=True)
    >>> round(float(step.ravel() @ F @ step.ravel() / 2), 10)
    0.01
    """
    check_fit(mdp, policy)
    theta_old = policy.check_params(theta_old)
    max_kl = as_real("max_kl", max_kl)
    if not max_kl > 0:
        raise ValueError(f"max_kl must be positive; got {max_kl}")
    gradient = surrogate_gradient(mdp, policy, theta_old, theta_old)
    x = conjugate_gradient(
        lambda v: fisher_vector_product(mdp, policy, theta_old, v),
        gradient,
        n_iterations=theta_old.size if n_cg_iterations is None else n_cg_iterations,
    )
    return np.sqrt(2 * max_kl / float(np.sum(gradient * x))) * x


@dataclass(frozen=True)
class PPOInnerLoop:
    r"""What :func:`ppo_inner_loop` recorded after ``steps[k]`` updates: the mean KL under the normalised
    :math:`\bar d_{\text{old}}`; the smallest and largest ratio :math:`\rho = \pi_\theta/\pi_{\text{old}}` over
    the visited state-action pairs; ``clipped``, the share of the weight :math:`\bar d_{\text{old}}
    \pi_{\text{old}}` on terms whose gradient the clip has removed; the angle (degrees) between
    :math:`\nabla L^{\text{CLIP}}` and :math:`\nabla J` and the relative bias :math:`\|\nabla L^{\text{CLIP}} -
    \nabla J\| / \|\nabla J\|`; J. ``stopped_at`` is the update at which a KL early stop ended the loop (None if
    it ran to the end)."""

    steps: np.ndarray
    mean_kl: np.ndarray
    min_ratio: np.ndarray
    max_ratio: np.ndarray
    clipped: np.ndarray
    angle: np.ndarray
    bias: np.ndarray
    objective: np.ndarray
    stopped_at: int | None
    final_theta: np.ndarray


def ppo_inner_loop(
    mdp: FiniteMDP,
    policy: Policy,
    theta_old: Params,
    *,
    epsilon: float,
    step_size: float,
    n_steps: int,
    record: Any = None,
    target_kl: float | None = None,
) -> PPOInnerLoop:
    r"""PPO's inner loop, exactly: gradient ascent :math:`\theta \leftarrow \theta + \eta \nabla
    L^{\text{CLIP}}(\theta)` with :math:`\theta_{\text{old}}` fixed (the expectation, not a minibatch).

    With ``target_kl`` the mean KL of the current parameters is tested before each update, and the loop stops as
    soon as it exceeds :math:`1.5 \times` ``target_kl`` (the update that crossed it is kept): the early stop of
    Spinning Up and Stable-Baselines3, exact here. ``stopped_at`` is then the number of updates taken.
    ``record`` lists the updates after which to record (default: every one).

    >>> import pgbook as pg
    >>> mdp, policy = pg.examples.random_mdp(4, 2, gamma=0.9, seed=0, n_terminal=1), pg.TabularSoftmax(4, 2)
    >>> run = ppo_inner_loop(mdp, policy, policy.init_params(seed=1), epsilon=0.2, step_size=0.5, n_steps=20)
    >>> float(run.bias[0]) < 1e-12 and bool(run.max_ratio[-1] > 1.2)
    True
    """
    epsilon, _ = _check_epsilon(epsilon), check_fit(mdp, policy)
    theta_old = policy.check_params(theta_old)
    step_size = as_real("step_size", step_size)
    if not step_size > 0:
        raise ValueError(f"step_size must be positive; got {step_size}")
    n_steps = as_count("n_steps", n_steps, minimum=0)
    record_at = set(range(n_steps + 1) if record is None else np.asarray(record, dtype=int).tolist())
    if target_kl is not None:
        target_kl = as_real("target_kl", target_kl, within="(0, inf)")
    visits = discounted_visitation(mdp, policy, theta_old, normalized=True)
    old_pi = policy_table(mdp, policy, theta_old)
    adv = advantages(mdp, policy, theta_old)
    weight = visits[:, None] * old_pi
    visited = weight > 0
    rows: list[tuple[float, ...]] = []
    steps: list[int] = []
    theta, stopped = theta_old.copy(), None
    for k in range(n_steps + 1):
        ratio = policy_table(mdp, policy, theta) / old_pi
        mean_kl = float(visits @ kl_divergences(policy, theta_old, theta))
        if target_kl is not None and mean_kl > 1.5 * float(target_kl):
            stopped = k
            break
        clipped_gradient_now = clipped_gradient(mdp, policy, theta_old, theta, epsilon=epsilon)
        if k in record_at:
            true = exact_gradient(mdp, policy, theta)
            removed = ((adv > 0) & (ratio > 1 + epsilon)) | ((adv < 0) & (ratio < 1 - epsilon))
            norm = float(np.linalg.norm(clipped_gradient_now))
            cosine = float(np.sum(clipped_gradient_now * true)) / (norm * float(np.linalg.norm(true))) if norm else 0
            rows.append((
                mean_kl, float(ratio[visited].min()), float(ratio[visited].max()), float(weight[removed].sum()),
                float(np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0)))) if norm else np.nan,
                float(np.linalg.norm(clipped_gradient_now - true) / np.linalg.norm(true)),
                exact_objective(mdp, policy, theta),
            ))  # fmt: skip
            steps.append(k)
        if k < n_steps:
            theta = theta + step_size * clipped_gradient_now
    columns = np.array(rows).reshape(-1, 7).T
    return PPOInnerLoop(np.array(steps), *columns, stopped_at=stopped, final_theta=theta)
