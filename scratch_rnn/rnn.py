r"""Vanilla RNN (tanh, or ReLU as ``nn.RNN(nonlinearity="relu")``): forward pass and
backpropagation through time, in NumPy.

Shapes: T time steps, B batch, D input size, H hidden size. Parameters use PyTorch's names and
shapes (``nn.RNN``): ``weight_ih`` (H, D), ``weight_hh`` (H, H), ``bias_ih`` (H,), ``bias_hh`` (H,).

Forward, for t = 0 .. T-1 (h_{-1} = h0)::

    a_t = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh        (B, H)
    h_t = tanh(a_t)          or  h_t = max(a_t, 0)  (ReLU)   (B, H)

Backward. ``dh[t]`` is the gradient the loss sends *directly* into h_t. The total gradient
``dh_total[t]`` = dL/dh_t also counts every path through h_{t+1}, h_{t+2}, ...::

    dh_total[T-1] = dh[T-1]
    da_t          = dh_total[t] * (1 - h_t^2)                (B, H)   through tanh
                  = dh_total[t] * [h_t > 0]                  (B, H)   through ReLU (0 at a_t = 0, as torch)
    dh_total[t-1] = dh[t-1] + da_t W_hh                      (B, H)   one step back
    dW_ih = sum_t da_t^T x_t        dW_hh = sum_t da_t^T h_{t-1}
    db_ih = db_hh = sum_t sum_b da_t
    dx_t  = da_t W_ih               dh0 = da_0 W_hh

So dL/dh_s = dL/dh_t * prod_{k=s+1..t} diag(1 - h_k^2) W_hh: the product of Jacobians whose norm
decides whether gradients vanish.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from . import _backend
from ._validate import (as_float_array, cache_fields, check_cache, check_params, check_range, check_shape,
                        check_state, check_x, frozen_copy, read_only)

NONLINEARITIES = ("tanh", "relu")


#: what `rnn_backward` checks in its cache before the loops read it
_CACHE_FIELDS = cache_fields({})


@dataclass(frozen=True)
class RNNCache:
    """What `rnn_backward` needs, as `rnn_forward` leaves it.

    Attributes:
        params: Copies of the checked parameters (``weight_ih`` (H, D), ``weight_hh`` (H, H),
            ``bias_ih`` (H,), ``bias_hh`` (H,)).
        x: A copy of the inputs, (T, B, D).
        h0: A copy of the initial state, (B, H).
        h: Every hidden state h_t, (T, B, H).
        nonlinearity: "tanh" or "relu".
        backend: The loops that ran the forward pass, "numpy" or "numba"; the backward pass runs
            the same unless told otherwise.
    """

    params: dict
    x: np.ndarray
    h0: np.ndarray
    h: np.ndarray
    nonlinearity: str = "tanh"
    backend: str = "numpy"   # the loops that ran the forward pass; backward runs the same by default


@dataclass(frozen=True)
class RNNGrads:
    """The gradients of the loss, as `rnn_backward` returns them.

    Attributes:
        params: dL/dparameter under the keys of the parameter dict, each of its parameter's shape.
        x: dL/dx_t, (T, B, D).
        h0: dL/dh0, (B, H).
        h: The total dL/dh_t for every t, through every path, (T, B, H).
    """

    params: dict
    x: np.ndarray
    h0: np.ndarray
    h: np.ndarray


def rnn_forward(params: dict, x: ArrayLike, h0: ArrayLike | None = None, backend: str = "numpy",
                nonlinearity: str = "tanh") -> tuple[np.ndarray, RNNCache]:
    """Run the RNN over a sequence: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), or max(., 0).

    Args:
        params: ``weight_ih`` (H, D), ``weight_hh`` (H, H), ``bias_ih`` (H,), ``bias_hh`` (H,), as
            ``nn.RNN``'s ``*_l0`` tensors, in x's dtype.
        x: Inputs, (T, B, D), float32 or float64; the dtype of everything else follows it.
        h0: The initial state, (B, H); zeros if None.
        backend: "numpy" (the reference) or "numba" (its compiled mirror).
        nonlinearity: "tanh" or "relu", as ``nn.RNN(nonlinearity=...)``.

    Returns:
        ``(h, cache)``: every hidden state, (T, B, H), a read-only view of the cache's array (copy
            it to change it); and the `RNNCache` that `rnn_backward` takes, holding copies of x,
            params and h0.

    Raises:
        ValueError: A shape, key or value is wrong (named in the message), the nonlinearity is
            unknown, the pre-activations could overflow the dtype, or a ReLU state overflowed.
        TypeError: An array is not float32 or float64, or not of x's dtype.

    Examples:
        >>> p = sr.init_pytorch_default("rnn", 3, 4, np.random.default_rng(0))   # weight_ih (4, 3), ...
        >>> h, cache = sr.rnn_forward(p, np.ones((5, 2, 3)))                      # x: (T, B, D) = (5, 2, 3)
        >>> h.shape
        (5, 2, 4)
    """
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(f"nonlinearity: expected one of {NONLINEARITIES}, got {nonlinearity!r}")
    x = check_x(x)
    T, B, D = x.shape
    p, H = check_params(params, 1, D, x.dtype)
    h0 = check_state("h0", h0, B, H, x.dtype)
    relu = nonlinearity == "relu"
    if not relu:
        check_range(x, p, h0)
    # the cache keeps copies of the inputs, so editing x or params before backward changes nothing
    with np.errstate(over="ignore", invalid="ignore"):          # an overflowing ReLU state is refused below
        h, cache = rnn_forward_checked(frozen_copy(p), x.copy(), h0.copy(), backend, nonlinearity)
    if relu and not np.isfinite(h).all():
        t = int(np.argmin(np.isfinite(h).reshape(T, -1).all(axis=1)))
        raise ValueError(f"x, params, h0: the ReLU RNN's state overflowed {x.dtype} at step t = {t}; scale the "
                         "inputs or the parameters down, or use float64")
    return read_only(h), cache


def rnn_forward_checked(p: dict, x: np.ndarray, h0: np.ndarray, backend: str = "numpy",
                        nonlinearity: str = "tanh") -> tuple[np.ndarray, RNNCache]:
    """What `rnn_forward` runs once its arguments are checked: the loops, and a cache that holds the
    caller's arrays themselves (no copies). For callers that checked once and then run many short
    forward passes (RTRL's steps); h is writable."""
    loop = _backend.loops(__name__, backend).rnn_forward_loop
    h = loop(x, h0, p["weight_ih"], p["weight_hh"], p["bias_ih"], p["bias_hh"], nonlinearity == "relu")
    return h, RNNCache(params=p, x=x, h0=h0, h=h, nonlinearity=nonlinearity, backend=backend)


def rnn_backward(cache: RNNCache, dh: ArrayLike, backend: str | None = None) -> RNNGrads:
    """Backpropagate through time.

    Args:
        cache: What `rnn_forward` returned.
        dh: The gradient the loss sends directly into each h_t, (T, B, H), in the cache's dtype
            (zeros where the loss does not look at h_t).
        backend: "numpy" or "numba"; None runs the loops that ran the forward pass
            (``cache.backend``).

    Returns:
        `RNNGrads`: every parameter gradient, dL/dx, dL/dh0 and the total dL/dh_t for every t.

    Raises:
        TypeError: `cache` is not an `RNNCache`, or dh has another dtype.
        ValueError: dh has the wrong shape or a NaN or inf, or the backend is unknown.

    Examples:
        >>> p = sr.init_pytorch_default("rnn", 3, 4, np.random.default_rng(0))
        >>> h, cache = sr.rnn_forward(p, np.ones((5, 2, 3)))
        >>> dh = np.zeros_like(h)
        >>> dh[-1] = 1.0                                                          # a loss on the last state only
        >>> g = sr.rnn_backward(cache, dh)
        >>> g.h.shape, g.params["weight_hh"].shape                                # dL/dh_t for every t
        ((5, 2, 4), (4, 4))
    """
    if not isinstance(cache, RNNCache):
        raise TypeError(f"cache: expected the RNNCache returned by rnn_forward, got {type(cache).__name__}")
    check_cache("rnn", cache, 1, _CACHE_FIELDS)
    dh = as_float_array("dh", dh, cache.h.dtype)
    check_shape("dh", dh, cache.h.shape, "(T, B, H)")
    p = cache.params
    loop = _backend.loops(__name__, cache.backend if backend is None else backend).rnn_backward_loop
    dx, dh0, dh_total, dw_ih, dw_hh, db = loop(cache.x, cache.h0, cache.h, dh, p["weight_ih"], p["weight_hh"],
                                               cache.nonlinearity == "relu")
    grads = {"weight_ih": dw_ih, "weight_hh": dw_hh, "bias_ih": db, "bias_hh": db.copy()}
    return RNNGrads(params=grads, x=dx, h0=dh0, h=dh_total)


def rnn_forward_loop(x, h0, w_ih, w_hh, b_ih, b_hh, relu=False):
    """The forward recurrence on checked arrays; returns h (T, B, H)."""
    T, B, _ = x.shape
    H = w_hh.shape[1]
    h = np.empty((T, B, H), dtype=x.dtype)
    h_prev = h0                                                  # (B, H) h_{t-1}
    for t in range(T):
        a = x[t] @ w_ih.T + b_ih + h_prev @ w_hh.T + b_hh        # (B, H) pre-activation a_t
        h[t] = np.maximum(a, 0) if relu else np.tanh(a)          # (B, H) h_t
        h_prev = h[t]
    return h


def rnn_backward_loop(x, h0, h, dh, w_ih, w_hh, relu=False):
    """BPTT on checked arrays; returns (dx, dh0, dh_total, dw_ih, dw_hh, db)."""
    T, B, D = x.shape
    H = w_hh.shape[1]
    dx = np.empty_like(x)                                        # (T, B, D)
    dh_total = np.empty_like(h)                                  # (T, B, H) total dL/dh_t
    dw_ih = np.zeros_like(w_ih)                                  # (H, D)
    dw_hh = np.zeros_like(w_hh)                                  # (H, H)
    db = np.zeros(H, dtype=x.dtype)                              # (H,)
    dh_next = np.zeros((B, H), dtype=x.dtype)                    # (B, H) dL/dh_t through h_{t+1}
    for t in reversed(range(T)):
        h_prev = h[t - 1] if t > 0 else h0                       # (B, H) h_{t-1}
        dh_total[t] = dh[t] + dh_next                            # (B, H) direct + through the future
        da = dh_total[t] * ((h[t] > 0) if relu else (1 - h[t] * h[t]))  # (B, H) through the nonlinearity: dL/da_t
        dw_ih += da.T @ x[t]                                     # (H, D)
        dw_hh += da.T @ h_prev                                   # (H, H)
        db += da.sum(axis=0)                                     # (H,)
        dx[t] = da @ w_ih                                        # (B, D)
        dh_next = da @ w_hh                                      # (B, H) dL/dh_{t-1} through h_t
    dh0 = dh_next                                                # (B, H) past step 0: dL/dh0
    return dx, dh0, dh_total, dw_ih, dw_hh, db


def rnn_step_jacobians(cache: RNNCache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The local derivatives of the cache's first step, per sequence, that RTRL carries forward
    (`scratch_rnn.rtrl.exact`): with a_t = gi_t + gh_t, gi_t = x_t W_ih^T + b_ih and gh_t = h_{t-1} W_hh^T + b_hh,
    A = dh_t/dgi_t = C = dh_t/dgh_t = diag(phi'(a_t)), and E = dh_t/dh_{t-1} through no product = 0.
    Returns (A, C, E): (B, H, H) each."""
    h = cache.h[0]                                               # (B, H) h_t
    eye = np.eye(h.shape[1], dtype=h.dtype)
    d = (h > 0).astype(h.dtype) if cache.nonlinearity == "relu" else 1 - h * h  # (B, H) phi'(a_t)
    A = d[:, :, None] * eye                                      # (B, H, H)
    return A, A, np.zeros(A.shape, dtype=h.dtype)
