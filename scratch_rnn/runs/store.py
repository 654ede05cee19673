"""The run store: every finished run, appended at once to one JSON-lines file in the output folder.

A run is a *job*: a frozen dataclass (the study's `RunSpec`, a truncation job, ...). ``DIR/runs.jsonl``
holds one line per finished job: ``{"key", "host", "record"}`` for a training run's record,
``{"key", "host", "job", "result"}`` for another job's result, or ``{"key", "host", "spec", "failure"}``
for one that raised (its error and traceback). The key is a hash of the job and the package
version (`run_key`). The store knows no job type: the experiment that owns the jobs decodes them
(`RunStore.record_dicts`, `RunStore.failures` with ``decode``). ``DIR/store.json`` names what the
store belongs to (the command's protocol and the package version); a folder written under another
protocol or version is refused, never mixed.

One process writes: a writer holds an advisory lock on ``DIR/.lock`` (``fcntl.flock``) for as long as
it runs, and a second writer is refused at once, naming the PID that holds it (or waits, with
``wait=True``). Each line is flushed and synced before the next result is taken, so a crash loses at
most the run in flight. When a writer opens the store, a torn last line (the process died while
writing it) is dropped, so that run is done again, and a damaged line (not JSON, or no complete run of
the experiment: `line_check`) is set aside into ``DIR/runs.quarantine.jsonl`` with its line number,
so it costs only itself. A file the user may not read or write is named with its owner and mode
(`_files.access_error`) before any run. A reader
(``read_only=True``, as ``scratch-rnn report``) takes no lock and changes nothing: it skips what a
writer would drop or set aside. A full disk while appending leaves the file as it was before the
line (`DiskFull`).
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import socket
import sys
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .._files import access_error, atomic_write

RUNS, META, LOCK, QUARANTINE = "runs.jsonl", "store.json", ".lock", "runs.quarantine.jsonl"
INFLIGHT = "inflight"   # the folder of the snapshots of runs in flight (`scratch_rnn.runs.inflight`)


class DiskFull(OSError):
    """The store's filesystem is full: the line was not stored, and the file is as it was before it."""

    def __init__(self, folder: Path, needed: int):
        super().__init__(errno.ENOSPC, f"no space left on the device of {folder} (a line of {needed} bytes did not "
                         "fit); the store is intact: free some space and run the same command again to resume")
        self.folder, self.needed = folder, needed


def _version() -> str:
    from .._version import __version__
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
    """Open (or create) the store in `folder` for runs under `meta` (a JSON-able dict).

    Args:
        folder: The output folder.
        meta: What the store belongs to (the command and its protocol); another is refused.
        fresh: Move the runs already there aside (into ``previous-TIME/``) and start over.
        wait: When another process writes the store, wait for it instead of refusing at once.
        read_only: Read an existing store without locking or changing it (``scratch-rnn report``).
        decode: ``decode(line)`` raises (ValueError, TypeError, KeyError) for a line that does not
            decode into a complete run of the experiment that owns the store (`line_check`); such a
            line is set aside like one that is not JSON.
    """

    def __init__(self, folder, meta: dict | None, fresh: bool = False, wait: bool = False, read_only: bool = False,
                 decode=None):
        self.folder = Path(folder)
        self.decode = decode
        self.path, self.meta_path = self.folder / RUNS, self.folder / META
        self.read_only = read_only
        self._lock: int | None = None
        self.quarantined: list[int] = []                      # line numbers set aside (or skipped, reading)
        if read_only:
            self.meta = self._read_meta()
            self.lines = self._load()
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        self._acquire(wait)
        meta = json.loads(json.dumps({**(meta or {}), "scratch_rnn": _version()}, default=list))
        if fresh:
            self._move_aside()
        if self.meta_path.exists():
            stored = self._read_meta()
            diff = _differences(stored, meta)
            if diff:
                self.close()
                if stored.get("command") != meta.get("command"):
                    what = f"the runs of another command ({stored.get('command')!r}, not {meta.get('command')!r})"
                else:
                    shown = [d if len(d) <= 160 else d[:157] + "..." for d in diff[:4]]
                    what = ("runs of another protocol or package version (" + "; ".join(shown)
                            + (f"; and {len(diff) - 4} more differences" if len(diff) > 4 else "") + ")")
                raise ValueError(f"--out {self.folder}: holds {what}, not mixed with these; use another --out, or "
                                 "--fresh to move the old runs aside and start over")
        else:
            atomic_write(self.meta_path, json.dumps(meta, indent=1))
        self.meta = meta
        self.lines = self._load()
        try:
            if self.path.exists():
                open(self.path, "a").close()                    # appendable, checked before any run is trained
        except PermissionError:
            self.close()
            raise access_error(self.path, "write to", "--out: the store's ") from None

    def _read_meta(self) -> dict:
        if not self.meta_path.is_file():
            raise ValueError(f"{self.folder}: expected a run store (with {META}), found none")
        try:
            meta = json.loads(self.meta_path.read_text())
        except PermissionError:
            raise access_error(self.meta_path, "read", "the store's description ") from None
        except IsADirectoryError:
            raise ValueError(f"{self.meta_path}: expected the store's description (a JSON file), got a folder") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ValueError(f"{self.meta_path}: not valid JSON ({err}): the store's description is damaged; "
                             "restore it, or use --fresh to move the runs aside and start over") from None
        if not isinstance(meta, dict):
            raise ValueError(f"{self.meta_path}: expected a JSON object, got {type(meta).__name__}")
        return meta

    def _acquire(self, wait: bool) -> None:
        import fcntl
        try:
            fd = os.open(self.folder / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        except PermissionError:
            raise access_error(self.folder / LOCK, "open for writing", "--out: the store's lock ") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise ValueError(f"--out {self.folder}: another process (PID {holder}) is writing this store now; "
                             "let it finish, or pass --wait to start when it does") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._lock = fd

    def close(self) -> None:
        """Release the writer's lock (the store can still be read, not appended to)."""
        if self._lock is not None:
            os.close(self._lock)                              # closing the descriptor releases the flock
            self._lock = None

    def __enter__(self) -> "RunStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _move_aside(self) -> None:
        if not (self.path.exists() or self.meta_path.exists()):
            return
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        aside = self.folder / f"previous-{stamp}"
        aside.mkdir()
        for p in (self.path, self.meta_path, self.folder / QUARANTINE, self.folder / INFLIGHT):
            if p.exists():                                       # the runs in flight's snapshots start over too
                p.rename(aside / p.name)

    def _load(self) -> dict:
        """{key: line} of the complete, well-formed lines (a later line of a key, a retry, replaces an
        earlier one). A writer drops a torn last line and sets damaged lines aside; a reader skips both."""
        if not self.path.exists():
            return {}
        if not self.path.is_file():
            raise ValueError(f"{self.path}: expected the store's runs (a JSON-lines file), got a folder or another "
                             "non-file; move it away (its runs are then run again)")
        try:
            data = self.path.read_bytes()
        except PermissionError:
            raise access_error(self.path, "read", "the store's runs ") from None
        end = data.rfind(b"\n") + 1                         # everything after the last newline is torn
        lines: dict = {}
        good: list[bytes] = []
        bad: list[dict] = []
        for n, raw in enumerate(data[:end].splitlines(keepends=True), 1):
            try:
                line = json.loads(raw)
                problem = _problem(line)
                if problem is None and self.decode is not None:
                    self.decode(line)
            except (json.JSONDecodeError, UnicodeDecodeError) as err:
                problem = f"not valid JSON ({err})"
            except (ValueError, TypeError, KeyError, AttributeError) as err:
                problem = f"not a complete run of this store ({type(err).__name__}: {err})"
            if problem:
                bad.append({"file": str(self.path), "line": n, "problem": problem,
                            "text": raw.decode(errors="replace").rstrip("\n")})
                continue
            lines[line["key"]] = line
            good.append(raw)
        self.quarantined = [b["line"] for b in bad]
        if bad:
            print(f"{self.path}: {len(bad)} damaged line(s) " + ("skipped" if self.read_only else
                  f"set aside into {self.folder / QUARANTINE}") + f" (line {', '.join(str(b['line']) for b in bad[:10])}"
                  + (", ..." if len(bad) > 10 else "") + f"; the first: {bad[0]['problem']}); "
                  f"{len(lines)} runs kept", file=sys.stderr)
        if not self.read_only and (bad or end < len(data)):
            if bad:
                with open(self.folder / QUARANTINE, "a") as f:
                    f.writelines(json.dumps(b) + "\n" for b in bad)
            atomic_write(self.path, b"".join(good))
        return lines

    def _append(self, line: dict) -> None:
        if self.read_only:
            raise ValueError(f"{self.folder}: opened read-only, not appended to")
        text = json.dumps(line, default=float) + "\n"
        size = self.path.stat().st_size if self.path.exists() else 0
        try:
            with open(self.path, "a") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
        except OSError as err:
            if err.errno != errno.ENOSPC:
                raise
            with open(self.path, "r+b") as f:                     # no torn line left behind
                f.truncate(size)
            raise DiskFull(self.folder, len(text)) from None
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


def _problem(line) -> str | None:
    """What is wrong with a parsed line, or None for a run: a JSON object with a key and one of a
    record, a result or a failure."""
    if not isinstance(line, dict):
        return f"expected a JSON object, got {type(line).__name__}"
    if not isinstance(line.get("key"), str):
        return "expected a 'key'"
    if not any(isinstance(line.get(k), dict) for k in ("record", "result", "failure")):
        return "expected a 'record', 'result' or 'failure' object"
    if "result" in line and not isinstance(line.get("job"), dict):
        return "expected the 'job' of its 'result'"
    if "failure" in line and not (isinstance(line.get("spec"), dict)
                                  and all(isinstance(line["failure"].get(k), str) for k in ("type", "message"))):
        return "expected the 'spec' of its 'failure', and the failure's 'type' and 'message'"
    return None


def line_check(jobs, decode_line=None):
    """A store's `decode` for `jobs`: a line under the key of one of them must hold exactly that job's
    fields (a line edited by hand, or copied from another store, is not taken for the job's result),
    and every line must pass `decode_line` (the experiment's own decoder, e.g. the study's records)."""
    by_key = {run_key(j): j for j in jobs}

    def check(line: dict) -> None:
        if decode_line is not None:
            decode_line(line)
        job = by_key.get(line["key"])
        if job is None:
            return
        stored = line["record"].get("spec") if "record" in line else line["job" if "result" in line else "spec"]
        if stored != json.loads(json.dumps(asdict(job))):
            raise ValueError("its fields are not those of the job its key names")
    return check

