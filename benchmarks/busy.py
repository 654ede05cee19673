"""A kernel call on an idle machine and on one where another process spins on every core, with the
kernels' BLAS pinned (the library's default) and unpinned (the BLAS's own default: every core).

    python benchmarks/busy.py [--out benchmarks/results]

A plain caller, no environment variables set: the GRU's forward + BPTT at the study's size through
the functional API, Numba backend, medians of 30 calls. The busy machine is `os.cpu_count()` spinning
Python processes started and ended by this script. Writes busy.json and busy.md; prints the four medians and the
busy/idle ratios (the library wants pinned busy/idle within 2x).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import scratch_rnn as sr
from scratch_rnn.bench.report import write_table


def median_ms(call, n: int = 30) -> float:
    call()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return float(np.median(times) * 1e3)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="benchmarks/results")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    p = sr.init_pytorch_default("gru", 1, 64, rng, dtype=np.float32)
    x = rng.random((100, 32, 1)).astype(np.float32)
    dh = np.zeros((100, 32, 64), np.float32)
    dh[-1] = 1

    def call():
        sr.gru_backward(sr.gru_forward(p, x, backend="numba")[1], dh)
    result: dict = {}
    for state in ("idle", "busy"):
        spinners = []
        if state == "busy":
            spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(os.cpu_count() or 1)]
            time.sleep(0.5)
        try:
            for label, n in (("pinned", 1), ("unpinned", None)):
                with sr.num_threads(n):
                    result[f"{label}_{state}_ms"] = median_ms(call)
        finally:
            for s in spinners:                                   # ours, ended by PID
                s.kill()
                s.wait()
    for label in ("pinned", "unpinned"):
        result[f"{label}_busy_over_idle"] = result[f"{label}_busy_ms"] / result[f"{label}_idle_ms"]
    result["met"] = result["pinned_busy_over_idle"] <= 2.0
    lines = ["| BLAS | idle ms | busy ms | busy / idle |", "|---|---|---|---|"]
    for label, words in (("pinned", "pinned (the default)"), ("unpinned", "unpinned (the BLAS's default: every core)")):
        lines.append(f"| {words} | {result[f'{label}_idle_ms']:.3g} | {result[f'{label}_busy_ms']:.3g} "
                     f"| {result[f'{label}_busy_over_idle']:.3g} |")
    write_table(lines, {**result, "cpu_count": os.cpu_count()}, Path(args.out), "busy")
    for k, v in result.items():
        print(f"{k:28s} {v:.3g}" if isinstance(v, float) else f"{k:28s} {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
