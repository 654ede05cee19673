"""How far the exact gradient reaches back at initialisation, over many draws of the weights.

For each model and task: `draws` independent initialisations (and batches), each giving, in
float64, the ratio ||dL/dh_0|| / ||dL/dh_{T-1}|| of the exact BPTT of the task's loss on a batch
(and ||dL/dc_0|| / ||dL/dc_{T-1}|| for the LSTM), where the loss looks at h_{T-1} only. One draw of
this ratio can be orders of magnitude from the next, so the table reports the median and the range.
``scratch-rnn gradratios`` writes ``gradratios.{csv,json,md,png}``.
"""
from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

from .._files import atomic_write, check_writable, save_figure, write_csv, write_json
from .._provenance import provenance
from ..training.model import exact_profile, init_model
from ..training.tasks import get_task
from .stats import model_label

MODELS = (("rnn", "pytorch"), ("rnn", "orthogonal"), ("lstm", "pytorch"), ("lstm", "forget_bias"),
          ("lstm", "chrono"), ("gru", "pytorch"))


def ratios(cell: str, init: str, task: str, T: int, draws: int, batch: int = 32, hidden: int = 64,
           seed: int = 0) -> list[dict]:
    """One row per draw: the h (and c) ratio at initialisation, float64."""
    sampler, spec = get_task(task)
    key = zlib.crc32(f"gradratios|{cell}|{init}|{task}|{T}".encode())
    rows = []
    for d in range(draws):
        rng = np.random.default_rng([seed + d, key])
        p = init_model(cell, spec.input_size, hidden, spec.outputs, rng, init=init, dtype=np.float64, t_max=T)
        x, y = sampler(T, batch, rng, dtype=np.float64)
        prof = exact_profile(p, spec, x, y)
        row = {"cell": cell, "init": init, "task": task, "T": T, "draw": d, "h_ratio": float(prof["h"][0] / prof["h"][-1])}
        if "c" in prof:
            row["c_ratio"] = float(prof["c"][0] / prof["c"][-1])
        rows.append(row)
    return rows


def summary(rows: list[dict]) -> list[dict]:
    """Median, min and max of each ratio per (model, task, T), over the draws (log-scale quantities)."""
    out = []
    for key in dict.fromkeys((r["cell"], r["init"], r["task"], r["T"]) for r in rows):
        sel = [r for r in rows if (r["cell"], r["init"], r["task"], r["T"]) == key]
        row = dict(zip(("cell", "init", "task", "T"), key), draws=len(sel))
        for q in ("h_ratio", "c_ratio"):
            v = [r[q] for r in sel if q in r]                    # c_ratio: the LSTM only (None otherwise)
            row.update({f"{q}_median": float(np.median(v)) if v else None, f"{q}_min": min(v) if v else None,
                        f"{q}_max": max(v) if v else None})
        out.append(row)
    return out


def plot(rows: list[dict], path: Path) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    tasks = list(dict.fromkeys(r["task"] for r in rows))
    models = list(dict.fromkeys((r["cell"], r["init"]) for r in rows))
    fig, axes = plt.subplots(1, len(tasks), figsize=(6.5 * len(tasks), 4.2), squeeze=False)
    names = {"h_ratio": "||dL/dh_0|| / ||dL/dh_T-1||", "c_ratio": "||dL/dc_0|| / ||dL/dc_T-1||"}
    for ax, task in zip(axes[0], tasks):
        labelled: set[str] = set()                               # one legend entry per ratio
        for i, m in enumerate(models):
            for q, dx, marker in (("h_ratio", -0.12, "o"), ("c_ratio", 0.12, "s")):
                v = [r[q] for r in rows if (r["cell"], r["init"]) == m and r["task"] == task and q in r]
                if v:
                    ax.scatter(np.full(len(v), i + dx), v, s=14, marker=marker, alpha=0.6,
                               color="C0" if q == "h_ratio" else "C1", label=None if q in labelled else names[q])
                    labelled.add(q)
                    ax.hlines(np.median(v), i + dx - 0.1, i + dx + 0.1, color="k")
        ax.set_yscale("log")
        ax.set_xticks(range(len(models)))
        ax.set_xticklabels([model_label(*m) for m in models], rotation=25, ha="right", fontsize=8)
        T = rows[0]["T"]
        ax.set_title(f"{task}, T = {T}: exact gradient ratio at initialisation, every draw (bar: median)", fontsize=9)
        ax.legend(fontsize=7)
        ax.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return path


def gradratios(out: Path, T: int = 100, draws: int = 20, tasks=("xor", "first_bit"), models=MODELS,
               seed: int = 0, figures: Path | None = None) -> dict:
    out = check_writable(out)
    rows = [r for task in tasks for cell, init in models for r in ratios(cell, init, task, T, draws, seed=seed)]
    table = summary(rows)
    files = {"csv": write_csv(table, out / "gradratios.csv"),
             "json": write_json({"rows": rows, "summary": table, "T": T, "draws": draws, "seed": seed, **provenance()},
                                out / "gradratios.json"),
             "png": plot(rows, out / "gradratios.png")}
    md = [f"# Exact gradient ratios at initialisation, T = {T}, {draws} draws each (float64)", "",
          "| task | model | median ||dL/dh_0|| / ||dL/dh_T-1|| | range | median ||dL/dc_0|| / ||dL/dc_T-1|| | range |",
          "|---|---|---|---|---|---|"]
    for r in table:
        c = (f"{r['c_ratio_median']:.1e} | [{r['c_ratio_min']:.1e}, {r['c_ratio_max']:.1e}]" if r["c_ratio_median"] is not None
             else " | ")
        md.append(f"| {r['task']} | {model_label(r['cell'], r['init'])} | {r['h_ratio_median']:.1e} | "
                  f"[{r['h_ratio_min']:.1e}, {r['h_ratio_max']:.1e}] | {c} |")
    files["md"] = out / "gradratios.md"
    atomic_write(files["md"], "\n".join(md) + "\n")
    if figures is not None:
        import shutil
        files["figure"] = Path(shutil.copy(files["png"], check_writable(figures, "--figures")))
    return {"files": files, "summary": table, "rows": rows}
