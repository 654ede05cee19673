"""The run store: every finished run, appended at once to one JSON-lines file in the output folder.

A run is a *job*: a frozen dataclass (the study's `RunSpec`, a truncation job, ...). ``DIR/runs.jsonl``
holds one line per finished job: ``{"key", "host", "record"}`` for a training run's record,
``{"key", "host", "job", "result"}`` for another job's result, or ``{"key", "host", "spec", "failure"}``
for one that raised (its error and traceback). The key is a hash of the job and the package
version (`run_key`). The store knows no job type: the experiment that owns the jobs decodes them
(`RunStore.record_dicts`, `RunStore.failures` with ``decode``). ``DIR/store.json`` names what the
store belongs to (the command's protocol and the package version); a folder written under another
protocol or version is refused, never mixed. One process, the one driving the sweep, writes; each
line is flushed and synced before the next result is taken, so a crash loses at most the run in
flight, and a torn last line (the process died while writing it) is dropped when the store is
opened, so that run is done again.
"""
from __future__ import annotations

import hashlib
import json
import os
import socket
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

RUNS, META = "runs.jsonl", "store.json"


def _version() -> str:
    from .. import __version__
    return __version__


def run_key(job) -> str:
    """A hash of the job's fields, its kind and the package version: the same run, the same key. A
    job class may name its kind itself (``STORE_KIND``; the study's `RunSpec` names none, which keeps
    the keys of the stores written before other kinds of job existed)."""
    kind = getattr(type(job), "STORE_KIND", type(job).__name__)
    fields = asdict(job) if kind is None else {"kind": kind, **asdict(job)}
    text = json.dumps(fields, sort_keys=True) + "|" + _version()
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _differences(old, new, prefix="") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for k in sorted(set(old) | set(new)):
            out += _differences(old.get(k), new.get(k), f"{prefix}{k}.")
        return out
    return [] if old == new else [f"{prefix[:-1]}: {json.dumps(old)} in the store, {json.dumps(new)} now"]


class RunStore:
    """Open (or create) the store in `folder` for runs under `meta` (a JSON-able dict)."""

    def __init__(self, folder, meta: dict, fresh: bool = False):
        self.folder = Path(folder)
        self.path, self.meta_path = self.folder / RUNS, self.folder / META
        meta = json.loads(json.dumps({**meta, "scratch_rnn": _version()}, default=list))
        if fresh:
            self._move_aside()
        if self.meta_path.exists():
            stored = json.loads(self.meta_path.read_text())
            diff = _differences(stored, meta)
            if diff:
                raise ValueError(f"--out {self.folder}: holds runs of another protocol or package version, not mixed "
                                 f"with these ({'; '.join(diff)}); use another --out, or --fresh to move the old "
                                 "runs aside and start over")
        else:
            self.folder.mkdir(parents=True, exist_ok=True)
            self.meta_path.write_text(json.dumps(meta, indent=1))
        self.meta = meta
        self.lines = self._load()

    def _move_aside(self) -> None:
        if not (self.path.exists() or self.meta_path.exists()):
            return
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        aside = self.folder / f"previous-{stamp}"
        aside.mkdir()
        for p in (self.path, self.meta_path):
            if p.exists():
                p.rename(aside / p.name)

    def _load(self) -> dict:
        """{key: line} of the complete lines; a torn last line is cut off the file."""
        if not self.path.exists():
            return {}
        data = self.path.read_bytes()
        end = data.rfind(b"\n") + 1                              # everything after the last newline is torn
        if end < len(data):
            with open(self.path, "r+b") as f:
                f.truncate(end)
        lines = {}
        for n, raw in enumerate(data[:end].splitlines(), 1):
            try:
                line = json.loads(raw)
            except json.JSONDecodeError as err:
                raise ValueError(f"{self.path}: line {n} is not valid JSON ({err}); the store is damaged") from None
            lines[line["key"]] = line                            # a later line (a retry) replaces an earlier one
        return lines

    def _append(self, line: dict) -> None:
        with open(self.path, "a") as f:
            f.write(json.dumps(line, default=float) + "\n")
            f.flush()
            os.fsync(f.fileno())
        self.lines[line["key"]] = line

    def add_record(self, job, record: dict) -> None:
        """A finished training run: its job and its record (a JSON-able dict)."""
        self._append({"key": run_key(job), "host": socket.gethostname(), "record": record})

    def add_result(self, job, result: dict) -> None:
        """A finished job of another kind than a training run (a frozen dataclass) and its result."""
        self._append({"key": run_key(job), "host": socket.gethostname(), "job": asdict(job), "result": result})

    def results(self, jobs) -> list[tuple[Any, dict]]:
        """(job, result) of the finished `jobs`, in their order."""
        return [(j, self.lines[k]["result"]) for j, k in zip(jobs, map(run_key, jobs))
                if "result" in self.lines.get(k, {})]

    def add_failure(self, job, failure: dict) -> None:
        self._append({"key": run_key(job), "host": socket.gethostname(), "spec": asdict(job), "failure": failure})

    def done(self, job, retry_failed: bool = False) -> bool:
        line = self.lines.get(run_key(job))
        return line is not None and not (retry_failed and "failure" in line)

    def record_dicts(self, jobs=None) -> list[dict]:
        """The stored records (dicts), of `jobs` (in their order) when given, else all of them."""
        keys = [run_key(s) for s in jobs] if jobs is not None else list(self.lines)
        return [self.lines[k]["record"] for k in keys if "record" in self.lines.get(k, {})]

    def failures(self, jobs=None, decode=None) -> list[tuple[Any, dict]]:
        """(job, failure) of the stored failures: of `jobs` (in their order) when given, else of every
        job in the store, each rebuilt from its stored fields by `decode` (a dict is kept as it is)."""
        if jobs is not None:
            return [(s, self.lines[k]["failure"]) for s, k in zip(jobs, map(run_key, jobs))
                    if "failure" in self.lines.get(k, {})]
        decode = decode or (lambda fields: fields)
        return [(decode(line["spec"]), line["failure"]) for line in self.lines.values() if "failure" in line]
