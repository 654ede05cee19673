"""The speed and memory targets of scratch_rnn's Numba backend, measured in one run.

    python benchmarks/targets.py [--out benchmarks/results] [--quick]

Every ratio compares medians measured in the same run with interleaved calls (see
`scratch_rnn.bench.measure.measure`), one thread for every variant, BLAS pinned as the library pins it
for every caller: numba against torch, and, where
JAX is installed (the ``jax`` extra), against JAX's compiled scan (`scratch_rnn.bench.jax_peer`) too,
printed beside each torch ratio, with targets of its own at the study's size; beside each, numba's
time as a multiple of its floor (its products at the machine's one-thread GEMM rate,
`scratch_rnn.bench.floor`), and the target's ratio as numba would have it at that floor (the other
variant's time over the floor): where it is below the target, no kernel that calls this BLAS can
meet it. Prints a table of target, measured value and verdict, and writes targets.json and
targets.md. Exits 0 whatever the verdicts: a missed target is a finding to report, not a crash.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from scratch_rnn.bench.floor import kernel_floor
from scratch_rnn.bench.measure import Case, add_ratios, environment, measure, variants_available
from scratch_rnn.bench.report import write_table

STUDY = (100, 32, 64, 1)


def speed_targets():
    """(name, case, threshold): numba must be at least threshold times faster than torch (torch time / numba time)."""
    T = []
    for dt in ("float32", "float64"):
        T.append((f"LSTM {dt} study size: numba vs torch", Case("fwd_bwd", "lstm", dt, *STUDY), 3.0 if dt == "float64" else 1.0))
        T.append((f"RNN {dt} study size: numba vs torch", Case("fwd_bwd", "rnn", dt, *STUDY), 3.0))
        T.append((f"RNN {dt} B=1: numba vs torch", Case("fwd_bwd", "rnn", dt, 100, 1, 64, 1), 5.0))
        T.append((f"LSTM {dt} B=1: numba vs torch", Case("fwd_bwd", "lstm", dt, 100, 1, 64, 1), 5.0 if dt == "float64" else 3.0))
        for cell in ("rnn", "lstm"):
            T.append((f"{cell.upper()} {dt} H=1024: numba vs torch", Case("fwd_bwd", cell, dt, 100, 32, 1024, 1), 0.8))
        T.append((f"GRU {dt} study size: numba vs torch", Case("fwd_bwd", "gru", dt, *STUDY), 2.5 if dt == "float64" else 1.0))
        T.append((f"GRU {dt} B=1: numba vs torch", Case("fwd_bwd", "gru", dt, 100, 1, 64, 1), 3.0))
        T.append((f"LSTM {dt} 2 layers bidirectional, T=100 B=32 H=64 D=16: numba vs torch",
                  Case("fwd_bwd", "lstm", dt, 100, 32, 64, 16, layers=2, bidirectional=True), 2.0 if dt == "float64" else 0.8))
    return T


def jax_targets():
    """(name, case, threshold): numba must be at least threshold times faster than JAX at the study's size."""
    return [(f"{cell.upper()} {dt} study size: numba vs jax", Case("fwd_bwd", cell, dt, *STUDY), 1.3)
            for dt in ("float32", "float64") for cell in ("rnn", "lstm", "gru")]


def linearity_cases():
    return [(cell, dt) for cell in ("rnn", "lstm") for dt in ("float32", "float64")]


_MEM_CODE = """
import os, sys, threading, time, numpy as np, scratch_rnn as sr
cell, dt, T, B, H, D = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:7])
page = os.sysconf('SC_PAGE_SIZE')
rss = lambda: int(open('/proc/self/statm').read().split()[1]) * page
rng = np.random.default_rng(0)
p = sr.init_pytorch_default(cell, D, H, rng, dtype=dt)
fwd, bwd = (sr.rnn_forward, sr.rnn_backward) if cell == 'rnn' else (sr.lstm_forward, sr.lstm_backward)
small = rng.random((2, B, D)).astype(dt)
bwd(fwd(p, small, backend='numba')[-1], np.zeros((2, B, H), dt), backend='numba')   # compile / load
x = rng.random((T, B, D)).astype(dt)
dh = np.zeros((T, B, H), dt); dh[-1] = 1
peak, done = [0], [False]
def sample():                     # the kernels release the GIL, so this thread sees their allocations
    while not done[0]:
        peak[0] = max(peak[0], rss()); time.sleep(5e-5)
base = rss()
th = threading.Thread(target=sample); th.start()
out = fwd(p, x, backend='numba'); g = bwd(out[-1], dh, backend='numba')
done[0] = True; th.join()
grown = max(peak[0], rss()) - base
c = out[-1]
must = sum(a.nbytes for a in vars(c).values() if isinstance(a, np.ndarray)) - c.x.nbytes - c.h0.nbytes
must -= c.c0.nbytes if cell == 'lstm' else 0
must += sum(a.nbytes for a in (g.x, g.h0, g.h) + tuple(g.params.values())) + (g.c.nbytes + g.c0.nbytes if cell == 'lstm' else 0)
print(grown, must)
"""


def memory(cell, dt, T, B, H, D):
    """(peak resident-memory growth of forward + BPTT in a fresh process, sampled every 50 us by
    a thread while the GIL-free kernels run; bytes that must exist: what the forward pass keeps
    (h, and for the LSTM c, gates, tanh c) and the arrays the backward pass returns)."""
    out = subprocess.run([sys.executable, "-c", _MEM_CODE, cell, dt, str(T), str(B), str(H), str(D)],
                         capture_output=True, text=True, check=True)
    peak, must = map(int, out.stdout.split())
    return peak, must


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="benchmarks/results", help="folder for targets.json and targets.md")
    ap.add_argument("--quick", action="store_true",
                    help="a smoke run: the first speed target only, without JAX, the linearity and the memory rows")
    args = ap.parse_args(argv)
    results = []
    speed = speed_targets()[:1] if args.quick else speed_targets()
    with_jax = "jax" in variants_available() and not args.quick
    rows = add_ratios(measure([c for _, c, _ in speed], ["numba", "torch"] + (["jax"] if with_jax else [])))
    if with_jax:
        rows = add_ratios(rows, "jax")
    by = {(r["op"], r["cell"], r["dtype"], r["T"], r["B"], r["H"], r["D"], r["layers"], r["bidirectional"],
           r["variant"]): r for r in rows}

    def numba_row(c):
        return by[(c.op, c.cell, c.dtype, c.T, c.B, c.H, c.D, c.layers, c.bidirectional, "numba")]
    def floor_s(c):
        """numba's products alone at the one-thread GEMM rate (every layer and direction)."""
        f = kernel_floor(c.cell, c.dtype, c.T, c.B, c.H, c.D, c.layers, c.bidirectional)
        return f["forward_s"] + f["backward_s"]
    for name, c, thr in speed:
        r = numba_row(c)
        vs_jax = r.get("speedup_vs_jax")
        torch_s, floor = r["median_s"] * r["speedup_vs_torch"], floor_s(c)
        results.append({"target": name, "want": f">= {thr:g}x", "measured": f"{r['speedup_vs_torch']:.2f}x",
                        "numba_ms": r["median_s"] * 1e3, "torch_ms": torch_s * 1e3, "floor_ms": floor * 1e3,
                        "vs_jax": f"{vs_jax:.2f}x" if vs_jax else "", "x_floor": f"{r['median_s'] / floor:.2f}x",
                        "at_floor": f"{torch_s / floor:.2f}x", "met": r["speedup_vs_torch"] >= thr})
    for name, c, thr in jax_targets() if with_jax else []:
        r = numba_row(c)
        jax_s, floor = r["median_s"] * r["speedup_vs_jax"], floor_s(c)
        results.append({"target": name, "want": f">= {thr:g}x", "measured": f"{r['speedup_vs_jax']:.2f}x",
                        "numba_ms": r["median_s"] * 1e3, "jax_ms": jax_s * 1e3, "floor_ms": floor * 1e3,
                        "vs_jax": f"{r['speedup_vs_jax']:.2f}x", "x_floor": f"{r['median_s'] / floor:.2f}x",
                        "at_floor": f"{jax_s / floor:.2f}x", "met": r["speedup_vs_jax"] >= thr})
    lin = [] if args.quick else [Case("fwd_bwd", cell, dt, T, 32, 64, 1) for cell, dt in linearity_cases() for T in (100, 1000)]
    lrows = measure(lin, ["numba"], min_repeats=5)
    lby = {(r["cell"], r["dtype"], r["T"]): r["median_s"] for r in lrows}
    for cell, dt in [] if args.quick else linearity_cases():
        ratio = lby[cell, dt, 1000] / lby[cell, dt, 100]
        results.append({"target": f"{cell.upper()} {dt}: time(T=1000) / time(T=100), B=32 H=64", "want": "<= 11",
                        "measured": f"{ratio:.2f}", "met": ratio <= 11})
    for cell in () if args.quick else ("rnn", "lstm"):
        for size in ((1000, 32, 64, 1), (100, 32, 256, 64)):
            peak, must = memory(cell, "float32", *size)
            ratio = peak / must
            results.append({"target": f"{cell.upper()} float32 T={size[0]} B={size[1]} H={size[2]}: peak memory / must-keep",
                            "want": "<= 1.5", "measured": f"{ratio:.2f} ({peak / 2**20:.1f} / {must / 2**20:.1f} MiB)",
                            "met": ratio <= 1.5})
    lines = ["| target | want | measured | met | numba vs jax | numba x floor | measured, were numba at its floor |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['target']} | {r['want']} | {r['measured']} | {'yes' if r['met'] else '**no**'} | {r.get('vs_jax', '')} "
              f"| {r.get('x_floor', '')} | {r.get('at_floor', '')} |" for r in results]
    paths = write_table(lines, {"results": results, "rows": rows + lrows, "environment": environment()}, Path(args.out),
                        "targets")
    print(paths[0].read_text())
    print(f"wrote {paths[0]} and {paths[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
