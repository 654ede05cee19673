"""The ``scratch-rnn`` command. Each subcommand has its own ``--help``."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _cmd_gradcheck(args) -> int:
    from . import gradcheck
    from ._provenance import provenance

    with_torch = not args.no_torch
    if with_torch:
        try:
            import torch  # noqa: F401
        except ImportError:
            print("torch is not installed: checking against finite differences only "
                  "(install torch, or pass --no-torch to silence this)", file=sys.stderr)
            with_torch = False
    backends = ("numpy", "numba") if args.backend == "all" else (args.backend,)
    rows = gradcheck.check_rows(backends=backends, seed=args.seed, with_torch=with_torch)
    print(gradcheck.format_rows(rows))
    ok = gradcheck.rows_pass(rows)
    worst_fd = max(r["fd_error"] for r in rows)
    worst_t = max((r["torch_error"] for r in rows if r["torch_error"] is not None), default=None)
    print(f"\nworst error vs finite differences: {worst_fd:.1e} (tolerance {gradcheck.FD_TOL:.0e})")
    if worst_t is not None:
        print(f"worst error vs torch autograd:     {worst_t:.1e} (tolerance {gradcheck.TORCH_TOL:.0e})")
    print("all gradients within tolerance" if ok else "SOME GRADIENTS EXCEED THEIR TOLERANCE")
    if args.out is not None:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        record = {"rows": rows, "fd_tolerance": gradcheck.FD_TOL, "torch_tolerance": gradcheck.TORCH_TOL,
                  "passed": ok, "seed": args.seed, **provenance()}
        (out / "gradcheck.json").write_text(json.dumps(record, indent=1))
        print(f"wrote {out / 'gradcheck.json'}")
    return 0 if ok else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scratch-rnn",
        description="Hand-written forward passes and BPTT for a tanh RNN and an LSTM: gradient checks, "
                    "benchmarks and the RNN-vs-LSTM vanishing-gradient study.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("gradcheck", help="check every hand-written gradient against finite differences and torch",
                       description="For the RNN and the LSTM at a few sizes, in float64, print the maximum error "
                                   "of every gradient (each parameter, x, h0, c0, and the total dL/dh_t, dL/dc_t "
                                   "over all t) against central finite differences and PyTorch autograd. "
                                   "Errors are relative to the gradient's largest magnitude. Exits 1 if any "
                                   "error exceeds its tolerance.")
    p.add_argument("--backend", choices=("numpy", "numba", "all"), default="all",
                   help="which hand-written backend to check (default: all)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random problems (default: 0)")
    p.add_argument("--no-torch", action="store_true", help="skip the comparison with torch autograd")
    p.add_argument("--out", default=None, metavar="DIR", help="also write DIR/gradcheck.json")
    p.set_defaults(func=_cmd_gradcheck)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
