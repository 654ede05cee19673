"""File helpers every command shares: the ground floor, importing nothing from the package."""
from __future__ import annotations

import csv
import json
import os
from pathlib import Path


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


def write_csv(rows: list[dict], path: Path) -> Path:
    """`rows` (dicts with the same keys, in order) as a CSV file with a header; returns `path`."""
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def write_json(obj, path: Path) -> Path:
    """`obj` as JSON (NumPy scalars as floats); returns `path`."""
    path.write_text(json.dumps(obj, default=float))
    return path
