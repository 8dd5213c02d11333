r"""Gymnasium environments: sampling them into a :class:`~pgbook.Batch`, and a finite MDP as one.

A batch sampled here holds observation vectors, shape (n_episodes, horizon, obs_dim), in ``states``; the
estimators that need no state index (:func:`~pgbook.reinforce`, :func:`~pgbook.reward_to_go` without a
state baseline) then work unchanged with a :class:`~pgbook.ModulePolicy`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

from pgbook.arguments import as_count, as_real_array, as_seed, as_unit_interval
from pgbook.batch import Batch
from pgbook.lazy_torch import torch
from pgbook.mdp import FiniteMDP
from pgbook.module_policy import ModulePolicy
from pgbook.policies import Params
from pgbook.sampling import draw_actions


class FiniteMDPEnv(gym.Env):
    """A :class:`~pgbook.FiniteMDP` as a Gymnasium environment: state s is observed as row s of an
    observation table, one-hot by default.

    An episode terminates on reaching a terminal state; the environment never truncates (wrap it in
    ``gymnasium.wrappers.TimeLimit`` for that).

    Parameters
    ----------
    mdp : FiniteMDP
    observations : array_like of shape (n_states, obs_dim), optional
        The observation of each state (the same table a :class:`~pgbook.ModulePolicy` takes). One-hot by
        default; ``np.ones((n_states, 1))`` makes every state look alike, as the short corridor's aliased
        policy sees it.
    dtype : numpy dtype
        The observations' dtype: ``np.float32`` for a network in torch's default precision (Stable-Baselines3,
        TorchRL, CleanRL); float64 by default.

    Examples
    --------
    >>> import pgbook as pg
    >>> env = FiniteMDPEnv(pg.examples.short_corridor())
    >>> observation, info = env.reset(seed=0)
    >>> observation
    array([1., 0., 0., 0.])
    >>> aliased = FiniteMDPEnv(pg.examples.short_corridor(), observations=np.ones((4, 1)), dtype=np.float32)
    >>> aliased.reset(seed=0)[0]
    array([1.], dtype=float32)
    """

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self, mdp: FiniteMDP, *, observations: Any = None, dtype: Any = np.float64) -> None:
        if not isinstance(mdp, FiniteMDP):
            raise TypeError(f"mdp must be a pgbook.FiniteMDP; got {type(mdp).__name__}")
        try:
            dtype = np.dtype(dtype)
        except TypeError as error:
            raise TypeError(f"dtype must be a numpy floating dtype such as np.float32; got {dtype!r}") from error
        if not np.issubdtype(dtype, np.floating):
            raise TypeError(f"dtype must be a numpy floating dtype such as np.float32; got {dtype}")
        if observations is None:
            table = np.eye(mdp.n_states)
        else:
            table = as_real_array("observations", observations, ndim=2)
            if table.shape[0] != mdp.n_states or table.shape[1] == 0:
                raise ValueError(
                    f"observations must have one row per state, shape ({mdp.n_states}, obs_dim); got {table.shape}"
                )
        self.mdp = mdp
        self.observations = table.astype(dtype)
        self.observations.setflags(write=False)
        self.observation_space = gym.spaces.Box(
            float(table.min()), float(table.max()), shape=(table.shape[1],), dtype=dtype
        )
        self.action_space = gym.spaces.Discrete(mdp.n_actions)
        self._state: int | None = None  # None until reset(), and again once the episode has terminated

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self._state = int(self.np_random.choice(self.mdp.n_states, p=self.mdp.initial))
        return self.observations[self._state].copy(), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        """One step, by Gymnasium's conventions: ``action`` must lie in ``action_space`` (an int in
        [0, n_actions)), and ``reset()`` must come first and again after the episode terminates
        (``gymnasium.error.ResetNeeded`` otherwise)."""
        if self._state is None:
            raise gym.error.ResetNeeded(
                "call reset() before step(): no episode is running (none yet, or it terminated)"
            )
        if isinstance(action, bool | np.bool_) or not self.action_space.contains(action):
            raise ValueError(
                f"action must be an int in [0, {self.mdp.n_actions}) (the action_space {self.action_space}); "
                f"got {action!r}"
            )
        state = self._state
        reward = float(self.mdp.R[state, action])
        state = int(self.np_random.choice(self.mdp.n_states, p=self.mdp.P[state, action]))
        terminated = bool(self.mdp.terminal[state])
        self._state = None if terminated else state
        return self.observations[state].copy(), reward, terminated, False, {}


def sample_environment(
    env: str | Callable[[], gym.Env],
    policy: ModulePolicy,
    theta: Params,
    n_episodes: int,
    *,
    gamma: float,
    max_steps: int,
    seed: int | np.random.Generator | None,
) -> Batch:
    r"""Run ``n_episodes`` episodes of a Gymnasium environment side by side under :math:`\pi_\theta`.

    One copy of the environment per episode, stepped together as one vector environment; the policy
    chooses every copy's action in one forward pass. An episode ends when the environment says terminated
    (``Batch.terminated``) or truncated, or after ``max_steps`` steps.

    Parameters
    ----------
    env : str or callable
        A registered environment id, such as ``"CartPole-v1"``: the copies are
        ``gymnasium.make_vec(env, n_episodes)``, the environment's own vectorised implementation where it
        has one (CartPole does: all copies in one numpy step). Or a callable returning a new environment,
        such as ``lambda: pg.FiniteMDPEnv(mdp)``: the copies are stepped one by one in a
        ``gymnasium.vector.SyncVectorEnv``. Either way the actions must be ``Discrete`` and the
        observations vectors.
    gamma : float
        The discount that defines the returns (an environment has none of its own).

    Examples
    --------
    >>> policy = ModulePolicy(torch.nn.Linear(4, 2), 2)
    >>> batch = sample_environment("CartPole-v1", policy, policy.init_params(seed=0), 8, gamma=0.99,
    ...                            max_steps=500, seed=0)
    >>> batch.states.shape[0], batch.states.shape[2], bool(batch.terminated.any())
    (8, 4, True)
    """
    if not (isinstance(env, str) or callable(env)):
        raise TypeError(
            f"env must be an environment id (str) or a callable returning a gymnasium.Env; got {type(env).__name__}"
        )
    if not isinstance(policy, ModulePolicy):
        raise TypeError(f"policy must be a pgbook.ModulePolicy; got {type(policy).__name__}")
    theta = torch.tensor(policy.check_params(theta), dtype=torch.float64)
    n_episodes = as_count("n_episodes", n_episodes)
    max_steps = as_count("max_steps", max_steps)
    gamma = as_unit_interval("gamma", gamma)
    rng = as_seed("seed", seed)
    if isinstance(env, str):
        envs = gym.make_vec(env, num_envs=n_episodes)
    else:
        envs = gym.vector.SyncVectorEnv([env] * n_episodes, autoreset_mode=gym.vector.AutoresetMode.NEXT_STEP)
    try:
        if envs.metadata.get("autoreset_mode") != gym.vector.AutoresetMode.NEXT_STEP:
            # Other modes return a reset observation in place of an episode's last one.
            raise ValueError(f"env must reset its copies on the step after an episode ends; {env!r} does not")
        if not isinstance(envs.single_action_space, gym.spaces.Discrete):
            raise ValueError(f"the environment's actions must be Discrete; got {envs.single_action_space}")
        if envs.single_action_space.n != policy.n_actions:
            raise ValueError(
                f"policy has {policy.n_actions} actions but the environment has {envs.single_action_space.n}"
            )
        observation, _ = envs.reset(seed=int(rng.integers(2**31 - 1)))
        observation = np.asarray(observation, dtype=np.float64)
        observations = np.zeros((max_steps, *observation.shape))
        actions = np.zeros((max_steps, n_episodes), dtype=np.int64)
        rewards, alive = np.zeros((max_steps, n_episodes)), np.zeros((max_steps, n_episodes), dtype=bool)
        final_observations = np.zeros_like(observation)
        terminated, running = np.zeros(n_episodes, dtype=bool), np.ones(n_episodes, dtype=bool)
        horizon = max_steps
        for t in range(max_steps):
            if not running.any():
                horizon = t
                break
            with torch.no_grad():
                log_pi = policy.torch_action_log_probabilities(theta, torch.from_numpy(observation)).numpy()
            action = draw_actions(np.exp(log_pi), rng)
            alive[t], observations[t], actions[t] = running, observation, action
            observation, reward, ended, cut_off, _ = envs.step(action)
            observation = np.asarray(observation, dtype=np.float64)
            rewards[t] = np.where(running, reward, 0.0)
            stopping = running & (ended | cut_off)
            final_observations[stopping] = observation[stopping]
            terminated |= running & ended
            running &= ~(ended | cut_off)
        final_observations[running] = observation[running]  # cut off by max_steps
    finally:
        envs.close()
    return Batch(
        states=np.ascontiguousarray(observations[:horizon].swapaxes(0, 1)),
        actions=np.ascontiguousarray(actions[:horizon].T),
        rewards=np.ascontiguousarray(rewards[:horizon].T),
        alive=np.ascontiguousarray(alive[:horizon].T),
        final_states=final_observations,
        terminated=terminated,
        gamma=gamma,
    )
