"""The `truncation` command end to end: run the jobs of `truncation.experiment` into a store, then write
tables (CSV, JSON), figures and ``truncation.md`` from the stored results alone."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .._files import atomic_write, save_figure, write_csv, write_json
from ..cells import compile_kernels
from ..runs import progress, run_experiment
from . import experiment as tr


def truncation(out: Path, quick: bool = False, seed: int = 0, figures: Path | None = None, **run) -> dict:
    """Run (or resume) the truncation study in `out` and write its outputs there; with `figures`,
    copy its two main figures into that folder too (the README's)."""
    proto = tr.QUICK_TRUNCATION if quick else tr.TRUNCATION
    return run_experiment(out, {"command": "truncation", "protocol": proto}, tr.jobs(proto, seed), tr.run_job_safe,
                          lambda out, results, failures, meta: build_truncation(out, results, failures, meta, proto),
                          run, {"seed": seed, "quick": quick}, figures, ("fidelity_png", "training_png"),
                          timing=progress.Uncalibrated(compile_kernels))


def rows(results) -> tuple[list[dict], list[dict]]:
    """(fidelity rows, training rows) from the stored (job, result) pairs."""
    fid, train = [], []
    for job, res in results:
        if isinstance(job, tr.FidelityJob):
            base = {"cell": job.cell, "task": job.task, "T": job.T, "length": res["length"], "seed": job.seed}
            fid += [{**base, **row} for row in res["rows"]]
        else:
            train.append({"cell": job.cell, "T": job.T, "lag": job.T + 10, "length": job.T + 20,
                          "scheme": "full" if job.k is None else job.scheme, "k": job.k or job.T + 20,
                          "seed": job.seed, "recall_accuracy": res["recall_accuracy"],
                          "ce_over_baseline": res["ce_over_baseline"],
                          **{f"recall_{i}": v for i, v in enumerate(res["recall_by_position"])}})
    return fid, train


def build_truncation(out: Path, results, failures, meta: dict, proto: dict) -> dict:
    fid, train = rows(results)
    meta = {**meta, "job_seconds": sum(r.get("seconds", 0.0) for _, r in results), "jobs": len(results)}
    files: dict[str, Any] = {"json": write_json({"meta": meta, "fidelity": fid, "training": train,
                                                 "failures": [{"job": repr(j), **f} for j, f in failures]},
                                                out / "truncation.json")}
    if fid:
        files["fidelity_csv"] = write_csv(fid, out / "truncation_fidelity.csv")
        files["fidelity_png"] = plot_fidelity(fid, out / "truncation_fidelity.png")
        files["norm_png"] = plot_fidelity(fid, out / "truncation_norm.png", "norm_ratio")
    if train:
        files["training_csv"] = write_csv(train, out / "truncation_training.csv")
        files["training_png"] = plot_training(train, out / "truncation_training.png")
    files["report"] = out / "truncation.md"
    atomic_write(files["report"], report_text(fid, train, proto, meta, failures))
    return {"files": files, "fidelity": fid, "training": train, "failures": failures}


def _median_curve(fid, cell, task, when, scheme, param="weight_hh", q="cosine"):
    sel = [r for r in fid if (r["cell"], r["task"], r["when"], r["scheme"], r["param"]) == (cell, task, when, scheme, param)]
    ks = sorted({r["k"] for r in sel})
    vals = [[r[q] for r in sel if r["k"] == k] for k in ks]
    return np.array(ks), np.array([np.nanmedian(v) for v in vals]), np.array([np.nanmin(v) for v in vals]), \
        np.array([np.nanmax(v) for v in vals])


def plot_fidelity(fid: list[dict], path: Path, q: str = "cosine") -> Path:
    """cos(truncated, exact) (or |truncated| / |exact|, q="norm_ratio") of dL/dW_hh against k: rows
    tasks, columns cells; median and range over seeds."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    tasks, cells = list(dict.fromkeys(r["task"] for r in fid)), list(dict.fromkeys(r["cell"] for r in fid))
    fig, axes = plt.subplots(len(tasks), len(cells), figsize=(4.2 * len(cells), 3.3 * len(tasks)), squeeze=False)
    for i, task in enumerate(tasks):
        for j, cell in enumerate(cells):
            ax = axes[i, j]
            for scheme, color in (("chunks", "C0"), ("window", "C3")):
                for when, ls in (("init", "-"), ("trained", "--")):
                    ks, med, lo, hi = _median_curve(fid, cell, task, when, scheme, q=q)
                    ax.plot(ks, med, ls=ls, color=color, marker=".", label=f"{scheme}, {when}")
                    ax.fill_between(ks, lo, hi, color=color, alpha=0.12)
            L = next(r["length"] for r in fid if r["task"] == task)
            ax.set_xscale("log")
            if q == "cosine":
                ax.set_ylim(-0.2, 1.05)
            else:
                ax.set_yscale("log")
            ax.axhline(1.0, color="k", lw=0.6)
            ax.set_title(f"{cell.upper()}, {task} (length {L})", fontsize=10)
            ax.set_xlabel("k (steps kept)")
            ax.set_ylabel("cos(truncated, exact) of dL/dW_hh" if q == "cosine" else "|truncated| / |exact|, dL/dW_hh")
            ax.grid(True, alpha=0.3, which="both")
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return path


def _training_curve(train, cell, scheme):
    sel = [r for r in train if r["cell"] == cell and r["scheme"] == scheme]
    ks = sorted({r["k"] for r in sel})
    acc = [[r["recall_accuracy"] for r in sel if r["k"] == k] for k in ks]
    return ks, acc


def plot_training(train: list[dict], path: Path) -> Path:
    """Recall accuracy on the copying task against k, per scheme, with full BPTT and chance marked."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    cells = list(dict.fromkeys(r["cell"] for r in train))
    fig, axes = plt.subplots(2, len(cells), figsize=(4.6 * len(cells), 6.8), squeeze=False)
    lag, length = train[0]["lag"], train[0]["length"]
    for ax, cell in zip(axes[1], cells):                          # cross-entropy against the memoryless baseline
        for scheme, color in (("chunks", "C0"), ("window", "C3")):
            sel = [r for r in train if r["cell"] == cell and r["scheme"] == scheme]
            ks = sorted({r["k"] for r in sel})
            ax.plot(ks, [np.mean([r["ce_over_baseline"] for r in sel if r["k"] == k]) for k in ks], color=color,
                    marker="o", label=f"TBPTT {scheme}")
        full = [r["ce_over_baseline"] for r in train if r["cell"] == cell and r["scheme"] == "full"]
        if full:
            ax.axhline(np.mean(full), color="k", ls="--", label="full BPTT")
        ax.axhline(1.0, color="grey", ls=":", label="memoryless baseline 10 log 8 / (T + 20)")
        ax.axvline(lag + 1, color="C2", lw=0.8)
        ax.axvline(length, color="C4", lw=0.8)
        ax.set_xlabel("k")
        ax.set_ylabel("test cross-entropy / baseline")
        ax.grid(True, alpha=0.3)
    axes[1, 0].legend(fontsize=7)
    for ax, cell in zip(axes[0], cells):
        for scheme, color in (("chunks", "C0"), ("window", "C3")):
            ks, acc = _training_curve(train, cell, scheme)
            ax.errorbar(ks, [np.mean(a) for a in acc], yerr=[[np.mean(a) - min(a) for a in acc],
                                                              [max(a) - np.mean(a) for a in acc]],
                        color=color, marker="o", capsize=3, label=f"TBPTT {scheme}")
        full = [r["recall_accuracy"] for r in train if r["cell"] == cell and r["scheme"] == "full"]
        if full:
            ax.axhline(np.mean(full), color="k", ls="--", label=f"full BPTT ({len(full)} seeds)")
        ax.axhline(1 / 8, color="grey", ls=":", label="chance (1/8)")
        ax.axvline(lag + 1, color="C2", lw=0.8, label=f"k = lag + 1 = {lag + 1}")
        ax.axvline(length, color="C4", lw=0.8, label=f"k = length = {length}")
        ax.set_title(f"{cell.upper()}, copying with lag {lag}", fontsize=10)
        ax.set_xlabel("k")
        ax.set_ylabel("recall accuracy (1000 sequences)")
        ax.set_ylim(0, 1.02)
        ax.grid(True, alpha=0.3)
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return path


def report_text(fid, train, proto, meta, failures) -> str:
    """truncation.md: the protocol, then every number the figures show, as tables."""
    md = ["# What truncated BPTT keeps", "",
          f"Protocol: hidden {proto['hidden']}, batch {proto['batch']}, Adam lr {proto['lr']}, clip {proto['clip']}, "
          f"{proto['seeds']} seed(s). Fidelity: float64 gradients of one fixed batch, at initialisation and after "
          f"{proto['fidelity_updates']} updates of full-BPTT training, tasks {proto['fidelity']} (copying: the lag's T; "
          f"xor and lm: the length). Training: copying with T = {proto['train_T']}, {proto['train_updates']} updates. "
          f"{meta['jobs']} jobs, {meta['job_seconds'] / 60:.1f} min of one core's time in all; this call ran "
          f"{meta.get('seconds', 0) / 60:.1f} min (a resumed call runs only what the store lacks).", ""]
    if fid:
        md += ["## cos(truncated, exact) of dL/dW_hh, median over seeds", "",
               "| cell | task | when | scheme | " + " | ".join(f"k={k}" for k in sorted({r['k'] for r in fid})) + " |"]
        allk = sorted({r["k"] for r in fid})
        md.append("|" + "---|" * (4 + len(allk)))
        for cell in dict.fromkeys(r["cell"] for r in fid):
            for task in dict.fromkeys(r["task"] for r in fid):
                for when in ("init", "trained"):
                    for scheme in tr.SCHEMES:
                        ks, med, _, _ = _median_curve(fid, cell, task, when, scheme)
                        got = dict(zip(ks.tolist(), med.tolist()))
                        md.append(f"| {cell} | {task} | {when} | {scheme} | "
                                  + " | ".join(f"{got[k]:.3f}" if k in got else "" for k in allk) + " |")
        md.append("")
    if train:
        md += ["## Copying task: recall accuracy after training (mean [min, max] over seeds; chance 0.125)", "",
               "| cell | scheme | k | recall accuracy | CE / baseline |", "|---|---|---|---|---|"]
        for cell in dict.fromkeys(r["cell"] for r in train):
            for scheme in (*tr.SCHEMES, "full"):
                for k in sorted({r["k"] for r in train if r["scheme"] == scheme}):
                    sel = [r for r in train if (r["cell"], r["scheme"], r["k"]) == (cell, scheme, k)]
                    if sel:
                        a = [r["recall_accuracy"] for r in sel]
                        c = np.mean([r["ce_over_baseline"] for r in sel])
                        md.append(f"| {cell} | {scheme} | {k} | {np.mean(a):.3f} [{min(a):.3f}, {max(a):.3f}] | {c:.3f} |")
        md.append("")
        md += ["Recall accuracy by position (mean over seeds). Symbol i is seen at step i and recalled at step "
               f"i + {train[0]['lag']}; in chunks of k steps the pair is in one chunk only when "
               "floor(i / k) = floor((i + lag) / k).", "",
               "| cell | scheme | k | " + " | ".join(f"i={i}" for i in range(10)) + " |", "|" + "---|" * 13]
        for cell in dict.fromkeys(r["cell"] for r in train):
            for scheme in (*tr.SCHEMES, "full"):
                for k in sorted({r["k"] for r in train if r["scheme"] == scheme}):
                    sel = [r for r in train if (r["cell"], r["scheme"], r["k"]) == (cell, scheme, k)]
                    if sel:
                        pos = np.mean([[r[f"recall_{i}"] for i in range(10)] for r in sel], axis=0)
                        md.append(f"| {cell} | {scheme} | {k} | " + " | ".join(f"{v:.2f}" for v in pos) + " |")
        md.append("")
    if failures:
        md += ["## Failed jobs", ""] + [f"- {j!r}: {f['type']}: {f['message']}" for j, f in failures]
    return "\n".join(md) + "\n"
