r"""Baselines: the one vocabulary in which every function that takes a ``baseline`` spells it.

A baseline :math:`b` is subtracted from the return that weights a score,
:math:`\hat g = \nabla\log\pi(a|s)\,(G - b)`; it leaves the expectation unchanged when it cannot depend on
the action (nor, estimated from samples, on the sample it corrects) and changes only the variance
(Williams 1992; Greensmith, Bartlett & Baxter 2004). Each function accepts the spellings below that make
sense for it, and refuses the others with the list of those it accepts:

- ``None``: no baseline, :math:`b = 0` (the default everywhere; ``"none"`` is the same);
- a number: that constant;
- an array ``V[s]``: a state-value baseline :math:`b(s)`, shape (n_states,);
- ``"mean"``: the mean return of the *other* episodes (leave-one-out; in a group of responses, RLOO);
- ``"group mean"``: the mean return of the group *including* the episode itself (GRPO's, Dr. GRPO's), which
  scales the expected update by :math:`1 - 1/n` in groups of :math:`n`;
- ``"optimal"``: the variance-optimal constant :math:`b^*`, estimated from the other samples;
- ``"learned"``: Monte-Carlo state values fitted on the other half of the batch (cross-fitted);
- ``"normalized"``: returns centred and divided by their spread over the batch (biased; REINFORCE only).

:func:`parse_baseline` reads every one of them, once, at the public function's boundary.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias

import numpy as np

from pgbook.arguments import as_real_array, check_shape

Baseline: TypeAlias = (
    None | float | np.ndarray | Literal["none", "mean", "group mean", "optimal", "learned", "normalized"]
)
"""What a ``baseline`` argument may be (see the module's list; a number or V[s] as anything numpy reads as one)."""

Kind = Literal["none", "constant", "values", "mean", "group mean", "optimal", "learned", "normalized"]
NAMED = ("mean", "group mean", "optimal", "learned", "normalized")  # the spellings that are words; "none" is None
_WRITTEN = {
    "none": "None",
    "constant": "a number",
    "values": "an array V[s]",
    **{name: f'"{name}"' for name in NAMED},
}


@dataclass(frozen=True)
class ParsedBaseline:
    """A baseline read by :func:`parse_baseline`: its ``kind``, and its ``value`` (None for ``"none"``, a float
    for ``"constant"``, a float64 array for ``"values"``, the name itself for the named ones)."""

    kind: Kind
    value: None | float | np.ndarray | str


def parse_baseline(baseline: Baseline, *, accepts: tuple[Kind, ...], n_states: int | None = None) -> ParsedBaseline:
    """Read a ``baseline`` argument in the library's one vocabulary, or raise naming ``baseline`` and the
    spellings the caller ``accepts`` (kinds: ``"none"``, ``"constant"``, ``"values"`` and the names).

    ``n_states``: the length an array V[s] must have, if the caller knows it.

    >>> parse_baseline(None, accepts=("none", "constant"))
    ParsedBaseline(kind='none', value=None)
    >>> parse_baseline("none", accepts=("none", "constant")) == parse_baseline(None, accepts=("none",))
    True
    >>> parse_baseline(2, accepts=("none", "constant")).value
    2.0
    >>> parse_baseline([1.0, 2.0], accepts=("none", "values"), n_states=2).kind
    'values'

    A spelling the caller does not accept, ``"mean"`` with ``accepts=("none", "constant", "optimal")`` say, is
    refused with a `ValueError`: ``baseline must be None, a number or "optimal"; got 'mean'``.
    """
    unknown = set(accepts) - set(_WRITTEN)
    if unknown:
        raise ValueError(f"accepts must name kinds among {sorted(_WRITTEN)}; got {sorted(unknown)}")
    if baseline is None or isinstance(baseline, str) and baseline == "none":
        kind, value = "none", None
    elif isinstance(baseline, str):
        kind, value = (baseline, baseline) if baseline in NAMED else (None, None)
    else:
        array = as_real_array("baseline", baseline)
        if array.ndim == 0:
            kind, value = "constant", float(array)
        elif array.ndim == 1:
            if n_states is not None:
                check_shape("baseline", array, (n_states,))
            kind, value = "values", array
        else:
            raise ValueError(f"baseline must be a number or an array V[s] of one dimension; got shape {array.shape}")
    if kind not in accepts:
        raise ValueError(f"baseline must be {_listed(accepts)}; got {baseline!r}")
    return ParsedBaseline(kind, value)


def _listed(kinds: tuple[Kind, ...]) -> str:
    words = [_WRITTEN[kind] for kind in kinds]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]
