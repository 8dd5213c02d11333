"""pgbook.sequences against oracles that share none of its code: every response listed with itertools
(tests/sequence_oracle.py), its probability a product of softmaxes computed in torch, gradients by torch autograd,
and group updates by brute force over every group of G responses (G = 2, 3). The statistical tests use fixed seeds;
each states its false-failure probability.
"""

import numpy as np
import pytest
import torch
from sequence_oracle import brute_force, listed, scores_and_probabilities, setting, torch_log_probs

import pgbook as pg
from pgbook import sequences as sq


def test_the_listed_responses_are_the_tasks():
    task = sq.counting_task()
    responses = listed(task)
    assert sorted((x, text, r) for x, _, _, text, r in responses) == sorted(
        zip(task.prompt.tolist(), task.texts, task.reward.tolist(), strict=True)
    )
    # per prompt: 15 that end with the end token (prefixes of 0-3 tokens) and 16 cut at the horizon
    assert len(responses) == task.n_responses == 3 * (15 + 16)


@pytest.mark.parametrize("seed", [0, 4])
def test_objective_and_gradient_by_enumeration(seed):
    task, policy, theta = setting(seed)
    responses = listed(task)
    t = torch.tensor(theta, requires_grad=True)
    mu = torch.tensor([1 / 3] * 3, dtype=torch.float64)
    prompts = torch.tensor([x for x, *_ in responses])
    rewards = torch.tensor([r for *_, r in responses], dtype=torch.float64)
    J = (mu[prompts] * torch.exp(torch_log_probs(task, t, responses)) * rewards).sum()
    (grad,) = torch.autograd.grad(J, t)
    assert pg.exact_objective(task.mdp, policy, theta) == pytest.approx(J.item(), abs=1e-13)
    assert np.allclose(pg.exact_gradient(task.mdp, policy, theta), grad.numpy(), atol=1e-13)
    assert np.allclose(sq.enumerated_gradient(task, policy, theta), grad.numpy(), atol=1e-13)
    weighted = (torch.exp(torch_log_probs(task, t, responses)) * rewards).detach()
    success = [float(weighted[prompts == x].sum()) for x in range(3)]
    assert np.allclose(sq.prompt_success(task, policy, theta), success, atol=1e-13)


def grpo_advantage(r):
    spread = r.std(ddof=1)
    return (r - r.mean()) / spread if spread > 0 else np.zeros_like(r)


ADVANTAGES = {
    "none": (dict(baseline=None), lambda r: r),
    "leave-one-out": (dict(baseline="mean"), lambda r: r - (r.sum() - r) / (len(r) - 1)),
    "group mean": (dict(baseline="group mean"), lambda r: r - r.mean()),
    "GRPO std": (dict(baseline="group mean", std=True), grpo_advantage),
}


@pytest.mark.parametrize("length", [False, True])
@pytest.mark.parametrize("name", list(ADVANTAGES))
@pytest.mark.parametrize("G", [2, pytest.param(3, marks=pytest.mark.slow)])  # G = 3: 89 373 groups, ~5 s each
def test_expected_group_update_against_every_group(G, name, length):
    task, policy, theta = setting()
    options, advantage = ADVANTAGES[name]
    expected, _ = brute_force(task, policy, theta, G, advantage, length)
    found = sq.expected_group_update(task, policy, theta, G, length=length, **options)
    assert np.allclose(found, expected, atol=1e-12, rtol=1e-9)


@pytest.mark.parametrize("G", [2, pytest.param(3, marks=pytest.mark.slow)])
def test_group_variance_against_every_group(G):
    task, policy, theta = setting()
    for baseline, advantage in ((None, lambda r: r), ("mean", ADVANTAGES["leave-one-out"][1])):
        _, variance = brute_force(task, policy, theta, G, advantage, False)
        assert sq.group_variance(task, policy, theta, G, baseline=baseline) == pytest.approx(variance, rel=1e-9)


def test_group_variance_with_a_critic_against_sampled_updates():
    """A per-state critic: the exact variance against the sample variance of 40 000 single-response updates
    computed here from the listed responses. The sample variance of a sum of squares has a relative standard
    error below 2% here; the tolerance is 10% (a false failure needs a 5-sigma deviation, < 1e-6)."""
    task, policy, theta = setting()
    values = pg.state_values(task.mdp, policy, theta)
    responses = listed(task)
    t = torch.tensor(theta, requires_grad=True)
    log_pi = torch.log_softmax(t, dim=1)
    vectors = []
    for _, path, acts, _, r in responses:
        loss = sum((r - values[s]) * log_pi[s, a] for s, a in zip(path, acts, strict=True))
        vectors.append(torch.autograd.grad(loss, t, retain_graph=True)[0].numpy().ravel())
    p = np.exp(torch_log_probs(task, t, responses).detach().numpy()) / 3
    rng = np.random.default_rng(7)
    draws = rng.choice(len(responses), size=40_000, p=p / p.sum())
    samples = np.stack(vectors)[draws]
    sampled = samples.var(axis=0, ddof=1).sum()
    assert sq.group_variance(task, policy, theta, 1, baseline=values) == pytest.approx(sampled, rel=0.10)


def test_dr_grpo_is_the_gradient_times_one_minus_one_over_g():
    task, policy, theta = setting()
    exact = pg.exact_gradient(task.mdp, policy, theta)
    for G in (2, 5, 16):
        update = sq.expected_group_update(task, policy, theta, G, baseline="group mean")
        assert np.allclose(update, (1 - 1 / G) * exact, atol=1e-14)


@pytest.mark.slow  # a long statistical check: 100 000 sampled groups per estimator
def test_rloo_and_grpo_samples_against_their_expectations():
    """100 000 sampled groups of 4, per estimator: every component within 4.5 standard errors of the exact
    expectation (RLOO's is ∇J itself). P(|z| > 4.5) = 6.8e-6 per component for a normal mean; 2 × 138 components
    make a false failure below 0.2% (the seed is fixed). With 20 000 groups the components that only rare
    prefixes touch have a handful of nonzero samples and heavy-tailed z-scores; at 100 000 the rarest has 21."""
    task, policy, theta = setting()
    groups = sq.sample_groups(task, policy, theta, 4, 100_000, seed=11)
    rloo = sq.group_update(task, policy, theta, groups, baseline="mean")
    assert np.abs(pg.stats.z_scores(rloo, pg.exact_gradient(task.mdp, policy, theta))).max() < 4.5
    grpo = dict(baseline="group mean", std=True, length=True)
    sampled = sq.group_update(task, policy, theta, groups, **grpo)
    expected = sq.expected_group_update(task, policy, theta, 4, **grpo)
    assert np.abs(pg.stats.z_scores(sampled, expected)).max() < 4.5


def test_sampled_responses_follow_the_policy():
    """Token-by-token sampling against the listed probabilities: a chi-square test per prompt at 1e-4."""
    from scipy.stats import chisquare

    task, policy, theta = setting()
    groups = sq.sample_groups(task, policy, theta, 8, 6_000, seed=3)
    p = np.exp(torch_log_probs(task, torch.tensor(theta), listed(task)).numpy())
    index = {(x, text): i for i, (x, _, _, text, _) in enumerate(listed(task))}
    counts = np.zeros(len(p))
    for prompt, row in zip(groups.prompts, groups.responses, strict=True):
        for i in row:
            counts[index[(task.prompt[i], task.texts[i])]] += 1
            assert task.prompt[i] == prompt
    for x in range(3):
        mine = np.array([y == x for y, *_ in listed(task)])
        expected = p[mine] * counts[mine].sum()
        keep = expected > 5
        observed, expected = counts[mine][keep], expected[keep]
        if not keep.all():  # the rare responses, lumped into one cell
            observed = np.append(observed, counts[mine][~keep].sum())
            expected = np.append(expected, p[mine][~keep].sum() * counts[mine].sum())
        assert chisquare(observed, expected).pvalue > 1e-4


def test_kl_and_its_estimators_against_autograd():
    task, policy, theta = setting(4)
    reference = policy.init_params(seed=9)
    responses = listed(task)
    t = torch.tensor(theta, requires_grad=True)
    ref = torch.log_softmax(torch.tensor(reference), dim=1)
    log_p = torch_log_probs(task, t, responses)
    log_ref = torch_log_probs(task, torch.tensor(reference), responses)
    kl = (torch.exp(log_p) * (log_p - log_ref)).sum() / 3
    (grad,) = torch.autograd.grad(kl, t, retain_graph=True)
    assert sq.kl_divergence(task, policy, theta, reference) == pytest.approx(kl.item(), abs=1e-13)
    assert np.allclose(sq.kl_gradient(task, policy, theta, reference), grad.numpy(), atol=1e-13)
    weights = torch.exp(log_p).detach() / 3
    log_pi = torch.log_softmax(t, dim=1)
    estimators = {
        "k1": lambda lr: -lr,
        "k2": lambda lr: 0.5 * lr**2,
        "k3": lambda lr: torch.exp(lr) - 1 - lr,
    }
    for name, k in estimators.items():
        loss = sum(
            weights[i] * sum(k(ref[s, a] - log_pi[s, a]) for s, a in zip(path, acts, strict=True))
            for i, (_, path, acts, _, _) in enumerate(responses)
        )
        (expected,) = torch.autograd.grad(loss, t, retain_graph=True)
        found = sq.expected_kl_estimator_gradient(task, policy, theta, reference, name)
        assert np.allclose(found, expected.numpy(), atol=1e-13), name
    # the estimators' values are unbiased for the per-token KL only in k1 and k3; their gradients are biased:
    assert not np.allclose(sq.expected_kl_estimator_gradient(task, policy, theta, reference, "k3"), grad.numpy())


def test_grpo_weight_closed_forms():
    """ς_n against closed forms written here: 1/√2 for every p at n = 2 and 2/√3 at n = 3 (ddof = 1), and its
    largest value over a grid of p is (1 − 1/n)√n, its limit at p → 0 and p → 1 (one success, or one failure)."""
    grid = np.linspace(0.0, 1.0, 101)
    assert np.allclose([sq.grpo_weight(2, p) for p in grid], 1 / np.sqrt(2), atol=1e-14)
    assert np.allclose([sq.grpo_weight(3, p) for p in grid], 2 / np.sqrt(3), atol=1e-14)
    for n in (4, 8, 16, 64):
        curve = np.array([sq.grpo_weight(n, p) for p in grid])
        edge = (1 - 1 / n) * np.sqrt(n)
        assert curve[0] == pytest.approx(edge, rel=1e-12) and curve[-1] == pytest.approx(edge, rel=1e-12)
        assert curve.max() <= edge * (1 + 1e-12) and curve[1:-1].max() < edge
        assert sq.grpo_weight(n, 0.5) < 1 / np.sqrt(0.25)  # below the large-group limit at 1/2


def test_rloo_pays_exactly_for_its_estimate_of_the_prompt_value():
    """tr Cov(RLOO) − tr Cov(b = J_q) = μ0-average of (‖∇J_q‖² + Var(r|q) E‖∇log π(o|q)‖²) / (n(n − 1)), the
    chapter's identity, with every term computed here from the listed responses and torch autograd."""
    task, policy, theta = setting()
    responses = listed(task)
    v, p = scores_and_probabilities(task, theta, responses)
    v = v.reshape(len(responses), -1)
    prompt = np.array([x for x, *_ in responses])
    reward = np.array([r for *_, r in responses])
    J = np.array([p[prompt == q] @ reward[prompt == q] for q in range(3)])
    spread = np.array([p[prompt == q] @ (reward[prompt == q] - J[q]) ** 2 for q in range(3)])
    size = np.array([p[prompt == q] @ (v[prompt == q] ** 2).sum(axis=1) for q in range(3)])
    slope = np.array([(p[prompt == q] * reward[prompt == q]) @ v[prompt == q] for q in range(3)])
    prompt_of = np.array([q for q, _ in task.prefixes] + [0])
    for n in (2, 3, 7):
        gap = sq.group_variance(task, policy, theta, n, baseline="mean") - sq.group_variance(
            task, policy, theta, n, baseline=J[prompt_of]
        )
        assert gap == pytest.approx(np.mean(((slope**2).sum(axis=1) + spread * size) / (n * (n - 1))), rel=1e-9)


def test_kl_estimator_gradients_are_per_prefix_divergences():
    """The chapter's reading of the per-token estimators, against torch autograd on the listed responses: with the
    probabilities d(s) of reaching each prefix held fixed, k2's expected gradient is that of Σ_s d(s) KL(π_θ‖π_ref)
    at s, and k3's that of Σ_s d(s) KL(π_ref‖π_θ) at s; k2 of the whole response's log-ratio is unbiased."""
    task, policy, theta = setting(4)
    reference = policy.init_params(seed=9)
    responses = listed(task)
    t = torch.tensor(theta, requires_grad=True)
    log_pi, ref = torch.log_softmax(t, dim=1), torch.log_softmax(torch.tensor(reference), dim=1)
    log_p = torch_log_probs(task, t, responses)
    p = torch.exp(log_p).detach() / 3
    reach = torch.zeros(theta.shape[0], dtype=torch.float64)  # d(s): the probability of writing the prefix s
    for i, (_, path, _, _, _) in enumerate(responses):
        for s in path:
            reach[s] += p[i]
    pi, pi_ref = torch.exp(log_pi), torch.exp(ref)
    forward = (reach[:, None] * pi * (log_pi - ref)).sum()
    backward = (reach[:, None] * pi_ref * (ref - log_pi)).sum()
    for name, divergence in (("k2", forward), ("k3", backward)):
        (expected,) = torch.autograd.grad(divergence, t, retain_graph=True)
        found = sq.expected_kl_estimator_gradient(task, policy, theta, reference, name)
        assert np.allclose(found, expected.numpy(), atol=1e-13), name
    log_ref = torch_log_probs(task, torch.tensor(reference), responses)
    (whole,) = torch.autograd.grad((p * 0.5 * (log_p - log_ref) ** 2).sum(), t)
    assert np.allclose(whole.numpy(), sq.kl_gradient(task, policy, theta, reference), atol=1e-13)


def test_bad_input_is_named():
    task, policy, theta = setting()
    with pytest.raises(ValueError, match="baseline must be"):
        sq.expected_group_update(task, policy, theta, 4, baseline="median")
    with pytest.raises(ValueError, match="group_size of at least 2"):
        sq.expected_group_update(task, policy, theta, 1, baseline="mean")
    with pytest.raises(TypeError, match="task must be"):
        sq.prompt_success(task.mdp, policy, theta)
    with pytest.raises(ValueError, match="kl_estimator must be"):
        sq.expected_kl_estimator_gradient(task, policy, theta, theta, "k4")
    with pytest.raises(ValueError, match="prompts must be distinct"):
        sq.token_task(["a", "a"], lambda p, t: 0.0)
    with pytest.raises(ValueError, match="vocabulary must be"):
        sq.token_task(["a"], lambda p, t: 0.0, vocabulary="a.")
    with pytest.raises(ValueError, match="only for rewards that are 0 or 1"):
        other = sq.token_task(["a"], lambda p, t: 0.5 * len(t), horizon=2)
        pol = pg.TabularSoftmax(other.mdp.n_states, other.mdp.n_actions)
        sq.expected_group_update(other, pol, np.zeros(pol.param_shape), 3, baseline="group mean", std=True)
