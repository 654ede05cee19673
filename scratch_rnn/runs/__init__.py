"""Runs as data, for every long command: the run store and the executors.

* `store`: `RunStore`, one JSON line per finished job in ``OUT/runs.jsonl``, appended and synced at
  once, keyed by a hash of the job (`run_key`); one writer at a time (a lock file), damaged lines set
  aside, a full disk an error that leaves the store intact; a folder of another protocol or version
  is refused;
* `executors`: `execute`, the jobs a store lacks on a local process pool or a Dask cluster,
  longest first, a failing job stored as a result, SIGINT/SIGTERM raising `Interrupted`;
* `command`: `run_into_store` and `run_meta`, the path every long command takes through both;
* `schedule`: `Schedule`, where each job of an `execute` call is (queued, in flight, stored), as a
  state machine with no processes in it;
* `failures`: `failure_record`, the one record of a job that failed, and `safely`, the wrapper that
  turns a job's exception into it;
* `pipeline`: `run_experiment`, the one pipeline of every experiment (store, execute, describe, build
  the outputs from the store);
* `signals`: SIGINT and SIGTERM as a flag read between complete units of work, and `Interrupted`;
* `inflight`: a run in flight saves a snapshot of its state every half minute, so that an interrupt
  costs at most that much of its training; the next attempt resumes from it to the same record.
* `progress`: what a long command says while it runs: its runs, phases and one estimate of the time
  left, calibrated on this machine before the first run and following the finished runs after.

The jobs themselves (the study's `RunSpec`, the truncation study's jobs) and what a finished job
means belong to the experiments above; nothing here knows them.
"""
from .command import run_into_store, run_meta
from .executors import Outcome, execute
from .failures import failure_record, safely
from .pipeline import run_experiment
from .signals import Interrupted, stop_on_signals
from .store import META, RUNS, RunStore, run_key

__all__ = ["RunStore", "run_key", "META", "RUNS", "execute", "Interrupted", "Outcome", "run_into_store", "run_meta",
           "stop_on_signals", "run_experiment", "safely", "failure_record"]
