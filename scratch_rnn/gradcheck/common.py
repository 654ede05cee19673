"""What every gradient check shares: the error measure, central differences, the tolerances, and
the printed table."""
from __future__ import annotations

from typing import Callable

import numpy as np

# Tolerances: the one place the tests and the `gradcheck` command take them from. Each is a bound
# on `max_rel_error`, the error relative to the gradient's largest magnitude.
FD_TOL = 1e-7        # central differences, eps = 1e-6, float64
TORCH_TOL = 1e-10    # autograd, float64
#: Numba against the NumPy reference, per dtype
NUMBA_TOL = {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 1e-5}
#: float32 against float64, the same computation
FLOAT32_TOL = 1e-4


def max_rel_error(actual: np.ndarray, expected: np.ndarray) -> float:
    """max |actual - expected| / max(max |actual|, max |expected|): the error relative to the
    largest magnitude of the gradient (0 when both are exactly zero)."""
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    if actual.shape != expected.shape:
        raise ValueError(f"actual: expected shape {expected.shape}, got {actual.shape}")
    scale = max(np.abs(actual).max(initial=0.0), np.abs(expected).max(initial=0.0))
    err = np.abs(actual - expected).max(initial=0.0)
    return 0.0 if err == 0.0 else float(err / scale)


def numerical_gradient(f: Callable[[], float], arr: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences (f(a + eps) - f(a - eps)) / (2 eps) for every entry of `arr`, which
    `f` reads; `arr` is perturbed in place and restored exactly."""
    grad = np.zeros_like(arr, dtype=np.float64)
    flat, gflat = arr.reshape(-1), grad.reshape(-1)
    for k in range(flat.size):
        old = flat[k]
        flat[k] = old + eps
        up = f()
        flat[k] = old - eps
        down = f()
        flat[k] = old
        gflat[k] = (up - down) / (2 * eps)
    return grad


#: the columns that name a row of `layers.check_rows`: (key, format spec)
LAYER_COLUMNS = (("cell", "<5"), ("T", ">4"), ("B", ">3"), ("D", ">3"), ("H", ">3"))


def format_rows(rows: list[dict], columns=LAYER_COLUMNS) -> str:
    """The rows as a fixed-width table, one line per gradient, failures marked; `columns` name a row."""
    head = "".join(f"{k:{spec}}" for k, spec in columns)
    head += f"  {'backend':<8}{'gradient':<10}{'vs finite diff':>15}{'vs torch':>12}  status"
    lines = [head, "-" * len(head)]
    for r in rows:
        torch_err = "n/a" if r["torch_error"] is None else f"{r['torch_error']:.1e}"
        ok = r["fd_error"] <= FD_TOL and (r["torch_error"] is None or r["torch_error"] <= TORCH_TOL)
        lines.append("".join(f"{r[k]:{spec}}" for k, spec in columns) + f"  {r['backend']:<8}{r['quantity']:<10}"
                     f"{r['fd_error']:>15.1e}{torch_err:>12}  {'ok' if ok else 'FAIL'}")
    return "\n".join(lines)


def rows_pass(rows: list[dict]) -> bool:
    """True when every error is within FD_TOL and TORCH_TOL."""
    return all(r["fd_error"] <= FD_TOL and (r["torch_error"] is None or r["torch_error"] <= TORCH_TOL) for r in rows)
