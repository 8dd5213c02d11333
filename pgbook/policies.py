r"""Parameterised stochastic policies :math:`\pi_\theta(a|s)` on finite state and action sets.

A policy is defined by one method, :meth:`Policy.torch_log_probabilities`, written in torch. Everything else
(probabilities, the score :math:`\nabla_\theta \log \pi_\theta(a|s)`, and the vector-Jacobian product the
policy gradient theorem needs) has a generic implementation by automatic differentiation, so a new policy
works with every oracle as soon as it can say its log-probabilities. The softmax families override these
with closed forms, which the tests hold to the generic autograd versions.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, TypeAlias

import numpy as np

from pgbook.arguments import as_count, as_real_array, as_scale, as_seed, check_shape
from pgbook.lazy_torch import is_tensor, torch
from pgbook.mdp import FiniteMDP

Params: TypeAlias = np.ndarray
"""θ, a policy's parameters: an array of its ``param_shape``, given as anything numpy reads as one or as a torch
tensor (its values are taken); :meth:`Policy.check_params` checks it."""


class Policy(ABC):
    r"""A differentiable policy :math:`\pi_\theta(a|s)` for ``n_states`` states and ``n_actions`` actions.

    Subclasses set ``n_states``, ``n_actions`` and ``param_shape`` and implement
    :meth:`torch_log_probabilities`.
    """

    n_states: int
    n_actions: int
    param_shape: tuple[int, ...]

    @abstractmethod
    def torch_log_probabilities(self, theta: torch.Tensor) -> torch.Tensor:
        r"""The table :math:`\log \pi_\theta(a|s)`, shape (n_states, n_actions), differentiable in ``theta``."""

    def check_params(self, theta: Params) -> np.ndarray:
        """Return ``theta`` as a float64 array of shape ``param_shape``, or raise naming ``theta``.

        A torch tensor is accepted whether or not it requires grad (its values are taken, detached)."""
        if is_tensor(theta):
            theta = theta.detach().cpu().numpy()
        theta = as_real_array("theta", theta)
        check_shape("theta", theta, self.param_shape)
        return theta

    def init_params(self, seed: int | np.random.Generator | None = None, scale: float = 1.0) -> np.ndarray:
        r"""Random parameters :math:`\theta \sim \mathcal N(0, \mathrm{scale}^2 I)`, reproducible from ``seed``."""
        return as_scale(scale) * as_seed("seed", seed).standard_normal(self.param_shape)

    def log_probabilities(self, theta: Params) -> np.ndarray:
        r"""The table :math:`\log \pi_\theta(a|s)` as a numpy array of shape (n_states, n_actions)."""
        with torch.no_grad():
            return self.torch_log_probabilities(_tensor(self.check_params(theta))).numpy()

    def probabilities(self, theta: Params) -> np.ndarray:
        r"""The table :math:`\pi_\theta(a|s)`, shape (n_states, n_actions); each row sums to 1."""
        return self._probabilities(self.check_params(theta))

    def _probabilities(self, theta: np.ndarray) -> np.ndarray:
        """:meth:`probabilities` for checked parameters (a loop that has checked them once)."""
        with torch.no_grad():
            return np.exp(self.torch_log_probabilities(_tensor(theta)).numpy())

    def score(self, theta: Params) -> np.ndarray:
        r"""The score :math:`\nabla_\theta \log \pi_\theta(a|s)` for every pair, shape
        (n_states, n_actions, \*param_shape). Generic version: the autograd Jacobian."""
        theta = _tensor(self.check_params(theta))
        return torch.autograd.functional.jacobian(self.torch_log_probabilities, theta).numpy()

    def weighted_probability_gradient(self, theta: Params, weights: Any) -> np.ndarray:
        r"""The vector-Jacobian product :math:`\sum_{s,a} w(s,a)\, \nabla_\theta \pi_\theta(a|s)`.

        With :math:`w(s,a) = d(s) Q(s,a)` this is the policy gradient theorem. Generic version: autograd.
        """
        return self._probability_vjp(self.check_params(theta), self._check_weights(weights))

    def _probability_vjp(self, theta: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """:meth:`weighted_probability_gradient` for checked arguments."""
        _, product = torch.autograd.functional.vjp(
            lambda t: self.torch_log_probabilities(t).exp(), _tensor(theta), _tensor(weights)
        )
        return product.numpy()

    def weighted_score(self, theta: Params, weights: Any) -> np.ndarray:
        r"""The score contracted with weights on the pairs,
        :math:`\sum_{s,a} w(s,a)\, \nabla_\theta \log \pi_\theta(a|s)`, without the (n_states · n_actions) × dim θ
        score table.

        ``weights`` has shape (..., n_states, n_actions) (for example one table of weighted visit counts per
        episode); the result has shape (..., \*param_shape). Every score-function estimator ends with this
        contraction. Generic version: a vector-Jacobian product of the log-probabilities, by autograd.

        Examples
        --------
        >>> policy = TabularSoftmax(1, 2)
        >>> policy.weighted_score(np.zeros((1, 2)), [[[1.0, 0.0]], [[0.0, 2.0]]])   # ∇log π(0|0), 2 ∇log π(1|0)
        array([[[ 0.5, -0.5]],
        <BLANKLINE>
               [[-1. ,  1. ]]])
        """
        theta = self.check_params(theta)
        weights = self._check_weights(weights, leading=True)
        return self._score_operators(theta)[1](weights)

    def score_products(self, theta: Params, direction: Any) -> np.ndarray:
        r"""The table :math:`\psi(s,a)^\top v = \nabla_\theta \log \pi_\theta(a|s)^\top v`, shape (n_states, n_actions),
        for a direction :math:`v` shaped like θ: the Jacobian-vector product of the log-probabilities.

        With :meth:`weighted_score` it gives the Fisher matrix's products without forming the matrix,
        :math:`F v` :math:`{} = \sum_{s,a} d(s) \pi(a|s)\, \psi(s,a)\, \psi(s,a)^\top v`. Generic version: autograd.
        """
        theta = self.check_params(theta)
        direction = as_real_array("direction", direction)
        check_shape("direction", direction, self.param_shape)
        return self._score_operators(theta)[0](direction)

    def _score_operators(self, theta: np.ndarray) -> tuple[Any, Any]:
        """For checked parameters: the functions ``v -> ψᵀv`` (:meth:`score_products`) and ``w -> Σ w ψ``
        (:meth:`weighted_score`), prepared once for many products, with no further checks."""
        theta_tensor = _tensor(theta)
        _, vjp = torch.func.vjp(self.torch_log_probabilities, theta_tensor)

        def products(direction: np.ndarray) -> np.ndarray:
            return torch.autograd.functional.jvp(self.torch_log_probabilities, theta_tensor, _tensor(direction))[
                1
            ].numpy()

        def weighted(weights: np.ndarray) -> np.ndarray:
            (sums,) = torch.func.vmap(vjp)(_tensor(weights.reshape(-1, self.n_states, self.n_actions)))
            return sums.numpy().reshape(weights.shape[:-2] + self.param_shape)

        return products, weighted

    def _check_weights(self, weights: Any, *, leading: bool = False) -> np.ndarray:
        weights = as_real_array("weights", weights, ndim=None if leading else 2)
        if leading and (weights.ndim < 2 or weights.shape[-2:] != (self.n_states, self.n_actions)):
            raise ValueError(
                f"weights must have shape (..., {self.n_states}, {self.n_actions}) (a weight per state and action, "
                f"after any leading axes); got {weights.shape}"
            )
        check_shape("weights", weights, weights.shape[:-2] + (self.n_states, self.n_actions))
        return weights


class SoftmaxPolicy(Policy):
    r"""A softmax over logits linear in θ: :math:`\pi_\theta(a|s) \propto \exp h_\theta(s,a)`.

    Then :math:`\nabla \log \pi(a|s)`
    :math:`{} = \nabla h(s,a) - \sum_b \pi(b|s) \nabla h(s,b)`, and subclasses only say
    how θ maps to logits and back (:meth:`logits`, :meth:`logit_jacobian`, :meth:`logit_vjp`).
    """

    @abstractmethod
    def logits(self, theta: np.ndarray) -> np.ndarray:
        """The logits h(s, a), shape (n_states, n_actions), for checked parameters."""

    @abstractmethod
    def logit_jacobian(self, theta: np.ndarray) -> np.ndarray:
        """The Jacobian of the logits in θ, shape (n_states, n_actions, \\*param_shape)."""

    @abstractmethod
    def logit_vjp(self, theta: np.ndarray, cotangent: np.ndarray) -> np.ndarray:
        r""":math:`\sum_{s,a} c(s,a) \nabla_\theta h(s,a)` for ``cotangent`` of shape (..., n_states, n_actions);
        shape (..., \*param_shape)."""

    @abstractmethod
    def logit_jvp(self, theta: np.ndarray, direction: np.ndarray) -> np.ndarray:
        r"""The table :math:`\nabla_\theta h(s,a)^\top v`, shape (n_states, n_actions)."""

    def log_probabilities(self, theta: Params) -> np.ndarray:
        return _log_softmax(self.logits(self.check_params(theta)))

    def score(self, theta: Params) -> np.ndarray:
        theta = self.check_params(theta)
        pi = np.exp(_log_softmax(self.logits(theta)))
        jacobian = self.logit_jacobian(theta)
        mean_jacobian = np.einsum("sb,sb...->s...", pi, jacobian)
        return jacobian - mean_jacobian[:, None]

    def weighted_probability_gradient(self, theta: Params, weights: Any) -> np.ndarray:
        r"""Closed form: :math:`\sum_{s,b} \pi(b|s)\,[w(s,b)` :math:`{} - \sum_a \pi(a|s) w(s,a)]\, \nabla h(s,b)`."""
        return self._probability_vjp(self.check_params(theta), self._check_weights(weights))

    def _probability_vjp(self, theta: np.ndarray, weights: np.ndarray) -> np.ndarray:
        pi = self._probabilities(theta)
        centred = weights - np.sum(pi * weights, axis=1, keepdims=True)
        return self.logit_vjp(theta, pi * centred)

    def _probabilities(self, theta: np.ndarray) -> np.ndarray:
        return np.exp(_log_softmax(self.logits(theta)))

    def _score_operators(self, theta: np.ndarray) -> tuple[Any, Any]:
        r"""Closed forms. :math:`\sum_{s,a} w(s,a) \psi(s,a)` :math:`{} = \sum_{s,a} \big(w(s,a) - \pi(a|s) \sum_b
        w(s,b)\big) \nabla h(s,a)`, in memory that grows with the weights, not with the score table; and
        :math:`\psi(s,a)^\top v = \sum_b \pi(b|s)\, (x(s,a) - x(s,b))` with :math:`x = \nabla h^\top v`, a sum of
        differences that keeps its relative accuracy when :math:`\pi(a|s)` is within rounding of 1 (where
        :math:`x(s,a) - \sum_b \pi(b|s) x(s,b)` is rounding error)."""
        pi = np.exp(_log_softmax(self.logits(theta)))
        ones = np.ones(self.n_actions)

        def products(direction: np.ndarray) -> np.ndarray:
            x = self.logit_jvp(theta, direction)
            return np.einsum("sb,sab->sa", pi, x[:, :, None] - x[:, None, :])

        def weighted(weights: np.ndarray) -> np.ndarray:
            centred = np.multiply(pi, (weights @ ones)[..., None])  # the row sums by a product: 3x a sum's speed
            np.subtract(weights, centred, out=centred)
            return self.logit_vjp(theta, centred)

        return products, weighted


class TabularSoftmax(SoftmaxPolicy):
    r"""One logit per state-action pair: :math:`\pi_\theta(a|s) = e^{\theta_{s,a}} / \sum_b e^{\theta_{s,b}}`.

    Parameters have shape (n_states, n_actions). Its policy gradient has the closed form
    :math:`\partial J / \partial \theta_{s,a} = d(s)\, \pi(a|s)\, A(s,a)` (Agarwal et al., 2021).

    Examples
    --------
    >>> policy = TabularSoftmax(n_states=2, n_actions=3)
    >>> policy.probabilities(np.zeros((2, 3))).round(3)
    array([[0.333, 0.333, 0.333],
           [0.333, 0.333, 0.333]])
    """

    def __init__(self, n_states: int, n_actions: int) -> None:
        self.n_states = as_count("n_states", n_states)
        self.n_actions = as_count("n_actions", n_actions)
        self.param_shape = (self.n_states, self.n_actions)

    def __repr__(self) -> str:
        return f"TabularSoftmax(n_states={self.n_states}, n_actions={self.n_actions})"

    def torch_log_probabilities(self, theta: torch.Tensor) -> torch.Tensor:
        return torch.log_softmax(theta, dim=1)

    def logits(self, theta: np.ndarray) -> np.ndarray:
        return theta

    def logit_jacobian(self, theta: np.ndarray) -> np.ndarray:
        return np.eye(theta.size).reshape(self.param_shape + self.param_shape)

    def logit_vjp(self, theta: np.ndarray, cotangent: np.ndarray) -> np.ndarray:
        return cotangent

    def logit_jvp(self, theta: np.ndarray, direction: np.ndarray) -> np.ndarray:
        return direction


class LinearSoftmax(SoftmaxPolicy):
    r"""Logits linear in features: :math:`\pi_\theta(a|s) \propto \exp(\theta^\top \phi(s,a))`.

    Parameters
    ----------
    features : array_like, shape (n_states, n_actions, n_features)
        The feature vector :math:`\phi(s,a)` of every pair.

    Examples
    --------
    Two features that only say which action is taken give the same policy in every state:

    >>> policy = LinearSoftmax([[[0, 1], [1, 0]]] * 3)
    >>> policy.probabilities([np.log(3), 0.0]).round(2)
    array([[0.25, 0.75],
           [0.25, 0.75],
           [0.25, 0.75]])
    """

    def __init__(self, features: Any) -> None:
        features = as_real_array("features", features, ndim=3)
        if 0 in features.shape:
            raise ValueError(f"features must have at least one state, action and feature; got {features.shape}")
        features.setflags(write=False)
        self.features = features
        self.n_states, self.n_actions, n_features = features.shape
        self.param_shape = (n_features,)

    def __repr__(self) -> str:
        return f"LinearSoftmax(n_states={self.n_states}, n_actions={self.n_actions}, n_features={self.param_shape[0]})"

    def torch_log_probabilities(self, theta: torch.Tensor) -> torch.Tensor:
        return torch.log_softmax(_tensor(self.features) @ theta, dim=1)

    def logits(self, theta: np.ndarray) -> np.ndarray:
        return self.features @ theta

    def logit_jacobian(self, theta: np.ndarray) -> np.ndarray:
        return self.features

    def logit_vjp(self, theta: np.ndarray, cotangent: np.ndarray) -> np.ndarray:
        return np.einsum("...sa,saf->...f", cotangent, self.features)

    def logit_jvp(self, theta: np.ndarray, direction: np.ndarray) -> np.ndarray:
        return self.features @ direction


def _tensor(array: np.ndarray) -> torch.Tensor:
    """A float64 tensor holding a copy of ``array`` (which may be read-only)."""
    return torch.tensor(array, dtype=torch.float64)


def policy_table(mdp: FiniteMDP, policy: Policy, theta: Params) -> np.ndarray:
    r"""The table :math:`\pi_\theta(a|s)` after checking that ``policy`` fits ``mdp`` and ``theta`` fits ``policy``."""
    check_fit(mdp, policy)
    return policy.probabilities(theta)


def check_fit(mdp: FiniteMDP, policy: Policy) -> None:
    """Raise unless ``mdp`` is a FiniteMDP and ``policy`` a Policy for its numbers of states and actions."""
    if not isinstance(mdp, FiniteMDP):
        raise TypeError(f"mdp must be a pgbook.FiniteMDP; got {type(mdp).__name__}")
    if not isinstance(policy, Policy):
        raise TypeError(f"policy must be a pgbook.Policy; got {type(policy).__name__}")
    if (policy.n_states, policy.n_actions) != (mdp.n_states, mdp.n_actions):
        raise ValueError(
            f"policy is for {policy.n_states} states and {policy.n_actions} actions, but mdp has "
            f"{mdp.n_states} states and {mdp.n_actions} actions"
            + (" (a ModulePolicy needs observations=, one row per state)" if policy.n_states == 0 else "")
        )


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    """log π(a|s) from logits of shape (n_states, n_actions), shifted by each row's maximum so that exp cannot
    overflow (what :func:`scipy.special.log_softmax` does, without its per-call overhead: the explorer's table
    calls it ~10⁵ times)."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
