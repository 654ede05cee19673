r"""Truncated backpropagation through time, by hand, for the RNN, the LSTM and the GRU.

Full BPTT sends the gradient of every loss term back to step 0. Truncated BPTT stops it after a
number of steps, in one of two ways; both are computed from the forward pass's cache with the
cell's own backward pass, so they run on either backend.

``scheme="chunks"`` (what PyTorch users get from ``h = h.detach()`` every k steps): the sequence
is cut into consecutive chunks [0, k), [k, 2k), ...; each chunk is backpropagated on its own, from
the losses inside it, with the state entering it held constant. Nothing crosses a chunk boundary::

    g_chunks = Σ_j  BPTT over steps jk .. min(T, (j+1)k) - 1 of Σ_{t in chunk j} L_t

The loss at the first step of a chunk reaches back one step, the loss at its last step k steps.

``scheme="window"`` (Williams & Peng's BPTT(h), 1990): the loss at step t reaches back at most k
steps, through the transitions t-k+1 .. t, whatever t is::

    g_window = Σ_t  BPTT over steps max(0, t-k+1) .. t of L_t

The state entering a window is held constant, except h0 (and c0), which is no step's output: a
window that starts at step 0 sends its gradient there, as in PyTorch, where h0 is a leaf.

Returned like the full backward (`RNNGrads`, `LSTMGrads`, `GRUGrads`): ``params``, ``x``, ``h0``
(``c0``), and in ``h`` (``c``) the truncated totals, dL/dh_t summed over the paths that the scheme
keeps. With k >= T both schemes are full BPTT: ``chunks`` runs the very same call, bit for bit;
``window`` sums T backward passes, equal to rounding.
"""
from __future__ import annotations

from dataclasses import fields, replace

import numpy as np
from numpy.typing import ArrayLike

from ._validate import as_float_array, check_backend, check_shape, check_state
from .cells import Cell, cell_of_cache
from .gru import GRUCache, GRUGrads
from .lstm import LSTMCache, LSTMGrads
from .rnn import RNNCache, RNNGrads

SCHEMES = ("chunks", "window")
_TIME_FIELDS = ("x", "h", "c", "gates", "tanh_c", "gh_n")        # the cache arrays indexed by step


def _steps(cache, cell: Cell, s: int, e: int):
    """The cache of steps s .. e-1 alone, started from the state after step s-1 (h0, c0 for s = 0)."""
    kw = {f.name: getattr(cache, f.name)[s:e] for f in fields(cache) if f.name in _TIME_FIELDS}
    if s > 0:
        kw["h0"] = cache.h[s - 1]                                    # held constant: no gradient goes past it
        if cell.cell_state:
            kw["c0"] = cache.c[s - 1]
    return replace(cache, **kw)


def truncated_backward(cache: RNNCache | LSTMCache | GRUCache, dh: ArrayLike, k: int, scheme: str = "chunks",
                       dc_last: ArrayLike | None = None,
                       backend: str | None = None) -> RNNGrads | LSTMGrads | GRUGrads:
    """Truncated backpropagation through time, cut after k steps (equations: the module's docstring).

    Args:
        cache: What `rnn_forward`, `lstm_forward` or `gru_forward` returned.
        dh: The gradient the loss sends directly into each h_t, (T, B, H) ((T, B, P) for a
            projected LSTM), in the cache's dtype.
        k: The number of steps a gradient may travel back, >= 1; k >= T is full BPTT.
        scheme: "chunks" (cut every k steps, the ``h.detach()`` idiom) or "window" (each loss
            reaches back k steps, Williams & Peng's BPTT(h)).
        dc_last: The gradient into the last cell state c_{T-1}, (B, H), LSTM only; zeros if None.
        backend: "numpy" or "numba"; None runs the loops that ran the forward pass.

    Returns:
        The cell's gradient type (`RNNGrads`, `LSTMGrads`, `GRUGrads`) holding the truncated
            gradients, and in ``h`` (``c``) the truncated totals: dL/dh_t summed over the paths the
            scheme keeps.

    Raises:
        TypeError: `cache` is not a cell's cache, or dh has another dtype.
        ValueError: k, the scheme, the backend or a shape is wrong, or dc_last is given for a
            cell without a cell state.

    Examples:
        >>> p = sr.init_pytorch_default("rnn", 3, 4, np.random.default_rng(0))
        >>> h, cache = sr.rnn_forward(p, np.ones((6, 2, 3)))
        >>> dh = np.ones_like(h)
        >>> full, cut = sr.rnn_backward(cache, dh), sr.truncated_backward(cache, dh, k=2)
        >>> bool(np.allclose(cut.h[-2:], full.h[-2:])), bool(np.allclose(cut.h[0], full.h[0]))   # chunks of 2 steps
        (True, False)
    """
    cell = cell_of_cache(cache)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k: expected an integer >= 1 (steps the gradient may travel back), got {k!r}")
    if scheme not in SCHEMES:
        raise ValueError(f"scheme: expected one of {SCHEMES}, got {scheme!r}")
    backend = check_backend(cache.backend if backend is None else backend)
    lstm = cell.cell_state
    cell_states = cache.c if isinstance(cache, LSTMCache) else None  # (T, B, H), LSTM only
    T, B, P = cache.h.shape
    dtype = cache.h.dtype
    dh = as_float_array("dh", dh, dtype)
    check_shape("dh", dh, (T, B, P), "(T, B, H)")
    cell.check_options(dc_last=dc_last)
    dc = check_state("dc_last", dc_last, B, cell_states.shape[2], dtype) if cell_states is not None else None
    out = {"x": np.zeros_like(cache.x), "h0": np.zeros_like(cache.h0), "h": np.zeros_like(cache.h)}
    if cell_states is not None:
        out.update(c0=np.zeros_like(cache.h0, shape=cell_states.shape[1:]), c=np.zeros_like(cell_states))
    params: dict = {}
    if scheme == "chunks":
        pieces = [(s, min(T, s + k), dh[s:min(T, s + k)]) for s in range(0, T, k)]
    else:
        pieces = []
        for t in range(T):
            if not dh[t].any() and not (dc is not None and t == T - 1 and dc.any()):
                continue                                             # L_t sends nothing: skip its window
            s = max(0, t - k + 1)
            d = np.zeros((t + 1 - s, B, P), dtype=dtype)
            d[-1] = dh[t]                                            # only L_t, through its own window
            pieces.append((s, t + 1, d))
    g = None
    for s, e, d in pieces:
        g = cell.backward(_steps(cache, cell, s, e), d, dc if e == T else None, backend=backend)
        if len(pieces) == 1 and (s, e) == (0, T):
            return g                                                 # the whole sequence: full BPTT's own result
        for name, v in g.params.items():
            params[name] = v.copy() if name not in params else params[name] + v
        out["x"][s:e] += g.x
        out["h"][s:e] += g.h
        if lstm:
            out["c"][s:e] += g.c
        if s == 0:                                                   # h0 (c0) is a leaf, as in PyTorch
            out["h0"] += g.h0
            if lstm:
                out["c0"] += g.c0
    if g is None:                                                    # no loss term at all: every gradient 0
        params = {name: np.zeros_like(v) for name, v in cache.params.items()}
        return cell.grads_type(params=params, **out)
    return type(g)(params=params, **out)
