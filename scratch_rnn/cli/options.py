"""The command line's argument types (argparse types raise ArgumentTypeError, so a bad value is
reported by argparse: usage, "error:", exit code 2) and the options every long command shares."""
from __future__ import annotations

import argparse
import math


def number(kind, lo, inclusive=True, name=None, hi=None):
    """An argparse type: `kind` (int or float), finite, >= lo (> lo when not inclusive), <= hi when given."""
    def parse(text):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, got {text!r}")
        if not math.isfinite(v) or v < lo or (v == lo and not inclusive) or (hi is not None and v > hi):
            what = "integer" if kind is int else "number"
            bound = f"in [{lo}, {hi}]" if hi is not None else f"{'>=' if inclusive else '>'} {lo}"
            raise argparse.ArgumentTypeError(f"expected a finite {what} {bound}, got {text!r}")
        return v
    parse.__name__ = name or ("integer" if kind is int else "number")
    return parse


POS_INT = number(int, 1)
#: a seed every engine takes (torch.manual_seed is int64)
SEED = number(int, 0, hi=2 ** 63 - 1, name="seed")
NONNEG_INT = number(int, 0)
POS_FLOAT = number(float, 0, inclusive=False)
NONNEG_FLOAT = number(float, 0)


def model_option(item):
    """An argparse type for --models: CELL[:INIT[:LAYERS[:bi]]] (INIT defaults to pytorch, LAYERS
    to 1); returns (cell, init) for one layer, (cell, init, layers, bidirectional) otherwise."""
    from ..cells import CELLS
    cell, init, layers, bi, *rest = item.split(":") + ["", "", ""]
    init = init or "pytorch"
    shape_ok = (layers == "" or (layers.isdigit() and int(layers) >= 1)) and bi in ("", "bi") and not any(rest)
    if cell not in CELLS or init not in CELLS[cell].inits or not shape_ok:
        raise argparse.ArgumentTypeError(f"expected CELL[:INIT[:LAYERS[:bi]]] with CELL:INIT one of "
                                         f"{[f'{c.name}:{i}' for c in CELLS.values() for i in c.inits]} and LAYERS >= 1 "
                                         f"(e.g. lstm:chrono:2:bi), got {item!r}")
    n = int(layers or 1)
    return (cell, init) if n == 1 and not bi else (cell, init, n, bi == "bi")


model_option.__name__ = "model"


def tbptt_option(item):
    """An argparse type for --tbptt: K1,K2, integers with 1 <= K1 <= K2."""
    parts = item.split(",")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise argparse.ArgumentTypeError(f"expected K1,K2 (two integers, e.g. 32,64), got {item!r}")
    k1, k2 = (int(p) for p in parts)
    if not 1 <= k1 <= k2:
        raise argparse.ArgumentTypeError(f"expected 1 <= K1 <= K2, got K1={k1}, K2={k2}")
    return k1, k2


tbptt_option.__name__ = "K1,K2"


def add_run_options(p, out_default: str) -> None:
    """--out, --engine, --backend, --device, --seed and the execution options of a training command."""
    p.add_argument("--out", default=out_default, metavar="DIR", help=f"output folder (default: {out_default})")
    p.add_argument("--engine", choices=("scratch", "torch", "torch-nn"), default="scratch",
                   help="who trains: scratch (this package's hand-written BPTT), torch (the reference package, "
                        "torch.nn's layers) or torch-nn (the same torch training loop with scratch_rnn.nn's layers, "
                        "whose backward is this package's BPTT; CPU)")
    p.add_argument("--backend", choices=("numba", "numpy"), default="numba",
                   help="the scratch engine's loops, and those of the gradient analysis (default: numba)")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="torch engine only; cuda needs a GPU")
    p.add_argument("--seed", type=SEED, default=0, help="first seed; seed k of a configuration is seed + k (default 0)")
    add_execution_options(p)


def add_execution_options(p) -> None:
    """How a command's runs are executed and stored: local workers or a Dask cluster, resume or start over."""
    p.add_argument("--workers", type=POS_INT, default=None, help="parallel processes (default: one per CPU)")
    p.add_argument("--fresh", action="store_true", help="start over: move the runs already in --out aside "
                   "(into --out/previous-TIME/, never deleted) instead of resuming")
    p.add_argument("--retry-failed", action="store_true", help="run again the runs stored as failed")
    p.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help="run on a dask.distributed cluster at ADDRESS (e.g. tcp://host:8786) instead of local processes")
    p.add_argument("--scheduler-file", metavar="FILE", default=None,
                   help="run on the dask.distributed cluster described by FILE (dask scheduler --scheduler-file)")
    p.add_argument("--connect-timeout", type=POS_FLOAT, default=30.0, metavar="SECONDS",
                   help="how long to wait for the Dask scheduler before giving up (default 30)")
    p.add_argument("--wait", action="store_true", help="when another process is writing --out, wait for it to "
                   "finish instead of refusing at once")


def execution_options(args) -> dict:
    """The parsed execution options, as the commands' ``**run`` keywords."""
    return {"workers": args.workers, "fresh": args.fresh, "retry_failed": args.retry_failed,
            "scheduler": args.scheduler, "scheduler_file": args.scheduler_file,
            "connect_timeout": args.connect_timeout, "wait": args.wait}


def print_failures(failures) -> None:
    """The failed runs of a command, ten at most, each by its label (`job_label`)."""
    if failures:
        print(f"\n{len(failures)} runs failed (stored with their tracebacks; --retry-failed runs them again):")
        for job, f in failures[:10]:
            print(f"  {job_label(job)}: {f['type']}: {f['message']}")


def job_label(job) -> str:
    """A job's own ``label`` (the study's runs have one), else its kind and fields."""
    label = getattr(job, "label", None)
    if label is not None:
        return label
    fields = getattr(job, "__dataclass_fields__", None)
    if fields is None:
        return repr(job)
    return type(job).__name__ + " " + " ".join(f"{k}={getattr(job, k)}" for k in fields)


def add_experiment_options(p, name: str, figures: str) -> None:
    """The options of a command that runs one experiment into a store: --out (default results/NAME),
    --quick, --figures (what `figures` says is copied there), --seed and the execution options."""
    p.add_argument("--out", default=f"results/{name}", metavar="DIR", help=f"output folder (default: results/{name})")
    p.add_argument("--quick", action="store_true", help="tiny sizes and budgets (under a minute), to check the pipeline")
    p.add_argument("--figures", default=None, metavar="DIR", help=f"also copy {figures} into DIR")
    p.add_argument("--seed", type=SEED, default=0, help="first seed (default 0)")
    add_execution_options(p)


def run_experiment(run, args) -> int:
    """Call ``run(out, quick=, seed=, figures=, **execution options)`` (an experiment's entry point, e.g.
    `scratch_rnn.truncation.report.truncation`), print its failures and the files it wrote; exit code 0."""
    from pathlib import Path
    res = run(Path(args.out), quick=args.quick, seed=args.seed,
              figures=None if args.figures is None else Path(args.figures), **execution_options(args))
    print_failures(res["failures"])
    print("wrote " + ", ".join(str(p) for p in res["files"].values()))
    return 0
