"""The study's protocols and the runs they consist of.

* The **notebook protocol**: the notebook's experiments 1-2 (T = 10 and 100) and 3 (the sweep over
  lengths) and its gradient-flow cell exactly as written (hidden 64, Adam lr 1e-3, batch 32, no
  clipping, float32, PyTorch's default init; 100 updates at T = 10 and T = 100, 50 updates per
  length in the sweep), repeated over seeds.
* The **calibrated study**: the same models and task with a budget that can succeed (`STUDY`),
  several initialisations, the temporal XOR and the first-bit control, a success criterion stated
  in the protocol (accuracy >= `success_accuracy` on `eval_n` fresh sequences for a classification
  task, MSE <= `success_mse` for a regression task), updates to success and exact gradient profiles.

Every training run is one `RunSpec`: plain data that says what to train, under which protocol
(`experiment`), and what to record (`flow`, `notebook_flow`). Its random numbers derive from
(seed, experiment, task, model, T) alone (`run_rng`), so a run's numbers do not depend on which
other runs share the sweep, and `--seed N` shifts every run's seed without changing its role.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np

from .._resources import layer_bytes
from ..cells import CELLS
from ..training.tasks import TASKS

NOTEBOOK = {"hidden": 64, "lr": 1e-3, "batch": 32, "clip": None, "dtype": "float32",
            "updates": 100, "sweep_updates": 50, "lengths": (5, 10, 20, 30, 50, 75, 100, 150), "eval_n": 1000}
#: the calibrated study (`reproduce`). Its arms, each with its budget:
#: * direct: train at T from the start, at most `updates` updates; every length in `lengths`, `seeds`
#:   seeds, and `headline_seeds` seeds at the `headline_lengths` that the README's claims rest on;
#: * curriculum: reach T through the CURRICULUM lengths below it, `updates` updates in all (the
#:   same budget as direct), at `curriculum_lengths` with `headline_seeds` seeds;
#: * adding: the adding problem, a regression, with its own budget (`adding`): the LSTM needs
#:   several thousand updates at T = 100 (Hochreiter & Schmidhuber 1997; Arjovsky et al. 2016);
#: * robustness: a sample of the direct and curriculum runs (`robustness`) trained again in float64
#:   and on the other engine, from the same initial weights and batches.
STUDY = {"hidden": 64, "lr": 1e-3, "batch": 32, "clip": 1.0, "dtype": "float32", "updates": 3000,
         "eval_every": 100, "screen_n": 256, "eval_n": 1000, "success_accuracy": 0.99, "success_mse": 0.01,
         "lengths": (5, 10, 20, 30, 50, 75, 100, 150), "seeds": 5,
         "headline_lengths": (30, 50, 100, 150), "headline_seeds": 10, "curriculum_lengths": (30, 50, 100, 150),
         "tasks": ("xor", "first_bit"),
         "models": (("rnn", "pytorch"), ("rnn", "orthogonal"), ("lstm", "pytorch"), ("lstm", "forget_bias"),
                    ("lstm", "chrono"), ("gru", "pytorch")),
         "flow_lengths": (100,),
         "adding": {"lengths": (100, 200), "updates": 10000, "seeds": 5,
                    "models": (("rnn", "pytorch"), ("rnn", "orthogonal"), ("lstm", "pytorch"), ("lstm", "forget_bias"))},
         "robustness": {"task": "xor", "direct_lengths": (30, 50), "curriculum_lengths": (100,),
                        "models": (("rnn", "orthogonal"), ("lstm", "chrono")), "seeds": 10}}
QUICK = {**STUDY, "updates": 200, "lengths": (5, 10, 30), "seeds": 2, "headline_lengths": (30,), "headline_seeds": 2,
         "curriculum_lengths": (30,), "flow_lengths": (30,), "quick": True,
         "models": (("rnn", "pytorch"), ("lstm", "pytorch"), ("lstm", "forget_bias")),
         "adding": {"lengths": (20,), "updates": 200, "seeds": 1, "models": (("rnn", "orthogonal"), ("lstm", "pytorch"))},
         "robustness": {"task": "xor", "direct_lengths": (10,), "curriculum_lengths": (30,),
                        "models": (("lstm", "forget_bias"),), "seeds": 2}}
QUICK_NOTEBOOK = {**NOTEBOOK, "quick": True, "lengths": (5, 10, 20), "updates": 60, "sweep_updates": 30}

#: a run whose training loss climbs above this multiple of its first loss is flagged (not stopped)
RUNAWAY_FACTOR = 10.0
#: what a run belongs to: the notebook's experiments 1-2, its experiment 3, or the calibrated study
#: (which `sweep` and `gradflow` run on chosen grids)
EXPERIMENTS = ("notebook", "notebook_sweep", "study")
#: how a run reaches its length: "direct" trains at T from the start; "curriculum" trains on the
#: CURRICULUM lengths below T, then T, moving on at the first screen that passes
ARMS = ("direct", "curriculum")
CURRICULUM = (10, 20, 30, 50, 75, 100, 150)
ENGINES = ("scratch", "torch", "torch-nn")   # torch-nn: the torch engine with scratch_rnn.nn's layers (CPU)
DEVICES = ("cpu", "cuda")


@dataclass(frozen=True)
class RunSpec:
    """One training run, as data. Validated on construction (`check`), so a bad spec fails in the
    process that builds it, before any run starts."""

    experiment: str
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
    success_accuracy: float = 0.99  # classification: success = test accuracy >= this
    success_mse: float = 0.01      # regression: success = test MSE <= this
    flow: bool = False             # record exact gradient profiles, bounds and gate statistics
    notebook_flow: bool = False    # record the notebook's gradient-flow metric after training
    engine: str = "scratch"        # who trains: "scratch" (this package), "torch" (reference/) or "torch-nn"
    backend: str = "numba"         # the scratch engine's loops, and the analysis's: "numba" or "numpy"
    device: str = "cpu"            # the torch engine's device
    layers: int = 1                # stacked recurrent layers
    bidirectional: bool = False    # two directions per layer
    arm: str = "direct"            # "direct" or "curriculum" (ARMS)

    #: the run store keys a RunSpec by its fields alone (`scratch_rnn.runs.run_key`)
    STORE_KIND: ClassVar[str | None] = None

    def __post_init__(self):
        self.check()

    def check(self) -> None:
        """Raise ValueError naming the first field whose value is out of range."""
        def need(ok, field, expected):
            if not ok:
                raise ValueError(f"RunSpec.{field}: expected {expected}, got {getattr(self, field)!r}")
        need(self.experiment in EXPERIMENTS, "experiment", f"one of {EXPERIMENTS}")
        need(self.task in TASKS, "task", f"one of {tuple(TASKS)}")
        need(self.cell in CELLS, "cell", f"one of {tuple(CELLS)}")
        need(self.init in CELLS[self.cell].inits, "init", f"one of {CELLS[self.cell].inits} for cell {self.cell!r}")
        for f, lo in (("T", 2), ("updates", 1), ("batch", 1), ("hidden", 1), ("screen_n", 1), ("eval_n", 1)):
            v = getattr(self, f)
            need(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= lo, f, f"an integer >= {lo}")
        need(isinstance(self.seed, (int, np.integer)) and 0 <= self.seed < 2 ** 63, "seed",
             "an integer in [0, 2**63) (what every engine's generator takes)")
        need(isinstance(self.eval_every, (int, np.integer)) and self.eval_every >= 0, "eval_every", "an integer >= 0")
        need(np.isfinite(self.lr) and self.lr > 0, "lr", "a finite number > 0")
        need(self.clip is None or (np.isfinite(self.clip) and self.clip > 0), "clip", "None or a finite number > 0")
        need(0 < self.success_accuracy <= 1, "success_accuracy", "a number in (0, 1]")
        need(np.isfinite(self.success_mse) and self.success_mse > 0, "success_mse", "a finite number > 0")
        need(self.dtype in ("float32", "float64"), "dtype", "'float32' or 'float64'")
        need(self.engine in ENGINES, "engine", f"one of {ENGINES}")
        need(self.backend in ("numpy", "numba"), "backend", "'numpy' or 'numba'")
        need(self.device in DEVICES, "device", f"one of {DEVICES}")
        need(self.engine == "torch" or self.device == "cpu", "device", f"'cpu' for the {self.engine} engine")
        need(isinstance(self.layers, (int, np.integer)) and not isinstance(self.layers, bool) and self.layers >= 1,
             "layers", "an integer >= 1")
        need(isinstance(self.bidirectional, bool), "bidirectional", "True or False")
        stack = self.layers > 1 or self.bidirectional
        need(not (stack and self.flow), "flow", "False for a stacked or bidirectional model (the gradient-flow "
             "records are defined for one layer)")
        need(not (stack and self.notebook_flow), "notebook_flow", "False for a stacked or bidirectional model")
        need(self.arm in ARMS, "arm", f"one of {ARMS}")
        need(self.arm == "direct" or self.eval_every > 0, "eval_every",
             "an integer > 0 for the curriculum arm (it moves to the next length at a screen)")

    def schedule(self) -> list[int]:
        """The lengths trained on, in order: [T] for the direct arm; the CURRICULUM lengths below T,
        then T, for the curriculum arm."""
        return [L for L in CURRICULUM if L < self.T] + [self.T] if self.arm == "curriculum" else [self.T]

    @property
    def model(self) -> tuple[str, str]:
        """(cell, init), the model axis of the report; a stack's init carries its shape as --models
        writes it ("pytorch:2", "chrono:1:bi"), a curriculum run's its arm ("chrono+curriculum")."""
        arm = "" if self.arm == "direct" else f"+{self.arm}"
        if self.layers == 1 and not self.bidirectional:
            return self.cell, self.init + arm
        return self.cell, f"{self.init}:{self.layers}" + (":bi" if self.bidirectional else "") + arm

    @property
    def label(self) -> str:
        """The run in one line, as the commands print a failed run."""
        return f"{self.experiment} {self.task} {':'.join(self.model)} T={self.T} seed {self.seed}"

    @property
    def regression(self) -> bool:
        return TASKS[self.task][1].loss == "mse"

    def passes(self, metric: float) -> bool:
        """Whether a test metric (accuracy, or MSE for a regression task) meets the success threshold."""
        return metric <= self.success_mse if self.regression else metric >= self.success_accuracy

    def peak_bytes(self) -> int:
        """An upper bound of the memory one run needs at once: a training batch, forward and BPTT,
        or an evaluation over up to 1000 sequences (its largest batch), through every layer."""
        G, H, nd = CELLS[self.cell].gates, self.hidden, 2 if self.bidirectional else 1
        itemsize = 4 if self.dtype == "float32" else 8
        B = max(self.batch, min(1000, max(self.eval_n, self.screen_n)))
        return layer_bytes(self.T, B, H, G, itemsize, TASKS[self.task][1].input_size) * self.layers * nd

    def cost(self) -> float:
        """A relative estimate of the run's time at its whole budget (the most it can take), to start the
        longest runs first and to bound the time left: updates x T x gates x layers x directions."""
        return self.T * self.updates * CELLS[self.cell].gates * self.layers * (2 if self.bidirectional else 1)

    def least_cost(self) -> float:
        """The same measure for the fewest updates the run can stop after: its first screen at each of
        its lengths passes (`eval_every` updates at each, the curriculum's shorter lengths included);
        the whole budget for a run without early stopping."""
        if not self.eval_every:
            return self.cost()
        steps = sum(min(self.eval_every, self.updates) * L for L in self.schedule())
        return min(steps, self.T * self.updates) * CELLS[self.cell].gates * self.layers * (2 if self.bidirectional else 1)


def run_rng(spec: RunSpec, purpose: str) -> np.random.Generator:
    """The generator for one purpose ("init", "batches", "test", ...) of one run (a one-layer
    model trained directly keeps the streams it had before stacks and arms existed)."""
    cell, init = spec.model
    key = zlib.crc32(f"{spec.experiment}|{spec.task}|{cell}|{init}|{spec.T}|{purpose}".encode())
    return np.random.default_rng([spec.seed, key])


def _base(proto: dict, engine: str, backend: str, device: str) -> dict:
    return {"lr": proto["lr"], "batch": proto["batch"], "clip": proto["clip"], "hidden": proto["hidden"],
            "dtype": proto["dtype"], "eval_n": proto["eval_n"], "engine": engine, "backend": backend, "device": device}


def notebook_specs(engine: str, seeds: int, proto: dict = NOTEBOOK, device: str = "cpu", first_seed: int = 0,
                   backend: str = "numba") -> list[RunSpec]:
    """Experiments 1-2 (T = 10, 100; `updates`) and 3 (every length; `sweep_updates`), both models.
    The notebook's gradient-flow cell is recorded for the first seed's T = 100 runs."""
    base = {"task": "xor", "init": "pytorch", **_base(proto, engine, backend, device)}
    specs = []
    for k in range(seeds):
        seed = first_seed + k
        for cell in ("rnn", "lstm"):
            for T in (10, 100):
                specs.append(RunSpec(experiment="notebook", cell=cell, T=T, seed=seed, updates=proto["updates"],
                                     notebook_flow=T == 100 and k == 0, **base))
            for T in proto["lengths"]:
                specs.append(RunSpec(experiment="notebook_sweep", cell=cell, T=T, seed=seed,
                                     updates=proto["sweep_updates"], **base))
    return specs


def check_engine(engine: str, device: str, backend: str = "numba") -> None:
    """Raise ValueError unless the engine, device and backend can run here."""
    if engine not in ENGINES:
        raise ValueError(f"engine: expected one of {ENGINES}, got {engine!r}")
    if device not in DEVICES:
        raise ValueError(f"device: expected one of {DEVICES}, got {device!r}")
    if backend not in ("numpy", "numba"):
        raise ValueError(f"backend: expected 'numpy' or 'numba', got {backend!r}")
    if engine != "torch" and device != "cpu":
        raise ValueError(f"device: the {engine} engine runs on the CPU; --device cuda needs --engine torch")
    if engine != "scratch":
        from reference.train import check_device
        check_device(device)


def study_specs(engine: str, proto: dict = STUDY, device: str = "cpu", tasks=None, models=None, lengths=None,
                seeds=None, first_seed: int = 0, backend: str = "numba", arm: str = "direct") -> list[RunSpec]:
    """The calibrated study's grid (or the given part of it). Gradient profiles are recorded for
    the first seed at the lengths in ``proto["flow_lengths"]``."""
    specs = []
    n = seeds if seeds is not None else proto["seeds"]
    for task in tasks or proto["tasks"]:
        for cell, init, *shape in models or proto["models"]:      # (cell, init[, layers, bidirectional])
            layers, bi = shape or (1, False)
            for T in lengths or proto["lengths"]:
                for k in range(n):
                    specs.append(RunSpec(
                        experiment="study", task=task, cell=cell, init=init, T=T, seed=first_seed + k,
                        layers=layers, bidirectional=bi, arm=arm,
                        updates=proto["updates"], eval_every=proto["eval_every"], screen_n=proto["screen_n"],
                        success_accuracy=proto["success_accuracy"], success_mse=proto["success_mse"],
                        flow=T in proto["flow_lengths"] and k == 0 and layers == 1 and not bi, **_base(proto, engine, backend, device)))
    return specs


def reproduce_specs(engine: str, proto: dict = STUDY, device: str = "cpu", first_seed: int = 0,
                    backend: str = "numba") -> dict[str, list[RunSpec]]:
    """The calibrated study's runs by arm: {"direct", "curriculum", "adding", "robustness"}.
    Gradient profiles are recorded for the first seed at ``proto["flow_lengths"]`` (at every switch
    of the curriculum too); the robustness runs are direct and curriculum runs again, in float64
    and on the other engine."""
    kw: dict[str, Any] = {"engine": engine, "device": device, "first_seed": first_seed, "backend": backend}
    head, n_head = proto["headline_lengths"], proto["headline_seeds"]
    direct: list[RunSpec] = []
    for task in proto["tasks"]:
        for model in proto["models"]:
            for T in proto["lengths"]:
                direct += study_specs(proto=proto, tasks=[task], models=[model], lengths=[T],
                                      seeds=n_head if T in head else proto["seeds"], **kw)
    curriculum = study_specs(proto=proto, lengths=proto["curriculum_lengths"], seeds=n_head, arm="curriculum", **kw)
    add = proto["adding"]
    adding = study_specs(proto={**proto, "updates": add["updates"], "flow_lengths": ()}, tasks=["adding"], models=add["models"],
                         lengths=add["lengths"], seeds=add["seeds"], **kw)
    rob = proto["robustness"]
    sample = [s for s in direct if s.T in rob["direct_lengths"]] + \
             [s for s in curriculum if s.T in rob["curriculum_lengths"]]
    sample = [s for s in sample if s.task == rob["task"] and (s.cell, s.init) in rob["models"]
              and s.seed < first_seed + rob["seeds"]]
    other = "torch" if engine == "scratch" else "scratch"
    robustness = [replace(s, dtype="float64" if s.dtype == "float32" else "float32", flow=False) for s in sample] + \
                 [replace(s, engine=other, device="cpu", flow=False) for s in sample]
    return {"direct": direct, "curriculum": curriculum, "adding": adding, "robustness": robustness}
