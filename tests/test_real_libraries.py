"""Stable-Baselines3's own A2C and PPO (rollouts, RolloutBuffer, GAE, loss) audited on pgbook's finite MDPs.

Each configuration runs SB3 2.9.2's ``learn()`` K times at one θ with the optimizer step skipped
(:func:`pgbook.interop.sb3.gradient_samples`) and compares the K gradient samples with two independent
oracles: the exact ∇J, and :func:`rollout_model` below, the closed-form expectation of a fixed-length
auto-reset rollout update written from the definitions (not from pgbook's estimators). The samples of a
configuration are computed once per module (module-scoped fixtures).

False failures: each comparison of a mean with the model is a Bonferroni bound over its components at
``FALSE_FAILURE = 1e-3`` (Student's t with K − 1 degrees of freedom), so a correct SB3 fails it with
probability at most about 1e-3; the seeds are fixed, so the outcome is the same on every run.
Cost (2 shared cores, niced): about 3 s per configuration of 60 rollouts of 4 × 64 steps.
"""

import numpy as np
import pytest

import pgbook as pg
from pgbook.gradient_estimate import GradientEstimate
from pgbook.policies import policy_table
from pgbook.stats import two_sided_threshold, z_scores

sb3 = pytest.importorskip("stable_baselines3")
from stable_baselines3.common.vec_env import DummyVecEnv  # noqa: E402

from pgbook.interop import sb3 as interop  # noqa: E402

FALSE_FAILURE = 1e-3
N_ENVS, N_STEPS, K = 16, 64, 60


def rollout_model(mdp, pi, critic, lam, n_steps):
    r"""The expected update of one fixed-length rollout, per unit of ∇π, as an (n_states, n_actions) table W.

    The rollout: s_0 ~ μ0, n_steps steps, an episode that ends restarts from μ0 (auto-reset);
    Â_t = δ_t + γλ(1 − done_t) Â_{t+1}, with δ_t = r_t + γ(1 − done_t) V̂(s_{t+1}) − V̂(s_t), and the last
    step bootstrapped with V̂(s_n); the loss is the mean over the n_steps steps of Â_t log π(a_t|s_t). With
    E_m(s, a) = E[Â_t | s_t = s, a_t = a, m steps left in the rollout] (a backward recursion over m) and
    p_t = Pr(s_t = ·), the update's expectation is Σ_{s,a} W(s, a) ∇π(a|s) with
    W = (1/n) Σ_t p_t(s) E_{n−t}(s, a).
    """
    live = (~mdp.terminal).astype(float)
    P_pi = np.einsum("sa,sat->st", pi, mdp.P)
    auto_reset = P_pi * live + np.outer(P_pi @ (1.0 - live), mdp.initial)
    one_step = mdp.R + mdp.gamma * mdp.P @ (critic * live) - critic[:, None]
    steps_left = [one_step]  # E_1, E_2, ...
    for _ in range(n_steps - 1):
        steps_left.append(one_step + mdp.gamma * lam * mdp.P @ (live * (pi * steps_left[-1]).sum(axis=1)))
    p, W = mdp.initial.copy(), np.zeros_like(pi)
    for t in range(n_steps):
        W += p[:, None] * steps_left[n_steps - 1 - t]
        p = p @ auto_reset
    return W / n_steps


def tabular_theta(n_states, n_actions, seed, scale):
    """A tabular softmax θ (pgbook's TabularSoftmax) in the actor's layout: weight = θᵀ, bias = 0."""
    table = pg.TabularSoftmax(n_states, n_actions).init_params(seed=seed, scale=scale)
    return np.concatenate([table.T.ravel(), np.zeros(n_actions)])


class Setting:
    """One SB3 configuration on one MDP at one θ: its samples, the exact gradient and the model's mean."""

    def __init__(self, algorithm, mdp, theta, *, critic="exact", lam=1.0, seed=0, **kwargs):
        env = DummyVecEnv([lambda: pg.FiniteMDPEnv(mdp)] * N_ENVS)
        env.seed(seed)
        self.model = algorithm(
            "MlpPolicy",
            env,
            n_steps=N_STEPS,
            gamma=mdp.gamma,
            gae_lambda=lam,
            max_grad_norm=float("inf"),
            seed=seed,
            policy_kwargs=dict(net_arch=dict(pi=[], vf=[])),
            **kwargs,
        )
        self.mdp, self.theta = mdp, theta
        self.policy = pg.ModulePolicy(self.model.policy.action_net, mdp.n_actions, observations=np.eye(mdp.n_states))
        self.critic = pg.state_values(mdp, self.policy, theta) if isinstance(critic, str) else critic
        self.samples = interop.gradient_samples(self.model, theta, K, critic=self.critic)
        self.exact = pg.exact_gradient(mdp, self.policy, theta)
        W = rollout_model(mdp, policy_table(mdp, self.policy, theta), self.critic, lam, N_STEPS)
        self.model_mean = self.policy.weighted_probability_gradient(theta, W)

    def z_against(self, target):
        return z_scores(GradientEstimate(self.samples), target)


def slow_mixing_mdp():
    return pg.examples.random_mdp(5, 2, gamma=0.9, seed=39, concentration=0.3)


def episodic_mdp():
    return pg.examples.random_mdp(5, 2, gamma=1.0, seed=23, n_terminal=1)


@pytest.fixture(scope="module")
def a2c_episodic():
    return Setting(sb3.A2C, episodic_mdp(), tabular_theta(5, 2, seed=1, scale=1), seed=1)


@pytest.fixture(scope="module")
def a2c_slow_mixing():
    return Setting(sb3.A2C, slow_mixing_mdp(), tabular_theta(5, 2, seed=206, scale=2), seed=2)


@pytest.fixture(scope="module")
def a2c_gae_zero_critic():
    return Setting(sb3.A2C, episodic_mdp(), tabular_theta(5, 2, seed=1, scale=1), critic=np.zeros(5), lam=0.95, seed=3)


@pytest.fixture(scope="module")
def ppo_episodic():
    mdp = episodic_mdp()
    return Setting(sb3.PPO, mdp, tabular_theta(5, 2, seed=1, scale=1), seed=4, normalize_advantage=False, n_epochs=1)


SETTINGS = ["a2c_episodic", "a2c_slow_mixing", "a2c_gae_zero_critic", "ppo_episodic"]


@pytest.mark.parametrize("name", SETTINGS)
def test_sb3_mean_is_the_closed_form_rollout_model(name, request):
    setting = request.getfixturevalue(name)
    threshold = two_sided_threshold(FALSE_FAILURE, setting.samples.shape[1], K - 1)
    z = setting.z_against(setting.model_mean)
    assert np.abs(z).max() <= threshold, (name, z)


def test_the_model_itself_is_checked_against_the_theorem():
    """The model is not checked against SB3 only: as n_steps grows, at γ = 1 with the exact critic, it is the
    renewal limit ∇J / E[T] (Σ_s d(s) ∇π A, divided by the expected episode length)."""
    mdp = episodic_mdp()
    policy = pg.TabularSoftmax(5, 2)
    theta = policy.init_params(seed=1)
    pi = policy.probabilities(theta)
    W = rollout_model(mdp, pi, pg.state_values(mdp, policy, theta), 1.0, 4_000)
    expected_length = pg.discounted_visitation(mdp, policy, theta)[~mdp.terminal].sum()
    exact = pg.exact_gradient(mdp, policy, theta)
    np.testing.assert_allclose(
        policy.weighted_probability_gradient(theta, W), exact / expected_length, atol=2e-3 * np.abs(exact).max()
    )


def test_ppo_first_minibatch_step_is_a2c_update():
    """On one rollout buffer, PPO's first minibatch gradient (the whole buffer, ratio 1) is A2C's, to float32
    rounding: A2C's own train() is run on the buffer PPO collected."""
    mdp = episodic_mdp()
    theta = tabular_theta(5, 2, seed=1, scale=1)
    env = DummyVecEnv([lambda: pg.FiniteMDPEnv(mdp)] * N_ENVS)
    kwargs = dict(
        n_steps=N_STEPS, gamma=1.0, max_grad_norm=float("inf"), seed=0, policy_kwargs=dict(net_arch=dict(pi=[], vf=[]))
    )
    ppo = sb3.PPO("MlpPolicy", env, batch_size=N_ENVS * N_STEPS, normalize_advantage=False, n_epochs=1, **kwargs)
    a2c = sb3.A2C("MlpPolicy", env, **kwargs)
    critic = pg.state_values(mdp, pg.ModulePolicy(ppo.policy.action_net, 2, observations=np.eye(5)), theta)
    (ppo_step,) = interop.gradient_samples(ppo, theta, 1, critic=critic)
    a2c.policy.load_state_dict(ppo.policy.state_dict())
    a2c.rollout_buffer = ppo.rollout_buffer
    a2c_step = interop.train_gradient(a2c)
    np.testing.assert_allclose(a2c_step, ppo_step, rtol=1e-5, atol=1e-6 * np.abs(ppo_step).max())
    assert np.abs(ppo_step).max() > 0
