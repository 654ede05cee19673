"""Small statistics for the study: Wilson intervals, Fisher's exact test (with what it can detect,
`power`), grouping, labels."""
from __future__ import annotations

import math

from .power import detectable

LABELS = {("rnn", "pytorch"): "RNN (PyTorch init)", ("rnn", "orthogonal"): "RNN (orthogonal W_hh)",
          ("rnn", "identity"): "RNN (identity W_hh)", ("lstm", "pytorch"): "LSTM (PyTorch init)",
          ("lstm", "forget_bias"): "LSTM (forget bias 1)", ("lstm", "chrono"): "LSTM (chrono init)",
          ("lstm", "orthogonal"): "LSTM (orthogonal W_hh)",
          ("gru", "pytorch"): "GRU (PyTorch init)", ("gru", "orthogonal"): "GRU (orthogonal W_hh)"}


def model_label(cell: str, init: str) -> str:
    """"LSTM (chrono init)"; a curriculum run's model "LSTM (chrono init) + curriculum"."""
    base, plus, arm = init.partition("+")
    return LABELS.get((cell, base), f"{cell.upper()} ({base})") + (f" + {arm}" if plus else "")


def model_order(model: tuple[str, str]) -> tuple:
    """A sort key that lists the models as the study does: the RNN, then the LSTM, then the GRU, each
    init in the order of LABELS (a stack after the one-layer model of its init), the direct arm before
    the curriculum; other models after those."""
    cell, init = model
    base, _, arm = init.partition("+")
    base = base.split(":")[0]                                    # a stack ("pytorch:2:bi") sorts by its init
    known = list(LABELS)
    return (bool(arm), known.index((cell, base)) if (cell, base) in known else len(known), cell, init)


def fisher_p(k1: int, n1: int, k2: int, n2: int) -> float:
    """Two-sided p-value of Fisher's exact test that k1 successes of n1 and k2 of n2 come from the
    same success rate (`scipy.stats.fisher_exact` on the 2x2 table)."""
    from scipy.stats import fisher_exact
    return float(fisher_exact([[k1, n1 - k1], [k2, n2 - k2]]).pvalue)


def _row(r: dict, base: dict, comparison: str, reference: str) -> dict:
    d = detectable(base["successes"], base["runs"], r["runs"])
    return {"task": r["task"], "T": r["T"], "comparison": comparison, "model": model_label(r["cell"], r["init"]),
            "reference": reference, "successes": r["successes"], "runs": r["runs"],
            "reference_successes": base["successes"], "reference_runs": base["runs"],
            "fisher_p": fisher_p(r["successes"], r["runs"], base["successes"], base["runs"]),
            "detectable_up": d["up"], "detectable_down": d["down"]}


def comparisons(summary: list[dict], reference: tuple[str, str] | None = None) -> list[dict]:
    """Fisher's exact test at each (task, T) that both sides ran, for three kinds of comparison:
    "vs reference" (every model against the reference model, the summary's first by default),
    "vs PyTorch init" (every other init of a cell against the same cell with PyTorch's init, same
    arm) and "curriculum vs direct" (a model's curriculum runs against its direct runs). Each row:
    both sides' successes and runs, the two-sided p, and the smallest increase and decrease of the
    model's rate over the reference's observed rate that the test detects at these n (power 0.8,
    `power.detectable`; None where no rate that way can be), which is what a p above 0.05 leaves open."""
    rows: list[dict] = []
    if not summary:
        return rows
    by = {(r["task"], r["cell"], r["init"], r["T"]): r for r in summary}
    ref = reference or (summary[0]["cell"], summary[0]["init"])
    for r in summary:
        base = by.get((r["task"], ref[0], ref[1], r["T"]))
        if base is not None and (r["cell"], r["init"]) != ref:
            rows.append(_row(r, base, "vs reference", model_label(*ref)))
    for r in summary:
        init, plus, arm = r["init"].partition("+")
        default = "pytorch" + plus + arm
        base = by.get((r["task"], r["cell"], default, r["T"]))
        if base is not None and r["init"] != default and (r["cell"], default) != ref:
            rows.append(_row(r, base, "vs PyTorch init", model_label(r["cell"], default)))
    for r in summary:
        init, plus, arm = r["init"].partition("+")
        base = by.get((r["task"], r["cell"], init, r["T"]))
        if plus and base is not None:
            rows.append(_row(r, base, f"{arm} vs direct", model_label(r["cell"], init)))
    return rows


def agreement(main: list, other: list) -> dict:
    """How often two sets of runs of the same specs (differing in dtype or engine only) agree on
    success: matched by (task, model, T, seed); the counts of each outcome pair."""
    def key(r):
        s = r.spec
        return s.task, s.model, s.T, s.seed
    a = {key(r): r.succeeded for r in main}
    pairs = [(a[key(r)], r.succeeded) for r in other if key(r) in a]
    n = len(pairs)
    agree = sum(x == y for x, y in pairs)
    return {"pairs": n, "agree": agree, "fraction": agree / n if n else float("nan"),
            "both_succeed": sum(x and y for x, y in pairs), "both_fail": sum(not x and not y for x, y in pairs),
            "main_only": sum(x and not y for x, y in pairs), "other_only": sum(y and not x for x, y in pairs)}


def wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson score interval for k successes in n trials (95% by default)."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # exact at the ends (0 for k = 0, 1 for k = n), and never excluding p, whatever the rounding
    lo = 0.0 if k == 0 else min(p, max(0.0, centre - half))
    hi = 1.0 if k == n else max(p, min(1.0, centre + half))
    return lo, hi


def group_runs(runs: list) -> dict:
    """{(cell, init): {T: [records]}} of `RunRecord`s, models in `model_order`."""
    out: dict = {}
    for r in sorted(runs, key=lambda r: model_order(r.spec.model)):
        s = r.spec
        out.setdefault(s.model, {}).setdefault(s.T, []).append(r)
    return out


def notebook_flow_runs(runs: list) -> dict:
    """{cell: the first record carrying the notebook's gradient-flow metric}."""
    out: dict = {}
    for r in runs:
        if r.notebook_flow is not None:
            out.setdefault(r.spec.cell, r)
    return out
