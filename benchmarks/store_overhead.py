"""What the run store and a Dask cluster cost per run, measured on a small sweep.

    python benchmarks/store_overhead.py [--out benchmarks/results]

* store: the time to append one finished run to ``runs.jsonl`` (serialise, write, flush, fsync),
  for records of study runs (their per-update history included), against the time of one study run
  of the LSTM at T = 100 (the study's protocol, its 3000-update budget extrapolated from the measured
  time per update);
* Dask: the round trip of a trivial task through ``Client.get_executor()`` on a local cluster of
  two one-thread workers, and the wall time of the same small sweep on the local pool and on Dask.
Writes store_overhead.json and store_overhead.md, and prints a summary.
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from scratch_rnn.bench.report import write_table
from scratch_rnn.runs import RunStore, execute
from scratch_rnn.study.runner import run_one, run_one_safe
from scratch_rnn.study.specs import STUDY, study_specs


def _noop(x):
    return x


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="benchmarks/results")
    args = ap.parse_args()
    spec = study_specs("scratch", tasks=["xor"], models=[("lstm", "pytorch")], lengths=[100], seeds=1)[0]
    short = replace(spec, updates=100, eval_every=0)
    run_one(replace(short, updates=2))                                     # compile / load the kernels
    t0 = time.perf_counter()
    rec = run_one(short)
    per_update = (time.perf_counter() - t0) / short.updates
    full_run = per_update * STUDY["updates"]
    rec.history = {k: v * (STUDY["updates"] // short.updates) if isinstance(v, list) else v
                   for k, v in rec.history.items()}                        # a full-length history
    with tempfile.TemporaryDirectory() as d:
        store = RunStore(d, {"command": "bench"})
        times = []
        for k in range(50):
            rec.spec = replace(spec, seed=k)
            t = time.perf_counter()
            store.add_record(rec.spec, rec.to_dict())
            times.append(time.perf_counter() - t)
    append = statistics.median(times)
    result = {"lstm_T100_run_s": full_run, "store_append_s": append, "store_fraction": append / full_run,
              "record_bytes": len(json.dumps(rec.to_dict()))}
    try:
        from distributed import LocalCluster
    except ImportError:
        result["dask"] = None
    else:
        sweep = study_specs("scratch", tasks=["first_bit"], models=[("rnn", "pytorch")], lengths=[5, 10], seeds=4,
                            proto={**STUDY, "updates": 50})
        with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster:
            with cluster.get_client() as client:
                ex = client.get_executor(pure=False)
                ex.submit(_noop, 0).result()
                rt = []
                for k in range(50):
                    t = time.perf_counter()
                    ex.submit(_noop, k).result()
                    rt.append(time.perf_counter() - t)
            walls = {}
            for name, kw in (("local", {"workers": 2}), ("dask", {"scheduler": cluster.scheduler_address})):
                with tempfile.TemporaryDirectory() as d:
                    t = time.perf_counter()
                    execute(sweep, RunStore(d, {"command": "bench"}), run_one_safe, progress=False, **kw)
                    walls[name] = time.perf_counter() - t
        result["dask"] = {"task_round_trip_s": statistics.median(rt), "sweep_runs": len(sweep),
                          "sweep_wall_local_s": walls["local"], "sweep_wall_dask_s": walls["dask"]}
    lines = ["| what | time |", "|---|---|",
             f"| one LSTM T = 100 study run ({STUDY['updates']} updates, extrapolated) | {full_run:.1f} s |",
             f"| appending its record ({result['record_bytes'] / 1e3:.0f} kB) to the run store | {append * 1e3:.2f} ms "
             f"({100 * result['store_fraction']:.3f}% of the run) |"]
    if result["dask"]:
        d = result["dask"]
        lines += [f"| a Dask task's round trip, local cluster of two one-thread workers | "
                  f"{d['task_round_trip_s'] * 1e3:.1f} ms |",
                  f"| a sweep of {d['sweep_runs']} short runs on the local pool (2 workers) | {d['sweep_wall_local_s']:.1f} s |",
                  f"| the same sweep on that Dask cluster | {d['sweep_wall_dask_s']:.1f} s |"]
    write_table(lines, {"result": result}, Path(args.out), "store_overhead")
    print(f"one LSTM T=100 study run (3000 updates): {full_run:.1f} s; appending its record "
          f"({result['record_bytes'] / 1e3:.0f} kB) to the store: {append * 1e3:.2f} ms = "
          f"{100 * result['store_fraction']:.3f}% of the run (target < 2%)")
    if result["dask"]:
        d = result["dask"]
        print(f"Dask: {d['task_round_trip_s'] * 1e3:.1f} ms per task round trip; a sweep of {d['sweep_runs']} short "
              f"runs: {d['sweep_wall_local_s']:.1f} s on the local pool, {d['sweep_wall_dask_s']:.1f} s on Dask "
              "(both with two one-thread workers, process start included)")


if __name__ == "__main__":
    main()
