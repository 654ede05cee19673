"""A run in flight saves its state now and then, so that an interrupt costs at most about half a
minute of its training, not the whole run.

Every long command runs its jobs through `in_folder`, which tells the process that runs a job where
that job's in-flight file is (``OUT/inflight/<run key>.pkl``); a job that can resume (the study's
training runs, `scratch_rnn.study.runner`) asks `for_job` for its `InFlight` and calls

* ``load(keys)`` once at its start: the state it saved before an interrupt, or None;
* ``due()`` / ``save(state)`` at update boundaries: a snapshot (parameters, optimiser, the batch
  generator's state, history, the loop's own counters) at most every `SAVE_EVERY_S` seconds, written
  atomically, so a process killed while writing leaves the previous snapshot whole.

Resuming from a snapshot continues the same sequence of batches from the same weights, so the run's
record is the one an uninterrupted run writes (``tests/test_inflight.py`` compares them on both
engines). The executor deletes a job's file once the job's outcome is stored (`discard`).

Snapshots are pickles: they hold NumPy arrays, a generator's state and the torch engine's tensors,
written and read by this package in the user's own output folder; load none from elsewhere.
"""
from __future__ import annotations

import os
import pickle
import time
from pathlib import Path
from typing import Any, Callable

from .._files import atomic_write
from .store import INFLIGHT, run_key

#: the most seconds of a run's training between two snapshots
SAVE_EVERY_S = 30.0
#: what a snapshot must carry to be taken for this package's (a changed format is ignored, not misread)
FORMAT = 1

_folder: Path | None = None            # where this process keeps its job's snapshot, while it runs one


class InFlight:
    """The snapshot file of one job (None: the job runs where no command set a folder, and saves nothing)."""

    def __init__(self, path: Path | None):
        self.path = path
        self._last = time.monotonic()

    def load(self, keys=()) -> dict | None:
        """The state saved by an interrupted earlier attempt, or None (none, one that cannot be read, or
        one without every key of `keys`: the run then starts over, which costs time, never correctness)."""
        if self.path is None or not self.path.is_file():
            return None
        try:
            with open(self.path, "rb") as f:
                state = pickle.load(f)
        except Exception:                                    # a torn or foreign file: start over
            return None
        ok = isinstance(state, dict) and state.get("format") == FORMAT and all(k in state for k in keys)
        return state if ok else None

    def due(self) -> bool:
        """Whether `SAVE_EVERY_S` seconds passed since the last snapshot (or the job's start)."""
        return self.path is not None and time.monotonic() - self._last >= SAVE_EVERY_S

    def save(self, state: dict) -> None:
        """Write `state` (any picklable dict) atomically as the job's snapshot."""
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(self.path, pickle.dumps({**state, "format": FORMAT}, protocol=pickle.HIGHEST_PROTOCOL))
        except OSError as err:                                   # e.g. a cluster worker that does not see OUT
            import warnings
            warnings.warn(f"{self.path}: the run's snapshot cannot be saved ({err.strerror or err}); the run goes on "
                          "without one, and an interrupt then costs all of its training", RuntimeWarning,
                          stacklevel=2)
            self.path = None
        self._last = time.monotonic()


def for_job(job) -> InFlight:
    """The `InFlight` of `job` in the folder the running command set (`in_folder`)."""
    return InFlight(None if _folder is None else _folder / f"{run_key(job)}.pkl")


def _run_in(folder: str, run: Callable[[Any], dict], job) -> dict:
    global _folder
    _folder = Path(folder)
    try:
        return run(job)
    finally:
        _folder = None


def in_folder(out: Path, run: Callable[[Any], dict]) -> Callable[[Any], dict]:
    """`run` (a job runner) with its jobs' snapshots in ``out/inflight``; it pickles, so it travels to
    worker processes and to a Dask cluster (whose workers then need `out` on a shared filesystem to
    resume; without one, a run resumed elsewhere starts over)."""
    from functools import partial
    return partial(_run_in, str(Path(out) / INFLIGHT), run)


def discard(out: Path, job) -> None:
    """Delete `job`'s snapshot once its outcome is stored."""
    try:
        os.unlink(Path(out) / INFLIGHT / f"{run_key(job)}.pkl")
    except FileNotFoundError:
        pass
