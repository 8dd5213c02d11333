"""The chapter "Fine-tuning language models": every number it prints, read from the built page and held against an
oracle computed here from the listed responses (tests/test_sequences.py's itertools listing, torch softmaxes and
autograd, brute force over groups), sharing no code with pgbook.sequences; the prose's claims about those numbers;
and its exercises' checks.

Every pattern must match: a page whose wording changed fails here rather than passing with nothing checked.
"""

import re

import numpy as np
import pytest
import torch
import yaml
from scipy.stats import binom, t
from sequence_oracle import brute_force, group_limit, listed, scores_and_probabilities, torch_log_probs

import pgbook as pg
from pgbook import sequences as sq

from pages import NUMBER, ROOT, article, check_numbered, numbers, one, outputs, plain, table

PAGE = "language-models"


def reads_the_page(test):
    """The page tests need the built book: slow, and in the "book" group (tests/conftest.py)."""
    return pytest.mark.slow(pytest.mark.xdist_group("book")(test))


def oracle(seed=4):
    """The chapter's task at θ from the listed responses: prompts, rewards, lengths, probabilities, scores
    (flattened), and ∇J per prompt (weighted by μ0 = 1/3)."""
    task = sq.counting_task()
    theta = pg.TabularSoftmax(task.mdp.n_states, task.mdp.n_actions).init_params(seed=seed)
    responses = listed(task)
    scores, p = scores_and_probabilities(task, theta, responses)
    scores = scores.reshape(len(responses), -1)
    prompt = np.array([x for x, *_ in responses])
    reward = np.array([r for *_, r in responses])
    length = np.array([len(a) for _, _, a, _, _ in responses])
    return task, theta, responses, prompt, reward, length, p, scores


def angle(a, b):
    a, b = np.ravel(a), np.ravel(b)
    return float(np.degrees(np.arccos(np.clip(a @ b / np.linalg.norm(a) / np.linalg.norm(b), -1, 1))))


def advantage(r, k, n):
    """GRPO's advantage of a reward r in a group of n with k successes (ddof = 1; 0 if all equal)."""
    spread = np.sqrt(k * (n - k) / (n * (n - 1)))
    return np.where((k > 0) & (k < n), (r - k / n) / np.where(spread > 0, spread, 1), 0.0)


def grpo_expectation(prompt, reward, length, p, scores, q, n, with_length):
    """E[ĝ | q], conditioning on the total number of successes k ~ Binomial(n, J_q) (response 1 succeeds with
    probability k/n given k): a route other than the library's, which conditions on response 1's reward."""
    mine = prompt == q
    w = 1.0 / length[mine] if with_length else np.ones(mine.sum())
    J = p[mine] @ reward[mine]
    xi1 = (p[mine] * w * reward[mine]) @ scores[mine]
    xi0 = (p[mine] * w * (1 - reward[mine])) @ scores[mine]
    k = np.arange(n + 1)
    weights = binom.pmf(k, n, J)
    a1 = np.sum(weights * k / n * advantage(1.0, k, n)) / J
    a0 = np.sum(weights * (n - k) / n * advantage(0.0, k, n)) / (1 - J)
    return a1 * xi1 + a0 * xi0


def weight(n, J):
    k = np.arange(n + 1)
    weights = binom.pmf(k, n, J)
    return np.sum(weights * k / n * advantage(1.0, k, n)) / J - np.sum(weights * (n - k) / n * advantage(0.0, k, n)) / (
        1 - J
    )


@reads_the_page
def test_task_objective_and_gradient(built_book):
    text = outputs(built_book, PAGE)
    task, theta, responses, prompt, reward, length, p, scores = oracle()
    assert one(rf"{NUMBER} prefixes, {NUMBER} tokens, {NUMBER} responses", text) == (45, 3, len(responses))
    success = table(r'prompt "(\d a\'s)": J_q = ' + NUMBER + r"\n", text, count=3)
    for q, name in enumerate(task.prompts):
        assert success[name] == pytest.approx(p[prompt == q] @ reward[prompt == q], abs=6e-5)
    values = list(success.values())
    assert values[0] > 0.5 > values[1] > 0.1 > values[2], "the prose: easy, middling and hard"
    J = p @ reward / 3
    solve, listed_J = one(rf"J: linear solve {NUMBER}, listed responses {NUMBER}", text)
    assert solve == pytest.approx(J, abs=6e-11) and listed_J == pytest.approx(J, abs=6e-11)
    (difference,) = one(rf"largest difference {NUMBER}", text)
    assert difference < 1e-13


@reads_the_page
def test_sampled_estimators_within_their_threshold(built_book):
    text = outputs(built_book, PAGE)
    rloo, limit = one(rf"RLOO, 100 000 groups of 4: max \|z\| = {NUMBER} \(threshold {NUMBER}\)", text)
    grpo, limit_grpo = one(rf"GRPO, 100 000 groups of 4, against the exact expectation: max \|z\| = {NUMBER} "
                           rf"\(threshold {NUMBER}\)", text)  # fmt: skip
    expected = t.ppf(1 - 1e-3 / (2 * 46 * 3), 100_000 - 1)  # Bonferroni over θ's 138 components
    assert limit == limit_grpo == pytest.approx(expected, abs=6e-3)
    assert rloo < limit and grpo < limit


@reads_the_page
def test_variances(built_book):
    text = outputs(built_book, PAGE)
    rows = table(r"\n(REINFORCE|RLOO|prompt value|critic per token) +" + " +".join([NUMBER] * 3), text, count=4)
    task, theta, responses, prompt, reward, length, p, scores = oracle()
    for name, options in (("REINFORCE", lambda r: r), ("RLOO", lambda r: r - (r.sum() - r) / (len(r) - 1))):
        _, variance = brute_force(task, pg.TabularSoftmax(*theta.shape), theta, 2, options, False)
        assert rows[name][0] == pytest.approx(variance, abs=6e-6)
    # baselines that do not depend on the group: one response's vector z, then n i.i.d. copies
    values = pg.state_values(task.mdp, pg.TabularSoftmax(*theta.shape), theta)
    th = torch.tensor(theta, requires_grad=True)
    log_pi = torch.log_softmax(th, dim=1)
    J = np.array([p[prompt == q] @ reward[prompt == q] for q in range(3)])
    for name, baseline in (
        ("REINFORCE", lambda x, s: 0.0),
        ("prompt value", lambda x, s: J[x]),
        ("critic per token", lambda x, s: values[s]),
    ):
        z = np.stack([
            torch.autograd.grad(
                sum((r - baseline(x, s)) * log_pi[s, a] for s, a in zip(path, acts, strict=True)), th,
                retain_graph=True,
            )[0].numpy().ravel()
            for x, path, acts, _, r in responses
        ])  # fmt: skip
        means = np.stack([(p[prompt == q, None] * z[prompt == q]).sum(axis=0) for q in range(3)])
        squares = np.array([p[prompt == q] @ (z[prompt == q] ** 2).sum(axis=1) for q in range(3)])
        mean = means.mean(axis=0)
        for column, n in enumerate((2, 4, 16)):
            variance = np.mean(squares / n + (1 - 1 / n) * (means**2).sum(axis=1)) - mean @ mean
            assert rows[name][column] == pytest.approx(variance, abs=6e-6), (name, n)
    # RLOO at n = 4 and 16: 100 000 sampled groups (relative standard error of the variance below 1.5% here)
    rng = np.random.default_rng(5)
    v = scores
    for column, n in ((1, 4), (2, 16)):
        q = rng.integers(3, size=100_000)
        draws = np.stack([rng.choice(np.flatnonzero(prompt == x), size=n, p=p[prompt == x]) for x in q])
        r = reward[draws]
        A = r - (r.sum(axis=1, keepdims=True) - r) / (n - 1)
        updates = np.einsum("gi,gij->gj", A, v[draws]) / n
        assert rows["RLOO"][column] == pytest.approx(updates.var(axis=0, ddof=1).sum(), rel=0.06), n
    # the prose
    for column in range(3):
        column_values = {name: row[column] for name, row in rows.items()}
        assert min(column_values, key=column_values.get) == "critic per token"
        assert column_values["RLOO"] > column_values["prompt value"] > column_values["REINFORCE"]
    assert rows["RLOO"][2] / rows["prompt value"][2] - 1 < 0.05, "within a few per cent at n = 16"
    # the prose's exact gap between RLOO and the prompt's value, from the listed responses' scores
    spread = np.array([p[prompt == q] @ (reward[prompt == q] - J[q]) ** 2 for q in range(3)])
    size = np.array([p[prompt == q] @ (v[prompt == q] ** 2).sum(axis=1) for q in range(3)])
    slope = np.array([(p[prompt == q] * reward[prompt == q]) @ v[prompt == q] for q in range(3)])
    for column, n in enumerate((2, 4, 16)):
        gap = np.mean(((slope**2).sum(axis=1) + spread * size) / (n * (n - 1)))
        assert rows["RLOO"][column] - rows["prompt value"][column] == pytest.approx(gap, abs=1.2e-5), n
    best = table(r'prompt "(\d a\'s)": J_q = ' + NUMBER + r", b\* = " + NUMBER, text, count=3)
    norms = (v**2).sum(axis=1)
    for q, name in enumerate(task.prompts):
        mine = prompt == q
        expected = (p[mine] * norms[mine]) @ reward[mine] / (p[mine] @ norms[mine])
        assert best[name][1] == pytest.approx(expected, abs=6e-5)
    easy = best[task.prompts[0]]
    assert abs(easy[0] - easy[1]) > easy[1], "the prose: on the easy prompt J_q is further from b* than 0 is"
    # b* as each prompt's baseline: below every row of the table, the critic's included
    optimal = np.array([
        (p[prompt == q] * norms[prompt == q]) @ reward[prompt == q] / (p[prompt == q] @ norms[prompt == q])
        for q in range(3)
    ])  # fmt: skip
    z = (reward - optimal[prompt])[:, None] * v
    means = np.stack([(p[prompt == q, None] * z[prompt == q]).sum(axis=0) for q in range(3)])
    squares = np.array([p[prompt == q] @ (z[prompt == q] ** 2).sum(axis=1) for q in range(3)])
    printed = one(r"b\* as each prompt's baseline, n = 2, 4, 16:\ntr Cov " + ", ".join([NUMBER] * 3), text)
    for column, n in enumerate((2, 4, 16)):
        variance = np.mean(squares / n + (1 - 1 / n) * (means**2).sum(axis=1)) - means.mean(axis=0) @ means.mean(axis=0)
        assert printed[column] == pytest.approx(variance, abs=6e-6), n
        assert printed[column] < min(row[column] for row in rows.values()), "the prose: below every row"


@reads_the_page
def test_grpo_weights_and_length_bias(built_book):
    text = outputs(built_book, PAGE)
    task, theta, responses, prompt, reward, length, p, scores = oracle()
    J = np.array([p[prompt == q] @ reward[prompt == q] for q in range(3)])
    gradient = sum(grpo_expectation(prompt, reward, length, p, scores, q, 2, False) for q in range(3)) / 3
    exact = pg.exact_gradient(task.mdp, pg.TabularSoftmax(*theta.shape), theta).ravel()
    assert np.allclose(gradient * np.sqrt(2), exact, atol=1e-12), "the prose: n = 2 gives ∇J/√2"
    rows = numbers(rf"n = +(\d+): ς {NUMBER}, {NUMBER}, {NUMBER}; {NUMBER}° off ∇J", text, count=4)
    for n, *weights, printed in rows:
        n = int(n)
        assert weights == pytest.approx([weight(n, j) for j in J], abs=6e-4)
        update = sum(grpo_expectation(prompt, reward, length, p, scores, q, n, False) for q in range(3)) / 3
        assert printed == pytest.approx(angle(update, exact), abs=6e-3)
    grid = np.linspace(0.005, 0.995, 199)
    for n in (4, 16, 64):
        curve = np.array([weight(n, j) for j in grid])
        assert curve.max() < (1 - 1 / n) * np.sqrt(n), "the prose: below (1 − 1/n)√n"
    # the length bias, n = 8
    th = torch.tensor(theta, requires_grad=True)
    log_p = torch_log_probs(task, th, responses)
    probabilities = torch.exp(log_p)
    L = torch.tensor(length, dtype=torch.float64)
    wrong = torch.tensor(1 - reward)
    (slope_all,) = torch.autograd.grad((probabilities * L).sum() / 3, th, retain_graph=True)
    (slope_wrong,) = torch.autograd.grad((probabilities * L * wrong).sum() / 3, th)
    n = 8
    updates = {
        "∇J": exact,
        "Dr. GRPO": (1 - 1 / n) * exact,
        "GRPO, std only": sum(grpo_expectation(prompt, reward, length, p, scores, q, n, False) for q in range(3)) / 3,
        "GRPO": sum(grpo_expectation(prompt, reward, length, p, scores, q, n, True) for q in range(3)) / 3,
    }
    # 1/|o| without the std: the group mean with weights 1/|o|, (1 − 1/n)(ψ¹_q − J_q ψ_q), from its definition
    only = 0
    for q in range(3):
        mine = prompt == q
        w = p[mine] / length[mine]
        only = only + (1 - 1 / n) * ((w * reward[mine]) @ scores[mine] - J[q] * w @ scores[mine]) / 3
    updates["GRPO, 1/|o| only"] = only
    printed = table(
        r"\n(∇J|Dr\. GRPO|GRPO, std only|GRPO, 1/\|o\| only|GRPO): angle " + NUMBER
        + r"°\n  length per unit of J: all \+?" + NUMBER + r", wrong \+?" + NUMBER,
        text, count=5,
    )  # fmt: skip
    for name, update in updates.items():
        gain = exact @ update
        assert printed[name][0] == pytest.approx(angle(update, exact), abs=6e-3), name
        assert printed[name][1] == pytest.approx(slope_all.numpy().ravel() @ update / gain, abs=6e-4), name
        assert printed[name][2] == pytest.approx(slope_wrong.numpy().ravel() @ update / gain, abs=6e-4), name
    # the prose
    assert printed["∇J"][1] < 0 and printed["∇J"][2] < printed["∇J"][1], "ascent shortens, the wrong ones most"
    assert abs(printed["GRPO, std only"][1] - printed["∇J"][1]) < 0.1, "the std alone changes the lengths little"
    assert printed["GRPO"][0] > 10 and printed["GRPO"][1] > 0, "1/|o| turns the update and reverses the sign"
    assert 0.4 < printed["GRPO"][2] / printed["∇J"][2] < 0.6, "the wrong ones shrink at about half the rate"


@reads_the_page
def test_kl_estimators(built_book):
    text = outputs(built_book, PAGE)
    task, theta, responses, prompt, reward, length, p, scores = oracle()
    moved = theta + 0.5 * pg.TabularSoftmax(*theta.shape).init_params(seed=5)
    th = torch.tensor(moved, requires_grad=True)
    log_p = torch_log_probs(task, th, responses)
    log_ref = torch_log_probs(task, torch.tensor(theta), responses)
    kl = (torch.exp(log_p) * (log_p - log_ref)).sum() / 3
    (grad,) = torch.autograd.grad(kl, th, retain_graph=True)
    grad = grad.numpy().ravel()
    printed_kl, printed_norm = one(rf"KL\(π_θ ‖ π_ref\) = {NUMBER}, ‖∇KL‖ = {NUMBER}", text)
    assert printed_kl == pytest.approx(kl.item(), abs=6e-5)
    assert printed_norm == pytest.approx(np.linalg.norm(grad), abs=6e-5)
    log_pi = torch.log_softmax(th, dim=1)
    ref = torch.log_softmax(torch.tensor(theta), dim=1)
    weights = torch.exp(log_p).detach() / 3
    k = {"k1": lambda lr: -lr, "k2": lambda lr: 0.5 * lr**2, "k3": lambda lr: torch.exp(lr) - 1 - lr}
    for name in ("k2", "k3"):
        loss = sum(
            weights[i] * sum(k[name](ref[s, a] - log_pi[s, a]) for s, a in zip(path, acts, strict=True))
            for i, (_, path, acts, _, _) in enumerate(responses)
        )
        (expected,) = torch.autograd.grad(loss, th, retain_graph=True)
        expected = expected.numpy().ravel()
        size, printed_angle = one(rf"{name}: ‖E\[∇k\]‖/‖∇KL‖ = {NUMBER}, angle to ∇KL {NUMBER}°", text)
        assert size == pytest.approx(np.linalg.norm(expected) / np.linalg.norm(grad), abs=6e-5)
        assert printed_angle == pytest.approx(angle(expected, grad), abs=0.06)
        assert size < 1 and printed_angle > 5, "the prose: shorter, and several degrees away"
    (zero,) = one(r"k1: ‖E\[∇k\]‖/‖∇KL‖ = " + NUMBER + ", angle to ∇KL undefined", text)
    assert zero == 0


@reads_the_page
def test_numbered_linked_with_exercises(built_book):
    body = article(built_book, PAGE)
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    numbered = [c["file"] for part in toc["parts"] if part.get("numbered") for c in part["chapters"]]
    check_numbered(body, numbered.index(f"book/{PAGE}") + 1)
    cited = re.findall(r'<a class="reference internal" href="(?:[a-z-]+\.html)?#equation-([\w-]+)"', body)
    assert any(label.startswith(f"{PAGE}-") for label in cited), cited
    api = set(re.findall(r'<a class="reference internal" href="api\.html#(pgbook\.[\w.]+)"', body))
    assert {"pgbook.sequences.expected_group_update", "pgbook.sequences.group_variance"} <= api, api
    exercises = re.findall(r'<div class="exercise admonition" id="([a-z-]+)">', body)
    solutions = re.findall(r'<div class="solution dropdown admonition"', body)
    assert len(exercises) == len(solutions) == 2
    text = plain(body)
    for author in ("Kool", "Ahmadian", "Shao", "Liu", "Schulman", "Tang"):
        assert re.search(rf"\b{author}\b", text), author
    assert "Correct. answer(n) matched on 3 cases." in text
    assert "Correct. answer(n, p) matched on 3 cases." in text


def test_exercise_checks():
    """The checks pass a right answer written here, fail wrong ones and the library's own function."""
    assert pg.exercises.check_dr_grpo_factor(lambda n: (n - 1) / n)
    assert not pg.exercises.check_dr_grpo_factor(lambda n: 1.0)
    assert not pg.exercises.check_dr_grpo_factor(lambda n: 1 / np.sqrt(2))
    assert pg.exercises.check_grpo_weight(lambda n, j: weight(n, j))
    assert not pg.exercises.check_grpo_weight(lambda n, j: 1 / np.sqrt(j * (1 - j)))
    assert not pg.exercises.check_grpo_weight(lambda n, j: 1.0)

    def with_n_in_the_denominator(n, j):  # numpy's default std: a plausible slip, 1 instead of 1/√2 at n = 2
        return weight(n, j) * np.sqrt(n / (n - 1))

    assert not pg.exercises.check_grpo_weight(with_n_in_the_denominator)
    result = pg.exercises.check_grpo_weight(lambda n, j: sq.grpo_weight(n, j))
    assert not result and "which this exercise does not let you use" in repr(result)

    def via_the_library(n):
        task = sq.counting_task()
        policy = pg.TabularSoftmax(task.mdp.n_states, task.mdp.n_actions)
        theta = policy.init_params(seed=0)
        update = sq.expected_group_update(task, policy, theta, n, baseline="group mean").ravel()
        exact = pg.exact_gradient(task.mdp, policy, theta).ravel()
        return update @ exact / (exact @ exact)

    result = pg.exercises.check_dr_grpo_factor(via_the_library)
    assert not result and "which this exercise does not let you use" in repr(result)


@reads_the_page
def test_check_estimator_names_grpo(built_book):
    """The printed verdicts: biased in direction, with an angle interval that covers the angle of GRPO's exact
    large-group expectation computed here from the listed responses; and the diagnosis names GRPO."""
    text = outputs(built_book, PAGE)
    found = numbers(rf"θ seed (\d): biased in direction by {NUMBER}° \[{NUMBER}°, {NUMBER}°\]", text, count=2)
    for seed, measured, low, high in found:
        task = sq.counting_task()
        policy = pg.TabularSoftmax(task.mdp.n_states, task.mdp.n_actions)
        theta = policy.init_params(seed=int(seed), scale=0.5)
        expected = group_limit(task, theta).ravel()
        exact = pg.exact_gradient(task.mdp, policy, theta).ravel()
        assert low <= angle(expected, exact) <= high and low <= measured <= high
        assert angle(expected, exact) > 5
    assert "looks like: GRPO's advantages: returns normalised per start state (group std), each episode's terms " \
        "divided by its length — matches within" in text  # fmt: skip
