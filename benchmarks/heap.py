"""What settling glibc's heap on the first kernel call (`scratch_rnn._numba.heap`) changes for a plain
script: each case in a fresh process with the heap settled and without, the median time of repeated
calls and the page faults a call.

    python benchmarks/heap.py [--out benchmarks/results]

Cases: forward + BPTT of one layer at the study's size (T = 100, B = 32, H = 64, D = 1), and one
training update of the study's engine (forward, loss, BPTT, clipping, Adam) at T = 100 and 150.
Writes heap.json and heap.md.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from scratch_rnn.bench.report import write_table

_CODE = """
import resource, sys, time, numpy as np, scratch_rnn as sr
from scratch_rnn.training.model import init_model
kind, cell, dtype, T, settled = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5] == "1"
if not settled:
    sr.set_heap_settling(False)                    # the public switch: glibc's thresholds untouched
rng = np.random.default_rng(0)
if kind == "layer":
    p = sr.init_pytorch_default(cell, 1, 64, rng, dtype=dtype)
    x = rng.random((T, 32, 1)).astype(dtype)
    dh = np.zeros((T, 32, 64), dtype); dh[-1] = 1
    c = sr.cells.CELLS[cell]
    call = lambda: c.backward(c.forward(p, x, backend="numba")[-1], dh)
else:
    sampler, task = sr.get_task("xor")
    engine = sr.ScratchEngine(init_model(cell, task.input_size, 64, task.outputs, rng, dtype=np.dtype(dtype),
                                         t_max=T), task, lr=1e-3, clip=1.0)
    batches = [sampler(T, 32, rng, dtype=np.dtype(dtype)) for _ in range(8)]
    k = [0]
    def call():
        engine.step(*batches[k[0] % 8], k[0]); k[0] += 1
for _ in range(3):
    call()
times, faults = [], resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(40):
    t0 = time.perf_counter(); call(); times.append(time.perf_counter() - t0)
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
print(float(np.median(times)), faults / 40)
"""

CASES = [("layer", cell, dt, 100) for cell in ("rnn", "lstm", "gru") for dt in ("float32", "float64")] + \
        [("update", cell, "float64", T) for cell in ("rnn", "lstm") for T in (100, 150)]


def run(kind: str, cell: str, dtype: str, T: int, settled: bool) -> tuple[float, float]:
    """(median seconds, page faults a call) in a fresh process."""
    out = subprocess.run([sys.executable, "-c", _CODE, kind, cell, dtype, str(T), "1" if settled else "0"],
                         capture_output=True, text=True, check=True)
    seconds, faults = map(float, out.stdout.split())
    return seconds, faults


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="benchmarks/results", help="folder for heap.json and heap.md")
    args = ap.parse_args(argv)
    rows = []
    for kind, cell, dtype, T in CASES:
        (s0, f0), (s1, f1) = run(kind, cell, dtype, T, False), run(kind, cell, dtype, T, True)
        rows.append({"case": kind, "cell": cell, "dtype": dtype, "T": T, "before_s": s0, "before_faults": f0,
                     "after_s": s1, "after_faults": f1})
        print(rows[-1], flush=True)
    name = {"layer": "forward + BPTT, study size", "update": "study update"}
    lines = ["| call | before ms (faults a call) | after ms (faults a call) | before / after |", "|---|---|---|---|"]
    where = {"layer": "", "update": ", T = "}
    lines += [f"| {r['cell'].upper()} {r['dtype']} {name[r['case']]}{where[r['case']]}{r['T'] if r['case'] == 'update' else ''} "
              f"| {r['before_s'] * 1e3:.2f} ({r['before_faults']:.0f}) | {r['after_s'] * 1e3:.2f} ({r['after_faults']:.0f}) "
              f"| {r['before_s'] / r['after_s']:.2f}x |" for r in rows]
    write_table(lines, {"rows": rows}, Path(args.out), "heap")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
