"""A user's torch.nn.Module policy: the oracles, the estimators, and Gymnasium environments (CartPole-v1)."""

import numpy as np
import pytest
import torch

import pgbook as pg


def mlp(n_inputs, n_actions, hidden=8):
    return torch.nn.Sequential(torch.nn.Linear(n_inputs, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, n_actions))


@pytest.fixture
def finite_problem():
    mdp = pg.examples.random_mdp(5, 3, gamma=0.9, seed=7, n_terminal=1)
    policy = pg.ModulePolicy(mlp(5, 3), 3, observations=np.eye(5))
    return mdp, policy, policy.init_params(seed=0)


def test_oracles_agree_for_a_module_policy(finite_problem):
    mdp, policy, theta = finite_problem
    exact = pg.exact_gradient(mdp, policy, theta)
    np.testing.assert_allclose(exact, pg.autodiff_gradient(mdp, policy, theta), rtol=1e-10, atol=1e-14)
    numerical = pg.finite_difference(lambda t: pg.exact_objective(mdp, policy, t), theta)
    np.testing.assert_allclose(exact, numerical, rtol=1e-6, atol=1e-9)


@pytest.mark.slow
def test_estimators_are_unbiased_for_a_module_policy(finite_problem):
    """10⁵ episodes; 71 components within 4.5 SE: false-failure probability below 71 × 6.8e-6 ≈ 5e-4."""
    mdp, policy, theta = finite_problem
    batch = pg.sample_episodes(mdp, policy, theta, 100_000, max_steps=400, seed=1)
    exact = pg.exact_gradient(mdp, policy, theta)
    values = pg.state_values(mdp, policy, theta)
    estimate = pg.reward_to_go(batch, policy, theta, baseline=values)
    assert np.abs(pg.stats.z_scores(estimate, exact)).max() < 4.5


@pytest.mark.slow  # 200 Gymnasium episodes with autograd per episode: ~1.2 s
def test_environment_path_equals_the_finite_path_on_the_same_episodes(finite_problem):
    """Episodes from Gymnasium (one-hot observations, autograd per episode) and the same episodes as state
    indices (bincount and the score table) give the same per-episode gradients."""
    mdp, policy, theta = finite_problem
    observation_policy = pg.ModulePolicy(policy.module, 3)
    batch = pg.sample_environment(
        lambda: pg.FiniteMDPEnv(mdp), observation_policy, theta, 200, gamma=mdp.gamma, max_steps=400, seed=2
    )
    assert batch.has_observations and batch.terminated.all()
    as_states = pg.Batch(
        states=np.where(batch.alive, batch.states.argmax(axis=2), 0),
        actions=batch.actions,
        rewards=batch.rewards,
        alive=batch.alive,
        final_states=batch.final_states.argmax(axis=1),
        terminated=batch.terminated,
        gamma=batch.gamma,
    )
    for estimator in (pg.reinforce, pg.reward_to_go):
        from_environment = estimator(batch, observation_policy, theta).per_episode
        from_states = estimator(as_states, policy, theta).per_episode
        np.testing.assert_allclose(from_environment, from_states, rtol=1e-10, atol=1e-12)


@pytest.mark.slow
def test_environment_sampling_is_unbiased(finite_problem):
    """Gymnasium sampling of the finite MDP: the estimate agrees with the exact gradient (5,000 episodes,
    71 components within 4.5 SE: false-failure probability below 5e-4)."""
    mdp, policy, theta = finite_problem
    observation_policy = pg.ModulePolicy(policy.module, 3)
    batch = pg.sample_environment(
        lambda: pg.FiniteMDPEnv(mdp), observation_policy, theta, 5_000, gamma=mdp.gamma, max_steps=400, seed=3
    )
    estimate = pg.reward_to_go(batch, observation_policy, theta)
    assert np.abs(pg.stats.z_scores(estimate, pg.exact_gradient(mdp, policy, theta))).max() < 4.5


def test_cartpole_gradients_match_a_plain_autograd_loop():
    policy = pg.ModulePolicy(mlp(4, 2, hidden=16), 2)
    theta = policy.init_params(seed=0)
    batch = pg.sample_environment("CartPole-v1", policy, theta, 16, gamma=0.99, max_steps=500, seed=0)
    assert batch.states.shape[2] == 4
    np.testing.assert_array_equal(batch.rewards.sum(axis=1), batch.lengths)  # +1 per step
    assert batch.terminated.any()
    estimate = pg.reward_to_go(batch, policy, theta)
    returns_to_go = batch.returns_to_go()
    for i in range(batch.n_episodes):
        steps = batch.alive[i]
        module = mlp(4, 2, hidden=16).double()
        torch.nn.utils.vector_to_parameters(torch.tensor(theta), module.parameters())
        log_pi = torch.log_softmax(module(torch.tensor(batch.states[i, steps])), dim=1)
        taken = log_pi[torch.arange(int(steps.sum())), torch.tensor(batch.actions[i, steps])]
        weights = torch.tensor(batch.discounts()[i, steps] * returns_to_go[i, steps])
        (weights * taken).sum().backward()
        expected = torch.nn.utils.parameters_to_vector([p.grad for p in module.parameters()]).numpy()
        np.testing.assert_allclose(estimate.per_episode[i], expected, rtol=1e-10, atol=1e-12)


def test_init_params_is_seeded_and_leaves_the_module_and_global_rng_alone():
    module = mlp(3, 2)
    policy = pg.ModulePolicy(module, 2)
    before = policy.current_params()
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    first, second = policy.init_params(seed=5), policy.init_params(seed=5)
    assert torch.rand(1) == expected_next
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, policy.init_params(seed=6))
    np.testing.assert_array_equal(policy.current_params(), before)


def test_module_policy_errors():
    with pytest.raises(TypeError, match="module must be a torch.nn.Module"):
        pg.ModulePolicy(lambda x: x, 2)
    with pytest.raises(ValueError, match="module has no parameters"):
        pg.ModulePolicy(torch.nn.Identity(), 2)
    with pytest.raises(ValueError, match=r"module must map observations of shape \(4, 4\) to logits of shape \(4, 3\)"):
        pg.ModulePolicy(torch.nn.Linear(4, 2), 3, observations=np.eye(4))
    no_table = pg.ModulePolicy(torch.nn.Linear(4, 2), 2)
    with pytest.raises(TypeError, match="has no observation table"):
        no_table.probabilities(no_table.init_params(seed=0))
    with pytest.raises(ValueError, match="policy has 3 actions but the environment has 2"):
        three = pg.ModulePolicy(torch.nn.Linear(4, 3), 3)
        pg.sample_environment("CartPole-v1", three, three.init_params(seed=0), 2, gamma=0.9, max_steps=5, seed=0)
    with pytest.raises(TypeError, match=r"env must be an environment id \(str\) or a callable"):
        policy = pg.ModulePolicy(torch.nn.Linear(4, 2), 2)
        pg.sample_environment(42, policy, policy.init_params(seed=0), 2, gamma=0.9, max_steps=5, seed=0)
    with pytest.raises(TypeError, match="policy must be a pgbook.ModulePolicy"):
        pg.sample_environment(
            "CartPole-v1",
            pg.TabularSoftmax(2, 2),
            np.zeros((2, 2)),
            2,
            gamma=0.9,
            max_steps=5,
            seed=0,
        )


def test_observation_batches_reject_state_indexed_estimators():
    policy = pg.ModulePolicy(torch.nn.Linear(4, 2), 2)
    theta = policy.init_params(seed=0)
    batch = pg.sample_environment("CartPole-v1", policy, theta, 4, gamma=0.9, max_steps=20, seed=0)
    with pytest.raises(ValueError, match="needs the states of a finite MDP"):
        pg.reward_to_go(batch, policy, theta, baseline="learned")
    with pytest.raises(ValueError, match="needs the states of a finite MDP"):
        pg.gae_estimator(batch, policy, theta, values=np.zeros(4), lam=0.5)
    with pytest.raises(TypeError, match="its policy must be a pgbook.ModulePolicy"):
        pg.reinforce(batch, pg.TabularSoftmax(4, 2), np.zeros((4, 2)))
    assert pg.reinforce(batch, policy, theta, baseline="mean").per_episode.shape == (4, theta.size)


# Interop: errors that name the cause, θ into and out of a user's network, environments for other libraries.


class WholeActorCritic(torch.nn.Module):
    """Like Stable-Baselines3's model.policy: forward returns (actions, values, log_prob), not logits."""

    def __init__(self):
        super().__init__()
        self.actor, self.critic = torch.nn.Linear(4, 2), torch.nn.Linear(4, 1)

    def forward(self, observations):
        logits = self.actor(observations)
        return logits.argmax(-1), self.critic(observations), torch.log_softmax(logits, -1)


class CastsToFloat32(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(4, 2)

    def forward(self, observations):
        return self.linear(observations).float()


def test_module_policy_errors_name_the_cause():
    with pytest.raises(TypeError, match=r"must return a tensor of logits.*returned a tuple.*Stable-Baselines3"):
        pg.ModulePolicy(WholeActorCritic(), 2, observations=np.eye(4))
    with pytest.raises(TypeError, match="returned torch.float32 logits"):
        pg.ModulePolicy(CastsToFloat32(), 2, observations=np.eye(4))
    with pytest.raises(ValueError, match="does its input width match the observations"):
        pg.ModulePolicy(torch.nn.Linear(3, 2), 2, observations=np.eye(4))
    no_table = pg.ModulePolicy(torch.nn.Linear(4, 2), 2)
    mdp = pg.examples.random_mdp(4, 2, seed=0)
    with pytest.raises(ValueError, match=r"policy is for 0 states .* \(a ModulePolicy needs observations="):
        pg.exact_gradient(mdp, no_table, no_table.init_params(seed=0))
    with pytest.raises(TypeError, match="params_for needs the observation table"):
        no_table.params_for(np.full((4, 2), 0.5))


def test_a_builtin_policy_goes_into_the_users_network_and_back():
    builtin = pg.TabularSoftmax(5, 3)
    target = builtin.probabilities(builtin.init_params(seed=2))
    module = torch.nn.Linear(5, 3)
    policy = pg.ModulePolicy(module, 3, observations=np.eye(5))
    theta = policy.params_for(target)
    np.testing.assert_allclose(policy.probabilities(theta), target, rtol=1e-10)
    policy.write_params(theta)
    np.testing.assert_allclose(policy.current_params(), theta.astype(np.float32), rtol=1e-6)  # float32 module
    with torch.no_grad():  # the network itself now acts as the built-in policy
        np.testing.assert_allclose(torch.softmax(module(torch.eye(5)), -1).numpy(), target, rtol=1e-5)
    aliased = pg.ModulePolicy(torch.nn.Linear(1, 3), 3, observations=np.ones((5, 1)))
    with pytest.raises(ValueError, match="cannot express these probabilities"):
        aliased.params_for(target)
    with pytest.raises(ValueError, match="logits are linear in its parameters"):
        pg.ModulePolicy(mlp(5, 3), 3, observations=np.eye(5)).params_for(target)


def test_the_standard_problems_around_a_users_module():
    problems = pg.standard_problems(lambda observations, n: torch.nn.Linear(observations.shape[1], n))
    for mine, builtin in zip(problems, pg.standard_problems(), strict=True):
        assert isinstance(mine.policy, pg.ModulePolicy)
        np.testing.assert_allclose(
            mine.policy.probabilities(mine.theta), builtin.policy.probabilities(builtin.theta), rtol=1e-9
        )
    assert problems[0].policy.observations.shape == (4, 1)  # the corridor's states look alike
    report = pg.check_estimator(lambda b, p, t: pg.reward_to_go(b, p, t), n_episodes=2_000, seed=0, problems=problems)
    assert report.passed, str(report)  # an unbiased estimator on the module's θ (false alarm ≤ 1e-3)
    hidden = pg.standard_problems(lambda observations, n: mlp(observations.shape[1], n))
    np.testing.assert_array_equal(hidden[2].theta, hidden[2].policy.current_params())  # no exact match: its own θ


def test_finite_mdp_env_observation_table_and_dtype():
    mdp = pg.examples.short_corridor()
    env = pg.FiniteMDPEnv(mdp, dtype=np.float32)
    observation, _ = env.reset(seed=0)
    assert observation.dtype == np.float32 and env.observation_space.contains(observation)
    float32_net = torch.nn.Linear(4, 2)  # torch's default precision, as TorchRL's and SB3's networks are
    assert float32_net(torch.from_numpy(observation)).shape == (2,)
    aliased = pg.FiniteMDPEnv(mdp, observations=np.ones((4, 1)))
    seen = {tuple(aliased.reset(seed=s)[0]) for s in range(3)}
    for _ in range(20):
        observation, _, terminated, _, _ = aliased.step(0)
        seen.add(tuple(observation))
        if terminated:
            aliased.reset()
    assert seen == {(1.0,)}
    with pytest.raises(ValueError, match=r"observations must have one row per state, shape \(4, obs_dim\)"):
        pg.FiniteMDPEnv(mdp, observations=np.eye(3))
    with pytest.raises(TypeError, match="dtype must be a numpy floating dtype"):
        pg.FiniteMDPEnv(mdp, dtype=np.int64)
