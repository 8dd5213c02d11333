"""Sampling: the right distribution, terminal states respected, reproducible, and clear errors."""

import numpy as np
import pytest

import pgbook as pg


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_same_seed_same_batch_and_different_seed_different_batch(backend):
    mdp = pg.examples.random_mdp(5, 3, gamma=0.9, seed=0)
    policy = pg.TabularSoftmax(5, 3)
    theta = policy.init_params(seed=0)
    first = pg.sample_episodes(mdp, policy, theta, 50, max_steps=20, seed=1, backend=backend)
    again = pg.sample_episodes(mdp, policy, theta, 50, max_steps=20, seed=1, backend=backend)
    other = pg.sample_episodes(mdp, policy, theta, 50, max_steps=20, seed=2, backend=backend)
    np.testing.assert_array_equal(first.states, again.states)
    np.testing.assert_array_equal(first.actions, again.actions)
    assert not np.array_equal(first.states, other.states)


def test_episodes_stop_at_terminal_states_and_padding_is_empty():
    mdp = pg.examples.gridworld(3, 3, slip=0.2)
    policy = pg.TabularSoftmax(mdp.n_states, mdp.n_actions)
    batch = pg.sample_episodes(mdp, policy, policy.init_params(seed=0), 2_000, max_steps=10_000, seed=0)
    assert batch.terminated.all()
    assert np.all(batch.final_states == 8)
    assert not np.any(mdp.terminal[batch.states[batch.alive]]), "a step was taken from a terminal state"
    # alive is a prefix of each row: once an episode ends it stays ended
    assert np.all(np.diff(batch.alive.astype(int), axis=1) <= 0)
    assert np.all(batch.rewards[~batch.alive] == 0)
    assert batch.alive[:, -1].any(), "the horizon is trimmed to the longest episode"


def test_truncated_episodes_are_marked():
    mdp = pg.examples.short_corridor()
    policy = pg.examples.short_corridor_policy()
    batch = pg.sample_episodes(mdp, policy, pg.examples.corridor_params(0.5), 1_000, max_steps=3, seed=0)
    assert batch.states.shape == (1_000, 3)
    np.testing.assert_array_equal(batch.terminated, mdp.terminal[batch.final_states])
    assert not batch.terminated.all() and batch.terminated.any()  # 3 steps: only right-left... -right ends


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_state_action_frequencies_match_the_exact_visitation(backend):
    """E[Σ_t γ^t 1(s_t = s, a_t = a)] = d(s) π(a|s); each of the 12 cells within 4.5 standard errors
    (false-failure probability below 12 × 6.8e-6 ≈ 1e-4)."""
    mdp = pg.examples.random_mdp(4, 3, gamma=0.8, seed=3, n_terminal=1)
    policy = pg.TabularSoftmax(4, 3)
    theta = policy.init_params(seed=3)
    batch = pg.sample_episodes(mdp, policy, theta, 50_000, max_steps=200, seed=4, backend=backend)
    counts = np.zeros((batch.n_episodes, 4, 3))
    episode = np.broadcast_to(np.arange(batch.n_episodes)[:, None], batch.states.shape)
    np.add.at(
        counts,
        (episode[batch.alive], batch.states[batch.alive], batch.actions[batch.alive]),
        batch.discounts()[batch.alive],
    )
    expected = pg.discounted_visitation(mdp, policy, theta)[:, None] * policy.probabilities(theta)
    mean, error = counts.mean(axis=0), counts.std(axis=0, ddof=1) / np.sqrt(batch.n_episodes)
    live = ~mdp.terminal
    assert np.all(np.abs(mean[live] - expected[live]) < 4.5 * error[live])
    assert np.all(mean[mdp.terminal] == 0)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_mean_return_matches_the_exact_objective(backend):
    mdp, policy = pg.examples.short_corridor(), pg.examples.short_corridor_policy()
    theta = pg.examples.corridor_params(0.6)
    returns = pg.sample_episodes(mdp, policy, theta, 20_000, max_steps=5_000, seed=5, backend=backend).returns()
    assert abs(returns.mean() - pg.exact_objective(mdp, policy, theta)) < 4.5 * returns.std() / np.sqrt(returns.size)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_zero_probability_actions_are_never_sampled(backend):
    mdp = pg.examples.random_mdp(3, 4, gamma=0.5, seed=0)
    policy = pg.TabularSoftmax(3, 4)
    theta = np.zeros((3, 4))
    theta[:, 3] = -1e4  # exp(-1e4) underflows: action 3 has probability exactly 0
    theta[0, 0] = -1e4
    batch = pg.sample_episodes(mdp, policy, theta, 5_000, max_steps=10, seed=0, backend=backend)
    taken = batch.actions[batch.alive]
    assert not np.any(taken == 3)
    assert not np.any((batch.states[batch.alive] == 0) & (taken == 0))


@pytest.mark.parametrize(
    "arguments, error, words",
    [
        (dict(n_episodes=0), ValueError, "n_episodes must be at least 1"),
        (dict(max_steps=0), ValueError, "max_steps must be at least 1"),
        (dict(n_episodes=2.5), TypeError, "n_episodes must be an int"),
        (dict(seed="s"), TypeError, "seed must be an int, a numpy.random.Generator or None"),
        (dict(theta=np.zeros(3)), ValueError, "theta must have shape (3, 2)"),
        (dict(backend="jax"), ValueError, 'backend must be "numpy" or "torch"'),
    ],
)
def test_sample_episodes_rejects(arguments, error, words):
    mdp = pg.examples.random_mdp(3, 2, seed=0)
    policy = pg.TabularSoftmax(3, 2)
    call = dict(theta=np.zeros((3, 2)), n_episodes=5, max_steps=5, seed=0) | arguments
    with pytest.raises(error) as raised:
        pg.sample_episodes(mdp, policy, call.pop("theta"), call.pop("n_episodes"), **call)
    assert words in str(raised.value)


def test_estimators_reject_a_batch_from_another_policy():
    mdp = pg.examples.random_mdp(3, 2, gamma=0.5, seed=0)
    policy = pg.TabularSoftmax(3, 2)
    batch = pg.sample_episodes(mdp, policy, np.zeros((3, 2)), 200, max_steps=5, seed=0)
    never_left = np.array([[0.0, 1e4]] * 3)  # π(action 0) = 0 exactly
    with pytest.raises(ValueError, match=r"probability 0 to action 0 in state \d, taken in episode \d+ at step \d+"):
        pg.reinforce(batch, policy, never_left)
    with pytest.raises(ValueError, match="outside the policy's 2 states"):
        pg.reward_to_go(batch, pg.TabularSoftmax(2, 2), np.zeros((2, 2)))
    with pytest.raises(TypeError, match="batch must be a pgbook.Batch"):
        pg.reinforce({"states": []}, policy, np.zeros((3, 2)))


@pytest.mark.parametrize(
    "call, error, words",
    [
        (
            lambda b, p, t: pg.reinforce(b, p, t, baseline="median"),
            ValueError,
            'baseline must be None, a number, an array V\\[s\\], "mean"',
        ),
        (lambda b, p, t: pg.reinforce(b, p, t, baseline=np.nan), ValueError, "baseline must contain only finite"),
        (lambda b, p, t: pg.reward_to_go(b, p, t, weighting="half"), ValueError, "weighting must be"),
        (
            lambda b, p, t: pg.reward_to_go(b, p, t, baseline=np.zeros(4)),
            ValueError,
            r"baseline must have shape \(3,\)",
        ),
        (
            lambda b, p, t: pg.reward_to_go(b, p, t, baseline="fitted"),
            ValueError,
            'baseline must be None, a number, an array V\\[s\\], "mean"',
        ),
        (lambda b, p, t: pg.advantage_estimator(b, p, t, np.zeros((3, 3))), ValueError, r"advantages must have shape"),
        (
            lambda b, p, t: pg.gae_estimator(b, p, t, values=np.zeros(3), lam=1.5),
            ValueError,
            r"lam must lie in \[0, 1\]",
        ),
        (
            lambda b, p, t: pg.reinforce(b.subset(slice(0, 1)), p, t, baseline="mean"),
            ValueError,
            "at least two episodes",
        ),
        (
            lambda b, p, t: pg.reward_to_go(b.subset(slice(0, 1)), p, t, baseline="learned"),
            ValueError,
            "at least two episodes",
        ),
    ],
)
def test_estimator_arguments_are_checked(call, error, words):
    mdp = pg.examples.random_mdp(3, 2, gamma=0.5, seed=0)
    policy = pg.TabularSoftmax(3, 2)
    batch = pg.sample_episodes(mdp, policy, np.zeros((3, 2)), 20, max_steps=5, seed=0)
    with pytest.raises(error, match=words):
        call(batch, policy, np.zeros((3, 2)))


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_max_steps_is_a_cut_off_not_an_allocation(backend):
    """A billion-step cut-off for episodes that end within a few hundred steps: memory follows the steps
    taken (an up-front allocation would need 1000 × 10⁹ × 25 bytes, and fail)."""
    mdp, policy, theta = (
        pg.examples.short_corridor(),
        pg.examples.short_corridor_policy(),
        pg.examples.corridor_params(0.3),
    )
    batch = pg.sample_episodes(mdp, policy, theta, 1_000, max_steps=10**9, seed=0, backend=backend)
    assert batch.terminated.all()
    assert batch.actions.shape == (1_000, batch.lengths.max())
    short = pg.sample_episodes(mdp, policy, theta, 1_000, max_steps=10_000, seed=0, backend=backend)
    np.testing.assert_array_equal(batch.rewards, short.rewards)  # the cut-off changes nothing it does not cut


def _one_uniform_per_draw_reference(mdp, pi, n_episodes, max_steps, seed):
    """The sampler written plainly: every draw compares one uniform with the whole cumulative row."""
    rng = np.random.default_rng(seed)
    state = (rng.random(n_episodes)[:, None] >= np.cumsum(mdp.initial)[None, :]).sum(axis=1)
    state = np.minimum(state, mdp.n_states - 1)
    states, actions = [], []
    running = np.flatnonzero(~mdp.terminal[state])
    for _ in range(max_steps):
        if not len(running):
            break
        current = state[running]
        cumulative = np.cumsum(pi[current], axis=1)
        action = (rng.random(len(running))[:, None] * cumulative[:, -1:] >= cumulative).sum(axis=1)
        cumulative = np.cumsum(mdp.P[current, action], axis=1)
        successor = (rng.random(len(running))[:, None] * cumulative[:, -1:] >= cumulative).sum(axis=1)
        states.append((running, current))
        actions.append(action)
        state[running] = successor
        running = running[~mdp.terminal[successor]]
    return states, actions, state


@pytest.mark.parametrize("n_states, n_actions", [(3, 2), (12, 3), (200, 20)])
def test_the_guide_tables_draw_exactly_what_the_plain_inverse_cdf_draws(n_states, n_actions):
    """Rows longer than 8 outcomes are searched through a guide table; the draws are the same, draw by draw
    (a difference would show as a different state or action somewhere in 300 episodes)."""
    mdp = pg.examples.random_mdp(n_states, n_actions, gamma=0.95, seed=n_states, n_terminal=1)
    policy = pg.TabularSoftmax(n_states, n_actions)
    theta = policy.init_params(seed=1, scale=3.0)
    batch = pg.sample_episodes(mdp, policy, theta, 300, max_steps=40, seed=5)
    states, actions, final = _one_uniform_per_draw_reference(mdp, policy.probabilities(theta), 300, 40, 5)
    for t, ((running, current), action) in enumerate(zip(states, actions, strict=True)):
        np.testing.assert_array_equal(np.flatnonzero(batch.alive[:, t]), running)
        np.testing.assert_array_equal(batch.states[running, t], current)
        np.testing.assert_array_equal(batch.actions[running, t], action)
    np.testing.assert_array_equal(batch.final_states, final)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_outcomes_of_probability_zero_are_never_drawn_from_long_rows(backend):
    """20 successors, only 3 of them possible (guide-table rows with empty cells and trailing zeros)."""
    n = 20
    P = np.zeros((n, 1, n))
    P[:, 0, [2, 3, 17]] = [0.5, 1e-9, 0.5 - 1e-9]
    mdp = pg.FiniteMDP(P, np.zeros((n, 1)), gamma=0.9, initial=np.full(n, 1 / n))
    batch = pg.sample_episodes(mdp, pg.TabularSoftmax(n, 1), np.zeros((n, 1)), 2_000, max_steps=50, seed=0,
                               backend=backend)  # fmt: skip
    assert set(np.unique(batch.states[:, 1:])) <= {2, 3, 17}


def test_a_max_steps_that_no_memory_could_record_is_refused():
    """A continuing problem never ends: 10¹² steps would be recorded (it ran for ever before)."""
    mdp = pg.examples.random_mdp(4, 2, gamma=0.9, seed=0)
    with pytest.raises(ValueError, match=r"max_steps=1,000,000,000,000 is too long for this problem: from state"):
        pg.sample_episodes(mdp, pg.TabularSoftmax(4, 2), np.zeros((4, 2)), 2, max_steps=10**12, seed=0)


def _kernels():
    """The per-episode loop in plain Python on memoryviews (always), and compiled by numba where numba is
    installed."""
    from pgbook import sampling

    kernels = [pytest.param(sampling._on_memoryviews, id="python")]
    try:
        import numba

        kernels.append(pytest.param(numba.njit(sampling._advance), id="numba"))
    except ImportError:
        kernels.append(pytest.param(None, id="numba", marks=pytest.mark.skip(reason="numba is not installed")))
    return kernels


@pytest.mark.parametrize("kernel", _kernels())
@pytest.mark.parametrize(
    "n_states, n_actions, n_terminal, per_episode",
    [(3, 2, 1, False), (12, 3, 1, False), (40, 12, 1, False), (30, 4, 0, False), (12, 3, 1, True)],
)
def test_the_compiled_loop_draws_exactly_what_the_vectorised_loop_draws(
    kernel, n_states, n_actions, n_terminal, per_episode, monkeypatch
):
    """Small batches are stepped one episode at a time: by a compiled loop where numba is installed (at most
    COMPILED_LOOP_EPISODES episodes), by the same loop in plain Python otherwise (at most PYTHON_LOOP_EPISODES).
    Draw for draw it gives the vectorised loop's batch (short rows and guide tables, episodes that end and
    episodes cut off, one policy per episode), and leaves a generator passed as ``seed`` where the vectorised
    loop leaves it, although it draws its uniforms in chunks."""
    from pgbook import sampling

    mdp = pg.examples.random_mdp(n_states, n_actions, gamma=0.95, seed=n_states, n_terminal=n_terminal)
    policy = pg.TabularSoftmax(n_states, n_actions)
    n_episodes = 9
    if per_episode:
        pi = np.stack([policy.probabilities(policy.init_params(seed=k, scale=3.0)) for k in range(n_episodes)])
    else:
        pi = policy.probabilities(policy.init_params(seed=1, scale=3.0))
    batches, generators = [], []
    for chosen in (None, kernel):
        monkeypatch.setattr(sampling, "_per_episode_loop", lambda n_episodes, chosen=chosen: chosen)
        monkeypatch.setattr(sampling, "_CHUNK", 64)  # many chunks
        generators.append(np.random.default_rng(5))
        batches.append(sampling.simulate(mdp, pi, n_episodes, max_steps=60, seed=generators[-1]))
    vectorised, compiled = batches
    assert vectorised.alive.any() and (n_terminal == 0 or vectorised.terminated.any())
    for name in ("states", "actions", "rewards", "alive", "final_states", "terminated"):
        np.testing.assert_array_equal(getattr(compiled, name), getattr(vectorised, name), err_msg=name)
    assert generators[0].random() == generators[1].random(), "the generator was left elsewhere"


def test_which_loop_steps_a_batch():
    """The vectorised loop for large batches; one episode at a time for small ones, compiled where numba is
    installed, in plain Python for the smallest otherwise."""
    from pgbook import sampling

    compiled = sampling._compiled_loop if sampling._numba_installed() else None
    assert sampling._per_episode_loop(sampling.COMPILED_LOOP_EPISODES + 1) is None
    assert sampling._per_episode_loop(sampling.PYTHON_LOOP_EPISODES) is (compiled or sampling._on_memoryviews)
    assert sampling._per_episode_loop(sampling.PYTHON_LOOP_EPISODES + 1) is compiled


@pytest.mark.parametrize("n_episodes, per_episode", [(3, False), (40, False), (40, True)])
def test_the_compiled_loop_takes_over_with_the_same_draws(n_episodes, per_episode, monkeypatch):
    """Before numba is loaded, a process's first STEPS_BEFORE_NUMBA steps run as they do without numba (plain
    Python for a few episodes, the vectorised loop for more); the batch is the vectorised loop's, with the hand-over
    to the compiled loop in the middle of an episode, and with guide tables of two integer types (which a compiled
    loop takes as one)."""
    from pgbook import sampling

    mdp = pg.examples.random_mdp(30, 12, gamma=0.95, seed=4, n_terminal=1)
    policy = pg.TabularSoftmax(30, 12)
    if per_episode:  # one policy per episode
        pi = np.stack([policy.probabilities(policy.init_params(seed=k, scale=3.0)) for k in range(n_episodes)])
    else:
        pi = policy.probabilities(policy.init_params(seed=2, scale=3.0))
    monkeypatch.setattr(sampling, "STEPS_BEFORE_NUMBA", 7 * n_episodes + 3)
    monkeypatch.setattr(sampling, "_STEPS_WITHOUT_NUMBA", [0])
    monkeypatch.setattr(sampling, "_COMPILED", [])  # numba not loaded yet
    monkeypatch.setattr(sampling, "_CHUNK", 256)
    batches, generators = [], []
    for chosen, guide in ((None, sampling._guide_dtype), (sampling._compiled_loop, lambda k: np.int32 if k > 12
                                                                                     else np.uint16)):  # fmt: skip
        monkeypatch.setattr(sampling, "_per_episode_loop", lambda n, chosen=chosen: chosen)
        monkeypatch.setattr(sampling, "_guide_dtype", guide)
        sampling._TRANSITION_TABLES.clear()
        generators.append(np.random.default_rng(3))
        batches.append(sampling.simulate(mdp, pi, n_episodes, max_steps=90, seed=generators[-1]))
    assert generators[0].random() == generators[1].random(), "the generator was left elsewhere"
    for name in ("states", "actions", "rewards", "alive", "final_states"):
        np.testing.assert_array_equal(batches[1].__dict__[name], batches[0].__dict__[name], err_msg=name)
    # the hand-over came before the end: episodes ended after it, and numba was loaded
    assert sampling._STEPS_WITHOUT_NUMBA[0] >= sampling.STEPS_BEFORE_NUMBA
    assert batches[0].alive[:, 9:].any() and batches[0].terminated.any()
    assert sampling._COMPILED == [sampling._compiled_steps()]  # numba loaded (None where it is not installed)
