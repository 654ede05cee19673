"""``scratch-rnn online``: RTRL and its online approximations against BPTT: alignment, learning and cost."""
from __future__ import annotations

from .options import add_experiment_options, run_experiment


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
    add_experiment_options(p, "online", "the two figures (the documentation's: --figures docs/figures)")
    p.add_argument("--setting", choices=("batched", "marschall"), default="batched",
                   help="batched (default): the model of the study, batches of sequences and Adam; marschall: "
                        "Marschall, Cho & Savin's (2020), one leaky RNN (H = 32) on one stream per seed, SGD at "
                        "every step, every method of their comparison (writes marschall.{md,json}, "
                        "marschall_{performance,alignment}.{csv,png}; --out defaults to results/online_marschall)")
    p.set_defaults(func=online_command)


def online_command(args) -> int:
    if args.setting == "marschall":
        from ..online.marschall import marschall
        if args.out == "results/online":
            args.out = "results/online_marschall"
        return run_experiment(marschall, args)
    from ..online.report import online
    return run_experiment(online, args)
