"""Running a list of jobs into a run store: a local process pool by default, a Dask cluster on request;
interruptible, resumable, and a failing run is a result, not the end of the sweep.

`execute` submits only the jobs the store lacks, at most one per free worker slot (local workers:
at most one per core, `local_workers`), one short job per slot first and then the longest first
(`order`), and appends every outcome to the store the moment it arrives. Where each job is (queued, in flight,
stored; back in the queue when its pool broke) is `schedule.Schedule`'s alone; what happens to an
outcome and to a signal is `_Recorder`'s; `_in_process` and `_with_pool` are the two ways to drive
them. A job is any frozen dataclass with a ``cost()`` (a relative estimate of its time); ``run``, a
top-level function (it travels to worker processes), turns it into ``{"record": dict}`` (a training
run's record, with its ``"seconds"``; the study's `runner.run_one_safe`), ``{"result": dict}`` (the
truncation study's jobs) or ``{"failure": dict}``. SIGINT or SIGTERM never interrupts the storing of
an outcome: with workers, it cancels what is pending, ends the workers within half a second and
raises `Interrupted` (the CLI exits 130 or 143 with a message that says how to resume); in one
process, it stops the run in flight (which is not stored; on resuming it continues from its last
snapshot, `inflight`).
"""
from __future__ import annotations

import json
import os
import signal
import sys
import time
from concurrent.futures import FIRST_COMPLETED, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from . import inflight
from .failures import WORKER_DIED, failure_record
from .progress import Estimate, span
from .schedule import Schedule
from .signals import Interrupted, stop_on_signals
from .store import RunStore

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
        except ValueError as err:                                # distributed's own parse of the address
            raise ValueError(f"{where}: not an address a Dask scheduler listens on ({err}); expected e.g. "
                             "tcp://host:8786") from None
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


class _Recorder:
    """What `execute` does with each outcome, and with a signal: store it, count it, move the bar.

    SIGINT or SIGTERM never interrupts the storing of an outcome. In one process a signal stops the run
    in flight at once (`in_process`); with workers it is read between waits (`check_stop`). A failure
    that arrives once a signal has come is the signal's doing (inside a Numba kernel the interruption
    comes back as SystemError): it is not stored, and runs again on resuming."""

    def __init__(self, store: RunStore, schedule: Schedule, out: Outcome, progress: str | bool, estimate: Estimate):
        self.store_, self.schedule, self.out, self.total = store, schedule, out, len(schedule.queue)
        self.progress, self.bar, self.estimate = progress, None, estimate
        self.in_process = self.storing = False

    def __enter__(self) -> _Recorder:
        self._signals = stop_on_signals(self._on_signal)
        self.stop = self._signals.__enter__()
        if self.progress:
            from tqdm.auto import tqdm
            self.bar = tqdm(total=self.total, desc=self.progress if isinstance(self.progress, str) else "runs",
                            bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]")
            self._show()                                         # one estimate, ours, from the first second
        return self

    def __exit__(self, *exc) -> None:
        self._signals.__exit__(None, None, None)
        if self.bar is not None:
            self.bar.close()

    def interrupted(self, signum: int) -> Interrupted:
        flying = len(self.schedule.in_flight)
        return Interrupted(signum, f"{len(self.store_.lines)} finished runs are stored in {self.store_.folder}, "
                           f"{self.total - self.out.ran} are not"
                           + (f" (the {flying} in flight lose at most their last half minute: their snapshots in "
                              f"{self.store_.folder / inflight.INFLIGHT} continue them)" if flying else "")
                           + "; run the same command again to resume where it stopped")

    def _on_signal(self, signum: int) -> None:
        if self.in_process and not self.storing:                 # in one process: stop the run in flight at once
            raise self.interrupted(signum)

    def check_stop(self) -> None:
        """Between waits: a signal that came raises `Interrupted`."""
        if self.stop:
            raise self.interrupted(self.stop.signum)

    def record(self, job, result: dict) -> None:
        """Store one outcome (``{"record"|"result"|"failure": dict}``), then raise `Interrupted` if a
        signal came meanwhile."""
        if self.stop and "failure" in result:
            raise self.interrupted(self.stop.signum)
        self.storing = True
        try:
            self._store(job, result)
        finally:
            self.storing = False
        self.check_stop()

    def _store(self, job, result: dict) -> None:
        kind = next(k for k in ("record", "result", "failure") if k in result)
        if kind == "record":
            self.store_.add_record(job, result["record"])
        elif kind == "result":
            self.store_.add_result(job, result["result"])
        else:
            self.store_.add_failure(job, result["failure"])
            self.out.failed += 1
        if kind != "failure":
            self.estimate.finished(result[kind].get("seconds", 0.0), job.cost())
        inflight.discard(self.store_.folder, job)               # its snapshot, once the outcome is stored
        self.out.ran += 1
        if self.bar is not None:
            self._show()
            self.bar.update()

    def _show(self) -> None:
        if self.bar is None:
            return
        left = self.estimate.seconds_left(self.schedule.left_cost())
        self.bar.set_postfix_str((f"failed {self.out.failed}, " if self.out.failed else "")
                                 + ("estimating" if left is None else f"{span(left)} left"), refresh=False)


def _in_process(schedule: Schedule, run, rec: _Recorder) -> None:
    """One worker: each job in this process, in turn."""
    rec.in_process = True
    while not schedule.done:
        job = schedule.submit(None)
        rec.record(schedule.finish(None), run(job))


def _with_pool(schedule: Schedule, runner: _Local | _Dask, fresh_pool, rec: _Recorder) -> None:
    """Workers: keep every slot busy, store outcomes as they come; a broken local pool is replaced
    (`fresh_pool()`) and its jobs in flight go back in the queue (`Schedule.pool_broke`)."""
    interrupted = False
    try:
        while not schedule.done:
            broken = False
            while schedule.can_submit(runner.slots):
                try:
                    fut = runner.submit(schedule.head())
                except BrokenProcessPool:                    # a worker died since the last wait: the pool
                    broken = True                            # refuses work before any future says so
                    break
                schedule.submit(fut)
            # a broken pool: store what finished before it broke; the rest goes back in the queue, below
            done, _ = wait(list(schedule.in_flight), timeout=0 if broken else 0.5, return_when=FIRST_COMPLETED)
            if not done:
                rec.check_stop()
            for fut in done:
                try:
                    result = fut.result()
                except BrokenProcessPool:                    # a worker died: the whole local pool is gone
                    broken = True
                    continue
                except Exception as err:                     # e.g. the cluster gave up on the task
                    result = {"failure": failure_record(err, with_traceback=False)}
                rec.record(schedule.finish(fut), result)
            if broken:
                runner.close(now=True)
                runner = fresh_pool()
                for job in schedule.pool_broke():
                    rec.record(job, {"failure": WORKER_DIED})
    except Interrupted:
        interrupted = True
        raise
    finally:
        runner.close(now=interrupted)


def order(jobs: list, slots: int) -> list:
    """The order to submit `jobs` in: first one short job per slot, so that finished results (and a
    measured estimate) come within minutes, then the rest longest first, so that no long run starts
    last and leaves the other workers idle at the end."""
    first = set(sorted(range(len(jobs)), key=lambda i: jobs[i].cost())[:slots]) if len(jobs) > 2 * slots else set()
    rest = sorted((j for i, j in enumerate(jobs) if i not in first), key=lambda j: -j.cost())
    return [jobs[i] for i in sorted(first)] + rest


def cores() -> int:
    """The CPUs this process may run on (its affinity, which a container or taskset narrows)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def worker_count(requested: int | None, jobs: int) -> int:
    """The local workers for `jobs` jobs: `requested` (default: one per core), at most one per core and
    one per job."""
    return max(1, min(requested or cores(), cores(), jobs))


def local_workers(requested: int | None, jobs: int) -> int:
    """`worker_count`, and a request beyond the cores said on stderr, naming both (a million workers
    would start a process per job and exhaust memory before finishing any)."""
    n = worker_count(requested, jobs)
    if requested is not None and requested > cores():
        print(f"--workers {requested}: more than this machine's {cores()} core(s); using {n} "
              f"(one per core, for {jobs} run(s) to do)", file=sys.stderr)
    return n


def execute(specs: list, store: RunStore, run, workers: int | None = None, scheduler: str | None = None,
            scheduler_file: str | None = None, retry_failed: bool = False, progress: str | bool = "runs",
            connect_timeout: float = CONNECT_TIMEOUT, prior: float | None = None) -> Outcome:
    """Run (`run`) every job the store lacks (and, with `retry_failed`, every stored failure) and
    store each outcome: in this process with one worker, else on a local pool or a Dask cluster.
    `prior`: seconds per unit of ``cost()`` on this machine (`progress.Estimate`), or None."""
    todo = [s for s in specs if not store.done(s, retry_failed)]
    out = Outcome(skipped=len(specs) - len(todo))
    if not todo:
        return out
    cluster = _Dask(scheduler, scheduler_file, run, connect_timeout) if scheduler or scheduler_file else None
    workers = local_workers(workers, len(todo)) if cluster is None else 0      # a cluster has its own
    slots = cluster.slots if cluster is not None else workers
    schedule = Schedule(order(todo, slots))
    estimate = Estimate(sum(j.cost() for j in todo), prior, slots)
    with _Recorder(store, schedule, out, progress, estimate) as rec:       # reached or refused before the bar
        if cluster is not None:
            _with_pool(schedule, cluster, None, rec)
        elif workers > 1:
            _with_pool(schedule, _Local(workers, run), lambda: _Local(workers, run), rec)
        else:
            _in_process(schedule, run, rec)
    return out
