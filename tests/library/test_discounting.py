"""The backward discounted sum (pgbook.discounting) against its definition, summed term by term."""

import numpy as np
import pytest

from pgbook.discounting import discounted_suffix_sums


@pytest.mark.parametrize("shape", [(7,), (3, 11), (2, 3, 5), (4, 0), (3, 1), (1, 1)])
@pytest.mark.parametrize("discount", [0.0, 0.3, 0.9, 1.0])
def test_discounted_suffix_sums_are_the_defining_sums(shape, discount):
    values = np.random.default_rng(len(shape)).standard_normal(shape)
    horizon = shape[-1]
    expected = np.zeros(shape)
    for t in range(horizon):
        expected[..., t] = sum(discount ** (k - t) * values[..., k] for k in range(t, horizon))
    sums = discounted_suffix_sums(values, discount)
    assert sums.shape == shape and sums.flags.c_contiguous
    assert min(sums.strides, default=0) >= 0  # torch refuses negative strides, even along a length-1 axis
    np.testing.assert_allclose(sums, expected, rtol=1e-12, atol=1e-12)


def test_integer_input_gives_float_sums():
    np.testing.assert_array_equal(discounted_suffix_sums(np.array([1, 2, 4]), 0.5), [3.0, 4.0, 4.0])
