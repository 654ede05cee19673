"""Results files and the markdown report of `scratch-rnn reproduce`."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from .specs import RUNAWAY_FACTOR
from .stats import comparisons, group_runs, model_label, notebook_flow_runs, wilson


def study_summary(runs: list, failures=()) -> list[dict]:
    """One row per (task, model, T): successes, Wilson interval, updates to success, and the mean
    final test metric (accuracy, or MSE for a regression task; the other column is None) of the
    runs that trained; `failed` counts the runs of that cell that raised (`failures`: (spec, failure)
    pairs from the store), which are in no other column."""
    failed: dict = {}
    for spec, _ in failures:
        key = (spec.task, *spec.model, spec.T)
        failed[key] = failed.get(key, 0) + 1
    rows = []
    for task in dict.fromkeys(r.spec.task for r in runs):
        for (cell, init), by_T in group_runs([r for r in runs if r.spec.task == task]).items():
            for T in sorted(by_T):
                rs = by_T[T]
                k = sum(r.succeeded for r in rs)
                lo, hi = wilson(k, len(rs))
                ups = [r.updates_to_success for r in rs if r.updates_to_success is not None]
                mean = float(np.mean([r.final_metric for r in rs]))
                regression = rs[0].spec.regression
                rows.append({"task": task, "cell": cell, "init": init, "T": T, "runs": len(rs), "successes": k,
                             "success_rate": k / len(rs), "wilson_lo": lo, "wilson_hi": hi,
                             "median_updates_to_success": float(np.median(ups)) if ups else None,
                             "mean_final_accuracy": None if regression else mean,
                             "mean_final_mse": mean if regression else None,
                             "diverged": sum(r.diverged is not None for r in rs),
                             "runaway": sum(r.runaway_at is not None for r in rs),
                             "failed": failed.get((task, cell, init, T), 0)})
    return rows


def notebook_summary(runs: list) -> list[dict]:
    """Mean, sd and best test accuracy per (experiment, cell, T) of the notebook protocol."""
    rows = []
    for exp, name in (("notebook", "exp1-2"), ("notebook_sweep", "exp3")):
        sel = [r for r in runs if r.spec.experiment == exp]
        for cell in ("rnn", "lstm"):
            for T in sorted({r.spec.T for r in sel}):
                acc = [r.final_accuracy for r in sel if r.spec.cell == cell and r.spec.T == T]
                if acc:
                    rows.append({"experiment": name, "cell": cell, "T": T, "seeds": len(acc), "mean_accuracy": float(np.mean(acc)),
                                 "sd_accuracy": float(np.std(acc, ddof=1)) if len(acc) > 1 else 0.0,
                                 "max_accuracy": float(np.max(acc))})
    return rows


def write_csv(rows: list[dict], path: Path) -> Path:
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def write_json(obj, path: Path) -> Path:
    path.write_text(json.dumps(obj, default=float))
    return path


def _table(summary: list[dict], task: str) -> str:
    rows = [r for r in summary if r["task"] == task]
    Ts = sorted({r["T"] for r in rows})
    models = list(dict.fromkeys((r["cell"], r["init"]) for r in rows))
    by = {(r["cell"], r["init"], r["T"]): r for r in rows}
    out = ["| model | " + " | ".join(f"T={T}" for T in Ts) + " |", "|---|" + "---|" * len(Ts)]
    for m in models:
        cells = []
        for T in Ts:
            r = by.get((*m, T))
            if r is None:
                cells.append("")
                continue
            med = r["median_updates_to_success"]
            metric = (f" MSE {r['mean_final_mse']:.3g}" if r["mean_final_mse"] is not None
                      else f" acc {r['mean_final_accuracy']:.2f}")
            cells.append(f"{r['successes']}/{r['runs']}" + (f" ({med:.0f})" if med is not None else "")
                         + (metric if r["successes"] < r["runs"] else ""))
        out.append(f"| {model_label(*m)} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def _tests_table(tests: list[dict]) -> list[str]:
    """Fisher's exact test of each model against the reference model, one column per length."""
    if not tests:
        return []
    Ts = sorted({t["T"] for t in tests})
    by = {(t["model"], t["T"]): t for t in tests}
    lines = [f"Fisher's exact test against {tests[0]['reference']} (two-sided p; successes/runs of both):", "",
             "| model | " + " | ".join(f"T={T}" for T in Ts) + " |", "|---|" + "---|" * len(Ts)]
    for model in dict.fromkeys(t["model"] for t in tests):
        cells = [f"{by[model, T]['fisher_p']:.2g} ({by[model, T]['successes']}/{by[model, T]['runs']} vs "
                 f"{by[model, T]['reference_successes']}/{by[model, T]['reference_runs']})"
                 if (model, T) in by else "" for T in Ts]
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    return lines + [""]


def _flow_lines(runs: list) -> list[str]:
    lines = []
    for r in runs:
        if not r.flow_init:
            continue
        s = r.spec
        parts = []
        for when in ("flow_init", "flow_final"):
            f = getattr(r, when)
            h = np.asarray(f["h"])
            ratio = h[0] / h[-1] if h[-1] > 0 else float("nan")
            extra = f", mean forget gate {np.mean(f['gates']['forget']):.3f}" if "gates" in f else ""
            parts.append(f"{'init' if when == 'flow_init' else 'trained'}: ||dL/dh_0|| / ||dL/dh_T-1|| = {ratio:.1e}{extra}")
        lines.append(f"- {s.task}, {model_label(*s.model)}, T={s.T} (final {'MSE' if s.regression else 'accuracy'} "
                     f"{r.final_metric:.3f}): " + "; ".join(parts))
    return lines


def write_report(out: Path, nb_runs: list, study_runs: list, protocol: dict, notebook: dict,
                 meta: dict, figures: dict, failures=()) -> Path:
    """report.md: the tables, the figures and the facts computed from the runs."""
    nb = {(r["experiment"], r["cell"], r["T"]): r for r in notebook_summary(nb_runs)}
    summary = study_summary(study_runs, [f for f in failures if f[0].experiment == "study"])

    def acc(exp, cell, T):
        r = nb.get((exp, cell, T))
        return f"{r['mean_accuracy']:.3f} ± {r['sd_accuracy']:.3f} (best {r['max_accuracy']:.3f}, {r['seeds']} seeds)" if r else "n/a"

    flows = notebook_flow_runs(nb_runs)
    md = [f"# RNN vs LSTM on temporal XOR: reproduction report ({meta['engine']} engine)", "",
          f"Command: `{meta['command_line']}`  ",
          (f"Wall time of this invocation: {meta['seconds'] / 60:.1f} min on {meta['workers']} worker process(es). "
           if meta.get("seconds") is not None else "Rebuilt from the run store. ")
          + f"Versions: {json.dumps(meta['versions'])}.", ""]
    if failures:
        md += [f"**{len(failures)} runs failed** and are in no table below (`--retry-failed` reruns them):", ""]
        md += [f"- {s.experiment} {s.task} {model_label(*s.model)} T={s.T} seed {s.seed}: {f['type']}: "
               f"{f['message']}" for s, f in failures] + [""]
    md += [
          "## 1. The notebook's protocol, as written", "",
          f"Hidden {notebook['hidden']}, Adam lr {notebook['lr']}, batch {notebook['batch']}, no clipping, "
          f"{notebook['dtype']}, PyTorch's default initialisation; {notebook['updates']} updates at T = 10 and "
          f"T = 100, {notebook['sweep_updates']} updates per length in the sweep; test accuracy on "
          f"{notebook['eval_n']} fresh sequences. Repeated over seeds (the notebook ran one).", "",
          "| | notebook's claim | measured test accuracy |", "|---|---|---|",
          f"| RNN, T = 10 | learns | {acc('exp1-2', 'rnn', 10)} |",
          f"| LSTM, T = 10 | learns | {acc('exp1-2', 'lstm', 10)} |",
          f"| RNN, T = 100 | ~0.5 (fails) | {acc('exp1-2', 'rnn', 100)} |",
          f"| LSTM, T = 100 | 0.95+ | {acc('exp1-2', 'lstm', 100)} |", "",
          f"![notebook panel]({figures['notebook_panel']})", "",
          "Sweep (experiment 3): mean test accuracy per length:", "",
          "| T | " + " | ".join(str(T) for T in notebook["lengths"]) + " |", "|---|" + "---|" * len(notebook["lengths"])]
    for cell in ("rnn", "lstm"):
        md.append(f"| {cell.upper()} | " + " | ".join(
            f"{nb[('exp3', cell, T)]['mean_accuracy']:.2f}" if ("exp3", cell, T) in nb else "" for T in notebook["lengths"]) + " |")
    md += ["", f"![notebook sweep]({figures['notebook_sweep']})", "",
           "The notebook's gradient-flow cell plots ||d sum(h_t) / d params|| against t. That is how much the "
           "parameters move h_t, not the gradient that flows from the loss back to step t. It is dominated by "
           "the few steps just before t, which every t has, so it is flat in t whatever happens to gradients "
           "travelling backwards; the exact ||dL/dh_t|| of the loss on the same sequence is drawn beside it:", ""]
    for cell, r in flows.items():
        nm, ex = np.asarray(r.notebook_flow), np.asarray(r.notebook_flow_exact)
        md.append(f"- {cell.upper()}: notebook metric first/last step = {nm[0] / nm[-1]:.2e}; exact "
                  f"||dL/dh_0|| / ||dL/dh_T-1|| = {ex[0] / ex[-1]:.2e}")
    md += ["", f"![notebook gradient flow]({figures['notebook_gradflow']})", "",
           "## 2. The calibrated study", "",
           f"Protocol: hidden {protocol['hidden']}, Adam lr {protocol['lr']} (the notebook's), batch "
           f"{protocol['batch']}, global-norm clipping at {protocol['clip']}, {protocol['dtype']}, at most "
           f"{protocol['updates']} updates, a screen on {protocol['screen_n']} fresh sequences every "
           f"{protocol['eval_every']} updates that stops a run once it meets the success threshold. Success = "
           f"accuracy >= {protocol['success_accuracy']} (MSE <= {protocol['success_mse']} for a regression task) on "
           f"{protocol['eval_n']} further fresh sequences. {protocol['seeds']} "
           "seeds per cell of the grid. Only the budget and clipping differ from the notebook: 100 updates "
           "cannot solve even T = 10, and clipping keeps the occasional exploding update of a recurrent net "
           "from ending a run. The chrono initialisation uses t_max = T.", "",
           "Cells: successes/runs (median updates to success among successes); where not every run succeeded, "
           "the mean final accuracy of all runs. Runs stopped by a NaN or inf: "
           f"{sum(r['diverged'] for r in summary)}; runs whose training loss climbed above {RUNAWAY_FACTOR:g} times "
           f"its first value (flagged, not stopped): {sum(r['runaway'] for r in summary)}.", ""]
    tests = comparisons(summary)
    for task in dict.fromkeys(r["task"] for r in summary):
        md += [f"### Task: {task}", "", _table(summary, task), "", f"![success {task}]({figures['success_' + task]})", ""]
        md += _tests_table([t for t in tests if t["task"] == task])
    md += ["## 3. Gradient flow, exactly", "",
           "||dL/dh_t|| and ||dL/dc_t|| from the hand-written BPTT on a fixed batch, at initialisation and "
           "after training, with the product-of-Jacobian-norms bound (RNN) and the cell-path term "
           "dL/dc_T-1 * prod f (LSTM). Ratios of the first to the last step:", ""]
    md += _flow_lines(study_runs)
    md += ["", f"![gradient flow]({figures['gradient_flow']})", "", f"![gates]({figures['gates']})", ""]
    path = out / "report.md"
    path.write_text("\n".join(md) + "\n")
    return path
