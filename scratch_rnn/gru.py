r"""GRU: forward pass and backpropagation through time, in NumPy, exactly as PyTorch defines it.

Shapes: T time steps, B batch, D input size, H hidden size. Parameters use PyTorch's names, shapes
and gate order r, z, n (``nn.GRU``): ``weight_ih`` (3H, D), ``weight_hh`` (3H, H), ``bias_ih`` (3H,),
``bias_hh`` (3H,). Rows [0:H] belong to r, [H:2H] to z, [2H:3H] to n.

Forward, for t = 0 .. T-1 (h_{-1} = h0)::

    gi_t = x_t W_ih^T + b_ih                                  (B, 3H)  input part
    gh_t = h_{t-1} W_hh^T + b_hh                              (B, 3H)  recurrent part
    r_t  = sigmoid(gi_t[r] + gh_t[r])                         (B, H)   reset gate
    z_t  = sigmoid(gi_t[z] + gh_t[z])                         (B, H)   update gate
    n_t  = tanh(gi_t[n] + r_t * gh_t[n])                      (B, H)   candidate
    h_t  = (1 - z_t) * n_t + z_t * h_{t-1}                    (B, H)

The reset gate multiplies h_{t-1} W_hn^T + b_hn, bias included. That is PyTorch's (and cuDNN's)
GRU, not the one in Cho et al. 2014, where r_t multiplies h_{t-1} before the product,
n_t = tanh(x_t W_in^T + b_in + (r_t * h_{t-1}) W_hn^T + b_hn); most from-scratch tutorials write
Cho's form and therefore do not match ``nn.GRU``. It is also why the two biases have different
gradients here (for the RNN and the LSTM they are equal, `db_ih = db_hh`).

Backward. ``dh[t]`` is the gradient the loss sends directly into h_t; ``dh_total[t]`` = dL/dh_t
counts every path::

    dh_total[t] = dh[t] + dh_total[t+1] * z_{t+1} + dgh_{t+1} W_hh          (0 past the end)
    dn_t  = dh_total[t] * (1 - z_t)          dz_t = dh_total[t] * (h_{t-1} - n_t)
    da_n  = dn_t * (1 - n_t^2)                                 through tanh
    da_r  = da_n * gh_t[n] * r_t (1 - r_t)   da_z = dz_t * z_t (1 - z_t)
    dgi_t = [da_r, da_z, da_n]               dgh_t = [da_r, da_z, da_n * r_t]
    dW_ih = sum_t dgi_t^T x_t    db_ih = sum_t sum_b dgi_t    dx_t = dgi_t W_ih
    dW_hh = sum_t dgh_t^T h_{t-1}   db_hh = sum_t sum_b dgh_t   dh0 = dh_total[0] * z_0 + dgh_0 W_hh

Along the direct path alone, dL/dh_s = dL/dh_t * prod_{k=s+1..t} z_k: the update gate plays the
role of the LSTM's forget gate.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from . import _backend
from ._activations import sigmoid
from ._validate import (as_float_array, cache_fields, check_cache, check_params, check_range, check_shape,
                        check_state, check_x, frozen_copy, read_only)


#: what `gru_backward` checks in its cache before the loops read it
_CACHE_FIELDS = cache_fields({"gates": "T 3 B H", "gh_n": "T B H"})


@dataclass(frozen=True)
class GRUCache:
    """What `gru_backward` needs, as `gru_forward` leaves it.

    Attributes:
        params: Copies of the checked parameters.
        x: A copy of the inputs, (T, B, D).
        h0: A copy of the initial state, (B, H).
        h: Every hidden state h_t, (T, B, H).
        gates: The activated gates, (T, 3, B, H), with gates[t] = (r_t, z_t, n_t).
        gh_n: The recurrent part of the candidate, h_{t-1} W_hn^T + b_hn, (T, B, H).
        backend: The loops that ran the forward pass, "numpy" or "numba"; the backward pass runs
            the same unless told otherwise.
    """

    params: dict
    x: np.ndarray
    h0: np.ndarray
    h: np.ndarray
    gates: np.ndarray
    gh_n: np.ndarray
    backend: str = "numpy"   # the loops that ran the forward pass; backward runs the same by default


@dataclass(frozen=True)
class GRUGrads:
    """The gradients of the loss, as `gru_backward` returns them.

    Attributes:
        params: dL/dparameter under the keys of the parameter dict; the two biases' gradients
            differ (b_hn sits inside the reset product).
        x: dL/dx_t, (T, B, D).
        h0: dL/dh0, (B, H).
        h: The total dL/dh_t for every t, (T, B, H).
    """

    params: dict
    x: np.ndarray
    h0: np.ndarray
    h: np.ndarray


def gru_forward(params: dict, x: ArrayLike, h0: ArrayLike | None = None,
                backend: str = "numpy") -> tuple[np.ndarray, GRUCache]:
    """Run the GRU over a sequence, gate order r, z, n, exactly as ``nn.GRU`` (b_hn inside the reset product).

    Args:
        params: ``weight_ih`` (3H, D), ``weight_hh`` (3H, H), ``bias_ih`` (3H,), ``bias_hh`` (3H,),
            in x's dtype.
        x: Inputs, (T, B, D), float32 or float64.
        h0: The initial state, (B, H); zeros if None.
        backend: "numpy" (the reference) or "numba" (its compiled mirror).

    Returns:
        ``(h, cache)``: every hidden state, (T, B, H), a read-only view of the cache's array; and
            the `GRUCache` that `gru_backward` takes, holding copies of x, params and h0.

    Raises:
        ValueError: A shape, key or value is wrong (named in the message), or the
            pre-activations could overflow the dtype.
        TypeError: An array is not float32 or float64, or not of x's dtype.

    Examples:
        >>> p = sr.init_pytorch_default("gru", 3, 4, np.random.default_rng(0))   # weight_ih (12, 3), ...
        >>> h, cache = sr.gru_forward(p, np.ones((5, 2, 3)))
        >>> h.shape
        (5, 2, 4)
    """
    x = check_x(x)
    T, B, D = x.shape
    p, H = check_params(params, 3, D, x.dtype)
    h0 = check_state("h0", h0, B, H, x.dtype)
    check_range(x, p, h0)
    # the cache keeps copies of the inputs, so editing x or params before backward changes nothing
    h, cache = gru_forward_checked(frozen_copy(p), x.copy(), h0.copy(), backend)
    return read_only(h), cache


def gru_forward_checked(p: dict, x: np.ndarray, h0: np.ndarray, backend: str = "numpy") -> tuple[np.ndarray, GRUCache]:
    """What `gru_forward` runs once its arguments are checked: the loops, and a cache that holds the
    caller's arrays themselves (no copies). For callers that checked once and then run many short
    forward passes (RTRL's steps); h is writable."""
    loop = _backend.loops(__name__, backend).gru_forward_loop
    h, gates, gh_n = loop(x, h0, p["weight_ih"], p["weight_hh"], p["bias_ih"], p["bias_hh"])
    return h, GRUCache(params=p, x=x, h0=h0, h=h, gates=gates, gh_n=gh_n, backend=backend)


def gru_backward(cache: GRUCache, dh: ArrayLike, backend: str | None = None) -> GRUGrads:
    """Backpropagate through time.

    Args:
        cache: What `gru_forward` returned.
        dh: The gradient the loss sends directly into each h_t, (T, B, H), in the cache's dtype.
        backend: "numpy" or "numba"; None runs the loops that ran the forward pass
            (``cache.backend``).

    Returns:
        `GRUGrads`: every parameter gradient, dL/dx, dL/dh0 and the total dL/dh_t for every t.

    Raises:
        TypeError: `cache` is not a `GRUCache`, or dh has another dtype.
        ValueError: dh has the wrong shape or a NaN or inf, or the backend is unknown.

    Examples:
        >>> p = sr.init_pytorch_default("gru", 3, 4, np.random.default_rng(0))
        >>> h, cache = sr.gru_forward(p, np.ones((5, 2, 3)))
        >>> g = sr.gru_backward(cache, np.ones_like(h))                           # a loss at every step
        >>> bool(np.allclose(g.params["bias_ih"], g.params["bias_hh"]))           # the GRU's two biases differ
        False
    """
    if not isinstance(cache, GRUCache):
        raise TypeError(f"cache: expected the GRUCache returned by gru_forward, got {type(cache).__name__}")
    check_cache("gru", cache, 3, _CACHE_FIELDS)
    dh = as_float_array("dh", dh, cache.h.dtype)
    check_shape("dh", dh, cache.h.shape, "(T, B, H)")
    p = cache.params
    loop = _backend.loops(__name__, cache.backend if backend is None else backend).gru_backward_loop
    dx, dh0, dh_total, dw_ih, dw_hh, db_ih, db_hh = loop(
        cache.x, cache.h0, cache.h, cache.gates, cache.gh_n, dh, p["weight_ih"], p["weight_hh"])
    grads = {"weight_ih": dw_ih, "weight_hh": dw_hh, "bias_ih": db_ih, "bias_hh": db_hh}
    return GRUGrads(params=grads, x=dx, h0=dh0, h=dh_total)


def gru_forward_loop(x, h0, w_ih, w_hh, b_ih, b_hh):
    """The forward recurrence on checked arrays; returns (h, gates, gh_n)."""
    T, B, _ = x.shape
    H = w_hh.shape[1]
    h = np.empty((T, B, H), dtype=x.dtype)
    gates = np.empty((T, 3, B, H), dtype=x.dtype)                # activated r, z, n
    gh_n = np.empty((T, B, H), dtype=x.dtype)                    # h_{t-1} W_hn^T + b_hn
    h_prev = h0                                                  # (B, H) h_{t-1}
    for t in range(T):
        gi = x[t] @ w_ih.T + b_ih                                # (B, 3H) input part
        gh = h_prev @ w_hh.T + b_hh                              # (B, 3H) recurrent part
        r = sigmoid(gi[:, 0:H] + gh[:, 0:H])                     # (B, H) reset gate
        z = sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])             # (B, H) update gate
        n = np.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])           # (B, H) candidate
        h[t] = (1 - z) * n + z * h_prev                          # (B, H) h_t
        gates[t] = r, z, n                                       # (3, B, H) kept for backward
        gh_n[t] = gh[:, 2 * H:]                                  # (B, H) kept for dL/dr
        h_prev = h[t]
    return h, gates, gh_n


def gru_backward_loop(x, h0, h, gates, gh_n, dh, w_ih, w_hh):
    """BPTT on checked arrays; returns (dx, dh0, dh_total, dw_ih, dw_hh, db_ih, db_hh)."""
    T, B, D = x.shape
    H = w_hh.shape[1]
    dx = np.empty_like(x)                                        # (T, B, D)
    dh_total = np.empty_like(h)                                  # (T, B, H) total dL/dh_t
    dw_ih, dw_hh = np.zeros_like(w_ih), np.zeros_like(w_hh)      # (3H, D), (3H, H)
    db_ih, db_hh = np.zeros(3 * H, dtype=x.dtype), np.zeros(3 * H, dtype=x.dtype)
    dgi = np.empty((B, 3 * H), dtype=x.dtype)                    # (B, 3H) dL/dgi_t
    dgh = np.empty((B, 3 * H), dtype=x.dtype)                    # (B, 3H) dL/dgh_t
    dh_next = np.zeros((B, H), dtype=x.dtype)                    # (B, H) dL/dh_t through step t+1
    for t in reversed(range(T)):
        h_prev = h[t - 1] if t > 0 else h0                       # (B, H) h_{t-1}
        r, z, n = gates[t]                                       # (B, H) each
        dh_total[t] = dh[t] + dh_next                            # (B, H) direct + through the future
        da_n = dh_total[t] * (1 - z) * (1 - n * n)               # (B, H) through n_t and tanh
        dgi[:, 0:H] = da_n * gh_n[t] * r * (1 - r)               # (B, H) dL/da_r
        dgi[:, H:2 * H] = dh_total[t] * (h_prev - n) * z * (1 - z)  # (B, H) dL/da_z
        dgi[:, 2 * H:] = da_n                                    # (B, H) dL/dgi_n
        dgh[:, 0:2 * H] = dgi[:, 0:2 * H]                        # r and z see gi + gh alike
        dgh[:, 2 * H:] = da_n * r                                # (B, H) dL/dgh_n, through the reset gate
        dw_ih += dgi.T @ x[t]                                    # (3H, D)
        dw_hh += dgh.T @ h_prev                                  # (3H, H)
        db_ih += dgi.sum(axis=0)                                 # (3H,)
        db_hh += dgh.sum(axis=0)                                 # (3H,)
        dx[t] = dgi @ w_ih                                       # (B, D)
        dh_next = dh_total[t] * z + dgh @ w_hh                   # (B, H) dL/dh_{t-1}: direct + through gh_t
    dh0 = dh_next                                                # (B, H) past step 0: dL/dh0
    return dx, dh0, dh_total, dw_ih, dw_hh, db_ih, db_hh


def gru_step_jacobians(cache: GRUCache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The local derivatives of the cache's first step, per sequence, that RTRL carries forward
    (`scratch_rnn.rtrl.exact`). With k = (1-z)(1-n^2) and b_hn inside the reset product::

        A = dh_t/dgi_t = [diag(k gh_n r(1-r)), diag((h_{t-1} - n) z(1-z)), diag(k)]     (r, z, n)
        C = dh_t/dgh_t = [the same r and z parts, diag(k r)]                            (n through r)
        E = dh_t/dh_{t-1} through no product = diag(z)

    Returns (A, C, E): (B, H, 3H), (B, H, 3H), (B, H, H)."""
    r, z, n = cache.gates[0]                                     # (B, H) each
    eye = np.eye(z.shape[1], dtype=z.dtype)
    k = (1 - z) * (1 - n * n)                                    # (B, H) dh_t/d(n's pre-activation)
    blocks_i = [k * cache.gh_n[0] * r * (1 - r), (cache.h0 - n) * z * (1 - z), k]   # dh/dgi: r, z, n
    blocks_h = [blocks_i[0], blocks_i[1], k * r]                 # dh/dgh: n through r
    A = np.concatenate([b[:, :, None] * eye for b in blocks_i], axis=2)            # (B, H, 3H)
    C = np.concatenate([b[:, :, None] * eye for b in blocks_h], axis=2)            # (B, H, 3H)
    return A, C, z[:, :, None] * eye
