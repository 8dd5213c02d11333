"""The chapter "Auditing real implementations": every number it prints, read from the built page and held
against an oracle computed here (tests/rollout_oracle.py, written from the definitions, and linear algebra),
independently of the pgbook functions that printed it; and its exercise's check.

Every pattern must match: a page whose wording changed fails here rather than passing with nothing checked.
The measured means are compared with the oracle within 4.5 of their printed standard errors (a false failure
below 1e-5 each); the seeds of the page are fixed, so the outcome is the same on every build.
"""

import re

import numpy as np
import pytest
import torch

import pgbook as pg

from pages import NUMBER, article, check_numbered, one, outputs, plain, prose
from rollout_oracle import expected_length, rollout_model

PAGE = "auditing-real-implementations"
N_STEPS = 64


def actor_policy():
    """The layout of SB3's actor: a Linear layer on one-hot observations (weight, then bias)."""
    return pg.ModulePolicy(torch.nn.Linear(5, 2), 2, observations=np.eye(5))


def actor_params(table):
    return np.concatenate([table.T.ravel(), np.zeros(table.shape[1])])


def episodic():
    return pg.examples.random_mdp(5, 2, gamma=1.0, seed=23, n_terminal=1)


def configurations():
    """Each configuration of the page: MDP, θ, critic (None: exact), λ, normalised advantages, verdict."""
    table = pg.TabularSoftmax(5, 2).init_params(seed=1)
    slow = pg.examples.random_mdp(5, 2, gamma=0.9, seed=39, concentration=0.3)
    slow_table = pg.TabularSoftmax(5, 2).init_params(seed=206, scale=2)
    return {
        "A2C, γ = 1, exact critic": (episodic(), table, None, 1.0, False, "scaled"),
        "A2C, normalised advantages": (episodic(), table, None, 1.0, True, "scaled"),
        "A2C, γ = 0.9, slow mixing": (slow, slow_table, None, 1.0, False, "biased"),
        "A2C, γ = 1, GAE(0.95), V̂ = 0": (episodic(), table, np.zeros(5), 0.95, False, "biased"),
    }


def oracle(mdp, table, critic, lam, normalised):
    """The expected update (the oracle's rollout model) and ∇J, in the actor's layout."""
    policy, theta = actor_policy(), actor_params(table)
    pi = policy.probabilities(theta)
    if critic is None:
        critic = pg.state_values(mdp, pg.TabularSoftmax(5, 2), table)
    W, first, second = rollout_model(mdp, pi, critic, lam, N_STEPS)
    if normalised:
        W = W / np.sqrt(second - first**2)
    return policy.weighted_probability_gradient(theta, W), pg.autodiff_gradient(mdp, policy, theta)


def angle(a, b):
    return float(np.degrees(np.arccos(np.clip(a @ b / np.linalg.norm(a) / np.linalg.norm(b), -1, 1))))


def reads_the_page(test):
    """The page tests need the built book: slow, and in the "book" group (tests/conftest.py)."""
    return pytest.mark.slow(pytest.mark.xdist_group("book")(test))


@reads_the_page
@pytest.mark.parametrize("name", list(configurations()))
def test_each_configuration_against_the_oracle(built_book, name):
    text = outputs(built_book, PAGE)
    mdp, table, critic, lam, normalised, verdict = configurations()[name]
    block = re.escape(name) + (
        rf" → (\w+): [^\n]*\n"
        rf"  against c·∇J: max \|z\| = {NUMBER} \(threshold {NUMBER}\)\n"
        rf"  along ∇J: measured {NUMBER} ± {NUMBER}, model {NUMBER}\n"
        rf"  angle to ∇J: measured {NUMBER}° \[{NUMBER}°, {NUMBER}°\], model {NUMBER}°\n"
        rf"  mean − model: max \|z\| = {NUMBER} \(threshold {NUMBER}, (\d+) samples\)"
    )
    found = re.findall(block, text)
    assert len(found) == 1, f"{name}: {len(found)} blocks found"
    printed, *values = found[0]
    scaled_z, threshold, along, error, model_along, measured, low, high, model_angle, z_model, limit, k = map(
        float, values
    )
    expected, exact = oracle(mdp, table, critic, lam, normalised)
    assert printed == verdict
    assert (scaled_z <= threshold) == (verdict == "scaled"), "the verdict follows the printed z-score"
    assert model_along == pytest.approx(expected @ exact / (exact @ exact), abs=6e-5)
    assert model_angle == pytest.approx(angle(expected, exact), abs=6e-3)
    assert abs(along - expected @ exact / (exact @ exact)) <= 4.5 * error, "the measured factor is the model's"
    assert low <= angle(expected, exact) <= high, "the interval covers the model's angle"
    assert low <= measured <= high
    assert z_model <= limit, "the prose: every configuration within its threshold of the model"
    if verdict == "biased":
        assert angle(expected, exact) > 5
    assert k in (40, 80, 100)


@reads_the_page
def test_renewal_factor_and_ppo(built_book):
    text = outputs(built_book, PAGE)
    length, inverse = one(rf"E\[T\] = {NUMBER}, 1/E\[T\] = {NUMBER}", text)
    mdp, table = episodic(), pg.TabularSoftmax(5, 2).init_params(seed=1)
    truth = expected_length(mdp, pg.TabularSoftmax(5, 2).probabilities(table))
    assert length == pytest.approx(truth, abs=6e-5) and inverse == pytest.approx(1 / truth, abs=6e-5)
    (gap,) = one(rf"PPO's first step vs A2C's on one rollout: relative gap {NUMBER}", text)
    assert 0 <= gap < 1e-5, "float32 rounding, no more"
    (factor,) = one(r"A2C, γ = 1, exact critic → scaled: ∇J up to a factor c = " + NUMBER, text)
    assert abs(factor - 1 / truth) < 0.05 / truth, "the fitted factor is near 1/E[T] (the prose)"
    after = [line for line in text[text.index("1/E[T] = ") :].split("\n")[1:] if line.strip()]
    diagnosis = after[0]  # the exact-critic run's diagnosis, printed next
    assert diagnosis.startswith("cannot tell apart:"), "the prose: the diagnosis cannot tell them apart"
    for candidate in ("from a reset", "stationary state", "loss averaged over all steps", "first step only"):
        assert candidate in diagnosis, f"the prose names {candidate!r} among the candidates"


@reads_the_page
def test_generic_angles_and_lambda_one(built_book):
    text = outputs(built_book, PAGE)
    median, low, high = one(rf"γᵗ dropped, 20 random MDPs: median {NUMBER}°, quartiles {NUMBER}° and {NUMBER}°", text)
    angles = []
    for seed in range(20):
        mdp = pg.examples.random_mdp(5, 2, gamma=0.9, seed=seed)
        policy = pg.TabularSoftmax(5, 2)
        theta = policy.init_params(seed=seed)
        pi = policy.probabilities(theta)
        W, _, _ = rollout_model(mdp, pi, pg.state_values(mdp, policy, theta), 1.0, N_STEPS)
        angles.append(
            angle(
                policy.weighted_probability_gradient(theta, W).ravel(), pg.autodiff_gradient(mdp, policy, theta).ravel()
            )
        )
    assert (low, median, high) == pytest.approx(tuple(np.percentile(angles, [25, 50, 75])), abs=0.06)
    assert high < 10, "the prose: a few degrees"
    (lam_one,) = one(rf"model, λ = 1 with the same critic: angle {NUMBER}°", text)
    expected, exact = oracle(episodic(), pg.TabularSoftmax(5, 2).init_params(seed=1), np.zeros(5), 1.0, False)
    assert lam_one == pytest.approx(angle(expected, exact), abs=6e-3)
    gae_angle = angle(*oracle(episodic(), pg.TabularSoftmax(5, 2).init_params(seed=1), np.zeros(5), 0.95, False))
    assert lam_one < gae_angle / 2, "the prose: λ = 1 turns the update much less"


@reads_the_page
def test_costs_in_the_prose_are_the_runs(built_book):
    text = prose(built_book, PAGE)
    for count, thousands in ((40, 41), (100, 102), (80, 82)):
        assert f"{count} rollouts" in text and f"({thousands} thousand steps)" in text
        assert round(count * 16 * 64 / 1000) == thousands
    assert "Correct. answer(mdp, policy, theta) matched on 4 cases." in text


def test_exercise_check():
    """The exercise's check passes the renewal factor, and fails a wrong one and an answer using the library's
    rollout model."""
    assert pg.exercises.check_rollout_factor(lambda m, p, t: 1 / pg.discounted_visitation(m, p, t)[~m.terminal].sum())
    assert not pg.exercises.check_rollout_factor(lambda m, p, t: pg.discounted_visitation(m, p, t)[~m.terminal].sum())
    assert not pg.exercises.check_rollout_factor(lambda m, p, t: 1.0)

    def via_the_model(mdp, policy, theta):
        values = pg.state_values(mdp, policy, theta)
        update = pg.mistakes.expected_gradient(mdp, policy, theta, 500, [pg.mistakes.rollouts(2_000)], critic=values)
        exact = pg.exact_gradient(mdp, policy, theta)
        return float(np.sum(update * exact) / np.sum(exact * exact))

    result = pg.exercises.check_rollout_factor(via_the_model)
    assert not result and "which this exercise does not let you use" in repr(result)


def chapter_number():
    """The chapter's number: its place among the numbered parts' chapters in _toc.yml (Parts I-III are
    numbered across parts)."""
    import yaml

    from pages import ROOT

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    numbered = [c["file"] for part in toc["parts"] if part.get("numbered") for c in part["chapters"]]
    return numbered.index(f"book/{PAGE}") + 1


@reads_the_page
def test_numbered_linked_and_with_a_folded_solution(built_book):
    body = article(built_book, PAGE)
    check_numbered(body, chapter_number())
    cited = re.findall(r'<a class="reference internal" href="(?:[a-z-]+\.html)?#equation-([\w-]+)"', body)
    assert any(label.startswith(f"{PAGE}-") for label in cited), cited
    links = set(re.findall(r'<a class="reference internal" href="([a-z-]+)\.html[#"]', body)) - {"api", "references"}
    assert len(links - {PAGE}) >= 2, links
    api = set(re.findall(r'<a class="reference internal" href="api\.html#(pgbook\.[\w.]+)"', body))
    assert {"pgbook.estimator_check.check_samples", "pgbook.interop.sb3.gradient_samples"} <= api, api
    literals = [plain(code) for code in re.findall(r'<code class="docutils literal notranslate">(.*?)</code>', body)]
    assert not [text for text in literals if re.fullmatch(r"pg(book)?\.[\w.]+(\(\))?", text)]
    exercises = re.findall(r'<div class="exercise admonition" id="([a-z-]+)">', body)
    solutions = re.findall(r'<div class="solution dropdown admonition"', body)
    assert len(exercises) == len(solutions) == 1
    for author in ("Nota", "Raffin", "Huang", "Bou"):  # Nota & Thomas 2020 and the three libraries
        assert re.search(rf"\[{author}\b", plain(body)), author
