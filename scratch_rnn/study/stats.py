r"""The study's statistics: Wilson intervals, Fisher's exact test of two success counts, what that
test can and cannot separate (its exact power, the smallest difference it detects), and the
grouping and labels of the study's models.
test, and the smallest difference it detects.

A two-sided Fisher exact test at level alpha compares k1 successes of n1 runs with k2 of n2. Its
rejection region R = {(k1, k2): p(k1, k2) <= alpha} depends on n1, n2 and alpha alone, so its power
against true success rates p1 and p2 is exact, a finite sum::

    power(p1, p2) = sum_{(k1, k2) in R} Binom(k1; n1, p1) Binom(k2; n2, p2)

A test that does not reject says nothing about differences it could not have seen. The smallest
detectable difference at power 0.8 is the smallest d > 0 such that power(p_ref + d, p_ref) >= 0.8
(upwards; downwards with p_ref - d), taking the reference's observed rate as its true rate. With 10
runs a side against a reference at 10/10 a model must be below about 0.45 to be seen, which is why a
p of 0.2 at n = 10 is no evidence of equal rates.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from ..cells import CELLS

ALPHA = 0.05         # two-sided level of every test in the study
POWER = 0.8          # the power at which a difference counts as detectable


@lru_cache(maxsize=None)
def rejection_region(n1: int, n2: int, alpha: float = ALPHA) -> np.ndarray:
    """(n1 + 1, n2 + 1) booleans: True where Fisher's two-sided test of k1/n1 against k2/n2 rejects at alpha."""
    from scipy.stats import fisher_exact
    for name, n in (("n1", n1), ("n2", n2)):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"{name}: expected an integer >= 1, got {n!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha: expected a number in (0, 1), got {alpha!r}")
    region = np.zeros((n1 + 1, n2 + 1), dtype=bool)
    for k1 in range(n1 + 1):
        for k2 in range(n2 + 1):
            p = fisher_exact([[k1, n1 - k1], [k2, n2 - k2]]).pvalue
            region[k1, k2] = p <= alpha * (1 + 1e-9)             # scipy's p of a boundary table, to rounding
    region.flags.writeable = False
    return region


def fisher_power(p1: float, n1: int, p2: float, n2: int, alpha: float = ALPHA) -> float:
    """The probability that Fisher's two-sided test rejects at `alpha` when n1 runs succeed with
    probability p1 and n2 runs with p2 (exact)."""
    from scipy.stats import binom
    for name, p in (("p1", p1), ("p2", p2)):
        if not 0 <= p <= 1:
            raise ValueError(f"{name}: expected a probability in [0, 1], got {p!r}")
    a = binom.pmf(np.arange(n1 + 1), n1, p1)
    b = binom.pmf(np.arange(n2 + 1), n2, p2)
    return float(a @ rejection_region(n1, n2, alpha) @ b)


def detectable_difference(p_ref: float, n: int, n_ref: int, direction: int = 1, alpha: float = ALPHA,
                          power: float = POWER, step: float = 0.001) -> float | None:
    """The smallest d (to `step`) such that a model at p_ref + direction * d, run n times, is told apart
    from a reference at p_ref, run n_ref times, with probability `power`; None when no rate in [0, 1]
    that way is (e.g. upwards from p_ref = 1)."""
    from scipy.stats import binom
    if direction not in (1, -1):
        raise ValueError(f"direction: expected 1 (a higher rate) or -1 (a lower one), got {direction!r}")
    if not 0 <= p_ref <= 1:
        raise ValueError(f"p_ref: expected a probability in [0, 1], got {p_ref!r}")
    d = np.arange(1, int(round(1 / step)) + 1) * step              # every candidate difference, ascending
    p = p_ref + direction * d
    d, p = d[(p >= 0) & (p <= 1 + 1e-12)], np.clip(p[(p >= 0) & (p <= 1 + 1e-12)], 0, 1)
    if not len(d):
        return None
    a = binom.pmf(np.arange(n + 1)[:, None], n, p[None, :])        # (n + 1, candidates)
    b = binom.pmf(np.arange(n_ref + 1), n_ref, p_ref)              # (n_ref + 1,)
    powers = np.einsum("ig,ij,j->g", a, rejection_region(n, n_ref, alpha), b)
    hit = np.flatnonzero(powers >= power)
    return float(round(d[hit[0]], 6)) if len(hit) else None


@lru_cache(maxsize=None)
def detectable(k_ref: int, n_ref: int, n: int, alpha: float = ALPHA, power: float = POWER) -> dict:
    """{"up", "down"}: the smallest increase and decrease over the reference's observed rate k_ref/n_ref
    that a comparison with n runs detects at `power` (None where none can be)."""
    p_ref = k_ref / n_ref
    return {"up": detectable_difference(p_ref, n, n_ref, 1, alpha, power),
            "down": detectable_difference(p_ref, n, n_ref, -1, alpha, power)}


def detectable_text(up: float | None, down: float | None) -> str:
    """"+0.28/-0.38": the smallest detectable increase and decrease ("none" where none can be)."""
    return f"{'none' if up is None else f'+{up:.2f}'}/{'none' if down is None else f'-{down:.2f}'}"


def describe_null(k: int, n: int, k_ref: int, n_ref: int, p: float) -> str:
    """A comparison that did not reject, said as what it is: "not separated with n seeds per cell",
    with its p and the smallest difference it could have detected."""
    d = detectable(k_ref, n_ref, n)
    parts = [f"+{d['up']:.2f}" if d["up"] is not None else None, f"-{d['down']:.2f}" if d["down"] is not None else None]
    seen = " or ".join(x for x in parts if x) or "no difference at all"
    return (f"{k}/{n} vs {k_ref}/{n_ref}: not separated with {n} and {n_ref} seeds (p = {p:.2g}); at this n the test "
            f"detects (power {POWER:g}) only a rate {seen} from {k_ref / n_ref:.2f}")

#: how the study names each initialisation in a model's label, "LSTM (chrono init)"
INIT_LABELS = {"pytorch": "PyTorch init", "orthogonal": "orthogonal W_hh", "identity": "identity W_hh",
               "forget_bias": "forget bias 1", "chrono": "chrono init"}
#: every model's label, in the registry's order of cells and of their inits
LABELS = {(c.name, i): f"{c.torch_module} ({INIT_LABELS[i]})" for c in CELLS.values() for i in c.inits}


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
