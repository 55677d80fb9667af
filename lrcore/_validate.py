"""Argument checks shared by every constructor.

Each check names the constructor, the parameter, the rule and the value it
got, in the form ``cosine: `steps` must be > 0; got steps=0``.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

_SHOWN = 200  # characters of a value an error message shows


def show(value: Any) -> str:
    """``repr(value)`` for an error message: one line, at most a few hundred characters, and
    an int too large for a float (or for ``str``) written as its magnitude."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 1024:
        digits = math.log10(abs(value))
        exponent = math.floor(digits)
        mantissa = 10.0 ** (digits - exponent)
        return f"{'-' if value < 0 else ''}{mantissa:.6g}e+{exponent} (an int)"
    try:
        text = repr(value)
    except Exception as err:  # a repr that fails must not hide the real error
        text = f"<{type(value).__name__} whose repr fails: {type(err).__name__}>"
    text = re.sub(r"\s*\n\s*", " ", text)
    if len(text) > _SHOWN:
        text = f"{text[: _SHOWN - 40]} ... {text[-30:]} ({len(text)} characters)"
    return text


def fail(where: str, name: str, rule: str, value: Any, exc: type[Exception] = ValueError) -> Exception:
    return exc(f"{where}: `{name}` {rule}; got {name}={show(value)}")


def as_float(value: Any) -> float | None:
    """``float(value)`` for a real number, or None when it is too large for a float."""
    try:
        return float(value)
    except OverflowError:
        return None


def number(
    where: str,
    name: str,
    value: Any,
    *,
    gt: float | None = None,
    ge: float | None = None,
    lt: float | None = None,
    le: float | None = None,
) -> float:
    """A finite real number (not a bool) within the given bounds, as a float."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise fail(where, name, "must be a real number", value, TypeError)
    x = as_float(value)
    if x is None:
        raise fail(where, name, "must be finite (it is too large for a float)", value)
    if not math.isfinite(x):
        raise fail(where, name, "must be finite", value)
    if gt is not None and not x > gt:
        raise fail(where, name, f"must be > {gt:g}", value)
    if ge is not None and not x >= ge:
        raise fail(where, name, f"must be >= {ge:g}", value)
    if lt is not None and not x < lt:
        raise fail(where, name, f"must be < {lt:g}", value)
    if le is not None and not x <= le:
        raise fail(where, name, f"must be <= {le:g}", value)
    return x


def flag(where: str, name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise fail(where, name, "must be True or False", value, TypeError)
    return bool(value)


def choice(where: str, name: str, value: Any, options: Sequence[str]) -> str:
    if not isinstance(value, str):
        raise fail(where, name, f"must be one of {', '.join(map(repr, options))}", value, TypeError)
    if value not in options:
        raise fail(where, name, f"must be one of {', '.join(map(repr, options))}", value)
    return value


def sequence(where: str, name: str, value: Any) -> list[Any]:
    """A list, tuple or 1-d array (not a string, mapping or set)."""
    if isinstance(value, np.ndarray):
        if value.ndim != 1:
            raise fail(where, name, "must be a 1-d sequence", value)
        return list(value)
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise fail(where, name, "must be a list or tuple", value, TypeError)
    return list(value)


def numbers_(
    where: str,
    name: str,
    value: Any,
    *,
    ge: float | None = None,
    gt: float | None = None,
    increasing: str | None = None,
    min_len: int = 0,
) -> tuple[float, ...]:
    """A sequence of finite numbers; ``increasing`` is None, 'weakly' or 'strictly'."""
    items = sequence(where, name, value)
    if len(items) < min_len:
        raise fail(where, name, f"must have at least {min_len} element{'s' * (min_len != 1)}", value)
    out = []
    for i, item in enumerate(items):
        if isinstance(item, (bool, np.bool_)) or not isinstance(item, numbers.Real):
            raise fail(where, name, f"must hold real numbers (element {i} is {show(item)})", value, TypeError)
        x = as_float(item)
        if x is None or not math.isfinite(x):
            raise fail(where, name, f"must hold finite numbers (element {i} is {show(item)})", value)
        if ge is not None and not x >= ge:
            raise fail(where, name, f"must hold numbers >= {ge:g} (element {i} is {show(item)})", value)
        if gt is not None and not x > gt:
            raise fail(where, name, f"must hold numbers > {gt:g} (element {i} is {show(item)})", value)
        out.append(x)
    if increasing is not None:
        strict = increasing == "strictly"
        for i in range(1, len(out)):
            if out[i] < out[i - 1] or (strict and out[i] == out[i - 1]):
                rule = "strictly increasing" if strict else "sorted in increasing order"
                raise fail(where, name, f"must be {rule}", value)
    return tuple(out)


def time(t: Any) -> float:
    """A valid time: a finite real number >= 0 (not a bool)."""
    if isinstance(t, (bool, np.bool_)) or not isinstance(t, numbers.Real):
        raise TypeError(f"schedule time `t` must be a real number >= 0; got t={show(t)}")
    x = as_float(t)
    if x is None or not x >= 0.0 or x == math.inf:
        raise ValueError(f"schedule time `t` must be finite and >= 0; got t={show(t)}")
    return x


def times(t: np.ndarray) -> np.ndarray:
    """A valid array of times, as a float64 array of the same shape."""
    if t.dtype.kind not in "iuf":
        raise TypeError(f"schedule times must be a real-valued array; got dtype={t.dtype}")
    x = np.asarray(t, dtype=np.float64)
    bad = ~(np.isfinite(x) & (x >= 0.0))
    if bad.any():
        first = x.reshape(-1)[int(np.argmax(bad.reshape(-1)))]
        raise ValueError(f"schedule times must be finite and >= 0; got t={first!r} in the array")
    return x


def count(where: str, name: str, value: Any) -> int:
    """A whole number >= 0 (an int or an integral numpy integer, not a bool)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise fail(where, name, "must be an int", value, TypeError)
    if value < 0:
        raise fail(where, name, "must be >= 0", value)
    return int(value)
