"""Minimise a small least-squares problem with SGD + momentum under a warmup + cosine schedule.

    python examples/sgd_least_squares.py

The schedule is evaluated once, as an array, and the numba loop reads lrs[t] at update t.
"""

from __future__ import annotations

import numpy as np

import lrcore as lr
from lrcore.adapters.sgd import sgd_least_squares_numba, sgd_numpy


def main() -> None:
    rng = np.random.default_rng(0)
    m, d, steps = 200, 20, 600
    A = rng.normal(size=(m, d)) * np.logspace(0, -1, d)  # columns of falling scale: a slow problem
    x_true = rng.normal(size=d)
    b = A @ x_true + 0.01 * rng.normal(size=m)
    x_best = np.linalg.lstsq(A, b, rcond=None)[0]
    best = 0.5 * float((A @ x_best - b) @ (A @ x_best - b)) / m

    schedule = lr.warmup(lr.cosine(init=0.1, steps=steps - 50, final=1e-4), steps=50)
    lrs = schedule.array(steps)
    x, history = sgd_least_squares_numba(A, b, np.zeros(d), lrs, momentum=0.9)

    print(f"schedule: {schedule!r}")
    print(f"{'step':>6} {'lr':>10} {'loss':>12} {'loss - min':>12}")
    for t in [*range(0, steps, 60), steps - 1]:
        print(f"{t:>6} {lrs[t]:>10.5f} {history[t]:>12.6f} {history[t] - best:>12.3e}")
    print(f"distance to the least-squares solution: {np.linalg.norm(x - x_best):.2e}")

    # The same run through the plain numpy loop, with the gradient written out.
    def value_and_grad(x: np.ndarray) -> tuple[float, np.ndarray]:
        residual = A @ x - b
        return 0.5 * float(residual @ residual) / m, A.T @ residual / m

    x_np, _ = sgd_numpy(value_and_grad, np.zeros(d), lrs, momentum=0.9)
    print(f"numpy and numba loops agree: {np.allclose(x, x_np, rtol=1e-10, atol=1e-12)}")


if __name__ == "__main__":
    main()
