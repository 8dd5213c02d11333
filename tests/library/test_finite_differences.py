"""Finite differences: the error orders the docstring promises, measured on functions with known gradients."""

import numpy as np
import pytest

import pgbook as pg


def cubic(theta):
    return float(np.sum(np.sin(theta) * theta**2))


def cubic_gradient(theta):
    return np.cos(theta) * theta**2 + 2 * theta * np.sin(theta)


THETA = np.array([0.3, -1.2, 2.5])


def test_default_central_step_is_near_optimal():
    """At h ≈ ε^(1/3)·max(1, |θ|) the relative error is ≈ 1e-10 (ORACLES.md, finite differences)."""
    error = np.abs(pg.finite_difference(cubic, THETA) - cubic_gradient(THETA)).max()
    assert error < 1e-9


@pytest.mark.parametrize("scheme, order", [("central", 2), ("forward", 1)])
def test_truncation_error_order(scheme, order):
    """Halving h divides the truncation error by 2^order while round-off is negligible (h ≥ 1e-3)."""
    errors = [
        np.abs(pg.finite_difference(cubic, THETA, step=h, scheme=scheme) - cubic_gradient(THETA)).max()
        for h in (1e-2, 5e-3, 2.5e-3)
    ]
    ratios = np.array(errors[:-1]) / np.array(errors[1:])
    np.testing.assert_allclose(ratios, 2.0**order, rtol=0.05)


def test_round_off_dominates_for_tiny_steps():
    """Below the optimal step the error grows again, like ε/h: the other half of the U-shaped curve."""
    default = np.abs(pg.finite_difference(cubic, THETA) - cubic_gradient(THETA)).max()
    tiny = np.abs(pg.finite_difference(cubic, THETA, step=1e-12) - cubic_gradient(THETA)).max()
    assert tiny > 100 * default


def test_cost_is_two_evaluations_per_coordinate():
    calls = []

    def counted(theta):
        calls.append(1)
        return cubic(theta)

    pg.finite_difference(counted, THETA)
    assert len(calls) == 2 * THETA.size
    calls.clear()
    pg.finite_difference(counted, THETA, scheme="forward")
    assert len(calls) == THETA.size + 1


def test_gradient_has_the_shape_of_theta():
    theta = np.arange(6.0).reshape(2, 3)
    gradient = pg.finite_difference(lambda t: float(np.sum(t**2)), theta)
    np.testing.assert_allclose(gradient, 2 * theta, rtol=1e-9)
