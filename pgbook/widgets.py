r"""Interactive figures: a Monte-Carlo gradient against the finite-difference and exact gradients.

:class:`GradientExplorer` precomputes, for every θ on its slider grid, one pool of episodes; moving a slider
then only takes the first N episodes of a pool, re-weights them for the chosen γ, estimator and baseline,
and updates the figure's artists in place. The same drawing code serves

- the live widget (:meth:`GradientExplorer.widget`, ipywidgets, with a kernel), and
- the static figure for the HTML book: precomputed frames over the number of episodes with a plain HTML
  range slider (:meth:`GradientExplorer.static_html`), which needs no kernel and no JavaScript library.

:func:`show` displays both in one output: Jupyter shows the live widget; the book's HTML build is told to
prefer the static version (``nb_mime_priority_overrides`` in ``_config.yml``).
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from PIL import Image

from pgbook.estimators import (
    GradientEstimate,
    advantage_estimator,
    fit_state_values,
    reinforce,
    reward_to_go,
    score_sums,
)
from pgbook.evaluation import advantages, exact_objective, policy_table, state_values
from pgbook.gradients import exact_gradient, finite_difference
from pgbook.mdp import FiniteMDP
from pgbook.policies import Policy
from pgbook.sampling import Batch, sample_episodes
from pgbook.stats import cosine_similarity

ESTIMATORS = ("REINFORCE", "reward-to-go", "exact advantage")
BASELINES = ("none", "mean", "optimal", "learned V(s)", "true V(s)")
EPISODE_COUNTS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000)


@dataclass(frozen=True)
class Comparison:
    """The three gradients at one setting of the sliders."""

    exact: np.ndarray
    finite_difference: np.ndarray
    estimate: np.ndarray
    standard_error: np.ndarray
    cosine: float
    n_episodes: int


class GradientExplorer:
    r"""Compare a Monte-Carlo policy-gradient estimate with finite differences and the exact gradient.

    Parameters
    ----------
    mdp_for_gamma : callable
        Returns the problem's :class:`~pgbook.FiniteMDP` for a discount γ (episodes do not depend on γ:
        only the weighting of their rewards does, so one pool of episodes serves every γ).
    policy : Policy
        A policy with two parameters: the figure draws J over the θ-plane.
    axis_values : sequence of float
        The grid of each θ slider; pools are sampled at every point of the grid.
    gammas : sequence of float
    parameter_names : two str
        Axis labels for θ₀ and θ₁.
    max_steps, pool_size, seed
        Episode cut-off, episodes per pool (the largest N on the slider), and the seed of every pool.

    Examples
    --------
    >>> import pgbook as pg
    >>> explorer = pg.widgets.corridor_explorer(pool_size=200)
    >>> result = explorer.compare(theta_index=(4, 2), gamma=1.0, n_episodes=200, estimator="reward-to-go",
    ...                           baseline="true V(s)")
    >>> bool(np.allclose(result.exact, result.finite_difference, rtol=1e-6))
    True
    >>> len(explorer.png(theta_index=(4, 2), gamma=1.0, n_episodes=5, estimator="REINFORCE",
    ...                  baseline="none")) > 1000
    True
    """

    def __init__(
        self,
        mdp_for_gamma: Callable[[float], FiniteMDP],
        policy: Policy,
        *,
        axis_values: Sequence[float],
        gammas: Sequence[float],
        parameter_names: tuple[str, str],
        max_steps: int,
        pool_size: int = EPISODE_COUNTS[-1],
        seed: int = 0,
    ) -> None:
        if policy.param_shape != (2,):
            raise ValueError(f"policy must have exactly two parameters; got shape {policy.param_shape}")
        self.policy = policy
        self.axis_values = np.asarray(axis_values, dtype=float)
        self.gammas = tuple(float(gamma) for gamma in gammas)
        self.parameter_names = parameter_names
        self.episode_counts = tuple(n for n in EPISODE_COUNTS if n < pool_size) + (pool_size,)
        self.mdps = {gamma: mdp_for_gamma(gamma) for gamma in self.gammas}
        sampling_mdp = self.mdps[self.gammas[0]]
        rng = np.random.default_rng(seed)
        self.pools: dict[tuple[int, int], Batch] = {}
        for i, j in np.ndindex(len(self.axis_values), len(self.axis_values)):
            self.pools[i, j] = sample_episodes(
                sampling_mdp, policy, self.theta((i, j)), pool_size, max_steps=max_steps, seed=rng
            )
        margin = 0.15 * (self.axis_values[-1] - self.axis_values[0])  # room for arrows at the grid's edge
        fine = np.linspace(self.axis_values[0] - margin, self.axis_values[-1] + margin, 61)
        self._fine = fine
        self._extent = (fine[0], fine[-1], fine[0], fine[-1])
        grid = np.stack(np.meshgrid(fine, fine), axis=-1).reshape(-1, 2)  # rows: θ₁ = y; columns: θ₀ = x
        tables = np.stack([policy_table(sampling_mdp, policy, theta) for theta in grid])  # the same for every γ
        self.landscapes = {
            gamma: mdp.objectives(tables).reshape(fine.size, fine.size) for gamma, mdp in self.mdps.items()
        }
        self._figure = None

    def theta(self, theta_index: tuple[int, int]) -> np.ndarray:
        """The parameters at grid point (i, j)."""
        return np.array([self.axis_values[theta_index[0]], self.axis_values[theta_index[1]]])

    def compare(
        self, *, theta_index: tuple[int, int], gamma: float, n_episodes: int, estimator: str, baseline: str
    ) -> Comparison:
        """The exact, finite-difference and estimated gradients at one setting of the sliders."""
        if estimator not in ESTIMATORS:
            raise ValueError(f"estimator must be one of {ESTIMATORS}; got {estimator!r}")
        if baseline not in BASELINES:
            raise ValueError(f"baseline must be one of {BASELINES}; got {baseline!r}")
        if gamma not in self.mdps:
            raise ValueError(f"gamma must be one of {self.gammas}; got {gamma}")
        if not 1 <= n_episodes <= self.episode_counts[-1]:
            raise ValueError(f"n_episodes must lie in [1, {self.episode_counts[-1]}]; got {n_episodes}")
        mdp, theta = self.mdps[gamma], self.theta(theta_index)
        batch = replace(self.pools[tuple(theta_index)].subset(slice(0, n_episodes)), gamma=gamma)
        estimate = self._estimate(mdp, batch, theta, estimator, baseline)
        exact = exact_gradient(mdp, self.policy, theta)
        numerical = finite_difference(lambda t: exact_objective(mdp, self.policy, t), theta)
        mean = estimate.mean
        error = estimate.standard_error if n_episodes > 1 else np.full(2, np.nan)
        norms = np.linalg.norm(mean) * np.linalg.norm(exact)
        cosine = cosine_similarity(mean, exact) if norms > 0 else float("nan")
        return Comparison(exact, numerical, mean, error, cosine, n_episodes)

    def _estimate(
        self, mdp: FiniteMDP, batch: Batch, theta: np.ndarray, estimator: str, baseline: str
    ) -> GradientEstimate:
        if estimator == "exact advantage":  # A is already centred: the baseline has nothing to do
            return advantage_estimator(batch, self.policy, theta, advantages(mdp, self.policy, theta))
        if baseline in ("mean", "optimal", "learned V(s)") and batch.n_episodes < 2:  # needs other episodes
            return GradientEstimate(np.full((1, 2), np.nan))
        if baseline in ("learned V(s)", "true V(s)"):
            values = state_values(mdp, self.policy, theta) if baseline == "true V(s)" else "learned"
            if estimator == "reward-to-go":
                return reward_to_go(batch, self.policy, theta, baseline=values)
            # REINFORCE: the start state's value, which no action of the episode can influence
            table = values if baseline == "true V(s)" else fit_state_values(batch, mdp.n_states)
            weights = (batch.returns() - table[batch.states[:, 0]])[:, None] * batch.alive
            return score_sums(batch, self.policy, theta, weights)
        if estimator == "REINFORCE":
            return reinforce(batch, self.policy, theta, baseline=baseline)
        return reward_to_go(batch, self.policy, theta, baseline=baseline)

    # Drawing ------------------------------------------------------------------------------------------

    def png(self, *, compact: bool = False, **settings) -> bytes:
        """The figure for these slider settings (the keywords of :meth:`compare`), as PNG bytes.

        The live widget wants speed (fast, light compression); ``compact=True`` (the static frames embedded
        in the book's pages) quantizes to a 256-colour palette, about a third of the size.
        """
        comparison = self.compare(**settings)
        background = self._draw(comparison, settings["theta_index"], settings["gamma"])
        self._render(background)
        return encode_png(self._figure, compact=compact)

    def _render(self, background: tuple) -> None:
        """Redraw the figure. Only when the background changes (γ, or the bar axis's scale) is everything
        drawn; otherwise the moving artists are drawn over a saved copy of the rest (blitting), several
        times faster, since text (ticks, labels) is most of a full draw."""
        canvas = self._figure.canvas
        if background != self._background_key:
            canvas.draw()  # everything but the animated artists
            self._background = canvas.copy_from_bbox(self._figure.bbox)
            self._background_key = background
        else:
            canvas.restore_region(self._background)
        for artist in self._animated:
            self._figure.draw_artist(artist)

    def _draw(self, comparison: Comparison, theta_index: tuple[int, int], gamma: float) -> tuple:
        """Update every artist for this comparison; return what identifies the static background."""
        if self._figure is None:
            self._build_figure(gamma)
        artists = self._artists
        theta = self.theta(theta_index)
        landscape = self.landscapes[gamma]
        artists["landscape"].set_data(landscape)
        artists["landscape"].set_clim(np.percentile(landscape, 10), landscape.max())  # not one extreme corner
        for contour_gamma, contours in artists["contours"].items():
            contours.set_visible(contour_gamma == gamma)
        scale = 0.25 * (self.axis_values[-1] - self.axis_values[0]) / max(np.linalg.norm(comparison.exact), 1e-12)
        vectors = (comparison.exact, comparison.finite_difference, np.nan_to_num(comparison.estimate))
        for arrow, vector in zip(artists["arrows"], vectors, strict=True):
            arrow.set_offsets(theta[None, :])
            arrow.set_UVC(vector[0] * scale, vector[1] * scale)
        artists["point"].set_data([theta[0]], [theta[1]])
        positions = np.arange(2)
        for bar, height in zip(artists["bars"], comparison.estimate, strict=True):
            bar.set_height(0.0 if np.isnan(height) else height)
        low = comparison.estimate - 2 * comparison.standard_error
        high = comparison.estimate + 2 * comparison.standard_error
        artists["intervals"].set_segments(
            [[(x, lo), (x, hi)] for x, lo, hi in zip(positions, low, high, strict=True) if np.isfinite(lo)]
        )
        artists["exact"].set_offsets(np.column_stack([positions - 0.12, comparison.exact]))
        artists["differences"].set_offsets(np.column_stack([positions + 0.12, comparison.finite_difference]))
        values = np.concatenate([comparison.exact, comparison.finite_difference, low, high])
        values = values[np.isfinite(values)]
        limit = _nice_limit(1.15 * max(np.abs(values).max(), 1e-9))
        artists["bar_axes"].set_ylim(-limit, limit)
        cosine = "undefined" if np.isnan(comparison.cosine) else f"{comparison.cosine:.3f}"
        artists["title"].set_text(
            f"N = {comparison.n_episodes} episodes, γ = {gamma:g}: cosine(estimate, exact) = {cosine}"
        )
        return gamma, limit

    def _build_figure(self, gamma: float) -> None:
        # A pyplot-free figure on its own Agg canvas: no global matplotlib state, no inline display.
        figure = Figure(figsize=(9.5, 3.9))
        FigureCanvasAgg(figure)
        landscape_axes, bar_axes = figure.subplots(1, 2, width_ratios=(1.15, 1))
        image = landscape_axes.imshow(
            self.landscapes[gamma], origin="lower", extent=self._extent, cmap="viridis", aspect="auto"
        )
        figure.colorbar(image, ax=landscape_axes, label="J(θ)", extend="min")
        contours = {}
        for contour_gamma, landscape in self.landscapes.items():
            levels = np.quantile(landscape, np.linspace(0.1, 0.98, 8))
            contours[contour_gamma] = landscape_axes.contour(
                self._fine,
                self._fine,
                landscape,
                levels=np.unique(levels),
                colors="white",
                linestyles="solid",
                linewidths=0.6,
                alpha=0.7,
            )
        arrows = [  # exact (wide, underneath), finite differences (thin, on top), estimate
            landscape_axes.quiver(
                0, 0, 0, 0, color=color, angles="xy", scale_units="xy", scale=1, width=width, zorder=3
            )
            for color, width in (("black", 0.016), ("tab:orange", 0.006), ("tab:red", 0.010))
        ]
        (point,) = landscape_axes.plot([], [], "o", color="white", markeredgecolor="black")
        landscape_axes.set_xlabel(self.parameter_names[0])
        landscape_axes.set_ylabel(self.parameter_names[1])
        landscape_axes.set_title("J(θ) and the three gradients at θ (scaled)", fontsize=10)
        landscape_legend = landscape_axes.legend(
            handles=[
                Line2D([], [], color="black", linewidth=4, label="exact"),
                Line2D([], [], color="tab:orange", linewidth=2, label="finite differences"),
                Line2D([], [], color="tab:red", linewidth=3, label="estimate"),
            ],
            loc="lower left", fontsize=7, framealpha=0.8,
        )  # fmt: skip
        positions = np.arange(2)
        bars = bar_axes.bar(positions, [0.0, 0.0], width=0.5, color="tab:red", alpha=0.45, label="estimate ± 2 SE")
        intervals = LineCollection([], colors="tab:red", linewidths=2)
        bar_axes.add_collection(intervals)
        exact = bar_axes.scatter([0, 1], [0, 0], marker="_", s=500, color="black", linewidths=3, label="exact")
        differences = bar_axes.scatter(
            [0, 1], [0, 0], marker="x", s=60, color="tab:orange", label="finite differences", zorder=3
        )
        bar_axes.axhline(0.0, color="grey", linewidth=0.8)
        bar_axes.set_xticks(positions, ["∂J/∂θ₀", "∂J/∂θ₁"])
        bar_axes.set_xlim(-0.6, 1.6)
        bar_axes.set_ylabel("gradient component")
        bar_legend = bar_axes.legend(loc="upper right", fontsize=8)
        title = figure.suptitle("", fontsize=11)
        figure.tight_layout()
        # What moves from one slider setting to the next, drawn over the saved background in this order
        # (the legends last, so that they stay on top).
        self._animated = [*arrows, point, *bars, intervals, exact, differences, landscape_legend, bar_legend, title]
        for artist in self._animated:
            artist.set_animated(True)
        self._background, self._background_key = None, None
        self._figure = figure
        self._artists = dict(
            landscape=image, contours=contours, arrows=arrows, point=point, bars=bars, intervals=intervals, exact=exact,
            differences=differences, bar_axes=bar_axes, title=title,
        )  # fmt: skip

    # Live and static versions ---------------------------------------------------------------------------

    def widget(self, **initial):
        """The live ipywidgets version: sliders for N, θ₀, θ₁, γ, and menus for estimator and baseline."""
        import ipywidgets as widgets

        settings = self._initial(**initial)
        image = widgets.Image(value=self.png(**settings), format="png")
        n_slider = widgets.SelectionSlider(
            options=self.episode_counts, value=settings["n_episodes"], description="episodes N"
        )
        options = [(f"{value:g}", k) for k, value in enumerate(self.axis_values)]
        theta0 = widgets.SelectionSlider(options=options, value=settings["theta_index"][0], description="θ₀")
        theta1 = widgets.SelectionSlider(options=options, value=settings["theta_index"][1], description="θ₁")
        gamma = widgets.SelectionSlider(options=self.gammas, value=settings["gamma"], description="γ")
        estimator = widgets.Dropdown(options=ESTIMATORS, value=settings["estimator"], description="estimator")
        baseline = widgets.Dropdown(options=BASELINES, value=settings["baseline"], description="baseline")
        controls = (n_slider, theta0, theta1, gamma, estimator, baseline)

        def redraw(_change=None) -> None:
            image.value = self.png(
                theta_index=(theta0.value, theta1.value), gamma=gamma.value, n_episodes=n_slider.value,
                estimator=estimator.value, baseline=baseline.value,
            )  # fmt: skip

        for control in controls:
            control.observe(redraw, names="value")
        return widgets.VBox([widgets.HBox(controls[:3]), widgets.HBox(controls[3:]), image])

    def static_html(self, **initial) -> str:
        """Frames over the number of episodes, with a range slider that works without a kernel."""
        settings = self._initial(**initial)
        frames = [self.png(compact=True, **{**settings, "n_episodes": n}) for n in self.episode_counts]
        theta = self.theta(settings["theta_index"])
        return frames_html(
            frames,
            [str(n) for n in self.episode_counts],
            start=self.episode_counts.index(settings["n_episodes"]),
            slider_name="episodes N",
            caption=f"<em>{html.escape(settings['estimator'])} with baseline {html.escape(settings['baseline'])} at "
            f"θ = {html.escape(str(theta))}, γ = {settings['gamma']:g}.</em> Move the slider to change the number "
            "of episodes N (precomputed; the other controls need a live kernel).",
            alt="Gradient estimate with {} episodes against the exact and finite-difference gradients",
        )

    def _initial(self, **initial) -> dict:
        middle = len(self.axis_values) // 2
        settings = dict(
            theta_index=(middle, middle), gamma=self.gammas[-1], n_episodes=self.episode_counts[4],
            estimator="REINFORCE", baseline="none",
        )  # fmt: skip
        unknown = set(initial) - set(settings)
        if unknown:
            raise TypeError(f"unknown settings {sorted(unknown)}; expected some of {sorted(settings)}")
        settings.update(initial)
        return settings


def _nice_limit(value: float) -> float:
    """The smallest of 1, 2 or 5 × 10^k that is at least ``value``: an axis limit that changes in steps."""
    exponent = np.floor(np.log10(value))
    return float(min(m * 10**exponent for m in (1.0, 2.0, 5.0, 10.0) if m * 10**exponent >= value))


class LiveFigure:
    """One output holding the live widget and its static HTML version; the viewer picks what it can show
    (Jupyter the live widget, the HTML book the static version: ``nb_mime_priority_overrides``)."""

    def __init__(self, live, static: str) -> None:
        self.live, self.static = live, static

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = self.live._repr_mimebundle_(include=include, exclude=exclude)
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        return {**data, "text/html": self.static}


def show(figure: GradientExplorer | FigureFrames, **initial) -> LiveFigure:
    """Display the live widget in Jupyter and the static frames in the HTML book, from one cell."""
    if not isinstance(figure, GradientExplorer | FigureFrames):
        raise TypeError(f"figure must be a GradientExplorer or a FigureFrames; got {type(figure).__name__}")
    return LiveFigure(figure.widget(**initial), figure.static_html(**initial))


class FigureFrames:
    r"""A figure for each value of one slider, drawn once; a live ipywidgets slider and a static HTML slider
    flip through the same frames, so the figure works with or without a kernel and moves instantly.

    Parameters
    ----------
    draw : callable
        ``draw(figure, value)`` draws the figure for one slider value on an empty matplotlib ``Figure``.
    values : sequence
        The slider's values, in order.
    slider_name : str
        The slider's label, for example ``"episodes N"``.
    caption : str
        HTML shown above the static slider: what the figure shows.
    alt : str
        The image's text alternative, with ``{}`` where the slider's value goes.
    labels : sequence of str, optional
        How each value is written (default ``f"{value:g}"``).
    figsize : (float, float)
    start : int
        The index of the value shown first.

    Examples
    --------
    >>> frames = FigureFrames(lambda figure, value: figure.subplots().plot([0, value]), [1.0, 2.0],
    ...                       slider_name="slope", caption="A line.", alt="A line of slope {}")
    >>> len(frames.frames), frames.labels
    (2, ('1', '2'))
    >>> 'type="range"' in frames.static_html()
    True
    """

    def __init__(
        self,
        draw: Callable[[Figure, object], None],
        values: Sequence,
        *,
        slider_name: str,
        caption: str,
        alt: str,
        labels: Sequence[str] | None = None,
        figsize: tuple[float, float] = (9.5, 3.9),
        start: int = 0,
    ) -> None:
        if not callable(draw):
            raise TypeError(f"draw must be a callable draw(figure, value); got {type(draw).__name__}")
        self.values = tuple(values)
        if not self.values:
            raise ValueError("values must hold at least one slider value")
        self.labels = tuple(labels) if labels is not None else tuple(f"{value:g}" for value in self.values)
        if len(self.labels) != len(self.values):
            raise ValueError(f"labels must give one label per value ({len(self.values)}); got {len(self.labels)}")
        if not 0 <= start < len(self.values):
            raise ValueError(f"start must be an index into values, in [0, {len(self.values)}); got {start}")
        self.slider_name, self.caption, self.alt, self.start = slider_name, caption, alt, start
        self.frames = []
        for value in self.values:
            figure = Figure(figsize=figsize)
            FigureCanvasAgg(figure)
            draw(figure, value)
            figure.canvas.draw()
            self.frames.append(encode_png(figure, compact=True))

    def widget(self):
        """The live version: an ipywidgets slider over the precomputed frames."""
        import ipywidgets as widgets

        image = widgets.Image(value=self.frames[self.start], format="png")
        slider = widgets.SelectionSlider(
            options=[(label, k) for k, label in enumerate(self.labels)], value=self.start, description=self.slider_name
        )

        def redraw(_change=None) -> None:
            image.value = self.frames[slider.value]

        slider.observe(redraw, names="value")
        return widgets.VBox([slider, image])

    def static_html(self) -> str:
        """The frames with a plain HTML range slider, for a page without a kernel."""
        return frames_html(
            self.frames, self.labels, start=self.start, slider_name=self.slider_name, caption=self.caption, alt=self.alt
        )


def encode_png(figure: Figure, *, compact: bool = False) -> bytes:
    """The figure's canvas, already drawn, as PNG bytes: fast and light compression for the live widget, or
    ``compact`` (a 256-colour palette, about a third of the size) for frames embedded in the book's pages."""
    image = Image.fromarray(np.asarray(figure.canvas.buffer_rgba()))
    buffer = io.BytesIO()
    if compact:
        image.convert("RGB").quantize(256).save(buffer, format="png", optimize=True)
    else:
        image.save(buffer, format="png", compress_level=1)
    return buffer.getvalue()


def frames_html(
    frames: Sequence[bytes], labels: Sequence[str], *, start: int, slider_name: str, caption: str, alt: str
) -> str:
    """Precomputed PNG frames with a range slider that needs no kernel and no JavaScript library.

    ``caption`` is HTML; ``alt`` holds ``{}`` where the slider's label goes. The element's id is a hash of
    its content, so that two builds give the same page and two figures on one page do not collide.
    """
    sources = ["data:image/png;base64," + base64.b64encode(frame).decode() for frame in frames]
    identity = "pgbook-" + hashlib.sha1(repr((caption, labels, sources)).encode()).hexdigest()[:12]
    before, _, after = alt.partition("{}")
    return f"""<div class="pgbook-frames" id="{identity}">
<p>{caption}</p>
<label>{html.escape(slider_name)} = <output>{html.escape(labels[start])}</output>
<input type="range" min="0" max="{len(sources) - 1}" value="{start}" step="1" style="width: 60%"></label>
<img src="{sources[start]}" alt="{html.escape(alt.format(labels[start]))}" style="max-width: 100%">
<script>
(function () {{
  const root = document.getElementById("{identity}");
  const frames = {json.dumps(sources)};
  const labels = {json.dumps(list(labels))};
  const input = root.querySelector("input"), image = root.querySelector("img"), label = root.querySelector("output");
  input.addEventListener("input", function () {{
    image.src = frames[input.value];
    label.textContent = labels[input.value];
    image.alt = {json.dumps(before)} + labels[input.value] + {json.dumps(after)};
  }});
}})();
</script>
</div>"""


def corridor_explorer(pool_size: int = 1_000, seed: int = 0) -> GradientExplorer:
    """The book's explorer: the short corridor with a policy that recognises the switched state.

    Its slider goes up to ``pool_size`` episodes (sampled at each of the 81 grid points when it is built).

    θ₀ is the logit of "right" in states 0 and 2, θ₁ the logit of "right" in state 1, where the actions
    are switched; the best policy goes right, left, right (J = −3), which this policy can approach.
    """
    from pgbook import envs

    policy = envs.corridor_recognising_policy()
    return GradientExplorer(
        lambda gamma: envs.short_corridor(gamma=gamma),
        policy,
        axis_values=np.linspace(-2.0, 2.0, 9),
        gammas=(0.8, 0.9, 0.95, 1.0),
        parameter_names=("θ₀: logit of right in states 0 and 2", "θ₁: logit of right in state 1"),
        max_steps=1_000,
        pool_size=pool_size,
        seed=seed,
    )
