"""The book: it builds with no warning, every chapter runs, and every page holds what it promises."""

import html
import re

import numpy as np
import pytest

from conftest import book_pages, pages_containing

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("book")]

CHAPTERS = book_pages()
WITH_WIDGETS = pages_containing("pg.widgets.show(")
WITH_EXERCISE_CHECKS = pages_containing("pg.exercises.check_")


def test_the_pages_under_test_are_the_book():
    assert CHAPTERS[0] == "intro" and len(CHAPTERS) >= 7
    assert WITH_WIDGETS == ["finite-differences", "log-derivative-trick", "policy-gradient-theorem", "reinforce"]
    assert len(WITH_EXERCISE_CHECKS) >= 4


def page_text(built_book, name):
    source = (built_book / "book" / f"{name}.html").read_text()
    return source, html.unescape(re.sub(r"<[^>]+>", " ", source))


@pytest.mark.parametrize("name", CHAPTERS)
def test_every_chapter_ran_without_error_and_loads_nothing_from_a_cdn(built_book, name):
    source, text = page_text(built_book, name)
    assert "Traceback" not in text and not re.search(r"\b\w+Error:", text)
    assert not re.findall(r'src="https?://', source), "a script or image from the network: fails offline"
    if 'class="math' in source:
        assert "../_static/mathjax/tex-mml-chtml.js" in source, "equations must be typeset by the local MathJax"
    assert "html-manager" not in source, "no ipywidgets JavaScript: the static figures need none"
    assert "widget-state+json" not in source, "no unused widget state (its random ids make builds differ)"


def test_local_mathjax_is_in_the_build(built_book):
    assert (built_book / "_static" / "mathjax" / "tex-mml-chtml.js").stat().st_size > 1_000_000
    assert list((built_book / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff"))


def test_preface_computes_the_corridor_optimum(built_book):
    _, text = page_text(built_book, "intro")
    match = re.search(r"J\(θ\*\) = (-?\d+\.\d+)", text)
    assert match, "the preface's code cell produced no output"
    assert float(match.group(1)) == pytest.approx(-6 - 4 * np.sqrt(2), abs=1e-6)


@pytest.mark.parametrize("name", WITH_WIDGETS)
def test_interactive_figures_have_a_static_version_with_frames(built_book, name):
    source, _ = page_text(built_book, name)
    figures = re.findall(r'<div class="pgbook-frames" id="(pgbook-[0-9a-f]+)">(.*?)</div>', source, re.S)
    assert len(figures) == 1, "each of chapters 3–6 has one interactive figure"
    _, body = figures[0]
    assert len(re.findall(r"data:image/png;base64,", body)) >= 8
    assert 'type="range"' in body


@pytest.mark.parametrize("name", WITH_EXERCISE_CHECKS)
def test_exercise_solutions_pass_their_checks_and_are_folded(built_book, name):
    source, text = page_text(built_book, name)
    assert "Correct." in text and "Not yet." not in text
    assert "tag_hide-input" in source, "the solution cell's source is folded"


def test_reinforce_exercise_passes_check_estimator(built_book):
    _, text = page_text(built_book, "reinforce")
    assert "PASSED" in text and "BIASED?" not in text


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
