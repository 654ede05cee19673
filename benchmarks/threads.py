"""Where more BLAS threads start to pay: forward + BPTT through the functional API (Numba backend, B = 32,
D = 1) with `sr.num_threads(1)` and `sr.num_threads(n)`, n = every core, on this machine as it is.

    python benchmarks/threads.py [--out benchmarks/results]

T = 100 up to H = 256 and T = 20 above (the time per step is what matters); each count timed twice,
alternating, the better median of each kept. Writes threads.json and threads.md. One thread is the
library's default because a busy machine, or one worker per core as the study's commands run, turns
the extra threads into a loss (`benchmarks/busy.py`).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

import scratch_rnn as sr
from scratch_rnn.bench.report import write_table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from busy import median_ms  # noqa: E402  (the same median of calls after a warm-up)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="benchmarks/results", help="folder for threads.json and threads.md")
    args = ap.parse_args(argv)
    many = os.cpu_count() or 1
    rng = np.random.default_rng(0)
    rows = []
    for cell in ("rnn", "lstm"):
        for dtype in ("float32", "float64"):
            for H in (64, 128, 256, 512, 1024):
                T, n = (100, 30) if H <= 256 else (20, 10)
                p = sr.init_pytorch_default(cell, 1, H, rng, dtype=dtype)
                x = rng.random((T, 32, 1)).astype(dtype)
                dh = np.zeros((T, 32, H), dtype)
                dh[-1] = 1
                c = sr.cells.CELLS[cell]

                def call(c=c, p=p, x=x, dh=dh):
                    c.backward(c.forward(p, x, backend="numba")[-1], dh)
                best: dict[int, float] = {}
                for k in (1, many, 1, many):
                    with sr.num_threads(k):
                        best[k] = min(best.get(k, float("inf")), median_ms(call, n) / 1e3)
                rows.append({"cell": cell, "dtype": dtype, "T": T, "H": H, "one_s": best[1], "many_s": best[many],
                             "threads": many})
                print(rows[-1], flush=True)
    lines = [f"| cell, dtype | H | T | 1 thread ms | {many} threads ms | speed-up |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['cell'].upper()} {r['dtype']} | {r['H']} | {r['T']} | {r['one_s'] * 1e3:.2f} | "
              f"{r['many_s'] * 1e3:.2f} | {r['one_s'] / r['many_s']:.2f}x |" for r in rows]
    write_table(lines, {"rows": rows}, Path(args.out), "threads")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
