"""The run store: every finished run, appended at once to one JSON-lines file in the output folder.

``DIR/runs.jsonl`` holds one line per finished run, ``{"key", "host", "record"}`` for a run that
trained, or ``{"key", "host", "spec", "failure"}`` for one that raised (its error and traceback).
The key is a hash of the run's spec and the package version. ``DIR/store.json`` names what the
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

from .records import RunRecord
from .specs import RunSpec

RUNS, META = "runs.jsonl", "store.json"


def _version() -> str:
    from .. import __version__
    return __version__


def run_key(spec) -> str:
    """A hash of the spec's (or job's) fields and the package version: the same run, the same key."""
    text = json.dumps({"kind": type(spec).__name__, **asdict(spec)} if not isinstance(spec, RunSpec) else asdict(spec),
                      sort_keys=True) + "|" + _version()
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

    def add_record(self, record: RunRecord) -> None:
        self._append({"key": run_key(record.spec), "host": socket.gethostname(), "record": record.to_dict()})

    def add_result(self, job, result: dict) -> None:
        """A finished job of another kind than a training run (a frozen dataclass) and its result."""
        self._append({"key": run_key(job), "host": socket.gethostname(), "job": asdict(job), "result": result})

    def results(self, jobs) -> list[tuple[Any, dict]]:
        """(job, result) of the finished `jobs`, in their order."""
        return [(j, self.lines[k]["result"]) for j, k in zip(jobs, map(run_key, jobs))
                if "result" in self.lines.get(k, {})]

    def add_failure(self, spec: RunSpec, failure: dict) -> None:
        self._append({"key": run_key(spec), "host": socket.gethostname(), "spec": asdict(spec), "failure": failure})

    def done(self, spec: RunSpec, retry_failed: bool = False) -> bool:
        line = self.lines.get(run_key(spec))
        return line is not None and not (retry_failed and "failure" in line)

    def records(self, specs=None) -> list[RunRecord]:
        """The stored records, of `specs` (in their order) when given."""
        keys = [run_key(s) for s in specs] if specs is not None else list(self.lines)
        return [RunRecord.from_dict(self.lines[k]["record"]) for k in keys if "record" in self.lines.get(k, {})]

    def failures(self, specs=None) -> list[tuple[Any, dict]]:
        """(spec, failure) of the stored failures, of `specs` (RunSpecs or jobs, in their order) when given."""
        if specs is not None:
            return [(s, self.lines[k]["failure"]) for s, k in zip(specs, map(run_key, specs))
                    if "failure" in self.lines.get(k, {})]
        return [(RunSpec(**line["spec"]), line["failure"]) for line in self.lines.values() if "failure" in line]


def check_writable(folder, option: str = "--out") -> Path:
    """Create `folder` and write a file in it, or raise ValueError naming the option, before any work."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as err:
        raise ValueError(f"{option} {folder}: expected a folder this process can write, got {err.strerror or err}") \
            from None
    return folder
