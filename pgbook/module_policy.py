r"""A policy given by your own ``torch.nn.Module``: observations in, action logits out.

θ is the module's parameters flattened into one float64 vector, so the module works with every oracle and
estimator in pgbook: on a finite MDP (give an observation per state, for example one-hot vectors) and on a
Gymnasium environment (:func:`pgbook.environments.sample_environment`).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from pgbook.arguments import as_count, as_real_array, as_scale, as_seed
from pgbook.lazy_torch import torch
from pgbook.policies import Params, Policy


class ModulePolicy(Policy):
    r""":math:`\pi_\theta(a|o) = \mathrm{softmax}(f_\theta(o))_a` for a module :math:`f` mapping observations
    of shape (batch, obs_dim) to logits of shape (batch, n_actions).

    Parameters
    ----------
    module : torch.nn.Module
        Its parameters define θ (in the order of ``module.named_parameters()``); the module itself is
        never modified: θ is substituted with :func:`torch.func.functional_call`.
    n_actions : int
    observations : array_like of shape (n_states, obs_dim), optional
        The observation of each state of a finite MDP. Without it the policy works on Gymnasium
        environments only.

    Examples
    --------
    >>> import pgbook as pg
    >>> mdp = pg.examples.random_mdp(3, 2, gamma=0.9, seed=0)
    >>> policy = ModulePolicy(torch.nn.Linear(3, 2), 2, observations=np.eye(3))
    >>> theta = policy.init_params(seed=0)
    >>> theta.shape
    (8,)
    >>> bool(np.allclose(pg.exact_gradient(mdp, policy, theta), pg.autodiff_gradient(mdp, policy, theta)))
    True
    """

    def __init__(self, module: torch.nn.Module, n_actions: int, *, observations: Any = None) -> None:
        if not isinstance(module, torch.nn.Module):
            raise TypeError(f"module must be a torch.nn.Module; got {type(module).__name__}")
        self.module = module
        self.n_actions = as_count("n_actions", n_actions)
        self._shapes = {name: parameter.shape for name, parameter in module.named_parameters()}
        n_params = sum(int(np.prod(shape)) for shape in self._shapes.values())
        if n_params == 0:
            raise ValueError("module has no parameters to differentiate")
        self.param_shape = (n_params,)
        if observations is None:
            self.observations = None
            self.n_states = 0
        else:
            self.observations = as_real_array("observations", observations, ndim=2)
            self.n_states = self.observations.shape[0]
            self.log_probabilities(self.current_params())  # fail now if the module does not fit

    def __repr__(self) -> str:
        states = "observations only" if self.observations is None else f"n_states={self.n_states}"
        return f"ModulePolicy({type(self.module).__name__}, n_actions={self.n_actions}, {states})"

    def current_params(self) -> np.ndarray:
        """The module's own parameters as θ."""
        with torch.no_grad():
            return torch.cat([p.detach().reshape(-1) for p in self.module.parameters()]).double().numpy()

    def init_params(self, seed: int | np.random.Generator | None = None, scale: float = 1.0) -> np.ndarray:
        """θ from a fresh initialisation of the module (each layer's ``reset_parameters``), seeded, times
        ``scale``. The module and torch's global random state are left as they were."""
        generator_seed = int(as_seed("seed", seed).integers(2**63 - 1))
        fresh = copy.deepcopy(self.module)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(generator_seed)
            for layer in fresh.modules():
                if hasattr(layer, "reset_parameters"):
                    layer.reset_parameters()
        with torch.no_grad():
            flat = torch.cat([p.detach().reshape(-1) for p in fresh.parameters()]).double().numpy()
        return as_scale(scale) * flat

    def torch_action_log_probabilities(self, theta: torch.Tensor, observations: torch.Tensor) -> torch.Tensor:
        r""":math:`\log \pi_\theta(\cdot|o)` for observations of shape (..., obs_dim): shape (..., n_actions)."""
        try:
            logits = self._logits(theta, observations)
        except RuntimeError as error:
            raise ValueError(_failure(error, observations)) from error
        if not isinstance(logits, torch.Tensor):
            raise TypeError(
                f"module must return a tensor of logits, shape (batch, {self.n_actions}); it returned a "
                f"{type(logits).__name__}. A whole actor-critic object (Stable-Baselines3's model.policy returns "
                "(actions, values, log_prob)) is not a logits module: give the part that maps observations to "
                "logits, e.g. torch.nn.Sequential(model.policy.mlp_extractor.policy_net, model.policy.action_net)"
            )
        if logits.dtype != torch.float64:
            raise TypeError(
                f"module returned {logits.dtype} logits for float64 observations and parameters: pgbook computes in "
                "float64, so the module must not cast (a .float() or a float32 buffer inside it)"
            )
        if logits.shape != (*observations.shape[:-1], self.n_actions):
            raise ValueError(
                f"module must map observations of shape {tuple(observations.shape)} to logits of shape "
                f"{(*observations.shape[:-1], self.n_actions)}; it returned {tuple(logits.shape)}"
            )
        return torch.log_softmax(logits, dim=-1)

    def torch_log_probabilities(self, theta: torch.Tensor) -> torch.Tensor:
        if self.observations is None:
            raise TypeError(
                "this ModulePolicy has no observation table: pass observations=(one per state) to use it on a FiniteMDP"
            )
        return self.torch_action_log_probabilities(theta, torch.tensor(self.observations, dtype=torch.float64))

    def write_params(self, theta: Params) -> None:
        """Put θ into the module's own parameters (in place, in each parameter's dtype): the way to hand a
        θ from pgbook (``init_params``, :meth:`params_for`, an exact ascent) to the network your library
        trains, for example a Stable-Baselines3 model's actor.

        >>> module = torch.nn.Linear(2, 2)
        >>> policy = ModulePolicy(module, 2)
        >>> policy.write_params(np.arange(6.0))
        >>> module.bias.tolist()
        [4.0, 5.0]
        """
        theta = torch.tensor(self.check_params(theta), dtype=torch.float64)
        start = 0
        with torch.no_grad():
            for parameter in self.module.parameters():
                size = parameter.numel()
                parameter.copy_(theta[start : start + size].reshape(parameter.shape).to(parameter.dtype))
                start += size

    def params_for(self, probabilities: Any) -> np.ndarray:
        r"""θ for which this module's policy is ``probabilities`` (shape (n_states, n_actions)), for a module
        whose logits are linear in its parameters (a ``Linear`` layer; with one-hot observations it expresses
        every policy): least squares on the log-probabilities, each state's logits free up to a constant.

        The way to put a built-in policy into your network: ``theta = module_policy.params_for(
        builtin.probabilities(builtin_theta))``, then :meth:`write_params`.

        Examples
        --------
        >>> import pgbook as pg
        >>> builtin = pg.TabularSoftmax(3, 2)
        >>> target = builtin.probabilities(builtin.init_params(seed=0))
        >>> policy = ModulePolicy(torch.nn.Linear(3, 2), 2, observations=np.eye(3))
        >>> bool(np.allclose(policy.probabilities(policy.params_for(target)), target))
        True
        """
        if self.observations is None:
            raise TypeError("params_for needs the observation table: build the ModulePolicy with observations=")
        probabilities = as_real_array("probabilities", probabilities, ndim=2)
        if probabilities.shape != (self.n_states, self.n_actions) or np.any(probabilities <= 0):
            raise ValueError(
                f"probabilities must be a ({self.n_states}, {self.n_actions}) table of positive action probabilities; "
                f"got shape {probabilities.shape}"
            )
        observations = torch.tensor(self.observations, dtype=torch.float64)
        zero = torch.zeros(self.param_shape, dtype=torch.float64)
        probe = torch.tensor(self.init_params(seed=0), dtype=torch.float64)
        with torch.no_grad():
            offset = self._logits(zero, observations)
            doubled = self._logits(2 * probe, observations) - offset
            if not torch.allclose(doubled, 2 * (self._logits(probe, observations) - offset)):
                raise ValueError(
                    "params_for needs a module whose logits are linear in its parameters (a Linear layer); train "
                    "another network to the probabilities instead"
                )
        jacobian = torch.autograd.functional.jacobian(lambda t: self._logits(t, observations), zero).numpy()
        design = (jacobian - jacobian.mean(axis=1, keepdims=True)).reshape(self.n_states * self.n_actions, -1)
        target = np.log(probabilities) - offset.numpy()
        target = (target - target.mean(axis=1, keepdims=True)).ravel()
        theta = np.linalg.lstsq(design, target, rcond=None)[0]
        if not np.allclose(self.probabilities(theta), probabilities, rtol=1e-6, atol=1e-9):
            raise ValueError(
                "the module cannot express these probabilities on its observations (states that look alike must "
                "have the same action probabilities)"
            )
        return theta

    def _logits(self, theta: torch.Tensor, observations: torch.Tensor) -> torch.Tensor:
        parameters, start = {}, 0
        for name, shape in self._shapes.items():
            size = int(np.prod(shape))
            parameters[name] = theta[start : start + size].reshape(shape)
            start += size
        return torch.func.functional_call(self.module, parameters, (observations,))


def _failure(error: RuntimeError, observations: torch.Tensor) -> str:
    """What a module's failure on the observations means, from torch's message."""
    text = str(error)
    if "dtype" in text:
        return (
            f"module failed on float64 observations: it holds another dtype (pgbook computes in float64 and "
            f"substitutes float64 parameters; a float32 buffer or a cast inside the module breaks that). torch said: "
            f"{text}"
        )
    if "shape" in text or "size" in text:
        return (
            f"module could not take observations of shape {tuple(observations.shape)} (obs_dim = "
            f"{observations.shape[-1]}): does its input width match the observations? torch said: {text}"
        )
    return f"module failed on observations of shape {tuple(observations.shape)}; torch said: {text}"
