r"""A sequence model: one recurrent layer and a linear head at every step (many-to-many), with a
per-step loss, an optional mask, and full or truncated BPTT::

    h, (c) = layer(x)                             (T, B, H)
    out_t  = h_t W_head^T + b_head                (T, B, C)   the same head at every step
    L      = mean over the steps that count of  CE(out_t[b], y_t[b])      (or squared error)

``mask`` (T, B) marks the (t, b) that carry a loss; the mean runs over them, as
``F.cross_entropy(out[mask], y[mask])`` does. The backward pass feeds every step its own
``dh[t] = dout_t W_head`` (zero where the mask is off) and runs the cell's BPTT, full or truncated
(`scratch_rnn.truncated_backward`, ``k`` steps, ``scheme`` "chunks" or "window"); the head's
gradients are exact in every case, since they do not go through time.

Parameters: the one-layer model's flat dict (`init_model`): the layer's four arrays and
``head_weight`` (C, H), ``head_bias`` (C,).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .._validate import as_float_array, check_shape
from ..cells import CELLS
from ..truncated import truncated_backward
from .losses import mse_loss, softmax_cross_entropy
from .model import HEAD_KEYS, cell_of, layer_params


@dataclass(frozen=True)
class SeqCache:
    cell: str
    layer: Any                  # the cell's cache
    h: np.ndarray               # (T, B, H)
    head_weight: np.ndarray     # (C, H)
    backend: str


def seq_forward(params: dict, x: ArrayLike, h0: ArrayLike | None = None, c0: ArrayLike | None = None,
                backend: str = "numba") -> tuple[np.ndarray, SeqCache]:
    """out (T, B, C) from x (T, B, D), starting from h0 (and c0, LSTM; zeros if None); returns
    (out, cache). `final_state(cache)` is the state to carry into the next piece of a stream."""
    for key in HEAD_KEYS:
        if key not in params:
            raise ValueError(f"params: expected the head's keys {HEAD_KEYS} too, missing {key!r}")
    cell, layer = cell_of(params), layer_params(params)
    h, _, cache = CELLS[cell].forward(layer, x, h0, c0, backend=backend)
    out = h @ params["head_weight"].T + params["head_bias"]      # (T, B, C) the head at every step
    return out, SeqCache(cell, cache, h, params["head_weight"], backend)


def final_state(cache: SeqCache, t: int = -1) -> tuple[np.ndarray, np.ndarray | None]:
    """(h_t, c_t) after step t (the last by default), copies: the state a stream carries on."""
    c = cache.layer.c[t].copy() if CELLS[cache.cell].cell_state else None
    return cache.h[t].copy(), c


def _mask(mask, T: int, B: int) -> np.ndarray:
    if mask is None:
        return np.ones((T, B), dtype=bool)
    m = np.asarray(mask)
    if m.dtype != bool:
        raise TypeError(f"mask: expected a boolean array (T, B), got dtype {m.dtype}")
    check_shape("mask", m, (T, B), "(T, B)")
    if not m.any():
        raise ValueError("mask: expected at least one step that carries a loss, got none")
    return m


def seq_loss(out: ArrayLike, y: ArrayLike, mask: ArrayLike | None = None, loss: str = "cross_entropy"):
    """(loss, dout, accuracy) of per-step targets y (T, B) (int labels; float (T, B, C) for "mse"),
    averaged over the steps where mask (T, B) is True (all by default); accuracy is nan for "mse".
    The (t, b) that count are the rows of `softmax_cross_entropy` (`mse_loss`); dout is 0 elsewhere."""
    out = as_float_array("out", out)
    if out.ndim != 3:
        raise ValueError(f"out: expected a 3-D array (T, B, C), got shape {out.shape}")
    T, B, C = out.shape
    m = _mask(mask, T, B)
    if loss not in ("cross_entropy", "mse"):
        raise ValueError(f"loss: expected 'cross_entropy' or 'mse', got {loss!r}")
    y = np.asarray(y)
    expected = (T, B, C) if loss == "mse" else (T, B)
    check_shape("y", y, expected, "(T, B, C)" if loss == "mse" else "(T, B)")
    dout = np.zeros_like(out)
    if loss == "mse":
        value, dout[m] = mse_loss(out[m], as_float_array("y", y[m], out.dtype))
        return value, dout, float("nan")
    value, dout[m] = softmax_cross_entropy(out[m], y[m])         # rows: the (t, b) that carry a loss
    return value, dout, float(np.mean(out[m].argmax(axis=1) == y[m]))


def seq_backward(cache: SeqCache, dout: np.ndarray, k: int | None = None, scheme: str = "chunks"):
    """(grads, layer_grads) of the loss whose gradient at the outputs is dout (T, B, C): full BPTT
    (k None), or truncated to k steps by `scheme`."""
    T, B, H = cache.h.shape
    check_shape("dout", np.asarray(dout), (T, B, cache.head_weight.shape[0]), "(T, B, C)")
    dw = np.einsum("tbc,tbh->ch", dout, cache.h)                 # Σ_t dout_t^T h_t
    db = dout.sum(axis=(0, 1))
    dh = dout @ cache.head_weight                                # (T, B, H) into every h_t
    if k is not None:
        g = truncated_backward(cache.layer, dh, k, scheme)      # the backend of the forward pass
    else:
        g = CELLS[cache.cell].backward(cache.layer, dh)
    return {**g.params, "head_weight": dw, "head_bias": db}, g
