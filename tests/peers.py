"""One comparison of an lrcore schedule with a peer library's values, shared by the converter tests.

A peer (torch, optax, Keras, transformers, timm) gives its values at the times
``start, start + 1, ...``; `check` evaluates the lrcore schedule at the same
times through each evaluation path a user can take and holds every one of them
to the same rule, element by element::

    |lrcore - peer| <= rtol * |peer| + atol * scale + slack

- `scale` is the largest |peer value| among the values compared, unless a test
  names it (the base lr): near a zero of the schedule (the end of a cosine to 0)
  a relative error is meaningless, and ``atol * scale`` is the floor there.
- `slack` is an absolute allowance for a peer's known float32 rounding.
- Where `alt` is not NaN, the peer's value may match `alt` instead of lrcore's:
  a peer whose rounding lands one step late at a jump (see the converter tests).
- `skip` leaves out the steps a test checks apart (a peer's own rounding slip).

A NaN or infinite value on either side fails.  The failure names the test's
configuration, the path and the first steps that are off, with both values.

The paths (`PATHS`): ``s.array(n, start=...)``, ``s(ndarray)``, ``s(t)`` one
Python number at a time, and ``s.array(n, start=..., dtype=np.float32)``.

Also here: the few helpers the converter tests share to draw configurations
and to evaluate a jax-based peer (optax, Keras on JAX) over many steps.  This
module imports only numpy and lrcore at import time; jax is imported when used.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

import lrcore as lr

PATHS = ("array", "s(ndarray)", "s(t)", "array(float32)")
SHOWN = 5  # failing steps a message lists


class Evaluable(Protocol):
    """What `check` evaluates: an lrcore Schedule (or a stand-in with the same two entry points)."""

    def __call__(self, t: Any) -> Any: ...

    def array(self, n: int, *, start: float = 0, dtype: Any = np.float64) -> np.ndarray: ...


@dataclass(frozen=True)
class Tolerance:
    """``rtol`` relative to each peer value, ``atol`` relative to the scale (see the module docstring)."""

    rtol: float
    atol: float = 0.0


def max_rel(
    got: Any,
    ref: Any,
    tol: Tolerance,
    what: str,
    *,
    peer: str = "peer",
    t: Any = None,
    alt: Any = None,
    slack: float = 0.0,
    scale: float | None = None,
    skip: Any = None,
) -> float:
    """Assert ``|got - ref| <= tol.rtol * |ref| + tol.atol * scale + slack`` at every element not in `skip`
    (or, where `alt` is not NaN, ``|alt - ref|`` within the same bound); return the largest relative
    difference over the values that are not near a zero of the schedule.

    `t` holds the times of the elements, for the message (default: their indices).
    """
    got, ref = np.asarray(got, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    assert got.shape == ref.shape, f"{what}: lrcore gave shape {got.shape}, {peer} {ref.shape}"
    times = np.arange(ref.size, dtype=np.float64) if t is None else np.asarray(t, dtype=np.float64)
    assert times.shape == ref.shape, f"{what}: {times.size} times for {ref.size} values"
    if scale is None:
        finite = np.abs(ref[np.isfinite(ref)])
        scale = float(np.max(finite, initial=0.0))
    keep = np.ones(ref.shape, dtype=bool) if skip is None else ~np.asarray(skip, dtype=bool)
    err = np.abs(got - ref)
    tol_at = tol.rtol * np.abs(ref) + tol.atol * scale + slack
    # Written as "not within" so that a NaN on either side counts as a miss.
    miss = ~(err <= tol_at)
    if alt is not None:
        miss &= ~(np.abs(np.asarray(alt, dtype=np.float64) - ref) <= tol_at)
    bad = ((miss | ~np.isfinite(ref)) & keep) | ~np.isfinite(got)
    if bad.any():
        where = np.flatnonzero(bad)
        shown = "; ".join(
            f"t={times[i]:g}: lrcore {float(got[i])!r}, {peer} {float(ref[i])!r} (rel {_rel(err[i], ref[i])})"
            for i in where[:SHOWN]
        )
        raise AssertionError(f"{what}: {where.size} of {ref.size} values off; {shown}")
    # The reported difference: relative, over the values not near a zero of the schedule (nor matched via alt).
    significant = keep & (np.abs(ref) >= 1e-3 * scale) & (ref != 0) & (err <= tol_at)
    return float(np.max(err[significant] / np.abs(ref[significant]), initial=0.0))


def _rel(err: float, ref: float) -> str:
    with np.errstate(invalid="ignore"):  # inf / inf: the message says nan
        return f"{err / abs(ref):.3g}" if ref != 0 else "inf" if err else "0"


@dataclass(frozen=True)
class Expected:
    """A peer's values at ``start, start + 1, ...`` and how lrcore must match them on which paths.

    `alt` and `skip` (a boolean mask) run along `values`; `scalar_at` picks the
    indices that the one-number-at-a-time path ``s(t)`` checks (default: all).
    `label` goes before the path in a failure (``float32`` for a peer's float32 values).
    """

    values: np.ndarray
    tol: Tolerance
    start: float = 0.0
    paths: tuple[str, ...] = ("array", "s(ndarray)", "s(t)")
    alt: np.ndarray | None = None
    slack: float = 0.0
    scale: float | None = None
    skip: np.ndarray | None = None
    scalar_at: Sequence[int] | None = None
    label: str = ""


def check(s: Evaluable, what: str, *expected: Expected, peer: str = "peer") -> dict[str, float]:
    """Hold `s` to each `Expected` on each of its paths; return the largest relative difference per path.

    `what` names the configuration in a failure; `peer` names the library.
    """
    worst: dict[str, float] = {}
    for e in expected:
        unknown = [p for p in e.paths if p not in PATHS]
        if unknown or not e.paths:
            raise ValueError(f"check: `paths` must be a non-empty subset of {PATHS}; got paths={e.paths!r}")
        values = np.asarray(e.values, dtype=np.float64)
        n = values.size
        times = e.start + np.arange(n, dtype=np.float64)
        for path in e.paths:
            pick: Any = slice(None) if path != "s(t)" or e.scalar_at is None else list(e.scalar_at)
            name = " ".join(x for x in (what, e.label, _path_name(path, e.start, e.scalar_at)) if x)
            got = _evaluate(s, path, e.start, n, times[pick], name)

            def at(a: np.ndarray | None, pick: Any = pick) -> np.ndarray | None:
                return None if a is None else np.asarray(a)[pick]

            rel = max_rel(
                got,
                values[pick],
                e.tol,
                name,
                peer=peer,
                t=times[pick],
                alt=at(e.alt),
                slack=e.slack,
                scale=e.scale,
                skip=at(e.skip),
            )
            key = " ".join(x for x in (e.label, _path_name(path, e.start, None)) if x)
            worst[key] = max(worst.get(key, 0.0), rel)
    return worst


def _path_name(path: str, start: float, scalar_at: Sequence[int] | None) -> str:
    shift = f" + {start:g}" if start else ""
    if path == "s(t)":
        return f"s(t{shift})" + ("" if scalar_at is None else f" at t={list(scalar_at)}")
    if path == "s(ndarray)":
        return f"s(ndarray{shift})"
    if not start:
        return path
    return f"array(start={start:g})" if path == "array" else f"array(float32, start={start:g})"


def _evaluate(s: Evaluable, path: str, start: float, n: int, times: np.ndarray, what: str) -> np.ndarray:
    if path in ("array", "array(float32)"):
        dtype = np.float32 if path == "array(float32)" else np.float64
        out = s.array(n, start=start, dtype=dtype)
        assert out.dtype == dtype, f"{what}: dtype {out.dtype}, asked for {np.dtype(dtype)}"
        return out
    if path == "s(ndarray)":
        out = s(times.copy())
        assert isinstance(out, np.ndarray) and out.dtype == np.float64, f"{what}: gave {out!r}"
        return out
    # Whole times go in as Python ints, the way a training loop counts.
    whole = float(start).is_integer()
    scalars = [s(int(x)) if whole else s(float(x)) for x in times]
    kinds = {type(v).__name__ for v in scalars}
    assert kinds <= {"float"}, f"{what}: s(t) must give Python floats; got {sorted(kinds)}"
    return np.array(scalars, dtype=np.float64)


def assert_round_trips(s: lr.Schedule, n: int = 0) -> None:
    """The converted schedule survives JSON (``to_json``, and ``to_dict`` through the json module) and
    its own repr as an equal value with an equal hash, and (for n > 0) gives bit for bit the same first
    n values."""
    for back in (lr.from_json(s.to_json()), lr.from_dict(json.loads(json.dumps(s.to_dict())))):
        assert back == s and hash(back) == hash(s), repr(s)
        if n:
            np.testing.assert_array_equal(back.array(n), s.array(n), err_msg=repr(s))
    assert lr.parse(repr(s)) == s, repr(s)


# ---------------------------------------------------------------------------
# Drawing configurations, and where to look


def draw_steps(rng: np.random.Generator) -> float:
    """A length in steps: mostly tens to hundreds, sometimes 1 to 5 or thousands, now and then fractional
    (optax and Keras take fractional lengths too)."""
    r = rng.random()
    n = int(rng.integers(1, 6) if r < 0.2 else rng.integers(6, 200) if r < 0.85 else rng.integers(200, 2000))
    return n + 0.5 if rng.random() < 0.1 else n


def steps_to_compare(horizon: float) -> int:
    """Three times the peer's horizon (at least 4 steps), and 3 more."""
    return int(math.ceil(3 * max(horizon, 4))) + 3


def landmarks(n: int, horizon: float) -> list[int]:
    """The steps the scalar path checks: both ends, and around the horizon."""
    return sorted({0, 1, n - 1, *(int(x) for x in (horizon - 1, horizon, horizon + 1) if 0 <= x < n)})


# ---------------------------------------------------------------------------
# A jax-based peer over many steps

PAD = 1 << 15  # every evaluation runs on this many steps, so jax compiles each op once for all configurations


def jax_values(
    make: Callable[[], Callable[[Any], Any]],
    t: np.ndarray,
    *,
    x64: bool,
    vmap: bool,
    int_result_ok: bool = False,
) -> np.ndarray:
    """The values of the jax schedule ``make()`` at the times t (ints, or floats), as float64.

    Evaluated op by op (``jax.disable_jit``) on a padded vector of times in the
    precision that `x64` selects (``jax.enable_x64`` around the whole evaluation,
    whatever other test modules configured): int32/float32, or int64/float64.
    `vmap` feeds one time at a time, as a schedule that branches on the step needs;
    otherwise the vector goes in whole.  The result must be floating point of
    that precision unless `int_result_ok` (optax keeps an int constant an int).
    """
    import jax

    jnp = jax.numpy
    padded = np.zeros(max(PAD, t.size), dtype=t.dtype)
    padded[: t.size] = t
    if t.dtype.kind == "f":
        dtype = jnp.float64 if x64 else jnp.float32
    else:
        dtype = jnp.int64 if x64 else jnp.int32
    with jax.enable_x64(x64), jax.disable_jit():
        fn = make()
        times = jnp.asarray(padded, dtype=dtype)
        if vmap:
            out = jax.vmap(lambda c: jnp.asarray(fn(c)))(times)
        else:
            out = jnp.broadcast_to(jnp.asarray(fn(times)), times.shape)
        if not (int_result_ok and not jnp.issubdtype(out.dtype, jnp.floating)):
            assert out.dtype == (jnp.float64 if x64 else jnp.float32), out.dtype
        return np.asarray(out[: t.size], dtype=np.float64)


def torch_plateau(metrics: Any, base: float = 1.0, **kwargs: Any) -> tuple[Any, list[float]]:
    """torch's ReduceLROnPlateau(**kwargs) on a fresh SGD optimizer whose lr is `base`: the
    scheduler after every metric, and the optimizer's lr after each one (on base 1.0: lrcore's scale)."""
    import torch

    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=base)
    ref = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
    lrs = []
    for m in metrics:
        ref.step(m)
        lrs.append(opt.param_groups[0]["lr"])
    return ref, lrs
