r"""LSTM: forward pass and backpropagation through time, in NumPy.

Shapes: T time steps, B batch, D input size, H hidden size. Parameters use PyTorch's names, shapes
and gate order i, f, g, o (``nn.LSTM``): ``weight_ih`` (4H, D), ``weight_hh`` (4H, H),
``bias_ih`` (4H,), ``bias_hh`` (4H,). Rows [0:H] belong to i, [H:2H] to f, [2H:3H] to g, [3H:4H] to o.

Forward, for t = 0 .. T-1 (h_{-1} = h0, c_{-1} = c0)::

    a_t = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh         (B, 4H)  pre-activations
    i_t = sigmoid(a_t[:, 0:H])                                (B, H)   input gate
    f_t = sigmoid(a_t[:, H:2H])                               (B, H)   forget gate
    g_t = tanh(a_t[:, 2H:3H])                                 (B, H)   candidate
    o_t = sigmoid(a_t[:, 3H:4H])                              (B, H)   output gate
    c_t = f_t * c_{t-1} + i_t * g_t                           (B, H)   cell state
    h_t = o_t * tanh(c_t)                                     (B, H)   hidden state

With a projection (``nn.LSTM(..., proj_size=P)``; params gain ``weight_hr`` (P, H), and
``weight_hh`` is (4H, P)), the hidden state is projected down to P entries; h0 is then (B, P)::

    m_t = o_t * tanh(c_t)                                     (B, H)
    h_t = m_t W_hr^T                                          (B, P)   hidden state

Backward. ``dh[t]`` is the gradient the loss sends directly into h_t and ``dc_last`` the one it
sends directly into c_{T-1}. ``dh_total[t]`` = dL/dh_t and ``dc_total[t]`` = dL/dc_t are totals
over every path::

    dh_total[t] = dh[t] + da_{t+1} W_hh                                   (0 past the end)
    dm_t        = dh_total[t]        (dh_total[t] W_hr with a projection, (B, H))
    dc_total[t] = dc_total[t+1] * f_{t+1} + dm_t * o_t * (1 - tanh(c_t)^2)
                                                       (dc_last in place of the first term at T-1)
    da_t[i] = dc_total[t] * g_t     * i_t (1 - i_t)
    da_t[f] = dc_total[t] * c_{t-1} * f_t (1 - f_t)
    da_t[g] = dc_total[t] * i_t     * (1 - g_t^2)
    da_t[o] = dm_t * tanh(c_t) * o_t (1 - o_t)
    dW_ih = sum_t da_t^T x_t    dW_hh = sum_t da_t^T h_{t-1}    db_ih = db_hh = sum_t sum_b da_t
    dW_hr = sum_t dh_total[t]^T m_t                           (with a projection)
    dx_t = da_t W_ih            dh0 = da_0 W_hh                 dc0 = dc_total[0] * f_0

Along the cell path alone, dL/dc_s = dL/dc_t * prod_{k=s+1..t} f_k: the forget gates decide
whether the gradient survives the trip back.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from . import _backend
from ._activations import sigmoid
from ._validate import (as_float_array, cache_fields, check_cache, check_params, check_range, check_shape,
                        check_state, check_x, frozen_copy, read_only)


#: what `lstm_backward` checks in its cache before the loops read it
_CACHE_FIELDS = cache_fields({"c0": "B H", "c": "T B H", "gates": "T 4 B H", "tanh_c": "T B H"})


@dataclass(frozen=True)
class LSTMCache:
    """What `lstm_backward` needs, as `lstm_forward` leaves it (P = H without a projection).

    Attributes:
        params: Copies of the checked parameters (and ``weight_hr`` (P, H) with a projection).
        x: A copy of the inputs, (T, B, D).
        h0: A copy of the initial hidden state, (B, P).
        c0: A copy of the initial cell state, (B, H).
        h: Every hidden state h_t, (T, B, P).
        c: Every cell state c_t, (T, B, H).
        gates: The activated gates, (T, 4, B, H), with gates[t] = (i_t, f_t, g_t, o_t).
        tanh_c: tanh(c_t), (T, B, H).
        backend: The loops that ran the forward pass, "numpy" or "numba"; the backward pass runs
            the same unless told otherwise.
    """

    params: dict
    x: np.ndarray
    h0: np.ndarray
    c0: np.ndarray
    h: np.ndarray
    c: np.ndarray
    gates: np.ndarray
    tanh_c: np.ndarray
    backend: str = "numpy"   # the loops that ran the forward pass; backward runs the same by default


@dataclass(frozen=True)
class LSTMGrads:
    """The gradients of the loss, as `lstm_backward` returns them (P = H without a projection).

    Attributes:
        params: dL/dparameter under the keys of the parameter dict, each of its parameter's shape.
        x: dL/dx_t, (T, B, D).
        h0: dL/dh0, (B, P).
        c0: dL/dc0, (B, H).
        h: The total dL/dh_t for every t, (T, B, P).
        c: The total dL/dc_t for every t, (T, B, H).
    """

    params: dict
    x: np.ndarray
    h0: np.ndarray
    c0: np.ndarray
    h: np.ndarray
    c: np.ndarray


def lstm_forward(params: dict, x: ArrayLike, h0: ArrayLike | None = None, c0: ArrayLike | None = None,
                 backend: str = "numpy") -> tuple[np.ndarray, np.ndarray, LSTMCache]:
    """Run the LSTM over a sequence, gate order i, f, g, o (equations: the module's docstring).

    Args:
        params: ``weight_ih`` (4H, D), ``weight_hh`` (4H, P), ``bias_ih`` (4H,), ``bias_hh`` (4H,),
            and optionally ``weight_hr`` (P, H) for a projection (``nn.LSTM(proj_size=P)``); P = H
            without one. In x's dtype.
        x: Inputs, (T, B, D), float32 or float64.
        h0: The initial hidden state, (B, P); zeros if None.
        c0: The initial cell state, (B, H); zeros if None.
        backend: "numpy" (the reference) or "numba" (its compiled mirror).

    Returns:
        ``(h, c, cache)``: every hidden state (T, B, P) and cell state (T, B, H), read-only views
            of the cache's arrays (copy them to change them); and the `LSTMCache` that
            `lstm_backward` takes, holding copies of x, params, h0 and c0.

    Raises:
        ValueError: A shape, key or value is wrong (named in the message), or the
            pre-activations could overflow the dtype.
        TypeError: An array is not float32 or float64, or not of x's dtype.

    Examples:
        >>> p = sr.init_pytorch_default("lstm", 3, 4, np.random.default_rng(0))  # weight_ih (16, 3), ...
        >>> h, c, cache = sr.lstm_forward(p, np.ones((5, 2, 3)))
        >>> h.shape, c.shape
        ((5, 2, 4), (5, 2, 4))
    """
    x = check_x(x)
    T, B, D = x.shape
    p, H = check_params(params, 4, D, x.dtype, projection=True)
    h0 = check_state("h0", h0, B, p["weight_hh"].shape[1], x.dtype, "P" if "weight_hr" in p else "H")
    c0 = check_state("c0", c0, B, H, x.dtype)
    check_range(x, p, h0)
    # the cache keeps copies of the inputs, so editing x or params before backward changes nothing
    h, c, cache = lstm_forward_checked(frozen_copy(p), x.copy(), h0.copy(), c0.copy(), backend)
    return read_only(h), read_only(c), cache


def lstm_forward_checked(p: dict, x: np.ndarray, h0: np.ndarray, c0: np.ndarray,
                         backend: str = "numpy") -> tuple[np.ndarray, np.ndarray, LSTMCache]:
    """What `lstm_forward` runs once its arguments are checked: the loops, and a cache that holds the
    caller's arrays themselves (no copies). For callers that checked once and then run many short
    forward passes (RTRL's steps); h and c are writable."""
    loop = _backend.loops(__name__, backend).lstm_forward_loop
    h, c, gates, tanh_c = loop(x, h0, c0, p["weight_ih"], p["weight_hh"], p["bias_ih"], p["bias_hh"],
                               p.get("weight_hr"))
    return h, c, LSTMCache(params=p, x=x, h0=h0, c0=c0, h=h, c=c, gates=gates, tanh_c=tanh_c, backend=backend)


def lstm_backward(cache: LSTMCache, dh: ArrayLike, dc_last: ArrayLike | None = None,
                  backend: str | None = None) -> LSTMGrads:
    """Backpropagate through time.

    Args:
        cache: What `lstm_forward` returned.
        dh: The gradient the loss sends directly into each h_t, (T, B, P), in the cache's dtype.
        dc_last: The gradient the loss sends directly into the last cell state c_{T-1}, (B, H);
            zeros if None.
        backend: "numpy" or "numba"; None runs the loops that ran the forward pass
            (``cache.backend``).

    Returns:
        `LSTMGrads`: every parameter gradient, dL/dx, dL/dh0, dL/dc0 and the totals dL/dh_t and
            dL/dc_t for every t.

    Raises:
        TypeError: `cache` is not an `LSTMCache`, or an array has another dtype.
        ValueError: dh or dc_last has the wrong shape or a NaN or inf, or the backend is unknown.

    Examples:
        >>> p = sr.init_pytorch_default("lstm", 3, 4, np.random.default_rng(0))
        >>> h, c, cache = sr.lstm_forward(p, np.ones((5, 2, 3)))
        >>> g = sr.lstm_backward(cache, np.zeros_like(h), dc_last=np.ones((2, 4)))   # a loss on c_{T-1} only
        >>> g.c.shape, bool(np.all(g.h[-1] == 0))                                 # dL/dc_t for every t
        ((5, 2, 4), True)
    """
    if not isinstance(cache, LSTMCache):
        raise TypeError(f"cache: expected the LSTMCache returned by lstm_forward, got {type(cache).__name__}")
    check_cache("lstm", cache, 4, _CACHE_FIELDS)
    T, B, P = cache.h.shape
    H = cache.c.shape[2]
    dh = as_float_array("dh", dh, cache.h.dtype)
    check_shape("dh", dh, (T, B, P), "(T, B, P)" if "weight_hr" in cache.params else "(T, B, H)")
    dc_last = check_state("dc_last", dc_last, B, H, cache.h.dtype)
    p = cache.params
    loop = _backend.loops(__name__, cache.backend if backend is None else backend).lstm_backward_loop
    dx, dh0, dc0, dh_total, dc_total, dw_ih, dw_hh, db, dw_hr = loop(
        cache.x, cache.h0, cache.c0, cache.h, cache.c, cache.gates, cache.tanh_c, dh, dc_last,
        p["weight_ih"], p["weight_hh"], p.get("weight_hr"),
    )
    grads = {"weight_ih": dw_ih, "weight_hh": dw_hh, "bias_ih": db, "bias_hh": db.copy()}
    if dw_hr is not None:
        grads["weight_hr"] = dw_hr
    return LSTMGrads(params=grads, x=dx, h0=dh0, c0=dc0, h=dh_total, c=dc_total)


def lstm_forward_loop(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr=None):
    """The forward recurrence on checked arrays; returns (h, c, gates, tanh_c). w_hr: the
    projection (P, H), or None."""
    T, B, _ = x.shape
    H, P = w_hh.shape[0] // 4, w_hh.shape[1]                     # P = H without a projection
    h = np.empty((T, B, P), dtype=x.dtype)
    c = np.empty((T, B, H), dtype=x.dtype)
    gates = np.empty((T, 4, B, H), dtype=x.dtype)              # activated i, f, g, o
    tanh_c = np.empty((T, B, H), dtype=x.dtype)
    h_prev, c_prev = h0, c0                                      # (B, H) h_{t-1}, c_{t-1}
    for t in range(T):
        a = x[t] @ w_ih.T + b_ih + h_prev @ w_hh.T + b_hh        # (B, 4H) pre-activations a_t
        i = sigmoid(a[:, 0:H])                                   # (B, H) input gate
        f = sigmoid(a[:, H:2 * H])                               # (B, H) forget gate
        g = np.tanh(a[:, 2 * H:3 * H])                           # (B, H) candidate
        o = sigmoid(a[:, 3 * H:4 * H])                           # (B, H) output gate
        c[t] = f * c_prev + i * g                                # (B, H) c_t
        tanh_c[t] = np.tanh(c[t])                                # (B, H)
        m = o * tanh_c[t]                                        # (B, H) o_t tanh(c_t)
        h[t] = m if w_hr is None else m @ w_hr.T                 # (B, P) h_t
        gates[t] = i, f, g, o                                    # (4, B, H) kept for backward
        h_prev, c_prev = h[t], c[t]
    return h, c, gates, tanh_c


def lstm_backward_loop(x, h0, c0, h, c, gates, tanh_c, dh, dc_last, w_ih, w_hh, w_hr=None):
    """BPTT on checked arrays; returns (dx, dh0, dc0, dh_total, dc_total, dw_ih, dw_hh, db, dw_hr),
    dw_hr None without a projection."""
    T, B, D = x.shape
    H, P = w_hh.shape[0] // 4, w_hh.shape[1]                     # P = H without a projection
    dx = np.empty_like(x)                                        # (T, B, D)
    dh_total = np.empty_like(h)                                  # (T, B, P) total dL/dh_t
    dc_total = np.empty_like(c)                                  # (T, B, H) total dL/dc_t
    dw_ih = np.zeros_like(w_ih)                                  # (4H, D)
    dw_hh = np.zeros_like(w_hh)                                  # (4H, P)
    db = np.zeros(4 * H, dtype=x.dtype)                          # (4H,)
    dw_hr = None if w_hr is None else np.zeros_like(w_hr)        # (P, H)
    da = np.empty((B, 4 * H), dtype=x.dtype)                     # (B, 4H) dL/da_t
    dh_next = np.zeros((B, P), dtype=x.dtype)                    # (B, P) dL/dh_t through step t+1
    dc_next = dc_last                                            # (B, H) dL/dc_t through c_{t+1}
    for t in reversed(range(T)):
        h_prev = h[t - 1] if t > 0 else h0                       # (B, P) h_{t-1}
        c_prev = c[t - 1] if t > 0 else c0                       # (B, H) c_{t-1}
        i, f, g, o = gates[t]                                    # (B, H) each
        dh_total[t] = dh[t] + dh_next                            # (B, P) direct + through the future
        dm = dh_total[t] if w_hr is None else dh_total[t] @ w_hr # (B, H) dL/dm_t, m_t = o_t tanh(c_t)
        if w_hr is not None:
            dw_hr += dh_total[t].T @ (o * tanh_c[t])             # (P, H)
        dc_total[t] = dc_next + dm * o * (1 - tanh_c[t] ** 2)    # (B, H) via c_{t+1} and h_t
        da[:, 0:H] = dc_total[t] * g * i * (1 - i)               # (B, H) dL/da_i
        da[:, H:2 * H] = dc_total[t] * c_prev * f * (1 - f)      # (B, H) dL/da_f
        da[:, 2 * H:3 * H] = dc_total[t] * i * (1 - g * g)       # (B, H) dL/da_g
        da[:, 3 * H:4 * H] = dm * tanh_c[t] * o * (1 - o)        # (B, H) dL/da_o
        dw_ih += da.T @ x[t]                                     # (4H, D)
        dw_hh += da.T @ h_prev                                   # (4H, P)
        db += da.sum(axis=0)                                     # (4H,)
        dx[t] = da @ w_ih                                        # (B, D)
        dh_next = da @ w_hh                                      # (B, P) dL/dh_{t-1} through a_t
        dc_next = dc_total[t] * f                                # (B, H) dL/dc_{t-1} through c_t
    dh0, dc0 = dh_next, dc_next                                  # (B, P), (B, H) past step 0: dL/dh0, dL/dc0
    return dx, dh0, dc0, dh_total, dc_total, dw_ih, dw_hh, db, dw_hr


def lstm_step_jacobians(cache: LSTMCache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The local derivatives of the cache's first step, per sequence, that RTRL carries forward
    (`scratch_rnn.rtrl.exact`), for the state s_t = [h_t, c_t] (no projection) and a_t = gi_t + gh_t::

        dc_t/da = [diag(g i(1-i)), diag(c_{t-1} f(1-f)), diag(i (1-g^2)), 0]        (i, f, g, o)
        dh_t/da = diag(o (1 - tanh^2 c_t)) dc_t/da + [0, 0, 0, diag(tanh(c_t) o(1-o))]
        E: dh_t/dc_{t-1} = diag(o (1 - tanh^2 c_t) f),  dc_t/dc_{t-1} = diag(f),  nothing from h_{t-1}

    Returns (A, C, E): A = C = ds_t/da_t (B, 2H, 4H), E = ds_t/ds_{t-1} through no product (B, 2H, 2H)."""
    i, f, g, o = cache.gates[0]                                  # (B, H) each
    B, H = o.shape
    eye = np.eye(H, dtype=o.dtype)
    tc = cache.tanh_c[0]                                         # (B, H) tanh(c_t)
    dc = [g * i * (1 - i), cache.c0 * f * (1 - f), i * (1 - g * g), np.zeros_like(o)]  # dc_t/da: i, f, g, o
    k = o * (1 - tc * tc)                                        # (B, H) dh_t/dc_t
    dh = [k * b for b in dc[:3]] + [tc * o * (1 - o)]            # dh_t/da: i, f, g, o
    A = np.concatenate([np.concatenate([b[:, :, None] * eye for b in dh], axis=2),
                        np.concatenate([b[:, :, None] * eye for b in dc], axis=2)], axis=1)   # (B, 2H, 4H)
    E = np.zeros((B, 2 * H, 2 * H), dtype=o.dtype)
    E[:, :H, H:] = (k * f)[:, :, None] * eye                     # (B, H, H) dh_t/dc_{t-1}
    E[:, H:, H:] = f[:, :, None] * eye                           # (B, H, H) dc_t/dc_{t-1}
    return A, A, E
