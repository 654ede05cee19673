"""Training and evaluation with a history per update.

The loop is shared by both backends: it draws batches from a task with a numpy Generator, asks
an engine for one update, and records what the engine measured. `ScratchEngine` (here) runs the
hand-written forward, loss, BPTT, clipping and Adam; ``reference.TorchEngine`` runs the same
steps in PyTorch. Fed the same batches from the same initial weights, the two produce the same
trajectory (tests/test_train.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .losses import mse_loss, softmax_cross_entropy
from .model import model_backward, model_forward
from .optim import SGD, Adam, clip_grad_norm, global_norm
from .tasks import Task


class TrainingDiverged(FloatingPointError):
    """The loss or a gradient became NaN or inf. `update` and `tensor` name where; the engine
    keeps the last good parameters (the failing update was not applied); `history` holds the
    updates before it."""

    def __init__(self, update: int, tensor: str, history=None):
        super().__init__(f"update {update}: {tensor} is not finite (NaN or inf); training stopped, "
                         f"the parameters are those after update {update - 1}")
        self.update, self.tensor, self.history = update, tensor, history


@dataclass
class StepResult:
    loss: float
    accuracy: float          # nan for regression tasks
    grad_norm: float         # global L2 norm of all parameter gradients, before clipping
    profile: dict | None     # {"h": ||dL/dh_t|| (T,), "c": ||dL/dc_t|| (T,)} when asked for


@dataclass
class History:
    """One entry per update; ``profiles[k]`` holds the per-timestep gradient norms measured on
    the batch of update k (before that update is applied)."""

    loss: list = field(default_factory=list)
    accuracy: list = field(default_factory=list)
    grad_norm: list = field(default_factory=list)
    profiles: dict = field(default_factory=dict)

    def record(self, update: int, r: StepResult) -> None:
        self.loss.append(float(r.loss))
        self.accuracy.append(float(r.accuracy))
        self.grad_norm.append(float(r.grad_norm))
        if r.profile is not None:
            self.profiles[update] = {k: np.asarray(v, dtype=np.float64) for k, v in r.profile.items()}

    def to_dict(self) -> dict:
        return {"loss": self.loss, "accuracy": self.accuracy, "grad_norm": self.grad_norm,
                "profiles": {str(k): {n: v.tolist() for n, v in p.items()} for k, p in self.profiles.items()}}


def loss_and_grad(task: Task, out, y):
    """(loss, dout, accuracy) for a task's loss."""
    if task.loss == "mse":
        loss, dout = mse_loss(out, y)
        return loss, dout, float("nan")
    loss, dout = softmax_cross_entropy(out, y)
    return loss, dout, float(np.mean(out.argmax(axis=1) == y))


def gradient_profile(layer_grads) -> dict:
    """||dL/dh_t|| (and ||dL/dc_t||) over batch and hidden units, for every t."""
    prof = {"h": np.sqrt(np.sum(layer_grads.h.astype(np.float64) ** 2, axis=(1, 2)))}
    if getattr(layer_grads, "c", None) is not None:
        prof["c"] = np.sqrt(np.sum(layer_grads.c.astype(np.float64) ** 2, axis=(1, 2)))
    return prof


class ScratchEngine:
    """One update = forward, loss, BPTT, optional global-norm clipping, optimiser step, all
    hand-written. `params` (a model's flat dict) is updated in place."""

    name = "scratch"

    def __init__(self, params: dict, task: Task, lr: float = 1e-3, clip: float | None = None,
                 optimizer: str = "adam", backend: str = "numba"):
        if optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer: expected 'adam' or 'sgd', got {optimizer!r}")
        self.params, self.task, self.clip, self.backend = params, task, clip, backend
        self.optimizer = Adam(params, lr=lr) if optimizer == "adam" else SGD(params, lr=lr)

    def step(self, x, y, update: int, want_profile: bool = False) -> StepResult:
        out, cache = model_forward(self.params, x, backend=self.backend)
        with np.errstate(over="ignore", invalid="ignore"):       # a non-finite loss is handled below
            loss, dout, acc = loss_and_grad(self.task, out, y)
        if not np.isfinite(loss):
            raise TrainingDiverged(update, "loss")
        grads, layer_grads = model_backward(cache, dout)
        for k, g in grads.items():
            if not np.isfinite(g).all():
                raise TrainingDiverged(update, f"gradient of {k}")
        norm = clip_grad_norm(grads, self.clip) if self.clip else global_norm(grads)
        self.optimizer.step(grads)
        return StepResult(loss, acc, norm, gradient_profile(layer_grads) if want_profile else None)

    def profile(self, x, y) -> dict:
        """Per-timestep gradient norms on a batch, without updating anything."""
        from .gradflow import exact_profile                      # gradflow imports this module
        return exact_profile(self.params, self.task, x, y, backend=self.backend)

    def predict(self, x):
        return model_forward(self.params, x, backend=self.backend)[0]

    def numpy_params(self) -> dict:
        return self.params

    def state(self) -> tuple[dict, dict]:
        """(parameters, optimiser state) as NumPy arrays and numbers, for checkpoints."""
        return self.params, self.optimizer.state()

    def load_state(self, params: dict, opt_state: dict) -> None:
        for k in self.params:
            self.params[k][...] = params[k]
        self.optimizer.load_state(opt_state)


def train(engine, sampler, T: int, batch_size: int, updates: int, rng: np.random.Generator,
          profile_at=(), progress: bool | str = False, history: History | None = None,
          start: int = 0, dtype=np.float32) -> History:
    """Run updates start .. updates-1, each on a fresh batch ``sampler(T, batch_size, rng)``.

    profile_at: the update indices at which the per-timestep gradient norms are recorded.
    progress: False, True, or a description for a tqdm bar. Returns the history (extended in
    place when one is passed, e.g. when resuming from a checkpoint)."""
    history = History() if history is None else history
    profile_at = set(profile_at)
    steps = range(start, updates)
    if progress:
        from tqdm.auto import tqdm
        steps = tqdm(steps, desc=progress if isinstance(progress, str) else "train", leave=False)
    for k in steps:
        x, y = sampler(T, batch_size, rng, dtype=dtype)
        try:
            r = engine.step(x, y, k, want_profile=k in profile_at)
        except TrainingDiverged as err:
            err.history = history
            raise
        history.record(k, r)
    return history


def evaluate(engine, sampler, T: int, n: int, rng: np.random.Generator, batch_size: int = 1000,
             dtype=np.float32) -> float:
    """Accuracy (classification) or mean squared error (regression) on n fresh sequences."""
    task, total, seen = engine.task, 0.0, 0
    while seen < n:
        b = min(batch_size, n - seen)
        x, y = sampler(T, b, rng, dtype=dtype)
        out = engine.predict(x)
        total += float(np.sum((out - y) ** 2) / out.shape[1]) if task.loss == "mse" else float(np.sum(out.argmax(1) == y))
        seen += b
    return total / n
