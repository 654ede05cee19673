"""The one pipeline of every experiment.

An experiment (the study's grids, `power`, `truncation`, `online`) is its jobs, a top-level function
that runs one job, and a `build` that turns what the store holds into tables, figures and a report.
`run_experiment` is the path between them, written once::

    check the folders -> run the jobs the store lacks (`run_into_store`) -> describe the run (`run_meta`)
    -> build the outputs from the store alone -> copy the named figures

so resuming, failures, interruption and the outputs' provenance behave the same in every command.
The job function reaches the executor through `scratch_rnn.runs.failures.safely`.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Callable

from .._files import check_writable
from .command import run_into_store, run_meta
from .store import RunStore


def _stored(store: RunStore, jobs: list) -> tuple[list, list]:
    return store.results(jobs), store.failures(jobs)


def run_experiment(out: Path, store_meta: dict, jobs: list, job_runner: Callable[[Any], dict], build: Callable[..., dict],
                   run: dict, described: dict, figures: Path | None = None, figure_keys: tuple[str, ...] = (),
                   stored: Callable[[RunStore, list], tuple[list, list]] = _stored,
                   decode_line: Callable[[dict], None] | None = None, timing=None) -> dict:
    """Run (or resume) an experiment's jobs in `out` and build its outputs there from the store.

    Args:
        out: The output folder, which holds the run store.
        store_meta: What the store is for (``{"command": ..., "protocol": ...}``): a store written for
            other values is refused, so a protocol never mixes with another.
        jobs: The jobs (frozen dataclasses with a ``cost()``).
        job_runner: A top-level function, job -> ``{"record"|"result": ...}`` or ``{"failure": ...}`` (`safely`).
        build: ``build(out, results, failures, meta) -> dict`` with at least ``"files"`` and ``"failures"``.
        run: The execution options (`run_into_store`).
        described: What the outputs' meta records beside the store's (seed, quick, engine, ...).
        figures: A folder to copy the figures named by `figure_keys` into, or None.
        figure_keys: Keys of ``build(...)["files"]`` that are figures to copy.
        stored: ``(store, jobs) -> (results, failures)``: how the experiment reads its store back
            (default: the store's job results and failures).
        decode_line: The experiment's decoder of one stored line, raising for a line that is no
            complete run (the study's records); such a line is set aside (`store.line_check`).
        timing: The experiment's ``prepare(jobs)`` and ``calibrate(jobs)``, for the estimate the
            command starts with (`run_into_store`), or None.

    Returns:
        What `build` returned, with ``"seconds"`` (wall time of the runs), ``"outcome"`` (`Outcome`)
            and, for each copied figure, ``files["figures_<key>"]``.
    """
    out = check_writable(out)
    if figures is not None:
        figures = check_writable(figures, "--figures")
    store, outcome, seconds = run_into_store(jobs, out, store_meta, run, job_runner, decode_line, timing)
    meta = run_meta(store.meta, seconds, described)
    res = build(out, *stored(store, jobs), meta)
    if figures is not None:
        for key in figure_keys:
            if key in res["files"]:
                res["files"][f"figures_{key}"] = Path(shutil.copy(res["files"][key], figures))
    return {**res, "seconds": seconds, "outcome": outcome}
