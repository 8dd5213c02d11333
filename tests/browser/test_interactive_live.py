"""The live explorer in JupyterLab (an anywidget): each control, driven by key presses, updates the figure with
the numbers Python computes for the new setting; θ₀, θ₁ and γ, like N, estimator and baseline, are drawn from
numbers already in the browser (the figure follows them while the kernel is busy and cannot answer), and the
kernel hears the new positions. Reuses tests/browser/test_jupyterlab.py's server."""

import json

import numpy as np
import pytest

from pgbook.figures import BASELINES, ESTIMATORS

from explorers import small_explorer
from pages import CONTROLS, drawn

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]
SOURCE = """import pgbook as pg
grid = pg.figures.GradientGrid(
    lambda gamma: pg.examples.short_corridor(gamma=gamma), pg.examples.corridor_recognising_policy(),
    axis_values=[-2.0, 0.0, 2.0], gammas=(0.9, 1.0), max_steps=1_000, pool_size=20,
)
widget = pg.figures.GradientExplorer(grid, parameter_names=("θ₀", "θ₁")).widget(n_episodes=5)
widget"""
BUSY = "import time\ntime.sleep(240)  # the kernel cannot answer the figure meanwhile"
POSITIONS = f"print(*(getattr(widget, name) for name in {CONTROLS}), sep=',')"
MOVE = "widget.theta0, widget.gamma = 1, 0"
WAIT = 300_000  # ms, a wait in the browser: on a loaded two-core machine the kernel takes minutes to start


@pytest.fixture(scope="module")
def notebook(served):
    """A notebook showing tests/explorers.py's small explorer (the same arguments), in the server's folder; then
    a cell that keeps the kernel busy, one that prints the widget's positions as the kernel knows them, and one
    that moves θ₀ and γ from Python."""
    path = served / "live_explorer_test.ipynb"
    cells = [
        {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": source}
        for source in (SOURCE, BUSY, POSITIONS, MOVE)
    ]
    kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path.write_text(
        json.dumps({"cells": cells, "metadata": {"kernelspec": kernel}, "nbformat": 4, "nbformat_minor": 5})
    )
    return path.name


@pytest.fixture(scope="module")
def live(chromium, jupyterlab, notebook):
    """The notebook in JupyterLab, its first cell run: the page, showing the live figure."""
    page = chromium.new_page(viewport={"width": 1280, "height": 1000})
    page.set_default_timeout(WAIT)
    page.goto(f"{jupyterlab}/lab/tree/{notebook}?token=pgbook-test")
    wait_for_kernel(page, notebook, "Idle")
    page.locator(".jp-NotebookPanel .jp-CodeCell").first.click()
    page.keyboard.press("Shift+Enter")
    page.locator(".pgx[data-state]").wait_for()
    yield page, notebook
    page.close()


def wait_for_kernel(page, notebook: str, status: str) -> None:
    """Until JupyterLab's status bar shows the notebook's kernel in ``status`` (Idle, Busy)."""
    text = f"document.querySelector('.jp-StatusBar-TextItem[title*=\"{notebook}\"]')?.textContent"
    page.wait_for_function(f"() => /\\| {status}$/.test({text})")


def run_cell(page, index: int) -> None:
    page.locator(".jp-NotebookPanel .jp-CodeCell").nth(index).locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")


def check_drawn(figure, grid) -> dict[str, int]:
    """The figure draws Python's numbers for the setting it shows (float16 storage: the tests' tolerance)."""
    state, numbers, _ = drawn(figure)
    expected = grid.compare(
        theta_index=(state["theta0"], state["theta1"]), gamma=grid.gammas[state["gamma"]],
        n_episodes=grid.episode_counts[state["n"]], estimator=ESTIMATORS[state["estimator"]],
        baseline=BASELINES[state["baseline"]],
    )  # fmt: skip
    for attribute, value in (("exact", expected.exact), ("mean", expected.estimate)):
        unit = np.linalg.norm(expected.exact)  # the stored unit of the estimates
        np.testing.assert_allclose(numbers[attribute], value, rtol=2**-11 + 1e-6, atol=2**-24 * unit)
    return state


def press(page, name: str, key: str) -> tuple[int, int]:
    """Press ``key`` on the control ``name`` (a select takes Home, End, ArrowDown); its positions before and after."""
    control = page.locator(f".pgx [name={name}]")
    control.focus()
    if control.evaluate("(el) => el.tagName") == "SELECT":
        key = {"End": "End", "Home": "Home", "ArrowRight": "ArrowDown", "ArrowLeft": "ArrowUp"}[key]
    position = control.evaluate("(el) => Number(el.value)")
    page.keyboard.press(key)
    return position, control.evaluate("(el) => Number(el.value)")


def test_every_control_of_the_live_figure_updates_it(live):
    page, _ = live
    grid = small_explorer().grid
    figure = page.locator(".pgx[data-state]")
    for name, key in [(name, key) for name in CONTROLS for key in ("End", "Home", "ArrowRight")]:
        if name == "baseline":
            press(page, "estimator", "Home")  # REINFORCE: under the exact advantage the baseline is disabled
        control = page.locator(f".pgx [name={name}]")
        before = figure.get_attribute("data-state")
        last = control.evaluate("(el) => el.tagName === 'SELECT' ? el.options.length - 1 : Number(el.max)")
        position, moved = press(page, name, key)
        # The key reaches the control (JupyterLab's notebook shortcuts would otherwise take it) and moves it.
        assert moved == {"End": last, "Home": 0}.get(key, min(position + 1, last)), f"{name}: {key} did not move it"
        if moved != position:  # the figure follows
            page.wait_for_function(f"() => document.querySelector('.pgx').dataset.state !== '{before}'")
        state = check_drawn(figure, grid)
        assert state[name] == moved, f"{name} after {key}"
        if name in ("theta0", "theta1", "gamma", "n"):  # a slider: a screen reader hears its value, not the index
            shown = control.evaluate("(el) => el.closest('label').querySelector('output').textContent")
            assert control.get_attribute("aria-valuetext") == shown, f"{name} announces another value than it shows"
        if name == "n":
            assert shown == str(grid.episode_counts[state["n"]]), "the slider shows another N than the figure's"


def test_theta_and_gamma_are_drawn_from_numbers_in_the_browser_and_reach_the_kernel(live):
    """With the kernel busy (a cell sleeping: it reads no message), every step and jump of θ₀, θ₁ and γ is
    drawn, with Python's numbers; the kernel, once free, knows the positions the figure shows, and the figure
    follows positions set from Python. (Before the live view had every number, θ and γ waited for the kernel:
    this failed at the first move.)"""
    page, _ = live
    grid = small_explorer().grid
    figure = page.locator(".pgx[data-state]")
    run_cell(page, 1)
    sleeping = page.locator(".jp-NotebookPanel .jp-CodeCell").nth(1).locator(".jp-InputPrompt")
    page.wait_for_function("(el) => el.textContent.includes('[*]')", arg=sleeping.element_handle())  # running
    for name, key in [(name, key) for name in ("theta0", "theta1", "gamma") for key in ("Home", "ArrowRight", "End")]:
        before = figure.get_attribute("data-state")
        position, moved = press(page, name, key)
        if moved != position:
            page.wait_for_function(
                f"() => document.querySelector('.pgx').dataset.state !== '{before}'", timeout=10_000
            )  # no kernel can answer: only the browser's numbers
        assert check_drawn(figure, grid)[name] == moved, f"{name} after {key}"
    assert "[*]" in sleeping.text_content(), "the kernel was free before the end"
    page.locator('.jp-NotebookPanel-toolbar [data-command="notebook:interrupt-kernel"]').click()
    page.wait_for_function("(el) => !el.textContent.includes('[*]')", arg=sleeping.element_handle())
    state = drawn(figure)[0]
    run_cell(page, 2)
    output = page.locator(".jp-NotebookPanel .jp-CodeCell").nth(2).locator(".jp-OutputArea-output")
    output.wait_for()
    assert output.text_content().strip() == ",".join(str(state[name]) for name in CONTROLS)
    run_cell(page, 3)  # θ₀ = 1 and γ = 0, from Python
    page.wait_for_function("() => /^1,\\d+,0,/.test(document.querySelector('.pgx').dataset.state)")
    state = check_drawn(figure, grid)
    assert (state["theta0"], state["gamma"]) == (1, 0)
