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


#: what an interrupt outside a command's run loop says (inside it, the loop says how many runs are stored)
RESUME = "what was finished is kept; run the same command again to resume"


def _terminate(signum, frame):
    """SIGTERM anywhere outside a run loop: end the command as a Ctrl-C does, with its message."""
    from ..runs import Interrupted
    raise Interrupted(signum, RESUME)


def main(argv=None) -> int:
    import signal
    import threading
    old = signal.signal(signal.SIGTERM, _terminate) if threading.current_thread() is threading.main_thread() else None
    try:
        return _main(argv)
    finally:
        if old is not None:
            signal.signal(signal.SIGTERM, old)


def _main(argv) -> int:
    from ..runs import Interrupted
    from ..runs.store import DiskFull
    command, args = "scratch-rnn", None
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        args.parser = _subparser(parser, args.command)
        command = f"scratch-rnn {args.command}"
        return args.func(args)
    except ValueError as err:          # bad options found before any work (no GPU, an unwritable --out, ...)
        print(f"{command}: error: {err}", file=sys.stderr)
        return 2
    except Interrupted as err:
        print(f"\n{command}: {err}", file=sys.stderr)
        return 128 + err.signum
    except KeyboardInterrupt:          # a Ctrl-C outside a run loop (writing tables, sampling, waiting, ...)
        print(f"\n{command}: interrupted by SIGINT: {RESUME}", file=sys.stderr)
        return 130
    except OSError as err:
        if err.errno != errno.ENOSPC:
            raise
        where = err.filename or getattr(err, "folder", None) or getattr(args, "out", None)
        print(f"{command}: error: " + (str(err) if isinstance(err, DiskFull) else
              "no space left on the device" + (f" of {where}" if where else "") + f": {err.strerror}; what was "
              "stored before is intact: free some space and run the same command again"), file=sys.stderr)
        return 1

