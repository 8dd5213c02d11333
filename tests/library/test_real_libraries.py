"""Stable-Baselines3's own A2C and PPO (rollouts, RolloutBuffer, GAE, loss) audited on pgbook's finite MDPs.

Each configuration runs SB3 2.9.2's ``learn()`` K times at one θ with the optimizer step skipped
(:func:`pgbook.interop.sb3.gradient_samples`) and compares the K gradient samples with two independent
oracles: the exact ∇J, and ``rollout_oracle.rollout_model``, the closed-form expectation of a fixed-length
auto-reset rollout update written from the definitions (not from pgbook's estimators). The samples of a
configuration are taken once per module (module-scoped fixtures) and shared by the tests that read them.

False failures: each comparison of a mean with the model is a Bonferroni bound over its components at
``FALSE_FAILURE = 1e-3`` (Student's t with K − 1 degrees of freedom), and each verdict uses
:func:`pgbook.check_samples` at its default false alarm 1e-3, so a correct SB3 fails a test with probability
at most about 1e-3; the seeds are fixed, so the outcome is the same on every run.

Cost (2 cores shared by other jobs, niced): about 10 s per configuration of 60 rollouts of 16 × 64 steps,
so the statistical tests are marked slow; the PPO = A2C test (one rollout) and the model's own check take
about 2 s.
"""

import numpy as np
import pytest

import pgbook as pg
from pgbook.gradient_estimate import GradientEstimate
from pgbook.policies import policy_table
from pgbook.stats import two_sided_threshold, z_scores

from rollout_oracle import expected_length, rollout_model

sb3 = pytest.importorskip("stable_baselines3")
from stable_baselines3.common.vec_env import DummyVecEnv  # noqa: E402

from pgbook.interop import sb3 as interop  # noqa: E402

FALSE_FAILURE = 1e-3
N_ENVS, N_STEPS, K = 16, 64, 60


def tabular_theta(n_states, n_actions, seed, scale):
    """A tabular softmax θ (pgbook's TabularSoftmax) in the actor's layout: weight = θᵀ, bias = 0."""
    table = pg.TabularSoftmax(n_states, n_actions).init_params(seed=seed, scale=scale)
    return np.concatenate([table.T.ravel(), np.zeros(n_actions)])


class Setting:
    """One SB3 configuration on one MDP at one θ: its K samples, pgbook's report on them, and the oracle's mean
    (for normalised advantages, its large-batch limit: the mean divided by the advantages' standard deviation
    over the rollout's steps)."""

    def __init__(self, algorithm, mdp, theta, *, critic="exact", lam=1.0, seed=0, n_samples=K, **kwargs):
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
        self.samples = interop.gradient_samples(self.model, theta, n_samples, critic=self.critic)
        self.exact = pg.exact_gradient(mdp, self.policy, theta)
        pi = policy_table(mdp, self.policy, theta)
        W, first, second = rollout_model(mdp, pi, self.critic, lam, N_STEPS)
        if kwargs.get("normalize_advantage", algorithm is sb3.PPO):
            W = W / np.sqrt(second - first**2)
        self.model_mean = self.policy.weighted_probability_gradient(theta, W)
        self.expected_length = expected_length(mdp, pi) if mdp.terminal.any() else np.inf
        problem = pg.Problem("sb3", mdp, self.policy, theta, 300, critic=self.critic)
        catalogue = pg.mistakes.CATALOGUE + pg.mistakes.rollout_models(N_STEPS, lam)
        self.report = pg.check_samples(self.samples, problem, catalogue=catalogue)
        self.result = self.report.results[0]


def slow_mixing_mdp():
    return pg.examples.random_mdp(5, 2, gamma=0.9, seed=39, concentration=0.3)


def episodic_mdp():
    return pg.examples.random_mdp(5, 2, gamma=1.0, seed=23, n_terminal=1)


EPISODIC_THETA = tabular_theta(5, 2, seed=1, scale=1)


@pytest.fixture(scope="module")
def a2c_episodic():
    return Setting(sb3.A2C, episodic_mdp(), EPISODIC_THETA, seed=1)


@pytest.fixture(scope="module")
def a2c_normalised():
    return Setting(sb3.A2C, episodic_mdp(), EPISODIC_THETA, seed=5, normalize_advantage=True)


@pytest.fixture(scope="module")
def a2c_slow_mixing():
    return Setting(sb3.A2C, slow_mixing_mdp(), tabular_theta(5, 2, seed=206, scale=2), seed=2)


@pytest.fixture(scope="module")
def a2c_gae_zero_critic():
    return Setting(sb3.A2C, episodic_mdp(), EPISODIC_THETA, critic=np.zeros(5), lam=0.95, seed=3, n_samples=80)


@pytest.fixture(scope="module")
def ppo_episodic():
    """PPO's defaults but one epoch: minibatches of 64 steps, normalised per minibatch; the first minibatch is
    a uniform draw of 64 of the rollout's steps, so the normalisation is over 64 steps, not the rollout."""
    return Setting(sb3.PPO, episodic_mdp(), EPISODIC_THETA, seed=4, normalize_advantage=False, n_epochs=1)


SETTINGS = ["a2c_episodic", "a2c_normalised", "a2c_slow_mixing", "a2c_gae_zero_critic", "ppo_episodic"]
VERDICTS = {
    "a2c_episodic": "scaled",  # γ = 1 with the exact critic: ∇J / E[T], up to a reset's transient
    "a2c_normalised": "scaled",
    "a2c_slow_mixing": "biased",  # γᵗ dropped, the slow-mixing MDP at γ = 0.9
    "a2c_gae_zero_critic": "biased",  # GAE(0.95) with a critic at 0
    "ppo_episodic": "scaled",
}


@pytest.mark.slow
@pytest.mark.parametrize("name", SETTINGS)
def test_sb3_mean_is_the_closed_form_rollout_model(name, request):
    setting = request.getfixturevalue(name)
    threshold = two_sided_threshold(FALSE_FAILURE, setting.samples.shape[1], len(setting.samples) - 1)
    z = z_scores(GradientEstimate(setting.samples), setting.model_mean)
    assert np.abs(z).max() <= threshold, (name, z)


@pytest.mark.slow
@pytest.mark.parametrize("name", SETTINGS)
def test_check_samples_verdict_on_sb3(name, request):
    """pgbook's report on SB3's samples: "scaled" where the model is a multiple of ∇J, "biased" where it
    turns; the oracle's angle lies in the report's interval, and a scaled factor is the oracle's."""
    setting = request.getfixturevalue(name)
    result = setting.result
    assert result.verdict == VERDICTS[name], str(setting.report)
    model_angle = np.degrees(
        np.arccos(
            setting.model_mean @ setting.exact / np.linalg.norm(setting.model_mean) / np.linalg.norm(setting.exact)
        )
    )
    low, high = result.angle_interval
    assert low <= model_angle <= high, (model_angle, result.angle_interval)
    if VERDICTS[name] == "biased":
        assert model_angle > 5, "the model turns: the verdict is not a false alarm"
    else:
        factor = setting.model_mean @ setting.exact / (setting.exact @ setting.exact)
        along = setting.samples @ setting.exact / (setting.exact @ setting.exact)
        error = along.std(ddof=1) / np.sqrt(len(along))
        assert abs(along.mean() - factor) <= two_sided_threshold(FALSE_FAILURE, 1, len(along) - 1) * error


@pytest.mark.slow
def test_exact_critic_factor_is_one_over_expected_length(a2c_episodic):
    """The report's factor at γ = 1 with the exact critic is 1/E[T] (renewal), within its noise."""
    along = a2c_episodic.samples @ a2c_episodic.exact / (a2c_episodic.exact @ a2c_episodic.exact)
    error = along.std(ddof=1) / np.sqrt(len(along))
    assert abs(a2c_episodic.result.scale - 1 / a2c_episodic.expected_length) <= 4.5 * error


@pytest.mark.slow
def test_diagnosis_names_the_rollout_pipeline(a2c_episodic, a2c_normalised):
    """The diagnosis of SB3's update includes the fixed-length rollout model among its matches (alone, where
    only a scale is left: the per-step mean is then indistinguishable and is listed beside it)."""
    for setting in (a2c_episodic, a2c_normalised):
        diagnosis = setting.report.diagnosis
        assert diagnosis is not None and diagnosis.found, str(setting.report)
        assert any("rollouts of 64 steps from a reset" in match.name for match in diagnosis.matches), str(diagnosis)


def test_the_model_itself_is_checked_against_the_theorem():
    """The model is not checked against SB3 only: as n_steps grows, at γ = 1 with the exact critic, it is the
    renewal limit ∇J / E[T] (Σ_s d(s) ∇π A, divided by the expected episode length)."""
    mdp = episodic_mdp()
    policy = pg.TabularSoftmax(5, 2)
    theta = policy.init_params(seed=1)
    pi = policy.probabilities(theta)
    W, _, _ = rollout_model(mdp, pi, pg.state_values(mdp, policy, theta), 1.0, 4_000)
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


# TorchRL 0.14 (not pinned: tested where it is installed) --------------------------------------------------------
# Its own SerialEnv auto-reset rollout (env.rollout with break_when_any_done=False, actions sampled: exploration
# RANDOM, as its collectors set it), its GAE module and its A2CLoss / ClipPPOLoss. Slower per step than SB3
# (about 1.5 s per rollout of 16 × 64 steps here), so fewer rollouts: 16 of them, about 25 s.

TORCHRL_K = 16


class TorchRLSetting:
    def __init__(self, mdp, theta, seed):
        torchrl = pytest.importorskip("torchrl")
        import torch
        from tensordict.nn import TensorDictModule
        from torchrl.envs import GymWrapper, SerialEnv
        from torchrl.envs.utils import ExplorationType, set_exploration_type
        from torchrl.modules import ProbabilisticActor, ValueOperator
        from torchrl.objectives import A2CLoss, ClipPPOLoss
        from torchrl.objectives.value import GAE

        assert torchrl.__version__
        torch.manual_seed(seed)
        env = SerialEnv(N_ENVS, lambda: GymWrapper(pg.FiniteMDPEnv(mdp), categorical_action_encoding=True))
        env.set_seed(seed)
        actor_net, critic_net = torch.nn.Linear(5, 2).double(), torch.nn.Linear(5, 1).double()
        actor = ProbabilisticActor(
            TensorDictModule(actor_net, in_keys=["observation"], out_keys=["logits"]),
            in_keys=["logits"],
            distribution_class=torch.distributions.Categorical,
            return_log_prob=True,
        )
        critic = ValueOperator(critic_net, in_keys=["observation"])
        self.policy = pg.ModulePolicy(actor_net, 2, observations=np.eye(5))
        self.critic = pg.state_values(mdp, self.policy, theta)
        with torch.no_grad():
            torch.nn.utils.vector_to_parameters(torch.as_tensor(theta), actor_net.parameters())
            critic_net.weight.copy_(torch.as_tensor(self.critic)[None])
            critic_net.bias.zero_()
        advantage = GAE(gamma=mdp.gamma, lmbda=1.0, value_network=critic)
        a2c = A2CLoss(actor_network=actor, critic_network=critic)
        ppo = ClipPPOLoss(actor_network=actor, critic_network=critic, normalize_advantage=False)

        def gradient(loss, rollout):
            actor_net.zero_grad()
            loss(rollout)["loss_objective"].backward()
            return -torch.cat([p.grad.reshape(-1) for p in actor_net.parameters()]).numpy().copy()

        samples, self.ppo_gap = [], 0.0
        for _ in range(TORCHRL_K):
            with torch.no_grad(), set_exploration_type(ExplorationType.RANDOM):
                rollout = env.rollout(N_STEPS, actor, break_when_any_done=False)
                advantage(rollout)
            samples.append(gradient(a2c, rollout))
            step = gradient(ppo, rollout)  # the ratio is 1: θ is θ_old
            self.ppo_gap = max(self.ppo_gap, np.abs(step - samples[-1]).max() / np.abs(samples[-1]).max())
        env.close()
        self.samples = np.array(samples)
        self.mdp, self.theta = mdp, theta
        W, _, _ = rollout_model(mdp, policy_table(mdp, self.policy, theta), self.critic, 1.0, N_STEPS)
        self.model_mean = self.policy.weighted_probability_gradient(theta, W)
        problem = pg.Problem("torchrl", mdp, self.policy, theta, 300, critic=self.critic)
        self.report = pg.check_samples(self.samples, problem)


@pytest.fixture(scope="module")
def torchrl_episodic():
    return TorchRLSetting(episodic_mdp(), EPISODIC_THETA, seed=6)


@pytest.mark.slow
def test_torchrl_a2c_loss_is_the_rollout_model_and_scaled(torchrl_episodic):
    setting = torchrl_episodic
    threshold = two_sided_threshold(FALSE_FAILURE, setting.samples.shape[1], TORCHRL_K - 1)
    z = z_scores(GradientEstimate(setting.samples), setting.model_mean)
    assert np.abs(z).max() <= threshold, z
    assert setting.report.results[0].verdict == "scaled", str(setting.report)


@pytest.mark.slow
def test_torchrl_clip_ppo_at_ratio_one_is_a2c(torchrl_episodic):
    assert torchrl_episodic.ppo_gap <= 1e-12, "the same float64 computation: equal to rounding"
