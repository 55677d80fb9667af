"""Lengths in units ("5%", "0.05dur", "3ep", "2e9tok", "512sp", "1000ba"), templates, ``lr.resolve`` and
``lr.stretch``: driven by the kinds' records (every parameter marked a length) and the reference catalogue."""

from __future__ import annotations

import json
import math
import pickle
import subprocess
import sys
from typing import Any

import numpy as np
import pytest
import reference as R

import lrcore as lr
from lrcore._registry import KINDS, Param

LENGTH_KINDS = sorted(k for k, record in KINDS.items() if any(p.length for p in record.params))
# unit -> (text for a length x, the resolve() quantities that make it exactly x)
SCALAR_FORMS: dict[str, Any] = {
    "%": lambda x: ("50%", {"steps": 2 * x}),
    "dur": lambda x: ("0.5dur", {"steps": 2 * x}),
    "ep": lambda x: ("2ep", {"steps_per_epoch": x / 2}),
    "tok": lambda x: (f"{x!r}tok", {"tokens_per_step": 1.0}),
    "sp": lambda x: (f"{x!r}sp", {"samples_per_step": 1.0}),
    "ba": lambda x: (f"{x!r}ba", {}),
}
# For lists, one quantity serves every element.
LIST_FORMS: dict[str, Any] = {
    "dur": (lambda x: f"{x!r}dur", {"steps": 1.0}),
    "ep": (lambda x: f"{x!r}ep", {"steps_per_epoch": 1.0}),
    "tok": (lambda x: f"{x!r}tok", {"tokens_per_step": 1.0}),
    "sp": (lambda x: f"{x!r}sp", {"samples_per_step": 1.0}),
    "ba": (lambda x: f"{x!r}ba", {}),
}


def _length_params(kind: str) -> list[Param]:
    return [p for p in KINDS[kind].params if p.length]


def _specs(kind: str) -> list[dict[str, Any]]:
    specs = [dict(s) for s in R.ORACLES[kind].catalogue]
    assert specs, f"{kind}: the reference catalogue is empty"
    return specs


def _templates(kind: str) -> list[tuple[str, str, dict[str, Any], dict[str, Any], dict[str, float]]]:
    """(parameter, unit, plain spec, the spec with that length in the unit, resolve's quantities) for every
    length parameter of `kind` holding a number in some catalogue spec, and every unit."""
    out = []
    for p in _length_params(kind):
        specs = [s for s in _specs(kind) if s.get(p.name) not in (None, [], ())]
        for spec in specs[:2]:
            value = spec[p.name]
            if p.type == "real":
                forms = {u: f(float(value)) for u, f in SCALAR_FORMS.items()}
            elif p.type == "reals":
                forms = {u: ([text(float(x)) for x in value], q) for u, (text, q) in LIST_FORMS.items()}
            else:  # points: the times carry the unit
                forms = {u: ([[text(float(t)), v] for t, v in value], q) for u, (text, q) in LIST_FORMS.items()}
            for unit, (written, quantities) in forms.items():
                if any(not math.isfinite(q) or q <= 0 for q in quantities.values()):
                    continue  # a length of 0 has no epoch count that gives it; the other units cover it
                out.append((p.name, unit, spec, {**spec, p.name: written}, quantities))
    return out


@pytest.mark.parametrize("kind", LENGTH_KINDS)
def test_every_length_of_every_kind_takes_every_unit(kind: str) -> None:
    cases = _templates(kind)
    assert {p.name for p in _length_params(kind)} <= {c[0] for c in cases}, f"{kind}: a length never tried"
    for name, unit, plain_spec, spec, quantities in cases:
        where = f"{kind}.{name} in {unit!r}"
        template = lr.from_dict(spec)
        plain = lr.from_dict(plain_spec)
        assert template.is_template and not plain.is_template, where
        assert template.to_dict() == spec, where  # the strings are kept
        for again in (lr.parse(repr(template)), lr.from_json(template.to_json()), pickle.loads(pickle.dumps(template))):
            assert again == template and hash(again) == hash(template), where
        assert template != plain
        with pytest.raises(ValueError, match=r"lr\.resolve") as raised:
            template(1.0)
        assert "\n" not in str(raised.value) and name in str(raised.value), where
        with pytest.raises(ValueError, match=r"lr\.resolve"):
            template.horizon  # noqa: B018
        resolved = lr.resolve(template, **quantities)
        assert resolved == plain, f"{where}: {resolved!r} != {plain!r}"
        assert not resolved.is_template and resolved(3.5) == plain(3.5)


@pytest.mark.parametrize("unit", ["%", "dur", "ep", "tok", "sp"])
def test_a_unit_without_its_quantity_names_what_to_give(unit: str) -> None:
    s = lr.warmup(lr.cosine(init=1.0, steps=f"2{unit}"), steps=10)
    needs = {"%": "steps", "dur": "steps", "ep": "steps_per_epoch", "tok": "tokens_per_step",
             "sp": "samples_per_step"}[unit]
    others = {k: 7.0 for k in ("steps", "steps_per_epoch", "tokens_per_step", "samples_per_step") if k != needs}
    with pytest.raises(ValueError, match=rf"cosine's `steps` is '2{unit}'.*give {needs}=") as raised:
        lr.resolve(s, **others)
    assert "\n" not in str(raised.value)
    assert lr.resolve(lr.cosine(init=1.0, steps="1000ba")) == lr.cosine(init=1.0, steps=1000)


def test_the_readme_example_resolves_as_hf_would() -> None:
    s = lr.warmup(lr.cosine(init=3e-4, steps="95%"), steps="5%")
    assert repr(s) == "warmup(cosine(init=0.0003, steps='95%'), steps='5%')"
    assert json.loads(s.to_json())["steps"] == "5%"
    plain = lr.resolve(s, steps=10_000)
    assert plain == lr.warmup(lr.cosine(init=3e-4, steps=9_500), steps=500)
    assert lr.resolve(s, epochs=4, steps_per_epoch=2_500) == plain
    assert lr.resolve(plain, steps=3) is plain  # a plain schedule comes back unchanged


@pytest.mark.parametrize(
    "text, message",
    [
        ("5 parsecs", "must be a number or a length with a unit"),
        ("-5%", "must be > 0"),
        ("nan%", "must have a finite number"),
        ("inf ep", "must have a finite number"),
        ("1e400ep", "must have a finite number"),
        ("", "must be a number or a length with a unit"),
        ("%", "must be a number or a length with a unit"),
        ("5", "must be a number or a length with a unit"),
        ("5ep5", "must be a number or a length with a unit"),
        ("0%", "must be > 0"),
        ("x" * 10_000 + "%", "must be a number or a length with a unit"),
    ],
)
def test_bad_unit_strings_are_one_line_errors_naming_the_parameter(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as raised:
        lr.cosine(init=1.0, steps=text)
    shown = str(raised.value)
    assert shown.startswith("cosine: `steps`") and "\n" not in shown and len(shown) < 400


def test_units_only_where_a_length_is_and_lists_keep_their_checks() -> None:
    with pytest.raises(TypeError, match="`init` must be a real number"):
        lr.cosine(init="5%", steps=10)
    with pytest.raises(ValueError, match=r"`milestones\[1\]` must be a number or a length"):
        lr.multistep(init=1.0, milestones=["30ep", "soon"])
    with pytest.raises(ValueError, match="must be sorted in increasing order"):
        lr.resolve(lr.multistep(init=1.0, milestones=["60ep", "30ep"]), steps_per_epoch=10)
    with pytest.raises(ValueError, match=r"wsd: `decay` plus warmup=900 must be <= steps=1000"):
        lr.resolve(lr.wsd(peak=1.0, steps="100%", warmup="90%", decay="20%"), steps=1000)  # checked when resolved


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"steps": 0}, "`steps` must be > 0"),
        ({"steps": math.nan}, "`steps` must be finite"),
        ({"steps_per_epoch": "10"}, "`steps_per_epoch` must be a real number"),
        ({"epochs": 3}, "`epochs` needs steps_per_epoch="),
        ({"epochs": 3, "steps_per_epoch": 10, "steps": 31}, "`steps` disagrees with epochs \\* steps_per_epoch = 30"),
    ],
)
def test_resolve_checks_its_quantities(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        lr.resolve(lr.cosine(init=1.0, steps="50%"), **kwargs)


def test_a_template_inside_any_combinator_is_a_template() -> None:
    leaf = lr.cosine(init=1.0, steps="1ep")
    for s in (lr.warmup(leaf, 5), leaf * 2, leaf * lr.constant(value=0.5), leaf + 0.1, lr.clip(leaf, 0.1),
              lr.shift(leaf, 3), lr.join([lr.constant(value=1.0), leaf], [4]), lr.stretch(leaf, 2)):
        assert s.is_template, repr(s)
        with pytest.raises(ValueError, match="`steps` is '1ep'"):
            s.array(10)
        assert not lr.resolve(s, steps_per_epoch=20).is_template


STRETCHABLE = sorted(k for k, record in KINDS.items() if record.serialisable and k in R.ORACLES)


@pytest.mark.parametrize("kind", STRETCHABLE)
@pytest.mark.parametrize("factor", [0.5, 2.0, 3.7])
def test_stretch_runs_the_schedule_factor_times_slower(kind: str, factor: float) -> None:
    for spec in _specs(kind):
        s = lr.from_dict(spec)
        try:
            slow = lr.stretch(s, factor)
        except ValueError as err:  # a length past the largest float once stretched
            assert "leaves no valid schedule" in str(err)
            continue
        ts = np.array([0.0, 0.5, 1.0, 3.0, 10.0, 97.5, 1e3, 1e4, 2.5e5])
        want = np.array([s(t / factor) for t in ts])
        got = np.array([slow(t) for t in ts])
        scale = max(float(np.max(np.abs(want))), 1e-300)
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12 * scale, err_msg=repr(slow))
        np.testing.assert_array_equal(slow.array(len(ts)), [slow(float(i)) for i in range(len(ts))])
        h = s.horizon
        if h is None:
            assert slow.horizon is None or math.isfinite(slow.horizon)
        else:
            assert slow.horizon == pytest.approx(h * factor, rel=1e-9, abs=1e-300)
        assert lr.parse(repr(slow)) == slow and lr.from_json(slow.to_json()) == slow


def test_stretch_refuses_what_it_cannot_see_and_composes_with_units() -> None:
    with pytest.raises(TypeError, match="stretch: `schedule` cannot hold a custom schedule"):
        lr.stretch(lr.custom(lambda t: 1.0), 2)
    with pytest.raises(ValueError, match="stretch: `factor` must be > 0"):
        lr.stretch(lr.constant(value=1.0), 0)
    template = lr.stretch(lr.warmup(lr.cosine(init=1.0, steps="90%"), steps="10%"), 2)
    assert lr.resolve(template, steps=100) == lr.stretch(lr.warmup(lr.cosine(init=1.0, steps=90), steps=10), 2)
    cyclic = lr.cyclic(base=0.1, peak=1.0, step_up=10, mode="exp_range", gamma=0.99)
    assert lr.stretch(cyclic, 4)(40.0) == pytest.approx(cyclic(10.0), rel=1e-12)


@pytest.mark.parametrize("ratio", [0.0, 0.01, 0.05, 0.1, 0.333, 0.5, 0.999])
@pytest.mark.parametrize("total", [1, 7, 100, 1001, 12_345])
def test_from_hf_warmup_ratio_rounds_as_transformers(ratio: float, total: int) -> None:
    from transformers import TrainingArguments

    args = TrainingArguments(output_dir="unused", warmup_steps=ratio, report_to=[])
    warmup = args.get_warmup_steps(total)
    s = lr.from_hf("linear", 0.1, num_training_steps=total, warmup_ratio=ratio)
    assert s == lr.from_hf("linear", 0.1, num_warmup_steps=warmup, num_training_steps=total)


def test_from_hf_warmup_ratio_is_checked() -> None:
    with pytest.raises(ValueError, match="`warmup_ratio` must be < 1"):
        lr.from_hf("linear", 0.1, num_training_steps=10, warmup_ratio=1.0)
    with pytest.raises(ValueError, match="`warmup_ratio` and num_warmup_steps=3 cannot both be given"):
        lr.from_hf("linear", 0.1, num_warmup_steps=3, num_training_steps=10, warmup_ratio=0.1)
    with pytest.raises(ValueError, match="`warmup_ratio` needs num_training_steps"):
        lr.from_hf("constant_with_warmup", 0.1, warmup_ratio=0.1)


def _cli(*argv: str, cwd: Any = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lrcore", *argv], capture_output=True, text=True, timeout=120,
                          cwd=cwd)


def test_cli_resolves_units_from_its_flags(tmp_path: Any) -> None:
    spec = 'warmup(cosine(init=1, steps="90%"), steps="10%")'
    out = _cli("table", spec, "--steps", "100", "--every", "10", "--format", "json")
    assert out.returncode == 0, out.stderr
    table = json.loads(out.stdout)
    want = lr.resolve(lr.parse(spec), steps=100)
    assert table["lr"] == [want(t) for t in table["t"]]
    out = _cli("plot", 'step(init=0.1, step_size="3ep")', "--steps-per-epoch", "12.5", "-o", str(tmp_path / "e.png"))
    assert out.returncode == 0, out.stderr
    assert "step(init=0.1, step_size=37.5)" in out.stdout and (tmp_path / "e.png").stat().st_size > 0
    out = _cli("plot", spec, "-o", str(tmp_path / "x.png"))
    assert out.returncode == 2 and out.stderr.count("\n") == 1
    assert "give --steps" in out.stderr and not (tmp_path / "x.png").exists()
    out = _cli("table", 'cosine(init=1, steps="2tok")', "--tokens-per-step", "-1")
    assert out.returncode == 2 and "--tokens-per-step" in out.stderr


def test_plot_counts_epochs_when_given_updates_per_epoch() -> None:
    import matplotlib

    matplotlib.use("Agg")
    from lrcore._cli import build_parser, run_plot

    args = build_parser().parse_args(["plot", 'step(init=0.1, step_size="3ep")', "--steps-per-epoch", "10",
                                      "--steps", "90", "-o", "unused.png"])
    drawn: dict[str, Any] = {}
    from lrcore import _cli

    def keep(target: Any, write: Any) -> None:
        from matplotlib.figure import Figure

        original = Figure.savefig
        Figure.savefig = lambda self, *a, **k: drawn.update(ax=self.axes[0])  # type: ignore[method-assign]
        try:
            write("unused.png")
        finally:
            Figure.savefig = original  # type: ignore[method-assign]

    saved = _cli._write_atomically
    _cli._write_atomically = keep  # type: ignore[assignment]
    try:
        run_plot(args)
    finally:
        _cli._write_atomically = saved  # type: ignore[assignment]
    ax = drawn["ax"]
    assert ax.get_xlabel() == "epoch (10 optimizer updates each)"
    x = ax.get_lines()[0].get_xdata()
    assert x[0] == 0 and x[-1] == pytest.approx(8.9) and ax.get_xlim()[1] == pytest.approx(8.9)
    assert ax.get_lines()[0].get_drawstyle() == "steps-post"  # a step decay over 90 steps: its jumps are vertical


