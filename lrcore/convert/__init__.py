"""Converters: a peer's schedule configuration -> an lrcore schedule with the same numbers."""

from ._deepspeed import from_deepspeed
from ._hf import from_hf
from ._keras import from_keras
from ._optax import from_optax
from ._timm import from_timm
from ._torch import from_torch

__all__ = ["from_deepspeed", "from_hf", "from_keras", "from_optax", "from_timm", "from_torch"]
