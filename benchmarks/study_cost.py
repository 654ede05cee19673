"""What the study costs on this machine: a cost model from measured kernels, checked against the seconds
a run store recorded, and the full `reproduce` predicted for W workers.

    python benchmarks/study_cost.py [--store results/power] [--workers 2] [--out benchmarks/results]

The model: a run's time is the sum, over its training at each length L (the curriculum's lengths in
turn, or T alone), of its updates at L times the measured seconds of one update at L (forward, loss,
BPTT, clipping, Adam; batch 32, this machine, one thread), plus each screen (256 sequences at L) and
each test (1000 fresh sequences at T) at the measured seconds of an evaluation. A stored run's record
says how many updates it made at which length (its screens every 100 updates carry the length), so
its time can be predicted without knowing its outcome beforehand; `reproduce`'s full run list is
predicted at its budgets (every run to its last update: an upper bound, since runs stop at success)
(the torch-engine reruns of the robustness arm are left out: the model times this package's engine).
Writes study_cost.json and study_cost.md.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from functools import lru_cache
from pathlib import Path

import numpy as np

import scratch_rnn as sr
from scratch_rnn._numba.threads import one_blas_thread
from scratch_rnn.bench.report import write_table
from scratch_rnn.study import specs as sp
from scratch_rnn.training.model import init_model


@lru_cache(maxsize=None)
def update_s(cell: str, init: str, task: str, T: int, dtype: str, batch: int = 32, hidden: int = 64) -> float:
    """Seconds of one training update at length T (median of 15 after 3 warm-up updates)."""
    sampler, t = sr.get_task(task)
    p = init_model(cell, t.input_size, hidden, t.outputs, np.random.default_rng(0), init=init, dtype=np.dtype(dtype),
                   t_max=max(T, 3))
    engine = sr.ScratchEngine(p, t, lr=1e-3, clip=1.0)
    rng = np.random.default_rng(1)
    batches = [sampler(T, batch, rng, dtype=np.dtype(dtype)) for _ in range(18)]
    times = []
    for k, (x, y) in enumerate(batches):
        t0 = time.perf_counter()
        engine.step(x, y, k)
        times.append(time.perf_counter() - t0)
    return float(np.median(times[3:]))


@lru_cache(maxsize=None)
def eval_s(cell: str, task: str, T: int, n: int, dtype: str, hidden: int = 64) -> float:
    """Seconds of an evaluation on n fresh sequences of length T."""
    sampler, t = sr.get_task(task)
    p = init_model(cell, t.input_size, hidden, t.outputs, np.random.default_rng(0), dtype=np.dtype(dtype))
    engine = sr.ScratchEngine(p, t)
    sr.evaluate(engine, sampler, T, min(n, 64), np.random.default_rng(0), dtype=np.dtype(dtype))
    t0 = time.perf_counter()
    sr.evaluate(engine, sampler, T, n, np.random.default_rng(1), dtype=np.dtype(dtype))
    return time.perf_counter() - t0


def predict_record(rec: dict) -> float:
    """Predicted seconds of a stored run, from its updates at each length."""
    s = rec["spec"]
    cell, init, task, T, dtype = s["cell"], s["init"], s["task"], s["T"], s["dtype"]
    done, total = 0, 0.0
    for ev in rec["evals"] or [[rec["updates"], None, T]]:
        L = ev[2] if len(ev) > 2 else T
        total += (ev[0] - done) * update_s(cell, init, task, L, dtype) + eval_s(cell, task, L, s["screen_n"], dtype)
        done = ev[0]
    total += (rec["updates"] - done) * update_s(cell, init, task, T, dtype)
    tests = 1 + len(rec.get("near_misses") or [])              # the final test, and one per near miss
    total += tests * eval_s(cell, task, T, s["eval_n"], dtype)
    if s["arm"] == "curriculum":                                # the final accuracy at every shorter length
        total += sum(eval_s(cell, task, L, s["eval_n"], dtype) for L in sp.CURRICULUM if L < T)
    return total


def predict_spec(spec: sp.RunSpec) -> float:
    """Predicted seconds of a run that trains to its budget (an upper bound)."""
    lengths = spec.schedule()
    per = spec.updates // len(lengths)
    evals = [[k * spec.eval_every, None, lengths[min(len(lengths) - 1, (k * spec.eval_every - 1) // max(per, 1))]]
             for k in range(1, spec.updates // max(spec.eval_every, 1) + 1)] if spec.eval_every else []
    return predict_record({"spec": spec.__dict__, "evals": evals, "updates": spec.updates, "near_misses": []})


def table(result: dict) -> list[str]:
    """The check against the store (where there was one) and the full reproduce's upper bound, by arm."""
    lines = []
    if "check" in result:
        c = result["check"]
        lo, hi = c["run_ratio_p10_p90"]
        lines += ["| store | runs | predicted | recorded | predicted / recorded | run by run: median, 10%-90% |",
                  "|---|---|---|---|---|---|",
                  f"| `{c['store']}` | {c['runs']} | {c['predicted_s']:.0f} s | {c['recorded_s']:.0f} s "
                  f"| {c['total_ratio']:.2f} | {c['run_ratio_median']:.2f}, [{lo:.2f}, {hi:.2f}] |", ""]
    bound = result["reproduce_upper_bound_s"]
    lines += ["| the full `reproduce`, every run to its budget (torch-engine reruns not modelled) | CPU h |", "|---|---|"]
    lines += [f"| {arm} | {s / 3600:.2f} |" for arm, s in bound.items() if arm not in ("total", "wall_for_workers")]
    lines += [f"| total | {bound['total'] / 3600:.2f} |",
              f"| wall time on {result['workers']} worker(s) | {bound['wall_for_workers'] / 3600:.2f} |"]
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", default="results/power", help="a run store whose recorded seconds check the model")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--out", default="benchmarks/results")
    args = ap.parse_args(argv)
    result: dict = {"workers": args.workers}
    with one_blas_thread():
        store = Path(args.store) / "runs.jsonl"
        if store.is_file():
            recs = [json.loads(line)["record"] for line in store.read_text().splitlines() if '"record"' in line]
            recs = [r for r in recs if r["spec"]["engine"] == "scratch"]
            pred = np.array([predict_record(r) for r in recs])
            seen = np.array([r["seconds"] for r in recs])
            ratio = pred / seen
            result["check"] = {"store": str(args.store), "runs": len(recs), "predicted_s": float(pred.sum()),
                               "recorded_s": float(seen.sum()), "total_ratio": float(pred.sum() / seen.sum()),
                               "run_ratio_median": float(np.median(ratio)),
                               "run_ratio_p10_p90": [float(np.percentile(ratio, 10)), float(np.percentile(ratio, 90))]}
        nb = sp.notebook_specs("scratch", sp.STUDY["seeds"], sp.NOTEBOOK)
        arms = sp.reproduce_specs("scratch")
        by_arm = {"notebook": sum(predict_spec(s) for s in nb)}
        by_arm.update({arm: sum(predict_spec(s) for s in specs if s.engine == "scratch") for arm, specs in arms.items()})
        from scratch_rnn.study.power import POWERED, powered_specs
        study_keys = {s for specs in arms.values() for s in specs}
        by_arm["power"] = sum(predict_spec(s) for s in powered_specs(POWERED) if s not in study_keys)
    total = sum(by_arm.values())
    result["reproduce_upper_bound_s"] = {**by_arm, "total": total, "wall_for_workers": total / args.workers}
    write_table(table(result), result, Path(args.out), "study_cost")
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
