r"""The gradient explorer: a Monte-Carlo policy-gradient estimate against the finite-difference and exact
gradients, over the θ-plane, for every discount, number of episodes, estimator and baseline.

Python computes every number (:meth:`GradientExplorer.table`); one small front-end module
(``explorer.js``, plain SVG) draws them and answers the controls. The same module serves

- the live widget (:meth:`GradientExplorer.widget`, an anywidget): the kernel sends every number once, when the
  widget is created (the same 0.26 MB the static page embeds; the kernel has computed them all by then), and
  every control, θ and γ included, is answered in the browser; the kernel only hears where the controls are;
- the static figure of the HTML book (:meth:`GradientExplorer.static_html`): the same numbers embedded in the
  page, so every control works without a kernel.

Quantisation of the embedded numbers, chosen so that no number the figure prints changes: means and standard
errors are stored as float16 in units of the exact gradient's norm at their θ and γ (relative error at most
2⁻¹¹ ≈ 0.05%, no overflow or subnormals: under a tenth of a pixel on the bar chart; the figure prints no mean or
standard error, since float16 would move their third significant digit in a few percent of settings); the
cosine, which it prints to three decimals, as that rounded value (an int16 of 1000 × cos); the exact and
finite-difference gradients, of which there are few, as float32. The cosines are sent as their difference from
the cosine the view computes from the float16 means (98% of them zero); in the page, the table (in the order that
compresses best, :data:`STATIC_ORDER`) and the cosines are split into byte planes and zlib-compressed (the
browser's DecompressionStream inflates them). All of this is lossless for the numbers stored: the book's figure
weighs 0.32 MB in the page (0.43 MB with the cosines and the table in its own order, as they were).
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import os
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

import anywidget
import numpy as np
import traitlets
from matplotlib import colormaps
from PIL import Image

from pgbook.batch import Batch
from pgbook.estimators import advantage_estimator, reinforce, reward_to_go
from pgbook.evaluation import advantages, exact_objective, state_values
from pgbook.finite_differences import finite_difference
from pgbook.gradient_estimate import GradientEstimate
from pgbook.gradients import exact_gradient
from pgbook.mdp import FiniteMDP
from pgbook.policies import Policy, policy_table
from pgbook.sampling import sample_episodes
from pgbook.stats import cosine_similarity

ESTIMATORS = ("REINFORCE", "reward-to-go", "exact advantage")
BASELINES = ("none", "mean", "optimal", "learned V(s)", "true V(s)")
BATCH_BASELINES = ("mean", "optimal", "learned V(s)")  # estimated from the batch's other episodes
NO_COSINE = -32768  # stored where the cosine is undefined (no estimate, or a zero vector)
EPISODE_COUNTS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000)
# The static page's table, axes (γ, θ₀, θ₁, option, N, component), is stored in the order (component, N, option,
# θ₀, θ₁, γ): neighbouring values then differ least (the same component, N and option at nearby θ and γ), and it
# compresses best of the orders with the component first (259 kB against 293 kB in the table's own order).
STATIC_ORDER = (5, 4, 3, 1, 2, 0)
MODULE = (Path(__file__).parent / "explorer.js").read_text()
# The estimator-and-baseline options, in the order of the table: exact advantage ignores the baseline (A is
# already centred), so it has one row.
OPTIONS = tuple((estimator, baseline) for estimator in ESTIMATORS[:2] for baseline in BASELINES) + (
    ("exact advantage", "none"),
)


@dataclass(frozen=True)
class Comparison:
    """The three gradients at one setting of the controls."""

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
    >>> from pgbook.figures import corridor_explorer
    >>> explorer = corridor_explorer(pool_size=20)
    >>> result = explorer.compare(theta_index=(4, 2), gamma=1.0, n_episodes=20, estimator="reward-to-go",
    ...                           baseline="true V(s)")
    >>> bool(np.allclose(result.exact, result.finite_difference, rtol=1e-6))
    True
    >>> explorer.episode_counts  # the N grid: explorer.table has shape (4 γ, 9, 9 θ, 11 options, 5 N, 4)
    (1, 2, 5, 10, 20)
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
        pool_size: int = 1_000,
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
        self._fine = np.linspace(self.axis_values[0] - margin, self.axis_values[-1] + margin, 61)
        grid = np.stack(np.meshgrid(self._fine, self._fine), axis=-1).reshape(-1, 2)  # rows: θ₁; columns: θ₀
        tables = np.stack([policy_table(sampling_mdp, policy, theta) for theta in grid])  # the same for every γ
        self.landscapes = {
            gamma: mdp.objectives(tables).reshape(self._fine.size, self._fine.size) for gamma, mdp in self.mdps.items()
        }

    def theta(self, theta_index: tuple[int, int]) -> np.ndarray:
        """The parameters at grid point (i, j)."""
        return np.array([self.axis_values[theta_index[0]], self.axis_values[theta_index[1]]])

    def compare(
        self, *, theta_index: tuple[int, int], gamma: float, n_episodes: int, estimator: str, baseline: str
    ) -> Comparison:
        """The exact, finite-difference and estimated gradients at one setting of the controls.

        Under ``"exact advantage"`` the baseline is ignored (the advantage is already centred).
        """
        if estimator not in ESTIMATORS:
            raise ValueError(f"estimator must be one of {ESTIMATORS}; got {estimator!r}")
        if baseline not in BASELINES:
            raise ValueError(f"baseline must be one of {BASELINES}; got {baseline!r}")
        if gamma not in self.mdps:
            raise ValueError(f"gamma must be one of {self.gammas}; got {gamma}")
        if not 1 <= n_episodes <= self.episode_counts[-1]:
            raise ValueError(f"n_episodes must lie in [1, {self.episode_counts[-1]}]; got {n_episodes}")
        mdp, theta = self.mdps[gamma], self.theta(theta_index)
        exact = exact_gradient(mdp, self.policy, theta)
        numerical = finite_difference(lambda t: exact_objective(mdp, self.policy, t), theta)
        batch = self._first(theta_index, n_episodes, gamma)
        estimate = self._estimate(batch, theta, estimator, baseline, *self._tables(mdp, theta))
        mean = estimate.mean
        error = estimate.standard_error if n_episodes > 1 else np.full(2, np.nan)
        return Comparison(exact, numerical, mean, error, _cosine(mean, exact), n_episodes)

    def _tables(self, mdp: FiniteMDP, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The true V(s) and A(s, a) at θ: the true baseline and the exact advantage."""
        return state_values(mdp, self.policy, theta), advantages(mdp, self.policy, theta)

    def _first(self, theta_index: tuple[int, int], n_episodes: int, gamma: float) -> Batch:
        """The first ``n_episodes`` of the pool at θ, weighted by γ, cut to their longest episode."""
        batch = self.pools[tuple(theta_index)].subset(slice(0, n_episodes))
        horizon = max(int(batch.lengths.max()), 1)
        return replace(
            batch, states=batch.states[:, :horizon], actions=batch.actions[:, :horizon],
            rewards=batch.rewards[:, :horizon], alive=batch.alive[:, :horizon], gamma=gamma,
        )  # fmt: skip

    def _estimate(
        self, batch: Batch, theta: np.ndarray, estimator: str, baseline: str, values: np.ndarray, advantage: np.ndarray
    ) -> GradientEstimate:
        """The library's estimator for this option (``values``, ``advantage``: the true V and A at θ)."""
        if estimator == "exact advantage":
            return advantage_estimator(batch, self.policy, theta, advantage)
        if baseline in BATCH_BASELINES and batch.n_episodes < 2:  # needs other episodes
            return GradientEstimate(np.full((1, 2), np.nan))
        option = {"learned V(s)": "learned", "true V(s)": values}.get(baseline, baseline)
        if estimator == "REINFORCE":  # a state-value baseline: the start state's value
            return reinforce(batch, self.policy, theta, baseline=option)
        return reward_to_go(batch, self.policy, theta, baseline=option)

    # The numbers the figure draws -------------------------------------------------------------------------

    @cached_property
    def table(self) -> np.ndarray:
        """Every estimate the figure can show, shape (γ, θ₀ index, θ₁ index, option, N, 4): the two components of
        the mean and of its standard error (NaN where undefined: N = 1, or a baseline that needs other episodes).
        Options are :data:`OPTIONS`; computed once, on first use."""
        side, counts = len(self.axis_values), self.episode_counts
        table = np.full((len(self.gammas), side, side, len(OPTIONS), len(counts), 4), np.nan)
        for g, i, j in np.ndindex(table.shape[:3]):
            mdp, theta = self.mdps[self.gammas[g]], self.theta((i, j))
            tables = self._tables(mdp, theta)
            for k, option in enumerate(OPTIONS):
                if option[1] in BATCH_BASELINES:  # each episode's sample depends on the others: one batch per N
                    estimates = [
                        self._estimate(self._first((i, j), n, mdp.gamma), theta, *option, *tables) for n in counts
                    ]
                else:  # each episode's sample is its own: the first N of the whole pool's
                    samples = self._estimate(self._first((i, j), counts[-1], mdp.gamma), theta, *option, *tables)
                    estimates = [GradientEstimate(samples.per_episode[:n]) for n in counts]
                for m, (n, estimate) in enumerate(zip(counts, estimates, strict=True)):
                    table[g, i, j, k, m, :2] = estimate.mean
                    if n > 1:
                        table[g, i, j, k, m, 2:] = estimate.standard_error
        return table

    @cached_property
    def gradients(self) -> tuple[np.ndarray, np.ndarray]:
        """The exact and finite-difference gradients at every grid point, each of shape (γ, θ₀ index, θ₁ index, 2)."""
        shape = (len(self.gammas), len(self.axis_values), len(self.axis_values), 2)
        exact, numerical = np.empty(shape), np.empty(shape)
        for g, i, j in np.ndindex(shape[:3]):
            mdp, theta = self.mdps[self.gammas[g]], self.theta((i, j))
            exact[g, i, j] = exact_gradient(mdp, self.policy, theta)
            numerical[g, i, j] = finite_difference(lambda t, mdp=mdp: exact_objective(mdp, self.policy, t), theta)
        return exact, numerical

    @cached_property
    def cosines(self) -> np.ndarray:
        """cos(estimate, exact) for every entry of :attr:`table`, rounded to the three decimals the figure prints,
        as an int16 of 1000 × cos (:data:`NO_COSINE` where undefined), shape (γ, θ₀ index, θ₁ index, option, N)."""
        exact = self.gradients[0][:, :, :, None, None, :]
        means = self.table[..., :2]
        norms = np.linalg.norm(means, axis=-1) * np.linalg.norm(exact, axis=-1)
        defined = np.isfinite(norms) & (norms > 0)
        cosines = np.divide((means * exact).sum(-1), norms, out=np.zeros(norms.shape), where=defined)
        return np.where(defined, np.round(1000 * cosines), NO_COSINE).astype(np.int16)

    def _scaled(self, table: np.ndarray, exact: np.ndarray) -> np.ndarray:
        """Means and standard errors in units of the exact gradient's norm at their point, as float16 (what is
        stored)."""
        scale = np.maximum(np.linalg.norm(exact, axis=-1), 1e-12)
        return (table / scale.reshape(scale.shape + (1,) * (table.ndim - scale.ndim))).astype("<f2")

    @cached_property
    def numbers(self) -> dict[str, str]:
        """Every number the view draws, as it receives them (live and static alike): the exact and
        finite-difference gradients as float32, the scaled table as float16 in the order :data:`STATIC_ORDER`,
        and the printed cosines as their difference from what the view computes from those
        (:func:`_cosine_residuals`: almost all zero); the last two as zlib-compressed byte planes
        (:func:`_encode`), base64."""
        exact, numerical = (gradients.astype("<f4") for gradients in self.gradients)
        table = self._scaled(self.table, exact)
        return dict(
            exact=_encode(exact, "<f4"), fd=_encode(numerical, "<f4"),
            table=_encode(table.transpose(STATIC_ORDER), "<f2", compress=True),
            cosines=_encode(_cosine_residuals(table, exact, self.cosines), "<i2", compress=True),
        )  # fmt: skip

    def spec(self) -> dict:
        """What the front end needs besides the numbers: the grids, the labels, and for each γ the landscape
        (a PNG of J coloured by viridis), its contour lines and colour scale."""
        from contourpy import contour_generator

        low, high = self._fine[0], self._fine[-1]
        landscapes = []
        for gamma in self.gammas:
            landscape = self.landscapes[gamma]
            vmin, vmax = float(np.percentile(landscape, 10)), float(landscape.max())  # not one extreme corner
            colours = colormaps["viridis"](np.clip((landscape - vmin) / (vmax - vmin), 0, 1), bytes=True)[::-1, :, :3]
            buffer = io.BytesIO()
            Image.fromarray(colours).save(buffer, format="png", optimize=True)
            generator = contour_generator(self._fine, self._fine, landscape)
            lines = []
            for level in np.unique(np.quantile(landscape, np.linspace(0.1, 0.98, 8))):
                for line in generator.lines(level):
                    points = np.rint(1000 * (line - low) / (high - low)).astype(int)  # thousandths of [0, 1]², y up
                    lines.append(points[:: max(1, len(points) // 40)].ravel().tolist())  # ≤ ~40 points a line
            landscapes.append(dict(
                image="data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode(),
                contours=lines, vmin=vmin, vmax=vmax,
            ))  # fmt: skip
        return dict(
            axis=self.axis_values.tolist(), extent=[float(low), float(high)], gammas=list(self.gammas),
            counts=list(self.episode_counts), estimators=list(ESTIMATORS), baselines=list(BASELINES),
            options=[list(option) for option in OPTIONS], names=list(self.parameter_names), landscapes=landscapes,
            viridis=[_hex(colour) for colour in colormaps["viridis"](np.linspace(0, 1, 9))],
        )  # fmt: skip

    # Live and static versions -----------------------------------------------------------------------------

    def widget(self, **initial) -> ExplorerWidget:
        """The live version: an anywidget drawn by ``explorer.js`` from :attr:`numbers`, sent once."""
        return ExplorerWidget(self, **self._indices(**initial))

    def static_html(self, **initial) -> str:
        """The figure with every control working without a kernel: all the numbers embedded in the page."""
        data = dict(spec=self.spec(), state=self._indices(**initial), **self.numbers)
        payload = json.dumps(data, separators=(",", ":"))
        identity = "pgbook-explorer-" + hashlib.sha1(payload.encode()).hexdigest()[:12]
        return f"""<div class="pgbook-explorer" id="{identity}"></div>
<script type="application/json" id="{identity}-data">{html.escape(payload, quote=False)}</script>
<script type="module">
{MODULE}
mountStatic(document.getElementById("{identity}"),
            JSON.parse(document.getElementById("{identity}-data").textContent));
</script>"""

    def _indices(self, **initial) -> dict:
        """The controls' initial positions (indices), from settings given as values."""
        middle = len(self.axis_values) // 2
        settings = dict(
            theta_index=(middle, middle), gamma=self.gammas[-1], n_episodes=self.episode_counts[4],
            estimator="REINFORCE", baseline="none",
        )  # fmt: skip
        unknown = set(initial) - set(settings)
        if unknown:
            raise TypeError(f"unknown settings {sorted(unknown)}; expected some of {sorted(settings)}")
        settings.update(initial)
        for name, options in (
            ("gamma", self.gammas), ("n_episodes", self.episode_counts), ("estimator", ESTIMATORS),
            ("baseline", BASELINES),
        ):  # fmt: skip
            if settings[name] not in options:
                raise ValueError(f"{name} must be one of {options}; got {settings[name]!r}")
        return dict(
            theta0=int(settings["theta_index"][0]), theta1=int(settings["theta_index"][1]),
            gamma=self.gammas.index(settings["gamma"]), n=self.episode_counts.index(settings["n_episodes"]),
            estimator=ESTIMATORS.index(settings["estimator"]), baseline=BASELINES.index(settings["baseline"]),
        )  # fmt: skip


class ExplorerWidget(anywidget.AnyWidget):
    """The live explorer: the kernel sends every number once (``numbers``: :attr:`GradientExplorer.numbers`), and
    the view answers every control from them; the controls' positions are synchronised with the kernel (read
    them, or set them, from Python)."""

    _esm = MODULE + "\nexport default { render: renderLive };\n"
    spec = traitlets.Dict().tag(sync=True)
    numbers = traitlets.Dict().tag(sync=True)
    theta0 = traitlets.Int().tag(sync=True)
    theta1 = traitlets.Int().tag(sync=True)
    gamma = traitlets.Int().tag(sync=True)
    n = traitlets.Int().tag(sync=True)
    estimator = traitlets.Int().tag(sync=True)
    baseline = traitlets.Int().tag(sync=True)

    def __init__(self, explorer: GradientExplorer, **indices) -> None:
        super().__init__(spec=explorer.spec(), numbers=explorer.numbers, **indices)


def _cosine(mean: np.ndarray, exact: np.ndarray) -> float:
    return cosine_similarity(mean, exact) if np.linalg.norm(mean) * np.linalg.norm(exact) > 0 else float("nan")


def _cosine_residuals(table: np.ndarray, exact: np.ndarray, cosines: np.ndarray) -> np.ndarray:
    """The printed cosines (int16 of 1000 × cos, :data:`NO_COSINE` where undefined) less the view's own estimate
    of them from the stored float16 means ``table[..., :2]`` and float32 ``exact``, computed as the view does
    (IEEE double, the same operations in the same order, JavaScript's rounding ``floor(x + 0.5)``; 0 where the
    view finds the cosine undefined). The view adds them back: the printed cosine is exact, and the residuals,
    almost all zero, compress to almost nothing."""
    means, exact = table[..., :2].astype(float), exact.astype(float)[..., None, None, :]
    dot = means[..., 0] * exact[..., 0] + means[..., 1] * exact[..., 1]
    norms = np.sqrt(means[..., 0] * means[..., 0] + means[..., 1] * means[..., 1]) * np.sqrt(
        exact[..., 0] * exact[..., 0] + exact[..., 1] * exact[..., 1]
    )
    defined = np.isfinite(norms) & (norms > 0)
    estimate = np.where(
        defined, np.floor(1000 * np.divide(dot, norms, out=np.zeros(norms.shape), where=defined) + 0.5), 0
    )
    return np.where(cosines == NO_COSINE, NO_COSINE, cosines - estimate).astype(np.int16)


def _encode(values: np.ndarray, dtype: str, *, compress: bool = False) -> str:
    """Base64 of the values, flattened, as little-endian ``dtype`` (float16, float32, int16); ``compress``:
    their bytes split into planes (every value's first byte, then every second byte: the sign-and-exponent
    bytes, which vary little, together) and zlib-compressed (the view inflates them with the browser's
    DecompressionStream and interleaves the planes again). Lossless: the planes only compress better."""
    values = np.asarray(values, dtype=dtype).ravel()
    if not compress:
        return base64.b64encode(values.tobytes()).decode()
    planes = values.view(np.uint8).reshape(values.size, values.itemsize).T
    return base64.b64encode(zlib.compress(planes.tobytes(), 9)).decode()


def _hex(colour) -> str:
    return "#" + "".join(f"{round(255 * channel):02x}" for channel in colour[:3])


BUILD_CACHE = "PGBOOK_BUILD_CACHE"
"""The environment variable naming a folder that one book build's chapters share (``make book`` and the tests'
build set it to a fresh folder per build): four chapters show the same corridor explorer, and its table is
computed once per build instead of four times. Unset (a notebook, a user's script): nothing is shared."""


def corridor_explorer(pool_size: int = 1_000, seed: int = 0) -> GradientExplorer:
    """The book's explorer: the short corridor with a policy that recognises the switched state.

    Its N slider goes up to ``pool_size`` episodes (sampled at each of the 81 grid points when it is built).

    θ₀ is the logit of "right" in states 0 and 2, θ₁ the logit of "right" in state 1, where the actions
    are switched; the best policy goes right, left, right (J = −3), which this policy can approach.
    """
    from pgbook import examples

    policy = examples.corridor_recognising_policy()
    explorer = GradientExplorer(
        lambda gamma: examples.short_corridor(gamma=gamma),
        policy,
        axis_values=np.linspace(-2.0, 2.0, 9),
        gammas=(0.8, 0.9, 0.95, 1.0),
        parameter_names=("θ₀: logit of right in states 0 and 2", "θ₁: logit of right in state 1"),
        max_steps=1_000,
        pool_size=pool_size,
        seed=seed,
    )
    if directory := os.environ.get(BUILD_CACHE):
        _share_table(explorer, Path(directory) / f"corridor-explorer-{pool_size}-{seed}.npy")
    return explorer


def _share_table(explorer: GradientExplorer, path: Path) -> None:
    """Give ``explorer`` the table stored at ``path`` by an earlier chapter of this build, or compute it and store
    it there (written to a temporary name and renamed, so a reader never sees half a file)."""
    if path.exists():
        explorer.__dict__["table"] = np.load(path)  # where functools.cached_property keeps its value
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.stem}.{os.getpid()}.partial.npy")
    np.save(partial, explorer.table)
    partial.replace(path)
