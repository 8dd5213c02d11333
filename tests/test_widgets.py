"""The interactive figures: the explorer's numbers are the library's, every control's value reaches the view,
and the static version needs neither a kernel nor the network. (In a browser: tests/test_interactive_figures.py.)"""

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
from pgbook.figures.explorer import NO_COSINE, OPTIONS, STATIC_ORDER


def small_explorer():
    """The book's corridor on a 3 × 3 θ grid, two discounts, 20 episodes a pool: every option, quickly."""
    return pg.figures.GradientExplorer(
        lambda gamma: pg.examples.short_corridor(gamma=gamma),
        pg.examples.corridor_recognising_policy(),
        axis_values=[-2.0, 0.0, 2.0],
        gammas=(0.9, 1.0),
        parameter_names=("θ₀", "θ₁"),
        max_steps=1_000,
        pool_size=20,
    )


@pytest.fixture(scope="module")
def explorer():
    return small_explorer()


def test_import_pgbook_loads_no_presentation_library():
    code = (
        "import sys, pgbook; print([m for m in ('matplotlib', 'PIL', 'ipywidgets', 'anywidget') if m in sys.modules])"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]"
    assert pg.figures.GradientExplorer.__module__ == "pgbook.figures.explorer"  # and it loads on first use


def test_every_entry_of_the_table_is_the_library_estimate_on_the_first_n_episodes(explorer):
    """The table (what the page draws) against :meth:`compare`, which runs the library's estimator on the first N
    episodes of the pool: for every γ, θ, option and N."""
    exact, numerical = explorer.gradients
    for g, gamma in enumerate(explorer.gammas):
        for i, j in np.ndindex(3, 3):
            for k, (estimator, baseline) in enumerate(OPTIONS):
                for m, n in enumerate(explorer.episode_counts):
                    result = explorer.compare(
                        theta_index=(i, j), gamma=gamma, n_episodes=n, estimator=estimator, baseline=baseline
                    )
                    row = explorer.table[g, i, j, k, m]
                    np.testing.assert_allclose(row[:2], result.estimate, rtol=1e-12, atol=1e-12)
                    np.testing.assert_allclose(row[2:], result.standard_error, rtol=1e-12, atol=1e-12)
                np.testing.assert_allclose(exact[g, i, j], result.exact, rtol=1e-12)
                np.testing.assert_allclose(numerical[g, i, j], result.finite_difference, rtol=1e-12)


def test_every_estimator_and_baseline_at_the_smallest_and_largest_batches(explorer):
    """N = 1 is the hard end: baselines estimated from other episodes have nothing to use (NaN, drawn as
    "needs at least two episodes"); at the largest N every option is defined; the exact advantage ignores the
    baseline (the view greys that control out)."""
    for estimator in ESTIMATORS:
        for baseline in BASELINES:
            for n in (1, explorer.episode_counts[-1]):
                result = explorer.compare(
                    theta_index=(0, 2), gamma=0.9, n_episodes=n, estimator=estimator, baseline=baseline
                )
                np.testing.assert_allclose(result.finite_difference, result.exact, rtol=1e-6, atol=1e-9)
                assert np.all(np.isnan(result.standard_error)) == (n == 1)
                batch_baseline = estimator != "exact advantage" and baseline in ("mean", "optimal", "learned V(s)")
                assert np.all(np.isfinite(result.estimate)) == (n > 1 or not batch_baseline)
            ignored = explorer.compare(theta_index=(0, 2), gamma=0.9, n_episodes=20, estimator="exact advantage",
                                       baseline=baseline)  # fmt: skip
            assert np.array_equal(ignored.estimate, explorer.table[0, 0, 2, -1, -1, :2])


def test_the_stored_cosines_are_the_printed_rounding_of_the_tables_and_nothing_overflows_float16(explorer):
    for g, i, j, k, m in np.ndindex(explorer.cosines.shape):
        gamma, n = explorer.gammas[g], explorer.episode_counts[m]
        result = explorer.compare(theta_index=(i, j), gamma=gamma, n_episodes=n, estimator=OPTIONS[k][0],
                                  baseline=OPTIONS[k][1])  # fmt: skip
        stored = explorer.cosines[g, i, j, k, m]
        assert stored == NO_COSINE if np.isnan(result.cosine) else stored == round(1000 * result.cosine)
    scaled = explorer._scaled(explorer.table, explorer.gradients[0])
    assert np.nanmax(np.abs(scaled)) < np.finfo(np.float16).max / 10


def test_large_batches_agree_with_the_exact_gradient():
    """200 episodes of reward-to-go with the true V: within 4.5 standard errors (2 components, 3 points:
    false-failure probability below 6 × 6.8e-6)."""
    explorer = pg.figures.corridor_explorer(pool_size=200)
    for theta_index in ((0, 0), (4, 4), (8, 2)):
        result = explorer.compare(
            theta_index=theta_index, gamma=1.0, n_episodes=200, estimator="reward-to-go", baseline="true V(s)"
        )
        assert np.all(np.abs(result.estimate - result.exact) < 4.5 * result.standard_error)


def unpacked(encoded: str, dtype: str) -> np.ndarray:
    """Numbers as the view receives them (explorer.py's ``_encode(..., compress=True)``): zlib-compressed byte
    planes, base64; the flat array back."""
    planes = np.frombuffer(zlib.decompress(base64.b64decode(encoded)), dtype=np.uint8)
    size = np.dtype(dtype).itemsize
    return np.ascontiguousarray(planes.reshape(size, -1).T).view(dtype).ravel()


def test_the_live_widget_receives_every_number_once_the_same_as_the_static_page(explorer):
    """The view answers every control, θ and γ included, from the numbers the kernel sends when the widget is
    created: the static page's, which hold every entry of the table, the gradients and the printed cosines."""
    widget = explorer.widget(n_episodes=5, estimator="reward-to-go", baseline="mean")
    assert (widget.n, widget.estimator, widget.baseline) == (2, 1, 1)
    page = explorer.static_html(n_episodes=5, estimator="reward-to-go", baseline="mean")
    embedded = json.loads(html.unescape(re.search(r'application/json"[^>]*>(.*?)</script>', page, re.S).group(1)))
    assert {name: embedded[name] for name in ("exact", "fd", "table", "cosines")} == widget.numbers
    numbers, (exact, numerical) = widget.numbers, explorer.gradients
    for name, expected in (("exact", exact), ("fd", numerical)):
        sent = np.frombuffer(base64.b64decode(numbers[name]), dtype="<f4").reshape(expected.shape)
        np.testing.assert_allclose(sent, expected, rtol=1e-6)
    stored_shape = [explorer.table.shape[axis] for axis in STATIC_ORDER]
    table = unpacked(numbers["table"], "<f2").reshape(stored_shape).transpose(np.argsort(STATIC_ORDER))
    unit = np.linalg.norm(exact, axis=-1)[..., None, None, None]  # the stored unit; float16's smallest step: 2⁻²⁴
    np.testing.assert_allclose(table, explorer.table / unit, rtol=2**-11 + 1e-6, atol=2**-24)
    # the cosines are sent as the difference from the view's estimate from the float16 means: adding it back
    # (as the view does: IEEE double, JavaScript's Math.round) gives the printed cosine
    residuals = unpacked(numbers["cosines"], "<i2").reshape(explorer.cosines.shape)
    means, e = table[..., :2].astype(float), exact.astype(np.float32).astype(float)[..., None, None, :]
    norms = np.sqrt(means[..., 0] ** 2 + means[..., 1] ** 2) * np.sqrt(e[..., 0] ** 2 + e[..., 1] ** 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        estimate = np.where(norms > 0, np.floor(1000 * ((means * e).sum(-1) / norms) + 0.5), 0)
    cosines = np.where(residuals == NO_COSINE, NO_COSINE, np.nan_to_num(estimate) + residuals)
    assert np.array_equal(cosines, explorer.cosines)
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
    with pytest.raises(ValueError, match="estimator must be one of"):
        explorer.compare(theta_index=(0, 0), gamma=1.0, n_episodes=5, estimator="PPO", baseline="none")
    with pytest.raises(ValueError, match=r"n_episodes must lie in \[1, 20\]"):
        explorer.compare(theta_index=(0, 0), gamma=1.0, n_episodes=500, estimator="REINFORCE", baseline="none")
    with pytest.raises(ValueError, match="gamma must be one of"):
        explorer.compare(theta_index=(0, 0), gamma=0.5, n_episodes=5, estimator="REINFORCE", baseline="none")
    with pytest.raises(TypeError, match="unknown settings"):
        explorer.static_html(episodes=5)
    with pytest.raises(ValueError, match="n_episodes must be one of"):
        explorer.widget(n_episodes=7)
    with pytest.raises(ValueError, match="exactly two parameters"):
        pg.figures.GradientExplorer(
            lambda g: pg.examples.short_corridor(g),
            pg.TabularSoftmax(4, 2),
            axis_values=[0, 1],
            gammas=[1.0],
            parameter_names=("a", "b"),
            max_steps=10,
        )


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


@pytest.mark.slow  # three tables of 12 episodes (~20 s): the book build's concern, left out of `make check`
def test_a_build_computes_the_corridor_table_once_and_every_chapter_shows_the_same(tmp_path, monkeypatch):
    """With PGBOOK_BUILD_CACHE set (as `make book` and the tests' build set it), the first corridor explorer of a
    build stores its table and later ones load it: the same numbers as an explorer computed on its own."""
    alone = pg.figures.corridor_explorer(pool_size=12).table
    monkeypatch.setenv("PGBOOK_BUILD_CACHE", str(tmp_path / "build"))
    first = pg.figures.corridor_explorer(pool_size=12)
    (stored,) = (tmp_path / "build").iterdir()
    second = pg.figures.corridor_explorer(pool_size=12)
    assert "table" in second.__dict__  # loaded, not recomputed
    np.testing.assert_array_equal(first.table, alone)
    np.testing.assert_array_equal(second.table, alone)
    assert stored.name == "corridor-explorer-12-0.npy"
    other = pg.figures.corridor_explorer(pool_size=12, seed=1)  # another pool: its own table
    assert not np.array_equal(other.table, alone, equal_nan=True)
    assert len(list((tmp_path / "build").iterdir())) == 2
