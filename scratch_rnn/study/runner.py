"""Running one of a study's runs: one `RunSpec` in, one `RunRecord` out.

`run_one` trains one model and measures what its spec asks for; `run_one_safe` returns a failure
as data instead of raising, for the executors (`executors.execute`).
"""
from __future__ import annotations

import time

import numpy as np

from .._numba.threads import one_blas_thread
from ..cells import compile_kernels
from ..runs import inflight, safely
from ..runs.progress import compiling
from ..training.engine import ScratchEngine, TrainingDiverged
from ..training.model import exact_profile, init_model
from ..training.tasks import get_task
from ..training.train import History, evaluate, train
from . import gradflow as gf
from .records import RunRecord
from .specs import RUNAWAY_FACTOR, RunSpec, run_rng


def make_engine(spec: RunSpec, params: dict):
    """The engine that `spec.engine` names, holding `params`."""
    _, task = get_task(spec.task)
    if spec.engine != "scratch":                                  # "torch", or "torch-nn": scratch_rnn.nn's layers
        from reference.train import TorchEngine
        return TorchEngine(params, task, lr=spec.lr, clip=spec.clip, device=spec.device,
                           layers="scratch_rnn" if spec.engine == "torch-nn" else "torch")
    return ScratchEngine(params, task, lr=spec.lr, clip=spec.clip, backend=spec.backend)


def _flow_batch(spec: RunSpec, sampler, dtype=np.float64) -> tuple:
    """The fixed batch (at the target length T) on which a run's gradient profiles are measured."""
    x, y = sampler(spec.T, spec.batch, run_rng(spec, "flow"), dtype=np.float64)
    return x.astype(dtype), y


def _flow(spec: RunSpec, engine, task, sampler) -> dict:
    """Exact profiles and their companions on a fixed batch, from the engine's current weights."""
    params = {k: np.asarray(v, dtype=np.float64) for k, v in engine.numpy_params().items()}
    x, y = _flow_batch(spec, sampler)
    rec = {k: v.tolist() for k, v in engine.profile(x.astype(spec.dtype), y).items()}
    for key, value in gf.cell_analyses(params, task, x, y, backend=spec.backend).items():
        rec[key] = {k: v.tolist() for k, v in value.items()} if isinstance(value, dict) else value.tolist()
    return rec


def run_one(spec: RunSpec) -> RunRecord:
    """Train one model; returns its record (BLAS and torch on one thread, `one_blas_thread`)."""
    with one_blas_thread():
        return _run_one(spec)


#: the most updates between two chances to save a snapshot of the run (`runs.inflight`)
CHUNK = 25
#: what a snapshot of `_run_one`'s loop holds
LOOP_KEYS = ("done", "L", "evals", "passed", "near_misses", "switch_flows", "metric", "tested_at", "history",
             "flow_init", "engine", "rng", "seconds")


def _model(spec: RunSpec) -> tuple:
    """(sampler, task, dtype, engine): the run's task and its model at initialisation, on its engine."""
    sampler, task = get_task(spec.task)
    dtype = np.dtype(spec.dtype)
    params = init_model(spec.cell, task.input_size, spec.hidden, task.outputs, run_rng(spec, "init"),
                        init=spec.init, dtype=dtype, t_max=spec.T, layers=spec.layers,
                        bidirectional=spec.bidirectional)
    return sampler, task, dtype, make_engine(spec, params)


def _run_one(spec: RunSpec) -> RunRecord:
    if spec.engine != "scratch":
        import torch
        torch.set_num_threads(1)
        torch.manual_seed(spec.seed)
    t0 = time.perf_counter()
    sampler, task, dtype, engine = _model(spec)
    rng = run_rng(spec, "batches")
    every = spec.eval_every or spec.updates
    lengths = spec.schedule()                                    # the lengths to train on, in order
    saved = inflight.for_job(spec)
    loop = saved.load(LOOP_KEYS)                                 # the state an interrupted attempt saved
    if loop is None:
        loop = {"done": 0, "L": lengths[0], "history": None, "evals": [],
                "passed": [],                                    # [length, update] at each curriculum switch
                "near_misses": [],                               # [update, screen, test]: only the screen passed
                "switch_flows": [],                              # curriculum + flow: profiles at T at each switch
                "metric": float("nan"), "tested_at": -1,         # the latest test metric and its update
                "seconds": 0.0, "flow_init": _flow(spec, engine, task, sampler) if spec.flow else None}
    else:                                                        # resume exactly where the snapshot was taken
        engine.load_state(*loop.pop("engine"))
        rng.bit_generator.state = loop.pop("rng")
        loop["history"] = History.from_dict(loop["history"]) if loop["history"] is not None else None
    flow_init, evals, near_misses, passed = loop["flow_init"], loop["evals"], loop["near_misses"], loop["passed"]
    switch_flows, history, done, L = loop["switch_flows"], loop["history"], loop["done"], loop["L"]
    metric, tested_at, diverged, stopped_at = loop["metric"], loop["tested_at"], None, None

    def test() -> float:                                         # a fresh test set at each update it is taken
        return evaluate(engine, sampler, spec.T, spec.eval_n, run_rng(spec, f"test@{done}"), dtype=dtype)

    def snapshot() -> None:                                      # at an update boundary: all the loop needs
        saved.save({"done": done, "L": L, "evals": evals, "passed": passed, "near_misses": near_misses,
                    "switch_flows": switch_flows, "metric": metric, "tested_at": tested_at,
                    "history": history.to_dict() if history is not None else None, "flow_init": flow_init,
                    "engine": engine.state(), "rng": rng.bit_generator.state,   # pickled at once
                    "seconds": loop["seconds"] + time.perf_counter() - t0})

    try:
        while done < spec.updates:
            next_eval = min(spec.updates, (done // every + 1) * every)
            stop = min(next_eval, done + CHUNK)
            history = train(engine, sampler, L, spec.batch, stop, rng, history=history, start=done, dtype=dtype)
            done = stop
            if done == next_eval and spec.eval_every:            # a screen every eval_every updates
                screen = evaluate(engine, sampler, L, spec.screen_n, run_rng(spec, f"screen{done}"), dtype=dtype)
                evals.append([done, screen] if spec.arm == "direct" else [done, screen, L])
                if spec.passes(screen):
                    if L == spec.T:                              # the screen passed: the test decides
                        metric, tested_at = test(), done
                        if spec.passes(metric):
                            stopped_at = done
                            break
                        near_misses.append([done, screen, metric])   # a near miss: train on
                    else:
                        passed.append([L, done])                 # the curriculum moves on
                        if spec.flow:                            # the exact profile at T, as it stands now
                            prof = engine.profile(*_flow_batch(spec, sampler, dtype))
                            switch_flows.append({"length": L, "update": done,
                                                 **{k: v.tolist() for k, v in prof.items()}})
                        L = lengths[len(passed)]
            if saved.due():                                      # after the screen: a resume does not repeat it
                snapshot()
    except TrainingDiverged as err:
        diverged = {"update": err.update, "tensor": err.tensor}
        history = err.history
        tested_at = -1                                           # the weights moved since any earlier test
    if tested_at != done:
        metric = test()
    succeeded = bool(spec.passes(metric))
    rec = RunRecord(
        spec=spec, updates=done, evals=evals,
        final_accuracy=None if spec.regression else metric, final_mse=metric if spec.regression else None,
        succeeded=succeeded, updates_to_success=stopped_at if succeeded else None, diverged=diverged,
        history=history.to_dict() if history is not None else None, seconds=0.0, flow_init=flow_init,
        runaway_at=history.runaway_at(RUNAWAY_FACTOR) if history is not None else None, near_misses=near_misses)
    if spec.arm == "curriculum":                                 # does it still solve the shorter lengths?
        rec.curriculum = {"passed": passed, "final_by_length": {
            str(n): evaluate(engine, sampler, n, spec.eval_n, run_rng(spec, f"test{n}"), dtype=dtype)
            for n in lengths[:-1]}}
        if spec.flow:
            rec.curriculum["flow_at_switch"] = switch_flows
    if spec.flow:
        rec.flow_final = _flow(spec, engine, task, sampler)
    if spec.notebook_flow:
        x_one, y_one = sampler(spec.T, 1, run_rng(spec, "notebook_flow"), dtype=np.float64)
        p64 = {k: np.asarray(v, dtype=np.float64) for k, v in engine.numpy_params().items()}
        rec.notebook_flow = gf.notebook_metric(p64, x_one, backend=spec.backend).tolist()
        rec.notebook_flow_exact = exact_profile(p64, task, x_one, y_one, backend=spec.backend)["h"].tolist()
    rec.seconds = loop["seconds"] + time.perf_counter() - t0   # with the interrupted attempts' training
    return rec


def run_one_record(spec: RunSpec) -> dict:
    """`run_one`'s record as a plain dict, which any executor can carry back."""
    return run_one(spec).to_dict()


#: `run_one` as the executor runs it: {"record": dict}, or {"failure": {"type", "message", "traceback"}}
run_one_safe = safely(run_one_record, "record")


class Timing:
    """How the study's runs are timed before they start (`scratch_rnn.runs.progress`)."""

    @staticmethod
    def prepare(specs: list) -> None:
        """Compile (or load from Numba's cache) the kernels in every dtype the specs train in with the
        Numba backend (`cells.compile_kernels`), in this process, before any worker starts."""
        dtypes = sorted({s.dtype for s in specs if s.engine == "scratch" and s.backend == "numba"})
        if dtypes:
            compiling(lambda: compile_kernels(dtypes))

    @staticmethod
    def calibrate(specs: list, seconds: float = 2.0) -> float:
        """Seconds per unit of ``RunSpec.cost()`` on this machine: training updates of the costliest spec
        (its model, batch and length, one thread) for about `seconds`, the first one not counted, and one
        evaluation as large as its test, which every run ends with (its screens every `eval_every` updates
        are counted as their share of sequences)."""
        spec = max(specs, key=lambda s: s.cost())
        with one_blas_thread():
            sampler, _, dtype, engine = _model(spec)
            rng = np.random.default_rng(0)
            engine.step(*sampler(spec.T, spec.batch, rng, dtype=dtype), 0)
            times: list[float] = []
            while sum(times) < seconds and len(times) < 50 or len(times) < 2:
                x, y = sampler(spec.T, spec.batch, rng, dtype=dtype)
                t0 = time.perf_counter()
                engine.step(x, y, len(times) + 1)
                times.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            evaluate(engine, sampler, spec.T, spec.eval_n, rng, dtype=dtype)
            test_s = time.perf_counter() - t0
        screens = spec.updates // spec.eval_every * spec.screen_n / spec.eval_n if spec.eval_every else 0
        run_s = float(np.median(times)) * spec.updates + test_s * (1 + screens)
        return run_s / spec.cost()


TIMING = Timing()
