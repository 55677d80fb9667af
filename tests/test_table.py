"""lrcore._table: the finite-value rule the optax and Keras adapters share."""

from __future__ import annotations

import numpy as np
import pytest

import lrcore as lr
from lrcore._table import require_finite, table

TIE = 2.0**128 - 2.0**103  # halfway between float32's largest value and 2**128: rounds (to even) to inf
BELOW = float(np.nextafter(TIE, 0))  # the largest float64 that rounds to a finite float32


def test_the_float32_boundary_is_numpys():
    with np.errstate(over="ignore"):
        assert np.isinf(np.float32(TIE)) and np.isinf(np.float32(-TIE))
    assert np.float32(BELOW) == np.finfo(np.float32).max


def test_a_float32_table_beyond_its_range_is_refused():
    assert table(lr.constant(value=BELOW), dtype=np.float32).tolist() == [float(np.finfo(np.float32).max)]
    # Short tables are filled in Python, long ones by the compiled kernel: both are checked.
    for s, steps in ((lr.constant(value=TIE), None), (lr.one_cycle(peak=1e39, steps=99), None),
                     (lr.cosine(init=1e39, steps=10**5), None), (lr.exponential(init=1e30, gamma=10.0), 50)):
        assert np.isfinite(table(s, steps)).all()  # float64 holds them
        with pytest.raises(ValueError) as err:
            table(s, steps, dtype=np.float32)
        assert str(err.value) == f"table: `s` must have values that are finite in float32; got s={s!r}"
    with pytest.raises(ValueError, match=r"^keras.Schedule.from_config: `schedule` must have values that are fin"):
        table(lr.constant(value=1e39), dtype=np.float32, where="keras.Schedule.from_config", name="schedule")
    with pytest.raises(TypeError, match=r"^optax.schedule: `s` must be an lrcore Schedule; got s=0.1$"):
        table(0.1, where="optax.schedule")  # type: ignore[arg-type]


def test_require_finite_checks_every_value_without_a_copy():
    s = lr.constant(value=1.0)
    for values in (np.array([1.0, TIE, 2.0]), np.array([1.0, -TIE]), np.array([0.5, np.nan, 0.1])):
        with pytest.raises(ValueError, match=r"^w: `p` must have values that are finite in float32; got p=constant"):
            require_finite(values, np.float32, where="w", name="p", s=s)
    with pytest.raises(ValueError, match=r"finite in float64"):
        require_finite(np.array([1.0, np.inf]), np.float64, where="w", name="p", s=s)
    require_finite(np.array([BELOW, -BELOW, 0.0]), np.float32, where="w", name="p", s=s)
    require_finite(np.array([TIE]), np.float64, where="w", name="p", s=s)
    require_finite(np.empty(0), np.float32, where="w", name="p", s=s)


def test_keras_refuses_through_the_same_rule():
    import keras

    from lrcore.adapters.keras import Schedule

    s = lr.one_cycle(peak=1e39, steps=99)
    assert keras.config.floatx() == "float32"
    with pytest.raises(ValueError) as err:
        Schedule(s)
    assert str(err.value) == f"keras.Schedule: `s` must have values that are finite in float32; got s={s!r}"
    config = Schedule(lr.constant(value=0.1)).get_config() | {"schedule": s.to_dict()}
    with pytest.raises(ValueError) as err:
        Schedule.from_config(config)
    rule = "`schedule` must have values that are finite in float32"
    assert str(err.value) == f"keras.Schedule.from_config: {rule}; got schedule={s!r}"
