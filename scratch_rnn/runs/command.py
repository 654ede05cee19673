"""What every long command does with its run store: open it, run the jobs it lacks, and describe the
results (`run_meta`), so that the study, the truncation study and later experiments share one path."""
from __future__ import annotations

import sys
import time
from pathlib import Path

from .._provenance import provenance
from . import executors
from .store import RunStore


def run_into_store(jobs, out: Path, store_meta: dict, run: dict, job_runner):
    """Open the store in `out` for `store_meta`, execute the jobs it lacks with `job_runner` (a top-level
    function, see `executors.execute`), and return (store, outcome, seconds). `run`: workers,
    scheduler, scheduler_file, fresh, retry_failed, progress."""
    t0 = time.perf_counter()
    store = RunStore(out, store_meta, fresh=run.get("fresh", False))
    outcome = executors.execute(jobs, store, job_runner, workers=run.get("workers"), scheduler=run.get("scheduler"),
                                scheduler_file=run.get("scheduler_file"), retry_failed=run.get("retry_failed", False),
                                progress=run.get("progress", "runs"))
    return store, outcome, time.perf_counter() - t0


def run_meta(store_meta: dict, seconds, run: dict) -> dict:
    """The meta block of a command's results: its store's protocol, `run`, the wall time, the
    command line and the provenance (versions, CPU, ...)."""
    return {**store_meta, **run, "seconds": seconds, "command_line": "scratch-rnn " + " ".join(sys.argv[1:]),
            **provenance()}
