"""Small statistics for the study: Wilson intervals, grouping, labels."""
from __future__ import annotations

import math

LABELS = {("rnn", "pytorch"): "RNN (PyTorch init)", ("rnn", "orthogonal"): "RNN (orthogonal W_hh)",
          ("rnn", "identity"): "RNN (identity W_hh)", ("lstm", "pytorch"): "LSTM (PyTorch init)",
          ("lstm", "forget_bias"): "LSTM (forget bias 1)", ("lstm", "chrono"): "LSTM (chrono init)",
          ("lstm", "orthogonal"): "LSTM (orthogonal W_hh)",
          ("gru", "pytorch"): "GRU (PyTorch init)", ("gru", "orthogonal"): "GRU (orthogonal W_hh)"}


def model_label(cell: str, init: str) -> str:
    return LABELS.get((cell, init), f"{cell.upper()} ({init})")


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
