"""What each ``scratch-rnn`` subcommand does, given its parsed arguments (the parser is in `cli`)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from ._options import print_failures, print_summary


def _cmd_gradcheck(args) -> int:
    from . import gradcheck, gradcheck_stack
    from ._provenance import provenance

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
        from .study.store import check_writable
        check_writable(args.out)
    rows = gradcheck.check_rows(backends=backends, seed=args.seed, with_torch=with_torch)
    print(gradcheck.format_rows(rows))
    stack_rows = [] if args.no_stacks else gradcheck_stack.check_stack_rows(backends, args.seed, with_torch)
    if stack_rows:
        T, B, D, H = gradcheck_stack.STACK_SIZE
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
        (out / "gradcheck.json").write_text(json.dumps(record, indent=1))
        print(f"wrote {out / 'gradcheck.json'}")
    return 0 if ok else 1


def _cmd_bench(args) -> int:
    from . import _provenance
    from .bench import measure as bench
    from .bench.report import write_results
    provenance = _provenance.provenance

    from .study.store import check_writable
    check_writable(args.out)
    sizes: list[tuple[int, ...]] = list(bench.GRID if args.full else bench.SUBSET)
    if args.sizes:
        sizes = [tuple(int(v) for v in s.split(",")) for s in args.sizes]
        for s in sizes:
            if len(s) != 4 or min(s) < 1:
                args.parser.error(f"argument --sizes: expected T,B,H,D with every value >= 1, got {s}")
    available = bench.variants_available()
    variants = available if args.variants is None else args.variants
    unknown = [b for b in variants if b not in available]
    if unknown:
        args.parser.error(f"argument --variants: {unknown} not available here; available: {available}")
    cases = bench.make_cases(sizes, cells=args.cells, dtypes=args.dtypes, ops=args.ops)
    rows = bench.measure(cases, variants, budget_s=args.budget)
    if "torch" in variants:
        rows = bench.add_ratios(rows)
    meta = {"environment": bench.environment(), **provenance(), "command": "scratch-rnn " + " ".join(sys.argv[1:])}
    paths = write_results(rows, Path(args.out), meta)
    print(paths[2].read_text())
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0


def _run_options(args) -> dict:
    return {"workers": args.workers, "fresh": args.fresh, "retry_failed": args.retry_failed,
            "scheduler": args.scheduler, "scheduler_file": args.scheduler_file}


def _cmd_report(args) -> int:
    from .study.commands import report
    res = report(Path(args.dir), figures=args.figures)
    if "summary" in res:
        print_summary(res["summary"])
    print_failures(res["failures"])
    print(f"rebuilt the tables, figures and report in {args.dir} from its run store")
    return 0


def _cmd_reproduce(args) -> int:
    from .study.commands import reproduce
    res = reproduce(Path(args.out), engine=args.engine, backend=args.backend, device=args.device, quick=args.quick,
                    seed=args.seed, seeds=args.seeds, figures=args.figures, **_run_options(args))
    print("\nNotebook protocol (mean test accuracy over seeds):")
    for r in res["notebook"]:
        print(f"  {r['experiment']:<7}{r['cell'].upper():<5} T={r['T']:<4} {r['mean_accuracy']:.3f} ± {r['sd_accuracy']:.3f}")
    print("\nCalibrated study:")
    print_summary(res["summary"])
    print_failures(res["failures"])
    print(f"\nwrote {Path(args.out) / 'report.md'}, *.json, *.csv and figures in "
          f"{Path(res['figures']['gates']).parent} in {res['seconds'] / 60:.1f} min "
          f"({res['outcome'].ran} runs trained now, {res['outcome'].skipped} already in the store)")
    return 0


def _cmd_sweep(args) -> int:
    from .study.commands import sweep
    res = sweep(Path(args.out), args.tasks, args.models, args.lengths, args.seeds, args.updates,
                engine=args.engine, backend=args.backend, device=args.device, seed=args.seed,
                lr=args.lr, clip=args.clip or None, arm=args.arm, dtype=args.dtype, **_run_options(args))
    print_summary(res["summary"])
    print_failures(res["failures"])
    print("wrote " + ", ".join(str(p) for p in res["figures"]))
    return 0


def _cmd_truncation(args) -> int:
    from .study.truncation_report import truncation
    res = truncation(Path(args.out), quick=args.quick, seed=args.seed,
                     figures=None if args.figures is None else Path(args.figures), **_run_options(args))
    print_failures(res["failures"])
    print("wrote " + ", ".join(str(p) for p in res["files"].values()))
    return 0


def _cmd_gradratios(args) -> int:
    from .study.gradratios import gradratios
    res = gradratios(Path(args.out), T=args.T, draws=args.draws, seed=args.seed,
                     figures=None if args.figures is None else Path(args.figures))
    print(Path(res["files"]["md"]).read_text())
    print("wrote " + ", ".join(str(p) for p in res["files"].values()))
    return 0


def _cmd_charlm(args) -> int:
    from .study.language import run_charlm
    k1, k2 = args.tbptt
    try:
        res = run_charlm(Path(args.out), args.text, args.cell, args.hidden, k1, k2, args.updates, args.batch, args.lr,
                         args.clip, args.seed, args.eval_every)
    except KeyboardInterrupt:
        print(f"\nscratch-rnn charlm: interrupted; the checkpoint in {args.out} holds the last update; run the same "
              "command again to continue", file=sys.stderr)
        return 130
    last = res["evaluations"][-1]
    print(f"update {last['update']}: validation {last['val_bpc']:.3f} bits per character, "
          f"{res['seconds'] / 60:.1f} min in all")
    print("sample (temperature 0.8):\n" + res["sample"])
    print(f"wrote {res['checkpoint']} and {res['log']}")
    return 0


def _cmd_sample(args) -> int:
    from .study.language import sample_checkpoint
    print(sample_checkpoint(args.checkpoint, args.chars, args.temperature, args.seed, args.prime))
    return 0


def _cmd_gradflow(args) -> int:
    import numpy as np

    from .study.commands import gradflow
    res = gradflow(Path(args.out), args.task, args.models, args.T, args.updates, engine=args.engine,
                   backend=args.backend, device=args.device, seed=args.seed, **_run_options(args))
    print_failures(res["failures"])
    for r in res["runs"]:
        s = r.spec
        for when in ("flow_init", "flow_final"):
            h = np.asarray(getattr(r, when)["h"])
            print(f"{s.cell}:{s.init:<12} {when[5:]:<6} ||dL/dh_0||={h[0]:.2e}  ||dL/dh_T-1||={h[-1]:.2e}"
                  f"  ratio={h[0] / h[-1]:.1e}  (accuracy after training {r.final_metric:.3f})")
    print("wrote " + ", ".join(str(p) for p in res["figures"]))
    return 0
