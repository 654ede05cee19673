"""``scratch-rnn truncation``: what truncated BPTT keeps, against the exact gradient, and what it trains."""
from __future__ import annotations

from pathlib import Path

from .options import SEED, add_execution_options, execution_options, print_failures


def add_parsers(sub) -> None:
    """Add this group's subcommands to the subparsers `sub`."""
    p = sub.add_parser("truncation", help="what truncated BPTT keeps: truncated vs exact gradients, and training",
                       description="For the RNN, the LSTM and the GRU on the copying task and temporal XOR, the cosine "
                                   "and norm ratio between truncated (chunks and window schemes, k from 1 to the "
                                   "length) and exact gradients, at initialisation and after training; then the "
                                   "copying task trained with TBPTT(k) below and above its lag. Writes "
                                   "truncation.{json,md}, truncation_{fidelity,training}.{csv,png} to --out.")
    p.add_argument("--out", default="results/truncation", metavar="DIR", help="output folder (default: results/truncation)")
    p.add_argument("--quick", action="store_true", help="tiny sizes and budgets (under a minute), to check the pipeline")
    p.add_argument("--figures", default=None, metavar="DIR", help="also copy the two main figures into DIR "
                   "(the README's: --figures docs/figures)")
    p.add_argument("--seed", type=SEED, default=0, help="first seed (default 0)")
    add_execution_options(p)
    p.set_defaults(func=truncation_command)


def truncation_command(args) -> int:
    from ..truncation.report import truncation
    res = truncation(Path(args.out), quick=args.quick, seed=args.seed,
                     figures=None if args.figures is None else Path(args.figures), **execution_options(args))
    print_failures(res["failures"])
    print("wrote " + ", ".join(str(p) for p in res["files"].values()))
    return 0
