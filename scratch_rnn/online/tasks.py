r"""Tasks with a loss at every step: the two task families of Marschall, Cho & Savin (2020), and copying.

* ``add`` (their "Add task", after Pitis 2016): inputs x_t = [b_t, 1 - b_t], b_t ~ Bernoulli(1/2)
  i.i.d.; the label is a distribution over two classes, [p_t, 1 - p_t] with

      p_t = 1/2 + 1/2 b_{t - t1} - 1/4 b_{t - t2}

  and the loss at step t is the cross-entropy of the network's softmax with it (the expected loss of
  their sampled labels). Steps t < t2 carry no loss (their target is not defined). Three levels tell
  what a network has learned: 0.661 nats knowing nothing, 0.519 knowing b_{t-t1}, 0.454 knowing both
  (`add_levels`, computed from the definition).
* ``mimic`` (their "Mimic task"): inputs Bernoulli(1/2) i.i.d. in D = 8 channels, the targets the outputs
  of a fixed random tanh RNN (H = 16, O = 2, a linear readout) fed the same inputs from h = 0; the
  loss is the mean squared error at every step. The level: the target's variance (the MSE of the best
  constant), measured on 256 x 200 fixed samples.
* ``copy``: the copying task of `scratch_rnn.training.tasks.copying` (Arjovsky et al. 2016, ours: the
  truncation study's) seen the same way, a cross-entropy at every step over the blank and the 8
  symbols; here T is the whole length, T - 20 the task's own T (each symbol recalled T - 10 steps
  after it was seen). The memoryless level is 10 log 8 / T per step (`copying_baseline`).

Where their definition had to be guessed: the lags (t1, t2) = (3, 8) are Pitis's (the paper's own values
could not be confirmed); the mimic task's sizes and the target's weight scales
(W_hh ~ N(0, 1/H), W_ih ~ N(0, 1/D), W_out ~ N(0, 1/H), biases 0) are ours. They train one long stream
online; here a batch of B sequences of length T, each from h = 0, gives one update (the protocol of the
other tables), so the tasks measure the same gradients in both families of experiments.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable

import numpy as np

from ..cells import CELLS
from ..training.losses import linear_backward, linear_forward, mse_loss
from ..training.model import cell_of, layer_params
from ..training.tasks import COPY_N, COPY_SYMBOLS, copying, one_hot

LAGS = (3, 8)
MIMIC_SIZES = {"input_size": 8, "hidden": 16, "outputs": 2}


@dataclass(frozen=True)
class StepTask:
    """A task with a target at every step.

    Attributes:
        name: "add" or "mimic".
        input_size: D.
        outputs: O, the classes (add) or the regression's outputs (mimic).
        loss: "soft_cross_entropy" or "mse".
        burn_in: The first steps, which carry no loss.
        levels: Reference losses, by what a network knows.
    """

    name: str
    input_size: int
    outputs: int
    loss: str
    burn_in: int
    levels: dict = field(hash=False)


def _entropy(p: float) -> float:
    return float(-sum(q * np.log(q) for q in (p, 1 - p) if q > 0))


def add_levels(lags: tuple[int, int] = LAGS) -> dict:
    """The add task's expected cross-entropy (nats) of the best predictor that knows nothing, b_{t-t1},
    or both bits: the mean entropy of p_t given what it knows."""
    p = {(b1, b2): 0.5 + 0.5 * b1 - 0.25 * b2 for b1 in (0, 1) for b2 in (0, 1)}
    both = np.mean([_entropy(v) for v in p.values()])
    first = np.mean([_entropy((p[(b1, 0)] + p[(b1, 1)]) / 2) for b1 in (0, 1)])
    return {"nothing": _entropy(float(np.mean(list(p.values())))), "first_lag": float(first), "both_lags": float(both)}


def add_task(T: int, B: int, rng: np.random.Generator, dtype=np.float64) -> tuple[np.ndarray, np.ndarray]:
    """Inputs (T, B, 2) and label distributions (T, B, 2) of the add task (zeros before step t2)."""
    t1, t2 = LAGS
    if T <= t2:
        raise ValueError(f"T: expected more than t2 = {t2} steps for the add task, got {T}")
    b = rng.integers(0, 2, size=(T, B)).astype(dtype)
    x = np.stack([b, 1 - b], axis=2)
    y = np.zeros((T, B, 2), dtype)                                    # no label before step t2
    p = 0.5 + 0.5 * b[t2 - t1:T - t1] - 0.25 * b[:T - t2]             # p_t for t >= t2
    y[t2:] = np.stack([p, 1 - p], axis=2)
    return x, y


@lru_cache(maxsize=1)
def _target_rnn() -> dict:
    """The mimic task's fixed target network (its own generator: the same target for every seed)."""
    D, H, O = MIMIC_SIZES["input_size"], MIMIC_SIZES["hidden"], MIMIC_SIZES["outputs"]
    g = np.random.default_rng(2020)
    return {"weight_ih": g.normal(0, 1 / np.sqrt(D), (H, D)), "weight_hh": g.normal(0, 1 / np.sqrt(H), (H, H)),
            "bias_ih": np.zeros(H), "bias_hh": np.zeros(H), "out": g.normal(0, 1 / np.sqrt(H), (O, H))}


def mimic_task(T: int, B: int, rng: np.random.Generator, dtype=np.float64) -> tuple[np.ndarray, np.ndarray]:
    """Inputs (T, B, 8) and the target network's outputs (T, B, 2)."""
    if T < 1 or B < 1:
        raise ValueError(f"T, B: expected at least one step and one sequence, got T={T}, B={B}")
    x = rng.integers(0, 2, size=(T, B, MIMIC_SIZES["input_size"])).astype(np.float64)
    net = _target_rnn()
    h, _, _ = CELLS["rnn"].forward({k: v for k, v in net.items() if k != "out"}, x, backend="numpy")
    return x.astype(dtype), (h @ net["out"].T).astype(dtype)


@lru_cache(maxsize=1)
def _mimic_levels() -> dict:
    _, y = mimic_task(200, 256, np.random.default_rng(0))
    return {"constant": float(np.mean(np.var(y.reshape(-1, y.shape[2]), axis=0)))}


def copy_task(T: int, B: int, rng: np.random.Generator, dtype=np.float64) -> tuple[np.ndarray, np.ndarray]:
    """Inputs (T, B, 10) and one-hot labels (T, B, 9) of the copying task of length T (its lag T - 10)."""
    if T <= 2 * COPY_N:
        raise ValueError(f"T: expected a length above {2 * COPY_N} for the copying task (T - 20 blanks), got {T}")
    x, y = copying(T - 2 * COPY_N, B, rng, dtype)
    return x, one_hot(y, COPY_SYMBOLS + 1, dtype)


def get_step_task(name: str) -> tuple[Callable[..., tuple[np.ndarray, np.ndarray]], StepTask]:
    """(sampler, spec) of "add", "mimic" or "copy"; the sampler takes (T, B, rng, dtype)."""
    if name == "add":
        return add_task, StepTask("add", 2, 2, "soft_cross_entropy", LAGS[1], add_levels())
    if name == "mimic":
        return mimic_task, StepTask("mimic", MIMIC_SIZES["input_size"], MIMIC_SIZES["outputs"], "mse", 0,
                                    _mimic_levels())
    if name == "copy":
        return copy_task, StepTask("copy", COPY_SYMBOLS + 2, COPY_SYMBOLS + 1, "soft_cross_entropy", 0, {})
    raise ValueError(f"task: expected one of {STEP_TASKS}, got {name!r}")


STEP_TASKS = ("add", "mimic", "copy")


def step_loss(params: dict, task: StepTask, x: np.ndarray, y: np.ndarray):
    """The model with a linear head at every step, out_t = h_t W^T + b, on a task of this module.

    Returns:
        (BPTT's layer gradients, dL/dh_t (T, B, H), dL/dout_t (T, B, O), the head's gradients, the
            mean loss over the scored steps and sequences).
    """
    layer = layer_params(params)
    spec = CELLS[cell_of(params)]
    h, _, cache = spec.forward(layer, x, backend="numpy")
    T, B, H = h.shape
    out, head_cache = linear_forward(params["head_weight"], params["head_bias"], h.reshape(T * B, H))
    out = out.reshape(T, B, -1)                                               # (T, B, O) the head at every step
    s = slice(task.burn_in, None)                                             # the scored steps
    dout = np.zeros_like(out)
    if task.loss == "soft_cross_entropy":
        n = out[s].shape[0] * B
        shifted = out[s] - out[s].max(axis=2, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=2, keepdims=True))   # log softmax
        loss = -np.sum(y[s] * log_p) / n
        dout[s] = (np.exp(log_p) - y[s]) / n                                  # softmax - label
    else:
        loss, dout[s] = mse_loss(out[s], y[s])
    dw, db, dh = linear_backward(head_cache, dout.reshape(T * B, -1))
    dh = dh.reshape(T, B, H)                                                  # dL/dh_t
    head = {"head_weight": dw, "head_bias": db}
    exact = spec.backward(cache, dh).params
    return exact, dh, dout, head, float(loss)
