"""``scratch-rnn power``: the study's curriculum comparisons with the seeds they need.

At n = 10 seeds per cell, Fisher's test cannot tell a rate of 0.7 from 1.0 (`power`), so the study's
statements that one model "does not beat" another rested on nothing. This command runs temporal XOR
through the curriculum to T = 100 with 30 seeds for each model of `POWERED["models"]` (the study's
first 10 are among them: the same specs, the same numbers) and, for the models named in
``POWERED["budgets"]``, again with a larger budget; then every pairwise comparison at the study's
budget, each model's larger budget against its study budget, and the distribution of the updates at
which the successes came (`plots.updates_to_success`).

A run with the larger budget is the run with the study's budget continued: same seed, same weights,
same batches, identical for the first `updates` updates. So the two budgets are paired, and the
comparison that fits them counts the runs that failed at the smaller budget and succeeded at the
larger (an exact sign test of those against the reverse, which cannot happen), beside Fisher's test
as if the samples were independent.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .._files import atomic_write, write_csv, write_json
from ..runs import run_experiment
from . import plots
from . import specs as sp
from .records import decode_line, stored_runs
from .runner import TIMING, run_one_safe
from .stats import ALPHA, POWER, detectable, detectable_text, fisher_p, model_label, model_order, wilson

POWERED = {"task": "xor", "T": 100, "seeds": 30,
           "models": (("rnn", "orthogonal"), ("lstm", "pytorch"), ("lstm", "forget_bias"), ("lstm", "chrono"),
                      ("gru", "pytorch")),
           "budgets": {6000: (("lstm", "pytorch"), ("lstm", "forget_bias"))}}
QUICK_POWERED = {"task": "xor", "T": 20, "seeds": 3, "models": (("rnn", "orthogonal"), ("lstm", "chrono")),
                 "budgets": {400: (("lstm", "chrono"),)}, "quick": True}


def powered_specs(proto: dict, study: dict = sp.STUDY, engine: str = "scratch", device: str = "cpu",
                  backend: str = "numba", first_seed: int = 0) -> list[sp.RunSpec]:
    """The curriculum runs at the study's budget for every model, then at each larger budget."""
    specs = []
    for budget, models in [(study["updates"], proto["models"]), *proto["budgets"].items()]:
        specs += sp.study_specs(engine, {**study, "updates": budget, "flow_lengths": ()}, device, tasks=[proto["task"]],
                                models=models, lengths=[proto["T"]], seeds=proto["seeds"], first_seed=first_seed,
                                backend=backend, arm="curriculum")
    return specs


def success_update(record) -> int:
    """The update at which a run succeeded: where it stopped early, or, for a run whose success came at
    the final test without a screen at T passing first (its curriculum had not reached T), its budget."""
    return record.updates_to_success if record.updates_to_success is not None else record.updates


def summary_rows(runs: list) -> list[dict]:
    """One row per (model, budget): successes, Wilson interval, updates to success, how many runs
    never passed the curriculum's first length, how many successes came in the budget's last tenth."""
    rows = []
    groups: dict = {}
    for r in runs:
        groups.setdefault(((r.spec.cell, r.spec.init), r.spec.updates), []).append(r)
    for ((cell, init), budget), rs in sorted(groups.items(), key=lambda g: (model_order(g[0][0]), g[0][1])):
        k, n = sum(r.succeeded for r in rs), len(rs)
        lo, hi = wilson(k, n)
        ups = sorted(success_update(r) for r in rs if r.succeeded)
        rows.append({"model": model_label(cell, init), "cell": cell, "init": init, "budget": budget, "runs": n,
                     "successes": k, "success_rate": k / n, "wilson_lo": lo, "wilson_hi": hi,
                     "median_updates_to_success": float(np.median(ups)) if ups else None,
                     "max_updates_to_success": max(ups) if ups else None,
                     "successes_in_last_tenth": sum(u > 0.9 * budget for u in ups),
                     "never_passed_first_length": sum(not (r.curriculum or {}).get("passed") for r in rs)})
    return rows


def _compare(a: dict, b: dict, comparison: str) -> dict:
    p = fisher_p(a["successes"], a["runs"], b["successes"], b["runs"])
    d = detectable(b["successes"], b["runs"], a["runs"])
    return {"comparison": comparison, "model": a["model"], "budget": a["budget"], "reference": b["model"],
            "reference_budget": b["budget"], "successes": a["successes"], "runs": a["runs"],
            "reference_successes": b["successes"], "reference_runs": b["runs"], "fisher_p": p,
            "separated": p <= ALPHA, "detectable_up": d["up"], "detectable_down": d["down"]}


def comparison_rows(summary: list[dict], runs: list) -> list[dict]:
    """Every pair of models at the study's budget (Fisher, with what it could detect), and each
    larger budget against the study's budget, paired run for run (`paired_budget`)."""
    base = min(r["budget"] for r in summary)
    at_base = [r for r in summary if r["budget"] == base]
    unpaired = {"paired_seeds": None, "gained": None, "lost": None, "sign_test_p": None}
    rows = [{**_compare(a, b, "model vs model"), **unpaired} for i, a in enumerate(at_base) for b in at_base[i + 1:]]
    for r in summary:
        if r["budget"] != base:
            ref = next(b for b in at_base if (b["cell"], b["init"]) == (r["cell"], r["init"]))
            rows.append({**_compare(r, ref, "budget vs study budget"), **paired_budget(runs, r, ref)})
    return rows


def paired_budget(runs: list, more: dict, less: dict) -> dict:
    """The same seeds at two budgets: runs that succeeded only with the larger budget, only with the
    smaller, and the exact two-sided sign test of those counts."""
    from scipy.stats import binomtest
    def outcome(row):
        return {r.spec.seed: r.succeeded for r in runs if (r.spec.cell, r.spec.init, r.spec.updates)
                == (row["cell"], row["init"], row["budget"])}
    a, b = outcome(more), outcome(less)
    seeds = sorted(set(a) & set(b))
    gained, lost = sum(a[s] and not b[s] for s in seeds), sum(b[s] and not a[s] for s in seeds)
    p = binomtest(gained, gained + lost).pvalue if gained + lost else 1.0
    return {"paired_seeds": len(seeds), "gained": gained, "lost": lost, "sign_test_p": float(p)}


def markdown(summary: list[dict], tests: list[dict], meta: dict, figure: str | None) -> str:
    """power.md: the table, every comparison in words, the figure."""
    md = [f"# Curriculum comparisons with {meta['protocol']['seeds']} seeds per model", "",
          f"Temporal XOR through the curriculum to T = {meta['protocol']['T']}; success = accuracy >= 0.99 on 1000 "
          f"fresh sequences. Fisher's exact test, two-sided, alpha {ALPHA:g}; where it does not reject, the smallest "
          f"increase/decrease over the reference's observed rate it detects with power {POWER:g} at these n.", "",
          "| model | budget | successes/runs [Wilson 95%] | median updates to success | successes in the budget's "
          "last tenth | never passed T = 10 |", "|---|---|---|---|---|---|"]
    if meta["protocol"].get("quick"):
        md[2:2] = ["**A smoke run (`--quick`)**: a few seeds and a short budget at T = 20, to check the pipeline; its "
                   "numbers are no comparison. The comparisons are the same command without `--quick`.", ""]
    for r in summary:
        med = "" if r["median_updates_to_success"] is None else f"{r['median_updates_to_success']:.0f}"
        md.append(f"| {r['model']} | {r['budget']} | {r['successes']}/{r['runs']} [{r['wilson_lo']:.2f}, "
                  f"{r['wilson_hi']:.2f}] | {med} | {r['successes_in_last_tenth']} | {r['never_passed_first_length']} |")
    md += ["", "## Comparisons", ""]
    for t in tests:
        head = (f"- {t['model']} ({t['budget']} updates) vs {t['reference']} ({t['reference_budget']}): "
                f"{t['successes']}/{t['runs']} vs {t['reference_successes']}/{t['reference_runs']}, Fisher p = "
                f"{t['fisher_p']:.2g}")
        if not t["separated"]:
            head += (f": not separated with {t['runs']} seeds per cell (it detects "
                     f"{detectable_text(t['detectable_up'], t['detectable_down'])} from the reference's rate)")
        if t["gained"] is not None:
            head += (f"; paired by seed: {t['gained']} runs succeeded only with the larger budget, {t['lost']} only "
                     f"with the smaller (sign test p = {t['sign_test_p']:.2g})")
        md.append(head)
    if figure:
        md += ["", f"![updates to success]({figure})"]
    return "\n".join(md) + "\n"


def powered(out: Path, quick: bool = False, seed: int = 0, engine: str = "scratch", device: str = "cpu",
            backend: str = "numba", figures: Path | None = None, timing=TIMING, **run) -> dict:
    """Run (or resume) the powered comparisons into the store in `out`; write power_summary.csv,
    power_comparisons.csv, power_runs.csv, power.md and updates_to_success.png there (the figure
    copied into `figures` too when given)."""
    sp.check_engine(engine, device, backend)
    proto, study = (QUICK_POWERED, sp.QUICK) if quick else (POWERED, sp.STUDY)
    specs = powered_specs(proto, study, engine, device, backend, seed)
    return run_experiment(out, {"command": "power", "protocol": proto, "study": study}, specs, run_one_safe,
                          build_powered, run, {"engine": engine, "backend": backend, "device": device, "seed": seed},
                          figures, ("figure",), stored=stored_runs, decode_line=decode_line,
                          timing=timing)


def build_powered(out: Path, runs: list, failures: list, meta: dict) -> dict:
    summary = summary_rows(runs)
    tests = comparison_rows(summary, runs) if summary else []
    files = {"summary": write_csv(summary, out / "power_summary.csv")} if summary else {}
    if tests:
        files["comparisons"] = write_csv(tests, out / "power_comparisons.csv")
    per_run = [{"model": model_label(r.spec.cell, r.spec.init), "budget": r.spec.updates, "seed": r.spec.seed,
                "succeeded": r.succeeded, "updates_to_success": success_update(r) if r.succeeded else None,
                "stopped_early": r.updates_to_success is not None, "updates": r.updates,
                "final_accuracy": r.final_accuracy,
                "lengths_passed": " ".join(str(L) for L, _ in (r.curriculum or {}).get("passed", []))} for r in runs]
    if per_run:
        files["runs"] = write_csv(per_run, out / "power_runs.csv")
    write_json({"meta": meta, "summary": summary, "comparisons": tests}, out / "power.json")
    figure = plots.updates_to_success(runs, out / "updates_to_success.png") if runs else None
    if figure is not None:
        files["figure"] = figure
    files["report"] = out / "power.md"
    atomic_write(files["report"], markdown(summary, tests, meta, figure.name if figure else None))
    return {"power_summary": summary, "comparisons": tests, "files": files, "figure": figure, "failures": failures}
