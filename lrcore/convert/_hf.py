"""Converter from hf schedules (to be written)."""

from __future__ import annotations

from typing import Any

from .._schedule import Schedule


def from_hf(name: str, *args: Any, **kwargs: Any) -> Schedule:
    raise NotImplementedError("from_hf")
