"""``scratch-rnn gradcheck``: every hand-written gradient against finite differences and torch autograd."""
from __future__ import annotations

import sys
from pathlib import Path

from .options import SEED


def add_parsers(sub) -> None:
    """Add this group's subcommands to the subparsers `sub`."""
    p = sub.add_parser("gradcheck", help="check every hand-written gradient against finite differences and torch",
                       description="For the RNN, the LSTM and the GRU at a few sizes, in float64, print the maximum error "
                                   "of every gradient (each parameter, x, h0, c0, and the total dL/dh_t, dL/dc_t "
                                   "over all t) against central finite differences and PyTorch autograd; then the "
                                   "same for stacked, bidirectional, projected and variable-length configurations "
                                   "of stack_forward against nn.RNN / nn.LSTM / nn.GRU. "
                                   "Errors are relative to the gradient's largest magnitude. Exits 1 if any "
                                   "error exceeds its tolerance.")
    p.add_argument("--backend", choices=("numpy", "numba", "all"), default="all",
                   help="which hand-written backend to check (default: all)")
    p.add_argument("--seed", type=SEED, default=0, help="seed of the random problems (default: 0)")
    p.add_argument("--no-torch", action="store_true", help="skip the comparison with torch autograd")
    p.add_argument("--no-stacks", action="store_true", help="check the single layers only")
    p.add_argument("--out", default=None, metavar="DIR", help="also write DIR/gradcheck.json")
    p.set_defaults(func=gradcheck_command)


def gradcheck_command(args) -> int:
    from .. import gradcheck
    from .._files import check_writable, write_json
    from .._provenance import provenance
    from ..gradcheck import stacks

    with_torch = not args.no_torch
    if with_torch:
        try:
            import torch  # noqa: F401
        except ImportError:
            print("torch is not installed: checking against finite differences only "
                  "(install torch, or pass --no-torch to silence this)", file=sys.stderr)
            with_torch = False
    backends = ("numpy", "numba") if args.backend == "all" else (args.backend,)
    if args.out is not None:
        check_writable(args.out)
    if "numba" in backends:
        from ..cells import compile_kernels
        from ..runs.progress import compiling
        compiling(compile_kernels)
    rows = gradcheck.check_rows(backends=backends, seed=args.seed, with_torch=with_torch)
    print(gradcheck.format_rows(rows))
    stack_rows = [] if args.no_stacks else stacks.check_stack_rows(backends, args.seed, with_torch)
    if stack_rows:
        T, B, D, H = stacks.STACK_SIZE
        print(f"\nstack_forward / stack_backward, T={T} B={B} D={D} H={H} (params: the worst state_dict entry)")
        print(gradcheck.format_rows(stack_rows, (("config", "<24"),)))
    ok = gradcheck.rows_pass(rows) and gradcheck.rows_pass(stack_rows)
    worst_fd = max(r["fd_error"] for r in rows + stack_rows)
    worst_t = max((r["torch_error"] for r in rows + stack_rows if r["torch_error"] is not None), default=None)
    print(f"\nworst error vs finite differences: {worst_fd:.1e} (tolerance {gradcheck.FD_TOL:.0e})")
    if worst_t is not None:
        print(f"worst error vs torch autograd:     {worst_t:.1e} (tolerance {gradcheck.TORCH_TOL:.0e})")
    print("all gradients within tolerance" if ok else "SOME GRADIENTS EXCEED THEIR TOLERANCE")
    if args.out is not None:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        record = {"rows": rows, "stack_rows": stack_rows, "fd_tolerance": gradcheck.FD_TOL, "torch_tolerance": gradcheck.TORCH_TOL,
                  "passed": ok, "seed": args.seed, **provenance()}
        write_json(record, out / "gradcheck.json", indent=1)
        print(f"wrote {out / 'gradcheck.json'}")
    return 0 if ok else 1
