"""The live explorer in JupyterLab (an anywidget): each control, driven by key presses, updates the figure, and
the figure then shows the kernel's numbers for the new setting. Reuses tests/test_jupyterlab.py's server."""

import json

import numpy as np
import pytest
from test_jupyterlab import jupyterlab, served  # noqa: F401 (the fixtures)
from test_widgets import small_explorer

from pgbook.figures import BASELINES, ESTIMATORS

from pages import CONTROLS, drawn

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]
SOURCE = """import pgbook as pg
explorer = pg.figures.GradientExplorer(
    lambda gamma: pg.examples.short_corridor(gamma=gamma), pg.examples.corridor_recognising_policy(),
    axis_values=[-2.0, 0.0, 2.0], gammas=(0.9, 1.0), parameter_names=("θ₀", "θ₁"), max_steps=1_000, pool_size=20,
)
explorer.widget(n_episodes=5)"""


@pytest.fixture(scope="module")
def notebook(served):  # noqa: F811
    """A notebook showing tests/test_widgets.py's small explorer (the same arguments), in the server's folder."""
    path = served / "live_explorer_test.ipynb"
    cell = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": SOURCE}
    kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path.write_text(
        json.dumps({"cells": [cell], "metadata": {"kernelspec": kernel}, "nbformat": 4, "nbformat_minor": 5})
    )
    return path.name


def test_every_control_of_the_live_figure_updates_it(chromium, jupyterlab, notebook):  # noqa: F811
    explorer = small_explorer()
    page = chromium.new_page(viewport={"width": 1280, "height": 1000})
    page.set_default_timeout(300_000)  # a loaded two-core machine: the kernel's imports take minutes
    page.goto(f"{jupyterlab}/lab/tree/{notebook}?token=pgbook-test")
    kernel_status = (
        f"document.querySelector('.jp-StatusBar-TextItem[title*=\"{notebook.split('/')[-1]}\"]')?.textContent"
    )
    page.wait_for_function(f"() => /\\| Idle$/.test({kernel_status})")
    page.locator(".jp-NotebookPanel .jp-CodeCell").first.click()
    page.keyboard.press("Shift+Enter")
    figure = page.locator(".pgx[data-state]")
    figure.wait_for()
    for name, key in [(name, key) for name in CONTROLS for key in ("End", "Home", "ArrowRight")]:
        if name == "baseline":
            page.locator(".pgx [name=estimator]").focus()
            page.keyboard.press("Home")  # REINFORCE: under the exact advantage the baseline is disabled
        control = page.locator(f".pgx [name={name}]")
        before = figure.get_attribute("data-state")
        control.focus()
        if control.evaluate("(el) => el.tagName") == "SELECT":
            key = {"End": "End", "Home": "Home", "ArrowRight": "ArrowDown"}[key]
        position, last = control.evaluate(
            "(el) => [Number(el.value), el.tagName === 'SELECT' ? el.options.length - 1 : Number(el.max)]"
        )
        page.keyboard.press(key)
        moved = control.evaluate("(el) => Number(el.value)")
        # The key reaches the control (JupyterLab's notebook shortcuts would otherwise take it) and moves it.
        assert moved == {"End": last, "Home": 0}.get(key, min(position + 1, last)), f"{name}: {key} did not move it"
        if moved != position:  # the figure follows: the state, then the kernel's numbers for it
            page.wait_for_function(f"() => document.querySelector('.pgx').dataset.state !== '{before}'")
        state, numbers, _ = drawn(figure)
        assert state[name] == moved, f"{name} after {key}"
        if name in ("theta0", "theta1", "gamma", "n"):  # a slider: a screen reader hears its value, not the index
            shown = control.evaluate("(el) => el.closest('label').querySelector('output').textContent")
            assert control.get_attribute("aria-valuetext") == shown, f"{name} announces another value than it shows"
        if name == "n":
            assert shown == str(explorer.episode_counts[state["n"]]), "the slider shows another N than the figure's"
        expected = explorer.compare(
            theta_index=(state["theta0"], state["theta1"]), gamma=explorer.gammas[state["gamma"]],
            n_episodes=explorer.episode_counts[state["n"]], estimator=ESTIMATORS[state["estimator"]],
            baseline=BASELINES[state["baseline"]],
        )  # fmt: skip
        for attribute, value in (("exact", expected.exact), ("mean", expected.estimate)):
            unit = np.linalg.norm(expected.exact)  # the stored unit of the estimates
            np.testing.assert_allclose(numbers[attribute], value, rtol=2**-11 + 1e-6, atol=2**-24 * unit)
    page.close()
