"""The gradient explorer in headless Chromium, without a kernel: every control of every static figure, moved to
both ends and to a middle value, draws the numbers Python computes for that setting.

The view exposes what it draws as data attributes of the figure (mean, standard error, cosine, exact and
finite-difference gradients, and the controls' positions). Means and standard errors are embedded as float16:
they must match Python's to float16's rounding (relative 2⁻¹¹); the cosine, printed to three decimals, exactly
as Python rounds it; the exact and finite-difference gradients (float32) to 1e-6.
"""

import numpy as np
import pytest

from pgbook.figures import BASELINES, ESTIMATORS, corridor_grid

from browsing import open_page
from explorers import small_explorer
from pages import CONTROLS, drawn, pages_containing

pytestmark = pytest.mark.slow
TIMEOUT_MS = 240_000


def move(page, name, value):
    page.locator(f".pgbook-explorer [name={name}]").evaluate(
        f"(el) => {{ el.value = '{value}'; el.dispatchEvent(new Event('input', {{bubbles: true}})); }}"
    )


def check_every_control(page, grid):
    """Each control to its last, first and middle position, the others where the previous moves left them; what
    is drawn against ``grid``'s :meth:`compare`."""
    sizes = dict(theta0=len(grid.axis_values), theta1=len(grid.axis_values), gamma=len(grid.gammas),
                 n=len(grid.episode_counts), estimator=len(ESTIMATORS), baseline=len(BASELINES))  # fmt: skip
    checked = 0
    for name in CONTROLS:
        for position in (sizes[name] - 1, 0, sizes[name] // 2):
            if name == "baseline":
                move(page, "estimator", 0)  # the baseline control is disabled under the exact advantage
            move(page, name, position)
            state, numbers, cosine = drawn(page.locator(".pgbook-explorer"))
            assert state[name] == position, f"{name} = {position} did not reach the view"
            expected = grid.compare(
                theta_index=(state["theta0"], state["theta1"]), gamma=grid.gammas[state["gamma"]],
                n_episodes=grid.episode_counts[state["n"]], estimator=ESTIMATORS[state["estimator"]],
                baseline=BASELINES[state["baseline"]],
            )  # fmt: skip
            np.testing.assert_allclose(numbers["exact"], expected.exact, rtol=1e-6)
            np.testing.assert_allclose(numbers["fd"], expected.finite_difference, rtol=1e-6)
            unit = np.linalg.norm(expected.exact)  # stored in this unit; float16's smallest step is 2⁻²⁴ of it
            np.testing.assert_allclose(numbers["mean"], expected.estimate, rtol=2**-11 + 1e-6, atol=2**-24 * unit)
            np.testing.assert_allclose(numbers["se"], expected.standard_error, rtol=2**-11 + 1e-6, atol=2**-24 * unit)
            if np.isnan(expected.cosine):
                assert np.isnan(cosine)
            else:  # as printed: three decimals
                assert round(cosine, 3) == round(expected.cosine, 3), (name, position, cosine, expected.cosine)
                assert f"= {expected.cosine:.3f}" in page.locator(".pgx-title").inner_text()
            disabled = page.locator(".pgbook-explorer [name=baseline]").is_disabled()
            assert disabled == (state["estimator"] == ESTIMATORS.index("exact advantage"))
            checked += 1
    assert checked == 3 * len(CONTROLS)


@pytest.fixture(scope="module")
def small():
    return small_explorer()


def test_every_control_of_a_standalone_figure_draws_pythons_numbers(chromium, small):
    page = chromium.new_page(viewport={"width": 390, "height": 900})
    page.set_default_timeout(TIMEOUT_MS)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_content("<!doctype html><meta charset=utf-8><body>" + small.static_html() + "</body>")
    page.wait_for_selector(".pgbook-explorer[data-state]")
    check_every_control(page, small.grid)
    # legible on a 390 px phone: nothing wider than the screen, the drawings' text at 9 px or more
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    sizes = page.locator(".pgbook-explorer svg text").evaluate_all(
        "(texts) => texts.filter((t) => t.textContent).map((t) => t.getBoundingClientRect().height)"
    )
    assert sizes and min(sizes) >= 9, sizes
    assert not errors, errors
    page.close()


@pytest.fixture(scope="module")
def book_grid():
    return corridor_grid()  # the book's explorer's grid, its pools drawn afresh where compare() needs them


@pytest.mark.parametrize("name", pages_containing("pg.figures.corridor_explorer("))
def test_every_control_of_every_book_figure_draws_pythons_numbers(site, chromium, book_grid, name):
    page, problems = open_page(chromium, f"{site}/book/{name}.html")
    page.wait_for_selector(".pgbook-explorer[data-state]")
    check_every_control(page, book_grid)
    assert not problems, problems
    page.close()
