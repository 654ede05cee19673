"""The `online` command's experiments, as jobs for the run store (`scratch_rnn.runs`): resumable,
interruptible, parallel on local processes or a Dask cluster, one JSON line per finished job.

* `AlignJob`: at initialisation, the cosine and norm ratio of every method's layer gradient with the
  exact one (`measure.alignment`), for a cell, a task, a length and a seed;
* `LearnJob`: the model trained online with one method's gradient (`measure.train_online`): loss and
  alignment every `every` updates, so alignment *along training* too;
* `CostJob`: the wall time and peak memory of one sequence's gradient (`measure.cost`), one method at
  one (H, T), BLAS on one thread (each worker has its core; timings are the algorithms', not threads').

`ONLINE` is the protocol (`QUICK_ONLINE`: a minute, to check the pipeline); `jobs` lists its jobs.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from ..cells import get_cell
from ..runs import safely
from .measure import METHODS, _task, alignment, cost, methods_for, train_online

ONLINE = {"hidden": 16, "batch": 32, "seeds": 10, "cells": ("rnn", "lstm", "gru"),
          "align": {"first_bit": (10, 50), "xor": (10, 50), "copy": (30, 60), "add": (20, 50), "mimic": (20, 50)},
          "learn_seeds": {"first_bit": 30, "add": 10}, "learn_cells": ("rnn", "lstm"),
          "learn": {"first_bit": 10, "add": 20},
          "updates": 1000, "lr": 3e-3, "every": 50,
          "cost_cells": ("rnn", "lstm"), "cost_H": (8, 16, 32, 64, 128), "cost_T_at_H": 20,
          "cost_T": (100, 1000, 10000), "cost_H_at_T": 16, "tbptt_k": 10,
          "cost_rtrl_max_work": 2e10}
QUICK_ONLINE = {**ONLINE, "hidden": 6, "batch": 8, "seeds": 2, "align": {"first_bit": (10,), "add": (12,)},
                "learn_seeds": {"first_bit": 1, "add": 1}, "learn": {"first_bit": 8, "add": 12}, "updates": 10,
                "every": 5,
                "cost_H": (4, 8), "cost_T": (100,), "cost_H_at_T": 8}


def _state(cell: str) -> int:
    """Numbers of state per unit: 2 with a cell state (h and c), else 1."""
    return 2 if get_cell(cell).cell_state else 1


def _check(job) -> None:
    get_cell(job.cell)
    if hasattr(job, "task"):
        _task(job.task)                                                 # an unknown task fails here, not in a worker
    for name in ("T", "seed"):
        v = getattr(job, name)
        if isinstance(v, bool) or not isinstance(v, int) or v < (0 if name == "seed" else 1):
            raise ValueError(f"{type(job).__name__}.{name}: expected an integer >= {0 if name == 'seed' else 1}, got {v!r}")


@dataclass(frozen=True)
class AlignJob:
    cell: str
    task: str
    T: int
    seed: int
    hidden: int
    batch: int

    def __post_init__(self):
        _check(self)

    def cost(self) -> float:
        return self.T * _state(self.cell) ** 2


@dataclass(frozen=True)
class LearnJob:
    method: str
    cell: str
    task: str
    T: int
    seed: int
    hidden: int
    batch: int
    updates: int
    lr: float
    every: int

    def __post_init__(self):
        _check(self)
        if self.method not in ("bptt", "readout") and self.method not in methods_for(self.cell):
            raise ValueError(f"LearnJob.method: expected 'bptt', 'readout' or one of {methods_for(self.cell)} for "
                             f"{self.cell!r}, "
                             f"got {self.method!r}")

    def cost(self) -> float:
        return self.T * self.updates * _state(self.cell) ** 2 * (20 if self.method == "rtrl" else 2)


@dataclass(frozen=True)
class CostJob:
    method: str
    cell: str
    H: int
    T: int
    k: int
    seed: int = 0

    def __post_init__(self):
        _check(self)

    def cost(self) -> float:
        S = _state(self.cell) * self.H
        return self.T * (S * S * S * S if self.method.startswith("rtrl") else S * S)


def run_job(job) -> dict:
    """A job's result (a dict of plain numbers and lists)."""
    t0 = time.perf_counter()
    res: dict
    if isinstance(job, AlignJob):
        res = {"methods": {m: list(v) for m, v in alignment(job.cell, job.task, job.T, job.hidden, job.seed,
                                                             B=job.batch).items()}}
    elif isinstance(job, LearnJob):
        res = {"rows": train_online(job.method, job.cell, job.task, job.T, job.hidden, job.seed, job.updates,
                                    B=job.batch, lr=job.lr, every=job.every)}
    else:
        sec, peak = cost(job.method, job.cell, job.T, job.H, k=job.k, seed=job.seed)
        res = {"seconds_per_sequence": sec, "peak_bytes": peak}
    return {**res, "seconds": time.perf_counter() - t0}


#: `run_job` as the executor runs it: BLAS on one thread, an exception stored as a failure
run_job_safe = safely(run_job)


def _cost_methods(cell: str) -> tuple[str, ...]:
    return ("bptt", "tbptt", "rtrl_numba", *methods_for(cell))


def jobs(proto: dict, first_seed: int = 0) -> list:
    """The protocol's jobs: alignment, learning, then cost."""
    out: list = []
    seeds = range(first_seed, first_seed + proto["seeds"])
    for cell in proto["cells"]:
        for task, lengths in proto["align"].items():
            out += [AlignJob(cell, task, T, s, proto["hidden"], proto["batch"]) for T in lengths for s in seeds]
    learn_methods = ("bptt", "readout", *(m for m in METHODS if m != "rtrl"))   # RTRL: BPTT's gradient, not rerun
    for cell in proto["learn_cells"]:
        for task, T in proto["learn"].items():
            for m in learn_methods:
                if m in ("bptt", "readout") or m in methods_for(cell):
                    out += [LearnJob(m, cell, task, T, s, proto["hidden"], proto["batch"], proto["updates"], proto["lr"],
                                     proto["every"]) for s in range(first_seed, first_seed + proto["learn_seeds"][task])]
    points = [(H, proto["cost_T_at_H"]) for H in proto["cost_H"]] + [(proto["cost_H_at_T"], T) for T in proto["cost_T"]]
    for cell in proto["cost_cells"]:
        spec = get_cell(cell)
        for H, T in points:
            S, P = (2 if spec.cell_state else 1) * H, spec.gates * H * (H + 3)          # state, parameters (D = 1)
            for m in _cost_methods(cell):
                if m == "rtrl" and S * S * P * T > proto["cost_rtrl_max_work"]:
                    continue                                   # the NumPy einsum: minutes a point; rtrl_numba stays
                out.append(CostJob(m, cell, H, T, proto["tbptt_k"]))
    return out
