"""Figures of the study (matplotlib, Agg backend, written to files; never shown)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .._files import save_figure
from ..training.tasks import get_task
from .stats import group_runs, model_label, model_order, notebook_flow_runs, wilson


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    save_figure(fig, path)
    _plt().close(fig)
    return path


def notebook_panel(runs: list, path: Path, title: str) -> Path:
    """The notebook's 2 x 3 panel (loss, accuracy, gradient norm per update at T = 10 and 100),
    every seed drawn thin and the mean over seeds thick."""
    plt = _plt()
    fig, axes = plt.subplots(2, 3, figsize=(16, 8.5))
    for row, T in enumerate((10, 100)):
        for cell, color in (("rnn", "C0"), ("lstm", "C1")):
            sel = [r for r in runs if r.spec.experiment == "notebook" and r.spec.T == T and r.spec.cell == cell]
            for col, key in enumerate(("loss", "accuracy", "grad_norm")):
                curves = np.array([r.history[key] for r in sel])
                ax = axes[row, col]
                for c in curves:
                    ax.plot(c, color=color, lw=0.6, alpha=0.35)
                if len(sel):                                     # none yet in a store interrupted early
                    ax.plot(curves.mean(axis=0), color=color, lw=2, label=f"{cell.upper()} (mean of {len(sel)} seeds)")
                ax.set_title(f"{ {'loss': 'Training loss', 'accuracy': 'Training accuracy', 'grad_norm': 'Gradient norm'}[key]} (T = {T})")
                ax.set_xlabel("update")
                if key == "grad_norm":
                    ax.set_yscale("log")
                if key == "accuracy":
                    ax.axhline(0.5, color="r", ls="--", lw=1)
                    ax.set_ylim(0, 1.05)
                ax.grid(alpha=0.3)
    if runs:
        axes[0, 0].legend()
    fig.suptitle(title)
    return _save(fig, path)


def notebook_sweep(runs: list, path: Path, title: str) -> Path:
    """Test accuracy vs sequence length under the notebook's sweep protocol, per seed and mean."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9, 5))
    for cell, marker, color in (("rnn", "o", "C0"), ("lstm", "s", "C1")):
        sel = [r for r in runs if r.spec.experiment == "notebook_sweep" and r.spec.cell == cell]
        Ts = sorted({r.spec.T for r in sel})
        accs = [[r.final_accuracy for r in sel if r.spec.T == T] for T in Ts]
        for T, a in zip(Ts, accs):
            ax.scatter([T] * len(a), a, color=color, marker=marker, alpha=0.35, s=18)
        ax.plot(Ts, [np.mean(a) for a in accs], marker=marker, color=color, lw=2, label=f"{cell.upper()} (mean)")
    ax.axhline(0.5, color="r", ls="--", label="chance")
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("sequence length T")
    ax.set_ylabel("test accuracy (1000 fresh sequences)")
    ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    return _save(fig, path)


def notebook_gradflow(runs: list, path: Path) -> Path:
    """The notebook's metric next to the exact ||dL/dh_t||, on the same sequence, after its training."""
    plt = _plt()
    sel = notebook_flow_runs(runs)
    fig, axes = plt.subplots(1, 2, figsize=(14, 5))
    for ax, cell in zip(axes, ("rnn", "lstm")):
        r = sel.get(cell)
        if r is None:
            ax.axis("off")
            continue
        ax.plot(r.notebook_flow, lw=2, label="notebook metric: ||d sum(h_t) / d params||")
        ax.plot(r.notebook_flow_exact, lw=2, label="exact ||dL/dh_t|| (loss at the last step)")
        ax.set_yscale("log")
        ax.set_xlabel("time step t")
        ax.set_title(f"{cell.upper()} after the notebook's training (T = {r.spec.T})")
        ax.legend(fontsize=9)
        ax.grid(alpha=0.3)
    return _save(fig, path)


def success_vs_length(runs: list, path: Path, task: str) -> Path:
    """Success rate vs T with Wilson 95% intervals, and the final test metric (accuracy, or MSE
    for a regression task) of every run; a model's curriculum runs in its colour, dashed."""
    plt = _plt()
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(15, 5.2))
    sel = [r for r in runs if r.spec.task == task]
    groups = group_runs(sel)
    regression = get_task(task)[1].loss == "mse"
    colors: dict = {}                  # one colour per model; a curriculum arm is the same colour, dashed
    all_T: set = set()
    for i, (model, by_T) in enumerate(groups.items()):
        Ts = sorted(by_T)
        all_T.update(Ts)
        base, _, arm = model[1].partition("+")            # "chrono+curriculum": the curriculum arm of chrono
        color = colors.setdefault((model[0], base), f"C{len(colors) % 10}")
        style = {"color": color, "ls": "--" if arm else "-", "marker": "s" if arm else "o"}
        k = np.array([sum(r.succeeded for r in by_T[T]) for T in Ts])
        n = np.array([len(by_T[T]) for T in Ts])
        lo, hi = np.array([wilson(a, b) for a, b in zip(k, n)]).T
        shift = 1 + 0.012 * (i - len(groups) / 2)           # side by side around each T (log axis)
        ax.errorbar(np.array(Ts) * shift, k / n, yerr=[k / n - lo, hi - k / n], capsize=3, label=model_label(*model), **style)
        metric = [np.mean([r.final_metric for r in by_T[T]]) for T in Ts]
        ax2.plot(Ts, metric, label=model_label(*model), **style)
        for T in Ts:
            ax2.scatter([T * shift] * len(by_T[T]), [r.final_metric for r in by_T[T]], s=10, alpha=0.3, color=color)
    if all_T:
        _length_axis(ax, sorted(all_T))
        _length_axis(ax2, sorted(all_T))
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel("sequence length T")
    threshold = (f"MSE <= {sel[0].spec.success_mse:g}" if regression else f"accuracy >= {sel[0].spec.success_accuracy:g}") \
        if sel else "success"
    ax.set_ylabel(f"success rate ({threshold}), Wilson 95% CI")
    ax.set_title(f"{task}: success rate")
    ax.axhline(0, color="r", ls="--", lw=1, label="chance-level model")
    name = "MSE" if regression else "accuracy"
    ax2.axhline(get_task(task)[1].chance, color="r", ls="--", label=f"chance {name}")
    if regression:
        ax2.set_yscale("log")
    else:
        ax2.set_ylim(0.3, 1.02)
    ax2.set_xlabel("sequence length T")
    ax2.set_ylabel(f"final test {name} (mean; dots: seeds)")
    ax2.set_title(f"{task}: {name} after training")
    for a in (ax, ax2):
        a.grid(alpha=0.3, which="both")
        a.legend(fontsize=8)
    return _save(fig, path)


def _length_axis(ax, Ts) -> None:
    """Log-scaled T axis labelled with the lengths themselves."""
    from matplotlib.ticker import NullFormatter
    ax.set_xscale("log")
    ax.set_xticks(Ts)
    ax.set_xticklabels([str(T) for T in Ts])
    ax.xaxis.set_minor_formatter(NullFormatter())


def gradient_flow(runs: list, path: Path) -> Path:
    """||dL/dh_t|| (and ||dL/dc_t||) at initialisation and after training, with the Jacobian bound
    (RNN) or the cell-path term (LSTM; the GRU has ||dL/dh_t|| alone), one panel per (task, model)."""
    plt = _plt()
    sel = [r for r in runs if r.flow_init]
    cols = 3
    rows = max(1, -(-len(sel) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(6 * cols, 4.2 * rows), squeeze=False)
    for ax, r in zip(axes.flat, sel):
        s = r.spec
        for when, ls in (("flow_init", "-"), ("flow_final", "--")):
            f = getattr(r, when)
            tag = "init" if when == "flow_init" else f"after {r.updates} updates"
            ax.plot(f["h"], ls=ls, color="C0", label=f"||dL/dh_t|| {tag}")
            if "c" in f:
                ax.plot(f["c"], ls=ls, color="C1", label=f"||dL/dc_t|| {tag}")
                ax.plot(f["cell_path"], ls=ls, color="C2", lw=1, label=f"cell path dL/dc_T*prod f {tag}")
            elif "bound" in f:
                ax.plot(f["bound"], ls=ls, color="C3", lw=1, label=f"Jacobian-norm bound {tag}")
        ax.set_yscale("log")
        ax.set_xlabel("time step t (loss at the last step)")
        ax.set_title(f"{s.task}, {model_label(*s.model)}, T={s.T}, {'MSE' if s.regression else 'acc'} "
                     f"{r.final_metric:.2f}",
                     fontsize=10)
        ax.legend(fontsize=6)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(sel):]:
        ax.axis("off")
    return _save(fig, path)


def gate_statistics(runs: list, path: Path) -> Path:
    """Mean forget and input gate per step, at initialisation and after training (LSTM runs)."""
    plt = _plt()
    sel = [r for r in runs if r.flow_init and "gates" in r.flow_init]
    fig, axes = plt.subplots(1, max(1, len(sel)), figsize=(5.5 * max(1, len(sel)), 4), squeeze=False)
    for ax, r in zip(axes[0], sel):
        for when, ls in (("flow_init", "-"), ("flow_final", "--")):
            g = getattr(r, when)["gates"]
            tag = "init" if when == "flow_init" else "trained"
            ax.plot(g["forget"], ls=ls, color="C2", label=f"forget {tag}")
            ax.plot(g["input"], ls=ls, color="C4", label=f"input {tag}")
        s = r.spec
        ax.set_title(f"{s.task}, {model_label(*s.model)}, T={s.T}", fontsize=10)
        ax.set_ylim(0, 1)
        ax.set_xlabel("time step t")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    return _save(fig, path)


def curriculum_flow(runs: list, path: Path) -> Path:
    """The exact ||dL/dh_t|| at the target length T on one fixed batch, at initialisation, at each
    switch of the curriculum (when a shorter length was passed) and at the end, one panel per
    (task, model) of the curriculum runs that recorded them."""
    plt = _plt()
    sel = [r for r in runs if r.curriculum and r.curriculum.get("flow_at_switch") is not None and r.flow_init]
    cols = 3
    nrows = max(1, -(-len(sel) // cols))
    fig, axes = plt.subplots(nrows, cols, figsize=(6 * cols, 4.2 * nrows), squeeze=False)
    cmap = plt.get_cmap("viridis")
    for ax, r in zip(axes.flat, sel):
        s = r.spec
        switches = r.curriculum["flow_at_switch"]
        ax.plot(r.flow_init["h"], color="k", ls=":", label="init")
        for i, f in enumerate(switches):
            ax.plot(f["h"], color=cmap(i / max(1, len(switches))), label=f"T={f['length']} passed (update {f['update']})")
        ax.plot(r.flow_final["h"], color="C3", ls="--",
                label=f"end (update {r.updates}, {'passed' if r.succeeded else 'failed'} T={s.T})")
        ax.set_yscale("log")
        ax.set_xlabel(f"time step t of a length-{s.T} batch (loss at the last step)")
        ax.set_ylabel("||dL/dh_t||")
        ax.set_title(f"{s.task}, {model_label(*s.model)}, T={s.T}, seed {s.seed}", fontsize=10)
        ax.legend(fontsize=6)
        ax.grid(alpha=0.3)
    if not sel:
        axes[0, 0].text(0.5, 0.5, "no curriculum run recorded gradient profiles", ha="center", va="center")
    for ax in list(axes.flat)[max(1, len(sel)):]:
        ax.axis("off")
    return _save(fig, path)


def adding_curves(runs: list, path: Path) -> Path:
    """The adding problem: training MSE per update (a running mean over 50 updates) of every run,
    one panel per T, against the best constant (MSE 1/6) and the success threshold."""
    plt = _plt()
    Ts = sorted({r.spec.T for r in runs})
    fig, axes = plt.subplots(1, len(Ts), figsize=(7 * len(Ts), 4.5), squeeze=False)
    models = list(dict.fromkeys(r.spec.model for r in runs))
    for ax, T in zip(axes[0], Ts):
        labelled: set = set()
        for r in (r for r in runs if r.spec.T == T and r.history):
            loss = np.asarray(r.history["loss"], dtype=float)
            w = min(50, len(loss))
            smooth = np.convolve(loss, np.ones(w) / w, mode="valid")
            i = models.index(r.spec.model)
            ax.plot(np.arange(len(smooth)) + w, smooth, color=f"C{i}", lw=1, alpha=0.8,
                    label=None if r.spec.model in labelled else model_label(*r.spec.model))
            labelled.add(r.spec.model)
        ax.axhline(get_task("adding")[1].chance, color="r", ls="--", lw=1, label="best constant (1/6)")
        if runs:
            ax.axhline(runs[0].spec.success_mse, color="g", ls="--", lw=1, label="success threshold")
        ax.set_yscale("log")
        ax.set_xlabel("update (batch of %d sequences)" % runs[0].spec.batch if runs else "update")
        ax.set_ylabel("training MSE (running mean of 50 updates)")
        ax.set_title(f"adding problem, T = {T}")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7)
    return _save(fig, path)


def updates_to_success(runs: list, path: Path) -> Path:
    """The update at which each curriculum run succeeded, one row per (model, budget), a dot per
    success (the median a bar), the failures counted at the budget's line: where successes crowd."""
    plt = _plt()
    groups: dict = {}
    for r in sorted(runs, key=lambda r: (model_order(r.spec.model), r.spec.updates)):
        groups.setdefault((r.spec.model, r.spec.updates), []).append(r)
    fig, ax = plt.subplots(figsize=(11, 0.55 * len(groups) + 1.6))
    jitter = np.random.default_rng(0)
    colors: dict = {}                                            # one colour per model, whatever its budget
    for row, ((model, budget), rs) in enumerate(groups.items()):
        color = colors.setdefault(model, f"C{len(colors) % 10}")
        ups = np.array([r.updates_to_success or r.updates for r in rs if r.succeeded], dtype=float)   # or at the budget's test
        ax.scatter(ups, row + jitter.uniform(-0.18, 0.18, len(ups)), s=14, color=color, alpha=0.7)
        if len(ups):
            ax.plot([np.median(ups)] * 2, [row - 0.3, row + 0.3], color=color, lw=2)
        fails = len(rs) - len(ups)
        ax.plot([budget] * 2, [row - 0.4, row + 0.4], color="k", lw=1)
        ax.annotate(f"{len(ups)}/{len(rs)}" + (f"  ({fails} failed)" if fails else ""), (budget, row),
                    xytext=(6, -4), textcoords="offset points", fontsize=8)
    ax.set_yticks(range(len(groups)), [f"{model_label(*m)}, {b} updates" for m, b in groups])
    ax.invert_yaxis()
    ax.set_xlim(0, max((b for _, b in groups), default=1) * 1.22)
    ax.set_xlabel("update at which the run succeeded (dots; bar: median; black line: the budget)")
    ax.grid(alpha=0.3, axis="x")
    ax.set_title("Updates to success through the curriculum")
    return _save(fig, path)
