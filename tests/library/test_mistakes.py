"""The mistake catalogue and check_estimator's diagnosis.

The catalogue's exact expected values are checked two independent ways: with no mistake against the policy
gradient theorem's linear algebra, and for every mistake against the Monte-Carlo mean of an implementation
of that mistake written the way tutorials write it (a torch pseudo-loss and ``backward()``), through
check_estimator's diagnosis. Every statistical verdict uses check_estimator's thresholds, so a correct match
is missed with probability at most false_alarm = 1e-3 per call (Bonferroni over all components); seeds are
fixed, so each outcome below is the same on every run.
"""

import numpy as np
import pytest
import torch

import pgbook as pg
from pgbook.estimator_check import _run
from pgbook.mistakes import CATALOGUE, bootstrapped, diagnose, expected_gradient, gae, mistake, rollout_models, rollouts

N_EPISODES = 20_000


# Estimators as tutorials write them: log-probabilities of the taken actions, a weight per step, a
# pseudo-loss, backward(); the gradient of J is minus the gradient of the loss.


def _log_pi_taken(batch, policy, theta):
    params = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
    log_pi = policy.torch_log_probabilities(params)[torch.as_tensor(batch.states), torch.as_tensor(batch.actions)]
    return params, log_pi, torch.as_tensor(batch.alive, dtype=torch.float64)


def _returns_to_go(batch):
    return torch.as_tensor(batch.returns_to_go())


def _discounts(batch):
    return torch.as_tensor(np.array(batch.discounts()))


def _gradient(params, loss):
    loss.backward()
    return -params.grad.numpy()


def correct(batch, policy, theta):
    params, log_pi, alive = _log_pi_taken(batch, policy, theta)
    loss = -(log_pi * _discounts(batch) * _returns_to_go(batch) * alive).sum() / batch.n_episodes
    return _gradient(params, loss)


def gamma_dropped(batch, policy, theta):
    params, log_pi, alive = _log_pi_taken(batch, policy, theta)
    loss = -(log_pi * _returns_to_go(batch) * alive).sum() / batch.n_episodes
    return _gradient(params, loss)


def discounted_twice(batch, policy, theta):
    params, log_pi, alive = _log_pi_taken(batch, policy, theta)
    returns_from_zero = _discounts(batch) * _returns_to_go(batch)  # Σ_{k≥t} γ^k r_k
    loss = -(log_pi * _discounts(batch) * returns_from_zero * alive).sum() / batch.n_episodes
    return _gradient(params, loss)


def first_step_only(batch, policy, theta):
    params, log_pi, alive = _log_pi_taken(batch, policy, theta)
    loss = -(log_pi[:, 0] * _returns_to_go(batch)[:, 0] * alive[:, 0]).sum() / batch.n_episodes
    return _gradient(params, loss)


def off_by_one(batch, policy, theta):
    params, log_pi, alive = _log_pi_taken(batch, policy, theta)
    next_returns = torch.nn.functional.pad(_returns_to_go(batch)[:, 1:], (0, 1))  # G_{t+1}, 0 after the end
    loss = -(log_pi * _discounts(batch) * next_returns * alive).sum() / batch.n_episodes
    return _gradient(params, loss)


def make_q_baseline(mdp):
    def q_baseline(batch, policy, theta):
        q = pg.action_values(mdp, policy, theta)[batch.states, batch.actions]
        params, log_pi, alive = _log_pi_taken(batch, policy, theta)
        advantages = _returns_to_go(batch) - torch.as_tensor(q)
        loss = -(log_pi * _discounts(batch) * advantages * alive).sum() / batch.n_episodes
        return _gradient(params, loss)

    return q_baseline


def normalised_advantages(batch, policy, theta):
    params, log_pi, alive = _log_pi_taken(batch, policy, theta)
    returns = _returns_to_go(batch)[alive.bool()]
    advantages = (_returns_to_go(batch) - returns.mean()) / returns.std()
    loss = -(log_pi * _discounts(batch) * advantages * alive).sum() / batch.n_episodes
    return _gradient(params, loss)


def mean_over_steps(batch, policy, theta):
    params, log_pi, alive = _log_pi_taken(batch, policy, theta)
    loss = -(log_pi * _discounts(batch) * _returns_to_go(batch))[alive.bool()].mean()
    return _gradient(params, loss)


def sign_flipped(batch, policy, theta):
    params, log_pi, alive = _log_pi_taken(batch, policy, theta)
    loss = (log_pi * _discounts(batch) * _returns_to_go(batch) * alive).sum() / batch.n_episodes
    return _gradient(params, loss)


def pytorch_example(batch, policy, theta):
    """The shape of PyTorch's REINFORCE example: returns-to-go normalised over the batch, no γ^t."""
    params, log_pi, alive = _log_pi_taken(batch, policy, theta)
    returns = _returns_to_go(batch)[alive.bool()]
    advantages = (_returns_to_go(batch) - returns.mean()) / (returns.std() + 1e-9)
    loss = -(log_pi * advantages * alive).sum() / batch.n_episodes
    return _gradient(params, loss)


def spinning_up_style(batch, policy, theta):
    """Reward-to-go without γ^t and the loss as a mean over every step of the batch."""
    params, log_pi, alive = _log_pi_taken(batch, policy, theta)
    loss = -(log_pi * _returns_to_go(batch))[alive.bool()].mean()
    return _gradient(params, loss)


PROBLEMS = pg.standard_problems()


def q_baseline(batch, policy, theta):
    """Subtracts the exact Q(s_t, a_t) of the problem's MDP (looked up by its policy)."""
    mdp = next(problem.mdp for problem in PROBLEMS if problem.policy is policy)
    return make_q_baseline(mdp)(batch, policy, theta)


def _check(estimator, seed):
    return pg.check_estimator(estimator, n_episodes=N_EPISODES, seed=seed, problems=PROBLEMS)


def test_no_mistake_is_the_policy_gradient():
    for problem in pg.standard_problems():
        expected = expected_gradient(problem.mdp, problem.policy, problem.theta, problem.max_steps)
        np.testing.assert_allclose(
            expected, pg.exact_gradient(problem.mdp, problem.policy, problem.theta), rtol=1e-9, atol=1e-12
        )


def test_truncated_expectation_matches_monte_carlo_of_a_short_cut_off():
    """With max_steps = 5 on a γ = 0.95 problem the truncation matters; the Monte-Carlo mean of the correct
    estimator on 5-step episodes agrees with the finite-horizon tables, not with the infinite-horizon ∇J."""
    mdp, policy = pg.examples.random_mdp(5, 2, gamma=0.95, seed=3), pg.TabularSoftmax(5, 2)
    theta = policy.init_params(seed=4)
    batch = pg.sample_episodes(mdp, policy, theta, 100_000, max_steps=5, seed=5)
    estimate = pg.reward_to_go(batch, policy, theta)
    truncated = expected_gradient(mdp, policy, theta, 5)
    threshold = pg.stats.two_sided_threshold(1e-3, truncated.size)
    assert np.abs(pg.stats.z_scores(estimate, truncated)).max() < threshold
    assert np.abs(pg.stats.z_scores(estimate, pg.exact_gradient(mdp, policy, theta))).max() > threshold


# Mistakes that divide by batch statistics (normalisations, a mean over all steps) are catalogued by their
# large-batch limit; on a mean-only estimator, run on 32 sub-batches, their finite-batch bias is O(32/n),
# so their tests use 80,000 episodes (sub-batches of 2,500). The two normalisations differ by less than 0.3%
# on these problems: either may come first, the test only asks that the right one matches.
BATCH_STATISTICS = 80_000


@pytest.mark.slow  # long statistical checks: 20,000–80,000 episodes on each of four problems
@pytest.mark.parametrize(
    "estimator, name, seed, n_episodes, first",
    [
        (gamma_dropped, "discount weights γᵗ dropped", 10, N_EPISODES, True),
        (discounted_twice, "discounting applied twice", 11, N_EPISODES, True),
        (first_step_only, "score taken for the first step only", 12, N_EPISODES, True),
        (off_by_one, "reward-to-go off by one step", 13, N_EPISODES, True),
        (q_baseline, "action-dependent baseline Q(s, a)", 14, N_EPISODES, True),
        (normalised_advantages, "advantages normalised per batch", 15, BATCH_STATISTICS, False),
        (mean_over_steps, "loss averaged over all steps, not over episodes", 16, BATCH_STATISTICS, True),
        (sign_flipped, "sign flipped", 17, N_EPISODES, True),
        (
            lambda b, p, t: pg.reinforce(b, p, t, baseline="normalized"),
            "episode returns normalised per batch",
            18,
            BATCH_STATISTICS,
            False,
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_each_mistake_is_named(estimator, name, seed, n_episodes, first):
    report = pg.check_estimator(estimator, n_episodes=n_episodes, seed=seed, problems=PROBLEMS)
    assert not report.passed
    assert report.diagnosis is not None and report.diagnosis.found, str(report)
    matched = [match.mistakes for match in report.diagnosis.matches]
    assert (mistake(name),) in (matched[:1] if first else matched), str(report.diagnosis)
    best, text = report.diagnosis.matches[0], str(report.diagnosis)
    if report.diagnosis.ambiguous:  # the two normalisations differ by 0.3% here: listed, not one named
        assert not first and text.startswith("cannot tell apart") and name in text
    else:
        assert f"looks like: {best.name} — matches within {best.max_abs_z:.1f} SE on every problem" in text


@pytest.mark.slow  # long statistical checks: 20,000–80,000 episodes on each of four problems
@pytest.mark.parametrize(
    "estimator, names, seed",
    [
        (pytorch_example, {"discount weights γᵗ dropped", "advantages normalised per batch"}, 20),
        (spinning_up_style, {"discount weights γᵗ dropped", "loss averaged over all steps, not over episodes"}, 21),
    ],
    ids=["pytorch-example", "mean-over-steps-no-discount"],
)
def test_tutorial_code_with_two_mistakes_is_named(estimator, names, seed):
    report = pg.check_estimator(estimator, n_episodes=BATCH_STATISTICS, seed=seed, problems=PROBLEMS)
    assert report.diagnosis is not None and report.diagnosis.found, str(report)
    assert {m.name for m in report.diagnosis.matches[0].mistakes} == names, str(report.diagnosis)


@pytest.mark.slow  # long statistical checks: 20,000–80,000 episodes on each of four problems
@pytest.mark.parametrize(
    "estimator, seed",
    [
        (correct, 30),
        (lambda b, p, t: pg.reward_to_go(b, p, t, baseline="learned"), 31),
        (lambda b, p, t: pg.reinforce(b, p, t, baseline="optimal"), 32),
    ],
    ids=["tutorial-correct", "reward-to-go-learned", "reinforce-optimal"],
)
def test_correct_code_gets_no_diagnosis(estimator, seed):
    """The check passes (a false alarm has probability ≤ 1e-3), so nothing is diagnosed; and even forced
    to diagnose, the correct estimator's means match "no mistake" alone: every catalogued mistake differs
    from ∇J by many standard errors on some problem."""
    report = _check(estimator, seed)
    assert report.passed and report.diagnosis is None and "looks like" not in str(report)
    problems = PROBLEMS
    estimates, thresholds = [], []
    rng = np.random.default_rng(seed)
    for problem, result in zip(problems, report.results, strict=True):
        batch = pg.sample_episodes(
            problem.mdp, problem.policy, problem.theta, N_EPISODES, max_steps=problem.max_steps, seed=rng
        )
        estimates.append(_run(estimator, batch, problem))  # what check_estimator does
        thresholds.append(result.threshold)
    diagnosis = diagnose(estimates, problems, thresholds)
    assert [match.mistakes for match in diagnosis.matches] == [()], str(diagnosis)
    assert str(diagnosis).startswith("looks like: no mistake (the policy gradient itself)")


@pytest.mark.slow  # long statistical checks: 20,000 episodes on each of four problems
def test_a_factor_outside_the_catalogue_is_the_direction_of_the_gradient_times_a_fitted_factor():
    report = _check(lambda b, p, t: 2 * pg.reward_to_go(b, p, t).per_episode, 40)  # a dropped factor of 2
    assert report.verdict == "scaled" and [m.mistakes for m in report.diagnosis.matches] == [()]
    (match,) = report.diagnosis.matches
    assert match.scales is not None and all(1.8 < c < 2.2 for c in match.scales)
    assert "looks like: the direction of ∇J, times a factor that no catalogued scale mistake explains" in str(report)


@pytest.mark.slow  # long statistical checks: 20,000 episodes on each of four problems
def test_an_offset_matches_nothing():
    report = _check(lambda b, p, t: pg.reward_to_go(b, p, t).per_episode + 0.05, 41)  # a constant offset
    assert report.verdict == "biased" and not report.diagnosis.found
    assert f"looks like none of the {report.diagnosis.n_mistakes} catalogued mistakes nor the" in str(report)
    assert "Outside what can be named: gradient-norm clipping" in str(report)


def test_catalogue_arguments():
    problem = pg.standard_problems()[2]
    with pytest.raises(ValueError, match="no mistake named 'typo'"):
        mistake("typo")
    with pytest.raises(ValueError, match="must change different parts of the recipe"):
        expected_gradient(
            problem.mdp, problem.policy, problem.theta, 10, [mistake("sign flipped"), mistake("sign flipped")]
        )
    with pytest.raises(ValueError, match="max_steps"):
        expected_gradient(problem.mdp, problem.policy, problem.theta, 0)
    assert len(CATALOGUE) == len({m.name for m in CATALOGUE})
    with pytest.raises(ValueError, match="no exact expected value"):
        expected_gradient(problem.mdp, problem.policy, problem.theta, 10, [mistake("gradient-norm clipping")])
    with pytest.raises(ValueError, match="needs the problem's critic"):
        expected_gradient(problem.mdp, problem.policy, problem.theta, 10, [gae(0.5)])
    with pytest.raises(ValueError, match="give batch_episodes"):
        expected_gradient(
            problem.mdp, problem.policy, problem.theta, 10, [mistake("loss summed over the batch (1/N missing)")]
        )
    with pytest.raises(ValueError, match="combine it only with a normalisation or the sign"):
        expected_gradient(
            problem.mdp,
            problem.policy,
            problem.theta,
            10,
            [rollouts(5), mistake("sign flipped"), mistake("discount weights γᵗ dropped")],
            critic=np.zeros(6),
        )
    with pytest.raises(ValueError, match="start must be 'reset' or 'stationary'"):
        rollouts(5, start="middle")


def test_mistakes_are_data_not_names():
    """Each mistake's effect is on the mistake: a renamed copy has the same expected value."""
    from dataclasses import replace

    problem = pg.standard_problems()[3]
    for original in (m for m in CATALOGUE if m.nameable):
        copy = replace(original, name=original.name.upper())
        expected = [
            expected_gradient(problem.mdp, problem.policy, problem.theta, problem.max_steps, [m], batch_episodes=50)
            for m in (original, copy)
        ]
        np.testing.assert_array_equal(*expected)
        assert not np.allclose(expected[0], problem.gradient)  # every mistake changes something here


def test_expected_gradient_builds_no_table_of_scores(monkeypatch):
    """The expectation is contracted with weighted_probability_gradient, never with the (S, A, *θ) score table."""
    problem = pg.standard_problems()[3]
    monkeypatch.setattr(type(problem.policy), "score", lambda *args: pytest.fail("score table built"))
    expected_gradient(problem.mdp, problem.policy, problem.theta, problem.max_steps, [mistake("sign flipped")])


# Critics: exact values checked against pgbook.expectations' closed form, and against Monte-Carlo rollouts
# simulated forwards, the way CleanRL's loop computes GAE.


def test_gae_with_a_critic_matches_the_closed_form_of_pgbook_expectations():
    mdp, policy = pg.examples.random_mdp(5, 2, gamma=0.9, seed=0, n_terminal=1), pg.TabularSoftmax(5, 2)
    theta, critic = policy.init_params(seed=0), np.random.default_rng(0).normal(size=5)
    for lam in (0.0, 0.5, 0.95):
        np.testing.assert_allclose(
            expected_gradient(mdp, policy, theta, 400, [gae(lam)], critic=critic),
            pg.expectations.expected_gae_gradient(mdp, policy, theta, critic, lam),
            rtol=1e-9,
            atol=1e-12,
        )
    true_values = pg.state_values(mdp, policy, theta)  # the exact critic: unbiased bootstrapping
    np.testing.assert_allclose(
        expected_gradient(mdp, policy, theta, 400, [bootstrapped(3)], critic=true_values),
        pg.exact_gradient(mdp, policy, theta),
        rtol=1e-9,
        atol=1e-12,
    )


def critic_problems():
    """Two problems with a wrong critic (the true V plus noise), so that GAE(λ < 1) and bootstrapping are biased."""
    problems = []
    for seed, terminal in ((21, 1), (22, 0)):
        mdp, policy = pg.examples.random_mdp(5, 2, gamma=0.9, seed=seed, n_terminal=terminal), pg.TabularSoftmax(5, 2)
        theta = policy.init_params(seed=seed)
        critic = pg.state_values(mdp, policy, theta) + np.random.default_rng(seed).normal(scale=2.0, size=5)
        problems.append(pg.Problem(f"critic {seed}", mdp, policy, theta, 150, critic=critic))
    return problems


def n_step_returns(batch, critic, n):
    """Σ_(l<m) γ^l r_(t+l) + γ^m V̂(s_(t+m)), m = min(n, steps left): 0 after a terminal state, V̂ of the state where
    a truncated episode was cut off (what pgbook.gae_estimator bootstraps with)."""
    N, H = batch.rewards.shape
    lengths = batch.lengths
    ext_values = np.zeros((N, H + n + 1))
    ext_values[:, :H] = np.where(batch.alive, critic[batch.states], 0.0)
    ext_values[np.arange(N), lengths] = np.where(batch.terminated, 0.0, critic[batch.final_states])
    rewards = np.zeros((N, H + n))
    rewards[:, :H] = batch.rewards
    returns = np.zeros((N, H))
    for t in range(H):
        m = np.minimum(n, lengths - t)
        live = m > 0
        for lag in range(n):
            returns[:, t] += np.where(lag < m, batch.gamma**lag * rewards[:, t + lag], 0.0)
        returns[live, t] += batch.gamma ** m[live] * ext_values[live, t + m[live]]
    return returns


@pytest.mark.parametrize(
    "name, catalogue",
    [
        ("GAE(λ=0.5) with the critic", (gae(0.5),)),
        ("returns bootstrapped with the critic after 3 steps", (bootstrapped(3),)),
    ],
    ids=["gae", "bootstrap"],
)
def test_critic_entries_are_named(name, catalogue):
    """GAE(λ = 0.5) and 3-step returns with a wrong critic: biased in direction, and named (false-failure
    probability ≤ 1e-3 for each: the thresholds of check_estimator)."""

    def estimator(batch, policy, theta, problem):
        if name.startswith("GAE"):
            return pg.gae_estimator(batch, policy, theta, values=problem.critic, lam=0.5)
        returns = n_step_returns(batch, problem.critic, 3)
        return pg.score_sums(batch, policy, theta, batch.discounts() * returns * batch.alive)

    report = pg.check_estimator(
        estimator, n_episodes=10_000, seed=50, problems=critic_problems(), catalogue=CATALOGUE + catalogue
    )
    assert report.verdict == "biased", str(report)
    assert report.diagnosis.matches and report.diagnosis.matches[0].name == name, str(report.diagnosis)


def simulate_rollouts(problem, n_steps, lam, n_rollouts, seed, next_step=False):
    """Fixed-length rollouts from a reset with auto-reset, GAE(λ) with the critic written as CleanRL's loop
    writes it (backwards, cut at episode ends, bootstrapped at the rollout's end), the loss averaged over
    the rollout's steps: one gradient sample per rollout."""
    mdp, rng, critic = problem.mdp, np.random.default_rng(seed), problem.critic
    pi = problem.policy.probabilities(problem.theta)
    score = problem.policy.score(problem.theta)

    def draw(p):
        return (rng.random(p.shape[0])[:, None] > np.cumsum(p, axis=1)[:, :-1]).sum(axis=1)

    state = draw(np.tile(mdp.initial, (n_rollouts, 1)))
    states, actions = np.zeros((n_steps, n_rollouts), int), np.zeros((n_steps, n_rollouts), int)
    deltas, continues = np.zeros((n_steps, n_rollouts)), np.zeros((n_steps, n_rollouts), bool)
    for t in range(n_steps):
        action = draw(pi[state])
        at_terminal = mdp.terminal[state]  # only with NEXT_STEP: the extra step, reward 0, then a reset
        following = draw(mdp.P[state, action])
        reset = draw(np.tile(mdp.initial, (n_rollouts, 1)))
        following = np.where(at_terminal, reset, following)
        reward = np.where(at_terminal, 0.0, mdp.R[state, action])
        ends = ~at_terminal & mdp.terminal[following]
        deltas[t] = reward + mdp.gamma * np.where(ends, 0.0, critic[following]) - critic[state]
        continues[t] = ~ends
        states[t], actions[t] = state, action
        state = following if next_step else np.where(ends, reset, following)
    advantages, later = np.zeros_like(deltas), np.zeros(n_rollouts)
    for t in reversed(range(n_steps)):
        later = deltas[t] + mdp.gamma * lam * continues[t] * later
        advantages[t] = later
    samples = np.zeros((n_rollouts, *problem.theta.shape))
    for t in range(n_steps):
        samples += advantages[t][:, None, None] * score[states[t], actions[t]] / n_steps
    return samples


@pytest.mark.parametrize("next_step", [False, True], ids=["same-step", "next-step"])
def test_the_rollout_model_is_the_mean_of_simulated_rollouts(next_step):
    """20,000 simulated rollouts of 6 steps from a reset: their mean agrees with the closed-form rollout model
    within check_samples' thresholds (false-failure probability ≤ 1e-3), and the diagnosis names the model (the
    stationary start may be listed beside it: 20,000 rollouts barely separate the two starts here; the other
    autoreset mode is 10 SE off)."""
    problem = critic_problems()[0]
    samples = simulate_rollouts(problem, 6, 0.8, 20_000, seed=60 + next_step, next_step=next_step)
    mode = "next-step" if next_step else "same-step"
    model = rollouts(6, 0.8, start="reset", autoreset=mode)
    expected = expected_gradient(
        problem.mdp, problem.policy, problem.theta, problem.max_steps, [model], critic=problem.critic
    )
    estimate = pg.GradientEstimate(samples)
    threshold = pg.stats.two_sided_threshold(1e-3, expected.size, samples.shape[0] - 1)
    assert np.abs(pg.stats.z_scores(estimate, expected)).max() < threshold
    report = pg.check_samples(samples, problem, catalogue=CATALOGUE + rollout_models(6, 0.8))
    assert report.verdict == "biased"
    named = [match.mistakes for match in report.diagnosis.matches]
    assert (model,) in named, str(report.diagnosis)
    other_mode = "same-step" if next_step else "next-step"
    assert all(
        rollouts(6, 0.8, start=start, autoreset=other_mode) not in m for m in named for start in ("reset", "stationary")
    )


def test_at_gamma_one_with_the_exact_critic_the_stationary_rollout_update_is_the_gradient_over_the_length():
    """The renewal argument: the auto-reset chain's stationary distribution is the visitation over E[T]; with
    NEXT_STEP's extra step each episode is one step longer."""
    mdp, policy = pg.examples.random_mdp(5, 2, gamma=1.0, seed=7, n_terminal=1), pg.TabularSoftmax(5, 2)
    theta = policy.init_params(seed=7)
    values = pg.state_values(mdp, policy, theta)
    exact = pg.exact_gradient(mdp, policy, theta)
    length = pg.mistakes.Setting.of(pg.Problem("p", mdp, policy, theta, 2_000)).tables.occupancy.sum()
    for lam in (0.0, 0.95):
        same = expected_gradient(mdp, policy, theta, 1, [rollouts(16, lam)], critic=values)
        np.testing.assert_allclose(same, exact / length, rtol=1e-8, atol=1e-12)
        following = expected_gradient(mdp, policy, theta, 1, [rollouts(16, lam, autoreset="next-step")], critic=values)
        np.testing.assert_allclose(following, exact / (length + 1), rtol=1e-8, atol=1e-12)


def triple(batch, policy, theta):
    """SB3's PPO, TorchRL's and CleanRL's default in episode form: advantages normalised over the batch's steps,
    no γᵗ, the loss averaged over every step."""
    returns = batch.returns_to_go()
    advantages = (returns - returns[batch.alive].mean()) / returns[batch.alive].std()
    weights = advantages * batch.alive * batch.n_episodes / batch.alive.sum()
    return pg.score_sums(batch, policy, theta, weights).mean


@pytest.mark.slow  # a long statistical check: 20,000 episodes on each of four problems
def test_the_normalised_triple_is_named():
    report = pg.check_estimator(triple, n_episodes=20_000, seed=5, problems=PROBLEMS)
    names = {
        "discount weights γᵗ dropped",
        "advantages normalised per batch",
        "loss averaged over all steps, not over episodes",
    }
    assert report.diagnosis.found, str(report.diagnosis)
    assert names in [{m.name for m in match.mistakes} for match in report.diagnosis.matches], str(report.diagnosis)
    assert {m.name for m in report.diagnosis.matches[0].mistakes} == names, str(report.diagnosis)


def test_the_aliased_corridor_cannot_tell_directions_apart():
    """The short corridor's policy has one effective direction: every candidate that points along ∇J fits a
    factor, so the diagnosis lists them instead of naming one."""
    corridor = PROBLEMS[:1]
    report = pg.check_estimator(
        lambda b, p, t: 2 * pg.reward_to_go(b, p, t).per_episode, n_episodes=5_000, seed=70, problems=corridor
    )
    assert report.verdict == "scaled" and report.diagnosis.ambiguous
    assert str(report.diagnosis).startswith("cannot tell apart: they all point the same way here (one effective")
    assert report.diagnosis.one_direction
    listed = [match.mistakes for match in report.diagnosis.matches]
    assert () in listed and (mistake("score taken for the first step only"),) in listed


def test_a_missing_mean_over_episodes_is_named_with_the_batch_size():
    """The sum over the batch where the mean belongs, returned as one gradient: run on 32 sub-batches of 156
    episodes, it is ∇J times 156 (false-failure probability ≤ 1e-3)."""
    report = pg.check_estimator(
        lambda b, p, t: pg.reward_to_go(b, p, t).per_episode.sum(axis=0), n_episodes=5_000, seed=80, problems=PROBLEMS
    )
    # the fitted factors (noisy: about 7% standard error on the corridor at 5,000 episodes) and the named one
    assert report.verdict == "scaled" and all(r.scale == pytest.approx(156, rel=0.3) for r in report.results)
    names = [[m.name for m in match.mistakes] for match in report.diagnosis.matches]
    assert names[0] == ["loss summed over the batch (1/N missing)"], str(report.diagnosis)
