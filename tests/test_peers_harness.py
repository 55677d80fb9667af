"""The peer-comparison harness (tests/peers.py) fails where it should: each path, each allowance.

The "peer" here is a cosine written out with numpy, independent of lrcore; a
stand-in schedule puts one value off on one evaluation path only, so each test
shows that that path is really compared.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
from peers import PATHS, Expected, Tolerance, check, landmarks, max_rel, steps_to_compare

import lrcore as lr

INIT, T, N = 0.5, 20, 30
X64 = Tolerance(rtol=1e-10, atol=1e-13)
F32 = Tolerance(rtol=1e-6, atol=1e-6)
S = lr.cosine(init=INIT, steps=T)


def peer(t: np.ndarray) -> np.ndarray:
    """The cosine from INIT to 0 over T steps, held at 0 after, as cos^2 (no cancellation near the end)."""
    return np.where(t < T, INIT * np.cos(np.pi * np.minimum(t, T) / (2 * T)) ** 2, 0.0)


INTS = peer(np.arange(N, dtype=float))
HALVES = peer(np.arange(N) + 0.5)
ALL_PATHS = ("array", "s(ndarray)", "s(t)")


def expected(ints: np.ndarray = INTS, halves: np.ndarray = HALVES, **options: Any) -> list[Expected]:
    return [
        Expected(ints, X64, **options),
        Expected(halves, X64, start=0.5, **options),
        Expected(ints, F32, paths=("array(float32)",), label="float32", **options),
    ]


class OnePathOff:
    """`S`, with its value at time `at` multiplied by ``1 + rel`` on `path` alone."""

    def __init__(self, path: str, at: float, rel: float) -> None:
        self.path, self.at, self.rel = path, at, rel

    def __call__(self, t: Any) -> Any:
        out = S(t)
        if isinstance(t, np.ndarray):
            if self.path == "s(ndarray)":
                out = np.where(t == self.at, out * (1 + self.rel), out)
            return out
        return out * (1 + self.rel) if self.path == "s(t)" and t == self.at else out

    def array(self, n: int, *, start: float = 0, dtype: Any = np.float64) -> np.ndarray:
        out = S.array(n, start=start, dtype=dtype)
        if self.path == ("array(float32)" if np.dtype(dtype) == np.float32 else "array"):
            i = self.at - start
            if float(i).is_integer() and 0 <= i < n:
                out[int(i)] = out[int(i)] * (1 + self.rel)
        return out


# (path, time, how far off, the path's name in the failure)
OFF = [
    ("array", 7, 1e-9, "array"),
    ("array", 7.5, 1e-9, "array(start=0.5)"),
    ("s(ndarray)", 7, 1e-9, "s(ndarray)"),
    ("s(ndarray)", 7.5, 1e-9, "s(ndarray + 0.5)"),
    ("s(t)", 7, 1e-9, "s(t)"),
    ("s(t)", 7.5, 1e-9, "s(t + 0.5)"),
    ("array(float32)", 7, 1e-5, "float32 array(float32)"),
]


def test_every_path_passes_unperturbed_and_reports_its_difference() -> None:
    worst = check(S, "cosine", *expected(), peer="numpy")
    names = {"array", "s(ndarray)", "s(t)", "array(start=0.5)", "s(ndarray + 0.5)", "s(t + 0.5)"}
    assert set(worst) == names | {"float32 array(float32)"}
    assert all(worst[k] < X64.rtol for k in names)
    assert 0 < worst["float32 array(float32)"] < 6e-8  # float32 rounding, once
    assert set(PATHS) == {*ALL_PATHS, "array(float32)"}


@pytest.mark.parametrize(("path", "at", "rel", "name"), OFF)
def test_one_value_off_on_one_path_fails_naming_the_path(path: str, at: float, rel: float, name: str) -> None:
    with pytest.raises(AssertionError) as info:
        check(OnePathOff(path, at, rel), "cosine(init=0.5)", *expected(), peer="numpy")
    message = str(info.value)
    assert message.startswith(f"cosine(init=0.5) {name}: 1 of {N} values off; t={at:g}: lrcore "), message
    shown = re.search(r"numpy (\S+) \(rel (\S+)\)$", message)
    assert shown, message
    assert float(shown[1]) == peer(np.array([at]))[0]
    assert float(shown[2]) == pytest.approx(rel, rel=0.05)


@pytest.mark.parametrize(("path", "at", "rel", "name"), OFF)
def test_a_value_off_by_less_than_the_tolerance_passes(path: str, at: float, rel: float, name: str) -> None:
    worst = check(OnePathOff(path, at, rel / 20), "cosine", *expected(), peer="numpy")
    assert worst[name] == pytest.approx(rel / 20, rel=0.3)


def test_the_scalar_path_checks_the_chosen_steps_only() -> None:
    at = landmarks(N, T)
    assert at == [0, 1, 19, 20, 21, 29]
    one = Expected(INTS, X64, paths=("s(t)",), scalar_at=at)
    with pytest.raises(AssertionError, match=r"^cosine s\(t\) at t=\[0, 1, 19, 20, 21, 29\]: 1 of 6 values off; t=19"):
        check(OnePathOff("s(t)", 19, 1e-9), "cosine", one)
    check(OnePathOff("s(t)", 7, 1e-9), "cosine", one)  # not a chosen step


def test_a_peer_value_off_fails_the_first_path() -> None:
    ints = INTS.copy()
    ints[3] *= 1 + 1e-9
    with pytest.raises(AssertionError, match=r"^cosine array: 1 of 30 values off; t=3: "):
        check(S, "cosine", *expected(ints=ints))


def test_alt_accepts_the_peer_value_it_names_and_nothing_else() -> None:
    ints = INTS.copy()
    ints[5] = INTS[4]  # the peer one step late at t = 5
    alt = np.full(N, np.nan)
    alt[5] = INTS[4]
    check(S, "cosine", Expected(ints, X64, alt=alt))
    alt[5] = INTS[6]
    with pytest.raises(AssertionError, match="t=5: "):
        check(S, "cosine", Expected(ints, X64, alt=alt))
    with pytest.raises(AssertionError, match="t=5: "):
        check(S, "cosine", Expected(ints, X64))


def test_skip_leaves_out_its_steps_only() -> None:
    ints = INTS.copy()
    ints[[5, 9]] *= 1.01
    skip = np.zeros(N, dtype=bool)
    skip[[5, 9]] = True
    check(S, "cosine", Expected(ints, X64, skip=skip))
    skip[9] = False
    with pytest.raises(AssertionError, match="1 of 30 values off; t=9: "):
        check(S, "cosine", Expected(ints, X64, skip=skip))


def test_slack_is_an_absolute_allowance() -> None:
    ints = INTS + 1e-7
    check(S, "cosine", Expected(ints, X64, slack=2e-7))
    with pytest.raises(AssertionError, match="30 of 30 values off"):
        check(S, "cosine", Expected(ints, X64, slack=0.5e-7))


def test_atol_is_relative_to_the_largest_value_or_the_scale_given() -> None:
    ints = INTS.copy()
    ints[25] = 4e-14  # lrcore holds 0 from t = 20: within 1e-13 * 0.5, and a relative error of 1 there
    check(S, "cosine", Expected(ints, X64))
    ints[25] = 6e-14
    with pytest.raises(AssertionError, match=r"t=25: lrcore 0\.0, peer 6e-14 \(rel 1\)"):
        check(S, "cosine", Expected(ints, X64))
    check(S, "cosine", Expected(ints, X64, scale=1.0))
    # Without a scale, the floor is that of the values compared.
    max_rel([0.0, 1.0], [1e-14, 1.0], X64, "two")
    with pytest.raises(AssertionError, match="one: 1 of 1 values off; t=0: lrcore 0.0, peer 1e-14"):
        max_rel([0.0], [1e-14], X64, "one")


def test_nan_or_inf_on_either_side_fails() -> None:
    for bad in (np.nan, np.inf):
        ints = INTS.copy()
        ints[2] = bad
        with pytest.raises(AssertionError, match=f"t=2: lrcore .*, peer {bad}"):
            check(S, "cosine", Expected(ints, X64))
        with pytest.raises(AssertionError, match="t=4: lrcore nan"):
            max_rel(np.where(np.arange(N) == 4, np.nan, INTS), INTS, X64, "cosine")


def test_shapes_types_and_dtypes_are_checked() -> None:
    with pytest.raises(AssertionError, match=r"cosine: lrcore gave shape \(29,\), peer \(30,\)"):
        max_rel(INTS[:-1], INTS, X64, "cosine")

    class NumpyScalars(OnePathOff):
        def __call__(self, t: Any) -> Any:
            return np.float64(S(t)) if not isinstance(t, np.ndarray) else S(t)

    with pytest.raises(AssertionError, match=r"^cosine s\(t\): s\(t\) must give Python floats; got \['float64'\]"):
        check(NumpyScalars("s(t)", 0, 0.0), "cosine", Expected(INTS, X64, paths=("s(t)",)))

    class Float64Array(OnePathOff):
        def array(self, n: int, *, start: float = 0, dtype: Any = np.float64) -> np.ndarray:
            return S.array(n, start=start)

    with pytest.raises(AssertionError, match=r"^cosine array\(float32\): dtype float64, asked for float32"):
        check(Float64Array("array", 0, 0.0), "cosine", Expected(INTS, F32, paths=("array(float32)",)))


def test_unknown_paths_are_refused() -> None:
    with pytest.raises(ValueError, match=r"^check: `paths` must be a non-empty subset of .*; got paths=\('list',\)"):
        check(S, "cosine", Expected(INTS, X64, paths=("list",)))
    with pytest.raises(ValueError, match=r"got paths=\(\)"):
        check(S, "cosine", Expected(INTS, X64, paths=()))


def test_steps_to_compare_is_three_horizons() -> None:
    assert [steps_to_compare(h) for h in (0, 4, 10, 10.5)] == [15, 15, 33, 35]
