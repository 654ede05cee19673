"""RTRL and its online approximations beside BPTT: alignment, learning and cost tables.

    python benchmarks/rtrl.py [--out docs/results] [--seeds 10] [--quick]

Writes, each as soon as it is complete (a finished table is kept and skipped on the next run; the
learning table is written after each training run, and a run already in it is not run again):

* ``rtrl_alignment.csv``: cosine and norm ratio of SnAp-1's, UORO's and (RNN) RFLO's layer gradient with the exact
  one (BPTT's; RTRL's equals it) at initialisation, per cell, task, T and seed (H = 16, B = 32);
* ``rtrl_learning.csv``: the study's model trained online with each method's gradient (Adam), loss,
  accuracy and alignment every 50 of 1000 updates, 5 seeds;
* ``rtrl_cost.csv``: wall time and peak memory of one sequence's gradient (B = 1) against H at T = 100
  and against T at H = 16, all in the package's NumPy reference code, BLAS on one thread;
* ``docs/figures/rtrl_learning.png`` from the learning table;

and prints the medians. One process; the tables are small enough that the store and its workers
would add more than they save.
"""
from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from scratch_rnn.rtrl.measure import alignment, cost, train_online


def _write(path: Path, rows: list[dict]) -> None:
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, path)


def _table(path: Path, make) -> list[dict]:
    if path.exists():
        print(f"{path}: kept (delete it to measure again)")
        with open(path) as f:
            return list(csv.DictReader(f))
    t0 = time.perf_counter()
    rows = make()
    _write(path, rows)
    print(f"{path}: {len(rows)} rows in {time.perf_counter() - t0:.0f} s")
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="docs/results", help="the tables' folder (default docs/results)")
    ap.add_argument("--figures", default="docs/figures", help="the figure's folder (default docs/figures)")
    ap.add_argument("--seeds", type=int, default=10, help="seeds of the alignment table (default 10)")
    ap.add_argument("--quick", action="store_true", help="a few small points of each table, for a smoke test")
    a = ap.parse_args(argv)
    out, figs = Path(a.out), Path(a.figures)
    out.mkdir(parents=True, exist_ok=True)
    figs.mkdir(parents=True, exist_ok=True)
    seeds = range(2 if a.quick else a.seeds)
    lengths = (10,) if a.quick else (10, 50)

    def align():
        rows = []
        for cell in ("rnn", "lstm", "gru"):
            for task in ("first_bit", "xor"):
                for T in lengths:
                    for s in seeds:
                        for m, (cos, ratio) in alignment(cell, task, T, 8 if a.quick else 16, s).items():
                            rows.append({"cell": cell, "task": task, "T": T, "seed": s, "method": m,
                                         "cosine": cos, "norm_ratio": ratio})
        return rows

    def learn(done: list[dict]) -> list[dict]:
        rows = list(done)
        have = {(r["cell"], r["method"], str(r["seed"])) for r in done}
        updates = 20 if a.quick else 1000
        for cell in ("rnn", "lstm"):
            for m in ("bptt", "snap1", "uoro") + (("rflo",) if cell == "rnn" else ()):
                for s in range(1 if a.quick else 5):
                    if (cell, m, str(s)) in have:
                        continue
                    for r in train_online(m, cell, "first_bit", 10, 8 if a.quick else 16, s, updates, lr=3e-3,
                                          every=5 if a.quick else 50):
                        rows.append({"cell": cell, "method": m, "seed": s, **r})
                    _write(out / "rtrl_learning.csv", rows)          # each finished run at once
        return rows

    def costs():
        rows = []
        hs = (8, 16) if a.quick else (8, 16, 32, 64)
        ts = (100,) if a.quick else (100, 1000, 10000)
        points = [(H, 100) for H in hs] + [(16, T) for T in ts if T != 100]
        for cell in ("rnn", "lstm"):
            for H, T in points:
                for m in ("bptt", "rtrl", "rtrl_numba", "snap1", "uoro") + (("rflo",) if cell == "rnn" else ()):
                    if m in ("rtrl", "rtrl_numba", "snap1") and cell == "lstm" and H * T > 64 * 100:
                        continue                          # minutes each in the dense reference; the trend is clear
                    sec, peak = cost(m, cell, T, H)
                    rows.append({"cell": cell, "H": H, "T": T, "method": m, "seconds": sec, "peak_bytes": peak})
        return rows

    al = _table(out / "rtrl_alignment.csv", align)
    path = out / "rtrl_learning.csv"
    t0 = time.perf_counter()
    done = []
    if path.exists():
        with open(path) as f:
            done = list(csv.DictReader(f))
    new = len(learn(done)) - len(done)
    with open(path) as f:
        lr = list(csv.DictReader(f))                      # as written: every field a string
    print(f"{path}: {new} new rows, {len(lr)} in all, in {time.perf_counter() - t0:.0f} s")
    with threadpool_limits(1):                           # one core for every method: algorithms, not BLAS threads
        _table(out / "rtrl_cost.csv", costs)

    print("\nalignment at initialisation, median [min, max] over seeds (cosine | norm ratio):")
    keys = sorted({(r["cell"], r["task"], r["T"], r["method"]) for r in al if r["method"] != "rtrl"})
    for k in keys:
        sel = [r for r in al if (r["cell"], r["task"], r["T"], r["method"]) == k]
        c = np.array([float(r["cosine"]) for r in sel])
        n = np.array([float(r["norm_ratio"]) for r in sel])
        print(f"  {k[0]:4s} {k[1]:9s} T={k[2]!s:3s} {k[3]:6s} cos {np.median(c):+.2f} [{c.min():+.2f}, {c.max():+.2f}]"
              f"  ratio {np.median(n):.2f} [{n.min():.2f}, {n.max():.2f}]")
    worst = max(abs(float(r["cosine"]) - 1) for r in al if r["method"] == "rtrl")
    print(f"  RTRL: |cosine - 1| <= {worst:.1e} everywhere")
    _plot(lr, figs / "rtrl_learning.png")
    return 0


def _plot(rows: list[dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    cells = sorted({r["cell"] for r in rows})
    fig, axes = plt.subplots(2, len(cells), figsize=(5 * len(cells), 6), squeeze=False, sharex=True)
    colors = {"bptt": "k", "snap1": "tab:blue", "uoro": "tab:orange", "rflo": "tab:green"}
    for j, cell in enumerate(cells):
        for m, color in colors.items():
            for s in sorted({r["seed"] for r in rows}):
                sel = [r for r in rows if r["cell"] == cell and r["method"] == m and r["seed"] == s]
                if not sel:
                    continue
                u = [int(r["update"]) for r in sel]
                label = m if s == sel[0]["seed"] and s in (0, "0") else None
                axes[0, j].plot(u, [float(r["loss"]) for r in sel], color=color, alpha=0.7, label=label)
                axes[1, j].plot(u, [float(r["cosine"]) for r in sel], color=color, alpha=0.7)
        axes[0, j].set_title(f"{cell.upper()}, first bit, T = 10, H = 16")
        axes[0, j].set_ylabel("cross-entropy")
        axes[1, j].set_ylabel("cosine with the exact gradient")
        axes[1, j].set_xlabel("Adam update (each method trains on its own gradient)")
        axes[0, j].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"{path}: written")


if __name__ == "__main__":
    sys.exit(main())
