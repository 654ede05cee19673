"""Small statistics for the study: Wilson intervals, Fisher's exact test, grouping, labels."""
from __future__ import annotations

import math

LABELS = {("rnn", "pytorch"): "RNN (PyTorch init)", ("rnn", "orthogonal"): "RNN (orthogonal W_hh)",
          ("rnn", "identity"): "RNN (identity W_hh)", ("lstm", "pytorch"): "LSTM (PyTorch init)",
          ("lstm", "forget_bias"): "LSTM (forget bias 1)", ("lstm", "chrono"): "LSTM (chrono init)",
          ("lstm", "orthogonal"): "LSTM (orthogonal W_hh)",
          ("gru", "pytorch"): "GRU (PyTorch init)", ("gru", "orthogonal"): "GRU (orthogonal W_hh)"}


def model_label(cell: str, init: str) -> str:
    return LABELS.get((cell, init), f"{cell.upper()} ({init})")


def fisher_p(k1: int, n1: int, k2: int, n2: int) -> float:
    """Two-sided p-value of Fisher's exact test that k1 successes of n1 and k2 of n2 come from the
    same success rate (`scipy.stats.fisher_exact` on the 2x2 table)."""
    from scipy.stats import fisher_exact
    return float(fisher_exact([[k1, n1 - k1], [k2, n2 - k2]]).pvalue)


def comparisons(summary: list[dict], reference: tuple[str, str] | None = None) -> list[dict]:
    """Every model against a reference model (the summary's first by default) at each (task, T) both
    ran: their successes and runs, and Fisher's p."""
    rows: list[dict] = []
    if not summary:
        return rows
    by = {(r["task"], r["cell"], r["init"], r["T"]): r for r in summary}
    ref = reference or (summary[0]["cell"], summary[0]["init"])
    for r in summary:
        base = by.get((r["task"], ref[0], ref[1], r["T"]))
        if base is None or (r["cell"], r["init"]) == ref:
            continue
        rows.append({"task": r["task"], "T": r["T"], "model": model_label(r["cell"], r["init"]),
                     "reference": model_label(*ref), "successes": r["successes"], "runs": r["runs"],
                     "reference_successes": base["successes"], "reference_runs": base["runs"],
                     "fisher_p": fisher_p(r["successes"], r["runs"], base["successes"], base["runs"])})
    return rows


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
    """{(cell, init): {T: [records]}} of `RunRecord`s, in first-seen order."""
    out: dict = {}
    for r in runs:
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
