r"""Sampling episodes from a finite MDP, vectorized over episodes, into a :class:`Batch` of arrays.

All episodes advance together, one time step per iteration, so the Python loop runs ``max_steps`` times
whatever the number of episodes. Actions and next states are drawn by inverse-CDF sampling from one
uniform number each, through guide tables when there are many outcomes (so that the cost of a step does not
grow with the number of states). The same loop runs on numpy arrays or torch tensors. A few long episodes
would make that loop's per-step overhead the cost: batches of at most ``COMPILED_LOOP_EPISODES`` episodes are
stepped one episode at a time by a loop compiled by numba (a dependency of pgbook), once a process has taken
``STEPS_BEFORE_NUMBA`` steps without it; without numba, batches of at most ``PYTHON_LOOP_EPISODES`` episodes are
stepped by the same loop in plain Python. It draws exactly the same uniforms in the same order, so the batch does
not depend on which loop ran.
"""

from __future__ import annotations

import importlib.util
import weakref
from typing import Any, Literal

import numpy as np

from pgbook.arguments import as_count, as_distributions, as_seed, check_type
from pgbook.batch import Batch
from pgbook.lazy_torch import torch
from pgbook.mdp import FiniteMDP
from pgbook.policies import Params, Policy, policy_table


def sample_episodes(
    mdp: FiniteMDP,
    policy: Policy,
    theta: Params,
    n_episodes: int,
    *,
    max_steps: int,
    seed: int | np.random.Generator | None,
    backend: Literal["numpy", "torch"] = "numpy",
) -> Batch:
    r"""Sample ``n_episodes`` episodes of at most ``max_steps`` steps from :math:`\mu_0` under :math:`\pi_\theta`.

    An episode ends when it reaches a terminal state; one still running after ``max_steps`` steps is cut
    off and marked not ``terminated`` (on a continuing problem every episode is: choose ``max_steps`` so
    that :math:`\gamma^{\mathtt{max\_steps}}` is negligible). A ``max_steps`` whose steps could not be recorded
    (episodes that never end, and more than ``pgbook.sampling.MAX_RECORDED_STEPS`` (10⁹) steps in all) is refused with a
    ``ValueError``. ``backend="torch"`` runs the same loop on torch tensors, with a torch generator seeded from
    ``seed`` (so its episodes differ from numpy's). A draw costs the same whatever the number of states, and
    a small batch of long episodes is stepped by a compiled loop (numba; the same draws).

    Examples
    --------
    >>> import pgbook as pg
    >>> mdp, policy = pg.examples.short_corridor(), pg.examples.short_corridor_policy()
    >>> batch = sample_episodes(mdp, policy, pg.examples.corridor_params(0.5), 20_000, max_steps=1000, seed=0)
    >>> bool(batch.terminated.all()), round(float(batch.returns().mean()), 1)   # J(0.5) = -12
    (True, -12.0)
    """
    pi = policy_table(mdp, policy, theta)
    n_episodes = as_count("n_episodes", n_episodes)
    return simulate(mdp, pi, n_episodes, max_steps=max_steps, seed=seed, backend=backend)


def simulate(
    mdp: FiniteMDP,
    pi: np.ndarray,
    n_episodes: int,
    *,
    max_steps: int,
    seed: int | np.random.Generator | None,
    backend: Literal["numpy", "torch"] = "numpy",
) -> Batch:
    r"""The loop of :func:`sample_episodes`, for a checked policy table ``pi`` of shape (n_states, n_actions),
    or one table per episode, shape (n_episodes, n_states, n_actions) (independent training runs sampled
    side by side, each under its own policy)."""
    check_type("mdp", mdp, FiniteMDP, "a pgbook.FiniteMDP")
    if pi.shape not in ((mdp.n_states, mdp.n_actions), (n_episodes, mdp.n_states, mdp.n_actions)):
        raise ValueError(
            f"pi must have shape {(mdp.n_states, mdp.n_actions)} or {(n_episodes, mdp.n_states, mdp.n_actions)}; "
            f"got {pi.shape}"
        )
    max_steps = as_count("max_steps", max_steps)
    _check_recordable(mdp, pi, n_episodes, max_steps)
    rng = as_seed("seed", seed)
    if backend == "numpy":
        xp, uniform = np, rng.random
    elif backend == "torch":
        generator = torch.Generator().manual_seed(int(rng.integers(2**63 - 1)))
        xp = torch

        def uniform(size: int) -> torch.Tensor:
            return torch.rand(size, generator=generator, dtype=torch.float64)
    else:
        raise ValueError(f'backend must be "numpy" or "torch"; got {backend!r}')

    def to_backend(array: np.ndarray):  # for torch a writable copy: torch refuses read-only numpy memory
        return np.asarray(array) if backend == "numpy" else xp.asarray(np.array(array))

    terminal = to_backend(mdp.terminal)
    state = _InverseCdf(mdp.initial, to_backend).draw(xp.zeros(n_episodes, dtype=xp.int64), uniform(n_episodes))
    running = xp.where(~terminal[state])[0]  # only these episodes are stepped
    transitions = _transition_tables(mdp, backend, to_backend)
    kernel = _per_episode_loop(n_episodes) if backend == "numpy" else None
    if kernel is None:
        steps, _ = _steps_vectorized(mdp, pi, transitions, state, running, max_steps, uniform, to_backend)
        return _padded_batch(mdp, *steps, n_episodes, np.asarray(state))
    pieces = []
    if kernel is _compiled_loop and not _COMPILED and n_episodes > PYTHON_LOOP_EPISODES:
        # before numba is loaded, the vectorised loop takes the process's first steps, as it does without numba
        rent = STEPS_BEFORE_NUMBA - _STEPS_WITHOUT_NUMBA[0]
        if rent > 0 and len(running):
            first = min(max_steps, -(-rent // len(running)))
            steps, running = _steps_vectorized(mdp, pi, transitions, state, running, first, uniform, to_backend)
            _STEPS_WITHOUT_NUMBA[0] += len(steps[0])
            pieces.append(steps)
            max_steps -= len(steps[3])
    if max_steps and len(running):
        restore = isinstance(seed, np.random.Generator)
        pieces.append(_steps_per_episode(kernel, mdp, pi, transitions, state, running, max_steps, rng, restore))
    steps = [np.concatenate([piece[k] for piece in pieces]) if pieces else np.zeros(0, np.int64) for k in range(4)]
    return _padded_batch(mdp, *steps, n_episodes, np.asarray(state))


def _steps_vectorized(mdp, pi, transitions, state, running, max_steps, uniform, to_backend) -> tuple:
    """Advance all running episodes together, one time step per iteration (``state`` is updated in place); the
    steps taken as flat arrays (episode, state, action, in the order taken) and the number taken at each time,
    and the episodes still running."""
    per_episode_policy = pi.ndim == 3
    actions = _InverseCdf(pi, to_backend)
    terminal = to_backend(mdp.terminal)
    # Only the steps taken are recorded (each step: which episodes ran, in which state, taking which action),
    # so memory follows the episodes' actual lengths: max_steps is a cut-off, never an allocation.
    record = []
    for _ in range(max_steps):
        if len(running) == 0:
            break  # every episode has ended
        current = state[running]
        row = running * mdp.n_states + current if per_episode_policy else current
        action = actions.draw(row, uniform(len(running)))
        record.append((running, current, action))
        successor = transitions.draw(current * mdp.n_actions + action, uniform(len(running)))
        state[running] = successor
        ended = terminal[successor]
        if ended.any():  # not on a continuing problem: no copy
            running = running[~ended]
    flat = [
        np.concatenate([np.asarray(step[k]) for step in record]) if record else np.zeros(0, np.int64) for k in range(3)
    ]
    return (*flat, np.array([len(step[0]) for step in record], dtype=np.int64)), running


#: Batches of at most this many episodes are stepped by the compiled loop (numba), one episode at a time, drawing
#: exactly what the vectorised loop draws. Measured on one core (continuing episodes, 4 actions): at 1024 episodes
#: it is 2.0× as fast as the vectorised loop at |S| = 10 and as fast at |S| = 1000; at 2048, 0.8× at |S| = 1000.
COMPILED_LOOP_EPISODES = 1024
#: Without numba, batches of at most this many episodes are stepped by the same loop in plain Python, on
#: memoryviews (for a few episodes it is faster than a dozen numpy calls per step on arrays of that size): at 16
#: episodes 1.1-1.4× as fast as the vectorised loop (|S| = 1000, 10), at 32 episodes 0.65-0.75×.
PYTHON_LOOP_EPISODES = 16
#: Numba is loaded only once a process has taken this many steps (summed over episodes) in the loops that run
#: without it (plain Python for at most ``PYTHON_LOOP_EPISODES`` episodes, 1.6 µs a step, and the vectorised loop
#: above): loading it takes 0.35 s (0.75 s the first time, compiling into its cache), about what these steps cost
#: in plain Python, so that short samplings never load numba (nor its 60 MB) and long ones lose little waiting.
STEPS_BEFORE_NUMBA = 2**17
_STEPS_WITHOUT_NUMBA = [0]  # so far in this process
#: The most uniforms the per-episode loop draws at a time (8 MB).
_CHUNK = 2**20


def _steps_per_episode(kernel, mdp, pi, transitions, state, running, max_steps, rng, restore) -> tuple:
    """:func:`_steps_vectorized` by the per-episode loop ``kernel`` (:func:`_advance`), on the same uniforms in
    the same order: they are drawn in chunks, and when the caller's generator (``restore``) was asked for more
    than the steps used, its state is rewound to where the vectorised loop leaves it."""
    actions = _InverseCdf(pi, np.asarray)
    action_tables, transition_tables = actions.tables, transitions.tables
    if action_tables[1].dtype != transition_tables[1].dtype:  # a compiled loop takes guides of one type
        common = np.promote_types(action_tables[1].dtype, transition_tables[1].dtype)
        action_tables, transition_tables = (
            (cdf, guide.astype(common)) for cdf, guide in (action_tables, transition_tables)
        )
    terminal = np.asarray(mdp.terminal)
    running, pieces = running.copy(), []
    saved = rng.bit_generator.state if restore else None
    leftover, drawn, used, taken, n_running = np.zeros(0), 0, 0, 0, len(running)
    chunk_steps = 64  # doubled at each refill: short episodes draw little, long ones few times
    while taken < max_steps and n_running:
        step, most, python = kernel, _CHUNK // (2 * n_running), STEPS_BEFORE_NUMBA - _STEPS_WITHOUT_NUMBA[0]
        if kernel is _compiled_loop and not _COMPILED and python > 0 and n_running <= PYTHON_LOOP_EPISODES:
            # before numba is loaded, plain Python takes the process's first steps, as it does without numba
            step, most = _on_memoryviews, min(most, python // n_running)
        chunk_steps = min(max_steps - taken, max(1, most), 2 * chunk_steps)
        fresh = rng.random(2 * n_running * chunk_steps)
        u = np.concatenate([leftover, fresh]) if leftover.size else fresh
        drawn += fresh.size
        out = np.empty((3, u.size // 2), dtype=np.int64)
        counts = np.empty(u.size // 2, dtype=np.int64)
        position, n_recorded, n_steps, n_running = step(
            u, state, running, n_running, action_tables, transition_tables, pi.ndim == 3, terminal,
            max_steps - taken, out, counts,
        )  # fmt: skip
        used, taken, leftover = used + position, taken + n_steps, u[position:]
        _STEPS_WITHOUT_NUMBA[0] += n_recorded if step is not kernel else 0
        pieces.append((out[:, :n_recorded], counts[:n_steps]))
    if restore and drawn > used:
        rng.bit_generator.state = saved
        for first in range(0, used, _CHUNK):
            rng.random(min(_CHUNK, used - first))
    if not pieces:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    steps = np.concatenate([out for out, _ in pieces], axis=1)
    return steps[0], steps[1], steps[2], np.concatenate([counts for _, counts in pieces])


def _advance(u, state, running, n_running, actions, transitions, per_episode, terminal, steps_left, out, counts):
    """Step the ``n_running`` episodes ``running[:n_running]`` (``state`` and ``running`` updated in place) one
    time step at a time while ``u`` holds the uniforms of a whole step and fewer than ``steps_left`` steps have
    been taken: at each step an action for every running episode, then a successor for each, in the vectorised
    loop's order. ``actions`` and ``transitions`` are pairs (cumulative table, its guide table, empty for short
    rows) of :class:`_InverseCdf`; a draw is the number of cumulative probabilities ≤ u, found by bisection
    in the guide table's bracket (or the whole row). Records (episode, state, action) in ``out`` and the episodes
    stepped in ``counts``; returns the uniforms used, the steps recorded, the time steps taken and the episodes
    still running. Plain Python: compiled by numba, or run on memoryviews (:func:`_on_memoryviews`)."""
    n_states, n_actions = terminal.shape[0], actions[0].shape[1]
    position, n_recorded, n_steps = 0, 0, 0
    while n_steps < steps_left and n_running > 0 and position + 2 * n_running <= u.shape[0]:
        kept = 0
        for phase in range(2):  # 0: actions, 1: successors
            table, guide = transitions if phase else actions
            n_outcomes, stride = table.shape[1], guide.shape[0] // table.shape[0]  # stride: cells per row + 2
            for i in range(n_running):
                episode, at = running[i], n_recorded + i
                if phase:
                    row = out[1, at] * n_actions + out[2, at]
                else:
                    row = episode * n_states + state[episode] if per_episode else state[episode]
                uniform = u[position + i]
                low, high = 0, n_outcomes - 1
                if guide.shape[0]:
                    cell = row * stride + int(uniform * (stride - 2))
                    low, high = guide[cell], guide[cell + 1]
                while high - low > 1:  # the first outcome whose cumulative probability exceeds u
                    middle = (low + high) // 2
                    if table[row, middle] > uniform:
                        high = middle
                    else:
                        low = middle + 1
                outcome = low + (table[row, low] <= uniform)  # no branch to mispredict when the bracket is narrow
                if phase:
                    state[episode] = outcome
                    if not terminal[outcome]:
                        running[kept] = episode
                        kept += 1
                else:
                    out[0, at], out[1, at], out[2, at] = episode, state[episode], outcome
            position += n_running
        counts[n_steps] = n_running
        n_recorded += n_running
        n_steps += 1
        n_running = kept
    return position, n_recorded, n_steps, n_running


def _per_episode_loop(n_episodes: int):
    """The loop that steps a batch of ``n_episodes`` one episode at a time: :func:`_advance` compiled by numba
    (:func:`_compiled_loop`), or in plain Python on memoryviews, or None (the vectorised loop is faster)."""
    if n_episodes <= COMPILED_LOOP_EPISODES and _numba_installed():
        return _compiled_loop
    return _on_memoryviews if n_episodes <= PYTHON_LOOP_EPISODES else None


def _on_memoryviews(u, state, running, n_running, actions, transitions, per_episode, terminal, steps_left, out,
                    counts):  # fmt: skip
    """:func:`_advance` in plain Python on memoryviews of its arrays (whose items read as Python numbers, ten
    times faster than numpy's scalars)."""
    view = memoryview
    return _advance(
        view(u), view(state), view(running), n_running, tuple(view(table) for table in actions),
        tuple(view(table) for table in transitions), per_episode, view(terminal), steps_left, view(out), view(counts),
    )  # fmt: skip


_COMPILED: list = []
_FOUND: list = []


def _numba_installed() -> bool:
    """Whether numba can be imported, found once without importing it (0.2 s and 60 MB)."""
    if _COMPILED:
        return _COMPILED[0] is not None
    if not _FOUND:
        _FOUND.append(importlib.util.find_spec("numba") is not None)
    return _FOUND[0]


def _compiled_steps():
    """:func:`_advance` compiled by numba (cached on disk where numba can write), or None without numba."""
    if not _COMPILED:
        try:
            import numba
        except ImportError:
            _COMPILED.append(None)
        else:
            try:
                _COMPILED.append(numba.njit(cache=True, nogil=True)(_advance))
            except RuntimeError:  # no writable folder for numba's cache: compile in each process
                _COMPILED.append(numba.njit(nogil=True)(_advance))
    return _COMPILED[0]


def _compiled_loop(*arguments):
    """:func:`_advance` compiled by numba, loaded (or compiled) at the first call; in plain Python if numba,
    although installed, cannot be imported."""
    return (_compiled_steps() or _on_memoryviews)(*arguments)


#: The most steps a batch may hold when its episodes cannot all end (about 25 GB of arrays).
MAX_RECORDED_STEPS = 10**9


def _check_recordable(mdp: FiniteMDP, pi: np.ndarray, n_episodes: int, max_steps: int) -> None:
    """Refuse a ``max_steps`` that no memory could record: one where some episodes never end and
    ``n_episodes * max_steps`` exceeds ``MAX_RECORDED_STEPS``."""
    if n_episodes * max_steps <= MAX_RECORDED_STEPS:
        return
    support = (pi > 0) if pi.ndim == 2 else (pi > 0).any(axis=0)
    moves = np.einsum("sa,sat->st", support.astype(float), mdp.P) > 0
    reaches_end = mdp.terminal.copy()
    while True:
        grown = reaches_end | moves[:, reaches_end].any(axis=1)
        if (grown == reaches_end).all():
            break
        reaches_end = grown
    reachable = mdp.initial > 0
    while True:
        grown = reachable | moves[reachable].any(axis=0)
        if (grown == reachable).all():
            break
        reachable = grown
    endless = np.flatnonzero(reachable & ~reaches_end)
    if endless.size:
        raise ValueError(
            f"max_steps={max_steps:,} is too long for this problem: from state {endless[0]} (reachable from the "
            f"start) the policy never reaches a terminal state, so episodes run for all max_steps steps and "
            f"n_episodes × max_steps = {n_episodes * max_steps:.3g} steps would have to be recorded (at most "
            f"{MAX_RECORDED_STEPS:.0e}); choose max_steps so that gamma**max_steps is negligible "
            f"(gamma = {mdp.gamma:g})"
        )


_TRANSITION_TABLES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _transition_tables(mdp: FiniteMDP, backend: str, to_backend) -> _InverseCdf:
    """The sampling tables of ``mdp.P``, built once per MDP and backend (its arrays are read-only)."""
    cached = _TRANSITION_TABLES.setdefault(mdp, {})
    if backend not in cached or cached[backend][0] is not mdp.P:
        cached[backend] = (mdp.P, _InverseCdf(mdp.P, to_backend))
    return cached[backend][1]


def _padded_batch(
    mdp: FiniteMDP, episodes, states, actions, lengths, n_episodes: int, final_states: np.ndarray
) -> Batch:
    """The steps taken (flat arrays in the order taken; ``lengths[t]`` of them at time t) as a :class:`Batch` of
    padded arrays, shape (n_episodes, longest episode)."""
    horizon = len(lengths)
    # Steps are recorded time-major. The first ``full`` times, at which every episode ran (a prefix: episodes only
    # end), fill a (full, n_episodes) block that a transpose places; the later steps are scattered one by one.
    full = int(np.count_nonzero(lengths == n_episodes))
    dense = full * n_episodes
    where = episodes[dense:] * horizon + np.repeat(np.arange(full, horizon), lengths[full:])

    def place(values: np.ndarray, dtype) -> np.ndarray:
        if full == horizon:  # no episode ended before the last step
            return values.reshape(horizon, n_episodes).T.astype(dtype, order="C")
        padded = np.zeros((n_episodes, horizon), dtype=dtype)
        padded[:, :full] = values[:dense].reshape(full, n_episodes).T
        padded.ravel()[where] = values[dense:]
        return padded

    rewards = mdp.R.ravel()[states * mdp.n_actions + actions]
    episode_lengths = full + np.bincount(episodes[dense:], minlength=n_episodes)
    padded = {"states": place(states, np.int64), "actions": place(actions, np.int64)}
    rewards, alive = place(rewards, np.float64), np.arange(horizon) < episode_lengths[:, None]
    return Batch(
        states=padded["states"],
        actions=padded["actions"],
        rewards=rewards,
        alive=alive,
        final_states=final_states,
        terminated=mdp.terminal[final_states],
        gamma=mdp.gamma,
    )


def _cdf(probabilities: np.ndarray) -> np.ndarray:
    """Cumulative sums along the last axis, divided by their total so that the last entry is exactly 1.

    Trailing zero-probability outcomes then share that exact 1 and are never drawn by ``u < 1``.
    """
    cumulative = np.cumsum(probabilities, axis=-1)
    cumulative /= cumulative[..., -1:]  # in place: one table of |S||A||S| numbers fewer at once
    return cumulative


def _guide_dtype(k: int) -> type:
    """The smallest integers that hold the guide table's counts 0, ..., K: fewer bytes of table to bring from
    memory at each draw (uint16 up to K = 65535)."""
    return np.uint16 if k < 2**16 else np.int32 if k < 2**31 else np.int64


class _InverseCdf:
    r"""Inverse-CDF draws from the rows of a table of distributions (the last axis: the outcomes).

    A draw from row r with a uniform u in [0, 1) is the number of cumulative probabilities :math:`\le u`, the
    first outcome whose cumulative probability exceeds u. Rows of at most ``_DIRECT`` outcomes compare u with
    all of them. Longer rows use a guide table (Chen & Asau 1974; Devroye 1986, §III.2.4): with the cells
    :math:`\lfloor M c \rfloor` of the K cumulative probabilities c (M = 2K cells), ``guide[r, m]`` counts the
    cumulative probabilities of row r in cells below m, so the outcome lies between ``guide[r, m]`` and
    ``guide[r, m + 1]`` for m the cell of u, and a bisection of that bracket finds it. The cost of a draw then
    does not grow with K, and the draws are exactly those of the direct comparison. Twice as many cells as
    outcomes leave 1.5 candidates on average for a row of comparable probabilities, and more than two to 9% of
    the draws (26% with M = K), in a guide table of uint16 half the size of the cumulative table.
    """

    _DIRECT = 8
    _CELLS_PER_OUTCOME = 2

    def __init__(self, probabilities: np.ndarray, to_backend) -> None:
        k = probabilities.shape[-1]
        cdf = _cdf(probabilities).reshape(-1, k)
        self.n_outcomes, self.direct = k, k <= self._DIRECT
        if self.direct:
            # (k, rows): a draw gathers k contiguous rows of indices
            self.columns = to_backend(np.ascontiguousarray(cdf.T))
            self.tables = (cdf, np.zeros(0, dtype=_guide_dtype(k)))  # for the compiled loop (numpy)
            return
        # guide[r, m] = min(#{i : floor(M c[r, i]) < m}, K - 1) for m = 0, ..., M + 1, in chunks of rows.
        cells = self._CELLS_PER_OUTCOME * k
        rows, stride = cdf.shape[0], cells + 2
        guide = np.empty((rows, stride), dtype=_guide_dtype(k))
        chunk = max(1, 2**22 // stride)
        for first in range(0, rows, chunk):
            block = cdf[first : first + chunk]
            where = (block * cells).astype(np.int64) + stride * np.arange(block.shape[0])[:, None]  # floor: c >= 0
            below = np.bincount(where.ravel(), minlength=block.shape[0] * stride).reshape(-1, stride)
            guide[first : first + chunk, 0] = 0
            np.cumsum(below[:, :-1], axis=1, out=guide[first : first + chunk, 1:])
        np.minimum(guide, k - 1, out=guide)  # the last outcome's cumulative probability, 1, exceeds every u
        # torch indexes with int32 or int64, not uint16
        self.cdf, self.stride = to_backend(cdf.ravel()), stride
        self.guide = to_backend(guide.ravel() if isinstance(self.cdf, np.ndarray) else guide.ravel().astype(np.int32))
        self.tables = (cdf, guide.ravel()) if isinstance(self.cdf, np.ndarray) else None  # numpy: views

    def draw(self, rows, u):
        """One outcome per entry of ``rows`` (row indices, numpy or torch), for the uniforms ``u``."""
        numpy = isinstance(u, np.ndarray)
        if self.direct:
            columns = np.take(self.columns, rows, axis=1) if numpy else self.columns[:, rows]
            return (u >= columns).sum(axis=0)
        k = self.n_outcomes
        cell = rows * self.stride + _to_int(u * (self.stride - 2))
        low, high = _to_int(self.guide[cell]), _to_int(self.guide[cell + 1])
        start = rows * k
        # the outcome is the first i in [low, high] with cdf[start + i] > u, and cdf[start + high] > u
        wide = np.flatnonzero(high - low > 1) if numpy else (high - low > 1).nonzero()[:, 0]
        if len(wide):
            low[wide], high[wide] = _bisect(self.cdf, start[wide], low[wide], high[wide], u[wide])
        return low + (self.cdf[start + low] <= u)


def draw_actions(pi: Any, seed: int | np.random.Generator | None) -> np.ndarray:
    r"""One action per row of ``pi`` (shape (n, k), each row a distribution over k actions) by the inverse CDF:
    the first action :math:`a` whose cumulative probability :math:`\sum_{a' \le a} \pi_{a'}` exceeds a uniform
    draw from [0, 1) (from ``seed``, one per row). Actions of probability zero are never drawn.

    Examples
    --------
    >>> draw_actions([[0.0, 1.0], [1.0, 0.0], [0.0, 1.0]], seed=0)
    array([1, 0, 1])
    """
    pi = as_distributions("pi", pi, (None, None))
    return (as_seed("seed", seed).random(pi.shape[0])[:, None] >= _cdf(pi)).sum(axis=1)


def _bisect(cdf, start, low, high, u):
    """Narrow the brackets [low, high] (with cdf[start + high] > u) until high - low ≤ 1."""
    while True:
        open_ = high - low > 1
        if not open_.any():
            return low, high
        middle = (low + high) // 2
        above = cdf[start + middle] > u
        high = _where(open_ & above, middle, high)
        low = _where(open_ & ~above, middle, low)


def _to_int(values):
    """Truncate non-negative numbers (numpy or torch) to int64 indices."""
    return values.astype(np.int64) if isinstance(values, np.ndarray) else values.long()


def _where(condition, chosen, other):
    return (np if isinstance(condition, np.ndarray) else torch).where(condition, chosen, other)
