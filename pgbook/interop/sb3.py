r"""Gradient samples from Stable-Baselines3's own A2C and PPO (Raffin et al. 2021), for
:func:`pgbook.check_samples`.

An SB3 model on a :class:`~pgbook.FiniteMDPEnv` whose actor and critic are each one ``Linear`` layer on the
one-hot observations (no hidden layers: the ``net_arch`` of ``policy_kwargs`` maps ``pi`` and ``vf`` to empty
lists, as in the example of :func:`gradient_samples`) is a tabular softmax policy with a tabular critic.
:func:`gradient_samples` puts θ (the parameters of ``model.policy.action_net``, in the order of
:class:`~pgbook.ModulePolicy`) and a critic into it, lets ``model.learn`` collect one rollout with SB3's
own vectorised environments, ``RolloutBuffer`` and GAE, and records the gradient of SB3's own loss at the
first optimizer step, before the step:

.. math::
    \hat g_k = -\nabla_\theta\, L_{\mathrm{SB3}}(\theta),

the direction in which SB3's update moves θ (the loss is minimised). The step itself is skipped, so every
sample is taken at the same θ and critic.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch

from pgbook.module_policy import ModulePolicy
from pgbook.policies import Params


def gradient_samples(model: Any, theta: Params, n_samples: int, *, critic: Any = None) -> np.ndarray:
    r"""``n_samples`` gradients of an SB3 A2C or PPO model's loss at θ, each from a fresh rollout.

    Each sample is one call of ``model.learn(n_steps × n_envs)``: the environments are reset, SB3
    collects ``n_steps`` steps in each of its ``n_envs`` environments (resetting an environment whenever
    its episode ends), computes GAE(λ) advantages with the critic, bootstrapping at the rollout's end, and
    builds its loss. The sample is :math:`-\nabla_\theta L` at the first optimizer step (for PPO, the
    first minibatch of the first epoch, where the probability ratio is 1).

    Parameters
    ----------
    model : stable_baselines3.A2C or stable_baselines3.PPO
        Built on a vectorised :class:`~pgbook.FiniteMDPEnv` with no hidden layers (the ``net_arch`` of
        ``policy_kwargs`` maps ``pi`` and ``vf`` to empty lists, as in the example); it is modified (θ and the
        critic put in).
    theta : array_like of shape (n_actions * n_states + n_actions,)
        The actor's parameters: ``action_net.weight`` (row by row), then ``action_net.bias``.
    n_samples : int
    critic : array_like of shape (n_states,), optional
        :math:`\hat V(s)`, put into ``value_net`` (weight = critic, bias = 0). Without it the critic is left
        as it is.

    Returns
    -------
    numpy.ndarray of shape (n_samples, len(theta)), float64

    Examples
    --------
    >>> import pgbook as pg
    >>> from stable_baselines3 import A2C
    >>> from stable_baselines3.common.env_util import make_vec_env
    >>> mdp = pg.examples.random_mdp(3, 2, gamma=1.0, seed=0, n_terminal=1)
    >>> env = make_vec_env(lambda: pg.FiniteMDPEnv(mdp), n_envs=2, seed=0)
    >>> model = A2C("MlpPolicy", env, n_steps=8, gamma=1.0, seed=0,
    ...             policy_kwargs=dict(net_arch=dict(pi=[], vf=[])))
    >>> gradient_samples(model, np.zeros(8), 3).shape
    (3, 8)
    """
    from stable_baselines3 import A2C, PPO

    if not isinstance(model, A2C | PPO):
        raise TypeError(f"model must be a stable_baselines3 A2C or PPO model; got {type(model).__name__}")
    n_samples = int(n_samples)
    if n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer; got {n_samples}")
    policy = model.policy
    actor, value_net = policy.action_net, policy.value_net
    if any(True for _ in policy.mlp_extractor.parameters()) or any(
        True for _ in policy.features_extractor.parameters()
    ):
        raise ValueError(
            "model's actor must be one Linear layer on the observations: build it with "
            "policy_kwargs=dict(net_arch=dict(pi=[], vf=[])) (its hidden layers have parameters)"
        )
    parameters = list(actor.parameters())
    size = sum(p.numel() for p in parameters)
    theta = np.asarray(theta, dtype=np.float64)
    if theta.shape != (size,):
        raise ValueError(
            f"theta must have shape ({size},), the parameters of model.policy.action_net; got {theta.shape}"
        )
    ModulePolicy(actor, actor.out_features).write_params(theta)
    with torch.no_grad():
        if critic is not None:
            critic = np.asarray(critic, dtype=np.float64)
            if critic.shape != (value_net.in_features,):
                raise ValueError(
                    f"critic must have shape ({value_net.in_features},), one value per state; got {critic.shape}"
                )
            value_net.weight.copy_(torch.as_tensor(critic[None, :], dtype=value_net.weight.dtype))
            value_net.bias.zero_()
    samples = []
    with _first_steps(model) as recorded:
        for _ in range(n_samples):
            model.learn(model.n_steps * model.n_envs)
            samples.append(recorded.pop())
    return np.stack(samples)


def train_gradient(model: Any) -> np.ndarray:
    r""":math:`-\nabla_\theta L` at the first optimizer step of ``model.train()`` on the rollout buffer the model
    holds (for example one that another model collected), the step skipped.

    Examples
    --------
    >>> import pgbook as pg
    >>> from stable_baselines3 import A2C
    >>> from stable_baselines3.common.env_util import make_vec_env
    >>> env = make_vec_env(lambda: pg.FiniteMDPEnv(pg.examples.random_mdp(3, 2, seed=0)), n_envs=2, seed=0)
    >>> model = A2C("MlpPolicy", env, n_steps=8, seed=0, policy_kwargs=dict(net_arch=dict(pi=[], vf=[])))
    >>> sample = gradient_samples(model, np.zeros(8), 1)   # fills model.rollout_buffer
    >>> bool(np.allclose(train_gradient(model), sample[0]))
    True
    """
    from stable_baselines3 import A2C, PPO

    if not isinstance(model, A2C | PPO):
        raise TypeError(f"model must be a stable_baselines3 A2C or PPO model; got {type(model).__name__}")
    if not model.rollout_buffer.full:
        raise ValueError("model.rollout_buffer holds no complete rollout: collect one first (model.learn)")
    if getattr(model, "_logger", None) is None:  # train() logs; learn() would have set a logger up
        from stable_baselines3.common.logger import configure

        model.set_logger(configure(folder=None, format_strings=[]))
    with _first_steps(model) as recorded:
        model.train()
    return recorded.pop()


@contextmanager
def _first_steps(model: Any) -> Iterator[list[np.ndarray]]:
    """While the block runs, the model's optimizer step is replaced by one that leaves θ and the critic as they
    are and, at the first step of each ``model.train()`` call, appends :math:`-\nabla L` of the actor to the list."""
    parameters = list(model.policy.action_net.parameters())
    optimizer, train, recorded, first = model.policy.optimizer, model.train, [], [False]

    def train_from_the_first_step() -> None:
        first[0] = True
        train()

    def record_and_skip(*args: Any, **kwargs: Any) -> None:
        if first[0]:
            recorded.append(-torch.cat([p.grad.reshape(-1) for p in parameters]).double().numpy())
            first[0] = False

    model.train, optimizer.step = train_from_the_first_step, record_and_skip
    try:
        yield recorded
    finally:
        del model.train, optimizer.step  # the model's own train() and the optimizer's own step again
