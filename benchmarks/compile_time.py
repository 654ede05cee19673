"""Time from a fresh Python process to the first Numba result, with and without the kernel cache.

    python benchmarks/compile_time.py [--out benchmarks/results]

Copies the package to a temporary folder (so its cache starts empty), then runs the same script
twice in new processes: the first compiles every kernel and writes the cache ("cold"), the second
loads it ("warm"). Each process times `import scratch_rnn` plus one forward+BPTT of the RNN and the
LSTM in float32 and float64. Writes compile_time.json and compile_time.md.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import scratch_rnn
from scratch_rnn.bench.report import write_table

SCRIPT = """
import time; t0 = time.perf_counter()
import numpy as np, scratch_rnn as sr
for cell in ('rnn', 'lstm'):
    for dt in ('float32', 'float64'):
        p = sr.init_pytorch_default(cell, 1, 8, np.random.default_rng(0), dtype=dt)
        x = np.ones((3, 2, 1), dt)
        fwd, bwd = (sr.rnn_forward, sr.rnn_backward) if cell == 'rnn' else (sr.lstm_forward, sr.lstm_backward)
        out = fwd(p, x, backend='numba'); bwd(out[-1], np.ones_like(out[0]), backend='numba')
print(time.perf_counter() - t0)
"""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="benchmarks/results", help="folder for compile_time.json and compile_time.md")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(Path(scratch_rnn.__file__).parent, Path(tmp) / "scratch_rnn",
                        ignore=shutil.ignore_patterns("__pycache__"))
        res = {}
        for name in ("cold", "warm"):
            t0 = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=tmp, capture_output=True, text=True, check=True,
                                 env={"PYTHONPATH": tmp, "PATH": "/usr/bin:/bin"})
            res[name] = {"in_process_s": float(out.stdout.split()[-1]), "whole_process_s": time.perf_counter() - t0}
    lines = ["| Numba's cache | import + first forward and BPTT of 4 kernels, s | the whole process, s |", "|---|---|---|"]
    lines += [f"| {'empty (compiles every kernel)' if k == 'cold' else 'filled (loads them)'} | {v['in_process_s']:.2f} "
              f"| {v['whole_process_s']:.2f} |" for k, v in res.items()]
    paths = write_table(lines, res, Path(args.out), "compile_time")
    print(paths[0].read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
