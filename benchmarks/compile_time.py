"""Time from a fresh Python process to the first Numba result, with and without the kernel cache.

    python benchmarks/compile_time.py

Copies the package to a temporary folder (so its cache starts empty), then runs the same script
twice in new processes: the first compiles every kernel and writes the cache ("cold"), the second
loads it ("warm"). Each process times `import scratch_rnn` plus one forward+BPTT of the RNN and the
LSTM in float32 and float64.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import scratch_rnn

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


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(Path(scratch_rnn.__file__).parent, Path(tmp) / "scratch_rnn",
                        ignore=shutil.ignore_patterns("__pycache__"))
        res = {}
        for name in ("cold", "warm"):
            t0 = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=tmp, capture_output=True, text=True, check=True,
                                 env={"PYTHONPATH": tmp, "PATH": "/usr/bin:/bin"})
            res[name] = {"in_process_s": float(out.stdout.split()[-1]), "whole_process_s": time.perf_counter() - t0}
    print(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
