"""The interactive figures: the explorer's numbers are the library's, the book's shipped table is a fresh
computation, every control's value reaches the view, and the static version needs neither a kernel nor the network.
(In a browser: tests/browser/test_interactive_figures.py.)"""

import base64
import html
import json
import re
import subprocess
import sys
import zlib

import numpy as np
import pytest

import pgbook as pg
from pgbook.figures import BASELINES, ESTIMATORS
from pgbook.figures.explorer import CORRIDOR_TABLE, corridor_grid
from pgbook.figures.explorer_table import NO_COSINE, STATIC_ORDER, ExplorerTable
from pgbook.figures.gradient_grid import OPTIONS

from explorers import small_explorer


@pytest.fixture(scope="module")
def explorer():
    return small_explorer()


@pytest.fixture(scope="module")
def estimates(explorer):
    """The small explorer's estimates in float64, before they are stored."""
    return explorer.grid.estimates()


def test_import_pgbook_loads_no_presentation_library_and_frames_need_no_anywidget():
    presentation = "[m for m in ('matplotlib', 'PIL', 'ipywidgets', 'anywidget') if m in sys.modules]"
    widgets = "[m for m in ('anywidget', 'pgbook.figures.explorer') if m in sys.modules]"
    for code in (
        f"import sys, pgbook; print({presentation})",
        f"import sys, pgbook; pgbook.figures.show(pgbook.figures.FigureFrames(lambda f, v: None, [1], "
        f"slider_name='s', caption='c', alt='a')).static; print({widgets})",
    ):
        loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        assert loaded.strip() == "[]"
    assert pg.figures.GradientExplorer.__module__ == "pgbook.figures.explorer"  # and it loads on first use


def test_every_estimate_is_the_library_estimate_on_the_first_n_episodes(explorer, estimates):
    """The estimates (what the page draws) against :meth:`compare`, which runs the library's estimator on the first
    N episodes of the pool: for every γ, θ, option and N."""
    grid = explorer.grid
    exact, numerical = grid.gradients
    for g, gamma in enumerate(grid.gammas):
        for i, j in np.ndindex(3, 3):
            for k, (estimator, baseline) in enumerate(OPTIONS):
                for m, n in enumerate(grid.episode_counts):
                    result = grid.compare(
                        theta_index=(i, j), gamma=gamma, n_episodes=n, estimator=estimator, baseline=baseline
                    )
                    row = estimates[g, i, j, k, m]
                    np.testing.assert_allclose(row[:2], result.estimate, rtol=1e-12, atol=1e-12)
                    np.testing.assert_allclose(row[2:], result.standard_error, rtol=1e-12, atol=1e-12)
                np.testing.assert_allclose(exact[g, i, j], result.exact, rtol=1e-12)
                np.testing.assert_allclose(numerical[g, i, j], result.finite_difference, rtol=1e-12)


def test_every_estimator_and_baseline_at_the_smallest_and_largest_batches(explorer, estimates):
    """N = 1 is the hard end: baselines estimated from other episodes have nothing to use (NaN, drawn as
    "needs at least two episodes"); at the largest N every option is defined; the exact advantage ignores the
    baseline (the view greys that control out)."""
    grid = explorer.grid
    for estimator in ESTIMATORS:
        for baseline in BASELINES:
            for n in (1, grid.episode_counts[-1]):
                result = grid.compare(
                    theta_index=(0, 2), gamma=0.9, n_episodes=n, estimator=estimator, baseline=baseline
                )
                np.testing.assert_allclose(result.finite_difference, result.exact, rtol=1e-6, atol=1e-9)
                assert np.all(np.isnan(result.standard_error)) == (n == 1)
                batch_baseline = estimator != "exact advantage" and baseline in ("mean", "optimal", "learned V(s)")
                assert np.all(np.isfinite(result.estimate)) == (n > 1 or not batch_baseline)
            ignored = grid.compare(theta_index=(0, 2), gamma=0.9, n_episodes=20, estimator="exact advantage",
                                   baseline=baseline)  # fmt: skip
            assert np.array_equal(ignored.estimate, estimates[0, 0, 2, -1, -1, :2])


def test_the_stored_cosines_are_the_printed_rounding_of_the_estimates_and_nothing_overflows_float16(explorer):
    grid, table = explorer.grid, explorer.table
    for g, i, j, k, m in np.ndindex(table.cosines.shape):
        gamma, n = grid.gammas[g], grid.episode_counts[m]
        result = grid.compare(theta_index=(i, j), gamma=gamma, n_episodes=n, estimator=OPTIONS[k][0],
                              baseline=OPTIONS[k][1])  # fmt: skip
        stored = table.cosines[g, i, j, k, m]
        assert stored == NO_COSINE if np.isnan(result.cosine) else stored == round(1000 * result.cosine)
    assert np.nanmax(np.abs(table.estimates.astype(float))) < np.finfo(np.float16).max / 10


def test_a_table_saved_and_loaded_is_the_same_and_a_table_of_another_grid_is_refused(explorer, tmp_path):
    explorer.table.save(tmp_path / "table.npz")
    loaded = ExplorerTable.load(tmp_path / "table.npz")
    assert loaded.estimates.dtype == np.float16 and loaded.cosines.dtype == np.int16
    np.testing.assert_array_equal(loaded.estimates, explorer.table.estimates)
    np.testing.assert_array_equal(loaded.cosines, explorer.table.cosines)
    again = pg.figures.GradientExplorer(explorer.grid, parameter_names=("θ₀", "θ₁"), table=loaded)
    assert again.static_html() == explorer.static_html()
    with pytest.raises(ValueError, match="table must be an ExplorerTable of this grid"):
        pg.figures.GradientExplorer(corridor_grid(pool_size=20), parameter_names=("a", "b"), table=loaded)


def _fresh_corridor_table(points):
    """The book's explorer's table computed afresh at ``points`` (θ indices), as :func:`corridor_table` does."""
    grid = corridor_grid()
    exact = grid.gradients[0]
    return [ExplorerTable.quantised(grid.estimates_at(point), exact[:, point[0], point[1]]) for point in points]


def test_the_shipped_corridor_table_is_a_fresh_computation_bit_for_bit_at_three_points():
    """The table the book's explorer loads (a fresh kernel shows it at once) against a fresh computation with the
    library's sampler and estimators, at three grid points drawn at random (each point has its own pool): equal
    bit for bit. On failure, write it anew: ``python -c "import pgbook.figures.explorer as e; e.corridor_table()"``.
    """
    shipped = ExplorerTable.load(CORRIDOR_TABLE)
    points = [tuple(int(k) for k in point) for point in np.random.default_rng(7).integers(0, 9, size=(3, 2))]
    for point, fresh in zip(points, _fresh_corridor_table(points), strict=True):
        i, j = point
        np.testing.assert_array_equal(shipped.estimates[:, i, j].view(np.int16), fresh.estimates.view(np.int16))
        np.testing.assert_array_equal(shipped.cosines[:, i, j], fresh.cosines)


@pytest.mark.slow  # the whole table: minutes
def test_the_shipped_corridor_table_is_a_fresh_computation_bit_for_bit():
    shipped = ExplorerTable.load(CORRIDOR_TABLE)
    points = list(np.ndindex(9, 9))
    for (i, j), fresh in zip(points, _fresh_corridor_table(points), strict=True):
        np.testing.assert_array_equal(shipped.estimates[:, i, j].view(np.int16), fresh.estimates.view(np.int16))
        np.testing.assert_array_equal(shipped.cosines[:, i, j], fresh.cosines)


def test_large_batches_agree_with_the_exact_gradient():
    """200 episodes of reward-to-go with the true V: within 4.5 standard errors (2 components, 3 points:
    false-failure probability below 6 × 6.8e-6)."""
    grid = corridor_grid(pool_size=200)
    for theta_index in ((0, 0), (4, 4), (8, 2)):
        result = grid.compare(
            theta_index=theta_index, gamma=1.0, n_episodes=200, estimator="reward-to-go", baseline="true V(s)"
        )
        assert np.all(np.abs(result.estimate - result.exact) < 4.5 * result.standard_error)


def unpacked(encoded: str, dtype: str) -> np.ndarray:
    """Numbers as the view receives them (explorer.py's ``_encode(..., compress=True)``): zlib-compressed byte
    planes, base64; the flat array back."""
    planes = np.frombuffer(zlib.decompress(base64.b64decode(encoded)), dtype=np.uint8)
    size = np.dtype(dtype).itemsize
    return np.ascontiguousarray(planes.reshape(size, -1).T).view(dtype).ravel()


def test_the_live_widget_receives_every_number_once_the_same_as_the_static_page(explorer, estimates):
    """The view answers every control, θ and γ included, from the numbers the kernel sends when the widget is
    created: the static page's, which hold every entry of the table, the gradients and the printed cosines."""
    widget = explorer.widget(n_episodes=5, estimator="reward-to-go", baseline="mean")
    assert (widget.n, widget.estimator, widget.baseline) == (2, 1, 1)
    page = explorer.static_html(n_episodes=5, estimator="reward-to-go", baseline="mean")
    embedded = json.loads(html.unescape(re.search(r'application/json"[^>]*>(.*?)</script>', page, re.S).group(1)))
    assert {name: embedded[name] for name in ("exact", "fd", "table", "cosines")} == widget.numbers
    numbers, (exact, numerical) = widget.numbers, explorer.grid.gradients
    for name, expected in (("exact", exact), ("fd", numerical)):
        sent = np.frombuffer(base64.b64decode(numbers[name]), dtype="<f4").reshape(expected.shape)
        np.testing.assert_allclose(sent, expected, rtol=1e-6)
    stored_shape = [estimates.shape[axis] for axis in STATIC_ORDER]
    table = unpacked(numbers["table"], "<f2").reshape(stored_shape).transpose(np.argsort(STATIC_ORDER))
    unit = np.linalg.norm(exact, axis=-1)[..., None, None, None]  # the stored unit; float16's smallest step: 2⁻²⁴
    np.testing.assert_allclose(table, estimates / unit, rtol=2**-11 + 1e-6, atol=2**-24)
    # the cosines are sent as the difference from the view's estimate from the float16 means: adding it back
    # (as the view does: IEEE double, JavaScript's Math.round) gives the printed cosine
    residuals = unpacked(numbers["cosines"], "<i2").reshape(explorer.table.cosines.shape)
    means, e = table[..., :2].astype(float), exact.astype(np.float32).astype(float)[..., None, None, :]
    norms = np.sqrt(means[..., 0] ** 2 + means[..., 1] ** 2) * np.sqrt(e[..., 0] ** 2 + e[..., 1] ** 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        estimate = np.where(norms > 0, np.floor(1000 * ((means * e).sum(-1) / norms) + 0.5), 0)
    cosines = np.where(residuals == NO_COSINE, NO_COSINE, np.nan_to_num(estimate) + residuals)
    assert np.array_equal(cosines, explorer.table.cosines)
    assert np.mean(residuals[residuals != NO_COSINE] == 0) > 0.9  # what makes them compress
    assert "renderLive" in widget._esm


def test_static_html_embeds_the_view_and_every_number_and_is_deterministic(explorer):
    page = explorer.static_html(estimator="REINFORCE", baseline="none", n_episodes=20)
    assert 'class="pgbook-explorer"' in page and "function mountStatic" in page
    assert "http" not in page.replace("http://www.w3.org/2000/svg", ""), "nothing may load from the network"
    assert page == explorer.static_html(estimator="REINFORCE", baseline="none", n_episodes=20)
    assert page != explorer.static_html(estimator="REINFORCE", baseline="none", n_episodes=5)


def test_show_offers_the_live_widget_and_the_static_fallback(explorer):
    bundle = pg.figures.show(explorer, n_episodes=10)._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert 'class="pgbook-explorer"' in bundle["text/html"]


def test_bad_settings_are_named(explorer):
    grid = explorer.grid
    with pytest.raises(ValueError, match="estimator must be one of"):
        grid.compare(theta_index=(0, 0), gamma=1.0, n_episodes=5, estimator="PPO", baseline="none")
    with pytest.raises(ValueError, match=r"n_episodes must lie in \[1, 20\]"):
        grid.compare(theta_index=(0, 0), gamma=1.0, n_episodes=500, estimator="REINFORCE", baseline="none")
    with pytest.raises(ValueError, match="gamma must be one of"):
        grid.compare(theta_index=(0, 0), gamma=0.5, n_episodes=5, estimator="REINFORCE", baseline="none")
    with pytest.raises(TypeError, match="unknown settings"):
        explorer.static_html(episodes=5)
    with pytest.raises(ValueError, match="n_episodes must be one of"):
        explorer.widget(n_episodes=7)
    with pytest.raises(ValueError, match="exactly two parameters"):
        pg.figures.GradientGrid(
            lambda g: pg.examples.short_corridor(g), pg.TabularSoftmax(4, 2), axis_values=[0, 1], gammas=[1.0],
            max_steps=10,
        )  # fmt: skip
    with pytest.raises(TypeError, match="grid must be a pgbook.figures.GradientGrid"):
        pg.figures.GradientExplorer("corridor", parameter_names=("a", "b"))


def test_figure_frames_live_and_static_show_the_same_frames_at_both_ends():
    def draw(figure, value):
        axes = figure.subplots()
        axes.plot([0, 1], [0, value])
        axes.set_xlabel("x")
        axes.set_ylabel("y")

    frames = pg.figures.FigureFrames(
        draw, [0.5, 1.0, 2.0], slider_name="slope", caption="Lines.", alt="A line of slope {}", start=1
    )
    assert len(set(frames.frames)) == 3, "each value draws its own figure"
    widget = frames.widget()
    slider, image = widget.children
    for index in (2, 0, 1):
        slider.value = index
        assert bytes(image.value) == frames.frames[index]
    page = frames.static_html()
    # the shown frame is the image's source, once; the script holds the others as changes to it
    assert page.count("data:image/svg+xml") == 2  # the <img>'s source, and the script's prefix for the others
    assert 'src="data:image/svg+xml;charset=utf-8,<svg ' in page
    assert "<output>1</output>" in page and 'alt="A line of slope 1"' in page
    bundle = pg.figures.show(frames)._repr_mimebundle_()
    assert bundle["text/html"] == page and "application/vnd.jupyter.widget-view+json" in bundle


def test_figure_frames_refuse_bad_arguments():
    with pytest.raises(TypeError, match="draw must be a callable"):
        pg.figures.FigureFrames(None, [1], slider_name="s", caption="c", alt="a")
    with pytest.raises(ValueError, match="values must hold at least one"):
        pg.figures.FigureFrames(lambda f, v: None, [], slider_name="s", caption="c", alt="a")
    with pytest.raises(ValueError, match="labels must give one label per value"):
        pg.figures.FigureFrames(lambda f, v: None, [1, 2], slider_name="s", caption="c", alt="a", labels=["1"])
    with pytest.raises(TypeError, match="figure must be"):
        pg.figures.show("not a figure")
