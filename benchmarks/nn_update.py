"""Time per training update of scratch_rnn.nn's modules against torch.nn's, in one run, one thread each.

    python benchmarks/nn_update.py [--budget 1.5] [--out benchmarks/results] [--quick]

An update is what a PyTorch training loop does: forward, loss, ``backward()``, ``Adam.step()``. Cases:
the study's model (a recurrent layer and a linear head on the last state; T = 100, B = 32, H = 64,
D = 1) and the same at B = 1, for the RNN, the LSTM and the GRU; a character model (embedding,
2-layer LSTM or GRU, linear head at every step; T = 64, B = 32, H = 256, 65 symbols); float32 and
float64. The two variants of a case run interleaved, the same weights and batches, medians of
repeated updates. The glue (the autograd.Function's wrapping, copies and checks around the kernels)
is measured apart: the module's forward + backward against `stack_forward` + `stack_backward` on the
same arrays. Targets: RNN and GRU at least 2.5x torch.nn at the study's size in float32, the LSTM at
least 1x, every cell at least 2x in float64. Writes nn_update.md and nn_update.json.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

import scratch_rnn as sr
from scratch_rnn import nn as snn
from scratch_rnn._provenance import measured_on
from scratch_rnn.bench.report import write_table

ROOT = Path(__file__).resolve().parents[1]
PAIRS = {"rnn": (snn.RNN, torch.nn.RNN), "lstm": (snn.LSTM, torch.nn.LSTM), "gru": (snn.GRU, torch.nn.GRU)}
TARGETS = {("float32", "rnn"): 2.5, ("float32", "gru"): 2.5, ("float32", "lstm"): 1.0}


class Classifier(torch.nn.Module):
    def __init__(self, layer, H, C):
        super().__init__()
        self.layer, self.head = layer, torch.nn.Linear(H, C)

    def forward(self, x):
        out, _ = self.layer(x)
        return self.head(out[-1])


class CharModel(torch.nn.Module):
    def __init__(self, layer, V, E, H):
        super().__init__()
        self.emb, self.layer, self.head = torch.nn.Embedding(V, E), layer, torch.nn.Linear(H, V)

    def forward(self, ids):
        out, _ = self.layer(self.emb(ids))
        return self.head(out)


def _models(kind, cell, dtype, T, B, H):
    ours_cls, torch_cls = PAIRS[cell]
    torch.manual_seed(0)
    if kind == "study":
        ours = Classifier(ours_cls(1, H), H, 2)
        ref = Classifier(torch_cls(1, H), H, 2)
        x = torch.rand(T, B, 1)
        y = torch.randint(0, 2, (B,))
    else:
        ours = CharModel(ours_cls(64, H, num_layers=2), 65, 64, H)
        ref = CharModel(torch_cls(64, H, num_layers=2), 65, 64, H)
        x = torch.randint(0, 65, (T, B))
        y = torch.randint(0, 65, (T, B))
    ref.load_state_dict(ours.state_dict())
    ours, ref = ours.to(dtype), ref.to(dtype)
    if kind == "study":
        x = x.to(dtype)
    return ours, ref, x, y


def _step(model, opt, x, y):
    def run():
        opt.zero_grad(set_to_none=True)
        logits = model(x)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        loss.backward()
        opt.step()
    return run


def _interleaved(calls: dict, budget: float) -> dict:
    for f in calls.values():                                     # compiled or loaded, caches warm
        f()
        f()
    times: dict = {k: [] for k in calls}
    stop = time.perf_counter() + budget
    while time.perf_counter() < stop or min(len(v) for v in times.values()) < 5:
        for k, f in calls.items():
            t0 = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t0)
    return {k: float(np.median(v)) for k, v in times.items()}


def _glue(cell, dtype, T, B, H, budget):
    """Seconds of the module's forward + backward, and of stack_forward + stack_backward on the same arrays."""
    torch.manual_seed(0)
    m = PAIRS[cell][0](1, H).to(dtype)
    x = torch.rand(T, B, 1, dtype=dtype, requires_grad=True)
    params = {k: v.detach().numpy() for k, v in m.state_dict().items()}
    xn = x.detach().numpy()
    dout = np.zeros((T, B, H), xn.dtype)
    dout[-1] = 1.0

    def module():
        out, _ = m(x)
        out[-1].sum().backward()

    def kernels():
        *_, cache = sr.stack_forward(params, xn, cell, backend="numba")
        sr.stack_backward(cache, dout)
    return _interleaved({"module": module, "kernels": kernels}, budget)


def table(rows: list[dict], where: str) -> list[str]:
    """The markdown table of the measured rows: a case per line, the speedup beside the two times."""
    lines = [f"Time per training update (forward, loss, backward, Adam), scratch_rnn.nn against torch.nn, one thread "
             f"each, medians, one run on {where}. Study: T = 100, H = 64, D = 1; char: T = 64, B = 32, H = 256, two "
             "layers. Glue: the module's forward + backward less the kernels' (stack_forward + stack_backward) on the "
             "same arrays.", "",
             "| case | dtype | scratch_rnn.nn ms | torch.nn ms | speedup | target | glue ms |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        case = f"{r['model']} {r['cell'].upper()}" + (f", B = {r['B']}" if r["model"] == "study" else "")
        glue = f"{r['module_fb_ms'] - r['kernels_fb_ms']:.2f}" if "module_fb_ms" in r else ""
        target = "" if r["target"] is None else (f"{r['target']:g}x " + ("met" if r["speedup"] >= r["target"] else "**missed**"))
        lines.append(f"| {case} | {r['dtype']} | {r['ours_ms']:.3g} | {r['torch_ms']:.3g} | **{r['speedup']:.2f}x** | "
                     f"{target} | {glue} |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--budget", type=float, default=1.5, help="seconds of timing per case (default 1.5)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    ap.add_argument("--quick", action="store_true", help="two small cases, to check the script")
    args = ap.parse_args()
    torch.set_num_threads(1)
    sr.set_num_threads(1)
    cases = [("study", c, d, 100, B, 64) for d in ("float32", "float64") for c in ("rnn", "lstm", "gru") for B in (32, 1)]
    cases += [("char", c, d, 64, 32, 256) for d in ("float32", "float64") for c in ("lstm", "gru")]
    if args.quick:
        cases = [("study", "gru", "float32", 10, 4, 8), ("char", "lstm", "float64", 8, 4, 16)]
    rows = []
    for kind, cell, dname, T, B, H in cases:
        dtype = getattr(torch, dname)
        ours, ref, x, y = _models(kind, cell, dtype, T, B, H)
        opts = {k: torch.optim.Adam(m.parameters(), lr=1e-3) for k, m in (("ours", ours), ("torch", ref))}
        t = _interleaved({"ours": _step(ours, opts["ours"], x, y), "torch": _step(ref, opts["torch"], x, y)},
                         args.budget)
        row = {"model": kind, "cell": cell, "dtype": dname, "T": T, "B": B, "H": H, "ours_ms": t["ours"] * 1e3,
               "torch_ms": t["torch"] * 1e3, "speedup": t["torch"] / t["ours"]}
        if kind == "study":
            g = _glue(cell, dtype, T, B, H, args.budget / 2)
            row.update(module_fb_ms=g["module"] * 1e3, kernels_fb_ms=g["kernels"] * 1e3)
        target = 2.0 if dname == "float64" else TARGETS.get((dname, cell))
        row["target"] = target if kind == "study" and B == 32 else None
        rows.append(row)
        print(f"{kind:5s} {cell:4s} {dname} B={B:<3d} ours {row['ours_ms']:8.3f} ms  torch {row['torch_ms']:8.3f} ms  "
              f"{row['speedup']:.2f}x", flush=True)
    lines = table(rows, measured_on())
    paths = write_table(lines, {"rows": rows}, args.out, "nn_update" + ("_quick" if args.quick else ""))
    print("wrote " + ", ".join(map(str, paths)))


if __name__ == "__main__":
    main()
