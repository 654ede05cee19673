r"""A sequence classifier (or regressor): a recurrent layer and a linear head on its last state,
like the study's torch model (``reference.RecurrentClassifier``)::

    h, (c) = layer(x)                       (T, B, H)
    out    = h_{T-1} W_head^T + b_head      (B, C)

Parameters are one flat dict: the layer's ``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``
and the head's ``head_weight`` (C, H), ``head_bias`` (C,). The loss looks only at h_{T-1}, so
the backward pass injects ``dh[T-1] = dout W_head`` and zeros elsewhere; every other dL/dh_t
comes from the recurrence, which is what makes this model the right probe of vanishing gradients.

Stacked or bidirectional models (``init_model(..., layers=L, bidirectional=True)``) hold the
``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` state_dict keys (``weight_ih_l0``, ``weight_hh_l1_reverse``,
...) and run `scratch_rnn.stack_forward`; the head reads the top layer's final states, h_n[-1]
without and [h_n[-2], h_n[-1]] with two directions (the forward direction after step T-1, the
reverse one after step 0), (B, D*H), as PyTorch users write it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from .._validate import PARAM_NAMES
from ..cells import CELLS, cell_of_cache, cell_of_shape
from ..gru import GRUCache, GRUGrads
from ..lstm import LSTMCache, LSTMGrads
from ..rnn import RNNCache, RNNGrads
from ..stack import StackCache, StackGrads, parse_state_dict_key, stack_backward, stack_forward, state_dict_key
from . import init as _init
from .losses import linear_backward, linear_forward, task_loss
from .tasks import Task

HEAD_KEYS = ("head_weight", "head_bias")


def init_model(cell: str, input_size: int, hidden_size: int, outputs: int, rng: np.random.Generator,
               init: str = "pytorch", dtype: DTypeLike = np.float32, forget_bias: float = 1.0, t_max: float | None = None,
               layers: int = 1, bidirectional: bool = False) -> dict:
    """A model's parameters: a recurrent layer (or stack) and a linear head, as one flat dict.

    The layer starts from PyTorch's default and then applies `init`; the head is ``nn.Linear``'s
    default, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias. With ``layers > 1`` or
    `bidirectional`, every layer and direction is initialised so, under the state_dict's keys, and the
    head reads the top layer's final states.

    Args:
        cell: "rnn", "lstm" or "gru".
        input_size: D.
        hidden_size: H.
        outputs: C, the head's outputs.
        rng: The generator of every draw.
        init: "pytorch" (nothing more), "forget_bias" (LSTM), "chrono" (LSTM, needs t_max),
            "orthogonal" (recurrent weights) or "identity" (RNN, IRNN).
        dtype: float32 or float64.
        forget_bias: The LSTM forget bias for ``init="forget_bias"``.
        t_max: The longest dependency for ``init="chrono"`` (the sequence length).
        layers: The number of stacked layers.
        bidirectional: Two directions per layer.

    Returns:
        The flat dict: the layer's arrays (``weight_ih`` ..., or ``weight_ih_l0`` ... for a stack) and
            ``head_weight`` (C, H) (or (C, 2H) with two directions), ``head_bias`` (C,).

    Raises:
        ValueError: An unknown cell or init, or an init that needs t_max without it.

    Examples:
        >>> p = sr.init_model("gru", 1, 8, 2, np.random.default_rng(0))          # a layer and a 2-class head
        >>> sorted(p)
        ['bias_hh', 'bias_ih', 'head_bias', 'head_weight', 'weight_hh', 'weight_ih']
    """
    if cell not in CELLS:
        raise ValueError(f"cell: expected one of {tuple(CELLS)}, got {cell!r}")
    if init not in CELLS[cell].inits:
        raise ValueError(f"init: expected one of {CELLS[cell].inits} for cell {cell!r}, got {init!r}")
    if isinstance(layers, bool) or not isinstance(layers, (int, np.integer)) or layers < 1:
        raise ValueError(f"layers: expected an integer >= 1, got {layers!r}")
    if layers > 1 or bidirectional:
        nd = 2 if bidirectional else 1
        p = {}
        for layer in range(layers):
            for d in range(nd):
                one = _init_layer(cell, init, input_size if layer == 0 else nd * hidden_size, hidden_size, rng,
                                  dtype, forget_bias, t_max)
                p.update({state_dict_key(k, layer, d): v for k, v in one.items()})
        k = 1.0 / np.sqrt(nd * hidden_size)
        p["head_weight"] = rng.uniform(-k, k, (outputs, nd * hidden_size)).astype(dtype)
        p["head_bias"] = rng.uniform(-k, k, outputs).astype(dtype)
        return {name: np.ascontiguousarray(v, dtype=dtype) for name, v in p.items()}
    p = _init_layer(cell, init, input_size, hidden_size, rng, dtype, forget_bias, t_max)
    k = 1.0 / np.sqrt(hidden_size)
    p["head_weight"] = rng.uniform(-k, k, (outputs, hidden_size)).astype(dtype)
    p["head_bias"] = rng.uniform(-k, k, outputs).astype(dtype)
    return {name: np.ascontiguousarray(p[name], dtype=dtype) for name in (*PARAM_NAMES, *HEAD_KEYS)}


def _init_layer(cell, init, input_size, hidden_size, rng, dtype, forget_bias, t_max) -> dict:
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
    return p


def architecture(params: dict) -> tuple[int, bool]:
    """(layers, bidirectional) of a model's parameters: (1, False) for the one-layer models."""
    keys = [k for k in map(parse_state_dict_key, params) if k is not None]
    if not keys:
        return 1, False
    return 1 + max(layer for _, layer, _ in keys), any(reverse for *_, reverse in keys)


def cell_of(params: dict) -> str:
    """'rnn', 'lstm' or 'gru', from the shape of weight_hh (of the first layer)."""
    key = "weight_hh_l0" if "weight_hh_l0" in params else "weight_hh"
    G_H, H = np.shape(params[key])
    return cell_of_shape(G_H, H, f"params['{key}']").name


def layer_params(params: dict) -> dict:
    """The recurrent layer's (or stack's) part of a model's parameters (the same arrays, not copies)."""
    return {k: v for k, v in params.items() if k not in HEAD_KEYS}


@dataclass(frozen=True)
class ModelCache:
    """What `model_backward` needs: the cell, the layer's cache, the head's cache and the backend
    that ran the forward pass (the backward pass uses the same one)."""

    cell: str
    layer: RNNCache | LSTMCache | GRUCache | StackCache
    head: tuple
    backend: str


def model_forward(params: dict, x: ArrayLike, backend: str = "numba") -> tuple[np.ndarray, ModelCache]:
    """The model's output on a batch: the layer (or stack), then the head on the last state.

    Args:
        params: What `init_model` returned.
        x: The inputs, (T, B, D).
        backend: The layer loops, "numba" or "numpy".

    Returns:
        ``(out, cache)``: out (B, C), and what `model_backward` needs.

    Raises:
        ValueError: The head's keys are missing, or the layer's inputs are wrong.

    Examples:
        >>> p = sr.init_model("rnn", 1, 8, 2, np.random.default_rng(0))
        >>> logits, cache = sr.model_forward(p, np.ones((5, 3, 1), np.float32))  # the head reads h_{T-1}
        >>> logits.shape
        (3, 2)
    """
    for k in HEAD_KEYS:
        if k not in params:
            raise ValueError(f"params: expected the head's keys {HEAD_KEYS} too, missing {k!r}")
    cell = cell_of(params)
    layer = layer_params(params)
    layer_cache: RNNCache | LSTMCache | GRUCache | StackCache
    if "weight_hh_l0" in params:
        layers, bi = architecture(params)
        _, h_n, _, layer_cache = stack_forward(layer, x, cell, num_layers=layers, bidirectional=bi, backend=backend)
        top = np.concatenate(list(h_n[-2:] if bi else h_n[-1:]), axis=1)   # (B, D*H) the top layer's final states
        out, head_cache = linear_forward(params["head_weight"], params["head_bias"], top)
        return out, ModelCache(cell, layer_cache, head_cache, backend)
    h, _, layer_cache = CELLS[cell].forward(layer, x, backend=backend)
    out, head_cache = linear_forward(params["head_weight"], params["head_bias"], h[-1])
    return out, ModelCache(cell, layer_cache, head_cache, backend)


def model_backward(cache: ModelCache, dout: np.ndarray) -> tuple[dict, RNNGrads | LSTMGrads | GRUGrads | StackGrads]:
    """The gradients of the model's loss, by BPTT through the layer on the backend of the forward pass.

    Args:
        cache: What `model_forward` returned.
        dout: dL/dout, (B, C).

    Returns:
        ``(grads, layer_grads)``: grads under the keys of the parameter dict; layer_grads the
            layer's `RNNGrads`, `LSTMGrads` or `GRUGrads` (`StackGrads` for a stack), with the total
            dL/dh_t (and dL/dc_t) for every t.

    Examples:
        >>> p = sr.init_model("rnn", 1, 8, 2, np.random.default_rng(0))
        >>> logits, cache = sr.model_forward(p, np.ones((5, 3, 1), np.float32))
        >>> loss, dlogits = sr.softmax_cross_entropy(logits, np.array([0, 1, 1]))
        >>> grads, layer = sr.model_backward(cache, dlogits)
        >>> sorted(grads) == sorted(p), layer.h.shape                              # and dL/dh_t for every t
        (True, (5, 3, 8))
    """
    dw, db, dh_last = linear_backward(cache.head, dout)
    g: RNNGrads | LSTMGrads | GRUGrads | StackGrads
    if isinstance(cache.layer, StackCache):
        st = cache.layer
        T, B, H = st.shape
        nd, L = st.num_directions, st.num_layers
        dh_n = np.zeros((L * nd, B, H), dtype=dh_last.dtype)       # the loss looks only at the top's h_n
        dh_n[-nd:] = dh_last.reshape(B, nd, H).transpose(1, 0, 2)
        g = stack_backward(st, np.zeros((T, B, nd * H), dtype=dh_last.dtype), dh_n)
        return {**g.params, "head_weight": dw, "head_bias": db}, g
    dh = np.zeros_like(cache.layer.h)                            # the loss looks only at h_{T-1}
    dh[-1] = dh_last
    g = cell_of_cache(cache.layer).backward(cache.layer, dh)     # on the backend the forward pass ran
    return {**g.params, "head_weight": dw, "head_bias": db}, g


def model_loss(params: dict, task: Task, x, y, backend: str = "numba"):
    """Forward pass and the task's loss: (loss, dout, accuracy, cache). Accuracy is nan for a
    regression task. The one place where forward and loss are chained; `model_backward` of the
    returned cache and dout gives the gradients."""
    out, cache = model_forward(params, x, backend=backend)
    loss, dout, acc = task_loss(task, out, y)
    return loss, dout, acc, cache


def gradient_profile(layer_grads) -> dict:
    """||dL/dh_t|| (and ||dL/dc_t||) over batch and hidden units, for every t, in float64. For a
    stack: those of the bottom layer's forward direction, the one whose step 0 is furthest, in
    steps and layers, from the loss."""
    h, c = layer_grads.h, getattr(layer_grads, "c", None)
    if isinstance(layer_grads, StackGrads):
        h, c = h[0, 0], (None if c is None else c[0, 0])
    prof = {"h": np.sqrt(np.sum(h.astype(np.float64) ** 2, axis=(1, 2)))}
    if c is not None:
        prof["c"] = np.sqrt(np.sum(c.astype(np.float64) ** 2, axis=(1, 2)))
    return prof


def exact_profile(params: dict, task: Task, x, y, backend: str = "numba") -> dict:
    """The exact per-timestep gradient norms of the task's loss on a batch:
    {"h": ||dL/dh_t|| (T,), "c": ||dL/dc_t|| (T,), LSTM only}."""
    _, dout, _, cache = model_loss(params, task, x, y, backend=backend)
    return gradient_profile(model_backward(cache, dout)[1])
