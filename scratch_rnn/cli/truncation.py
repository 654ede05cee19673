"""``scratch-rnn truncation``: what truncated BPTT keeps, against the exact gradient, and what it trains."""
from __future__ import annotations

from .options import add_experiment_options, run_experiment


def add_parsers(sub) -> None:
    """Add this group's subcommands to the subparsers `sub`."""
    p = sub.add_parser("truncation", help="what truncated BPTT keeps: truncated vs exact gradients, and training",
                       description="For the RNN, the LSTM and the GRU on the copying task and temporal XOR, the cosine "
                                   "and norm ratio between truncated (chunks and window schemes, k from 1 to the "
                                   "length) and exact gradients, at initialisation and after training; then the "
                                   "copying task trained with TBPTT(k) below and above its lag. Writes "
                                   "truncation.{json,md}, truncation_{fidelity,training}.{csv,png} to --out.")
    add_experiment_options(p, "truncation", "the two main figures (the README's: --figures docs/figures)")
    p.set_defaults(func=truncation_command)


def truncation_command(args) -> int:
    from ..truncation.report import truncation
    return run_experiment(truncation, args)
