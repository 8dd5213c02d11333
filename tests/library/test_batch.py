"""Batch (pgbook.batch): episodes as padded arrays, validated at construction, and the returns they imply."""

import numpy as np
import pytest

import pgbook as pg

from cases import corridor_batch


def test_returns_to_go_are_discounted_suffix_sums():
    mdp = pg.examples.random_mdp(3, 2, gamma=0.7, seed=0)
    policy = pg.TabularSoftmax(3, 2)
    batch = pg.sample_episodes(mdp, policy, policy.init_params(seed=0), 5, max_steps=6, seed=0)
    to_go = batch.returns_to_go()
    for i in range(5):
        for t in range(6):
            expected = sum(0.7 ** (k - t) * batch.rewards[i, k] for k in range(t, 6))
            assert np.isclose(to_go[i, t], expected, rtol=1e-12)
    np.testing.assert_allclose(batch.returns(), to_go[:, 0], rtol=1e-12)


def zero_batch(n_episodes, *, reward_steps=3, gamma=0.9):
    """A batch of all-zero arrays, three steps long (the rewards ``reward_steps`` long)."""
    steps = (n_episodes, 3)
    return pg.Batch(
        np.zeros(steps, int),
        np.zeros(steps, int),
        np.zeros((n_episodes, reward_steps)),
        np.zeros(steps, bool),
        np.zeros(n_episodes, int),
        np.zeros(n_episodes, bool),
        gamma,
    )


def test_batch_rejects_empty_and_mismatched_arrays():
    with pytest.raises(ValueError, match="batch has no episodes"):
        zero_batch(0)
    with pytest.raises(ValueError, match=r"rewards must have shape \(2, 3\)"):
        zero_batch(2, reward_steps=4)
    with pytest.raises(ValueError, match="gamma must lie in"):
        zero_batch(2, gamma=2.0)


def edited(**arrays):
    from dataclasses import replace

    batch = corridor_batch()
    changes = {}
    for name, edit in arrays.items():
        array = np.array(getattr(batch, name))
        changes[name] = edit(array, batch)
    return lambda: replace(batch, **changes)


def set_at(index, value):
    def edit(array, batch):
        array[index] = value
        return array

    return edit


@pytest.mark.parametrize(
    "make, error, words",
    [
        # a reward in the padding would make returns() disagree with the episode (12.673 for a return of 1.9)
        (
            edited(rewards=lambda r, b: np.where(b.alive, r, 1.0)),
            ValueError,
            r"rewards must hold 0 in the padding after an episode's end; got 1.0",
        ),
        (
            edited(alive=lambda a, b: np.where(np.arange(a.shape[1]) == 1, False, a)),
            ValueError,
            "alive must be True on each episode's steps and False after its end; episode 0 is alive again at step 2",
        ),
        (
            edited(states=set_at((0, 0), -1)),
            ValueError,
            r"states must hold non-negative indices; got -1 at index \(0, 0\)",
        ),
        (edited(states=lambda s, b: s.astype(float)), TypeError, "states must be an array of integer indices"),
        (edited(actions=set_at((0, 0), -2)), ValueError, "actions must hold non-negative indices"),
        (edited(final_states=set_at(0, -1)), ValueError, "final_states must hold non-negative indices"),
        (
            edited(rewards=set_at((0, 0), np.nan)),
            ValueError,
            r"rewards must hold finite numbers; got nan at index \(0, 0\)",
        ),
        (edited(alive=lambda a, b: a.astype(int)), TypeError, "alive must be a boolean array"),
        (edited(terminated=lambda a, b: a.astype(float)), TypeError, "terminated must be a boolean array"),
    ],
    ids=[
        "reward-in-padding",
        "gap-in-alive",
        "negative-state",
        "float-states",
        "negative-action",
        "negative-final-state",
        "nan-reward",
        "int-alive",
        "float-terminated",
    ],
)
def test_batch_is_validated_at_construction(make, error, words):
    with pytest.raises(error, match=words):
        make()


@pytest.mark.parametrize("episodes", [slice(1, 4), np.array([4, 0, 2]), np.array([True, False, True, False, True])])
def test_a_subset_holds_the_selected_episodes_and_is_a_batch_like_any_other(episodes):
    batch = corridor_batch()
    subset = batch.subset(episodes)
    for name in ("states", "actions", "rewards", "alive", "final_states", "terminated"):
        np.testing.assert_array_equal(getattr(subset, name), getattr(batch, name)[episodes])
    assert subset.gamma == batch.gamma and isinstance(subset, pg.Batch)
    np.testing.assert_array_equal(subset.returns(), batch.returns()[episodes])
    with pytest.raises(AttributeError):  # frozen, as a constructed batch
        subset.gamma = 0.5


def test_an_empty_subset_is_refused():
    with pytest.raises(ValueError, match="episodes must select at least one of the 5 episodes"):
        corridor_batch().subset(slice(5, 9))


def test_with_discount_weights_the_same_episodes_anew():
    """The returns under another γ against the rewards summed by hand (an oracle that shares no code)."""
    batch = corridor_batch()
    discounted = batch.with_discount(0.5)
    for name in ("states", "actions", "rewards", "alive", "final_states", "terminated"):
        assert getattr(discounted, name) is getattr(batch, name) or np.array_equal(
            getattr(discounted, name), getattr(batch, name)
        )
    expected = [sum(0.5**t * r for t, r in enumerate(rewards)) for rewards in batch.rewards]
    np.testing.assert_allclose(discounted.returns(), expected, rtol=1e-12)
    assert (discounted.gamma, batch.gamma) == (0.5, corridor_batch().gamma)  # the original keeps its own
    with pytest.raises(ValueError, match=r"gamma must lie in \[0, 1\]; got 1.5"):
        batch.with_discount(1.5)
