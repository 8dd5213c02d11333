"""Plain-numpy oracles shared by the library's and the book's tests: nothing here calls pgbook."""

import numpy as np


def central_differences(f, x, h=1e-6):
    """∂f/∂x by central differences, one coordinate at a time, shaped like ``x``."""
    out = np.zeros_like(x, dtype=float)
    for index in np.ndindex(x.shape):
        step = np.zeros_like(x, dtype=float)
        step[index] = h
        out[index] = (f(x + step) - f(x - step)) / (2 * h)
    return out


def chain_arrays(n, n_actions=4):
    """The chain of pgbook.examples.chain (Agarwal et al. §4.3) as P and R, its terminal state dropped (value 0,
    never visited): action 1 moves right, the others back to state 0, and the move into the goal pays 1."""
    P = np.zeros((n, n_actions, n))
    P[:, :, 0] = 1.0
    P[:, 1, 0] = 0.0
    P[np.arange(n - 1), 1, np.arange(1, n)] = 1.0
    R = np.zeros((n, n_actions))
    R[n - 2, 1] = 1.0
    return P[: n - 1, :, : n - 1], R[: n - 1]
