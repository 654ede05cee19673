"""The study's experiments, on either backend.

* The **notebook protocol**: the notebook's experiments 1-3 and its gradient-flow cell exactly
  as written (hidden 64, Adam lr 1e-3, batch 32, no clipping, float32, PyTorch's default init;
  100 updates at T = 10 and T = 100, 50 updates per length in the sweep), repeated over seeds.
* The **calibrated study**: the same models and task with a budget that can succeed (`STUDY`),
  several initialisations, the temporal XOR and the first-bit control, a success criterion
  (accuracy >= 0.99 on 1000 fresh sequences), updates-to-success and exact gradient profiles.

Every training run is one `RunSpec` -> `run_one` -> a JSON-able record; runs go to worker
processes in parallel. Seeds derive from (seed, task, model, T), so a run's numbers do not depend
on which other runs share the sweep.
"""
from __future__ import annotations

import os
import time
import zlib
from dataclasses import asdict, dataclass, replace

import numpy as np

from . import gradflow as gf
from .model import init_model
from .tasks import get_task
from .train import ScratchEngine, TrainingDiverged, evaluate, train

NOTEBOOK = {"hidden": 64, "lr": 1e-3, "batch": 32, "clip": None, "dtype": "float32",
            "updates": 100, "sweep_updates": 50, "lengths": (5, 10, 20, 30, 50, 75, 100, 150), "eval_n": 1000}
STUDY = {"hidden": 64, "lr": 1e-3, "batch": 32, "clip": 1.0, "dtype": "float32", "updates": 3000,
         "eval_every": 100, "screen_n": 256, "eval_n": 1000, "success": 0.99,
         "lengths": (5, 10, 20, 30, 50, 75, 100, 150), "seeds": 5, "tasks": ("xor", "first_bit"),
         "models": (("rnn", "pytorch"), ("rnn", "orthogonal"), ("lstm", "pytorch"), ("lstm", "forget_bias"),
                    ("lstm", "chrono")),
         "flow_lengths": (100,)}
QUICK = {**STUDY, "updates": 200, "lengths": (5, 10, 30), "seeds": 2,
         "models": (("rnn", "pytorch"), ("lstm", "pytorch"), ("lstm", "forget_bias")), "flow_lengths": (30,)}
QUICK_NOTEBOOK = {**NOTEBOOK, "lengths": (5, 10, 20), "updates": 60, "sweep_updates": 30}


@dataclass(frozen=True)
class RunSpec:
    task: str
    cell: str
    init: str
    T: int
    seed: int
    updates: int
    lr: float
    batch: int
    clip: float | None
    hidden: int = 64
    dtype: str = "float32"
    eval_every: int = 0            # 0: no early stopping, evaluate once at the end
    screen_n: int = 256
    eval_n: int = 1000
    success: float = 0.99
    flow: bool = False             # record exact gradient profiles, bounds and gate statistics
    notebook_flow: bool = False    # record the notebook's gradient-flow metric after training
    backend: str = "scratch"       # "scratch" or "torch"
    scratch_backend: str = "numba"
    device: str = "cpu"


def _rng(spec: RunSpec, purpose: str) -> np.random.Generator:
    key = zlib.crc32(f"{spec.task}|{spec.cell}|{spec.init}|{spec.T}|{purpose}".encode())
    return np.random.default_rng([spec.seed, key])


def make_engine(spec: RunSpec, params: dict):
    _, task = get_task(spec.task)
    if spec.backend == "torch":
        from reference.train import TorchEngine
        return TorchEngine(params, task, lr=spec.lr, clip=spec.clip, device=spec.device)
    if spec.backend != "scratch":
        raise ValueError(f"backend: expected 'scratch' or 'torch', got {spec.backend!r}")
    return ScratchEngine(params, task, lr=spec.lr, clip=spec.clip, backend=spec.scratch_backend)


def _flow(spec, engine, task, sampler) -> dict:
    """Exact profiles and their companions on a fixed batch, from the engine's current weights."""
    params = {k: np.asarray(v, dtype=np.float64) for k, v in engine.numpy_params().items()}
    x, y = sampler(spec.T, spec.batch, _rng(spec, "flow"), dtype=np.float64)
    rec = {k: v.tolist() for k, v in engine.profile(x.astype(spec.dtype), y).items()}
    if spec.cell == "rnn":
        rec["bound"] = gf.jacobian_bound(params, task, x, y, backend=spec.scratch_backend).tolist()
    else:
        rec["cell_path"] = gf.cell_path(params, task, x, y, backend=spec.scratch_backend).tolist()
        rec["gates"] = {k: v.tolist() for k, v in gf.gate_statistics(params, x, backend=spec.scratch_backend).items()}
    return rec


def run_one(spec: RunSpec) -> dict:
    """Train one model; returns its record (spec, history, evaluations, outcome, flow data).
    BLAS and torch run on one thread: the study is parallel over runs, one process per core, and
    a multithreaded BLAS in each of them would fight for the same cores (measured: 20x slower)."""
    from threadpoolctl import threadpool_limits

    from ._jit import load_blas
    load_blas()                      # threadpoolctl limits only the libraries already loaded
    with threadpool_limits(limits=1, user_api="blas"):
        return _run_one(spec)


def _run_one(spec: RunSpec) -> dict:
    if spec.backend == "torch":
        import torch
        torch.set_num_threads(1)
        torch.manual_seed(spec.seed)
    t0 = time.perf_counter()
    sampler, task = get_task(spec.task)
    dtype = np.dtype(spec.dtype)
    params = init_model(spec.cell, task.input_size, spec.hidden, task.outputs, _rng(spec, "init"),
                        init=spec.init, dtype=dtype, t_max=spec.T)
    engine = make_engine(spec, params)
    rng = _rng(spec, "batches")
    rec = {"spec": asdict(spec), "evals": [], "updates_to_success": None, "diverged": None}
    if spec.flow:
        rec["flow_init"] = _flow(spec, engine, task, sampler)
    every = spec.eval_every or spec.updates
    history, done = None, 0
    try:
        while done < spec.updates:
            stop = min(spec.updates, done + every)
            history = train(engine, sampler, spec.T, spec.batch, stop, rng, history=history, start=done, dtype=dtype)
            done = stop
            if spec.eval_every:
                screen = evaluate(engine, sampler, spec.T, spec.screen_n, _rng(spec, f"screen{done}"), dtype=dtype)
                rec["evals"].append([done, screen])
                if screen >= spec.success:
                    break
    except TrainingDiverged as err:
        rec["diverged"] = {"update": err.update, "tensor": err.tensor}
        history = err.history
    rec["updates"] = done
    rec["final_accuracy"] = evaluate(engine, sampler, spec.T, spec.eval_n, _rng(spec, "test"), dtype=dtype)
    if spec.eval_every and rec["final_accuracy"] >= spec.success:
        rec["updates_to_success"] = done
    rec["history"] = history.to_dict() if history is not None else None
    if spec.flow:
        rec["flow_final"] = _flow(spec, engine, task, sampler)
    if spec.notebook_flow:
        x_one, y_one = sampler(spec.T, 1, _rng(spec, "notebook_flow"), dtype=np.float64)
        p64 = {k: np.asarray(v, dtype=np.float64) for k, v in engine.numpy_params().items()}
        rec["notebook_flow"] = gf.notebook_metric(p64, x_one, backend=spec.scratch_backend).tolist()
        rec["notebook_flow_exact"] = gf.exact_profile(p64, task, x_one, y_one, backend=spec.scratch_backend)["h"].tolist()
    rec["seconds"] = time.perf_counter() - t0
    return rec


def notebook_specs(backend: str, seeds: int, proto: dict = NOTEBOOK, device: str = "cpu") -> list[RunSpec]:
    """Experiments 1-2 (T = 10, 100; `updates`) and 3 (every length; `sweep_updates`), both models."""
    base = {"task": "xor", "init": "pytorch", "lr": proto["lr"], "batch": proto["batch"], "clip": proto["clip"],
            "hidden": proto["hidden"], "dtype": proto["dtype"], "eval_n": proto["eval_n"], "backend": backend,
            "device": device}
    specs = []
    for seed in range(seeds):
        for cell in ("rnn", "lstm"):
            for T in (10, 100):
                specs.append(RunSpec(cell=cell, T=T, seed=seed, updates=proto["updates"], notebook_flow=T == 100, **base))
            for T in proto["lengths"]:
                specs.append(RunSpec(cell=cell, T=T, seed=1000 + seed, updates=proto["sweep_updates"], **base))
    return specs


def study_specs(backend: str, proto: dict = STUDY, device: str = "cpu", tasks=None, models=None,
                lengths=None, seeds=None) -> list[RunSpec]:
    specs = []
    for task in tasks or proto["tasks"]:
        for cell, init in models or proto["models"]:
            for T in lengths or proto["lengths"]:
                for seed in range(seeds if seeds is not None else proto["seeds"]):
                    specs.append(RunSpec(task=task, cell=cell, init=init, T=T, seed=seed, updates=proto["updates"],
                                         lr=proto["lr"], batch=proto["batch"], clip=proto["clip"],
                                         hidden=proto["hidden"], dtype=proto["dtype"], eval_every=proto["eval_every"],
                                         screen_n=proto["screen_n"], eval_n=proto["eval_n"], success=proto["success"],
                                         flow=T in proto["flow_lengths"] and seed == 0, backend=backend, device=device))
    return specs


def run_many(specs: list[RunSpec], workers: int | None = None, progress: str | bool = "runs") -> list[dict]:
    """Run specs in `workers` processes (default: one per CPU), longest first; records in spec order."""
    workers = workers or os.cpu_count() or 1
    order = sorted(range(len(specs)), key=lambda i: -specs[i].T * specs[i].updates * (4 if specs[i].cell == "lstm" else 1))
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(specs), desc=progress if isinstance(progress, str) else "runs")
    results: list = [None] * len(specs)
    if workers == 1:
        for i in order:
            results[i] = run_one(specs[i])
            bar and bar.update()
    else:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor, as_completed
        with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as ex:
            futures = {ex.submit(run_one, specs[i]): i for i in order}
            for fut in as_completed(futures):
                results[futures[fut]] = fut.result()
                bar and bar.update()
    if bar:
        bar.close()
    return results


def with_backend(specs: list[RunSpec], backend: str) -> list[RunSpec]:
    return [replace(s, backend=backend) for s in specs]
