"""``scratch-rnn bench``: forward+BPTT and a training step timed for every variant (numpy, numba, torch)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .options import POS_FLOAT


def add_parsers(sub) -> None:
    """Add this group's subcommands to the subparsers `sub`."""
    p = sub.add_parser("bench", help="time forward+BPTT and a training step: numpy, numba, torch, jax",
                       description="Time forward+BPTT (the loss looking at h_{T-1}) and a full training step "
                                   "(forward, cross-entropy, BPTT, clipping, Adam) for every variant on the same "
                                   "arrays. Calls are interleaved, warm-up excluded; medians and quartiles are "
                                   "written with the thread counts, BLAS libraries, CPU and library versions to "
                                   "DIR/bench.{csv,json,md,png}. scratch_rnn's BLAS runs on one thread; torch runs "
                                   "on one thread, one thread with denormals flushed, and its default thread count; "
                                   "jax (where installed) compiles forward+BPTT of one layer with XLA on one "
                                   "thread, its compile time reported apart.")
    p.add_argument("--out", default="results/bench", metavar="DIR", help="output folder (default: results/bench)")
    p.add_argument("--name", default="bench", type=_name, help="stem of the files written (default: bench, for "
                   "DIR/bench.{csv,json,md,png})")
    p.add_argument("--full", action="store_true", help="the whole grid T x B x D x H = {10,100,1000} x {1,32,256} "
                   "x {1,64} x {64,256,1024} (hours); default: a subset of seven sizes")
    p.add_argument("--shapes", nargs="+", metavar="T,B,D,H", help="explicit sizes instead of the subset: length, "
                   "batch, input and hidden size, the order of every shape in this package (e.g. 100,32,1,128)")
    p.add_argument("--sizes", nargs="+", help=argparse.SUPPRESS)   # the old T,B,H,D option: refused, pointing here
    p.add_argument("--cells", nargs="+", choices=("rnn", "lstm", "gru"), default=("rnn", "lstm", "gru"))
    p.add_argument("--dtypes", nargs="+", choices=("float32", "float64"), default=("float32", "float64"))
    p.add_argument("--ops", nargs="+", choices=("fwd_bwd", "train_step"), default=("fwd_bwd", "train_step"))
    p.add_argument("--variants", nargs="+", default=None,
                   help="subset of numpy numba torch torch-ftz torch-threads torch-cuda jax (default: all available)")
    p.add_argument("--budget", type=POS_FLOAT, default=0.5, help="seconds of timing per variant and case (default 0.5)")
    p.set_defaults(func=bench_command)


def bench_command(args) -> int:
    from .._files import check_writable
    from .._provenance import provenance
    from ..bench import measure as bench
    from ..bench.report import write_results

    if args.sizes:
        args.parser.error("argument --sizes: replaced by --shapes T,B,D,H (the order of every other command; --sizes "
                          f"took T,B,H,D): e.g. --shapes {' '.join(_swap(t) for t in args.sizes)}")
    check_writable(args.out)
    sizes: list[tuple[int, ...]] = list(bench.GRID if args.full else bench.SUBSET)   # (T, B, H, D) each
    if args.shapes:
        sizes = []
        for text in args.shapes:
            parts = text.split(",")
            if len(parts) != 4 or not all(v.strip().isdigit() and int(v) >= 1 for v in parts):
                args.parser.error(f"argument --shapes: expected T,B,D,H, four integers >= 1, got {text!r}")
            T, B, D, H = (int(v) for v in parts)
            sizes.append((T, B, H, D))
    from .._resources import check_memory, layer_bytes
    for T, B, H, D in sizes:                                     # the LSTM in float64, on every variant at once
        check_memory(f"--shapes {T},{B},{D},{H}", 3 * layer_bytes(T, B, H, 4, 8, D),
                     "time smaller sizes (T x B x H sets the memory of forward + BPTT)")
    available = bench.variants_available()
    variants = available if args.variants is None else args.variants
    unknown = [b for b in variants if b not in available]
    if unknown:
        args.parser.error(f"argument --variants: {unknown} not available here; available: {available}")
    if "train_step" in args.ops and all(v == "jax" for v in variants):
        args.parser.error("argument --variants: jax times forward + BPTT of one layer only, not a training step; "
                          "add --ops fwd_bwd, or another variant")
    if "numba" in variants:
        from ..cells import compile_kernels
        from ..runs.progress import compiling
        compiling(lambda: compile_kernels(args.dtypes))
    cases = bench.make_cases(sizes, cells=args.cells, dtypes=args.dtypes, ops=args.ops)
    rows = bench.measure(cases, variants, budget_s=args.budget)
    for reference in ("torch", "jax"):
        if reference in variants:
            rows = bench.add_ratios(rows, reference)
    meta = {"environment": bench.environment(), **provenance(), "command": "scratch-rnn " + " ".join(sys.argv[1:])}
    paths = write_results(rows, Path(args.out), meta, args.name)
    print(paths[2].read_text())
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0


def _name(text: str) -> str:
    """--name: a plain file stem (letters, digits, '_', '-', '.'), never a path."""
    import re
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", text):
        raise argparse.ArgumentTypeError(f"expected a file stem of letters, digits, '_', '-' or '.', got {text!r}")
    return text


def _swap(text: str) -> str:
    """T,B,H,D -> T,B,D,H, for the message that points from --sizes to --shapes."""
    parts = text.split(",")
    return ",".join([*parts[:2], parts[3], parts[2]]) if len(parts) == 4 else "T,B,D,H"
