"""What a training engine provides, and the hand-written one.

An engine owns a model's parameters and its optimiser and performs one update at a time; the
training loop (`train.train`) draws the batches and keeps the history. Two engines implement
`Engine`: `ScratchEngine` (here: the hand-written forward pass, loss, BPTT, clipping and
optimiser) and ``reference.TorchEngine`` (the same steps in PyTorch). Fed the same batches from
the same initial weights, the two produce the same trajectory (tests/test_train.py), and the
state of either loads into the other.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .._validate import check_arrays
from .model import exact_profile, gradient_profile, model_backward, model_forward, model_loss
from .optim import SGD, Adam, clip_grad_norm, global_norm
from .tasks import Task


class TrainingDiverged(FloatingPointError):
    """The loss, a gradient, or a parameter after the update became NaN or inf.

    The engine keeps the last good parameters and optimiser state (those before the failing update).

    Args:
        update: The update that failed.
        tensor: Which: "loss", "gradient of <key>" or "parameter <key> after the update".
        history: The training history up to the failing update, when a loop attaches it.
    """

    def __init__(self, update: int, tensor: str, history: Any = None) -> None:
        super().__init__(f"update {update}: {tensor} is not finite (NaN or inf); training stopped, "
                         f"the parameters are those before update {update}")
        self.update, self.tensor, self.history = update, tensor, history


@dataclass
class StepResult:
    loss: float
    accuracy: float          # nan for regression tasks
    grad_norm: float         # global L2 norm of all parameter gradients, before clipping
    profile: dict | None     # {"h": ||dL/dh_t|| (T,), "c": ||dL/dc_t|| (T,)} when asked for


@runtime_checkable
class Engine(Protocol):
    """The interface the training loop, the study and checkpoints use; `ScratchEngine` and ``reference.TorchEngine`` implement it.

    Parameters cross this interface as a flat dict of NumPy arrays with scratch_rnn's names
    (`init_model`); optimiser state as a flat dict with the names of `Adam.state` / `SGD.state`, so a
    checkpoint written by one engine loads into the other.

    Attributes:
        name: "scratch" or "torch".
        task: The `Task` whose loss the engine trains.
    """

    name: str
    task: Task

    def step(self, x: np.ndarray, y: np.ndarray, update: int, want_profile: bool = False) -> StepResult:
        """One update on a batch: forward, loss, BPTT, clipping, optimiser step.

        Args:
            x: The inputs, (T, B, D).
            y: The targets: labels (B,) or regression targets (B, C).
            update: The update's number, for the message of `TrainingDiverged`.
            want_profile: Also return the exact per-timestep gradient norms of this batch.

        Returns:
            The step's loss, accuracy (nan for a regression), gradient norm before clipping and, when
                asked for, ``profile`` = {"h": ||dL/dh_t|| (T,), "c": ||dL/dc_t|| (T,), LSTM only}.

        Raises:
            TrainingDiverged: Something became NaN or inf; the state is that before the update.
        """

    def profile(self, x: np.ndarray, y: np.ndarray) -> dict:
        """The exact per-timestep gradient norms on a batch, without updating anything.

        Args:
            x: The inputs, (T, B, D).
            y: The targets.

        Returns:
            {"h": ||dL/dh_t|| (T,), "c": ||dL/dc_t|| (T,), LSTM only}, in float64.
        """

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The model's output on a batch.

        Args:
            x: The inputs, (T, B, D).

        Returns:
            The output, (B, C), as a NumPy array.
        """

    def numpy_params(self) -> dict:
        """The current parameters.

        Returns:
            The flat parameter dict as NumPy arrays (copies or read-only views).
        """

    def state(self) -> tuple[dict, dict]:
        """Everything a checkpoint needs to resume exactly.

        Returns:
            ``(parameters, optimiser state)``, flat dicts of NumPy arrays and numbers.
        """

    def load_state(self, params: dict, opt_state: dict) -> None:
        """Restore what `state` returned.

        Args:
            params: The parameters, with the current ones' keys, shapes and dtypes.
            opt_state: The optimiser state.
        """


def first_nonfinite(arrays: dict, what: str) -> str | None:
    """The name of the first array with a NaN or inf, as '{what} {key}', or None."""
    for k, a in arrays.items():
        if not np.isfinite(a).all():
            return f"{what} {k}"
    return None


class ScratchEngine:
    """The hand-written engine: one update is forward, loss, BPTT, optional global-norm clipping and an optimiser step, all by hand.

    Implements `Engine`; `params` is updated in place.

    Args:
        params: A model's flat parameter dict (`init_model`).
        task: The `Task` whose loss it trains.
        lr: The learning rate.
        clip: The largest global gradient norm (`clip_grad_norm`), or None for no clipping.
        optimizer: "adam" or "sgd".
        backend: The layer loops, "numba" or "numpy".

    Raises:
        ValueError: An unknown optimiser.
    """

    name = "scratch"

    def __init__(self, params: dict, task: Task, lr: float = 1e-3, clip: float | None = None,
                 optimizer: str = "adam", backend: str = "numba") -> None:
        if optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer: expected 'adam' or 'sgd', got {optimizer!r}")
        self.params, self.task, self.clip, self.backend = params, task, clip, backend
        self.optimizer = Adam(params, lr=lr) if optimizer == "adam" else SGD(params, lr=lr)

    def step(self, x: np.ndarray, y: np.ndarray, update: int, want_profile: bool = False) -> StepResult:
        with np.errstate(over="ignore", invalid="ignore"):       # a non-finite loss is handled below
            loss, dout, acc, cache = model_loss(self.params, self.task, x, y, backend=self.backend)
        if not np.isfinite(loss):
            raise TrainingDiverged(update, "loss")
        grads, layer_grads = model_backward(cache, dout)
        bad = first_nonfinite(grads, "gradient of")
        if bad:
            raise TrainingDiverged(update, bad)
        norm = clip_grad_norm(grads, self.clip) if self.clip else global_norm(grads)
        before = self.state(copy=True)
        with np.errstate(over="ignore", invalid="ignore"):       # an overflowing update is handled below
            self.optimizer.step(grads)
        bad = first_nonfinite(self.params, "parameter")
        if bad:
            self.load_state(*before)
            raise TrainingDiverged(update, bad + " after the update")
        return StepResult(loss, acc, norm, gradient_profile(layer_grads) if want_profile else None)

    def profile(self, x: np.ndarray, y: np.ndarray) -> dict:
        return exact_profile(self.params, self.task, x, y, backend=self.backend)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return model_forward(self.params, x, backend=self.backend)[0]

    def numpy_params(self) -> dict:
        return self.params

    def state(self, copy: bool = False) -> tuple[dict, dict]:
        """The parameters and the optimiser state.

        Args:
            copy: Return copies (the parameters are the live arrays otherwise).

        Returns:
            ``(parameters, optimiser state)`` as NumPy arrays and numbers.
        """
        params, opt = self.params, self.optimizer.state()
        if copy:
            params = {k: v.copy() for k, v in params.items()}
            opt = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in opt.items()}
        return params, opt

    def load_state(self, params: dict, opt_state: dict) -> None:
        """Restore what `state` returned; nothing is cast or broadcast.

        Args:
            params: The parameters, with the current ones' keys, shapes and dtypes.
            opt_state: The optimiser state, likewise.

        Raises:
            ValueError: A key is missing or extra, or a shape or dtype differs.
        """
        check_loadable(self, params, opt_state)
        for k in self.params:
            self.params[k][...] = params[k]
        self.optimizer.load_state(opt_state)


def check_loadable(engine: Engine, params: dict, opt_state: dict) -> None:
    """Raise ValueError unless (params, opt_state) has the keys, shapes and dtypes of `engine`'s own
    ``state()``: what both engines' ``load_state`` check before they change anything.

    Args:
        engine: The engine whose state is to be replaced.
        params: The parameters to load.
        opt_state: The optimiser state to load (its ``"steps"`` entry is not an array).

    Raises:
        ValueError: A key is missing or extra, or a shape or dtype differs (naming the key).
    """
    current, opt = engine.state()
    check_arrays("params: parameter", params, current)
    check_arrays("opt_state: entry", {k: v for k, v in opt_state.items() if k != "steps"},
                 {k: v for k, v in opt.items() if k != "steps"})
