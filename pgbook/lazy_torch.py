"""PyTorch, imported on first use: ``import pgbook`` does not pay torch's import (about 1 s and 200 MB).

The library's modules write ``from pgbook.lazy_torch import torch`` and then use ``torch`` as usual, inside their
functions: the first attribute looked up (``torch.tensor``, ``torch.autograd``...) imports torch. The exact
oracles, sampling and estimators of tabular policies run on numpy and never import it.

>>> import sys
>>> from pgbook.lazy_torch import is_tensor, torch
>>> is_tensor([1.0]), is_tensor(torch.zeros(1)), "torch" in sys.modules
(False, True, True)
"""

from __future__ import annotations

import importlib
import sys
from typing import Any


class _LazyTorch:
    """Stands for the ``torch`` module: every attribute is looked up on torch, imported by the first."""

    def __getattr__(self, name: str) -> Any:
        return getattr(sys.modules.get("torch") or importlib.import_module("torch"), name)

    def __repr__(self) -> str:
        return "<torch, imported on first use>"


torch: Any = _LazyTorch()


def is_tensor(value: Any) -> bool:
    """Whether ``value`` is a ``torch.Tensor``, without importing torch: if torch is not imported yet, no tensor
    exists."""
    module = sys.modules.get("torch")
    return module is not None and isinstance(value, module.Tensor)
