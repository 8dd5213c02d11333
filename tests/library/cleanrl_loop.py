r"""CleanRL's PPO loop, carried by the tests (CleanRL 1.2.0 on PyPI supports only Python < 3.11).

Source: the single-file ``cleanrl/ppo.py`` of CleanRL (Huang, Dossa, Ye, Braga, Chakraborty, Mehta & Araújo,
"CleanRL: High-quality Single-file Implementations of Deep Reinforcement Learning Algorithms", JMLR 23(274),
2022; https://github.com/vwxyzjn/cleanrl/blob/master/cleanrl/ppo.py, documented at
https://docs.cleanrl.dev/rl-algorithms/ppo/#ppopy), whose steps are explained in Huang, Dossa, Raffin,
Kanervisto & Wang, "The 37 Implementation Details of Proximal Policy Optimization" (ICLR Blog Track, 2022;
https://iclr-blog-track.github.io/2022/03/25/ppo-implementation-details/).
This is not CleanRL's code: it is written anew to take the same steps in the same order, on the tensors
that file keeps (``obs``, ``actions``, ``logprobs``, ``rewards``, ``dones``, ``values`` of shape
``(num_steps, num_envs)``), with the blog's detail numbers:

1. The environments are a ``gymnasium.vector.SyncVectorEnv`` (detail 1) with Gymnasium 1.x's default
   NEXT_STEP autoreset: the step after an episode terminates is taken from the terminal observation and
   only resets (reward 0, not done). CleanRL stores that step in its rollout like any other.
2. A rollout of ``num_steps`` steps (detail 1): before each step, ``obs[t]`` is the current observation and
   ``dones[t]`` whether it ended an episode (``next_done``); the action is sampled from the actor, its
   log-probability and the critic's value are kept; then the environments step.
3. GAE (detail 5), backwards over the rollout: ``nextnonterminal = 1 − dones[t+1]`` (at the last step
   ``1 − next_done``, with the critic's value of ``next_obs`` as the bootstrap),
   ``δ_t = r_t + γ V(s_{t+1}) nextnonterminal − V(s_t)``, ``Â_t = δ_t + γλ nextnonterminal Â_{t+1}``.
4. The rollout is flattened, its indices shuffled and cut into ``num_minibatches`` minibatches (detail 6).
5. On each minibatch: the ratio of the new to the old probabilities, advantages normalised by the
   minibatch's mean and standard deviation (detail 7, ``norm_adv``), the clipped surrogate
   ``max(−Â r, −Â clip(r, 1 ± ε))`` averaged over the minibatch's steps (detail 8), the value loss and the
   entropy bonus (details 9, 10), ``loss.backward()``, gradient-norm clipping (detail 11), the optimizer
   step.

What the tests need is the update's direction at a fixed θ: :func:`first_minibatch_gradients` records
:math:`-\nabla_\theta L` of the actor at the first minibatch of the first epoch, where θ is still θ_old (the
ratio is 1), right after ``loss.backward()`` and before clipping and the optimizer step, which are skipped.
Each sample is a rollout from a reset (CleanRL resets once and then continues from where each rollout
stopped; resetting makes the samples independent and their expectation the model "from a reset").
"""

import numpy as np
import torch


def first_minibatch_gradients(
    envs,
    actor,
    critic,
    n_samples,
    *,
    num_steps,
    gamma,
    gae_lambda,
    num_minibatches=4,
    norm_adv=True,
    clip_coef=0.2,
    ent_coef=0.0,
    vf_coef=0.5,
    seed=0,
):
    """``n_samples`` gradients −∇_θ L of the actor (a module returning logits) at the first minibatch step, one
    per rollout of ``num_steps`` steps of ``envs`` from a reset; shape (n_samples, number of actor parameters).
    ``ent_coef`` is 0 by default (CleanRL's default is 0.01) so that the sample is the policy-gradient part."""
    torch.manual_seed(seed)
    shuffle = np.random.default_rng(seed)
    num_envs = envs.num_envs
    batch_size = num_envs * num_steps
    minibatch_size = batch_size // num_minibatches
    parameters = list(actor.parameters())
    samples = []
    for k in range(n_samples):
        # 1, 2. the rollout, from a reset
        obs = torch.zeros((num_steps, num_envs, *envs.single_observation_space.shape))
        actions, logprobs, rewards, dones, values = (torch.zeros((num_steps, num_envs)) for _ in range(5))
        next_obs, _ = envs.reset(seed=seed + k * num_envs)
        next_obs, next_done = torch.as_tensor(next_obs), torch.zeros(num_envs)
        for step in range(num_steps):
            obs[step], dones[step] = next_obs, next_done
            with torch.no_grad():
                distribution = torch.distributions.Categorical(logits=actor(next_obs))
                action = distribution.sample()
                values[step] = critic(next_obs).flatten()
            actions[step], logprobs[step] = action, distribution.log_prob(action)
            next_obs, reward, terminations, truncations, _ = envs.step(action.numpy())
            rewards[step] = torch.as_tensor(reward, dtype=torch.float32)
            next_obs = torch.as_tensor(next_obs)
            next_done = torch.as_tensor(np.logical_or(terminations, truncations), dtype=torch.float32)

        # 3. GAE, with next_done masking and the critic's bootstrap at the rollout's end
        with torch.no_grad():
            next_value = critic(next_obs).flatten()
            advantages = torch.zeros_like(rewards)
            last = torch.zeros(num_envs)
            for t in reversed(range(num_steps)):
                if t == num_steps - 1:
                    nextnonterminal, nextvalues = 1.0 - next_done, next_value
                else:
                    nextnonterminal, nextvalues = 1.0 - dones[t + 1], values[t + 1]
                delta = rewards[t] + gamma * nextvalues * nextnonterminal - values[t]
                advantages[t] = last = delta + gamma * gae_lambda * nextnonterminal * last
            returns = advantages + values

        # 4. flatten; the first minibatch of the first epoch
        b_obs = obs.reshape((batch_size, -1))
        b_actions, b_logprobs = actions.reshape(-1).long(), logprobs.reshape(-1)
        b_advantages, b_returns = advantages.reshape(-1), returns.reshape(-1)
        mb_inds = torch.as_tensor(shuffle.permutation(batch_size)[:minibatch_size])

        # 5. the loss on it; its gradient is recorded after backward(), clipping and the step are skipped
        distribution = torch.distributions.Categorical(logits=actor(b_obs[mb_inds]))
        ratio = (distribution.log_prob(b_actions[mb_inds]) - b_logprobs[mb_inds]).exp()
        mb_advantages = b_advantages[mb_inds]
        if norm_adv:
            mb_advantages = (mb_advantages - mb_advantages.mean()) / (mb_advantages.std() + 1e-8)
        pg_loss = torch.max(
            -mb_advantages * ratio, -mb_advantages * torch.clamp(ratio, 1 - clip_coef, 1 + clip_coef)
        ).mean()
        v_loss = 0.5 * ((critic(b_obs[mb_inds]).view(-1) - b_returns[mb_inds]) ** 2).mean()
        loss = pg_loss - ent_coef * distribution.entropy().mean() + vf_coef * v_loss
        actor.zero_grad()
        critic.zero_grad()
        loss.backward()
        samples.append(-torch.cat([p.grad.reshape(-1) for p in parameters]).double().numpy())
    return np.stack(samples)
