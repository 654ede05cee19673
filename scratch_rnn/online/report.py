"""The `online` command end to end: run the jobs of `online.experiment` into a store, then write the tables
(CSV, JSON), the figures and ``online.md`` from the stored results alone."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .._files import atomic_write, save_figure, write_csv, write_json
from ..rtrl.approx import compile_online
from ..runs import progress, run_experiment
from . import experiment as ex
from .tasks import STEP_TASKS, get_step_task

COLORS = {"bptt": "k", "readout": "tab:gray", "snap1": "tab:blue", "eprop": "tab:purple", "uoro": "tab:orange",
          "kfrtrl": "tab:red",
          "rflo": "tab:green"}


def online(out: Path, quick: bool = False, seed: int = 0, figures: Path | None = None, **run) -> dict:
    """Run (or resume) the RTRL experiments in `out` and write their outputs there; with `figures`, copy
    the two figures into that folder too."""
    proto = ex.QUICK_ONLINE if quick else ex.ONLINE
    return run_experiment(out, {"command": "online", "protocol": proto}, ex.jobs(proto, seed), ex.run_job_safe, build,
                          run, {"seed": seed, "quick": quick}, figures, ("learning_png", "cost_png"),
                          timing=progress.Uncalibrated(compile_online))


def rows(results) -> tuple[list[dict], list[dict], list[dict]]:
    """(alignment, learning, cost) rows from the stored (job, result) pairs."""
    align, learn, cost = [], [], []
    for job, res in results:
        if isinstance(job, ex.AlignJob):
            align += [{"cell": job.cell, "task": job.task, "T": job.T, "seed": job.seed, "method": m,
                       "cosine": c, "norm_ratio": r} for m, (c, r) in res["methods"].items()]
        elif isinstance(job, ex.LearnJob):
            learn += [{"method": job.method, "cell": job.cell, "task": job.task, "T": job.T, "seed": job.seed, **r}
                      for r in res["rows"]]
        else:
            cost.append({"cell": job.cell, "method": job.method, "H": job.H, "T": job.T,
                         "seconds_per_sequence": res["seconds_per_sequence"],
                         "seconds_per_step": res["seconds_per_sequence"] / job.T, "peak_bytes": res["peak_bytes"]})
    return align, learn, cost


def build(out: Path, results, failures, meta: dict) -> dict:
    align, learn, cost = rows(results)
    meta = {**meta, "job_seconds": sum(r.get("seconds", 0.0) for _, r in results), "jobs": len(results)}
    files: dict[str, Any] = {"json": write_json({"meta": meta, "alignment": align, "learning": learn, "cost": cost,
                                                 "failures": [{"job": repr(j), **f} for j, f in failures]},
                                                out / "online.json")}
    for name, table in (("alignment", align), ("learning", learn), ("cost", cost)):
        if table:
            files[f"{name}_csv"] = write_csv(table, out / f"online_{name}.csv")
    if learn:
        files["learning_png"] = plot_learning(learn, out / "online_learning.png")
    if cost:
        files["cost_png"] = plot_cost(cost, out / "online_cost.png")
    files["report"] = atomic_write(out / "online.md", report_text(align, learn, cost, meta, failures))
    if any(r["task"] == "first_bit" for r in learn):
        files["first_bit"] = atomic_write(out / "online_first_bit.md", first_bit_text(learn, meta))
    if any(r["task"] == "add" for r in learn):
        files["add"] = atomic_write(out / "online_add.md", add_text(learn, meta))
    if cost:
        files["cost_md"] = atomic_write(out / "online_cost.md", cost_text(cost, meta))
    return {"files": files, "alignment": align, "learning": learn, "cost": cost, "failures": failures}


def _final(learn: list[dict], key, what: str, last: int = 5) -> dict:
    """Per seed, the mean of `what` over the last `last` logged points of one (method, cell, task) run."""
    per_seed: dict = {}
    for r in learn:
        if (r["method"], r["cell"], r["task"]) == key:
            per_seed.setdefault(r["seed"], []).append((r["update"], r[what]))
    return {s: float(np.mean([v for _, v in sorted(pts)[-last:]])) for s, pts in per_seed.items()}


def _med(values, digits: int = 2) -> str:
    v = np.asarray(values, dtype=float)
    return f"{np.median(v):.{digits}f} [{v.min():.{digits}f}, {v.max():.{digits}f}]" if v.size else "-"


def report_text(align, learn, cost, meta, failures) -> str:
    lines = ["# Gradients forward in time: alignment, learning and cost", "",
             f"`{meta['command_line']}`: {meta['jobs']} jobs, {meta['job_seconds']:.0f} s of work, "
             f"{meta['seconds']:.0f} s of wall time on {meta.get('cpu', 'this CPU')}.", ""]
    if align:
        lines += ["## Alignment at initialisation (median [min, max] over seeds)", "",
                  "| cell | task | T | method | cosine | norm ratio |", "|---|---|---|---|---|---|"]
        for key in sorted({(r["cell"], r["task"], r["T"], r["method"]) for r in align},
                          key=lambda k: (k[0], k[1], k[2], ex.METHODS.index(k[3]))):
            sel = [r for r in align if (r["cell"], r["task"], r["T"], r["method"]) == key]
            lines.append(f"| {' | '.join(map(str, key))} | {_med([r['cosine'] for r in sel])} | "
                         f"{_med([r['norm_ratio'] for r in sel])} |")
        lines.append("")
    if learn:
        lines += ["## Online training (each method's own layer gradient; the head's is exact)", "",
                  "Mean of the last five logged points per seed; median [min, max] over seeds. First bit: runs "
                  "whose accuracy reached 0.9. Add: the levels are " + ", ".join(
                      f"{k} {v:.3f}" for k, v in get_step_task("add")[1].levels.items()) + " nats.", "",
                  "| cell | task | method | final loss | final cosine | solved |", "|---|---|---|---|---|---|"]
        for run in sorted({(r["method"], r["cell"], r["task"]) for r in learn},
                          key=lambda k: (k[1], k[2], list(COLORS).index(k[0]))):
            loss, cos = _final(learn, run, "loss"), _final(learn, run, "cosine")
            if run[2] in STEP_TASKS:
                solved = "-"
            else:
                acc = _final(learn, run, "accuracy")
                solved = f"{sum(a >= 0.9 for a in acc.values())}/{len(acc)}"
            lines.append(f"| {run[1]} | {run[2]} | {run[0]} | {_med(list(loss.values()))} | "
                         f"{_med(list(cos.values()))} | {solved} |")
        lines.append("")
    if cost:
        lines += ["## Cost of one sequence's gradient (B = 1, D = 1, NumPy reference, BLAS on one thread)", "",
                  "| cell | H | T | method | ms per step | peak MiB |", "|---|---|---|---|---|---|"]
        for r in sorted(cost, key=lambda r: (r["cell"], r["T"], r["H"], r["method"])):
            lines.append(f"| {r['cell']} | {r['H']} | {r['T']} | {r['method']} | {1e3 * r['seconds_per_step']:.3g} | "
                         f"{r['peak_bytes'] / 2 ** 20:.3g} |")
        lines.append("")
    if failures:
        lines += [f"{len(failures)} jobs failed (stored with their tracebacks in online.json; --retry-failed runs "
                  "them again)."]
    return "\n".join(lines) + "\n"


def _provenance_line(meta: dict) -> str:
    from .._provenance import cpu_text
    return (f"`{meta['command_line']}` on {cpu_text(meta.get('cpu'))}, commit {meta.get('commit', 'unknown')}.")


METHOD_LABELS = {"bptt": "BPTT", "readout": "readout only", "snap1": "SnAp-1", "eprop": "e-prop", "uoro": "UORO",
                 "kfrtrl": "KF-RTRL", "rflo": "RFLO (random feedback)"}


def first_bit_text(learn: list[dict], meta: dict) -> str:
    """The first-bit table: per cell and method, the runs that reached accuracy 0.9 (the mean of the last
    five logged points), their Wilson 95% interval, Fisher's exact test against BPTT of the same cell, and
    the smallest difference from BPTT's rate that the test detects at these n (power 0.8)."""
    from ..study.stats import detectable, detectable_text, fisher_p, wilson
    lines = ["The first bit (T = 10, H = 16, batches of 32, Adam, 1000 updates): runs whose accuracy, averaged over "
             "the last five logged updates, is at least 0.9. " + _provenance_line(meta), "",
             "| cell | method | solved | Wilson 95% | vs BPTT: Fisher p | detectable at this n (up/down) |",
             "|---|---|---:|---|---:|---|"]
    for cell in sorted({r["cell"] for r in learn if r["task"] == "first_bit"}, key=["rnn", "lstm", "gru"].index):
        counts = {}
        for m in COLORS:
            acc = _final(learn, (m, cell, "first_bit"), "accuracy")
            if acc:
                counts[m] = (sum(a >= 0.9 for a in acc.values()), len(acc))
        kb, nb = counts.get("bptt", (0, 0))
        for m, (k, n) in counts.items():
            lo, hi = wilson(k, n)
            if m == "bptt" or not nb:
                test = "-", "-"
            else:
                d = detectable(kb, nb, n)
                test = f"{fisher_p(k, n, kb, nb):.2g}", detectable_text(d["up"], d["down"])
            lines.append(f"| {cell.upper()} | {METHOD_LABELS[m]} | {k}/{n} | [{lo:.2f}, {hi:.2f}] | {test[0]} | "
                         f"{test[1]} |")
    return "\n".join(lines) + "\n"


def add_text(learn: list[dict], meta: dict) -> str:
    """The add task's table: per cell and method, the final loss (the mean of the last five logged points
    per seed; median [min, max] over seeds), the Mann-Whitney U test against BPTT of the same cell, and the
    cosine with the exact gradient at the end."""
    from scipy.stats import mannwhitneyu
    levels = get_step_task("add")[1].levels
    lines = ["The add task (T = 20, H = 16, batches of 32, Adam, 1000 updates): the loss in nats (levels: "
             + ", ".join(f"{k.replace('_', ' ')} {v:.3f}" for k, v in levels.items()) + "). "
             + _provenance_line(meta), "",
             "| cell | method | seeds | final loss | vs BPTT: Mann-Whitney p | final cosine with the exact gradient |",
             "|---|---|---:|---|---:|---|"]
    for cell in sorted({r["cell"] for r in learn if r["task"] == "add"}, key=["rnn", "lstm", "gru"].index):
        base = _final(learn, ("bptt", cell, "add"), "loss")
        for m in COLORS:
            loss = _final(learn, (m, cell, "add"), "loss")
            if not loss:
                continue
            p = "-" if m == "bptt" or not base else \
                f"{mannwhitneyu(list(loss.values()), list(base.values())).pvalue:.2g}"
            cos = _final(learn, (m, cell, "add"), "cosine")
            final = _med(list(loss.values()), 3)
            lines.append(f"| {cell.upper()} | {METHOD_LABELS[m]} | {len(loss)} | {final} | {p} | "
                         f"{'-' if m in ('bptt', 'readout') else _med(list(cos.values()))} |")
    return "\n".join(lines) + "\n"


def cost_text(cost: list[dict], meta: dict) -> str:
    """The cost tables: per cell, each method's time a step and peak memory at each (H, T)."""
    lines = ["One sequence's gradient (B = 1, D = 1): the fastest of up to 20 calls within half a second and the peak "
             "traced NumPy memory of one more call, BLAS on one thread, per step. " + _provenance_line(meta), ""]
    for cell in sorted({r["cell"] for r in cost}, key=["rnn", "lstm", "gru"].index):
        rows = [r for r in cost if r["cell"] == cell]
        methods = [m for m in ("bptt", "tbptt", "rtrl", "rtrl_numba", "snap1", "eprop", "uoro", "kfrtrl", "rflo")
                   if any(r["method"] == m for r in rows)]
        names = {"tbptt": "TBPTT(10)", "rtrl": "RTRL", "rtrl_numba": "RTRL, compiled step", **METHOD_LABELS,
                 "rflo": "RFLO"}
        lines += [f"{cell.upper()}:", "", "| H | T | " + " | ".join(names[m] for m in methods) + " |",
                  "|---:|---:|" + "---:|" * len(methods)]
        for H, T in sorted({(r["H"], r["T"]) for r in rows}, key=lambda p: (p[1], p[0])):
            at = {r["method"]: r for r in rows if (r["H"], r["T"]) == (H, T)}
            lines.append(f"| {H} | {T:,} | " + " | ".join(
                f"{1e3 * at[m]['seconds_per_step']:.3g} ms, {at[m]['peak_bytes'] / 2 ** 20:.3g} MiB" if m in at
                else "not run" for m in methods) + " |")
        lines.append("")
    return "\n".join(lines)


def plot_learning(learn: list[dict], path: Path) -> Path:
    """Loss (top) and cosine with the exact gradient (bottom) along training: a column per (cell, task)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    panels = sorted({(r["cell"], r["task"], r["T"]) for r in learn})
    fig, axes = plt.subplots(2, len(panels), figsize=(4.2 * len(panels), 6), squeeze=False, sharex=True)
    for j, (cell, task, T) in enumerate(panels):
        for m, color in COLORS.items():
            for s in sorted({r["seed"] for r in learn}):
                sel = sorted((r for r in learn if (r["cell"], r["task"], r["method"], r["seed"]) == (cell, task, m, s)),
                             key=lambda r: r["update"])
                if sel:
                    u = [r["update"] for r in sel]
                    axes[0, j].plot(u, [r["loss"] for r in sel], color=color, alpha=0.6, lw=1)
                    axes[1, j].plot(u, [r["cosine"] for r in sel], color=color, alpha=0.6, lw=1)
        if task == "add":
            for v in get_step_task("add")[1].levels.values():
                axes[0, j].axhline(v, color="grey", ls=":", lw=0.8)
        axes[0, j].set_title(f"{cell.upper()}, {task.replace('_', ' ')}, T = {T}")
        axes[1, j].set_xlabel("Adam update")
        axes[1, j].set_ylim(-0.5, 1.05)
    axes[0, 0].set_ylabel("loss (nats)")
    axes[1, 0].set_ylabel("cosine with the exact gradient")
    from matplotlib.lines import Line2D
    present = [m for m in COLORS if any(r["method"] == m for r in learn)]
    fig.legend([Line2D([], [], color=COLORS[m]) for m in present], present, loc="upper center", ncol=len(present),
               fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    out = save_figure(fig, path)
    plt.close(fig)
    return out


def plot_cost(cost: list[dict], path: Path) -> Path:
    """Time per step against H (left) and peak memory against T (right), per cell, log-log."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    cells = sorted({r["cell"] for r in cost})
    t_at_h = min(r["T"] for r in cost)
    h_at_t = min({r["H"] for r in cost if r["T"] == max(r["T"] for r in cost)})
    fig, axes = plt.subplots(len(cells), 2, figsize=(10, 3.6 * len(cells)), squeeze=False)
    colors = {**COLORS, "rtrl": "tab:brown", "rtrl_numba": "tab:pink", "tbptt": "tab:gray"}
    for i, cell in enumerate(cells):
        for m, color in colors.items():
            by_h = sorted((r["H"], r["seconds_per_step"]) for r in cost if (r["cell"], r["method"], r["T"]) == (cell, m, t_at_h))
            by_t = sorted((r["T"], r["peak_bytes"]) for r in cost if (r["cell"], r["method"], r["H"]) == (cell, m, h_at_t))
            if by_h:
                axes[i, 0].loglog(*zip(*by_h), "o-", color=color, label=m)
            if by_t:
                axes[i, 1].loglog(*zip(*by_t), "o-", color=color, label=m)
        axes[i, 0].set_title(f"{cell.upper()}: time per step, T = {t_at_h}")
        axes[i, 0].set_xlabel("H")
        axes[i, 0].set_ylabel("seconds per step")
        axes[i, 1].set_title(f"{cell.upper()}: peak memory, H = {h_at_t}")
        axes[i, 1].set_xlabel("T")
        axes[i, 1].set_ylabel("bytes")
        axes[i, 0].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    out = save_figure(fig, path)
    plt.close(fig)
    return out
