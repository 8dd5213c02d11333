"""Part II's pages state what they compute: each number the prose relies on is read from the built page and
held against an oracle computed here, independently of the library function that printed it.

Every pattern must match: a page whose wording changed fails here rather than passing with nothing checked.
"""

import itertools
import re

import numpy as np
import pytest
from plain import central_differences

import pgbook as pg

from pages import NUMBER, ROOT, article, check_numbered, numbers, page_text, plain

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("book")]

# Independent oracles: exact evaluation of a finite MDP by plain linear algebra, and central differences ------


def evaluate(mdp, pi):
    """V, Q and the discounted visitation d of the policy table pi, by numpy linear solves."""
    live = ~np.asarray(mdp.terminal, dtype=bool)
    P_pi = np.einsum("sa,sat->st", pi, mdp.P)[np.ix_(live, live)]
    r_pi = np.einsum("sa,sa->s", pi, mdp.R)[live]
    system = np.eye(live.sum()) - mdp.gamma * P_pi
    V = np.zeros(mdp.n_states)
    d = np.zeros(mdp.n_states)
    V[live] = np.linalg.solve(system, r_pi)
    d[live] = np.linalg.solve(system.T, mdp.initial[live])
    Q = mdp.R + mdp.gamma * mdp.P @ V
    return V, Q, d


def softmax(logits):
    z = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def objective(mdp, pi):
    return float(mdp.initial @ evaluate(mdp, pi)[0])


def chapter_source(name):
    return (ROOT / "book" / f"{name}.md").read_text()


def cosine(a, b):
    return float(np.ravel(a) @ np.ravel(b) / np.linalg.norm(a) / np.linalg.norm(b))


# Actor-critic (items 10, 11, 16) ----------------------------------------------------------------------------


def test_actor_critic_published_gae_against_the_undiscounted_gradient(built_book):
    _, text = page_text(built_book, "actor-critic")
    rows = numbers(
        rf"γ = {NUMBER}: published GAE: relative error {NUMBER}, cosine {NUMBER}; "
        rf"with γᵗ: relative error {NUMBER}, cosine {NUMBER}",
        text,
        count=6,
    )
    episodic = pg.examples.random_mdp(10, 4, gamma=1.0, seed=0, n_terminal=1)
    theta = pg.TabularSoftmax(10, 4).init_params(seed=0)
    pi = softmax(theta)
    gradient_1 = central_differences(lambda t: objective(episodic, softmax(t)), theta)
    _, _, visits_1 = evaluate(episodic, pi)
    for gamma, published_error, published_cosine, discounted_error, discounted_cosine in rows:
        mdp = pg.FiniteMDP(
            episodic.P, episodic.R, gamma=gamma, initial=episodic.initial, terminal=np.flatnonzero(episodic.terminal)
        )
        V, Q, _ = evaluate(mdp, pi)
        published = visits_1[:, None] * pi * (Q - V[:, None])  # Σ_a π ∇log π A for a tabular softmax
        discounted = central_differences(lambda t, mdp=mdp: objective(mdp, softmax(t)), theta)  # ∇J_γ
        for vector, error, cos in ((published, published_error, published_cosine),
                                   (discounted, discounted_error, discounted_cosine)):  # fmt: skip
            assert np.linalg.norm(vector - gradient_1) / np.linalg.norm(gradient_1) == pytest.approx(error, abs=2e-4)
            assert cosine(vector, gradient_1) == pytest.approx(cos, abs=2e-5)
        if gamma < 1:  # the prose: published GAE is the closer one at every γ < 1
            assert published_error < discounted_error
        else:
            assert published_error == discounted_error == 0


def test_actor_critic_notation_follows_the_preface():
    text = chapter_source("actor-critic")
    assert r"\delta_t = r_{t+1} + \gamma \hat V(s_{t+1}) - \hat V(s_t)" in text
    assert r"\delta_t = r_t +" not in text


# Variance reduction (items 12, 15, 16) ----------------------------------------------------------------------


def test_normalised_returns_are_a_random_step_size_for_large_batches(built_book):
    _, text = page_text(built_book, "variance-reduction")
    ((z_normalised, scale),) = numbers(
        rf"normalized returns: max \|z\| = {NUMBER}; the estimate is about {NUMBER} × ∇J", text, 1
    )
    ((spread, inverse, z_back, cos),) = numbers(
        rf"sd\(G\) = {NUMBER}, 1/sd\(G\) = {NUMBER}; multiplied back by sd\(G\): max \|z\| = {NUMBER}, "
        rf"cosine with ∇J = {NUMBER}",
        text,
        1,
    )
    assert inverse == pytest.approx(1 / spread, abs=1e-3)
    assert z_normalised > 4.5 and z_back < 4.5, "biased as printed; consistent with ∇J once rescaled"
    assert scale == pytest.approx(inverse, rel=0.05), "the bias is almost all the factor 1/sd(G)"
    assert cos > 0.95


def test_normalised_returns_change_direction_in_small_batches(built_book):
    _, text = page_text(built_book, "variance-reduction")
    vector = r"\[\s*(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s*\]"
    ((g0, g1, g2),) = numbers(r"∇J\s+" + vector, text, 1)
    ((p0, p1, p2),) = numbers(r"N = 2, closed form\s+" + vector, text, 1)
    rows = numbers(r"N =\s+(\d+): mean " + vector + rf"\s+cosine with ∇J {NUMBER}", text, 4)
    ((z_pairs,),) = numbers(rf"max \|z\| against the closed form {NUMBER}", text, 1)
    rewards, pi = np.array([10.0, 1.0, 0.0]), np.array([0.1, 0.6, 0.3])
    exact = pi * (rewards - pi @ rewards)  # a softmax bandit: ∂J/∂θ_a = π_a (R(a) − J)
    pairs = np.zeros(3)  # E over two pulls of ½ Σ_i (G_i − Ḡ)/sd(G) (e_{a_i} − π), by enumeration
    for a, b in itertools.product(range(3), repeat=2):
        G = rewards[[a, b]]
        z = (G - G.mean()) / G.std() if G.std() > 0 else np.zeros(2)
        pairs += pi[a] * pi[b] * (z[0] * (np.eye(3)[a] - pi) + z[1] * (np.eye(3)[b] - pi)) / 2
    assert np.allclose([g0, g1, g2], exact, atol=1e-4) and np.allclose([p0, p1, p2], pairs, atol=1e-4)
    assert z_pairs < 4.5, "the sampled N = 2 mean matches the closed form"
    by_n = {int(n): (np.array([m0, m1, m2]), c) for n, m0, m1, m2, c in rows}
    assert exact[1] < 0 < pairs[1], "the prose: the gradient lowers the middle arm, normalised pairs raise it"
    for n in (2, 5):
        assert by_n[n][0][1] > 0 and by_n[n][1] == pytest.approx(cosine(by_n[n][0], exact), abs=2e-3)
    assert by_n[100][0][1] < 0 and by_n[100][1] > 0.99


def action_term(mdp, pi, baseline):
    """E_s tr Cov_{a|s}[c ∇log π(a|s)(Q(s, a) − b(s))], s ~ d/c, for a tabular softmax: own computation."""
    V, Q, d = evaluate(mdp, pi)
    c = d.sum()
    total = 0.0
    for s in range(mdp.n_states):
        scores = np.eye(mdp.n_actions) - pi[s]  # row a: ∇ log π(a|s) in θ[s, :]
        samples = c * scores * (Q[s] - baseline[s])[:, None]
        mean = pi[s] @ samples
        total += d[s] / c * (pi[s] @ np.sum((samples - mean) ** 2, axis=1))
    return total


def test_why_state_baselines_beat_constants(built_book):
    _, text = page_text(built_book, "variance-reduction")
    ((v_min, v_max, a_max),) = numbers(
        rf"V\(s\) across states: from {NUMBER} to {NUMBER}; largest \|A\(s, a\)\|: {NUMBER}", text, 1
    )
    ((none, b_best, constant, state_value, optimal),) = numbers(
        rf"action term: no baseline {NUMBER}, best constant \(b = {NUMBER}\) {NUMBER}, V\(s\) {NUMBER}, "
        rf"b\*\(s\) {NUMBER}",
        text,
        1,
    )
    mdp = pg.examples.random_mdp(10, 4, gamma=0.9, seed=0)
    pi = softmax(pg.TabularSoftmax(10, 4).init_params(seed=0))
    V, Q, _ = evaluate(mdp, pi)
    assert (V.min(), V.max(), np.abs(Q - V[:, None]).max()) == pytest.approx((v_min, v_max, a_max), abs=6e-3)
    grid = np.linspace(b_best - 1, b_best + 1, 2001)
    terms = [action_term(mdp, pi, np.full(10, b)) for b in grid]
    assert grid[int(np.argmin(terms))] == pytest.approx(b_best, abs=2e-3), "the best constant minimises the term"
    assert action_term(mdp, pi, np.zeros(10)) == pytest.approx(none, abs=0.06)
    assert min(terms) == pytest.approx(constant, abs=0.06)
    assert action_term(mdp, pi, V) == pytest.approx(state_value, abs=0.06)
    norms = np.array([[np.sum((np.eye(4)[a] - pi[s]) ** 2) for a in range(4)] for s in range(10)])
    b_star = np.sum(pi * norms * Q, axis=1) / np.sum(pi * norms, axis=1)
    assert action_term(mdp, pi, b_star) == pytest.approx(optimal, abs=0.06)
    # the prose: V spans as wide a range as the advantages, and the best constant leaves more than either
    assert 0.5 < (v_max - v_min) / a_max < 2 and constant > state_value > optimal


def test_variance_reduction_notation_and_kappa():
    text = chapter_source("variance-reduction")
    assert r"\mu_a" not in text, "arm means are R(a): μ is the start distribution's letter"
    assert "at $N = \\kappa$ it equals $\\|\\nabla J\\|^2$" in text
    assert "The case $k = t$ is included" in text


# Continuous actions (items 13, 16) ---------------------------------------------------------------------------


def test_gaussian_score_for_sigma_matches_autograd(built_book):
    _, text = page_text(built_book, "continuous-actions")
    ((difference,),) = numbers(rf"score for \(m, σ\): largest difference from autograd {NUMBER}", text, 1)
    ((mean_m, mean_sigma, error),) = numbers(
        rf"∂/∂m {NUMBER} \(largest\), ∂/∂σ {NUMBER}; standard error of the latter {NUMBER}", text, 1
    )
    assert difference < 1e-12
    assert abs(mean_sigma) < 4.5 * error and abs(mean_m) < 0.02, "the score has mean zero"


def test_continuous_actions_names_the_deterministic_theorem_and_its_notation():
    text = chapter_source("continuous-actions")
    assert "deterministic policy gradient theorem" in text and "silver2014deterministic" in text
    for clash in ("P_K", r"\mu_\theta", "$d = ", "x_t^\\top Q x_t"):
        assert clash not in text, clash
    log_derivative = chapter_source("log-derivative-trick")
    assert "which is why policy-gradient theorems use the score function" not in log_derivative


# Training (item 14) -------------------------------------------------------------------------------------------


def test_training_corridor_runs_and_kappa(built_book):
    _, text = page_text(built_book, "training")
    rows = numbers(
        rf"mean J over the last 100 episodes:\s+{NUMBER} \(20 runs\); "
        rf"the single run of reinforce_run above:\s+{NUMBER}",
        text,
        4,
    )
    best = -6 - 4 * np.sqrt(2)  # the corridor's optimum, closed form (Sutton & Barto, Example 13.1)
    assert all(value <= best + 1e-9 for row in rows for value in row), "every policy is below J*"
    assert rows[3][0] == max(row[0] for row in rows), "the learned baseline gets closest to J*"
    ((first,),) = numbers(rf"κ of this estimator at the first θ of the N = 200 run: {NUMBER}", text, 1)
    ((last,),) = numbers(rf"κ of this estimator at the last θ of the N = 200 run: {NUMBER}", text, 1)
    assert 5 < first < 20 and last > 5 * first, "the prose: about ten at the start, and it grows"
    # the first θ is zero: measure κ there again on fresh episodes, against autodiff's gradient
    mdp, policy, theta = pg.examples.random_mdp(10, 4, gamma=0.9, seed=0), pg.TabularSoftmax(10, 4), np.zeros((10, 4))
    episodes = pg.sample_episodes(mdp, policy, theta, 8_000, max_steps=200, seed=123)
    estimate = pg.reward_to_go(episodes, policy, theta, baseline="learned")
    assert pg.stats.relative_variance(estimate, pg.autodiff_gradient(mdp, policy, theta)) == pytest.approx(
        first, rel=0.15
    )


def test_training_shows_the_loop_not_the_batching_trick():
    text = chapter_source("training")
    assert "def reinforce_run(" in text and "np.repeat" not in text and "**runs | dict" not in text
    assert "chapter 2" not in text.lower() and "thousands of episodes" not in text


# Exercises (item 18) -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("page", "verdict"),
    [
        ("variance-reduction", "baseline(pi, score, q) matched on 6 cases."),
        ("actor-critic", "gae(rewards, values, gamma, lam) matched on 9 cases."),
        ("continuous-actions", "score(a, mean, std) matched on 12 cases."),
        ("training", "weights(rewards, gamma, alpha_w, w) matched on 8 cases."),
    ],
)
def test_part_two_exercise_solutions_pass(built_book, page, verdict):
    _, text = page_text(built_book, page)
    assert "Correct. " + verdict in text


# A text that links (issue 12, items 5 and 6), Parts II and III ---------------------------------------------

# Parts I-III are numbered across parts: Part II's chapters are 6-9, Part III's 10-15.
LINKED_CHAPTERS = {
    name: number
    for number, name in enumerate(
        [
            "variance-reduction",
            "actor-critic",
            "continuous-actions",
            "training",
            "is-it-a-gradient",
            "compatible-features",
            "natural-gradient",
            "surrogate-objectives",
            "convergence",
            "deterministic-policy-gradient",
        ],
        start=6,
    )
}
# the numbered environments each chapter states (sphinx-proof), and the exercises it sets (sphinx-exercise)
ENVIRONMENTS = {
    "variance-reduction": {"proof lemma": 1, "proof": 1},
    "compatible-features": {"proof theorem": 1, "proof": 1},
    "natural-gradient": {"proof theorem": 1, "proof": 1},
    "convergence": {"proof lemma": 4, "proof theorem": 1, "proof": 5},
    "deterministic-policy-gradient": {"proof theorem": 1, "proof": 1},
    "is-it-a-gradient": {"proof theorem": 1, "proof": 1},
    "surrogate-objectives": {"proof theorem": 1, "proof": 1},
}
# the exercises each chapter sets, counted in its source: the page must number each and fold a passing solution
EXERCISES = {name: chapter_source(name).count("```{exercise}") for name in LINKED_CHAPTERS}


@pytest.mark.parametrize("name", LINKED_CHAPTERS)
def test_chapter_links_to_other_chapters_and_to_the_api(built_book, name):
    body = article(built_book, name)
    links = re.findall(r'<a class="reference internal" href="([a-z-]+)\.html[#"]', body)
    chapters = set(links) - {"api", "references", name}
    assert len(chapters) >= 2, f"{name}: links to {chapters} only"
    api = set(re.findall(r'<a class="reference internal" href="api\.html#(pgbook\.[\w.]+)"', body))
    assert len(api) >= 4, f"{name}: {len(api)} distinct library names linked to the API page"
    # a library name in the prose is a link, not a bare literal (a call with its arguments may stay literal)
    literals = [plain(code) for code in re.findall(r'<code class="docutils literal notranslate">(.*?)</code>', body)]
    bare = [text for text in literals if re.fullmatch(r"pg(book)?\.[\w.]+(\(\))?", text)]
    assert not bare, f"{name}: library names not linked: {bare}"


@pytest.mark.parametrize("name", LINKED_CHAPTERS)
def test_chapter_sections_and_equations_are_numbered_and_cited(built_book, name):
    body = article(built_book, name)
    check_numbered(body, LINKED_CHAPTERS[name])
    cited = re.findall(r'<a class="reference internal" href="(?:[a-z-]+\.html)?#equation-([\w-]+)"', body)
    assert any(label.startswith(f"{name}-") for label in cited), f"{name}: none of its equations is cited: {cited}"


@pytest.mark.parametrize("name", LINKED_CHAPTERS)
def test_theorems_lemmas_and_proofs_are_environments_the_text_cites(built_book, name):
    body = article(built_book, name)
    found = re.findall(r'<div class="(proof(?: theorem| lemma)?) admonition"', body)
    expected = ENVIRONMENTS.get(name, {})
    assert {kind: found.count(kind) for kind in ("proof theorem", "proof lemma", "proof")} == {
        kind: expected.get(kind, 0) for kind in ("proof theorem", "proof lemma", "proof")
    }, (name, found)
    statements = sum(count for kind, count in expected.items() if kind != "proof")
    captions = re.findall(r'<span class="caption-number">((?:Theorem|Lemma) [\d.]+) </span>', body)
    assert len(captions) == statements, captions
    if statements:
        assert re.search(r'<a class="reference internal" href="#[a-z-]+">(Theorem|Lemma) [\d.]+</a>', body), (
            f"{name}: the text does not cite its theorem or lemma"
        )


@pytest.mark.parametrize("name", LINKED_CHAPTERS)
def test_exercises_are_numbered_with_folded_solutions_that_pass(built_book, name):
    body = article(built_book, name)
    exercises = re.findall(r'<div class="exercise admonition" id="([a-z-]+)">', body)
    solutions = [m.start() for m in re.finditer(r'<div class="solution dropdown admonition"', body)]
    assert len(exercises) == len(solutions) == EXERCISES[name] >= 1, (exercises, len(solutions))
    for start in solutions:
        solution = body[start : body.index("</section>", start)]
        assert "Solution to" in plain(solution)
        assert "Correct." in plain(solution), "the checked solution and its verdict are inside the fold"
    assert "Not yet." not in plain(body)


@pytest.mark.parametrize("name", LINKED_CHAPTERS)
def test_no_raw_rest_on_the_page_and_listings_without_docstrings(built_book, name):
    body = article(built_book, name)
    text = plain(body)
    assert not re.search(r":(math|func|class|meth|cite|eq|doc|ref):`", text), f"{name}: raw reST on the page"
    assert not re.search(r"\{(doc|ref|eq|func|class|prf:ref)\}`", text), f"{name}: a MyST role left unrendered"
    # the library listings (literalinclude :pyobject:) show signature and body, without the reST docstring
    highlighted = re.findall(r'<div class="highlight-\w+ notranslate">(.*?)</pre>', body, re.S)
    blocks = [plain(block) for block in highlighted]
    for function in re.findall(r":pyobject: (\w+)", chapter_source(name)):
        (listing,) = [code for code in blocks if re.match(rf"\s*def {function}\(", code)]
        assert "return" in listing and '"""' not in listing, f"{name}: the listing of {function} prints its docstring"
