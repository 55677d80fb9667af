"""lrcore benchmarks, side by side with the alternatives, in one run.

    python bench/run.py            # full sizes (a few minutes)
    python bench/run.py --docs     # the same, then the docs' speed table is rewritten from it
    python bench/run.py --smoke    # tiny sizes, under a minute: keeps the code from rotting

Prints a table of medians and ratios and writes it to bench/results/latest.{json,md}.
Like is compared with like (float64 with numpy's float64, float32 with optax's
float32), and every comparison is worded from lrcore's side ("1.7× slower").
Start-up is measured in fresh processes: cold (an empty numba cache in a new
temporary folder each run) and warm, split into import / first s(t) / first
s.array(1000) / first parallel s.array(2**20), against numba's own floor.
s(t) is timed against the lean closure a user would write, called with int t as
training loops pass it, and with float t.
Peers that are not installed are reported as skipped.  Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import tracemalloc
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import lrcore as lr
from lrcore._schedule import KERNEL_MIN, PARALLEL_MIN

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PAGE = ROOT / "docs" / "guides" / "evaluation.md"  # the speed table's page
BEGIN = "<!-- bench:begin: written by `python bench/run.py --docs` from the run it just made -->"
END = "<!-- bench:end -->"

PEAK, FINAL, WARM, TOTAL = 3e-4, 3e-5, 0.1, 1.0  # warmup(cosine) shape: 10 % warmup


def schedule_for(n: int) -> lr.Schedule:
    w = max(1, int(n * WARM))
    return lr.warmup(lr.cosine(init=PEAK, steps=n - w, final=FINAL), steps=w)


def median_time(fn: Callable[[], Any], repeat: int, number: int = 1) -> float:
    """Median seconds per call over `repeat` rounds of `number` calls."""
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - start) / number)
    return statistics.median(times)


class Table:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add(self, group: str, what: str, seconds: float | None, baseline: float | None = None, note: str = "") -> None:
        ratio = None if seconds is None or baseline is None else seconds / baseline
        self.rows.append({"group": group, "what": what, "seconds": seconds, "ratio": ratio, "note": note})

    def markdown(self) -> str:
        lines = ["| group | what | median | ratio | note |", "|---|---|---:|---:|---|"]
        group = None
        for r in self.rows:
            if r["seconds"] is not None:
                t = _fmt_time(r["seconds"])
            else:  # a ratio-only row (its note holds the number) or a peer that is not installed
                t = "skipped" if "skipped" in r["note"] or "not installed" in r["note"] else "—"
            ratio = "" if r["ratio"] is None else f"{r['ratio']:.2f}×"
            shown = r["group"] if r["group"] != group else ""  # each group named once
            group = r["group"]
            lines.append(f"| {shown} | {r['what']} | {t} | {ratio} | {r['note']} |")
        return "\n".join(lines)


def versus(ours: float, theirs: float, who: str = "lrcore") -> str:
    """How `who` (taking `ours` seconds) compares with `theirs`, worded to read right either way."""
    if ours <= 0 or theirs <= 0:
        return f"{who}: not measurable"
    r = theirs / ours
    if r >= 1.05:
        return f"{who} {r:.1f}× faster"
    if r <= 1 / 1.05:
        return f"{who} {1 / r:.1f}× slower"
    return f"{who} about as fast"


def _fmt_time(s: float) -> str:
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.1f} ms"
    if s >= 1e-6:
        return f"{s * 1e6:.1f} µs"
    return f"{s * 1e9:.0f} ns"


# ---------------------------------------------------------------------------


def bench_arrays(table: Table, n: int, repeat: int) -> None:
    group = f"array n={n:,}"
    s = schedule_for(n)
    for dtype in (np.float64, np.float32):  # compile or load the kernels (2**20 values and more) before timing
        s.array(max(KERNEL_MIN, PARALLEL_MIN), dtype=dtype)
        s.array(n, dtype=dtype)  # and touch this size's memory once, as the floor's warm-up below
    np.empty(n).fill(0.5)
    floor = median_time(lambda: np.empty(n).fill(0.5), repeat)
    table.add(group, "memory floor: np.empty(n).fill(x)", floor, floor)
    ours = median_time(lambda: s.array(n), repeat)
    table.add(group, "lrcore s.array(n) float64", ours, floor)
    as_float32 = median_time(lambda: s.array(n, dtype=np.float32), repeat)
    table.add(group, "lrcore s.array(n, dtype=float32)", as_float32, floor)

    w = max(1, int(n * WARM))
    d = n - w

    def numpy_closed_form() -> np.ndarray:
        t = np.arange(n, dtype=np.float64)
        ramp = PEAK * t / w
        p = np.minimum(t - w, d) / d
        decay = FINAL + (PEAK - FINAL) * 0.5 * (1 + np.cos(np.pi * p))
        return np.where(t < w, ramp, decay)

    numpy_time = median_time(numpy_closed_form, repeat)
    table.add(group, "numpy closed form, float64", numpy_time, floor, versus(ours, numpy_time, "lrcore float64"))

    try:
        import jax
        import jax.numpy as jnp
        import optax
    except ImportError:
        table.add(group, "optax warmup_cosine_decay_schedule, jit over arange", None, note="jax/optax not installed")
    else:
        sched = optax.warmup_cosine_decay_schedule(0.0, PEAK, w, n, end_value=FINAL)
        fn = jax.jit(lambda: sched(jnp.arange(n)))
        fn().block_until_ready()
        optax_time = median_time(lambda: fn().block_until_ready(), repeat)
        table.add(
            group,
            "optax warmup_cosine_decay_schedule, jit over arange, float32",
            optax_time,
            floor,
            versus(as_float32, optax_time, "lrcore float32"),
        )


def closure_for(w: int, d: int) -> Callable[[float], float]:
    """schedule_for(w + d) as the lean closure a user would write instead: no min(), no hold past the end."""

    def lr(t: float) -> float:
        if t < w:
            return PEAK * t / w
        else:
            return FINAL + (PEAK - FINAL) * 0.5 * (1 + math.cos(math.pi * (t - w) / d))

    return lr


def scalar_times(calls: int, repeat: int) -> dict[str, float]:
    """Seconds per call of the closure and of s(t), with int t (as training loops pass it) and float t,
    t over the whole run (warmup and decay).  Rounds alternate between the four, so that drifts of a
    noisy machine hit them alike."""
    s = schedule_for(10_000)
    closure = closure_for(1000, 9000)
    for t in (0, 1, 999, 1000, 1001, 5000, 9999):  # the same schedule, or the comparison means nothing
        if not math.isclose(closure(t), s(t), rel_tol=1e-12, abs_tol=1e-300):
            raise RuntimeError(f"the closure and s disagree at t={t}: {closure(t)!r} != {s(t)!r}")
    ints = [i % 10_000 for i in range(calls)]
    floats = [float(t) for t in ints]
    series = {
        "closure int": lambda: [closure(t) for t in ints],
        "lrcore int": lambda: [s(t) for t in ints],
        "closure float": lambda: [closure(t) for t in floats],
        "lrcore float": lambda: [s(t) for t in floats],
    }
    times: dict[str, list[float]] = {name: [] for name in series}
    for _ in range(repeat):
        for name, run in series.items():
            times[name].append(median_time(run, 1) / calls)
    return {name: statistics.median(values) for name, values in times.items()}


def bench_scalar(table: Table, calls: int, repeat: int) -> None:
    times = scalar_times(calls, repeat)
    group = "scalar s(t) from Python, int t"
    base = times["closure int"]
    table.add(group, "hand-written Python closure (if t < w: … else: … math.cos)", base, base)
    table.add(group, "lrcore s(t)", times["lrcore int"], base, versus(times["lrcore int"], base))
    try:
        import optax
    except ImportError:
        table.add(group, "optax schedule, eager scalar", None, note="optax not installed")
    else:
        sched = optax.warmup_cosine_decay_schedule(0.0, PEAK, 1000, 10_000, end_value=FINAL)
        few = [i % 10_000 for i in range(200)]
        eager = median_time(lambda: [sched(t) for t in few], 3) / len(few)
        table.add(group, "optax schedule, eager scalar", eager, base, versus(times["lrcore int"], eager))
    group = "scalar s(t) from Python, float t"
    base = times["closure float"]
    table.add(group, "hand-written Python closure", base, base)
    table.add(group, "lrcore s(t)", times["lrcore float"], base, versus(times["lrcore float"], base))


# -- start-up, in fresh processes ------------------------------------------------------

# Prints the seconds of each first use, measured inside the child.
STARTUP_SPLIT = textwrap.dedent(
    """
    import json, time
    t0 = time.perf_counter()
    import lrcore as lr
    t1 = time.perf_counter()
    s = lr.warmup(lr.cosine(init=0.1, steps=900), steps=100)
    s(5)
    t2 = time.perf_counter()
    s.array(1000)
    t3 = time.perf_counter()
    s.array(500_000)
    t4 = time.perf_counter()
    s.array(2**20)
    t5 = time.perf_counter()
    print(json.dumps([t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4]))
    """
)
PHASES = (
    "import lrcore",
    "first s(t)",
    "first s.array(1000)",
    "first s.array(500_000), an adapter's table",
    "first parallel s.array(2**20)",
)
# The targets for the cold time since the process started, by phase (1-based, as PHASES):
# up to the first s(t), and up to the first s.array(1000).
COLD_TARGETS = {2: 1.5, 3: 3.0}
README_PLOT = ["plot", "warmup(cosine(init=3e-4, steps=9000, final=3e-5), steps=1000)", "--steps", "10000"]
FLOOR_MODULE = textwrap.dedent(
    """
    from numba import njit

    @njit(cache=True)
    def one(x):
        return x + 1.0
    """
)


def _env(cache: Path | None) -> dict[str, str]:
    """The environment of a child numba caching in `cache` (None: wherever this environment says)."""
    return dict(os.environ) if cache is None else {**os.environ, "NUMBA_CACHE_DIR": str(cache)}


def _process(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, str]:
    """Wall seconds of a fresh Python process running `args`, and its stdout."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, *args], env=env, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{args[:2]} failed: {done.stderr.strip()[-500:]}")
    return elapsed, done.stdout


def _split(cache: Path | None, cwd: Path) -> list[float]:
    """[python start-up, import, first s(t), first array, first table, first parallel array] of one fresh process."""
    wall, out = _process(["-c", STARTUP_SPLIT], _env(cache), cwd)
    phases = json.loads(out.splitlines()[-1])
    return [wall - sum(phases), *phases]


def _add_split(table: Table, group: str, label: str, runs: list[list[float]], targets: dict[int, float]) -> None:
    """One row per phase (medians over the runs) with the time since the process started."""
    medians = [statistics.median(r[i] for r in runs) for i in range(len(runs[0]))]
    total = medians[0]
    for i, phase in enumerate(PHASES, start=1):
        total += medians[i]
        note = f"{total:.2f} s since the process started"
        if i in targets:
            note += f" (target ≤ {targets[i]:g} s)"
        table.add(group, f"{label}: {phase}", medians[i], note=note)


def bench_startup(table: Table, repeat: int, together: int, *, cold: bool = True) -> None:
    """Start-up rows; without `cold` (the smoke run) every cache is the environment's own, warm one."""
    group = f"start-up (fresh processes, median of {repeat})" + ("" if cold else ", smoke: caches not emptied")
    with tempfile.TemporaryDirectory() as work:
        cwd = Path(work)
        count = iter(range(10**6))

        def empty_cache() -> Path | None:
            """A new empty cache folder for one cold run."""
            if not cold:
                return None
            folder = cwd / f"cache-{next(count)}"
            folder.mkdir()
            return folder

        table.add(
            group,
            "python -c pass",
            statistics.median(_process(["-c", "pass"], dict(os.environ), cwd)[0] for _ in range(repeat)),
        )
        _add_split(table, group, "cold", [_split(empty_cache(), cwd) for _ in range(repeat)], COLD_TARGETS)

        warm_cache = empty_cache()
        _split(warm_cache, cwd)  # fills it
        warm = [_split(warm_cache, cwd) for _ in range(repeat)]
        _add_split(table, group, "warm", warm, {})

        (cwd / "floor_module.py").write_text(FLOOR_MODULE)
        floor_code = ["-c", "import floor_module; floor_module.one(1.0)"]
        floor_env = _env(warm_cache if cold else cwd / "floor-cache")
        _process(floor_code, floor_env, cwd)  # compiles and caches `one`
        floor = statistics.median(_process(floor_code, floor_env, cwd)[0] for _ in range(repeat))
        table.add(group, "numba's floor: import numba, call one cached @njit function (warm)", floor, floor)
        # The same fresh-process span as the floor: start-up, import, s(t), s.array(1000).
        warm_use = statistics.median(sum(r[:4]) for r in warm)
        table.add(
            group,
            "warm: python start to first s.array(1000), against the floor",
            warm_use,
            floor,
            f"target ≤ 1.2× · {versus(warm_use, floor)} than numba's floor",
        )

        readme_plot = ["-m", "lrcore", *README_PLOT, "-o", "tmp.png"]
        plots = [_process(readme_plot, _env(empty_cache()), cwd)[0] for _ in range(repeat)]
        table.add(
            group,
            "cold: the README's `python -m lrcore plot … --steps 10000 -o tmp.png`",
            statistics.median(plots),
            note="target ≤ 4 s",
        )

        # Several processes on one empty cache: started together, then one after another.
        code = ["-c", STARTUP_SPLIT]
        shared = _env(empty_cache())
        procs = []
        for i in range(together):
            err = (cwd / f"together-{i}.err").open("w")
            child = subprocess.Popen(
                [sys.executable, *code], env=shared, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err
            )
            procs.append((time.perf_counter(), child, err))
        walls: dict[int, float] = {}
        while len(walls) < together:  # each process's own wall time, whatever order they end in
            for i, (start, proc, err) in enumerate(procs):
                if i not in walls and proc.poll() is not None:
                    walls[i] = time.perf_counter() - start
                    err.close()
                    if proc.returncode != 0:
                        raise RuntimeError(f"concurrent start-up failed: {Path(err.name).read_text()[-500:]}")
            time.sleep(0.005)
        at_once = statistics.median(walls.values())
        all_done = max(walls.values())
        one_by_one = _env(empty_cache())
        in_turn = [_process(code, one_by_one, cwd)[0] for _ in range(together)]
        serial = statistics.median(in_turn)
        table.add(
            group,
            f"{together} processes one after another on one empty cache, per process",
            serial,
            serial,
            f"all done after {sum(in_turn):.1f} s",
        )
        table.add(
            group,
            f"{together} processes started together on one empty cache, per process",
            at_once,
            serial,
            f"all done after {all_done:.1f} s; must not be slower than one after another",
        )


def bench_memory(table: Table, n: int, chunk_total: int) -> None:
    group = "memory"
    s = schedule_for(n)
    s.array(1 << 19, dtype=np.float32)
    tracemalloc.start()
    out = s.array(n, dtype=np.float32)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    table.add(group, f"s.array({n:,}, float32) peak / output bytes", None, note=f"{peak / out.nbytes:.3f}×")
    del out
    big = schedule_for(chunk_total)
    tracemalloc.start()
    start = time.perf_counter()
    total = 0.0
    for part in big.chunks(chunk_total, 1 << 20):
        total += float(part.sum())
    elapsed = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    table.add(group, f"s.chunks({chunk_total:,}, 2**20) summed", elapsed, note=f"peak {peak / 2**20:.1f} MiB traced")


def bench_torch(table: Table, steps: int, repeat: int) -> None:
    group = "torch scheduler.step()"
    try:
        import torch

        from lrcore.adapters.torch import Scheduler
    except ImportError as err:
        table.add(group, "torch adapter", None, note=f"skipped: {err}")
        return

    def run(make: Callable[[torch.optim.Optimizer], Any]) -> float:
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=PEAK)
        sched = make(opt)
        with warnings.catch_warnings():
            # Only the scheduler steps here; torch would warn that the optimizer never did.
            warnings.filterwarnings("ignore", message="Detected call of `lr_scheduler.step\\(\\)`")
            return median_time(sched.step, repeat, steps)

    base = run(lambda opt: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10_000, eta_min=FINAL))
    table.add(group, "torch CosineAnnealingLR.step()", base, base)
    ours = run(lambda opt: Scheduler(opt, lr.cosine(init=PEAK, steps=10_000, final=FINAL)))
    table.add(group, "lrcore.adapters.torch.Scheduler.step()", ours, base, versus(ours, base))


def bench_optax(table: Table, steps: int, repeat: int) -> None:
    group = "optax: jitted SGD step (1000 params)"
    try:
        import jax
        import jax.numpy as jnp
        import optax

        from lrcore.adapters.optax import schedule as optax_schedule
    except ImportError as err:
        table.add(group, "optax adapter", None, note=f"skipped: {err}")
        return
    native = optax.warmup_cosine_decay_schedule(0.0, PEAK, 1000, 10_000, end_value=FINAL)
    ours = optax_schedule(lr.warmup(lr.cosine(init=PEAK, steps=9000, final=FINAL), steps=1000))

    def runner(sched: Any) -> Callable[[], None]:
        opt = optax.inject_hyperparams(optax.sgd)(learning_rate=sched)
        params = jnp.ones(1000)
        state = opt.init(params)

        @jax.jit
        def train_step(params: Any, state: Any) -> Any:
            grads = jax.grad(lambda p: jnp.sum(p**2))(params)
            updates, state = opt.update(grads, state)
            return optax.apply_updates(params, updates), state

        params, state = train_step(params, state)
        jax.block_until_ready(params)

        def run() -> None:
            nonlocal params, state
            for _ in range(steps):
                params, state = train_step(params, state)
            jax.block_until_ready(params)

        return run

    # Rounds alternate between the two so that drifts of a noisy machine hit both alike.
    runs = {"native": runner(native), "lrcore": runner(ours)}
    times: dict[str, list[float]] = {"native": [], "lrcore": []}
    for _ in range(repeat):
        for name, run in runs.items():
            times[name].append(median_time(run, 1) / steps)
    base = statistics.median(times["native"])
    table.add(group, "optax warmup_cosine_decay_schedule", base, base)
    ours = statistics.median(times["lrcore"])
    table.add(group, "lrcore.adapters.optax.schedule", ours, base, versus(ours, base))


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}, {platform.system()}"


def versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {}
    for name in ("lrcore", "numpy", "numba", "torch", "jax", "optax"):
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = "not installed"
    return out


def rewrite_between(page: Path, block: str, begin: str = BEGIN, end: str = END) -> None:
    """Put `block` between the `begin` and `end` markers of `page` (by default the speed table's; the
    first run adds none: they must be there, once).  ``bench/finder.py`` writes its table through it too."""
    text = page.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
    if len(pattern.findall(text)) != 1:
        raise SystemExit(f"{page}: needs exactly one pair of markers:\n{begin}\n{end}")
    updated = pattern.sub(lambda _: f"{begin}\n{block}\n{end}", text)
    tmp = page.with_name(f".{page.name}.tmp")
    tmp.write_text(updated, encoding="utf-8")
    tmp.replace(page)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one quick pass (for CI)")
    parser.add_argument("--out", type=Path, default=HERE / "results", help="folder for latest.json / latest.md")
    parser.add_argument(
        "--docs", action="store_true", help=f"rewrite the speed table in {PAGE.relative_to(ROOT)} from this run"
    )
    args = parser.parse_args(argv)
    smoke = args.smoke
    if args.docs and smoke:
        parser.error("--docs takes the full run's numbers, not --smoke's")
    table = Table()
    bench_arrays(table, 100_000 if smoke else 10_000_000, 3 if smoke else 7)
    bench_scalar(table, 2_000 if smoke else 100_000, 3 if smoke else 7)
    bench_startup(table, 1 if smoke else 3, 2 if smoke else 6, cold=not smoke)
    bench_memory(table, 100_000 if smoke else 10_000_000, 10_000_000 if smoke else 1_000_000_000)
    bench_torch(table, 100 if smoke else 10_000, 3 if smoke else 7)
    bench_optax(table, 20 if smoke else 2_000, 3 if smoke else 7)

    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load = f"load average {os.getloadavg()[0]:.1f} at the end" if hasattr(os, "getloadavg") else ""
    header = f"Measured {stamp} on {machine()}" + (f", {load}" if load else "") + (" (smoke sizes)" if smoke else "")
    vers = ", ".join(f"{k} {v}" for k, v in versions().items())
    md_text = (
        f"{header}; {vers}. The schedule is `warmup(cosine)` with a 10 % warmup; "
        f"ratios are to the first row of each group.\n\n{table.markdown()}\n"
    )
    print(md_text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latest.md").write_text(md_text)
    payload = {"date": stamp, "machine": machine(), "versions": versions(), "smoke": smoke, "rows": table.rows}
    (args.out / "latest.json").write_text(json.dumps(payload, indent=2))
    if args.docs:
        rewrite_between(PAGE, md_text.rstrip("\n"))
        print(f"rewrote the speed table in {PAGE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
