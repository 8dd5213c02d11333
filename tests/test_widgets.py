"""The interactive figure: every control works at both ends, and the static version works without a kernel."""

import re

import numpy as np
import pytest

import pgbook as pg
from pgbook.widgets import BASELINES, ESTIMATORS


@pytest.fixture(scope="module")
def explorer():
    return pg.figures.corridor_explorer(pool_size=200)


def controls(widget):
    sliders = [child for row in widget.children[:2] for child in row.children]
    return {control.description: control for control in sliders}, widget.children[2]


def test_every_control_works_at_both_ends_of_its_range():
    """Each control to its first, last and middle value: the image is always the figure for all the controls'
    current values (the wiring is right), drawn without an error at the ends of every range."""
    explorer = pg.figures.corridor_explorer(pool_size=200)
    widget = explorer.widget()
    named, image = controls(widget)
    assert set(named) == {"episodes N", "θ₀", "θ₁", "γ", "estimator", "baseline"}

    def expected_png():
        return explorer.png(
            theta_index=(named["θ₀"].value, named["θ₁"].value), gamma=named["γ"].value,
            n_episodes=named["episodes N"].value, estimator=named["estimator"].value,
            baseline=named["baseline"].value,
        )  # fmt: skip

    for name, control in named.items():
        values = [option[1] if isinstance(option, tuple) else option for option in control.options]
        for value in (values[-1], values[0], values[len(values) // 2]):
            control.value = value
            assert image.value[:8] == b"\x89PNG\r\n\x1a\n", f"{name} = {value} did not draw a PNG"
            assert bytes(image.value) == expected_png(), f"the image does not show {name} = {value}"


def test_every_estimator_and_baseline_at_the_smallest_and_largest_batches(explorer):
    """N = 1 is the hard end: baselines estimated from other episodes have nothing to use."""
    for estimator in ESTIMATORS:
        for baseline in BASELINES:
            for n in (1, explorer.episode_counts[-1]):
                result = explorer.compare(
                    theta_index=(0, 8), gamma=0.8, n_episodes=n, estimator=estimator, baseline=baseline
                )
                np.testing.assert_allclose(result.finite_difference, result.exact, rtol=1e-6, atol=1e-9)
                if n > 1:
                    assert np.all(np.isfinite(result.estimate)) and np.all(np.isfinite(result.standard_error))
                assert (
                    explorer.png(theta_index=(0, 8), gamma=0.8, n_episodes=n, estimator=estimator, baseline=baseline)[
                        :4
                    ]
                    == b"\x89PNG"
                )


def test_large_batches_agree_with_the_exact_gradient(explorer):
    """200 episodes of reward-to-go with the true V: within 4.5 standard errors (2 components, 3 points:
    false-failure probability below 6 × 6.8e-6)."""
    for theta_index in ((0, 0), (4, 4), (8, 2)):
        result = explorer.compare(
            theta_index=theta_index, gamma=1.0, n_episodes=200, estimator="reward-to-go", baseline="true V(s)"
        )
        assert np.all(np.abs(result.estimate - result.exact) < 4.5 * result.standard_error)


def test_static_html_has_one_frame_per_episode_count_and_is_deterministic(explorer):
    page = explorer.static_html(estimator="REINFORCE", baseline="none", n_episodes=20)
    frames = re.findall(r"data:image/png;base64,[A-Za-z0-9+/=]+", page)
    assert len(frames) == len(explorer.episode_counts) + 1  # the frames array, and the initial <img>
    assert 'type="range"' in page and f'max="{len(explorer.episode_counts) - 1}"' in page
    assert "http" not in page, "the static figure must not load anything from the network"
    assert page == explorer.static_html(estimator="REINFORCE", baseline="none", n_episodes=20)


def test_show_offers_the_live_widget_and_the_static_fallback(explorer):
    bundle = pg.figures.show(explorer, n_episodes=10)._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert 'class="pgbook-frames"' in bundle["text/html"]


def test_bad_settings_are_named(explorer):
    with pytest.raises(ValueError, match="estimator must be one of"):
        explorer.compare(theta_index=(0, 0), gamma=1.0, n_episodes=5, estimator="PPO", baseline="none")
    with pytest.raises(ValueError, match=r"n_episodes must lie in \[1, 200\]"):
        explorer.compare(theta_index=(0, 0), gamma=1.0, n_episodes=500, estimator="REINFORCE", baseline="none")
    with pytest.raises(ValueError, match="gamma must be one of"):
        explorer.compare(theta_index=(0, 0), gamma=0.5, n_episodes=5, estimator="REINFORCE", baseline="none")
    with pytest.raises(TypeError, match="unknown settings"):
        explorer.static_html(episodes=5)
    with pytest.raises(ValueError, match="exactly two parameters"):
        pg.figures.GradientExplorer(
            lambda g: pg.envs.short_corridor(g),
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
    assert page.count("data:image/png;base64,") == 4  # three frames in the script, the shown one in the <img>
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
