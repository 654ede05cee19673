"""The study's commands: ``reproduce``, ``sweep``, ``gradflow``, ``gradratios`` and ``report``."""
from __future__ import annotations

from pathlib import Path

from ..study.tables import format_summary
from .options import (NONNEG_FLOAT, POS_FLOAT, POS_INT, SEED, add_run_options, execution_options, model_option,
                      number, print_failures)


def add_parsers(sub) -> None:
    """Add this group's subcommands to the subparsers `sub`."""
    p = sub.add_parser("reproduce", help="the study: the notebook's protocol, then the calibrated study",
                       description="Run the notebook's experiments 1-3 and its gradient-flow cell exactly as written "
                                   "(over several seeds), then the calibrated study: RNN, LSTM and GRU with several "
                                   "initialisations on temporal XOR and the first-bit control, T = 5..150, trained "
                                   "at T directly and through a curriculum of shorter lengths (success = accuracy "
                                   ">= 0.99 on 1000 fresh sequences); the adding problem at T = 100 and 200 (success "
                                   "= MSE <= 0.01); a sample rerun in float64 and on the other engine. Three "
                                   "phases: (1) the notebook's protocol and the study; (2) the exact "
                                   "gradient ratios at initialisation over 20 draws (seconds); (3) the powered "
                                   "curriculum comparisons of `scratch-rnn power` (into OUT/power). It says "
                                   "first how many runs there are and how long they take on this machine, starts one "
                                   "short run per worker and then the longest ones, and a run in flight saves its "
                                   "state every half minute (OUT/inflight), so a Ctrl-C costs at most that much of "
                                   "it. Writes JSON/CSV results (with configuration, seeds and versions), PNG figures "
                                   "and report.md to --out; resumes from the run store in --out when run again.")
    add_run_options(p, "results")
    p.add_argument("--quick", action="store_true", help="a small version (under a minute on 2 cores) that runs "
                   "every arm and task and writes the same files")
    p.add_argument("--seeds", type=POS_INT, default=None, help="seeds per configuration, every length (default: 10 "
                   "at T = 30, 50, 100, 150 and 5 elsewhere; 2 with --quick)")
    p.add_argument("--figures", default=None, metavar="DIR", help="where the figures go (default: OUT/figures)")
    p.set_defaults(func=reproduce_command)

    p = sub.add_parser("sweep", help="success rate vs sequence length for chosen models, inits, tasks, seeds",
                       description="Train every (task, model, T, seed) with early stopping and report the success "
                                   "rate (accuracy >= 0.99 on 1000 fresh sequences) with Wilson 95% intervals.")
    add_run_options(p, "results/sweep")
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
    p.set_defaults(func=sweep_command)

    p = sub.add_parser("gradflow", help="exact per-timestep gradient profiles, at init and after training",
                       description="||dL/dh_t|| and ||dL/dc_t|| for every t from the exact BPTT, at initialisation "
                                   "and after training, with the Jacobian-norm bound (RNN), the cell-path term and "
                                   "the gate statistics (LSTM).")
    add_run_options(p, "results/gradflow")
    p.add_argument("--task", choices=("xor", "first_bit"), default="xor")
    p.add_argument("--models", nargs="+", type=model_option, default=[("rnn", "pytorch"), ("lstm", "pytorch"),
                   ("lstm", "forget_bias")], metavar="CELL:INIT")
    p.add_argument("--T", type=number(int, 2), default=100, help="sequence length (default 100)")
    p.add_argument("--updates", type=POS_INT, default=3000, help="training budget before the second profile")
    p.set_defaults(func=gradflow_command)

    p = sub.add_parser("power", help="the curriculum comparisons with 30 seeds per model, and a larger budget",
                       description="Temporal XOR through the curriculum to T = 100 with 30 seeds for the orthogonal "
                                   "RNN, the LSTM with PyTorch's, forget-bias and chrono initialisations and the GRU "
                                   "(the study's first 10 seeds among them), and the two non-chrono LSTMs again with "
                                   "6000 updates. Writes power_summary.csv, power_comparisons.csv (Fisher's test of "
                                   "every pair, with the smallest difference it detects at power 0.8; the budgets "
                                   "paired by seed), power_runs.csv, power.md and updates_to_success.png to --out; "
                                   "resumes from its run store.")
    add_run_options(p, "results/power")
    p.add_argument("--quick", action="store_true", help="a tiny version (seconds) that writes the same files")
    p.add_argument("--figures", default=None, metavar="DIR", help="also copy the figure into DIR")
    p.set_defaults(func=power_command)

    p = sub.add_parser("gradratios", help="exact gradient ratios at initialisation, over many draws of the weights",
                       description="||dL/dh_0|| / ||dL/dh_T-1|| (and the LSTM's ||dL/dc_0|| / ||dL/dc_T-1||) of the "
                                   "exact BPTT at initialisation, float64, for the study's models and tasks, over "
                                   "--draws draws of weights and batch: median and range. Writes "
                                   "gradratios.{csv,json,md,png} to --out.")
    p.add_argument("--out", default="results/gradratios", metavar="DIR", help="output folder (default: results/gradratios)")
    p.add_argument("--T", type=number(int, 2), default=100, help="sequence length (default 100)")
    p.add_argument("--draws", type=POS_INT, default=20, help="draws per model and task (default 20)")
    p.add_argument("--seed", type=SEED, default=0, help="first seed (default 0)")
    p.add_argument("--figures", default=None, metavar="DIR", help="also copy the figure into DIR")
    p.set_defaults(func=gradratios_command)

    p = sub.add_parser("report", help="rebuild tables, figures and report from a folder's run store, no training",
                       description="Read DIR/runs.jsonl (written by reproduce, sweep, gradflow or power) and write its "
                                   "tables, figures and report again, without training anything.")
    p.add_argument("dir", metavar="DIR", help="a folder written by reproduce, sweep, gradflow or power")
    p.add_argument("--figures", default=None, metavar="DIR", help="where reproduce's figures go (default: DIR/figures)")
    p.set_defaults(func=report_command)


def reproduce_command(args) -> int:
    from ..study.commands import reproduce
    res = reproduce(Path(args.out), engine=args.engine, backend=args.backend, device=args.device, quick=args.quick,
                    seed=args.seed, seeds=args.seeds, figures=args.figures, **execution_options(args))
    print("\nNotebook protocol (mean test accuracy over seeds):")
    for r in res["notebook"]:
        print(f"  {r['experiment']:<7}{r['cell'].upper():<5} T={r['T']:<4} {r['mean_accuracy']:.3f} ± {r['sd_accuracy']:.3f}")
    print("\nCalibrated study:")
    print(format_summary(res["summary"]))
    print_failures(res["failures"])
    print(f"\nwrote {Path(args.out) / 'report.md'}, *.json, *.csv and figures in "
          f"{Path(res['figures']['gates']).parent} in {res['seconds'] / 60:.1f} min "
          f"({res['outcome'].ran} runs trained now, {res['outcome'].skipped} already in the store)")
    return 0


def sweep_command(args) -> int:
    from ..study.commands import sweep
    res = sweep(Path(args.out), args.tasks, args.models, args.lengths, args.seeds, args.updates,
                engine=args.engine, backend=args.backend, device=args.device, seed=args.seed,
                lr=args.lr, clip=args.clip or None, arm=args.arm, dtype=args.dtype, **execution_options(args))
    print(format_summary(res["summary"]))
    print_failures(res["failures"])
    print("wrote " + ", ".join(str(p) for p in res["figures"]))
    return 0


def gradflow_command(args) -> int:
    import numpy as np

    from ..study.commands import gradflow
    res = gradflow(Path(args.out), args.task, args.models, args.T, args.updates, engine=args.engine,
                   backend=args.backend, device=args.device, seed=args.seed, **execution_options(args))
    print_failures(res["failures"])
    for r in res["runs"]:
        s = r.spec
        for when in ("flow_init", "flow_final"):
            h = np.asarray(getattr(r, when)["h"])
            print(f"{s.cell}:{s.init:<12} {when[5:]:<6} ||dL/dh_0||={h[0]:.2e}  ||dL/dh_T-1||={h[-1]:.2e}"
                  f"  ratio={h[0] / h[-1]:.1e}  (accuracy after training {r.final_metric:.3f})")
    print("wrote " + ", ".join(str(p) for p in res["figures"]))
    return 0


def gradratios_command(args) -> int:
    from ..study.gradratios import gradratios
    res = gradratios(Path(args.out), T=args.T, draws=args.draws, seed=args.seed,
                     figures=None if args.figures is None else Path(args.figures))
    print(Path(res["files"]["md"]).read_text())
    print("wrote " + ", ".join(str(p) for p in res["files"].values()))
    return 0


def report_command(args) -> int:
    from ..study.commands import report
    res = report(Path(args.dir), figures=args.figures)
    if "summary" in res:
        print(format_summary(res["summary"]))
    if "power_summary" in res:
        print(res["files"]["report"].read_text())
    print_failures(res["failures"])
    print(f"rebuilt the tables, figures and report in {args.dir} from its run store")
    return 0


def power_command(args) -> int:
    from ..study.power import powered
    res = powered(Path(args.out), quick=args.quick, seed=args.seed, engine=args.engine, device=args.device,
                  backend=args.backend, figures=None if args.figures is None else Path(args.figures),
                  **execution_options(args))
    print(res["files"]["report"].read_text())
    print_failures(res["failures"])
    print("wrote " + ", ".join(str(p) for p in res["files"].values()))
    return 0
