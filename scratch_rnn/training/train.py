"""Training and evaluation with a history per update.

The loop is shared by both engines (`engine.Engine`): it draws batches from a task with a NumPy
Generator, asks the engine for one update, and records what the engine measured.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np
from numpy.typing import DTypeLike

from .engine import Engine, StepResult, TrainingDiverged

#: a task's batch maker: sampler(T, B, rng, dtype=...) -> (x (T, B, D), y)
Sampler = Callable[..., tuple[np.ndarray, np.ndarray]]


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

    @classmethod
    def from_dict(cls, d: dict) -> "History":
        return cls(loss=list(d["loss"]), accuracy=list(d["accuracy"]), grad_norm=list(d["grad_norm"]),
                   profiles={int(k): {n: np.asarray(v, dtype=np.float64) for n, v in p.items()}
                             for k, p in d["profiles"].items()})

    def runaway_at(self, factor: float = 10.0) -> int | None:
        """The first update whose loss exceeded `factor` times the first update's loss (a run
        that is running away although every number is finite), or None."""
        if not self.loss:
            return None
        limit = factor * self.loss[0]
        return next((k for k, v in enumerate(self.loss) if v > limit), None)


def train(engine: Engine, sampler: Sampler, T: int, batch_size: int, updates: int, rng: np.random.Generator,
          profile_at: Iterable[int] = (), progress: bool | str = False, history: History | None = None,
          start: int = 0, dtype: DTypeLike = np.float32) -> History:
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


def evaluate(engine: Engine, sampler: Sampler, T: int, n: int, rng: np.random.Generator, batch_size: int = 1000,
             dtype: DTypeLike = np.float32) -> float:
    """Accuracy (classification) or mean squared error (regression) on n fresh sequences."""
    task, total, seen = engine.task, 0.0, 0
    while seen < n:
        b = min(batch_size, n - seen)
        x, y = sampler(T, b, rng, dtype=dtype)
        out = engine.predict(x)
        total += float(np.sum((out - y) ** 2) / out.shape[1]) if task.loss == "mse" else float(np.sum(out.argmax(1) == y))
        seen += b
    return total / n
