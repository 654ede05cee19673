"""The markdown report of `scratch-rnn reproduce` (its rows come from `tables`)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .specs import CURRICULUM, RUNAWAY_FACTOR
from .._files import atomic_write
from .stats import ALPHA, POWER, comparisons, detectable_text, model_label, notebook_flow_runs
from .tables import forgot_shorter, notebook_summary, robustness_rows, study_summary


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


def _headline(summary: list[dict], task: str, lengths) -> list[str]:
    """successes/runs [Wilson 95%] per model and arm at the headline lengths."""
    rows = [r for r in summary if r["task"] == task and r["T"] in lengths]
    Ts = sorted({r["T"] for r in rows})
    by = {(r["cell"], r["init"], r["T"]): r for r in rows}
    models = sorted(dict.fromkeys((r["cell"], r["init"]) for r in rows), key=lambda m: "+" in m[1])  # direct first
    out = ["| model | arm | " + " | ".join(f"T={T}" for T in Ts) + " |", "|---|---|" + "---|" * len(Ts)]
    for cell, init in models:
        base, _, arm = init.partition("+")
        cells = [f"{by[cell, init, T]['successes']}/{by[cell, init, T]['runs']} "
                 f"[{by[cell, init, T]['wilson_lo']:.2f}, {by[cell, init, T]['wilson_hi']:.2f}]"
                 if (cell, init, T) in by else "" for T in Ts]
        out.append(f"| {model_label(cell, base)} | {arm or 'direct'} | " + " | ".join(cells) + " |")
    return out + [""]


def _curriculum_lines(runs: list) -> list[str]:
    """When each length was passed (median update over the runs that passed it) and what the
    successful runs still solve at the shorter lengths."""
    cur = [r for r in runs if r.spec.arm == "curriculum" and r.curriculum]
    if not cur:
        return []
    out = ["| task | model | T | successes | median update at which each length was passed | successes that "
           "fail a shorter length at the end | lowest final metric at a shorter length (successes) |",
           "|---|---|---|---|---|---|---|"]
    for key in dict.fromkeys((r.spec.task, r.spec.model, r.spec.T) for r in cur):
        rs = [r for r in cur if (r.spec.task, r.spec.model, r.spec.T) == key]
        passed: dict = {}
        for r in rs:
            for L, u in r.curriculum["passed"]:
                passed.setdefault(L, []).append(u)
            if r.updates_to_success is not None:
                passed.setdefault(key[2], []).append(r.updates_to_success)
        when = ", ".join(f"{L}: {np.median(u):.0f} ({len(u)})" for L, u in sorted(passed.items()))
        ok = [r for r in rs if r.succeeded]
        worst = [min(r.curriculum["final_by_length"].values()) for r in ok if r.curriculum["final_by_length"]]
        metric = ("MSE" if rs[0].spec.regression else "accuracy")
        out.append(f"| {key[0]} | {model_label(*key[1])} | {key[2]} | {len(ok)}/{len(rs)} | {when or '-'} | "
                   f"{sum(forgot_shorter(r) for r in ok)}/{len(ok)} | "
                   + (f"{metric} {min(worst):.3f}" if worst else "-") + " |")
    return out + ["", "(length: median update (runs that passed it))", ""]


#: the published adding-problem results the study sets its LSTM beside (what was measured, and how
#: their setup differs from this study's)
ADDING_PAPERS = [
    ("Hochreiter & Schmidhuber 1997, Table 7",
     "T = 100: 74,000 training sequences to the stopping criterion (T = 500: 209,000; T = 1000: 853,000)",
     "values in [-1, 1], target 0.5 + (X1 + X2) / 4 (errors a quarter of ours), the first marker among the first "
     "ten steps, lengths from T to T + T/10, a small LSTM without forget gates trained one sequence at a time; "
     "stopped when the mean training error is below 0.01 and the last 2000 sequences all have an absolute "
     "error below 0.04"),
    ("Le, Jaitly & Hinton 2015, Figure 2",
     "learning curves (test MSE against training steps) at T = 150, 200, 300 and 400 for the LSTM, the IRNN "
     "and tanh RNNs; no count of sequences to a threshold",
     "the task in the form used here (values U(0, 1), two marked steps); SGD with gradient clipping, a fixed "
     "training set; compare the order of magnitude of the steps only"),
    ("Arjovsky, Shah & Bengio 2016, Figure 2",
     "learning curves (test MSE against training iterations) at T = 100, 200, 400 and 750 for the LSTM, the "
     "uRNN and tanh/IRNN baselines; no count of sequences to a threshold",
     "the same task as here; RMSProp and a different hidden size per model, a fixed training set; compare the "
     "order of magnitude of the iterations only"),
]


def _adding_lines(runs: list, summary: list[dict]) -> list[str]:
    rows = [r for r in summary if r["task"] == "adding"]
    if not rows:
        return []
    spec = runs[0].spec
    out = ["## 4. The adding problem, beside the published results", "",
           f"Two channels (values U(0, 1), a marker at one step of each half), target the sum of the two marked values; "
           f"hidden {spec.hidden}, Adam lr {spec.lr}, batch {spec.batch}, clipping at {spec.clip}, {spec.dtype}, at most "
           f"{spec.updates} updates (the LSTM needs several thousand at T = 100, more than the classification "
           f"budget); success = test MSE <= {spec.success_mse} on {spec.eval_n} fresh sequences, against 1/6 = 0.167 "
           "for the best constant (predicting 1).", "",
           "| model | T | successes/runs [Wilson 95%] | median updates to success | median training sequences | "
           "mean final test MSE |", "|---|---|---|---|---|---|"]
    for r in rows:
        med = r["median_updates_to_success"]
        out.append(f"| {model_label(r['cell'], r['init'])} | {r['T']} | {r['successes']}/{r['runs']} "
                   f"[{r['wilson_lo']:.2f}, {r['wilson_hi']:.2f}] | {'' if med is None else f'{med:.0f}'} | "
                   f"{'' if med is None else f'{med * spec.batch:,.0f}'} | {r['mean_final_mse']:.3g} |")
    out += ["", "Published figures (the setups differ; the differences are named):", ""]
    out += [f"- **{name}**: {result}. Setup: {setup}." for name, result, setup in ADDING_PAPERS]
    return out + [""]


def _gradratio_lines(out: Path) -> list[str]:
    path = out / "gradratios" / "gradratios.md"
    if not path.is_file():
        return []
    lines = path.read_text().splitlines()
    return ["### Gradient ratios at initialisation over many draws", "",
            lines[0].lstrip("# ") + " (`gradratios/`):", ""] + lines[2:] + [""]


def _power_lines(out: Path, figure: str | None) -> list[str]:
    path = out / "power" / "power.md"
    if not path.is_file():
        return []
    lines = [ln for ln in path.read_text().splitlines()[2:] if figure or "](updates_to_success.png)" not in ln]
    head = path.read_text().splitlines()[0].lstrip("# ")
    return [f"## 7. {head} (`power/`)", ""] + [ln.replace("](updates_to_success.png)", f"]({figure})") for ln in lines] + [""]


def write_report(out: Path, nb_runs: list, parts: dict, protocol: dict, notebook: dict,
                 meta: dict, figures: dict, failures=()) -> Path:
    """report.md: the tables, the figures and the facts computed from the runs (`parts`: the
    study's records split by `commands.split_study`)."""
    nb = {(r["experiment"], r["cell"], r["T"]): r for r in notebook_summary(nb_runs)}
    main = parts["main"]
    study_failures = [f for f in failures if f[0].experiment == "study"]
    summary = study_summary(main, study_failures)

    def acc(exp, cell, T):
        r = nb.get((exp, cell, T))
        return f"{r['mean_accuracy']:.3f} ± {r['sd_accuracy']:.3f} (best {r['max_accuracy']:.3f}, {r['seeds']} seeds)" if r else "n/a"

    flows = notebook_flow_runs(nb_runs)
    md = [f"# RNN vs LSTM on temporal XOR: reproduction report ({meta['engine']} engine)", "",
          f"Command: `{meta['command_line']}`  ",
          (f"Wall time of this invocation: {meta['seconds'] / 60:.1f} min on {meta['workers']} worker process(es). "
           if meta.get("seconds") is not None else "Rebuilt from the run store. ")
          + f"Versions: {json.dumps(meta['versions'])}.", ""]
    if notebook.get("quick") or protocol.get("quick"):
        md += ["**A smoke run (`--quick`)**: tiny budgets and few seeds, to check that every step of the pipeline "
               "runs and writes its files. Its numbers say nothing about RNNs or LSTMs; the study is the same command "
               "without `--quick`.", ""]
    if not nb_runs and not any(parts.values()):
        md += ["**No run has finished yet**: the store was interrupted before its first run was stored, so every "
               "table below is empty. Run the same command again to resume.", ""]
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
    near = sum(r["near_miss_runs"] for r in summary)
    md += ["", f"![notebook gradient flow]({figures['notebook_gradflow']})", "",
           "## 2. The calibrated study: protocol and arms", "",
           f"Hidden {protocol['hidden']}, Adam lr {protocol['lr']} (the notebook's), batch "
           f"{protocol['batch']}, global-norm clipping at {protocol['clip']}, {protocol['dtype']}, a screen on "
           f"{protocol['screen_n']} fresh sequences every {protocol['eval_every']} updates. When the screen at the "
           f"target length meets the success threshold (accuracy >= {protocol['success_accuracy']}), a test on "
           f"{protocol['eval_n']} further fresh sequences decides: the run stops as a success if the test passes too, "
           "and trains on otherwise (a near miss); at the end of the budget a last test decides. Only the budget and "
           "clipping differ from the notebook: 100 updates cannot solve even T = 10, and clipping keeps the "
           "occasional exploding update of a recurrent net from ending a run. The chrono initialisation uses "
           "t_max = T.", "",
           f"- **direct**: train at T from the start, at most {protocol['updates']} updates; every length "
           f"{', '.join(map(str, protocol['lengths']))} with {protocol['seeds']} seeds, and "
           f"{protocol['headline_seeds']} seeds at T = {', '.join(map(str, protocol['headline_lengths']))}.",
           f"- **curriculum**: the lengths {', '.join(map(str, sorted(set(CURRICULUM))))} below T, then T, moving on "
           f"at the first screen that passes, {protocol['updates']} updates in all (the same budget as direct, so the "
           f"two arms compare at equal cost in updates; a short update is cheaper); T = "
           f"{', '.join(map(str, protocol['curriculum_lengths']))} with {protocol['headline_seeds']} seeds.",
           "- **long** (a larger budget at the target length) is not part of `reproduce`: at T = 100 an LSTM "
           "update costs about 20 ms on one core, so 20000 updates are 7 minutes a run; "
           "`scratch-rnn sweep --updates 20000` runs it on a chosen grid.", "",
           f"Near misses (runs whose screen passed at T while the test did not): {near} runs, "
           f"{sum(r['near_miss_then_success'] for r in summary)} of them succeeded later. Runs stopped by a NaN or "
           f"inf: {sum(r['diverged'] for r in summary)}; runs whose training loss climbed above {RUNAWAY_FACTOR:g} "
           f"times its first value (flagged, not stopped): {sum(r['runaway'] for r in summary)}.", "",
           "### Headline: successes/runs [Wilson 95% interval]", ""]
    tasks = list(dict.fromkeys(r["task"] for r in summary))
    for task in tasks:
        md += [f"Task {task}:", ""] + _headline(summary, task, protocol["headline_lengths"])
    tests = comparisons(summary)
    md += ["## 3. Every length, by task", "",
           "Cells: successes/runs (median updates to success among successes); where not every run succeeded, "
           "the mean final accuracy of all runs. Below each table, Fisher's exact test (two-sided) of each "
           "comparison at each length.", ""]
    for task in tasks:
        md += [f"### Task: {task}", "", _table(summary, task), ""]
        if f"success_{task}" in figures:
            md += [f"![success {task}]({figures['success_' + task]})", ""]
        for kind in dict.fromkeys(t["comparison"] for t in tests):
            sel = [t for t in tests if t["task"] == task and t["comparison"] == kind]
            if sel:
                md += tests_table(sel, kind)
    md += ["### What the curriculum runs passed, and what they forgot", ""] + _curriculum_lines(main)
    adding = parts.get("adding", [])
    md += _adding_lines(adding, study_summary(adding)) if adding else []
    if "adding" in figures:
        md += [f"![adding]({figures['adding']})", ""]
    md += robustness_lines(robustness_rows(parts))
    md += ["## 6. Gradient flow, exactly", "",
           "||dL/dh_t|| and ||dL/dc_t|| from the hand-written BPTT on a fixed batch, at initialisation and "
           "after training (direct arm), with the product-of-Jacobian-norms bound (RNN) and the cell-path term "
           "dL/dc_T-1 * prod f (LSTM). Ratios of the first to the last step:", ""]
    md += _flow_lines([r for r in main if r.spec.arm == "direct"])
    md += ["", f"![gradient flow]({figures['gradient_flow']})", "", f"![gates]({figures['gates']})", "",
           "The same profile at T at each switch of a curriculum run (first seed):", "",
           f"![curriculum flow]({figures['curriculum_flow']})", ""]
    md += _gradratio_lines(out)
    if "gradratios" in figures:
        md += [f"![gradient ratios]({figures['gradratios']})", ""]
    md += _power_lines(out, figures.get("updates_to_success"))
    path = out / "report.md"
    atomic_write(path, "\n".join(md) + "\n")
    return path


# --- the statistical sections: Fisher's test of each comparison, the robustness reruns' agreement ---


def _test_cell(t: dict) -> str:
    ns = f"; n.s., detects {detectable_text(t['detectable_up'], t['detectable_down'])}" if t["fisher_p"] > ALPHA else ""
    return f"{t['fisher_p']:.2g} ({t['successes']}/{t['runs']} vs {t['reference_successes']}/{t['reference_runs']}{ns})"


def tests_table(tests: list[dict], kind: str = "vs reference") -> list[str]:
    """Fisher's exact test of one kind of comparison (`stats.comparisons`), one column per length."""
    if not tests:
        return []
    Ts = sorted({t["T"] for t in tests})
    by = {(t["model"], t["T"]): t for t in tests}
    against = {"vs reference": f"against {tests[0]['reference']}", "vs PyTorch init": "against the same cell with "
               "PyTorch's init"}.get(kind, "against the same model trained directly")
    lines = [f"Fisher's exact test {against} (two-sided p; successes/runs of both; where p > {ALPHA:g}, the smallest "
             "increase/decrease over the reference's rate that the test could have detected at these n, power "
             f"{POWER:g}: a difference smaller than that is not ruled out):", "",
             "| model | " + " | ".join(f"T={T}" for T in Ts) + " |", "|---|" + "---|" * len(Ts)]
    for model in dict.fromkeys(t["model"] for t in tests):
        cells = [_test_cell(by[model, T]) if (model, T) in by else "" for T in Ts]
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    return lines + [""]


def robustness_lines(rows: list[dict]) -> list[str]:
    if not rows:
        return []
    out = ["## 5. Robustness: do the outcomes survive another dtype and the other engine?", "",
           "The runs of the sample below were trained again from the same initial weights on the same batches, "
           "once in the other floating-point type and once on the other engine; a pair agrees when both runs "
           "succeed or both fail.", "",
           "| rerun in | task | model | T | pairs | agree | successes (study) | successes (rerun) |",
           "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r['variant']} | {r['task']} | {r['model']} | {r['T']} | {r['pairs']} | {r['agree']} "
                   f"({r['agreement']:.0%}) | {r['study_successes']} | {r['variant_successes']} |")
    return out + [""]
