r"""The gradient explorer: a Monte-Carlo policy-gradient estimate against the finite-difference and exact
gradients, over the θ-plane, for every discount, number of episodes, estimator and baseline.

The numbers come from a :class:`~pgbook.figures.gradient_grid.GradientGrid` and its
:class:`~pgbook.figures.explorer_table.ExplorerTable`; this module draws the page around them: the landscape of J,
the controls, and one small front-end module (``explorer.js``, plain SVG) that answers every control from the
numbers. The same module serves

- the live widget (:meth:`GradientExplorer.widget`, an anywidget): the kernel sends every number once, when the
  widget is created (the same 0.26 MB the static page embeds), and every control, θ and γ included, is answered
  in the browser; the kernel only hears where the controls are;
- the static figure of the HTML book (:meth:`GradientExplorer.static_html`): the same numbers embedded in the
  page, so every control works without a kernel.

The book's explorer (:func:`corridor_explorer`) loads its table from the file shipped beside this module,
``corridor-explorer.npz`` (computing it takes minutes; ``tests/library/test_explorer.py`` checks that a fresh
computation reproduces it bit for bit, and :func:`corridor_table` writes it anew).
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
from functools import cached_property
from pathlib import Path

import anywidget
import numpy as np
import traitlets
from matplotlib import colormaps
from PIL import Image

from pgbook.figures.explorer_table import ExplorerTable
from pgbook.figures.gradient_grid import BASELINES, ESTIMATORS, OPTIONS, GradientGrid
from pgbook.policies import policy_table

MODULE = (Path(__file__).parent / "explorer.js").read_text()


def _compact(module: str) -> str:
    """``module`` without its comment lines and indentation, outside template literals (whose text is kept as
    written): what every static page embeds, 2.5 kB lighter on each of the book's explorer pages."""
    kept, in_template = [], False
    for line in module.splitlines():
        if in_template:
            kept.append(line)
        elif not line.strip().startswith("//"):
            kept.append(line.strip())
        in_template ^= line.count("`") % 2 == 1
    return "\n".join(line for line in kept if line)


STATIC_MODULE = _compact(MODULE)
CORRIDOR_TABLE = Path(__file__).parent / "corridor-explorer.npz"
"""The book's explorer's table (:func:`corridor_explorer` with its default pool): written by
:func:`corridor_table`, checked against a fresh computation by the tests."""


class GradientExplorer:
    r"""Compare a Monte-Carlo policy-gradient estimate with finite differences and the exact gradient.

    Parameters
    ----------
    grid : GradientGrid
        The problem, the policy's two parameters on a grid, the discounts and the pools of episodes.
    parameter_names : two str
        Axis labels for θ₀ and θ₁.
    table : ExplorerTable, optional
        The grid's estimates as the figure stores them; computed from the grid if not given (minutes for the
        book's grid: :func:`corridor_explorer` loads its own).

    Examples
    --------
    >>> import pgbook as pg
    >>> grid = pg.figures.GradientGrid(pg.examples.short_corridor, pg.examples.corridor_recognising_policy(),
    ...                                axis_values=[-1.0, 1.0], gammas=[1.0], max_steps=1_000, pool_size=20)
    >>> explorer = GradientExplorer(grid, parameter_names=("θ₀", "θ₁"))
    >>> explorer.table.estimates.shape  # (γ, θ₀ index, θ₁ index, option, N, mean and standard error)
    (1, 2, 2, 11, 5, 4)
    >>> 'class="pgbook-explorer"' in explorer.static_html(n_episodes=5)
    True
    """

    def __init__(self, grid: GradientGrid, *, parameter_names: tuple[str, str], table: ExplorerTable | None = None):
        if not isinstance(grid, GradientGrid):
            raise TypeError(f"grid must be a pgbook.figures.GradientGrid; got {type(grid).__name__}")
        self.grid, self.parameter_names = grid, parameter_names
        shape = (*grid.shape, len(OPTIONS), len(grid.episode_counts))
        if table is None:
            table = ExplorerTable.quantised(grid.estimates(), grid.gradients[0])
        elif not isinstance(table, ExplorerTable) or table.cosines.shape != shape:
            raise ValueError(
                f"table must be an ExplorerTable of this grid, cosines of shape {shape}; got "
                f"{getattr(getattr(table, 'cosines', None), 'shape', type(table).__name__)}"
            )
        self.table = table

    @cached_property
    def spec(self) -> dict:
        """What the front end needs besides the numbers: the grids, the labels, and for each γ the landscape
        (a PNG of J coloured by viridis), its contour lines and colour scale (computed once)."""
        from contourpy import contour_generator

        grid = self.grid
        margin = 0.15 * (grid.axis_values[-1] - grid.axis_values[0])  # room for arrows at the grid's edge
        fine = np.linspace(grid.axis_values[0] - margin, grid.axis_values[-1] + margin, 61)
        points = np.stack(np.meshgrid(fine, fine), axis=-1).reshape(-1, 2)  # rows: θ₁; columns: θ₀
        tables = np.stack([policy_table(grid.mdps[grid.gammas[0]], grid.policy, theta) for theta in points])
        low, high = fine[0], fine[-1]
        landscapes = []
        for mdp in grid.mdps.values():  # the policy's table is the same for every γ
            landscape = mdp.objectives(tables).reshape(fine.size, fine.size)
            vmin, vmax = float(np.percentile(landscape, 10)), float(landscape.max())  # not one extreme corner
            colours = colormaps["viridis"](np.clip((landscape - vmin) / (vmax - vmin), 0, 1), bytes=True)[::-1, :, :3]
            buffer = io.BytesIO()
            Image.fromarray(colours).save(buffer, format="png", optimize=True)
            generator = contour_generator(fine, fine, landscape)
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
            axis=grid.axis_values.tolist(), extent=[float(low), float(high)], gammas=list(grid.gammas),
            counts=list(grid.episode_counts), estimators=list(ESTIMATORS), baselines=list(BASELINES),
            options=[list(option) for option in OPTIONS], names=list(self.parameter_names), landscapes=landscapes,
            viridis=[_hex(colour) for colour in colormaps["viridis"](np.linspace(0, 1, 9))],
        )  # fmt: skip

    @cached_property
    def numbers(self) -> dict[str, str]:
        """Every number the view draws, as it receives them (:meth:`ExplorerTable.encoded`; computed once)."""
        return self.table.encoded(*self.grid.gradients)

    def widget(self, **initial) -> ExplorerWidget:
        """The live version: an anywidget drawn by ``explorer.js`` from :attr:`numbers`, sent once."""
        return ExplorerWidget(self, **self._indices(**initial))

    def static_html(self, **initial) -> str:
        """The figure with every control working without a kernel: all the numbers embedded in the page."""
        data = dict(spec=self.spec, state=self._indices(**initial), **self.numbers)
        payload = json.dumps(data, separators=(",", ":"))
        identity = "pgbook-explorer-" + hashlib.sha1(payload.encode()).hexdigest()[:12]
        return f"""<div class="pgbook-explorer" id="{identity}"></div>
<script type="application/json" id="{identity}-data">{html.escape(payload, quote=False)}</script>
<script type="module">
{STATIC_MODULE}
mountStatic(document.getElementById("{identity}"),
            JSON.parse(document.getElementById("{identity}-data").textContent));
</script>"""

    def _indices(self, **initial) -> dict:
        """The controls' initial positions (indices), from settings given as values (``baseline=None`` is the
        label ``"none"``, as in the library's vocabulary)."""
        grid, middle = self.grid, len(self.grid.axis_values) // 2
        settings = dict(
            theta_index=(middle, middle), gamma=grid.gammas[-1], n_episodes=grid.episode_counts[4],
            estimator="REINFORCE", baseline="none",
        )  # fmt: skip
        unknown = set(initial) - set(settings)
        if unknown:
            raise TypeError(f"unknown settings {sorted(unknown)}; expected some of {sorted(settings)}")
        settings.update(initial)
        if settings["baseline"] is None:
            settings["baseline"] = "none"
        for name, options in (
            ("gamma", grid.gammas), ("n_episodes", grid.episode_counts), ("estimator", ESTIMATORS),
            ("baseline", BASELINES),
        ):  # fmt: skip
            if settings[name] not in options:
                raise ValueError(f"{name} must be one of {options}; got {settings[name]!r}")
        return dict(
            theta0=int(settings["theta_index"][0]), theta1=int(settings["theta_index"][1]),
            gamma=grid.gammas.index(settings["gamma"]), n=grid.episode_counts.index(settings["n_episodes"]),
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
        super().__init__(spec=explorer.spec, numbers=explorer.numbers, **indices)


def _hex(colour) -> str:
    return "#" + "".join(f"{round(255 * channel):02x}" for channel in colour[:3])


def corridor_grid(pool_size: int = 1_000, seed: int = 0) -> GradientGrid:
    """The book's explorer's grid: the short corridor with a policy that recognises the switched state.

    θ₀ is the logit of "right" in states 0 and 2, θ₁ the logit of "right" in state 1, where the actions
    are switched; the best policy goes right, left, right (J = −3), which this policy can approach. Its N
    slider goes up to ``pool_size`` episodes (sampled at each of the 81 grid points on first use).
    """
    from pgbook import examples

    return GradientGrid(
        lambda gamma: examples.short_corridor(gamma=gamma),
        examples.corridor_recognising_policy(),
        axis_values=np.linspace(-2.0, 2.0, 9),
        gammas=(0.8, 0.9, 0.95, 1.0),
        max_steps=1_000,
        pool_size=pool_size,
        seed=seed,
    )


def corridor_explorer(pool_size: int = 1_000, seed: int = 0) -> GradientExplorer:
    """The book's explorer, on :func:`corridor_grid`: with the default pool, ready at once (its table is
    loaded from :data:`CORRIDOR_TABLE`); with another, its table is computed, which takes minutes."""
    grid = corridor_grid(pool_size, seed)
    table = ExplorerTable.load(CORRIDOR_TABLE) if (pool_size, seed) == (1_000, 0) else None
    return GradientExplorer(
        grid,
        parameter_names=("θ₀: logit of right in states 0 and 2", "θ₁: logit of right in state 1"),
        table=table,
    )


def corridor_table(path: str | Path = CORRIDOR_TABLE) -> ExplorerTable:
    """Compute the book's explorer's table afresh and write it to ``path`` (by default the file the package
    ships): ``python -c "import pgbook.figures.explorer as e; e.corridor_table()"``, after a change to the
    estimators, the sampler or the grid. Minutes."""
    grid = corridor_grid()
    table = ExplorerTable.quantised(grid.estimates(), grid.gradients[0])
    table.save(path)
    return table
