"""The three study commands end to end: check, run, save, plot, report. The CLI parses; this runs."""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from .._provenance import provenance
from . import plots
from . import specs as sp
from .report import notebook_summary, study_summary, write_csv, write_json, write_report
from .runner import run_many


def check_engine(engine: str, device: str, backend: str = "numba") -> None:
    """Raise ValueError unless the engine, device and backend can run here."""
    if engine not in sp.ENGINES:
        raise ValueError(f"engine: expected one of {sp.ENGINES}, got {engine!r}")
    if device not in sp.DEVICES:
        raise ValueError(f"device: expected one of {sp.DEVICES}, got {device!r}")
    if backend not in ("numpy", "numba"):
        raise ValueError(f"backend: expected 'numpy' or 'numba', got {backend!r}")
    if engine == "scratch" and device != "cpu":
        raise ValueError("device: the scratch engine runs on the CPU; --device cuda needs --engine torch")
    if engine == "torch":
        from reference.train import check_device
        check_device(device)


def _meta(engine, backend, device, seed, workers, seconds, **extra) -> dict:
    return {"engine": engine, "backend": backend, "device": device, "seed": seed, "seconds": seconds,
            "workers": workers or os.cpu_count(), "command": "scratch-rnn " + " ".join(sys.argv[1:]),
            **provenance(), **extra}


def reproduce(out: Path, engine: str = "scratch", device: str = "cpu", quick: bool = False, seed: int = 0,
              workers: int | None = None, seeds: int | None = None, backend: str = "numba",
              figures: Path | None = None) -> dict:
    """The notebook protocol, then the calibrated study; results and report.md in `out`, figures
    in `figures` (default out/figures)."""
    check_engine(engine, device, backend)
    t0 = time.perf_counter()
    out = Path(out)
    fig = Path(figures) if figures is not None else out / "figures"
    fig.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    nb_proto = sp.QUICK_NOTEBOOK if quick else sp.NOTEBOOK
    proto = dict(sp.QUICK if quick else sp.STUDY)
    if seeds is not None:
        proto["seeds"] = seeds
    nb_specs = sp.notebook_specs(engine, proto["seeds"], nb_proto, device, first_seed=seed, backend=backend)
    st_specs = sp.study_specs(engine, proto, device, first_seed=seed, backend=backend)
    nb_runs = run_many(nb_specs, workers, progress="notebook protocol")
    st_runs = run_many(st_specs, workers, progress="calibrated study")
    figures_written = {
        "notebook_panel": plots.notebook_panel(nb_runs, fig / "notebook_panel.png",
                                               f"Notebook protocol ({engine} engine): {nb_proto['updates']} updates"),
        "notebook_sweep": plots.notebook_sweep(nb_runs, fig / "notebook_sweep.png",
                                               f"Notebook protocol ({engine} engine): {nb_proto['sweep_updates']} "
                                               "updates per length"),
        "notebook_gradflow": plots.notebook_gradflow(nb_runs, fig / "notebook_gradflow.png"),
        "gradient_flow": plots.gradient_flow(st_runs, fig / "gradient_flow.png"),
        "gates": plots.gate_statistics(st_runs, fig / "gate_statistics.png"),
    }
    for task in proto["tasks"]:
        figures_written[f"success_{task}"] = plots.success_vs_length(st_runs, fig / f"success_{task}.png", task)
    seconds = time.perf_counter() - t0
    meta = _meta(engine, backend, device, seed, workers, seconds, quick=quick, notebook_protocol=nb_proto,
                 study_protocol=proto)
    summary = study_summary(st_runs)
    files = {
        "notebook_runs": write_json({"meta": meta, "runs": [r.to_dict() for r in nb_runs]}, out / "notebook_runs.json"),
        "notebook_summary": write_csv(notebook_summary(nb_runs), out / "notebook_summary.csv"),
        "study_runs": write_json({"meta": meta, "runs": [r.to_dict() for r in st_runs]}, out / "study_runs.json"),
        "study_summary": write_csv(summary, out / "study_summary.csv"),
    }
    rel = {k: os.path.relpath(v, out) for k, v in figures_written.items()}
    files["report"] = write_report(out, nb_runs, st_runs, proto, nb_proto, meta, rel)
    return {"files": files, "figures": figures_written, "summary": summary, "notebook": notebook_summary(nb_runs),
            "seconds": seconds}


def sweep(out: Path, tasks, models, lengths, seeds: int, updates: int, engine: str = "scratch",
          device: str = "cpu", seed: int = 0, workers: int | None = None, lr: float = 1e-3,
          clip: float | None = 1.0, backend: str = "numba") -> dict:
    """Success rate vs length for chosen tasks, models (cell, init) and seeds, under the study's protocol."""
    check_engine(engine, device, backend)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    proto = {**sp.STUDY, "updates": updates, "lr": lr, "clip": clip, "flow_lengths": ()}
    specs = sp.study_specs(engine, proto, device, tasks=tasks, models=models, lengths=lengths, seeds=seeds,
                           first_seed=seed, backend=backend)
    runs = run_many(specs, workers, progress="sweep")
    summary = study_summary(runs)
    meta = _meta(engine, backend, device, seed, workers, None, protocol=proto)
    write_json({"meta": meta, "runs": [r.to_dict() for r in runs]}, out / "sweep_runs.json")
    write_csv(summary, out / "sweep_summary.csv")
    figures = [plots.success_vs_length(runs, out / f"sweep_{task}.png", task) for task in tasks]
    return {"summary": summary, "figures": figures}


def gradflow(out: Path, task: str, models, T: int, updates: int, engine: str = "scratch", device: str = "cpu",
             seed: int = 0, workers: int | None = None, backend: str = "numba") -> dict:
    """Exact per-timestep gradient profiles at initialisation and after `updates` updates."""
    check_engine(engine, device, backend)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    proto = {**sp.STUDY, "updates": updates, "flow_lengths": (T,)}
    specs = sp.study_specs(engine, proto, device, tasks=[task], models=models, lengths=[T], seeds=1,
                           first_seed=seed, backend=backend)
    runs = run_many(specs, workers, progress="gradflow")
    meta = _meta(engine, backend, device, seed, workers, None, protocol=proto)
    write_json({"meta": meta, "runs": [r.to_dict() for r in runs]}, out / "gradflow_runs.json")
    figs = [plots.gradient_flow(runs, out / "gradient_flow.png")]
    if any(m[0] == "lstm" for m in models):
        figs.append(plots.gate_statistics(runs, out / "gate_statistics.png"))
    return {"runs": runs, "figures": figs}
