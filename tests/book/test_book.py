"""The book: it builds with no warning, every chapter runs, and every page holds what it promises."""

import html
import re

import numpy as np
import pytest
import yaml

from pages import NUMBER, ROOT, book_pages, numbers, one, outputs, page_text, pages_containing

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("book")]

CHAPTERS = book_pages()
WITH_WIDGETS = pages_containing("pg.figures.show(")
WITH_EXERCISE_CHECKS = pages_containing("pg.exercises.check_")


def test_the_pages_under_test_are_the_book():
    assert CHAPTERS[0] == "intro" and len(CHAPTERS) >= 7
    assert WITH_WIDGETS == [
        "finite-differences", "log-derivative-trick", "policy-gradient-theorem", "reinforce", "variance-reduction",
        "is-it-a-gradient", "compatible-features", "natural-gradient", "surrogate-objectives", "convergence",
        "deterministic-policy-gradient",
    ]  # fmt: skip
    assert len(WITH_EXERCISE_CHECKS) >= 4


@pytest.mark.parametrize("name", CHAPTERS)
def test_every_chapter_ran_without_error_and_loads_nothing_from_a_cdn(built_book, name):
    source, text = page_text(built_book, name)
    assert "Traceback" not in text and not re.search(r"\b\w+Error:", text)
    assert not re.findall(r'src="https?://', source), "a script or image from the network: fails offline"
    if 'class="math' in source:
        assert "../_static/mathjax/tex-mml-chtml.js" in source, "equations must be typeset by the local MathJax"
    assert "html-manager" not in source, "no ipywidgets JavaScript: the static figures need none"
    assert "widget-state+json" not in source, "no unused widget state (its random ids make builds differ)"


NEGATIVE_ZERO = re.compile(r"(?<![\w.])[-−]0(?:\.0+)?(?![\d.eE])")


def test_negative_zero_pattern():
    found = NEGATIVE_ZERO.findall("(-0.00) -0 −0.0, not -0.003, 1-0.0, -0.00e-05, 10, -10.0")
    assert found == ["-0.00", "-0", "−0.0"]


@pytest.mark.parametrize("name", pages_containing("print("))
def test_printed_numbers_have_no_negative_zero(built_book, name):
    """numpy and f-strings print −0.0 as "-0.00": a reader sees a sign where the value is zero."""
    printed = outputs(built_book, name)
    assert not [line for line in printed.splitlines() if NEGATIVE_ZERO.search(line)]


def test_local_mathjax_is_in_the_build(built_book):
    assert (built_book / "_static" / "mathjax" / "tex-mml-chtml.js").stat().st_size > 1_000_000
    assert list((built_book / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff"))


def test_preface_computes_the_corridor_optimum(built_book):
    _, text = page_text(built_book, "intro")
    match = re.search(r"J\(θ\*\) = (-?\d+\.\d+)", text)
    assert match, "the preface's code cell produced no output"
    assert float(match.group(1)) == pytest.approx(-6 - 4 * np.sqrt(2), abs=1e-6)


@pytest.mark.parametrize("name", WITH_WIDGETS)
def test_interactive_figures_have_a_static_version(built_book, name):
    source, _ = page_text(built_book, name)
    frames = re.findall(r'<div class="pgbook-frames" id="(pgbook-[0-9a-f]+)">(.*?)</div>', source, re.S)
    explorers = re.findall(r'<div class="pgbook-explorer" id="(pgbook-explorer-[0-9a-f]+)">', source)
    assert len(frames) + len(explorers) == 1, "each page with an interactive figure has one"
    if frames:
        assert int(re.search(r'type="range" min="0" max="(\d+)"', frames[0][1])[1]) + 1 >= 8, "frames"
        assert 'type="range"' in frames[0][1]
    else:  # its numbers and the view that draws them (tests/browser/test_interactive_figures.py moves every control)
        assert f'id="{explorers[0]}-data"' in source and "function mountStatic" in source


@pytest.mark.parametrize("name", WITH_EXERCISE_CHECKS)
def test_exercise_solutions_pass_their_checks_and_are_folded(built_book, name):
    source, text = page_text(built_book, name)
    assert "Correct." in text and "Not yet." not in text
    # the checked solution is folded: inside a {solution} dropdown (sphinx-exercise), or a hide-input cell
    folded = [m.start() for m in re.finditer(r'<div class="solution dropdown admonition"', source)]
    inside = any("Correct." in source[start : source.index("</section>", start)] for start in folded)
    assert inside or "tag_hide-input" in source, "the solution cell's source is folded"


def test_reinforce_exercise_passes_check_estimator(built_book):
    _, text = page_text(built_book, "reinforce")
    assert "PASSED" in text and "[BIASED]" not in text


def test_the_notes_errors_are_corrected_in_visible_callouts(built_book):
    _, text = page_text(built_book, "policy-gradient-theorem")
    for heading in (
        "Line (1): the wrong distribution",
        "Line (2): the product rule",
        "Line (6): “=” is “∝”",
        "Line (5): dropping the integral",
        "Regularity",
        "§13.2",
    ):
        assert heading in text, heading
    # every line of the proof holds to rounding
    gaps = [float(g) for g in re.findall(r"largest difference (\d\.?\d*e[-+]\d+)", text)]
    assert len(gaps) >= 8 and max(gaps) < 1e-8


def test_citations_resolve(built_book):
    source, text = page_text(built_book, "references")
    for author in ("Sutton", "Williams", "Baxter", "Greensmith", "Agarwal", "Schulman"):
        assert author in text, author


NOTEBOOK_PAGES = [name for name in CHAPTERS if name not in ("api", "references")]


@pytest.mark.parametrize("name", NOTEBOOK_PAGES)
def test_each_chapter_offers_its_notebook_and_a_binder_launch(built_book, name):
    import nbformat

    source, _ = page_text(built_book, name)
    notebook_path = built_book / "_sources" / "book" / f"{name}.ipynb"
    assert f'_sources/book/{name}.ipynb"' in source, "the download menu links the .ipynb"
    notebook = nbformat.read(notebook_path, as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata.kernelspec.name == "python3"
    chapter = (ROOT / "book" / f"{name}.md").read_text()
    code = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(cell.strip()[:40] in chapter for cell in code), "the notebook is this chapter's code"
    repository = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]
    owner_and_name = repository["url"].removeprefix("https://github.com/")
    launch = f"mybinder.org/v2/gh/{owner_and_name}/{repository['branch']}?urlpath=lab/tree/book/{name}.md"
    assert launch in html.unescape(source)
    first = notebook.cells[0]
    assert first.cell_type == "markdown" and f"git+{repository['url']}" in first.source, "no install note first"


def test_api_reference_documents_the_library(built_book):
    _, text = page_text(built_book, "api")
    for name in ("exact_gradient", "reinforce", "gae_estimator", "damped_double_integrator", "variance_decomposition",
                 "expected_gae_gradient", "reinforce_runs", "FigureFrames"):  # fmt: skip
        assert name in text, name
    assert "Parameters" in text and "Examples" in text


def test_part_two_checks_hold(built_book):
    _, actor_critic = page_text(built_book, "actor-critic")
    z_values = [z for (z,) in numbers(r"components: (\d+\.\d+)", actor_critic)]
    assert len(z_values) >= 2 and max(z_values) < 4.5, "GAE's sampled means match their exact expectation"
    _, continuous = page_text(built_book, "continuous-actions")
    (relative,) = one(r"largest relative difference: " + NUMBER, continuous)
    assert relative < 1e-6, "LQR gradient against finite differences"
    z_lqr = [z for (z,) in numbers(r"max \|z\| = (\d+\.\d+)", continuous)]
    assert len(z_lqr) >= 10 and max(z_lqr) < 4.5
    _, training = page_text(built_book, "training")
    assert re.search(r"\bsolved after \d+ episodes", training), "CartPole reaches the 475 threshold in budget"
    _, variance = page_text(built_book, "variance-reduction")
    for total, sampled, error in numbers(rf"exact total\s+{NUMBER}, sampled\s+{NUMBER} ± {NUMBER}", variance, 3):
        assert abs(total - sampled) < 2.25 * error, "within 4.5 standard errors"
