"""What one step of the compiled LSTM forward pass costs, part by part, against the whole step.

    python benchmarks/forward_parts.py [--size B,H]

Each part of a step timed alone, on its own arrays (hot in cache), BLAS on one thread: the recurrent
product h_{t-1} W_hh^T (B x H @ H x 4H, np.dot into a preallocated output), the pre-activations (one
add per gate entry), the activations (`scratch_rnn._numba.activations`: sigmoid on three gates, tanh
on one, the kernels' own functions) and the cell update (c_t = f c_{t-1} + i g, tanh c_t, h_t = o tanh
c_t). Their sum is what a perfectly fused step could cost with these activations; the product's share
of that sum is the best "forward at x% of its GEMM rate" the kernel can reach; the kernel's measured
step (`lstm_forward`, backend numba, T = 100, D = 1, divided by T) says how far it is from the sum.
Minimum of 7 rounds each. Meaningful at the study's size and above: at B = 1 each part is a
fraction of a microsecond and its call from Python (about 0.2 us) dominates, so the sum overstates.
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits

from scratch_rnn._numba.activations import sigmoid_, tanh_
from scratch_rnn._numba.flags import jit
from scratch_rnn.cells import CELLS
from scratch_rnn.gradcheck import random_problem


@jit
def _preactivation(a, ax, hw):
    for j in range(a.size):
        a[j] = ax[j] + hw[j]


@jit
def _activations(a, n_sigmoid):
    sigmoid_(a[:n_sigmoid])
    tanh_(a[n_sigmoid:])


@jit
def _cell_update(i, f, g, o, c_prev, c, tanh_c, h):
    for j in range(c.size):
        c[j] = f[j] * c_prev[j] + i[j] * g[j]
        tanh_c[j] = c[j]
    tanh_(tanh_c)
    for j in range(c.size):
        h[j] = o[j] * tanh_c[j]


def _best_us(fn, n: int = 2000) -> float:
    rounds = []
    for _ in range(7):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        rounds.append((time.perf_counter() - t0) / n)
    return min(rounds) * 1e6


def parts(B: int, H: int, dtype) -> dict:
    """Microseconds of each part of one step, their sum, and the kernel's own step."""
    r = np.random.default_rng(0)
    h, W = r.standard_normal((B, H)).astype(dtype), r.standard_normal((H, 4 * H)).astype(dtype)
    hw = np.empty((B, 4 * H), dtype)
    a, ax, hw_flat = (r.standard_normal(4 * B * H).astype(dtype) for _ in range(3))
    gates = [r.random(B * H).astype(dtype) for _ in range(4)]
    c_prev, c, tanh_c, h_out = (r.standard_normal(B * H).astype(dtype) for _ in range(4))
    prob = random_problem("lstm", 100, B, 1, H, r, dtype=dtype)
    forward = CELLS["lstm"].forward

    def step():
        forward(prob["params"], prob["x"], prob["h0"], prob["c0"], backend="numba")
    with threadpool_limits(1):
        _preactivation(a, ax, hw_flat), _activations(a.copy(), 3 * B * H), step()           # compiled first
        _cell_update(*gates, c_prev, c, tanh_c, h_out)
        out = {"product": _best_us(lambda: np.dot(h, W, hw)),
               "pre-activation": _best_us(lambda: _preactivation(a, ax, hw_flat)),
               "activations": _best_us(lambda: _activations(a, 3 * B * H)),
               "cell update": _best_us(lambda: _cell_update(*gates, c_prev, c, tanh_c, h_out)),
               "kernel step": _best_us(step, n=20) / 100}
    out["sum of parts"] = sum(out[k] for k in ("product", "pre-activation", "activations", "cell update"))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", default="32,64", help="B,H (default 32,64, the study's)")
    a = ap.parse_args(argv)
    B, H = (int(v) for v in a.size.split(","))
    print(f"LSTM forward, one step, B = {B}, H = {H}, microseconds (minimum of 7 rounds), BLAS on one thread")
    print("| dtype | product | pre-activation | activations | cell update | sum of parts | kernel step | "
          "product / sum (best % of GEMM rate) | product / kernel step (today) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for dtype in (np.float32, np.float64):
        p = parts(B, H, dtype)
        print(f"| {np.dtype(dtype).name} | {p['product']:.1f} | {p['pre-activation']:.1f} | {p['activations']:.1f} | "
              f"{p['cell update']:.1f} | {p['sum of parts']:.1f} | {p['kernel step']:.1f} | "
              f"{p['product'] / p['sum of parts']:.0%} | {p['product'] / p['kernel step']:.0%} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
