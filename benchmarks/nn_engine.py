"""One curriculum arm trained twice in float64 with the same seeds: by the torch engine with torch.nn's
layers, and by the same engine with scratch_rnn.nn's (``--engine torch-nn``), whose backward is this
package's BPTT. Same initial weights, same batches, same Adam: the two should succeed on the same seeds.

    python benchmarks/nn_engine.py [--work DIR] [--out benchmarks/results] [--workers 2]

Runs `scratch-rnn sweep --arm curriculum --tasks xor --models lstm:pytorch gru:pytorch rnn:orthogonal
--lengths 50 --seeds 10 --dtype float64` once per engine into DIR/sw_torch and DIR/sw_torch-nn (run
stores: an interrupted run resumes), then compares run by run. Writes nn_engine.md and nn_engine.json.
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from scratch_rnn._provenance import measured_on
from scratch_rnn.bench.report import write_table
from scratch_rnn.study.commands import sweep

ROOT = Path(__file__).resolve().parents[1]
MODELS = [("lstm", "pytorch"), ("gru", "pytorch"), ("rnn", "orthogonal")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()), help="where the two run stores go")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    outcome = {}
    for engine in ("torch", "torch-nn"):
        folder = args.work / f"sw_{engine}"
        sweep(folder, ["xor"], MODELS, [50], 10, 3000, engine=engine, arm="curriculum", dtype="float64",
              workers=args.workers, progress=False)
        runs = json.loads((folder / "sweep_runs.json").read_text())["runs"]
        outcome[engine] = {(r["spec"]["cell"], r["spec"]["init"], r["spec"]["seed"]): (r["succeeded"], r["updates"])
                           for r in runs}
    lines = [f"One curriculum arm (temporal XOR to T = 50 through 10, 20, 30; 10 seeds; 3000 updates; float64) trained by "
             f"the torch engine with torch.nn's layers and with scratch_rnn.nn's (--engine torch-nn), one run on "
             f"{measured_on()}.", "",
             "| model | torch.nn successes | scratch_rnn.nn successes | seeds with the same outcome | same update count |",
             "|---|---|---|---|---|"]
    summary = []
    for cell, init in MODELS:
        keys = sorted(k for k in outcome["torch"] if k[:2] == (cell, init))
        a = [outcome["torch"][k] for k in keys]
        b = [outcome["torch-nn"].get(k, (None, None)) for k in keys]
        row = {"model": f"{cell}:{init}", "seeds": len(keys), "torch": sum(s for s, _ in a),
               "torch_nn": sum(bool(s) for s, _ in b), "same_outcome": sum(x[0] == y[0] for x, y in zip(a, b)),
               "same_updates": sum(x[1] == y[1] for x, y in zip(a, b))}
        summary.append(row)
        lines.append(f"| {row['model']} | {row['torch']}/{row['seeds']} | {row['torch_nn']}/{row['seeds']} | "
                     f"{row['same_outcome']}/{row['seeds']} | {row['same_updates']}/{row['seeds']} |")
    write_table(lines, {"summary": summary}, args.out, "nn_engine")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
