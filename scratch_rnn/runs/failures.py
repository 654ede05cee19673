"""The one record of a job that failed, and the one wrapper that makes a job's exception that record.

A job that raises is a result, not the end of the sweep. The store keeps ``{"type", "message",
"traceback"}`` (`failure_record`) under the job's key; ``--retry-failed`` runs it again. Every
experiment hands its job function to the executor through `safely`, which returns
``{key: result}`` or ``{"failure": failure_record(err)}``; a worker process that died under a job
`MAX_ATTEMPTS` times is stored as `WORKER_DIED`.
"""
from __future__ import annotations

import traceback
from functools import partial
from typing import Any, Callable

MAX_ATTEMPTS = 2        # a run in flight when a worker process died is tried this many times, then stored as failed

#: the failure stored for a job whose worker died `MAX_ATTEMPTS` times
WORKER_DIED = {"type": "BrokenProcessPool", "traceback": None,
               "message": f"a worker process died {MAX_ATTEMPTS} times while this run was in flight "
                          "(killed by the operating system, out of memory?)"}


def failure_record(err: BaseException, with_traceback: bool = True) -> dict:
    """What the store keeps of a job that raised: ``{"type", "message", "traceback"}`` (the traceback
    as text, or None where there is none to give, e.g. a worker process that died)."""
    return {"type": type(err).__name__, "message": str(err),
            "traceback": traceback.format_exc() if with_traceback else None}


def _safely(run_job: Callable[[Any], Any], key: str, job) -> dict:
    from .._numba.threads import one_blas_thread
    try:
        with one_blas_thread():
            return {key: run_job(job)}
    except Exception as err:
        return {"failure": failure_record(err)}


def safely(run_job: Callable[[Any], Any], key: str = "result") -> Callable[[Any], dict]:
    """`run_job` (a top-level function: job -> a JSON-able result) as the executor runs it: BLAS on one
    thread (the executor is parallel over jobs, one process per core), the result as ``{key: result}``
    (``"record"`` for a training run of the study, ``"result"`` for any other job) and an exception as
    ``{"failure": failure_record(err)}``. The wrapper pickles, so it travels to worker processes."""
    return partial(_safely, run_job, key)
