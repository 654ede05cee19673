"""File helpers every command shares: the ground floor, importing nothing from the package."""
from __future__ import annotations

import csv
import errno
import json
import os
from pathlib import Path


def _user(uid: int) -> str:
    import pwd
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def access_error(path, action: str, what: str = "") -> ValueError:
    """A ValueError for a file this process may not `action` ("read", "write to"): the file, its owner
    and mode, the user this process runs as, and what to do."""
    path = Path(path)
    try:
        st = path.stat()
        owner = f"owned by {_user(st.st_uid)}, mode {st.st_mode & 0o777:o}"
    except OSError:
        owner = "its folder refuses access"
    return ValueError(f"{what}{path}: cannot {action} it as user {_user(os.geteuid())} ({owner}); run as its owner, "
                      "change its permissions, or use another folder")


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


def atomic_write(path, data: str | bytes) -> Path:
    """Write `data` under a temporary name in `path`'s folder, then rename it over `path`: a reader
    sees the old file or the new one, never half of one, and a full disk leaves the old file as it
    was (the OSError, ENOSPC, is raised with the folder's name)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        if err.errno == errno.ENOSPC:
            raise OSError(errno.ENOSPC, f"no space left to write {path.name} ({len(data)} bytes)", str(path.parent)) \
                from None
        raise
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def save_figure(fig, path) -> Path:
    """`fig.savefig` at 110 dpi, atomically (`atomic_write`)."""
    import io
    buf = io.BytesIO()
    fig.savefig(buf, dpi=110, format=Path(path).suffix.lstrip(".") or "png")
    return atomic_write(path, buf.getvalue())


def write_csv(rows: list[dict], path: Path) -> Path:
    """`rows` (dicts with the same keys, in order) as a CSV file with a header, atomically; returns `path`."""
    import io
    buf = io.StringIO(newline="")
    w = csv.DictWriter(buf, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
    return atomic_write(path, buf.getvalue())


def write_json(obj, path: Path, indent: int | None = None) -> Path:
    """`obj` as JSON (NumPy scalars as floats), atomically; returns `path`."""
    return atomic_write(path, json.dumps(obj, default=float, indent=indent))
