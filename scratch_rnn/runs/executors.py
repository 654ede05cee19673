"""Running a list of jobs into a run store: a local process pool by default, a Dask cluster on
request; interruptible, resumable, and a failing run is a result, not the end of the sweep.

`execute` submits only the jobs the store lacks, at most one per free worker slot, longest
first, and appends every outcome to the store the moment it arrives. A job is any frozen
dataclass with a ``cost()`` (a relative estimate of its time); ``run``, a top-level function (it
travels to worker processes), turns it into ``{"record": dict}`` (a training run's record, with its
``"seconds"``; the study's `runner.run_one_safe`), ``{"result": dict}`` (the truncation study's jobs)
or ``{"failure": dict}``. SIGINT or SIGTERM never interrupts the storing of an outcome: with
workers, it cancels what is pending, ends the workers within half a second and raises `Interrupted`
(the CLI exits 130 or 143 with a message that says how to resume); in one process, it stops the run
in flight (which is not stored, and is run again on resuming).
"""
from __future__ import annotations

import json
import os
import signal
import time
from concurrent.futures import FIRST_COMPLETED, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from .signals import Interrupted, stop_on_signals
from .store import RunStore

MAX_ATTEMPTS = 2        # a run in flight when a worker process died is tried this many times, then stored as failed
CONNECT_TIMEOUT = 30.0  # seconds to reach a Dask scheduler before giving up with a message


@dataclass
class Outcome:
    ran: int = 0            # runs finished in this call (stored)
    failed: int = 0         # of which failed
    skipped: int = 0        # already in the store


def _worker_init(parent: int) -> None:
    """Worker initializer: the driving process alone decides what a Ctrl-C means, and a worker dies
    with it. On Linux the kernel sends SIGKILL to the worker when its parent dies (PR_SET_PDEATHSIG);
    everywhere, a thread ends the worker within a second of its parent's PID changing."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)                   # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:                                   # died before the signal was armed
        os._exit(1)
    import threading

    def watch():
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)
    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


class _Local:
    """A spawn-context process pool that can be ended at once."""

    def __init__(self, workers: int, run):
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor
        self.slots, self.run = workers, run
        self.pool = ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=_worker_init,
                                        initargs=(os.getpid(),))

    def submit(self, spec):
        return self.pool.submit(self.run, spec)

    def close(self, now: bool = False) -> None:
        if now:
            procs = list(getattr(self.pool, "_processes", {}).values())   # ended by PID, each one ours
            self.pool.shutdown(wait=False, cancel_futures=True)
            for p in procs:
                p.terminate()
            for p in procs:
                p.join(timeout=5)
        else:
            self.pool.shutdown(wait=True)


class _Dask:
    """A dask.distributed cluster through its concurrent.futures executor. A scheduler that does not
    answer within `connect_timeout` seconds, a missing or unreadable scheduler file, is a ValueError
    naming the address or the file."""

    def __init__(self, scheduler: str | None, scheduler_file: str | None, run, connect_timeout: float = CONNECT_TIMEOUT):
        self.run = run
        try:
            from distributed import Client
        except ImportError:
            raise ValueError("--scheduler: needs dask.distributed, which is not installed; "
                             "pip install -e '.[cluster]'") from None
        where = f"--scheduler {scheduler}"
        if scheduler_file:
            scheduler = scheduler_address(scheduler_file)
            where = f"--scheduler-file {scheduler_file} (scheduler {scheduler})"
        try:
            self.client = Client(scheduler, timeout=connect_timeout)
        except (OSError, TimeoutError) as err:
            raise ValueError(f"{where}: no Dask scheduler answered within {connect_timeout:g} s ({type(err).__name__}: "
                             f"{str(err).splitlines()[0] if str(err) else 'no answer'}); start one, or check the address "
                             "(--connect-timeout changes the wait)") from None
        self.executor = self.client.get_executor(pure=False)
        self.slots = max(1, sum(self.client.nthreads().values()))

    def submit(self, spec):
        return self.executor.submit(self.run, spec)

    def close(self, now: bool = False) -> None:
        self.executor.shutdown(wait=not now)
        self.client.close()


def scheduler_address(scheduler_file) -> str:
    """The scheduler's address from a file written by ``dask scheduler --scheduler-file``."""
    try:
        text = open(scheduler_file).read()
    except OSError as err:
        raise ValueError(f"--scheduler-file {scheduler_file}: cannot be read ({err.strerror}); expected the file "
                         "that `dask scheduler --scheduler-file FILE` writes") from None
    try:
        address = json.loads(text).get("address")
    except (json.JSONDecodeError, AttributeError):
        address = None
    if not isinstance(address, str) or "://" not in address:
        raise ValueError(f"--scheduler-file {scheduler_file}: expected a JSON object with the scheduler's \"address\" "
                         "(as `dask scheduler --scheduler-file FILE` writes it), got something else")
    return address


def _failure_of(err: BaseException) -> dict:
    return {"type": type(err).__name__, "message": str(err), "traceback": None}


def execute(specs: list, store: RunStore, run, workers: int | None = None, scheduler: str | None = None,
            scheduler_file: str | None = None, retry_failed: bool = False, progress: str | bool = "runs",
            connect_timeout: float = CONNECT_TIMEOUT) -> Outcome:
    """Run (`run`) every job the store lacks (and, with `retry_failed`, every stored failure) and
    store each outcome."""
    todo = sorted((s for s in specs if not store.done(s, retry_failed)), key=lambda s: -s.cost())
    out = Outcome(skipped=len(specs) - len(todo))
    if not todo:
        return out
    workers = workers or os.cpu_count() or 1
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(todo), desc=progress if isinstance(progress, str) else "runs")

    storing = [False]

    def interrupted(signum: int) -> Interrupted:
        return Interrupted(signum, f"{len(store.lines)} finished runs are stored in {store.folder}, "
                           f"{len(todo) - out.ran} were not run; run the same command again to resume where it stopped")

    def on_signal(signum: int) -> None:                          # in one process: stop the run in flight at once
        if in_process[0] and not storing[0]:
            raise interrupted(signum)

    in_process = [False]
    signals = stop_on_signals(on_signal)
    stop = signals.__enter__()
    runner: _Local | _Dask | None = None
    try:
        if scheduler or scheduler_file:
            runner = _Dask(scheduler, scheduler_file, run, connect_timeout)
        elif workers > 1:
            runner = _Local(workers, run)
        queue = list(todo)
        attempts: dict[Any, int] = {}
        running: dict[Any, Any] = {}                             # future -> its job
        spent = {"seconds": 0.0, "cost": 0.0}

        def store_outcome(spec, result):
            if stop and "failure" in result:                     # it failed once a signal had come: because of it
                raise interrupted(stop.signum)                   # (inside a Numba kernel, the interruption comes
            storing[0] = True                                    # back as SystemError); not stored, run on resume
            try:
                _store(spec, result)
            finally:
                storing[0] = False
            if stop:
                raise interrupted(stop.signum)

        def _store(spec, result):
            if "record" in result:
                store.add_record(spec, result["record"])
                spent["seconds"] += result["record"].get("seconds", 0.0)
                spent["cost"] += spec.cost()
            elif "result" in result:
                store.add_result(spec, result["result"])
                spent["seconds"] += result["result"].get("seconds", 0.0)
                spent["cost"] += spec.cost()
            else:
                store.add_failure(spec, result["failure"])
                out.failed += 1
            out.ran += 1
            if bar is not None:
                left = sum(s.cost() for s in queue) + sum(s.cost() for s in running.values())
                eta = left * spent["seconds"] / spent["cost"] / (runner.slots if runner else 1) if spent["cost"] else None
                bar.set_postfix_str(f"failed {out.failed}" + (f", ~{eta / 60:.1f} min left" if eta is not None else ""))
                bar.update()

        if runner is None:                                       # one worker: in this process
            in_process[0] = True
            while queue:
                spec = queue.pop(0)
                store_outcome(spec, run(spec))
            return out
        while queue or running:
            broken = False
            while queue and len(running) < runner.slots:
                try:
                    fut = runner.submit(queue[0])
                except BrokenProcessPool:                        # a worker died since the last wait: the pool
                    broken = True                                # refuses work before any future says so
                    break
                running[fut] = queue.pop(0)
            # a broken pool: store what finished before it broke; the rest goes back in the queue, below
            done, _ = wait(list(running), timeout=0 if broken else 0.5, return_when=FIRST_COMPLETED)
            if stop and not done:
                raise interrupted(stop.signum)
            for fut in done:
                try:
                    result = fut.result()
                except BrokenProcessPool:                        # a worker died: the whole local pool is gone
                    broken = True
                    continue
                except Exception as err:                         # e.g. the cluster gave up on the task
                    result = {"failure": _failure_of(err)}
                store_outcome(running.pop(fut), result)
            if broken:                                           # every run in flight goes back in the queue
                inflight = list(running.values())
                running.clear()
                runner.close(now=True)
                runner = _Local(workers, run)
                for spec in reversed(inflight):
                    attempts[spec] = attempts.get(spec, 0) + 1
                    if attempts[spec] < MAX_ATTEMPTS:
                        queue.insert(0, spec)
                    else:
                        store_outcome(spec, {"failure": {
                            "type": "BrokenProcessPool", "traceback": None,
                            "message": f"a worker process died {MAX_ATTEMPTS} times while this run was in flight "
                                       "(killed by the operating system, out of memory?)"}})
        return out
    except Interrupted:
        if runner is not None:
            runner.close(now=True)
            runner = None
        raise
    finally:
        signals.__exit__(None, None, None)
        if runner is not None:
            runner.close()
        if bar is not None:
            bar.close()
