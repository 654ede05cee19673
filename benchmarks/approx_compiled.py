"""Where compiling an online approximation changes the cost picture: SnAp-1 and e-prop for the vanilla
RNN in the NumPy reference (a few dozen array calls a step) and compiled (`backend="numba"`, loops with
no NumPy call a step), beside BPTT in both and exact RTRL's compiled influence step; one gradient of a
(T, 1, 1) sequence, every point as `scratch-rnn online` times it (`scratch_rnn.online.measure.cost`:
the fastest of up to 20 calls within half a second), BLAS on one thread, all in one process and one run.

    python benchmarks/approx_compiled.py [--out benchmarks/results] [--quick]

Writes approx_compiled.md and approx_compiled.json (with the CPU and the commit).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from threadpoolctl import threadpool_limits

from scratch_rnn._provenance import cpu_text, provenance
from scratch_rnn.online.measure import cost
from scratch_rnn.rtrl.approx import compile_online

METHODS = ("bptt", "bptt_numba", "snap1", "snap1_numba", "eprop", "eprop_numba", "rtrl_numba")
ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    ap.add_argument("--quick", action="store_true", help="two small points, to check the script")
    args = ap.parse_args(argv)
    points = [(8, 20), (16, 20)] if args.quick else \
        [(H, 20) for H in (8, 16, 32, 64, 128)] + [(16, T) for T in (100, 1000)]
    compile_online()
    rows = []
    with threadpool_limits(limits=1):
        for H, T in points:
            row = {"H": H, "T": T}
            for m in METHODS:
                row[m] = cost(m, "rnn", T, H)[0] / T * 1e6                 # microseconds a step
            rows.append(row)
            print(row, flush=True)
    meta = provenance()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "approx_compiled.json").write_text(json.dumps({"rows": rows, **meta}, indent=1) + "\n")
    head = ["H", "T", "BPTT", "BPTT compiled", "SnAp-1", "SnAp-1 compiled", "e-prop", "e-prop compiled",
            "RTRL, compiled step", "SnAp-1 / BPTT (NumPy)", "SnAp-1 / BPTT (compiled)"]
    lines = ["**The RNN's online approximations, NumPy reference and compiled.**", "",
             f"Microseconds a step, one (T, 1, 1) sequence, BLAS on one thread; measured by "
             f"`python benchmarks/approx_compiled.py` on {cpu_text()}, commit {meta['commit']}.", "",
             "| " + " | ".join(head) + " |", "|" + "---:|" * len(head)]
    for r in rows:
        cells = [r["H"], r["T"], *(f"{r[m]:.3g}" for m in METHODS), f"{r['snap1'] / r['bptt']:.2g}x",
                 f"{r['snap1_numba'] / r['bptt_numba']:.2g}x"]
        lines.append("| " + " | ".join(map(str, cells)) + " |")
    (args.out / "approx_compiled.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out / 'approx_compiled.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
