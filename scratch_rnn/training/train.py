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
    """What training recorded, one entry per update.

    Attributes:
        loss: The loss of every update's batch.
        accuracy: The accuracy of every update's batch (nan for a regression).
        grad_norm: The global gradient norm of every update, before clipping.
        profiles: ``{update: {"h": ||dL/dh_t|| (T,), "c": ...}}``, measured on that update's batch
            before the update is applied, at the updates asked for.
    """

    loss: list = field(default_factory=list)
    accuracy: list = field(default_factory=list)
    grad_norm: list = field(default_factory=list)
    profiles: dict = field(default_factory=dict)

    def record(self, update: int, r: StepResult) -> None:
        """Append one update's result.

        Args:
            update: The update's number.
            r: What `Engine.step` returned.
        """
        self.loss.append(float(r.loss))
        self.accuracy.append(float(r.accuracy))
        self.grad_norm.append(float(r.grad_norm))
        if r.profile is not None:
            self.profiles[update] = {k: np.asarray(v, dtype=np.float64) for k, v in r.profile.items()}

    def to_dict(self) -> dict:
        """The history as JSON-able lists and dicts.

        Returns:
            {"loss", "accuracy", "grad_norm", "profiles"}; `from_dict` reads it back.
        """
        return {"loss": self.loss, "accuracy": self.accuracy, "grad_norm": self.grad_norm,
                "profiles": {str(k): {n: v.tolist() for n, v in p.items()} for k, p in self.profiles.items()}}

    @classmethod
    def from_dict(cls, d: dict) -> "History":
        """The history that `to_dict` wrote.

        Args:
            d: What `to_dict` returned.

        Returns:
            The `History`.
        """
        return cls(loss=list(d["loss"]), accuracy=list(d["accuracy"]), grad_norm=list(d["grad_norm"]),
                   profiles={int(k): {n: np.asarray(v, dtype=np.float64) for n, v in p.items()}
                             for k, p in d["profiles"].items()})

    def runaway_at(self, factor: float = 10.0) -> int | None:
        """The first update whose loss exceeded `factor` times the first update's loss: a run running away although every number is finite.

        Args:
            factor: The multiple of the first loss that counts.

        Returns:
            That update's number, or None.
        """
        if not self.loss:
            return None
        limit = factor * self.loss[0]
        return next((k for k, v in enumerate(self.loss) if v > limit), None)


def train(engine: Engine, sampler: Sampler, T: int, batch_size: int, updates: int, rng: np.random.Generator,
          profile_at: Iterable[int] = (), progress: bool | str = False, history: History | None = None,
          start: int = 0, dtype: DTypeLike = np.float32) -> History:
    """Train for updates start .. updates-1, each on a fresh batch.

    Args:
        engine: The `Engine` that takes the steps.
        sampler: A task's batch maker, ``sampler(T, B, rng, dtype=...) -> (x, y)`` (`get_task`).
        T: The sequence length.
        batch_size: B.
        updates: The number of the last update plus one.
        rng: The generator of the batches.
        profile_at: The updates at which the per-timestep gradient norms are recorded.
        progress: False, True, or a description for a tqdm progress bar.
        history: A `History` to extend in place (when resuming); a new one if None.
        start: The first update's number.
        dtype: The dtype of the batches.

    Returns:
        The history, extended by every update.

    Raises:
        TrainingDiverged: A loss, gradient or parameter became NaN or inf; its ``history`` holds the
            updates before it.

    Examples:
        >>> sampler, task = sr.get_task("first_bit")
        >>> engine = sr.ScratchEngine(sr.init_model("lstm", 1, 8, 2, np.random.default_rng(0)), task, lr=1e-2)
        >>> history = sr.train(engine, sampler, T=5, batch_size=16, updates=20, rng=np.random.default_rng(1))
        >>> len(history.loss)
        20
    """
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
    """The accuracy (classification) or the mean squared error (regression) on n fresh sequences.

    Args:
        engine: The `Engine` whose model is evaluated.
        sampler: A task's batch maker (`get_task`).
        T: The sequence length.
        n: The number of sequences.
        rng: The generator of the sequences.
        batch_size: The sequences per forward pass.
        dtype: The dtype of the batches.

    Returns:
        The accuracy in [0, 1], or the MSE.

    Examples:
        >>> sampler, task = sr.get_task("first_bit")
        >>> engine = sr.ScratchEngine(sr.init_model("lstm", 1, 8, 2, np.random.default_rng(0)), task)
        >>> 0.0 <= sr.evaluate(engine, sampler, T=5, n=100, rng=np.random.default_rng(1)) <= 1.0   # an accuracy
        True
    """
    task, total, seen = engine.task, 0.0, 0
    while seen < n:
        b = min(batch_size, n - seen)
        x, y = sampler(T, b, rng, dtype=dtype)
        out = engine.predict(x)
        total += float(np.sum((out - y) ** 2) / out.shape[1]) if task.loss == "mse" else float(np.sum(out.argmax(1) == y))
        seen += b
    return total / n
