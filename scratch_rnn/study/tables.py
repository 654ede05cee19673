"""The study's results as rows: the summary per cell, the notebook's summary, the robustness
agreement (`report` turns them into markdown; `scratch_rnn._files` writes them)."""
from __future__ import annotations

import numpy as np

from .stats import group_runs, model_label, wilson


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
                rows.append({"task": task, "cell": cell, "init": init, "arm": rs[0].spec.arm, "T": T, "runs": len(rs),
                             "successes": k,
                             "success_rate": k / len(rs), "wilson_lo": lo, "wilson_hi": hi,
                             "median_updates_to_success": float(np.median(ups)) if ups else None,
                             "mean_final_accuracy": None if regression else mean,
                             "mean_final_mse": mean if regression else None,
                             "diverged": sum(r.diverged is not None for r in rs),
                             "runaway": sum(r.runaway_at is not None for r in rs),
                             "near_miss_runs": sum(bool(r.near_misses) for r in rs),
                             "near_miss_then_success": sum(bool(r.near_misses) and r.succeeded for r in rs),
                             "forgot_shorter": sum(forgot_shorter(r) for r in rs if r.succeeded) if rs[0].spec.arm == "curriculum"
                             else None,
                             "failed": failed.get((task, cell, init, T), 0)})
    return rows


def forgot_shorter(r) -> bool:
    """Whether a curriculum run, at the end, fails the success threshold at a length it passed earlier."""
    return any(not r.spec.passes(v) for v in (r.curriculum or {}).get("final_by_length", {}).values())


def robustness_rows(parts: dict) -> list[dict]:
    """Per robustness variant ("dtype", "engine") and per cell of the sample (and "all"): the
    matched runs, how many agree on success with the study's own runs, and the successes of each."""
    from .stats import agreement
    rows = []
    for variant in ("dtype", "engine"):
        runs = parts.get(variant, [])
        if not runs:
            continue
        label = (f"{runs[0].spec.dtype}" if variant == "dtype" else f"{runs[0].spec.engine} engine")
        cells = list(dict.fromkeys((r.spec.task, r.spec.model, r.spec.T) for r in runs))
        for cell in cells + ["all"]:
            sel = [r for r in runs if cell == "all" or (r.spec.task, r.spec.model, r.spec.T) == cell]
            a = agreement(parts["main"], sel)                    # pairs matched by (task, model, T, seed)
            rows.append({"variant": label, "task": "all" if cell == "all" else cell[0],
                         "model": "all" if cell == "all" else model_label(*cell[1]), "T": "all" if cell == "all" else cell[2],
                         "pairs": a["pairs"], "agree": a["agree"], "agreement": a["fraction"],
                         "study_successes": a["both_succeed"] + a["main_only"],
                         "variant_successes": a["both_succeed"] + a["other_only"],
                         "study_only": a["main_only"], "variant_only": a["other_only"]})
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


def format_summary(rows) -> str:
    """`study_summary` rows as the fixed-width table the commands print."""
    lines = [f"{'task':<10}{'model':<26}{'T':>5}  {'success':>8}  {'95% CI':>13}  {'median updates':>14}  {'acc/MSE':>8}"]
    for r in rows:
        med = "" if r["median_updates_to_success"] is None else f"{r['median_updates_to_success']:.0f}"
        metric = r["mean_final_accuracy"] if r["mean_final_mse"] is None else r["mean_final_mse"]
        lines.append(f"{r['task']:<10}{model_label(r['cell'], r['init']):<26}{r['T']:>5}  {r['successes']:>3}/{r['runs']:<4}"
                     f"  [{r['wilson_lo']:.2f}, {r['wilson_hi']:.2f}]  {med:>14}  {metric:>8.3f}")
    return "\n".join(lines)
