"""The three study commands end to end: run, save, plot, report. The CLI parses; this runs."""
from __future__ import annotations

import os
import sys
import time
from dataclasses import replace
from pathlib import Path

from . import experiments as ex
from . import plots
from ._provenance import provenance
from .report import notebook_summary, study_summary, write_csv, write_json, write_report


def _check_backend(backend: str, device: str) -> None:
    if backend not in ("scratch", "torch"):
        raise ValueError(f"backend: expected 'scratch' or 'torch', got {backend!r}")
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device: expected 'cpu' or 'cuda', got {device!r}")
    if backend == "scratch" and device != "cpu":
        raise ValueError("device: the scratch backend runs on the CPU; --device cuda needs --backend torch")
    if backend == "torch":
        from reference.train import check_device
        check_device(device)


def _shift_seeds(specs, seed: int):
    return [replace(s, seed=s.seed + seed) for s in specs]


def reproduce(out: Path, backend: str = "scratch", device: str = "cpu", quick: bool = False, seed: int = 0,
              workers: int | None = None, seeds: int | None = None) -> dict:
    """The notebook protocol, then the calibrated study; results, figures and report.md in `out`."""
    _check_backend(backend, device)
    t0 = time.perf_counter()
    out = Path(out)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    nb_proto = ex.QUICK_NOTEBOOK if quick else ex.NOTEBOOK
    proto = dict(ex.QUICK if quick else ex.STUDY)
    if seeds is not None:
        proto["seeds"] = seeds
    nb_specs = _shift_seeds(ex.notebook_specs(backend, proto["seeds"], nb_proto, device), seed)
    st_specs = _shift_seeds(ex.study_specs(backend, proto, device), seed)
    nb_runs = ex.run_many(nb_specs, workers, progress="notebook protocol")
    st_runs = ex.run_many(st_specs, workers, progress="calibrated study")
    fig = out / "figures"
    figures = {
        "notebook_panel": plots.notebook_panel(nb_runs, fig / "notebook_panel.png",
                                               f"Notebook protocol ({backend}): {nb_proto['updates']} updates"),
        "notebook_sweep": plots.notebook_sweep(nb_runs, fig / "notebook_sweep.png",
                                               f"Notebook protocol ({backend}): {nb_proto['sweep_updates']} updates per length"),
        "notebook_gradflow": plots.notebook_gradflow(nb_runs, fig / "notebook_gradflow.png"),
        "gradient_flow": plots.gradient_flow(st_runs, fig / "gradient_flow.png"),
        "gates": plots.gate_statistics(st_runs, fig / "gate_statistics.png"),
    }
    for task in proto["tasks"]:
        figures[f"success_{task}"] = plots.success_vs_length(st_runs, fig / f"success_{task}.png", task)
    seconds = time.perf_counter() - t0
    meta = {"backend": backend, "device": device, "quick": quick, "seed": seed, "seconds": seconds,
            "workers": workers or os.cpu_count(), "command": "scratch-rnn " + " ".join(sys.argv[1:]), **provenance(),
            "notebook_protocol": nb_proto, "study_protocol": proto}
    summary = study_summary(st_runs)
    files = {
        "notebook_runs": write_json({"meta": meta, "runs": nb_runs}, out / "notebook_runs.json"),
        "notebook_summary": write_csv(notebook_summary(nb_runs), out / "notebook_summary.csv"),
        "study_runs": write_json({"meta": meta, "runs": st_runs}, out / "study_runs.json"),
        "study_summary": write_csv(summary, out / "study_summary.csv"),
    }
    rel = {k: str(Path(v).relative_to(out)) for k, v in figures.items()}
    files["report"] = write_report(out, nb_runs, st_runs, proto, nb_proto, meta, rel)
    return {"files": files, "figures": figures, "summary": summary, "notebook": notebook_summary(nb_runs),
            "seconds": seconds}


def sweep(out: Path, tasks, models, lengths, seeds: int, updates: int, backend: str = "scratch",
          device: str = "cpu", seed: int = 0, workers: int | None = None, lr: float = 1e-3,
          clip: float | None = 1.0) -> dict:
    """Success rate vs length for chosen tasks, models (cell, init) and seeds."""
    _check_backend(backend, device)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    proto = {**ex.STUDY, "updates": updates, "lr": lr, "clip": clip, "flow_lengths": ()}
    specs = _shift_seeds(ex.study_specs(backend, proto, device, tasks=tasks, models=models, lengths=lengths,
                                        seeds=seeds), seed)
    runs = ex.run_many(specs, workers, progress="sweep")
    summary = study_summary(runs)
    write_json({"meta": {**provenance(), "protocol": proto, "backend": backend}, "runs": runs}, out / "sweep_runs.json")
    write_csv(summary, out / "sweep_summary.csv")
    figures = [plots.success_vs_length(runs, out / f"sweep_{task}.png", task) for task in tasks]
    return {"summary": summary, "figures": figures}


def gradflow(out: Path, task: str, models, T: int, updates: int, backend: str = "scratch", device: str = "cpu",
             seed: int = 0, workers: int | None = None) -> dict:
    """Exact per-timestep gradient profiles at initialisation and after `updates` updates."""
    _check_backend(backend, device)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    proto = {**ex.STUDY, "updates": updates, "flow_lengths": (T,)}
    specs = _shift_seeds(ex.study_specs(backend, proto, device, tasks=[task], models=models, lengths=[T], seeds=1), seed)
    runs = ex.run_many(specs, workers, progress="gradflow")
    write_json({"meta": {**provenance(), "protocol": proto, "backend": backend}, "runs": runs}, out / "gradflow_runs.json")
    figs = [plots.gradient_flow(runs, out / "gradient_flow.png")]
    if any(m[0] == "lstm" for m in models):
        figs.append(plots.gate_statistics(runs, out / "gate_statistics.png"))
    return {"runs": runs, "figures": figs}
