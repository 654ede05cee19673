"""Numba mirror of the RNN loops in `scratch_rnn.rnn` (same names, same argument order, same
math in the same order). Where the fast formulation differs, a comment says so; the NumPy
reference stays the specification and tests/test_numba.py holds the two together.

Differences from the reference, all exact rearrangements of the same sums:
* forward: x_t W_ih^T is one matrix product per chunk of time steps (`common._input_projection`);
* backward: dx_t = da_t W_ih and the weight-gradient sums sum_t da_t^T x_t, sum_t da_t^T h_{t-1}
  are single matrix products per chunk of time steps (`common._weight_grads`);
* backward: every quantity carried through the recurrence (dL/dh_t and dL/da_t) is flushed to
  zero when its magnitude falls below the smallest normal number of the dtype (subnormal
  arithmetic is 10-100x slower on x86). The reference keeps subnormals, so the two differ by
  less than that number (1.2e-38 in float32, 2.2e-308 in float64) times the few products that
  follow. The outputs computed from them by one product (dx, dW, db) feed no later step and are
  not flushed.

The public loops are thin Python functions that allocate the (T, ...) arrays with NumPy (see
`common` for why) and hand them to the compiled kernels.
"""
from __future__ import annotations

import numpy as np

from .activations import tanh_
from .common import _chunk_steps, _input_projection, _recurrent_weight_T, _weight_grads
from .flags import jit
from .entry import kernel_entry


@kernel_entry
def rnn_forward_loop(x, h0, w_ih, w_hh, b_ih, b_hh, relu=False):
    """The forward recurrence; returns h (T, B, H)."""
    h = np.empty((x.shape[0], x.shape[1], w_hh.shape[1]), dtype=x.dtype)  # NumPy allocates: see common
    _rnn_forward(x, h0, w_ih, _recurrent_weight_T(w_hh), b_ih, b_hh, h, bool(relu))
    return h


@jit
def _rnn_forward(x, h0, w_ih, w_hh_T, b_ih, b_hh, h, relu):
    T, B, D = x.shape
    H = w_hh_T.shape[0]
    hw = np.empty((B, H), dtype=x.dtype)                         # (B, H) h_{t-1} W_hh^T
    zero = x.dtype.type(0)
    K = _chunk_steps(B, 256)                                     # 256 rows: stays in cache
    for t in range(T):
        if t % K == 0:                                           # x_t W_ih^T for the next K steps at once
            _input_projection(x, w_ih, t, min(T, t + K), h[t:])
        h_prev = h0 if t == 0 else h[t - 1]                      # (B, H) h_{t-1}
        np.dot(h_prev, w_hh_T, hw)
        for b in range(B):
            a, hwb = h[t, b], hw[b]                              # (H,) rows of this batch element
            for j in range(H):
                a[j] = a[j] + b_ih[j] + hwb[j] + b_hh[j]         # pre-activation a_t
            if relu:
                for j in range(H):
                    a[j] = max(a[j], zero)                       # h_t = max(a_t, 0), in place
            else:
                tanh_(a)                                         # h_t = tanh(a_t), in place


@kernel_entry
def rnn_backward_loop(x, h0, h, dh, w_ih, w_hh, relu=False):
    """BPTT; returns (dx, dh0, dh_total, dw_ih, dw_hh, db)."""
    dx, dh_total = np.empty_like(x), np.empty_like(h)            # NumPy allocates: see common
    dh0, dw_ih, dw_hh, db = _rnn_backward(x, h0, h, dh, w_ih, w_hh, dx, dh_total, bool(relu))
    return dx, dh0, dh_total, dw_ih, dw_hh, db


@jit
def _rnn_backward(x, h0, h, dh, w_ih, w_hh, dx, dh_total, relu):
    T, B, D = x.shape
    H = w_hh.shape[1]
    tiny = np.finfo(x.dtype).tiny                                # smallest normal number
    one, zero = x.dtype.type(1), x.dtype.type(0)                 # typed, so float32 stays float32
    dw_ih = np.zeros_like(w_ih)                                  # (H, D)
    dw_hh = np.zeros_like(w_hh)                                  # (H, H)
    db = np.zeros(H, dtype=x.dtype)                              # (H,)
    dh_next = np.zeros((B, H), dtype=x.dtype)                    # (B, H) dL/dh_t through h_{t+1}
    K = min(T, _chunk_steps(B, max(256, H)))                     # >= H rows: few passes over dW
    da = np.empty((K, B, H), dtype=x.dtype)                      # (K, B, H) dL/da_t for one chunk
    end = T
    while end > 0:
        start = max(0, end - K)                                  # this chunk: steps start .. end-1
        for t in range(end - 1, start - 1, -1):
            for b in range(B):
                dhb, dhn, dht_, hb, d = dh[t, b], dh_next[b], dh_total[t, b], h[t, b], da[t - start, b]
                for j in range(H):
                    dht = dhb[j] + dhn[j]                        # direct + through the future
                    dht = dht if abs(dht) >= tiny else zero      # flush subnormals
                    dht_[j] = dht
                    slope = (one if hb[j] > zero else zero) if relu else one - hb[j] * hb[j]
                    v = dht * slope                              # through the nonlinearity: dL/da_t
                    d[j] = v if abs(v) >= tiny else zero         # flush subnormals
            np.dot(da[t - start], w_hh, dh_next)                 # dL/dh_{t-1} through h_t
        _weight_grads(x, h0, h, da, start, end, w_ih, dx, dw_ih, dw_hh, db)
        end = start
    dh0 = dh_next                                                # past step 0: dL/dh0
    return dh0, dw_ih, dw_hh, db
