"""The times the README and the pages state for the commands a new user runs first, measured on this
machine in one run and written with its CPU:

    python benchmarks/command_times.py [--out benchmarks/results] [--skip-full]

* the fast tests, ``python -m pytest -m "not slow"``, cold (Numba's cache of this tree removed first,
  as in a fresh clone) and warm (run again at once);
* the whole suite, ``python -m pytest`` (warm), unless --skip-full;
* ``scratch-rnn gradcheck`` and ``scratch-rnn reproduce --quick`` into a fresh folder.

Each is wall time and the CPU time of its processes (user + system, children included). Writes
command_times.md and command_times.json.
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scratch_rnn._provenance import measured_on
from scratch_rnn.bench.report import write_table

ROOT = Path(__file__).resolve().parents[1]


def _clear_numba_cache() -> int:
    gone = 0
    for pattern in ("*.nbi", "*.nbc"):
        for f in ROOT.rglob(pattern):
            f.unlink()
            gone += 1
    return gone


def _shown(argv: list[str]) -> str:
    """The command as a user types it: no interpreter or install path, the temporary folder as OUT."""
    words = argv[2:] if argv[1:2] == ["-m"] else ["scratch-rnn", *argv[1:]]
    words = ["OUT" if w.startswith(tempfile.gettempdir()) else f'"{w}"' if " " in w else w for w in words]
    return " ".join(["python -m"] + words if argv[1:2] == ["-m"] else words)


def _timed(name: str, argv: list[str], cwd: Path) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    tail = (out.stdout + out.stderr).strip().splitlines()[-1:] or [""]
    print(f"{name}: {wall:.1f} s wall, {cpu:.1f} s CPU, exit {out.returncode}: {tail[0]}", flush=True)
    return {"name": name, "command": _shown(argv), "wall_s": wall, "cpu_s": cpu,
            "exit": out.returncode, "last_line": tail[0]}


def table(rows: list[dict], where: str) -> list[str]:
    """The markdown table of the measured rows."""
    lines = [f"Wall and CPU time of the first commands, measured in one run on {where}.", "",
             "| what | command | wall | CPU | exit |", "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['name']} | `{r['command']}` | {r['wall_s']:.0f} s | {r['cpu_s']:.0f} s | {r['exit']} |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    ap.add_argument("--skip-full", action="store_true", help="leave out the whole suite")
    args = ap.parse_args()
    py = sys.executable
    rows = []
    removed = _clear_numba_cache()
    rows.append({**_timed("fast tests, cold", [py, "-m", "pytest", "-q", "-m", "not slow", "-p", "no:cacheprovider"], ROOT),
                 "numba_cache_files_removed": removed})
    rows.append(_timed("fast tests, warm", [py, "-m", "pytest", "-q", "-m", "not slow", "-p", "no:cacheprovider"], ROOT))
    if not args.skip_full:
        rows.append(_timed("whole suite, warm", [py, "-m", "pytest", "-q", "-p", "no:cacheprovider"], ROOT))
    with tempfile.TemporaryDirectory() as tmp:
        scratch = shutil.which("scratch-rnn") or "scratch-rnn"
        rows.append(_timed("gradcheck", [scratch, "gradcheck"], Path(tmp)))
        rows.append(_timed("reproduce --quick", [scratch, "reproduce", "--quick", "--out", str(Path(tmp) / "quick")],
                           Path(tmp)))
    where = measured_on()
    paths = write_table(table(rows, where), {"rows": rows, "cpu_text": where, "env_OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE")},
                        args.out, "command_times")
    print("wrote " + ", ".join(map(str, paths)))


if __name__ == "__main__":
    main()
