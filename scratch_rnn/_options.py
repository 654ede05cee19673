"""The command line's argument types and printed tables (argparse types raise
ArgumentTypeError, so a bad value is reported by argparse: usage, "error:", exit code 2)."""
from __future__ import annotations

import argparse
import math


def number(kind, lo, inclusive=True, name=None):
    """An argparse type: `kind` (int or float), finite, >= lo (> lo when not inclusive)."""
    def parse(text):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, got {text!r}")
        if not math.isfinite(v) or v < lo or (v == lo and not inclusive):
            raise argparse.ArgumentTypeError(f"expected a finite {'integer' if kind is int else 'number'} "
                                             f"{'>=' if inclusive else '>'} {lo}, got {text!r}")
        return v
    parse.__name__ = name or ("integer" if kind is int else "number")
    return parse


POS_INT = number(int, 1)
NONNEG_INT = number(int, 0)
POS_FLOAT = number(float, 0, inclusive=False)
NONNEG_FLOAT = number(float, 0)


def model_option(item):
    """An argparse type for --models: CELL[:INIT[:LAYERS[:bi]]] (INIT defaults to pytorch, LAYERS
    to 1); returns (cell, init) for one layer, (cell, init, layers, bidirectional) otherwise."""
    from .training.model import INITS
    cell, init, layers, bi, *rest = item.split(":") + ["", "", ""]
    init = init or "pytorch"
    shape_ok = (layers == "" or (layers.isdigit() and int(layers) >= 1)) and bi in ("", "bi") and not any(rest)
    if cell not in INITS or init not in INITS[cell] or not shape_ok:
        raise argparse.ArgumentTypeError(f"expected CELL[:INIT[:LAYERS[:bi]]] with CELL:INIT one of "
                                         f"{[f'{c}:{i}' for c in INITS for i in INITS[c]]} and LAYERS >= 1 "
                                         f"(e.g. lstm:chrono:2:bi), got {item!r}")
    n = int(layers or 1)
    return (cell, init) if n == 1 and not bi else (cell, init, n, bi == "bi")


model_option.__name__ = "model"


def tbptt_option(item):
    """An argparse type for --tbptt: K1,K2, integers with 1 <= K1 <= K2."""
    parts = item.split(",")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise argparse.ArgumentTypeError(f"expected K1,K2 (two integers, e.g. 32,64), got {item!r}")
    k1, k2 = (int(p) for p in parts)
    if not 1 <= k1 <= k2:
        raise argparse.ArgumentTypeError(f"expected 1 <= K1 <= K2, got K1={k1}, K2={k2}")
    return k1, k2


tbptt_option.__name__ = "K1,K2"


def print_summary(rows) -> None:
    print(f"{'task':<10}{'model':<26}{'T':>5}  {'success':>8}  {'95% CI':>13}  {'median updates':>14}  "
          f"{'acc/MSE':>8}")
    from .study.stats import model_label
    for r in rows:
        med = "" if r["median_updates_to_success"] is None else f"{r['median_updates_to_success']:.0f}"
        metric = r["mean_final_accuracy"] if r["mean_final_mse"] is None else r["mean_final_mse"]
        print(f"{r['task']:<10}{model_label(r['cell'], r['init']):<26}{r['T']:>5}  {r['successes']:>3}/{r['runs']:<4}"
              f"  [{r['wilson_lo']:.2f}, {r['wilson_hi']:.2f}]  {med:>14}  {metric:>8.3f}")


def print_failures(failures) -> None:
    if failures:
        print(f"\n{len(failures)} runs failed (stored with their tracebacks; --retry-failed runs them again):")
        for spec, f in failures[:10]:
            print(f"  {spec.experiment} {spec.task} {':'.join(spec.model)} T={spec.T} seed {spec.seed}: "
                  f"{f['type']}: {f['message']}")
