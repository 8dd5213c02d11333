"""The gradient explorer the tests draw: the library's (tests/library/test_explorer.py) and the browsers'
(tests/browser) tests of it share this one."""

import pgbook as pg


def small_explorer():
    """The book's corridor on a 3 × 3 θ grid, two discounts, 20 episodes a pool: every option, quickly."""
    grid = pg.figures.GradientGrid(
        lambda gamma: pg.examples.short_corridor(gamma=gamma),
        pg.examples.corridor_recognising_policy(),
        axis_values=[-2.0, 0.0, 2.0],
        gammas=(0.9, 1.0),
        max_steps=1_000,
        pool_size=20,
    )
    return pg.figures.GradientExplorer(grid, parameter_names=("θ₀", "θ₁"))
