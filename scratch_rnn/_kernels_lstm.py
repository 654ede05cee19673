"""Numba mirror of the LSTM loops in `scratch_rnn.lstm` (same names, same argument order, same
math in the same order). The reference stays the specification; tests/test_numba.py holds the
two together.

Differences from the reference, all exact rearrangements of the same sums (as in
`_kernels_rnn`):
* forward: x_t W_ih^T is one matrix product per chunk of time steps, written straight into the
  gates array, which the loop then turns into activated gates in place;
* backward: dx_t and the weight-gradient products are done per chunk of time steps as single
  matrix products (`_kernels_rnn._weight_grads`);
* backward: gradients below the smallest normal number of the dtype are flushed to zero (see
  `_kernels_rnn`).
"""
from __future__ import annotations

import numpy as np

from ._jit import jit
from ._kernels_rnn import _chunk_steps, _input_projection, _weight_grads
from ._numba_math import sigmoid_, tanh_


def lstm_forward_loop(x, h0, c0, w_ih, w_hh, b_ih, b_hh):
    """The forward recurrence; returns (h, c, gates, tanh_c)."""
    T, B, H = *x.shape[:2], w_hh.shape[1]
    h, c, tanh_c = (np.empty((T, B, H), dtype=x.dtype) for _ in range(3))  # NumPy allocates: see
    gates = np.empty((T, B, 4 * H), dtype=x.dtype)              # _kernels_rnn._alloc_note
    _lstm_forward(x, h0, c0, w_ih, w_hh, b_ih, b_hh, h, c, gates, tanh_c)
    return h, c, gates, tanh_c


@jit
def _lstm_forward(x, h0, c0, w_ih, w_hh, b_ih, b_hh, h, c, gates, tanh_c):
    """gates receives x_t W_ih^T first, then the activated i, f, g, o."""
    T, B, D = x.shape
    H = w_hh.shape[1]
    w_ih_T = np.ascontiguousarray(w_ih.T)                        # (D, 4H)
    w_hh_T = np.ascontiguousarray(w_hh.T)                        # (H, 4H)
    hw = np.empty((B, 4 * H), dtype=x.dtype)                     # (B, 4H) h_{t-1} W_hh^T
    K = _chunk_steps(B)
    for t in range(T):
        if t % K == 0:                                           # x_t W_ih^T for the next K steps at once
            _input_projection(x, w_ih_T, gates, t, min(T, t + K))
        h_prev = h0 if t == 0 else h[t - 1]                      # (B, H) h_{t-1}
        c_prev = c0 if t == 0 else c[t - 1]                      # (B, H) c_{t-1}
        np.dot(h_prev, w_hh_T, hw)
        for b in range(B):
            z, hwb = gates[t, b], hw[b]                          # (4H,) x_t W_ih^T, becomes i, f, g, o
            for j in range(4 * H):
                z[j] = z[j] + b_ih[j] + hwb[j] + b_hh[j]         # pre-activations z_t
            i, f, g, o = z[0:H], z[H:2 * H], z[2 * H:3 * H], z[3 * H:4 * H]
            sigmoid_(z[0:2 * H])                                 # input and forget gates, in place
            tanh_(g)                                             # candidate
            sigmoid_(o)                                          # output gate
            cb, tcb, hb, cp = c[t, b], tanh_c[t, b], h[t, b], c_prev[b]
            for j in range(H):
                cb[j] = f[j] * cp[j] + i[j] * g[j]               # c_t = f c_{t-1} + i g
                tcb[j] = cb[j]
            tanh_(tcb)                                           # tanh(c_t), in place
            for j in range(H):
                hb[j] = o[j] * tcb[j]                            # h_t = o tanh(c_t)


def lstm_backward_loop(x, h0, c0, h, c, gates, tanh_c, dh, dc_last, w_ih, w_hh):
    """BPTT; returns (dx, dh0, dc0, dh_total, dc_total, dw_ih, dw_hh, db)."""
    dx, dh_total, dc_total = np.empty_like(x), np.empty_like(h), np.empty_like(c)  # NumPy allocates
    dh0, dc0, dw_ih, dw_hh, db = _lstm_backward(x, h0, c0, h, c, gates, tanh_c, dh, dc_last, w_ih, w_hh,
                                                dx, dh_total, dc_total)
    return dx, dh0, dc0, dh_total, dc_total, dw_ih, dw_hh, db


@jit
def _lstm_backward(x, h0, c0, h, c, gates, tanh_c, dh, dc_last, w_ih, w_hh, dx, dh_total, dc_total):
    T, B, D = x.shape
    H = w_hh.shape[1]
    tiny = np.finfo(x.dtype).tiny                                # smallest normal number
    one, zero = x.dtype.type(1), x.dtype.type(0)                 # typed, so float32 stays float32
    dw_ih = np.zeros_like(w_ih)                                  # (4H, D)
    dw_hh = np.zeros_like(w_hh)                                  # (4H, H)
    db = np.zeros(4 * H, dtype=x.dtype)                          # (4H,)
    dh_next = np.zeros((B, H), dtype=x.dtype)                    # (B, H) dL/dh_t through step t+1
    dc_next = dc_last.copy()                                     # (B, H) dL/dc_t through c_{t+1}
    K = min(T, _chunk_steps(B))
    dz = np.empty((K, B, 4 * H), dtype=x.dtype)                  # (K, B, 4H) dL/dz_t for one chunk
    end = T
    while end > 0:
        start = max(0, end - K)                                  # this chunk: steps start .. end-1
        for t in range(end - 1, start - 1, -1):
            c_prev = c0 if t == 0 else c[t - 1]                  # (B, H) c_{t-1}
            for b in range(B):
                gt, d = gates[t, b], dz[t - start, b]            # (4H,) i, f, g, o and dL/dz_t
                i, f, g, o = gt[0:H], gt[H:2 * H], gt[2 * H:3 * H], gt[3 * H:4 * H]
                di, df, dg, do = d[0:H], d[H:2 * H], d[2 * H:3 * H], d[3 * H:4 * H]
                tc, cp, dhb, dhn = tanh_c[t, b], c_prev[b], dh[t, b], dh_next[b]
                dht_, dct_, dcn = dh_total[t, b], dc_total[t, b], dc_next[b]
                for j in range(H):
                    dht = dhb[j] + dhn[j]                        # direct + through the future
                    dht = dht if abs(dht) >= tiny else zero      # flush subnormals
                    dht_[j] = dht
                    dct = dcn[j] + dht * o[j] * (one - tc[j] * tc[j])  # via c_{t+1} and h_t
                    dct = dct if abs(dct) >= tiny else zero      # flush subnormals
                    dct_[j] = dct
                    di[j] = dct * g[j] * i[j] * (one - i[j])     # dL/dz_i
                    df[j] = dct * cp[j] * f[j] * (one - f[j])    # dL/dz_f
                    dg[j] = dct * i[j] * (one - g[j] * g[j])     # dL/dz_g
                    v = dht * tc[j] * o[j] * (one - o[j])        # dL/dz_o
                    do[j] = v if abs(v) >= tiny else zero        # flush subnormals
                    dcn[j] = dct * f[j]                          # dL/dc_{t-1} through c_t
            np.dot(dz[t - start], w_hh, dh_next)                 # dL/dh_{t-1} through z_t
        _weight_grads(x, h0, h, dz, start, end, w_ih, dx, dw_ih, dw_hh, db)
        end = start
    return dh_next, dc_next, dw_ih, dw_hh, db
