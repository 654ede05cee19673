"""The README's first command as a person sees it in its first minutes: when the estimate appears,
when the first run is stored, what a Ctrl-C costs, and what the same command says when run again.

    python benchmarks/first_minutes.py [--interrupt-at 120] [--out benchmarks/results]

Starts ``scratch-rnn reproduce`` into a temporary folder, watches its stderr and its run store, sends
SIGINT after `--interrupt-at` seconds, then runs the same command again for 45 s and interrupts it
too. Writes first_minutes.{json,md}: the seconds to each line, the runs stored, the snapshots of the
runs in flight, the exit codes and the messages, with the CPU.
"""
from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from scratch_rnn._provenance import measured_on, provenance


def watch(argv: list[str], out: Path, stop_after: float) -> dict:
    """Run `argv`, note when each line of stderr and the first stored run appear, SIGINT it after `stop_after` s."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    lines: list[tuple[float, str]] = []

    def read():
        buf = ""
        while True:
            ch = proc.stderr.read(1)
            if not ch:
                break
            if ch in "\r\n":
                if buf.strip():
                    lines.append((time.perf_counter() - t0, buf.strip()))
                buf = ""
            else:
                buf += ch
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    first_stored = None
    runs = out / "runs.jsonl"
    before = runs.read_bytes().count(b"\n") if runs.exists() else 0
    while time.perf_counter() - t0 < stop_after and proc.poll() is None:
        if first_stored is None and runs.exists() and runs.read_bytes().count(b"\n") > before:
            first_stored = time.perf_counter() - t0
        time.sleep(0.2)
    snapshots = len(list((out / "inflight").glob("*.pkl"))) if (out / "inflight").is_dir() else 0
    t1 = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=120)
    exit_s = time.perf_counter() - t1
    reader.join(timeout=5)

    def when(text):
        return next((round(t, 1) for t, line in lines if text in line), None)
    return {"estimate_line_s": when("training runs in all"), "compile_line_s": when("compiling the Numba kernels"),
            "resuming_line_s": when("resuming:"), "first_stored_s": None if first_stored is None else round(first_stored, 1),
            "interrupted_at_s": round(t1 - t0, 1), "exit_after_signal_s": round(exit_s, 2), "returncode": proc.returncode,
            "stored": runs.read_bytes().count(b"\n") if runs.exists() else 0, "snapshots_in_flight": snapshots,
            "first_lines": [line for _, line in lines if not line.startswith("runs:")][:5],
            "last_line": lines[-1][1] if lines else None}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--interrupt-at", type=float, default=120.0)
    ap.add_argument("--out", default="benchmarks/results")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "results"
        cmd = [sys.executable, "-m", "scratch_rnn.cli", "reproduce", "--out", str(out)]
        first = watch(cmd, out, args.interrupt_at)
        again = watch(cmd, out, 45.0)
    res = {"first": first, "again": again, **provenance()}
    folder = Path(args.out)
    (folder / "first_minutes.json").write_text(json.dumps(res, indent=1))
    md = ["# `scratch-rnn reproduce`: its first minutes, as a person sees them", "",
          f"{measured_on()}; measured by `python benchmarks/first_minutes.py`.", "",
          "| | first call | the same command again |", "|---|---|---|"]
    for key, label in (("compile_line_s", "line before compiling the kernels (s)"),
                       ("estimate_line_s", "runs, phases and estimate printed (s)"),
                       ("resuming_line_s", "`resuming: N of M stored` printed (s)"),
                       ("first_stored_s", "first run stored by this call (s)"), ("interrupted_at_s", "SIGINT sent at (s)"),
                       ("exit_after_signal_s", "exited after the signal (s)"), ("returncode", "exit code"),
                       ("stored", "runs in the store after it"),
                       ("snapshots_in_flight", "snapshots of runs in flight when interrupted")):
        md.append(f"| {label} | {first[key]} | {again[key]} |")
    md += ["", "What it printed first (the first call):", "", "```", *first["first_lines"], "```", "",
           "Its last line:", "", "```", first["last_line"] or "", "```", "",
           "The same command again:", "", "```", *again["first_lines"], "```", ""]
    (folder / "first_minutes.md").write_text("\n".join(md))
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
