"""The online command's cost table (time a step of every method, `scratch_rnn.online.measure.cost`)
measured with this tree's code and with an earlier revision's, in one run on one machine, so that
the change between them is the code's and not the CPU's.

    python benchmarks/online_cost.py [--before REV] [--out benchmarks/results] [--quick]

REV (default 5e62554) is exported with `git archive` into a temporary folder and imported from
there in its own processes; this tree's code runs the same points the same way. Each (version,
cell) runs in one fresh process with BLAS on one thread, every point as the online command times it
(the fastest of up to 20 calls within half a second). The points are the command's own (cost_H at
cost_T_at_H, RTRL's NumPy reference only where the protocol runs it). Writes online_cost_change.md
and online_cost_change.json.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from scratch_rnn._provenance import measured_on
from scratch_rnn.bench.report import write_table

ROOT = Path(__file__).resolve().parents[1]

_CODE = """
import json, sys
from threadpoolctl import threadpool_limits
cell, points = sys.argv[1], json.loads(sys.argv[2])
try:
    from scratch_rnn.online.measure import cost, methods_for
except ImportError:                                       # revisions before the online room
    from scratch_rnn.rtrl.measure import cost, methods_for
rows = []
with threadpool_limits(limits=1):
    for H, T in points:
        for m in ("bptt", "rtrl", "rtrl_numba", *methods_for(cell)):
            if m == "rtrl" and H > 64:
                continue
            sec, peak = cost(m, cell, T, H)
            rows.append({"cell": cell, "method": m, "H": H, "T": T, "us_per_step": sec / T * 1e6})
print(json.dumps(rows))
"""


def _measure(src: Path, cell: str, points: list) -> list[dict]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run([sys.executable, "-c", _CODE, cell, json.dumps(points)], capture_output=True, text=True,
                         env=env, cwd=tempfile.gettempdir(), check=True)
    return json.loads(out.stdout.splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--before", default="5e62554", help="the earlier revision (default 5e62554)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    ap.add_argument("--quick", action="store_true", help="H = 8 and 16 only")
    args = ap.parse_args()
    Hs = (8, 16) if args.quick else (8, 16, 32, 64, 128)
    points = [(H, 20) for H in Hs]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "before.tar"
        subprocess.run(["git", "-C", str(ROOT), "archive", "-o", str(archive), args.before, "scratch_rnn"], check=True)
        with tarfile.open(archive) as tar:
            tar.extractall(Path(tmp) / "before", filter="data")
        for cell in ("rnn", "lstm"):
            for version, src in (("before", Path(tmp) / "before"), ("after", ROOT)):
                rows += [{**r, "version": version} for r in _measure(src, cell, points)]
    by = {(r["version"], r["cell"], r["method"], r["H"]): r["us_per_step"] for r in rows}
    lines = [f"Time a step (us) of each method of the online command's cost table, T = 20, B = 1, float64, one BLAS "
             f"thread: revision {args.before} (before) and this tree (after), measured in one run on {measured_on()}.", "",
             "| cell | method | H | before us | after us | before / after |", "|---|---|---|---|---|---|"]
    for (version, cell, method, H), us in by.items():
        if version == "before" and ("after", cell, method, H) in by:
            after = by["after", cell, method, H]
            lines.append(f"| {cell} | {method} | {H} | {us:.4g} | {after:.4g} | {us / after:.2f}x |")
    paths = write_table(lines, {"before": args.before, "rows": rows}, args.out, "online_cost_change")
    print("\n".join(lines))
    print("wrote " + ", ".join(map(str, paths)))


if __name__ == "__main__":
    main()
