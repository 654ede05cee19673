"""``scratch-rnn online``: RTRL and its online approximations against BPTT: alignment, learning and cost."""
from __future__ import annotations

from pathlib import Path

from .options import SEED, add_execution_options, execution_options, print_failures


def add_parsers(sub) -> None:
    """Add this group's subcommands to the subparsers `sub`."""
    p = sub.add_parser("online", help="RTRL and its online approximations (SnAp-1, e-prop, UORO, KF-RTRL, RFLO) "
                                      "against BPTT: alignment, learning and cost",
                       description="The cosine and norm ratio of each method's gradient with the exact one at "
                                   "initialisation (the study's tasks and Marschall et al.'s add and mimic tasks), "
                                   "the model trained online with each method (loss and alignment along training), "
                                   "and the time and peak memory of one sequence's gradient against H and T. Writes "
                                   "online.{json,md}, online_{alignment,learning,cost}.csv and "
                                   "online_{learning,cost}.png to --out.")
    p.add_argument("--out", default="results/online", metavar="DIR", help="output folder (default: results/online)")
    p.add_argument("--quick", action="store_true", help="tiny sizes and budgets (under a minute), to check the pipeline")
    p.add_argument("--figures", default=None, metavar="DIR", help="also copy the two figures into DIR "
                   "(the documentation's: --figures docs/figures)")
    p.add_argument("--seed", type=SEED, default=0, help="first seed (default 0)")
    add_execution_options(p)
    p.set_defaults(func=online_command)


def online_command(args) -> int:
    from ..rtrl.report import online
    res = online(Path(args.out), quick=args.quick, seed=args.seed,
                 figures=None if args.figures is None else Path(args.figures), **execution_options(args))
    print_failures(res["failures"])
    print("wrote " + ", ".join(str(p) for p in res["files"].values()))
    return 0
