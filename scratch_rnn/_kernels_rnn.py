"""Numba mirror of the RNN loops in `scratch_rnn.rnn` (same names, same argument order, same
math in the same order). Where the fast formulation differs, a comment says so; the NumPy
reference stays the specification and tests/test_numba.py holds the two together.

Differences from the reference, all exact rearrangements of the same sums:
* forward: x_t W_ih^T is one matrix product per chunk of time steps (`_input_projection`);
* backward: the weight-gradient products sum_t da_t^T x_t, sum_t da_t^T h_{t-1} and dx_t = da_t W_ih
  are done per chunk of time steps as single matrix products (see `_chunk_steps`);
* backward: gradients below the smallest normal number of the dtype are flushed to zero
  (subnormal arithmetic is 10-100x slower on x86; the reference keeps them, so the two differ
  by less than 1.2e-38 in float32 and 2.3e-308 in float64, per element).

The public loops are thin Python functions that allocate the (T, ...) arrays with NumPy and hand
them to the compiled kernels (`_alloc_note`).
"""
from __future__ import annotations

import numpy as np

from ._jit import jit
from ._numba_math import tanh_


_alloc_note = """Why NumPy, not Numba, allocates the large arrays: NumPy asks the kernel for transparent huge
pages on large allocations; Numba's allocator does not, and first-touching 100 MB in 4 KiB pages
doubled the time of a T=1000 LSTM forward pass (measured; see benchmarks/)."""


@jit
def _chunk_steps(B, rows):
    """Time steps per chunk of the input or weight-gradient products: about `rows` rows
    (steps x batch) per matrix product."""
    return max(1, rows // B)


def rnn_forward_loop(x, h0, w_ih, w_hh, b_ih, b_hh):
    """The forward recurrence; returns h (T, B, H)."""
    h = np.empty((*x.shape[:2], w_hh.shape[1]), dtype=x.dtype)  # NumPy allocates: see _alloc_note
    _rnn_forward(x, h0, w_ih, _recurrent_weight_T(w_hh), b_ih, b_hh, h)
    return h


@jit
def _rnn_forward(x, h0, w_ih, w_hh_T, b_ih, b_hh, h):
    T, B, D = x.shape
    H = w_hh_T.shape[0]
    hw = np.empty((B, H), dtype=x.dtype)                         # (B, H) h_{t-1} W_hh^T
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
            tanh_(a)                                             # h_t = tanh(a_t), in place


def _recurrent_weight_T(w_hh):
    """W_hh^T for the per-step product h_{t-1} W_hh^T. BLAS runs that product faster on a
    contiguous copy than on the strided view w_hh.T, and the copy costs less than it saves when
    H <= 256 (measured, 100 steps, B = 32: 0.54 ms vs 0.85 ms at H = 64); at H = 1024 the copy
    would cost twice what it saves, so the view is used."""
    return np.ascontiguousarray(w_hh.T) if w_hh.shape[1] <= 256 else w_hh.T


@jit
def _input_projection(x, w_ih, start, end, out):
    """out[k] = x_t W_ih^T for t = start + k < end, as one matrix product. Done a chunk at a time
    just before the steps that use it, so the chunk is still in cache when they read it.
    Shared by the LSTM kernels."""
    n, B, D = end - start, x.shape[1], x.shape[2]
    np.dot(x[start:end].reshape(n * B, D), w_ih.T, out[:n].reshape(n * B, out.shape[2]))


def rnn_backward_loop(x, h0, h, dh, w_ih, w_hh):
    """BPTT; returns (dx, dh0, dh_total, dw_ih, dw_hh, db)."""
    dx, dh_total = np.empty_like(x), np.empty_like(h)            # NumPy allocates: see _alloc_note
    dh0, dw_ih, dw_hh, db = _rnn_backward(x, h0, h, dh, w_ih, w_hh, dx, dh_total)
    return dx, dh0, dh_total, dw_ih, dw_hh, db


@jit
def _rnn_backward(x, h0, h, dh, w_ih, w_hh, dx, dh_total):
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
                    v = dht * (one - hb[j] * hb[j])              # through tanh: dL/da_t
                    d[j] = v if abs(v) >= tiny else zero         # flush subnormals
            np.dot(da[t - start], w_hh, dh_next)                 # dL/dh_{t-1} through h_t
        _weight_grads(x, h0, h, da, start, end, w_ih, dx, dw_ih, dw_hh, db)
        end = start
    return dh_next, dw_ih, dw_hh, db


@jit
def _weight_grads(x, h0, h, dz, start, end, w_ih, dx, dw_ih, dw_hh, db):
    """For steps start..end-1 at once: dx_t = dz_t W_ih, dW_ih += sum dz_t^T x_t,
    dW_hh += sum dz_t^T h_{t-1}, db += sum dz_t. dz[k] belongs to step start + k.
    Shared by the LSTM kernels (dz has G = 4H columns there)."""
    n = end - start
    B, G = dz.shape[1], dz.shape[2]
    D = x.shape[2]
    H = h.shape[2]
    rows = dz[:n].reshape(n * B, G)                              # (n*B, G) one row per (t, b)
    for r in range(n * B):
        row = rows[r]
        for j in range(G):
            db[j] += row[j]                                      # sum over t and b
    np.dot(rows, w_ih, dx[start:end].reshape(n * B, D))          # dx_t = dz_t W_ih
    dw_ih += np.dot(rows.T, x[start:end].reshape(n * B, D))      # (G, D)
    if start == 0:                                               # step 0 reads h0
        dw_hh += np.dot(dz[0].T, h0)
        if n > 1:
            dw_hh += np.dot(dz[1:n].reshape((n - 1) * B, G).T, h[0:end - 1].reshape((n - 1) * B, H))
    else:
        dw_hh += np.dot(rows.T, h[start - 1:end - 1].reshape(n * B, H))
