r"""Stacked and bidirectional recurrent layers, composed exactly like ``nn.RNN``, ``nn.LSTM`` and
``nn.GRU`` from the one-layer functions, with every layer's and direction's per-timestep totals.

Layer l (l = 0 .. num_layers-1) reads the previous layer's output (x for l = 0); with
``bidirectional=True`` each layer runs a forward direction over t = 0 .. T-1 and a reverse one over
t = T-1 .. 0, and its output at t is [h_fwd_t, h_rev_t] (T, B, 2H). Parameters are the module's
``state_dict()`` with its keys (``weight_ih_l0``, ``weight_hh_l1_reverse``, ...); initial and final
states are (num_layers * num_directions, B, H) in PyTorch's order (layer major, forward first).

Backward. The loss sends ``dout`` into the top layer's outputs and ``dh_n`` (``dc_n``) into the
final states. Going down the stack, a layer's input gradient (summed over its two directions) is
the ``dh`` of every step of the layer below; each direction is then one call of the cell's own
BPTT, which is where every total dL/dh_t (and dL/dc_t) comes from. The reverse direction is a
forward direction over the time-reversed sequence, so its quantities are flipped back to real time.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ._validate import as_float_array, check_shape, check_x
from .gru import gru_backward, gru_forward
from .lstm import lstm_backward, lstm_forward
from .rnn import rnn_backward, rnn_forward

PARAM_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


@dataclass(frozen=True)
class StackCache:
    cell: str
    num_layers: int
    num_directions: int
    batch_first: bool
    caches: dict                 # (layer, direction) -> the cell's cache (over reversed time for direction 1)
    backend: str


@dataclass(frozen=True)
class StackGrads:
    """``params``: the keys of the state_dict; ``x`` like the input; ``h0`` (``c0``) like the initial
    states; ``h[layer, direction]`` (``c[...]``, LSTM) the total dL/dh_t (dL/dc_t), (T, B, H), in real time."""

    params: dict
    x: np.ndarray
    h0: np.ndarray
    c0: np.ndarray | None
    h: dict
    c: dict | None


def _key(name: str, layer: int, direction: int) -> str:
    return f"{name}_l{layer}" + ("_reverse" if direction else "")


def _states(name: str, value, n: int, B: int, H: int, dtype) -> list[Any]:
    if value is None:
        return [None] * n
    arr = as_float_array(name, value, dtype)
    check_shape(name, arr, (n, B, H), "(num_layers * num_directions, B, H)")
    return list(arr)


def stack_forward(params: dict, x: ArrayLike, cell: str, num_layers: int = 1, bidirectional: bool = False,
                  batch_first: bool = False, nonlinearity: str = "tanh", proj_size: int = 0,
                  h0: ArrayLike | None = None, c0: ArrayLike | None = None, lengths: ArrayLike | None = None,
                  backend: str = "numpy") -> tuple[np.ndarray, np.ndarray, np.ndarray | None, StackCache]:
    """``out, h_n, c_n, cache``, with the shapes of ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU``: out (T, B, D*H)
    ((B, T, D*H) with batch_first), h_n (num_layers*D, B, H), c_n likewise for the LSTM, else None."""
    if cell not in ("rnn", "lstm", "gru"):
        raise ValueError(f"cell: expected 'rnn', 'lstm' or 'gru', got {cell!r}")
    if proj_size:
        raise NotImplementedError(f"proj_size: LSTM projections are not implemented yet, got {proj_size!r}")
    if lengths is not None:
        raise NotImplementedError("lengths: variable-length batches are not implemented yet")
    if cell != "rnn" and nonlinearity != "tanh":
        raise ValueError(f"nonlinearity: applies to cell 'rnn' only, got {nonlinearity!r} for {cell!r}")
    if isinstance(num_layers, bool) or not isinstance(num_layers, (int, np.integer)) or num_layers < 1:
        raise ValueError(f"num_layers: expected an integer >= 1, got {num_layers!r}")
    if not isinstance(params, dict):
        raise TypeError(f"params: expected a state_dict-like dict, got {type(params).__name__}")
    nd = 2 if bidirectional else 1
    expected = [_key(n, layer, d) for layer in range(num_layers) for d in range(nd) for n in PARAM_NAMES]
    missing, extra = [k for k in expected if k not in params], sorted(set(params) - set(expected))
    if missing or extra:
        raise ValueError(f"params: expected the state_dict keys {expected}, got {sorted(params)} "
                         f"(missing: {missing}, unexpected: {extra})")
    x = check_x(np.swapaxes(np.asarray(x), 0, 1) if batch_first else x)
    T, B, _ = x.shape
    H = np.shape(params["weight_hh_l0"])[1]
    h0s = _states("h0", h0, num_layers * nd, B, H, x.dtype)
    c0s = _states("c0", c0, num_layers * nd, B, H, x.dtype) if cell == "lstm" else [None] * (num_layers * nd)
    if cell != "lstm" and c0 is not None:
        raise ValueError(f"c0: only the LSTM has a cell state, got one for cell {cell!r}")
    caches: dict[tuple[int, int], Any] = {}
    h_n, c_n, inp = [], [], x
    for layer in range(num_layers):
        outs = []
        for d in range(nd):
            p = {n: params[_key(n, layer, d)] for n in PARAM_NAMES}
            seq = inp[::-1] if d else inp                       # the reverse direction reads time backwards
            i = layer * nd + d
            if cell == "lstm":
                h, c, caches[layer, d] = lstm_forward(p, seq, h0s[i], c0s[i], backend=backend)
                c_n.append(c[-1])
            elif cell == "gru":
                h, caches[layer, d] = gru_forward(p, seq, h0s[i], backend=backend)
            else:
                h, caches[layer, d] = rnn_forward(p, seq, h0s[i], backend=backend, nonlinearity=nonlinearity)
            h_n.append(h[-1])
            outs.append(h[::-1] if d else h)                    # back to real time
        inp = np.concatenate(outs, axis=2) if nd == 2 else outs[0]
    out = np.swapaxes(inp, 0, 1) if batch_first else inp
    stack_cache = StackCache(cell, num_layers, nd, batch_first, caches, backend)
    return out, np.stack(h_n), (np.stack(c_n) if cell == "lstm" else None), stack_cache


def stack_backward(cache: StackCache, dout: ArrayLike, dh_n: ArrayLike | None = None, dc_n: ArrayLike | None = None,
                   backend: str | None = None) -> StackGrads:
    """BPTT through every layer and direction; dout like `out`, dh_n (dc_n) like h_n (c_n)."""
    if not isinstance(cache, StackCache):
        raise TypeError(f"cache: expected the StackCache returned by stack_forward, got {type(cache).__name__}")
    backend = backend or cache.backend
    first = cache.caches[0, 0]
    T, B, H = first.h.shape
    nd, L, dtype = cache.num_directions, cache.num_layers, first.h.dtype
    dout = as_float_array("dout", dout, dtype)
    check_shape("dout", dout, (B, T, nd * H) if cache.batch_first else (T, B, nd * H),
                "(B, T, D*H)" if cache.batch_first else "(T, B, D*H)")
    d_in = np.swapaxes(dout, 0, 1) if cache.batch_first else dout
    dhn = _states("dh_n", dh_n, L * nd, B, H, dtype)
    dcn = _states("dc_n", dc_n, L * nd, B, H, dtype) if cache.cell == "lstm" else [None] * (L * nd)
    params: dict[str, np.ndarray] = {}
    dh0: list[Any] = [None] * (L * nd)
    dc0: list[Any] = [None] * (L * nd)
    h_tot: dict[tuple[int, int], np.ndarray] = {}
    c_tot: dict[tuple[int, int], np.ndarray] = {}
    for layer in reversed(range(L)):
        d_below: Any = None
        for d in range(nd):
            i = layer * nd + d
            dh = np.array(d_in[:, :, d * H:(d + 1) * H][::-1] if d else d_in[:, :, d * H:(d + 1) * H])
            if dhn[i] is not None:
                dh[-1] += dhn[i]                                 # the final state is the last step's h
            c_cache = cache.caches[layer, d]
            g: Any
            if cache.cell == "lstm":
                g = lstm_backward(c_cache, dh, dcn[i], backend=backend)
                dc0[i], c_tot[layer, d] = g.c0, (g.c[::-1] if d else g.c)
            elif cache.cell == "gru":
                g = gru_backward(c_cache, dh, backend=backend)
            else:
                g = rnn_backward(c_cache, dh, backend=backend)
            for n in PARAM_NAMES:
                params[_key(n, layer, d)] = g.params[n]
            dh0[i], h_tot[layer, d] = g.h0, (g.h[::-1] if d else g.h)
            dx = g.x[::-1] if d else g.x
            d_below = dx if d_below is None else d_below + dx    # both directions read the same input
        d_in = d_below
    grad_x = np.ascontiguousarray(np.swapaxes(d_in, 0, 1) if cache.batch_first else d_in)
    lstm = cache.cell == "lstm"
    return StackGrads(params=params, x=grad_x, h0=np.stack(dh0), c0=np.stack(dc0) if lstm else None, h=h_tot,
                      c=c_tot if lstm else None)
