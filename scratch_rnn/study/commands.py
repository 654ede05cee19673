"""The study's commands end to end: check, run into the store, then tables, figures and the
report, always rebuilt from the store. The CLI parses; this runs.

Every command checks its options and its output folders before any run starts, skips the runs
its store already holds (so the same command resumes where it stopped), and stores a failing run
as a result; `report` rebuilds everything from a store without training.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from .._files import check_writable, write_csv, write_json
from .._resources import check_run_count
from ..runs import META, RunStore, progress, run_experiment, run_into_store, run_meta
from ..runs.executors import worker_count
from . import plots
from . import specs as sp
from .gradratios import gradratios
from .power import POWERED, QUICK_POWERED, build_powered, powered, powered_specs
from .records import decode_line, stored_failures, stored_records, stored_runs
from .report import write_report
from .runner import TIMING, run_one_safe
from .specs import check_engine
from .stats import comparisons
from .tables import notebook_summary, robustness_rows, study_summary


def reproduce(out: Path, engine: str = "scratch", device: str = "cpu", quick: bool = False, seed: int = 0,
              seeds: int | None = None, backend: str = "numba", figures: Path | None = None, **run) -> dict:
    """The notebook protocol, then the calibrated study (its arms: `specs.reproduce_specs`), then
    the gradient ratios over draws and the powered curriculum comparisons (`powered`); results and report.md in `out`, figures in `figures` (default
    out/figures). `seeds` overrides both seed counts of the grid. `run`: workers, scheduler,
    scheduler_file, fresh, retry_failed."""
    check_engine(engine, device, backend)
    if engine == "scratch":
        check_engine("torch", "cpu")                             # the robustness sample trains on both engines
    out = check_writable(out)
    fig = check_writable(figures if figures is not None else out / "figures", "--figures")
    nb_proto = sp.QUICK_NOTEBOOK if quick else sp.NOTEBOOK
    proto: dict[str, Any] = dict(sp.QUICK if quick else sp.STUDY)
    if seeds is not None:
        one = {**proto, "seeds": 1, "headline_seeds": 1, "robustness": {**proto["robustness"], "seeds": 1}}
        per_seed = len(sp.notebook_specs(engine, 1, nb_proto, device)) + sum(
            len(arm) for arm in sp.reproduce_specs(engine, one, device).values())
        check_run_count(per_seed * seeds, f"--seeds ({seeds}) x {per_seed} runs per seed")
        proto.update(seeds=seeds, headline_seeds=seeds)
    nb_specs = sp.notebook_specs(engine, proto["seeds"], nb_proto, device, first_seed=seed, backend=backend)
    arms = sp.reproduce_specs(engine, proto, device, first_seed=seed, backend=backend)
    st_specs = [s for group in arms.values() for s in group]
    store_meta = {"command": "reproduce", "notebook_protocol": nb_proto, "study_protocol": proto}
    draws = 3 if quick else 20
    power_specs = powered_specs(*((QUICK_POWERED, sp.QUICK) if quick else (POWERED, sp.STUDY)), engine, device,
                                backend, seed)
    timing = _plan(out, nb_specs + st_specs, power_specs, draws, run)
    print(f"phase 1 of 3: the notebook's protocol and the study ({len(nb_specs) + len(st_specs)} runs)", file=sys.stderr)
    store, outcome, seconds = run_into_store(nb_specs + st_specs, out, store_meta, run, run_one_safe,
                                             decode_line, timing)
    print(f"phase 2 of 3: the exact gradient ratios at initialisation ({draws} draws per model, seconds)",
          file=sys.stderr)
    t0 = time.perf_counter()
    gradratios(out / "gradratios", T=proto["flow_lengths"][0], draws=draws, seed=seed)
    seconds += time.perf_counter() - t0
    print(f"phase 3 of 3: the powered curriculum comparisons ({len(power_specs)} runs, into {out / 'power'})",
          file=sys.stderr)
    powered_out = powered(out / "power", quick=quick, seed=seed, engine=engine, device=device, backend=backend,
                          figures=fig, **run, timing=timing)
    seconds += powered_out["seconds"]
    workers = worker_count(run.get("workers"), len(nb_specs) + len(st_specs))
    meta = run_meta(store.meta, seconds, {"engine": engine, "backend": backend, "device": device, "seed": seed,
                                       "workers": workers, "quick": quick})
    res = build_reproduce(out, fig, stored_records(store, nb_specs), stored_records(store, st_specs),
                          stored_failures(store, nb_specs + st_specs), meta)
    return {**res, "seconds": seconds, "outcome": outcome}


def _plan(out: Path, study: list, power: list, draws: int, run: dict):
    """Say, before anything runs, what `reproduce` will do and how long it takes here; returns the
    timing its phases share (the kernels compiled and the calibration measured once), or None where
    no progress is shown."""
    if not run.get("progress", "runs"):
        return None
    todo = [s for folder, specs in ((out, study), (out / "power", power)) for s in _not_stored(folder, specs)]
    head = (f"reproduce: 3 phases, {len(study) + len(power)} training runs in all: (1) the notebook's protocol and the "
            f"study, {len(study)} runs; (2) the exact gradient ratios, {draws} draws per model; (3) the powered "
            f"curriculum comparisons, {len(power)} runs")
    if not todo:
        print(head + "; every run is stored", file=sys.stderr)
        return None
    local = not (run.get("scheduler") or run.get("scheduler_file"))
    if local:
        TIMING.prepare(todo)
    rate = TIMING.calibrate(todo)
    workers = worker_count(run.get("workers"), len(todo))
    print(head + (f"; {len(todo)} still to run, " if len(todo) < len(study) + len(power) else "; ")
          + (f"{progress.between(*progress.bounds(todo, rate, workers))} on {workers} worker(s), calibrated on this "
             "machine" if local else "on the cluster"), file=sys.stderr)
    return progress.Calibrated(rate)


def _not_stored(folder: Path, specs: list) -> list:
    """The specs a store in `folder` lacks (all of them where there is no store yet)."""
    try:
        store = RunStore(folder, None, read_only=True)
    except ValueError:                                           # no store there yet
        return specs
    return [s for s in specs if not store.done(s)]


def split_study(runs: list, engine: str, dtype: str) -> dict[str, list]:
    """The study's records by part: "main" (the direct and curriculum arms on the study's engine and
    dtype), "adding", and the robustness reruns "dtype" (the other dtype) and "engine" (the other
    engine)."""
    parts: dict[str, list] = {"main": [], "adding": [], "dtype": [], "engine": []}
    for r in runs:
        s = r.spec
        part = ("engine" if s.engine != engine else "dtype" if s.dtype != dtype
                else "adding" if s.task == "adding" else "main")
        parts[part].append(r)
    return parts


def build_reproduce(out: Path, fig: Path, nb_runs, st_runs, failures, meta: dict) -> dict:
    """Tables, figures and report.md of `reproduce` from its records."""
    nb_proto, proto, engine = meta["notebook_protocol"], meta["study_protocol"], meta.get("engine", "scratch")
    parts = split_study(st_runs, engine, proto["dtype"])
    main = parts["main"]
    written = {
        "notebook_panel": plots.notebook_panel(nb_runs, fig / "notebook_panel.png",
                                               f"Notebook protocol ({engine} engine): {nb_proto['updates']} updates"),
        "notebook_sweep": plots.notebook_sweep(nb_runs, fig / "notebook_sweep.png",
                                               f"Notebook protocol ({engine} engine): {nb_proto['sweep_updates']} "
                                               "updates per length"),
        "notebook_gradflow": plots.notebook_gradflow(nb_runs, fig / "notebook_gradflow.png"),
        "gradient_flow": plots.gradient_flow([r for r in main if r.spec.arm == "direct"], fig / "gradient_flow.png"),
        "gates": plots.gate_statistics([r for r in main if r.spec.arm == "direct"], fig / "gate_statistics.png"),
        "curriculum_flow": plots.curriculum_flow(main, fig / "curriculum_flow.png"),
    }
    for task in proto["tasks"]:
        written[f"success_{task}"] = plots.success_vs_length(main, fig / f"success_{task}.png", task)
    if parts["adding"]:
        written["adding"] = plots.adding_curves(parts["adding"], fig / "adding.png")
    if (fig / "updates_to_success.png").is_file():
        written["updates_to_success"] = fig / "updates_to_success.png"
    ratios = out / "gradratios" / "gradratios.png"
    if ratios.is_file():
        import shutil
        written["gradratios"] = Path(shutil.copy(ratios, fig / "gradratios.png"))
    study_failures = [f for f in failures if f[0].experiment == "study"]
    summary = study_summary(main + parts["adding"], study_failures)
    files = {
        "notebook_runs": write_json({"meta": meta, "runs": [r.to_dict() for r in nb_runs]}, out / "notebook_runs.json"),
        "study_runs": write_json({"meta": meta, "runs": [r.to_dict() for r in st_runs]}, out / "study_runs.json"),
    }
    if nb_runs:                                                  # a store interrupted before its first run has none
        files["notebook_summary"] = write_csv(notebook_summary(nb_runs), out / "notebook_summary.csv")
    if summary:
        files["study_summary"] = write_csv(summary, out / "study_summary.csv")
    tests = comparisons(summary)
    if tests:
        files["study_comparisons"] = write_csv(tests, out / "study_comparisons.csv")
    robust = robustness_rows(parts)
    if robust:
        files["robustness"] = write_csv(robust, out / "robustness.csv")
    rel = {k: os.path.relpath(v, out) for k, v in written.items()}
    files["report"] = write_report(out, nb_runs, parts, proto, nb_proto, meta, rel, failures)
    return {"files": files, "figures": written, "summary": summary, "notebook": notebook_summary(nb_runs),
            "failures": failures, "robustness": robust}


def _grid(command: str, build, out: Path, proto: dict, engine: str, device: str, backend: str, seed: int,
          run: dict, length_option: str = "--lengths", **grid) -> dict:
    """A study grid end to end: check, store and execute its specs, then `build` the outputs."""
    check_engine(engine, device, backend)
    chrono = [f"{m[0]}:{m[1]}" for m in grid["models"] if m[1] == "chrono"]
    short = [T for T in grid["lengths"] if T <= 2]
    if chrono and short:                                         # its forgetting times spread over [1, T]
        raise ValueError(f"{length_option} {' '.join(map(str, short))}: the chrono initialisation ({', '.join(chrono)}) "
                         "spreads the forget gates' times over [1, T] and needs T > 2; use longer sequences or "
                         "another init")
    sizes = {k: len(grid[k]) for k in ("tasks", "models", "lengths")}
    check_run_count(sizes["tasks"] * sizes["models"] * sizes["lengths"] * grid["seeds"],
                    " x ".join(f"--{k} ({n})" for k, n in sizes.items()) + f" x --seeds ({grid['seeds']})")
    specs = sp.study_specs(engine, proto, device, first_seed=seed, backend=backend, **grid)
    run = {**run, "shrink": f"use shorter sequences ({length_option}) or fewer --workers"}
    return run_experiment(out, {"command": command, "protocol": proto}, specs, run_one_safe, build, run,
                          {"engine": engine, "backend": backend, "device": device, "seed": seed}, stored=stored_runs,
                          decode_line=decode_line, timing=TIMING)


def sweep(out: Path, tasks, models, lengths, seeds: int, updates: int, engine: str = "scratch",
          device: str = "cpu", seed: int = 0, lr: float = 1e-3, clip: float | None = 1.0, backend: str = "numba",
          arm: str = "direct", dtype: str = "float32", **run) -> dict:
    """Success rate vs length for chosen tasks, models (cell, init) and seeds, under the study's protocol;
    `arm` "curriculum" reaches each length through the shorter ones (`specs.CURRICULUM`)."""
    proto = {**sp.STUDY, "updates": updates, "lr": lr, "clip": clip, "flow_lengths": (), "dtype": dtype}
    return _grid("sweep", build_sweep, out, proto, engine, device, backend, seed, run, tasks=tasks, models=models,
                 lengths=lengths, seeds=seeds, arm=arm)


def build_sweep(out: Path, runs, failures, meta: dict) -> dict:
    summary = study_summary(runs, failures)
    write_json({"meta": meta, "runs": [r.to_dict() for r in runs]}, out / "sweep_runs.json")
    if summary:
        write_csv(summary, out / "sweep_summary.csv")
    tests = comparisons(summary)
    if tests:
        write_csv(tests, out / "sweep_comparisons.csv")
    tasks = list(dict.fromkeys(r.spec.task for r in runs))
    figures = [plots.success_vs_length(runs, out / f"sweep_{task}.png", task) for task in tasks]
    return {"summary": summary, "figures": figures, "failures": failures}


def gradflow(out: Path, task: str, models, T: int, updates: int, engine: str = "scratch", device: str = "cpu",
             seed: int = 0, backend: str = "numba", **run) -> dict:
    """Exact per-timestep gradient profiles at initialisation and after `updates` updates."""
    stacks = [f"{m[0]}:{m[1]}:{m[2]}" + (":bi" if m[3] else "") for m in models if len(m) > 2]
    if stacks:
        raise ValueError(f"models: the gradient-flow records are defined for one-layer models, got {stacks}")
    proto = {**sp.STUDY, "updates": updates, "flow_lengths": (T,)}
    return _grid("gradflow", build_gradflow, out, proto, engine, device, backend, seed, run, "--T", tasks=[task],
                 models=models, lengths=[T], seeds=1)


def build_gradflow(out: Path, runs, failures, meta: dict) -> dict:
    write_json({"meta": meta, "runs": [r.to_dict() for r in runs]}, out / "gradflow_runs.json")
    figs = [plots.gradient_flow(runs, out / "gradient_flow.png")]
    if any(r.flow_init and "gates" in r.flow_init for r in runs):   # the cells whose gates are recorded
        figs.append(plots.gate_statistics(runs, out / "gate_statistics.png"))
    return {"runs": runs, "figures": figs, "failures": failures}


def report(folder: Path, figures: Path | None = None) -> dict:
    """Rebuild the tables, figures and report of a store in `folder` without training."""
    folder = Path(folder)
    if not (folder / META).is_file():
        raise ValueError(f"DIR {folder}: expected a folder written by reproduce, sweep, gradflow or power (with {META}), "
                         "found none")
    store = RunStore(folder, None, read_only=True, decode=decode_line)  # reading never changes the store
    stored = store.meta
    if stored.get("command") not in ("reproduce", "sweep", "gradflow", "power"):
        raise ValueError(f"DIR {folder}: a store of command {stored.get('command')!r}, which `report` does not "
                         "rebuild (the truncation study rebuilds itself: run the same command again)")
    runs, failures = stored_records(store), stored_failures(store)
    meta = run_meta(store.meta, None, {"engine": runs[0].spec.engine if runs else "scratch"})
    check_writable(folder, "DIR")
    if stored["command"] == "reproduce":
        fig = check_writable(figures if figures is not None else folder / "figures", "--figures")
        nb = [r for r in runs if r.spec.experiment != "study"]
        return build_reproduce(folder, fig, nb, [r for r in runs if r.spec.experiment == "study"], failures, meta)
    if stored["command"] == "sweep":
        return build_sweep(folder, runs, failures, meta)
    if stored["command"] == "power":
        return build_powered(folder, runs, failures, meta)
    return build_gradflow(folder, runs, failures, meta)
