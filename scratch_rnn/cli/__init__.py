"""The ``scratch-rnn`` command: one module per command group, each adding its subcommands and
running them (the work itself is done by the package the command belongs to). Each subcommand has
its own ``--help``.

* `gradcheck`: ``gradcheck``, every hand-written gradient against finite differences and torch;
* `check`: ``check``, a learner's own BPTT against the exact one, and ``exercise``, a template to fill in;
* `bench`: ``bench``, the speed of every variant;
* `study`: ``reproduce``, ``sweep``, ``gradflow``, ``gradratios``, ``report``, the vanishing-gradient study;
* `truncation`: ``truncation``, what truncated BPTT keeps;
* `online`: ``online``, RTRL and its online approximations against BPTT;
* `charlm`: ``charlm`` and ``sample``, the character model;
* `options`: the argument types and the options every long command shares;
* `__main__`: ``python -m scratch_rnn.cli``, the same command.
"""
from __future__ import annotations

import argparse
import errno
import sys

from . import bench, charlm, check, gradcheck, online, study, truncation

#: the command groups, in the order ``scratch-rnn --help`` lists their subcommands
GROUPS = (gradcheck, check, bench, study, truncation, online, charlm)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scratch-rnn",
        description="Hand-written forward passes and BPTT for the RNN, the LSTM and the GRU: gradient checks, "
                    "benchmarks and the RNN-vs-LSTM vanishing-gradient study.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.add_parsers(sub)
    return parser


def _subparser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    """The subcommand's parser, whose error() prints its usage and exits with argparse's code 2."""
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices[name]


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.parser = _subparser(parser, args.command)
    from ..runs import Interrupted
    from ..runs.store import DiskFull
    try:
        return args.func(args)
    except ValueError as err:          # bad options found before any work (no GPU, an unwritable --out, ...)
        print(f"scratch-rnn {args.command}: error: {err}", file=sys.stderr)
        return 2
    except Interrupted as err:
        print(f"\nscratch-rnn {args.command}: {err}", file=sys.stderr)
        return 128 + err.signum
    except OSError as err:
        if err.errno != errno.ENOSPC:
            raise
        where = err.filename or getattr(err, "folder", None) or getattr(args, "out", None)
        print(f"scratch-rnn {args.command}: error: " + (str(err) if isinstance(err, DiskFull) else
              "no space left on the device" + (f" of {where}" if where else "") + f": {err.strerror}; what was "
              "stored before is intact: free some space and run the same command again"), file=sys.stderr)
        return 1

