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
    J(\theta) &\ge L_{\text{old}}(\theta) - \frac{4 \epsilon \gamma}{(1-\gamma)^2}\, \alpha^2, \\
    \alpha &= \max_s D_{TV}\big(\pi_{\text{old}}(\cdot|s), \pi_\theta(\cdot|s)\big), \\
    \epsilon &= \max_{s,a} |A_{\text{old}}(s,a)|,

the last being Theorem 1 of Schulman et al. (2015). :math:`L` swaps the new policy's visitation for the old
one's, so :math:`\nabla L_{\text{old}}(\theta_{\text{old}}) = \nabla J(\theta_{\text{old}})`. PPO's clipped
objective (Schulman et al. 2017), with :math:`\rho = \pi_\theta / \pi_{\text{old}}`,

.. math::
    L^{\text{CLIP}}(\theta) &= \sum_s d_{\text{old}}(s) \sum_a \pi_{\text{old}}(a|s) \\
        &\quad \min\big(\rho A_{\text{old}}, \\
        &\qquad \operatorname{clip}(\rho, 1-\varepsilon, 1+\varepsilon) A_{\text{old}}\big),

is computed here exactly, as an expectation, not from samples.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pgbook.arguments import as_real, check_type
from pgbook.batch import Batch
from pgbook.estimators import _check_batch_and_policy, score_sums
from pgbook.evaluation import advantages, discounted_visitation, exact_objective
from pgbook.gradient_estimate import GradientEstimate
from pgbook.lazy_torch import torch
from pgbook.mdp import FiniteMDP
from pgbook.policies import Policy, check_fit, policy_table


def surrogate_objective(mdp: FiniteMDP, policy: Policy, theta_old: Any, theta: Any) -> float:
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


def surrogate_gradient(mdp: FiniteMDP, policy: Policy, theta_old: Any, theta: Any) -> np.ndarray:
    r""":math:`\nabla_\theta L_{\text{old}}(\theta)` :math:`{} = \sum_s d_{\text{old}}(s) \sum_a A_{\text{old}}(s,a)
    \nabla_\theta \pi_\theta(a|s)`; at :math:`\theta = \theta_{\text{old}}` it is the policy gradient theorem."""
    weights = discounted_visitation(mdp, policy, theta_old)[:, None] * advantages(mdp, policy, theta_old)
    return policy.weighted_probability_gradient(theta, weights)


def kl_divergences(policy: Policy, theta_old: Any, theta: Any) -> np.ndarray:
    r""":math:`D_{KL}(\pi_{\text{old}}(\cdot|s) \,\|\, \pi_\theta(\cdot|s))` in every state, shape (n_states,).

    >>> import pgbook as pg
    >>> policy = pg.TabularSoftmax(1, 2)
    >>> kl_divergences(policy, np.zeros((1, 2)), np.array([[0.0, np.log(3.0)]])).round(6)   # ½ log(½/¼) + ½ log(½/¾)
    array([0.143841])
    """
    check_type("policy", policy, Policy, "a pgbook.Policy")
    old, new = policy.log_probabilities(theta_old), policy.log_probabilities(theta)
    return np.sum(np.exp(old) * (old - new), axis=1)


def total_variations(policy: Policy, theta_old: Any, theta: Any) -> np.ndarray:
    r""":math:`D_{TV}(\pi_{\text{old}}(\cdot|s), \pi_\theta(\cdot|s))`
    :math:`{} = \frac12 \sum_a |\pi_{\text{old}} - \pi_\theta|`,
    shape (n_states,)."""
    check_type("policy", policy, Policy, "a pgbook.Policy")
    return 0.5 * np.abs(policy.probabilities(theta_old) - policy.probabilities(theta)).sum(axis=1)


def improvement_bound(mdp: FiniteMDP, policy: Policy, theta_old: Any, theta: Any) -> float:
    r"""The lower bound :math:`L_{\text{old}}(\theta) - 4\epsilon\gamma\alpha^2/(1-\gamma)^2` on :math:`J(\theta)`
    (Schulman et al. 2015, Theorem 1, after Kakade & Langford 2002); needs γ < 1 and no terminal states
    (on an episodic problem the missing transitions to the terminal state only strengthen it).

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


def _clipped_torch(
    mdp: FiniteMDP, policy: Policy, theta_old: np.ndarray, theta: torch.Tensor, epsilon: float
) -> torch.Tensor:
    old = torch.tensor(policy_table(mdp, policy, theta_old))
    weights = torch.tensor(discounted_visitation(mdp, policy, theta_old))[:, None] * old
    advantage = torch.tensor(advantages(mdp, policy, theta_old))
    ratio = policy.torch_log_probabilities(theta).exp() / old
    clipped = torch.clamp(ratio, 1 - epsilon, 1 + epsilon)
    return torch.sum(weights * torch.minimum(ratio * advantage, clipped * advantage))


def _check_epsilon(epsilon: Any) -> float:
    return as_real("epsilon", epsilon, within="(0, 1)")


def clipped_objective(mdp: FiniteMDP, policy: Policy, theta_old: Any, theta: Any, *, epsilon: float) -> float:
    r"""PPO's clipped surrogate :math:`L^{\text{CLIP}}(\theta)` as an exact expectation (0 at
    :math:`\theta_{\text{old}}`, where every ratio is 1)."""
    epsilon, _ = _check_epsilon(epsilon), check_fit(mdp, policy)
    theta = torch.tensor(policy.check_params(theta), dtype=torch.float64)
    return float(_clipped_torch(mdp, policy, policy.check_params(theta_old), theta, epsilon))


def clipped_gradient(mdp: FiniteMDP, policy: Policy, theta_old: Any, theta: Any, *, epsilon: float) -> np.ndarray:
    r""":math:`\nabla_\theta L^{\text{CLIP}}` by autograd (a clipped term contributes 0): at
    :math:`\theta_{\text{old}}` no term is clipped and it is the policy gradient.

    >>> import pgbook as pg
    >>> mdp, policy = pg.examples.random_mdp(4, 2, gamma=0.9, seed=0), pg.TabularSoftmax(4, 2)
    >>> old = policy.init_params(seed=1)
    >>> bool(np.allclose(clipped_gradient(mdp, policy, old, old, epsilon=0.2), pg.exact_gradient(mdp, policy, old)))
    True
    """
    epsilon, _ = _check_epsilon(epsilon), check_fit(mdp, policy)
    theta = torch.tensor(policy.check_params(theta), dtype=torch.float64, requires_grad=True)
    (gradient,) = torch.autograd.grad(
        _clipped_torch(mdp, policy, policy.check_params(theta_old), theta, epsilon), theta
    )
    return gradient.numpy()


def off_policy_gradient(
    batch: Batch, policy: Policy, theta: Any, behaviour_theta: Any, *, per_decision: bool = True
) -> GradientEstimate:
    r"""The policy gradient at ``theta`` from episodes sampled with ``behaviour_theta``, by importance sampling.

    With :math:`\rho_{0:k} = \prod_{j \le k} \pi_\theta(a_j|s_j) / \pi_{\text{behaviour}}(a_j|s_j)`:

    - per-decision (Precup, Sutton & Singh 2000): :math:`\hat g_i`
      :math:`{} = \sum_t \gamma^t \nabla\log\pi_\theta(a_t|s_t)`
      :math:`\sum_{k \ge t} \gamma^{k-t} \rho_{0:k} r_k`: a reward is reweighted only by the actions before it;
    - ``per_decision=False``: the whole episode's ratio, :math:`\rho_{0:T} \sum_t \gamma^t G_t
      \nabla\log\pi_\theta(a_t|s_t)`.

    Both are unbiased when the behaviour policy gives every action positive probability and the episodes
    terminate (truncation at ``max_steps`` leaves its usual :math:`\gamma^{\mathtt{max\_steps}}` bias).
    """
    theta = _check_batch_and_policy(batch, policy, theta)  # the batch's states and actions fit the policy
    behaviour_theta = policy.check_params(behaviour_theta)
    log_ratio = policy.log_probabilities(theta) - policy.log_probabilities(behaviour_theta)
    step_log_ratio = np.where(batch.alive, log_ratio[batch.states, batch.actions], 0.0)
    with np.errstate(over="ignore", invalid="ignore"):
        cumulative = np.exp(np.cumsum(step_log_ratio, axis=1))  # ρ_{0:k}
    if not np.all(np.isfinite(cumulative)):
        i, t = (int(k) for k in np.argwhere(~np.isfinite(cumulative))[0])
        s, a = batch.states[i, t], batch.actions[i, t]
        raise ValueError(
            f"behaviour_theta gives probability {np.exp(policy.log_probabilities(behaviour_theta)[s, a]):.3g} to "
            f"action {a} in state {s}, taken in episode {i} at step {t}: the importance ratios overflow (was the "
            "batch sampled with behaviour_theta?)"
        )
    discounts = batch.gamma ** np.arange(batch.rewards.shape[1])
    if per_decision:
        weighted = cumulative * batch.rewards * discounts  # γ^k ρ_{0:k} r_k
        weights = np.cumsum(weighted[:, ::-1], axis=1)[:, ::-1]  # Σ_{k≥t} γ^k ρ_{0:k} r_k = γ^t Σ γ^{k-t} ...
    else:
        weights = cumulative[:, -1:] * discounts * batch.returns_to_go()
    return score_sums(batch, policy, theta, weights * batch.alive)
