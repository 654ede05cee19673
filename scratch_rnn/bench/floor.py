r"""The floor of a kernel: its matrix products at the machine's own one-thread GEMM rate.

A recurrent layer's forward pass and BPTT are mostly matrix products of known shapes. For a cell
with G gates, T steps, batch B, input D and hidden H (one direction, no projection):

* forward: the input projection (T B, D) @ (D, G H) once, and per step (B, H) @ (H, G H):
  2 T B G H (D + H) FLOPs;
* backward: per step dL/dh_{t-1} = (B, G H) @ (G H, H), dx = (T B, G H) @ (G H, D), and the weight
  gradients (G H, T B) @ (T B, H + D): 4 T B G H (D + H) FLOPs.

`gemm_rate` times Numba's ``np.dot`` (SciPy's BLAS, the call the kernels make) on one thread at a shape;
`kernel_floor` adds up each product's FLOPs over the rate measured at that product's own shape. A
kernel "at the floor" does nothing but its products at the speed the BLAS does them alone; its
elementwise work (gates, cell update, stores) is what it spends above it.
"""
from __future__ import annotations

import time
from functools import lru_cache

import numpy as np

from .._numba.flags import jit
from ..cells import CELLS


@jit
def _gemm_loop(a, b, out, n):
    """n products a @ b into out, through the call the kernels make (Numba's np.dot)."""
    for _ in range(n):
        np.dot(a, b, out)


@lru_cache(maxsize=None)
def gemm_rate(m: int, k: int, n: int, dtype: str, seconds: float = 0.2) -> float:
    """FLOP/s of one-thread (m, k) @ (k, n) through Numba's ``np.dot`` (SciPy's BLAS, no Python in
    the way), the best of repeated batches."""
    from .._numba.entry import kernel_entry
    from .._numba.threads import num_threads
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    out = np.empty((m, n), dtype=dtype)
    reps = max(1, int(2e7 / (2.0 * m * k * n)))                 # about 20 MFLOP a batch
    call = kernel_entry(_gemm_loop)
    with num_threads(1):
        call(a, b, out, 1)
        best, t_end = float("inf"), time.perf_counter() + seconds
        while time.perf_counter() < t_end:
            t0 = time.perf_counter()
            call(a, b, out, reps)
            best = min(best, (time.perf_counter() - t0) / reps)
    return 2.0 * m * k * n / best


def products(cell: str, T: int, B: int, H: int, D: int) -> dict[str, list[tuple[int, int, int, int]]]:
    """{"forward": [...], "backward": [...]}: (count, m, k, n) of every product of the kernels."""
    GH = CELLS[cell].gates * H
    return {"forward": [(1, T * B, D, GH), (T, B, H, GH)],
            "backward": [(T, B, GH, H), (1, T * B, GH, D), (1, GH, T * B, H), (1, GH, T * B, D)]}


def kernel_floor(cell: str, dtype: str, T: int, B: int, H: int, D: int, layers: int = 1,
                 bidirectional: bool = False) -> dict:
    """Seconds and FLOPs of the forward and backward kernels' products at the measured GEMM rates:
    {"forward_s", "backward_s", "forward_flops", "backward_flops", "rate_flops"} (rate at the
    per-step product's shape, the one that dominates). A stack adds up its layers and directions,
    each a kernel of its own: layer 0 reads D inputs, every later layer H (2 H bidirectional)."""
    out = {"forward_s": 0.0, "backward_s": 0.0, "forward_flops": 0.0, "backward_flops": 0.0}
    directions = 2 if bidirectional else 1
    for layer in range(layers):
        d_in = D if layer == 0 else directions * H
        for part, prods in products(cell, T, B, H, d_in).items():
            out[f"{part}_flops"] += directions * sum(2.0 * c * m * k * n for c, m, k, n in prods)
            out[f"{part}_s"] += directions * sum(2.0 * c * m * k * n / gemm_rate(m, k, n, dtype)
                                                 for c, m, k, n in prods)
    GH = CELLS[cell].gates * H
    out["rate_flops"] = gemm_rate(B, H, GH, dtype)
    return out
