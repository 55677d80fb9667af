"""lrcore benchmarks, side by side with the alternatives, in one run.

    python bench/run.py            # full sizes (a few minutes)
    python bench/run.py --smoke    # tiny sizes, a few seconds: keeps the code from rotting

Prints a table of medians and ratios and writes it to bench/results/latest.{json,md}.
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
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import lrcore as lr

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

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
        for r in self.rows:
            if r["seconds"] is not None:
                t = _fmt_time(r["seconds"])
            else:  # a ratio-only row (its note holds the number) or a peer that is not installed
                t = "skipped" if "skipped" in r["note"] or "not installed" in r["note"] else "—"
            ratio = "" if r["ratio"] is None else f"{r['ratio']:.2f}×"
            lines.append(f"| {r['group']} | {r['what']} | {t} | {ratio} | {r['note']} |")
        return "\n".join(lines)


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
    s.array(1 << 19)  # compile / load both kernels before timing
    s.array(1000)
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
    table.add(group, "numpy closed form", numpy_time, floor, f"lrcore is {numpy_time / ours:.1f}× faster")

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
            "optax warmup_cosine_decay_schedule, jit over arange (float32)",
            optax_time,
            floor,
            f"lrcore is {optax_time / ours:.1f}× faster",
        )


def bench_scalar(table: Table, calls: int, repeat: int) -> None:
    group = "scalar s(t) from Python"
    s = schedule_for(10_000)
    w, d = 1000, 9000

    def closure(t: float) -> float:
        if t < w:
            return PEAK * t / w
        p = min(t - w, d) / d
        return FINAL + (PEAK - FINAL) * 0.5 * (1 + math.cos(math.pi * p))

    ts = [float(i % 10_000) for i in range(calls)]
    s(5.0)
    base = median_time(lambda: [closure(t) for t in ts], repeat) / calls
    table.add(group, "hand-written Python closure", base, base)
    table.add(group, "lrcore s(t)", median_time(lambda: [s(t) for t in ts], repeat) / calls, base)
    try:
        import optax
    except ImportError:
        table.add(group, "optax schedule, eager scalar", None, note="optax not installed")
    else:
        sched = optax.warmup_cosine_decay_schedule(0.0, PEAK, w, w + d, end_value=FINAL)
        few = ts[:200]
        eager = median_time(lambda: [sched(t) for t in few], 3) / len(few)
        table.add(group, "optax schedule, eager scalar", eager, base)


def _time_command(code: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=tempfile.gettempdir())
    return time.perf_counter() - start


STARTUP = "import lrcore as lr; s = lr.warmup(lr.cosine(init=0.1, steps=900), steps=100); s(5); s.array(1000)"


def bench_startup(table: Table, repeat: int) -> None:
    group = "start-up (fresh process)"
    env = dict(os.environ)
    table.add(group, "python -c pass", statistics.median(_time_command("pass", env) for _ in range(repeat)))
    numba_only = statistics.median(_time_command("import numba", env) for _ in range(repeat))
    table.add(group, "python -c 'import numba'", numba_only)
    _time_command(STARTUP, env)  # make sure the on-disk cache is warm
    warm = statistics.median(_time_command(STARTUP, env) for _ in range(repeat))
    table.add(group, "import lrcore, s(5), s.array(1000): warm cache", warm)
    cold = []
    for _ in range(max(1, repeat // 2)):
        with tempfile.TemporaryDirectory() as cache:
            cold.append(_time_command(STARTUP, {**env, "NUMBA_CACHE_DIR": cache}))
    table.add(group, "same, cold cache (everything compiled)", statistics.median(cold))


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
    table.add(group, "lrcore.adapters.torch.Scheduler.step()", ours, base)


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
    table.add(group, "lrcore.adapters.optax.schedule", statistics.median(times["lrcore"]), base)


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one quick pass (for CI)")
    parser.add_argument("--out", type=Path, default=HERE / "results", help="folder for latest.json / latest.md")
    args = parser.parse_args(argv)
    smoke = args.smoke
    table = Table()
    bench_arrays(table, 100_000 if smoke else 10_000_000, 3 if smoke else 7)
    bench_scalar(table, 2_000 if smoke else 100_000, 3 if smoke else 7)
    bench_startup(table, 1 if smoke else 5)
    bench_memory(table, 100_000 if smoke else 10_000_000, 10_000_000 if smoke else 1_000_000_000)
    bench_torch(table, 100 if smoke else 10_000, 3 if smoke else 7)
    bench_optax(table, 20 if smoke else 2_000, 3 if smoke else 7)

    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    header = f"lrcore benchmarks, {stamp}, {machine()}" + (" (smoke sizes)" if smoke else "")
    vers = ", ".join(f"{k} {v}" for k, v in versions().items())
    md_text = f"{header}\n\n{vers}\n\n{table.markdown()}\n"
    print(md_text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latest.md").write_text(md_text)
    payload = {"date": stamp, "machine": machine(), "versions": versions(), "smoke": smoke, "rows": table.rows}
    (args.out / "latest.json").write_text(json.dumps(payload, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
