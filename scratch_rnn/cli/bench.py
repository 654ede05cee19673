"""``scratch-rnn bench``: forward+BPTT and a training step timed for every variant (numpy, numba, torch)."""
from __future__ import annotations

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
    p.add_argument("--full", action="store_true", help="the whole grid T x B x H x D = {10,100,1000} x {1,32,256} "
                   "x {64,256,1024} x {1,64} (hours); default: a subset of seven sizes")
    p.add_argument("--sizes", nargs="+", metavar="T,B,H,D", help="explicit sizes instead of the subset")
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

    check_writable(args.out)
    sizes: list[tuple[int, ...]] = list(bench.GRID if args.full else bench.SUBSET)
    if args.sizes:
        sizes = []
        for text in args.sizes:
            parts = text.split(",")
            if len(parts) != 4 or not all(v.strip().isdigit() and int(v) >= 1 for v in parts):
                args.parser.error(f"argument --sizes: expected T,B,H,D, four integers >= 1, got {text!r}")
            sizes.append(tuple(int(v) for v in parts))
    from .._resources import check_memory, layer_bytes
    for T, B, H, D in sizes:                                     # the LSTM in float64, on every variant at once
        check_memory(f"--sizes {T},{B},{H},{D}", 3 * layer_bytes(T, B, H, 4, 8, D),
                     "time smaller sizes (T x B x H sets the memory of forward + BPTT)")
    available = bench.variants_available()
    variants = available if args.variants is None else args.variants
    unknown = [b for b in variants if b not in available]
    if unknown:
        args.parser.error(f"argument --variants: {unknown} not available here; available: {available}")
    cases = bench.make_cases(sizes, cells=args.cells, dtypes=args.dtypes, ops=args.ops)
    rows = bench.measure(cases, variants, budget_s=args.budget)
    for reference in ("torch", "jax"):
        if reference in variants:
            rows = bench.add_ratios(rows, reference)
    meta = {"environment": bench.environment(), **provenance(), "command": "scratch-rnn " + " ".join(sys.argv[1:])}
    paths = write_results(rows, Path(args.out), meta)
    print(paths[2].read_text())
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0
