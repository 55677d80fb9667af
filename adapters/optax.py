"""optax: an lrcore schedule as an ``optax.Schedule`` that runs inside ``jax.jit``.

The numba kernel cannot run in a traced graph, and a host callback would stall
every step, so the values are tabulated once (``lrcore.adapters.sgd.table``) and
looked up in-graph: ``lr(count) = values[clip(count, 0, n - 1)]``.  With a finite
horizon n = ceil(horizon) + 1 and every count is exact; otherwise `steps` is
required, counts below it are exact and later ones hold ``s(steps - 1)``.  Values
are float32 (each rounded once from float64), float64 under ``jax_enable_x64``; a
schedule with a value that is not finite in that type (float32 overflows above about
3.4e38) is refused with a ValueError, when built and again if the type changes.

The values are weakly typed, as a Python float or optax's own schedules are: scheduled
as ``b1``, ``momentum`` or ``weight_decay`` through ``optax.inject_hyperparams``, they
take the parameters' dtype (bfloat16 parameters keep bfloat16 moments, float32 ones
keep float32 state under ``jax_enable_x64``) instead of promoting the optimizer state.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from lrcore import Schedule, resolve
from lrcore._internal import check, require_finite, table

try:
    import jax
    import jax.numpy as jnp
except ModuleNotFoundError as err:
    if err.name not in ("jax", "jaxlib"):
        raise
    message = "lrcore.adapters.optax needs JAX and optax: pip install 'lrcore[jax]'"
    raise ModuleNotFoundError(message, name="jax") from err

from ._find_optax import find_lr  # noqa: E402 (needs jax)

__all__ = ["TableSchedule", "find_lr", "schedule"]

WHERE = "optax.schedule"


def _float_type() -> np.dtype:
    """The float type of the in-graph table: float32, float64 under jax_enable_x64."""
    return np.dtype(jax.dtypes.canonicalize_dtype(np.float64))


class TableSchedule:
    """``count -> lr`` by table lookup; the ``optax.Schedule`` that `schedule` returns."""

    __slots__ = ("schedule", "values", "_on_device", "__weakref__")

    def __init__(self, s: Schedule, values: np.ndarray) -> None:
        self.schedule = s
        self.values = values  # float64 on the host
        self._on_device: dict[np.dtype, jax.Array] = {}

    @property
    def size(self) -> int:
        return int(self.values.shape[0])

    def _table(self) -> jax.Array:
        # The dtype follows jax_enable_x64 at call (trace) time; one device copy per dtype.
        dtype = _float_type()
        values = self._on_device.get(dtype)
        if values is None:
            require_finite(self.values, dtype, where=WHERE, name="s", s=self.schedule)
            host = self.values if dtype == np.float64 else self.values.astype(dtype)
            with jax.ensure_compile_time_eval():  # a concrete array even when first called under jit
                # Weakly typed, as jnp.full with a Python fill makes it: a value read from it adapts
                # to the dtype it meets (inject_hyperparams casts it to the parameters').
                values = self._on_device[dtype] = jnp.full(host.shape, 0.0).at[:].set(host)
        return values

    def __call__(self, count: Any) -> jax.Array:
        if isinstance(count, numbers.Integral) and not isinstance(count, (bool, np.bool_)):
            count = min(max(int(count), 0), self.size - 1)  # a host integer may exceed int32
        step = jnp.asarray(count)
        if not jnp.issubdtype(step.dtype, jnp.integer):
            raise check.fail(WHERE, "count", f"must be an integer step count (dtype {step.dtype})", count,
                             TypeError)
        # Clip before indexing: a negative index would wrap around; int32 counts saturate at 2**31 - 1.
        return self._table()[jnp.clip(step, 0, self.size - 1)]

    def __repr__(self) -> str:
        return f"lrcore.adapters.optax.schedule({self.schedule!r}, size={self.size})"


def schedule(s: Schedule, steps: int | None = None, *, steps_per_epoch: float | None = None,
             tokens_per_step: float | None = None, samples_per_step: float | None = None) -> TableSchedule:
    """An ``optax.Schedule`` (count -> value) equal to `s` at every integer count.

    `steps` is the run's length in updates.  It is required when `s` has no finite
    horizon (periodic or unbounded kinds), or when the horizon exceeds
    ``lrcore.adapters.sgd.MAX_TABLE``; it also caps the table: counts from `steps` on
    hold ``s(steps - 1)``.  A template (lengths such as "5%", "3ep" or "2e9tok") is
    resolved with ``lr.resolve`` from `steps`, `steps_per_epoch`, `tokens_per_step` and
    `samples_per_step`; one that needs what is not given raises ValueError naming the
    length and the argument.  A value that is not finite in the table's float
    type (float32 unless ``jax_enable_x64``) raises ValueError.  Any hyperparameter that
    ``optax.inject_hyperparams`` takes can be scheduled with it: ``b1``, ``momentum``,
    ``weight_decay`` as the learning rate.
    """
    if not isinstance(s, Schedule):
        raise check.fail(WHERE, "s", "must be an lrcore Schedule", s, TypeError)
    if s.is_template:
        try:
            s = resolve(s, steps=steps, steps_per_epoch=steps_per_epoch, tokens_per_step=tokens_per_step,
                        samples_per_step=samples_per_step)
        except ValueError as err:
            raise ValueError(f"{WHERE}: {str(err).removeprefix('resolve: ')}") from None
    values = table(s, steps, where=WHERE)
    require_finite(values, _float_type(), where=WHERE, name="s", s=s)  # here, not first inside a jit trace
    return TableSchedule(s, values)
