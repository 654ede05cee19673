"""The ``scratch-rnn`` command. Each subcommand has its own ``--help``."""
from __future__ import annotations

import argparse
import sys

from ._commands import (_cmd_bench, _cmd_charlm, _cmd_gradcheck, _cmd_gradflow, _cmd_gradratios, _cmd_report,
                        _cmd_reproduce, _cmd_sample, _cmd_sweep, _cmd_truncation)
from ._options import NONNEG_FLOAT, NONNEG_INT, POS_FLOAT, POS_INT, model_option, number, tbptt_option


def _common(p, out_default):
    p.add_argument("--out", default=out_default, metavar="DIR", help=f"output folder (default: {out_default})")
    p.add_argument("--engine", choices=("scratch", "torch"), default="scratch",
                   help="who trains: scratch (this package's hand-written BPTT) or torch (the reference package)")
    p.add_argument("--backend", choices=("numba", "numpy"), default="numba",
                   help="the scratch engine's loops, and those of the gradient analysis (default: numba)")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="torch engine only; cuda needs a GPU")
    p.add_argument("--seed", type=NONNEG_INT, default=0, help="first seed; seed k of a configuration is seed + k (default 0)")
    _run_args(p)


def _run_args(p):
    """How a command's runs are executed and stored: local workers or a Dask cluster, resume or start over."""
    p.add_argument("--workers", type=POS_INT, default=None, help="parallel processes (default: one per CPU)")
    p.add_argument("--fresh", action="store_true", help="start over: move the runs already in --out aside "
                   "(into --out/previous-TIME/, never deleted) instead of resuming")
    p.add_argument("--retry-failed", action="store_true", help="run again the runs stored as failed")
    p.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help="run on a dask.distributed cluster at ADDRESS (e.g. tcp://host:8786) instead of local processes")
    p.add_argument("--scheduler-file", metavar="FILE", default=None,
                   help="run on the dask.distributed cluster described by FILE (dask scheduler --scheduler-file)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scratch-rnn",
        description="Hand-written forward passes and BPTT for the RNN, the LSTM and the GRU: gradient checks, "
                    "benchmarks and the RNN-vs-LSTM vanishing-gradient study.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

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
    p.add_argument("--seed", type=NONNEG_INT, default=0, help="seed of the random problems (default: 0)")
    p.add_argument("--no-torch", action="store_true", help="skip the comparison with torch autograd")
    p.add_argument("--no-stacks", action="store_true", help="check the single layers only")
    p.add_argument("--out", default=None, metavar="DIR", help="also write DIR/gradcheck.json")
    p.set_defaults(func=_cmd_gradcheck)

    p = sub.add_parser("bench", help="time forward+BPTT and a training step: numpy, numba, torch",
                       description="Time forward+BPTT (the loss looking at h_{T-1}) and a full training step "
                                   "(forward, cross-entropy, BPTT, clipping, Adam) for every variant on the same "
                                   "arrays. Calls are interleaved, warm-up excluded; medians and quartiles are "
                                   "written with the thread counts, BLAS libraries, CPU and library versions to "
                                   "DIR/bench.{csv,json,md,png}. scratch_rnn's BLAS runs on one thread; torch runs "
                                   "on one thread, one thread with denormals flushed, and its default thread count.")
    p.add_argument("--out", default="results/bench", metavar="DIR", help="output folder (default: results/bench)")
    p.add_argument("--full", action="store_true", help="the whole grid T x B x H x D = {10,100,1000} x {1,32,256} "
                   "x {64,256,1024} x {1,64} (hours); default: a subset of seven sizes")
    p.add_argument("--sizes", nargs="+", metavar="T,B,H,D", help="explicit sizes instead of the subset")
    p.add_argument("--cells", nargs="+", choices=("rnn", "lstm", "gru"), default=("rnn", "lstm", "gru"))
    p.add_argument("--dtypes", nargs="+", choices=("float32", "float64"), default=("float32", "float64"))
    p.add_argument("--ops", nargs="+", choices=("fwd_bwd", "train_step"), default=("fwd_bwd", "train_step"))
    p.add_argument("--variants", nargs="+", default=None,
                   help="subset of numpy numba torch torch-ftz torch-threads torch-cuda (default: all available)")
    p.add_argument("--budget", type=POS_FLOAT, default=0.5, help="seconds of timing per variant and case (default 0.5)")
    p.set_defaults(func=_cmd_bench)

    p = sub.add_parser("reproduce", help="the study: the notebook's protocol, then the calibrated study",
                       description="Run the notebook's experiments 1-3 and its gradient-flow cell exactly as written "
                                   "(over several seeds), then the calibrated study: RNN, LSTM and GRU with several "
                                   "initialisations on temporal XOR and the first-bit control, T = 5..150, trained "
                                   "at T directly and through a curriculum of shorter lengths (success = accuracy "
                                   ">= 0.99 on 1000 fresh sequences); the adding problem at T = 100 and 200 (success "
                                   "= MSE <= 0.01); a sample rerun in float64 and on the other engine; the exact "
                                   "gradient ratios at initialisation over 20 draws. Writes JSON/CSV results (with "
                                   "configuration, seeds and versions), PNG figures and report.md to --out; resumes "
                                   "from the run store in --out when run again.")
    _common(p, "results")
    p.add_argument("--quick", action="store_true", help="a small version (under a minute on 2 cores) that runs "
                   "every arm and task and writes the same files")
    p.add_argument("--seeds", type=POS_INT, default=None, help="seeds per configuration, every length (default: 10 "
                   "at T = 30, 50, 100, 150 and 5 elsewhere; 2 with --quick)")
    p.add_argument("--figures", default=None, metavar="DIR", help="where the figures go (default: OUT/figures)")
    p.set_defaults(func=_cmd_reproduce)

    p = sub.add_parser("sweep", help="success rate vs sequence length for chosen models, inits, tasks, seeds",
                       description="Train every (task, model, T, seed) with early stopping and report the success "
                                   "rate (accuracy >= 0.99 on 1000 fresh sequences) with Wilson 95% intervals.")
    _common(p, "results/sweep")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32",
                   help="the dtype of training (default float32, the study's)")
    p.add_argument("--arm", choices=("direct", "curriculum"), default="direct",
                   help="direct: train at each length from the start; curriculum: train on 10, 20, 30, 50, 75, 100, "
                        "150 up to the length, moving on at the first screen that passes, within the same budget")
    p.add_argument("--tasks", nargs="+", choices=("xor", "first_bit", "adding"), default=["xor"],
                   help="xor, first_bit (classification: success = test accuracy >= 0.99), adding (regression: "
                        "success = test MSE <= 0.01; the best constant has 1/6)")
    p.add_argument("--models", nargs="+", type=model_option, default=[("rnn", "pytorch"), ("lstm", "pytorch"),
                   ("lstm", "forget_bias")], metavar="CELL:INIT[:LAYERS[:bi]]",
                   help="e.g. rnn:pytorch rnn:orthogonal rnn:identity lstm:forget_bias lstm:chrono gru:pytorch; "
                        "stacked and bidirectional: lstm:pytorch:2 gru:orthogonal:2:bi (the head reads the top "
                        "layer's final states)")
    p.add_argument("--lengths", nargs="+", type=number(int, 2), default=[5, 10, 20, 30, 50, 75, 100, 150])
    p.add_argument("--seeds", type=POS_INT, default=5)
    p.add_argument("--updates", type=POS_INT, default=3000, help="update budget per run (default 3000)")
    p.add_argument("--lr", type=POS_FLOAT, default=1e-3)
    p.add_argument("--clip", type=NONNEG_FLOAT, default=1.0, help="global-norm clipping; 0 turns it off")
    p.set_defaults(func=_cmd_sweep)

    p = sub.add_parser("gradflow", help="exact per-timestep gradient profiles, at init and after training",
                       description="||dL/dh_t|| and ||dL/dc_t|| for every t from the exact BPTT, at initialisation "
                                   "and after training, with the Jacobian-norm bound (RNN), the cell-path term and "
                                   "the gate statistics (LSTM).")
    _common(p, "results/gradflow")
    p.add_argument("--task", choices=("xor", "first_bit"), default="xor")
    p.add_argument("--models", nargs="+", type=model_option, default=[("rnn", "pytorch"), ("lstm", "pytorch"),
                   ("lstm", "forget_bias")], metavar="CELL:INIT")
    p.add_argument("--T", type=number(int, 2), default=100, help="sequence length (default 100)")
    p.add_argument("--updates", type=POS_INT, default=3000, help="training budget before the second profile")
    p.set_defaults(func=_cmd_gradflow)

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
    p.add_argument("--seed", type=NONNEG_INT, default=0, help="first seed (default 0)")
    _run_args(p)
    p.set_defaults(func=_cmd_truncation)

    p = sub.add_parser("gradratios", help="exact gradient ratios at initialisation, over many draws of the weights",
                       description="||dL/dh_0|| / ||dL/dh_T-1|| (and the LSTM's ||dL/dc_0|| / ||dL/dc_T-1||) of the "
                                   "exact BPTT at initialisation, float64, for the study's models and tasks, over "
                                   "--draws draws of weights and batch: median and range. Writes "
                                   "gradratios.{csv,json,md,png} to --out.")
    p.add_argument("--out", default="results/gradratios", metavar="DIR", help="output folder (default: results/gradratios)")
    p.add_argument("--T", type=number(int, 2), default=100, help="sequence length (default 100)")
    p.add_argument("--draws", type=POS_INT, default=20, help="draws per model and task (default 20)")
    p.add_argument("--seed", type=NONNEG_INT, default=0, help="first seed (default 0)")
    p.add_argument("--figures", default=None, metavar="DIR", help="also copy the figure into DIR")
    p.set_defaults(func=_cmd_gradratios)

    p = sub.add_parser("charlm", help="a character-level language model trained with streaming TBPTT(k1, k2)",
                       description="Train a one-layer character model on --text (default: the pydoc topics that ship "
                                   "with CPython, ~465k characters; 90%% to train, 10%% to validate) with TBPTT(k1, k2): "
                                   "every k1 characters, backpropagate through the last k2, the state carried across "
                                   "batches. Writes DIR/charlm.npz (a checkpoint; run again to continue) and "
                                   "DIR/charlm.json (losses, validation bits per character, a sample).")
    p.add_argument("--out", default="results/charlm", metavar="DIR", help="output folder (default: results/charlm)")
    p.add_argument("--text", default=None, metavar="FILE", help="a UTF-8 text file (default: pydoc_data.topics)")
    p.add_argument("--cell", choices=("rnn", "lstm", "gru"), default="lstm")
    p.add_argument("--hidden", type=POS_INT, default=128)
    p.add_argument("--tbptt", type=tbptt_option, default=(32, 64), metavar="K1,K2",
                   help="update every K1 characters through the last K2 (K2 >= K1; default 32,64)")
    p.add_argument("--updates", type=POS_INT, default=2000)
    p.add_argument("--batch", type=POS_INT, default=32, help="parallel streams (default 32)")
    p.add_argument("--lr", type=POS_FLOAT, default=3e-3, help="Adam's learning rate (default 3e-3)")
    p.add_argument("--clip", type=POS_FLOAT, default=1.0, help="gradient-norm clipping (default 1)")
    p.add_argument("--seed", type=NONNEG_INT, default=0)
    p.add_argument("--eval-every", type=POS_INT, default=500, help="updates between validations and checkpoints")
    p.set_defaults(func=_cmd_charlm)

    p = sub.add_parser("sample", help="sample text from a charlm checkpoint",
                       description="Draw characters one at a time from a character model's checkpoint.")
    p.add_argument("checkpoint", metavar="CHECKPOINT", help="a .npz written by scratch-rnn charlm")
    p.add_argument("--chars", type=POS_INT, default=500, help="characters to draw (default 500)")
    p.add_argument("--temperature", type=POS_FLOAT, default=0.8, help="softmax temperature (default 0.8)")
    p.add_argument("--seed", type=NONNEG_INT, default=0)
    p.add_argument("--prime", default=None, help="text read before sampling (default: a newline)")
    p.set_defaults(func=_cmd_sample)

    p = sub.add_parser("report", help="rebuild tables, figures and report from a folder's run store, no training",
                       description="Read DIR/runs.jsonl (written by reproduce, sweep or gradflow) and write its "
                                   "tables, figures and report again, without training anything.")
    p.add_argument("dir", metavar="DIR", help="a folder written by reproduce, sweep or gradflow")
    p.add_argument("--figures", default=None, metavar="DIR", help="where reproduce's figures go (default: DIR/figures)")
    p.set_defaults(func=_cmd_report)
    return parser


def _subparser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    """The subcommand's parser, whose error() prints its usage and exits with argparse's code 2."""
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices[name]


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.parser = _subparser(parser, args.command)
    from .study.executors import Interrupted
    try:
        return args.func(args)
    except ValueError as err:          # bad options found before any work (no GPU, an unwritable --out, ...)
        print(f"scratch-rnn {args.command}: error: {err}", file=sys.stderr)
        return 2
    except Interrupted as err:
        print(f"\nscratch-rnn {args.command}: {err}", file=sys.stderr)
        return 128 + err.signum


if __name__ == "__main__":
    sys.exit(main())
