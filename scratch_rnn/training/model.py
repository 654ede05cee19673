r"""A sequence classifier (or regressor): a recurrent layer and a linear head on its last state,
like the study's ``VanillaRNN`` and ``LSTMModel``::

    h, (c) = layer(x)                       (T, B, H)
    out    = h_{T-1} W_head^T + b_head      (B, C)

Parameters are one flat dict: the layer's ``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``
and the head's ``head_weight`` (C, H), ``head_bias`` (C,). The loss looks only at h_{T-1}, so
the backward pass injects ``dh[T-1] = dout W_head`` and zeros elsewhere; every other dL/dh_t
comes from the recurrence, which is what makes this model the right probe of vanishing gradients.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from .._validate import GATES, PARAM_NAMES
from ..gru import GRUCache, GRUGrads, gru_backward, gru_forward
from ..lstm import LSTMCache, LSTMGrads, lstm_backward, lstm_forward
from ..rnn import RNNCache, RNNGrads, rnn_backward, rnn_forward
from . import init as _init
from .losses import linear_backward, linear_forward, task_loss
from .tasks import Task

HEAD_KEYS = ("head_weight", "head_bias")
INITS = {
    "rnn": ("pytorch", "orthogonal", "identity"),
    "lstm": ("pytorch", "forget_bias", "chrono", "orthogonal"),
    "gru": ("pytorch", "orthogonal"),
}


def init_model(cell: str, input_size: int, hidden_size: int, outputs: int, rng: np.random.Generator,
               init: str = "pytorch", dtype: DTypeLike = np.float32, forget_bias: float = 1.0, t_max: float | None = None) -> dict:
    """A flat parameter dict. The layer starts from PyTorch's default and then applies `init`:
    "pytorch" (nothing more), "forget_bias" (LSTM, bias `forget_bias`), "chrono" (LSTM, `t_max`),
    "orthogonal" (recurrent weights), "identity" (RNN, IRNN). The head is ``nn.Linear``'s
    default, U(-1/sqrt(H), 1/sqrt(H)) for weight and bias."""
    if cell not in INITS:
        raise ValueError(f"cell: expected one of {tuple(INITS)}, got {cell!r}")
    if init not in INITS[cell]:
        raise ValueError(f"init: expected one of {INITS[cell]} for cell {cell!r}, got {init!r}")
    p = _init.init_pytorch_default(cell, input_size, hidden_size, rng, dtype=dtype)
    if init == "forget_bias":
        p = _init.init_forget_bias(p, forget_bias)
    elif init == "chrono":
        if t_max is None:
            raise ValueError("t_max: chrono initialisation needs t_max (e.g. the sequence length), got None")
        p = _init.init_chrono(p, t_max, rng)
    elif init == "orthogonal":
        p = _init.init_orthogonal_recurrent(p, rng)
    elif init == "identity":
        p = _init.init_identity_recurrent(p)
    k = 1.0 / np.sqrt(hidden_size)
    p["head_weight"] = rng.uniform(-k, k, (outputs, hidden_size)).astype(dtype)
    p["head_bias"] = rng.uniform(-k, k, outputs).astype(dtype)
    return {name: np.ascontiguousarray(p[name], dtype=dtype) for name in (*PARAM_NAMES, *HEAD_KEYS)}


def cell_of(params: dict) -> str:
    """'rnn' or 'lstm', from the shape of weight_hh."""
    GH, H = np.shape(params["weight_hh"])
    for cell, G in GATES.items():
        if GH == G * H:
            return cell
    raise ValueError(f"params['weight_hh']: expected shape (H, H) or (4H, H), got {(GH, H)}")


def layer_params(params: dict) -> dict:
    """The recurrent layer's part of a model's parameters (the same arrays, not copies)."""
    return {k: params[k] for k in PARAM_NAMES}


@dataclass(frozen=True)
class ModelCache:
    """What `model_backward` needs: the cell, the layer's cache, the head's cache and the backend
    that ran the forward pass (the backward pass uses the same one)."""

    cell: str
    layer: RNNCache | LSTMCache | GRUCache
    head: tuple
    backend: str


def model_forward(params: dict, x: ArrayLike, backend: str = "numba") -> tuple[np.ndarray, ModelCache]:
    """out (B, C) from x (T, B, D); returns (out, cache)."""
    for k in HEAD_KEYS:
        if k not in params:
            raise ValueError(f"params: expected the head's keys {HEAD_KEYS} too, missing {k!r}")
    cell = cell_of(params)
    layer = layer_params(params)
    layer_cache: RNNCache | LSTMCache | GRUCache
    if cell == "rnn":
        h, layer_cache = rnn_forward(layer, x, backend=backend)
    elif cell == "gru":
        h, layer_cache = gru_forward(layer, x, backend=backend)
    else:
        h, _, layer_cache = lstm_forward(layer, x, backend=backend)
    out, head_cache = linear_forward(params["head_weight"], params["head_bias"], h[-1])
    return out, ModelCache(cell, layer_cache, head_cache, backend)


def model_backward(cache: ModelCache, dout: np.ndarray) -> tuple[dict, RNNGrads | LSTMGrads | GRUGrads]:
    """Returns (grads, layer_grads): grads has the keys of the parameter dict; layer_grads is the
    layer's `RNNGrads` / `LSTMGrads`, with the total dL/dh_t (and dL/dc_t) for every t."""
    dw, db, dh_last = linear_backward(cache.head, dout)
    dh = np.zeros_like(cache.layer.h)                            # the loss looks only at h_{T-1}
    dh[-1] = dh_last
    g: RNNGrads | LSTMGrads | GRUGrads
    if isinstance(cache.layer, RNNCache):
        g = rnn_backward(cache.layer, dh, backend=cache.backend)
    elif isinstance(cache.layer, GRUCache):
        g = gru_backward(cache.layer, dh, backend=cache.backend)
    else:
        g = lstm_backward(cache.layer, dh, backend=cache.backend)
    return {**g.params, "head_weight": dw, "head_bias": db}, g


def model_loss(params: dict, task: Task, x, y, backend: str = "numba"):
    """Forward pass and the task's loss: (loss, dout, accuracy, cache). Accuracy is nan for a
    regression task. The one place where forward and loss are chained; `model_backward` of the
    returned cache and dout gives the gradients."""
    out, cache = model_forward(params, x, backend=backend)
    loss, dout, acc = task_loss(task, out, y)
    return loss, dout, acc, cache


def gradient_profile(layer_grads) -> dict:
    """||dL/dh_t|| (and ||dL/dc_t||) over batch and hidden units, for every t, in float64."""
    prof = {"h": np.sqrt(np.sum(layer_grads.h.astype(np.float64) ** 2, axis=(1, 2)))}
    if getattr(layer_grads, "c", None) is not None:
        prof["c"] = np.sqrt(np.sum(layer_grads.c.astype(np.float64) ** 2, axis=(1, 2)))
    return prof


def exact_profile(params: dict, task: Task, x, y, backend: str = "numba") -> dict:
    """The exact per-timestep gradient norms of the task's loss on a batch:
    {"h": ||dL/dh_t|| (T,), "c": ||dL/dc_t|| (T,), LSTM only}."""
    _, dout, _, cache = model_loss(params, task, x, y, backend=backend)
    return gradient_profile(model_backward(cache, dout)[1])
