"""What the input and cache checks of this version cost a caller, against another revision, in one run:

    python benchmarks/check_overhead.py [--base REV] [--out benchmarks/results]

Checks out REV (default: the parent of the first commit that checked caches, b2727dc) into a temporary
folder, then times the public calls a user makes, forward + BPTT of one layer (`rnn_forward` +
`rnn_backward`, ...) and of a 2-layer stack (`stack_forward` + `stack_backward`), Numba backend,
float32, BLAS at its default threads as a caller leaves it, in a fresh process for each tree,
alternating the trees three times; medians of the per-process medians. Writes check_overhead.{md,json}.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from scratch_rnn._provenance import commit, measured_on
from scratch_rnn.bench.report import write_table

ROOT = Path(__file__).resolve().parents[1]
SIZES = [(10, 1, 1, 8), (100, 32, 1, 64)]          # T, B, D, H: a tiny call and the study's size
SCRIPT = r"""
import json, sys, time
import numpy as np
import scratch_rnn as sr
out = {}
for T, B, D, H in SIZES:
    for cell in ("rnn", "lstm", "gru"):
        rng = np.random.default_rng(0)
        p = sr.init_pytorch_default(cell, D, H, rng, dtype=np.float32)
        x = rng.standard_normal((T, B, D)).astype(np.float32)
        fwd, bwd = getattr(sr, cell + "_forward"), getattr(sr, cell + "_backward")
        dh = np.ones((T, B, H), np.float32)
        stack = {sr.state_dict_key(k, l, 0): v for l, d in enumerate((D, H))
                 for k, v in sr.init_pytorch_default(cell, d, H, rng, dtype=np.float32).items()}
        def layer():
            res = fwd(p, x, backend="numba")
            bwd(res[-1], dh)
        def stacked():
            res = sr.stack_forward(stack, x, cell, num_layers=2, backend="numba")
            sr.stack_backward(res[3], res[0])
        for name, f in (("layer", layer), ("stack", stacked)):
            for _ in range(20):
                f()
            times = []
            for _ in range(300 if T * B < 100 else 60):
                t0 = time.perf_counter(); f(); times.append(time.perf_counter() - t0)
            out[f"{cell} {name} T={T} B={B} H={H}"] = float(np.median(times))
print(json.dumps(out))
"""


def run(tree: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    code = f"SIZES = {SIZES!r}\n" + SCRIPT
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=tempfile.gettempdir())
    if res.returncode:
        raise SystemExit(res.stderr[-2000:])
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default="b2727dc")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(base), args.base], check=True,
                       capture_output=True)
        try:
            run(base), run(ROOT)                                   # compile both trees' kernels first
            rounds = [(run(base), run(ROOT)) for _ in range(3)]
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)], capture_output=True)
    import numpy as np
    rows = []
    for key in rounds[0][0]:
        b = float(np.median([r[0][key] for r in rounds]))
        n = float(np.median([r[1][key] for r in rounds]))
        rows.append({"call": key, "base_us": b * 1e6, "now_us": n * 1e6, "now_over_base": n / b})
    lines = [f"Forward + BPTT, Numba, float32, BLAS at its default threads, on {measured_on()}: {args.base} against "
             f"{commit()} (medians of three alternating fresh processes; `python benchmarks/check_overhead.py`).", "",
             "| call | before (us) | now (us) | now / before |", "|---|---|---|---|"]
    lines += [f"| {r['call']} | {r['base_us']:.1f} | {r['now_us']:.1f} | {r['now_over_base']:.3f} |" for r in rows]
    paths = write_table(lines, {"rows": rows, "base": args.base}, Path(args.out), "check_overhead")
    print("\n".join(lines))
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
