"""Every kernel against the machine's floor: its matrix products at the one-thread GEMM rate of SciPy's
BLAS at the products' own shapes (`scratch_rnn.bench.floor`).

    python benchmarks/floor.py [--out benchmarks/results] [--shape T,B,D,H] [--name floor]

For each cell and dtype at the study's size (T=100 B=32 H=64 D=1 by default): the forward and the
backward kernels' medians (Numba, BLAS on one thread), their GFLOP/s and percentage of the GEMM rate,
and forward + backward as a multiple of the floor. Writes floor.json and floor.md.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

import scratch_rnn as sr
from scratch_rnn.bench.floor import kernel_floor
from scratch_rnn.bench.measure import environment
from scratch_rnn.bench.report import write_table
from scratch_rnn.cells import CELLS


def medians(cell: str, dtype: str, T: int, B: int, H: int, D: int, n: int = 30) -> tuple[float, float]:
    """(forward s, backward s), medians of interleaved calls (the loss at the last step)."""
    rng = np.random.default_rng(0)
    p = sr.init_pytorch_default(cell, D, H, rng, dtype=dtype)
    x = rng.random((T, B, D)).astype(dtype)
    spec = CELLS[cell]
    h, _, cache = spec.forward(p, x, backend="numba")
    dh = np.zeros_like(h)
    dh[-1] = 1
    spec.backward(cache, dh)
    fwd, bwd = [], []
    for _ in range(n):
        t0 = time.perf_counter()
        cache = spec.forward(p, x, backend="numba")[2]
        t1 = time.perf_counter()
        spec.backward(cache, dh)
        t2 = time.perf_counter()
        fwd.append(t1 - t0)
        bwd.append(t2 - t1)
    return float(np.median(fwd)), float(np.median(bwd))


def rows(size=(100, 32, 64, 1)) -> list[dict]:
    out = []
    for cell in CELLS:
        for dtype in ("float32", "float64"):
            f = kernel_floor(cell, dtype, *size)
            fwd, bwd = medians(cell, dtype, *size)
            rate = f["rate_flops"]
            out.append({"cell": cell, "dtype": dtype, "T": size[0], "B": size[1], "H": size[2], "D": size[3],
                        "gemm_gflops": rate / 1e9, "forward_ms": fwd * 1e3, "backward_ms": bwd * 1e3,
                        "forward_gflops": f["forward_flops"] / fwd / 1e9, "backward_gflops": f["backward_flops"] / bwd / 1e9,
                        "forward_pct": 100 * f["forward_flops"] / fwd / rate,
                        "backward_pct": 100 * f["backward_flops"] / bwd / rate,
                        "floor_ms": (f["forward_s"] + f["backward_s"]) * 1e3,
                        "x_floor": (fwd + bwd) / (f["forward_s"] + f["backward_s"])})
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="benchmarks/results")
    ap.add_argument("--name", default="floor", help="stem of the two files written (default: floor, for floor.md "
                    "and floor.json; e.g. floor_haswell with OPENBLAS_CORETYPE=Haswell set)")
    ap.add_argument("--shape", default="100,32,1,64", metavar="T,B,D,H", help="the package's order of sizes")
    ap.add_argument("--size", help=argparse.SUPPRESS)          # the old T,B,H,D option, refused
    args = ap.parse_args(argv)
    if args.size:
        ap.error("argument --size: replaced by --shape T,B,D,H (the order of every shape in this package; --size "
                 "took T,B,H,D)")
    T, B, D, H = (int(v) for v in args.shape.split(","))
    size = (T, B, H, D)                                         # rows() takes (T, B, H, D), as bench's GRID
    table = rows(size)
    lines = ["| cell, dtype | 1-thread GEMM GFLOP/s | forward ms (GFLOP/s, % of GEMM) | backward ms (GFLOP/s, %) "
             "| floor ms | forward+backward vs floor |", "|---|---|---|---|---|---|"]
    for r in table:
        lines.append(f"| {r['cell'].upper()} {r['dtype']} | {r['gemm_gflops']:.1f} | {r['forward_ms']:.2f} "
                     f"({r['forward_gflops']:.1f}, {r['forward_pct']:.0f}%) | {r['backward_ms']:.2f} "
                     f"({r['backward_gflops']:.1f}, {r['backward_pct']:.0f}%) | {r['floor_ms']:.2f} | {r['x_floor']:.2f}x |")
    md_path, json_path = write_table(lines, {"rows": table, "environment": environment()}, Path(args.out), args.name)
    print("\n".join(lines))
    print(f"wrote {md_path} and {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
