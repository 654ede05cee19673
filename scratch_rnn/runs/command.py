"""What every long command does with its run store: open it, run the jobs it lacks, and describe the
results (`run_meta`), so that the study, the truncation study and later experiments share one path."""
from __future__ import annotations

import sys
import time
from pathlib import Path

from .._provenance import provenance
from .._resources import check_memory, check_run_count
from . import executors, inflight, progress
from .store import RunStore, line_check


def run_into_store(jobs, out: Path, store_meta: dict, run: dict, job_runner, decode_line=None, timing=None):
    """Open the store in `out` for `store_meta`, execute the jobs it lacks with `job_runner` (a top-level
    function, see `executors.execute`), and return (store, outcome, seconds), the store's writer lock
    released. `run`: workers, scheduler, scheduler_file, connect_timeout, fresh, wait, retry_failed, progress.
    `decode_line`: the experiment's decoder of a stored line (`store.line_check`); ``run["shrink"]``, what
    the memory check suggests (the command's own options, default "use fewer --workers"). `timing`: the
    experiment's ``prepare(jobs)`` (compile the kernels, saying so: `progress.compiling`) and
    ``calibrate(jobs)`` (seconds per unit of cost here), run before the jobs so that the first line
    says how long they will take (`progress.announce`)."""
    local = not (run.get("scheduler") or run.get("scheduler_file"))
    check_jobs_fit(jobs, executors.worker_count(run.get("workers"), len(jobs)), local=local,
                   change=run.get("shrink", "use fewer --workers"))
    t0 = time.perf_counter()
    store = RunStore(out, store_meta, fresh=run.get("fresh", False), wait=run.get("wait", False),
                     decode=line_check(jobs, decode_line))
    try:
        todo = [j for j in jobs if not store.done(j, run.get("retry_failed", False))]
        prior = None
        if todo and timing is not None and run.get("progress", "runs"):
            if local:
                timing.prepare(todo)                             # says so while it compiles
            prior = timing.calibrate(todo)
        workers = executors.worker_count(run.get("workers"), len(todo))
        if run.get("progress", "runs"):
            seconds = None if prior is None or not local else progress.bounds(todo, prior, workers)
            progress.announce(run.get("what", "runs"), len(jobs), len(jobs) - len(todo), seconds, workers)
        outcome = executors.execute(jobs, store, inflight.in_folder(out, job_runner), workers=run.get("workers"),
                                    scheduler=run.get("scheduler"), scheduler_file=run.get("scheduler_file"),
                                    retry_failed=run.get("retry_failed", False), progress=run.get("progress", "runs"),
                                    connect_timeout=run.get("connect_timeout", executors.CONNECT_TIMEOUT), prior=prior)
    finally:
        store.close()                                            # the runs are stored: another writer may start
    return store, outcome, time.perf_counter() - t0


def check_jobs_fit(jobs, workers: int, local: bool = True, change: str = "use fewer --workers") -> None:
    """Refuse, before any run, jobs that cannot fit: more than `_resources.MAX_RUNS`, or one whose
    ``peak_bytes()`` (when it has one) exceeds the memory available, times the local workers that
    would run such jobs at once; `change` names the command's own options that shrink them."""
    check_run_count(len(jobs), "the runs of this command")
    sized = [j for j in jobs if hasattr(j, "peak_bytes")]
    if not sized:
        return
    big = max(sized, key=lambda j: j.peak_bytes())
    label = getattr(big, "label", type(big).__name__)
    check_memory(f"the largest run ({label}, batch {getattr(big, 'batch', '?')}, hidden {getattr(big, 'hidden', '?')})",
                 big.peak_bytes(), change,
                 copies=min(workers, len(sized)) if local else 1)


def run_meta(store_meta: dict, seconds, run: dict) -> dict:
    """The meta block of a command's results: its store's protocol, `run`, the wall time, the
    command line and the provenance (versions, CPU, ...)."""
    return {**store_meta, **run, "seconds": seconds, "command_line": "scratch-rnn " + " ".join(sys.argv[1:]),
            **provenance()}
