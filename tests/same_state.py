"""Bit-for-bit comparison of saved state, for the range-test runners' exact-restore tests."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch


def rngs() -> tuple[Any, ...]:
    """The states of torch's, numpy's and Python's global random number generators."""
    return torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate()


def same(a: object, b: object) -> bool:
    """Equal bit for bit, through dicts, lists, tuples, tensors and arrays."""
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and np.array_equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b
