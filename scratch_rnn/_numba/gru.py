"""Numba mirror of the GRU loops in `scratch_rnn.gru` (same names, same argument order, same
math in the same order). The reference stays the specification; tests/test_numba.py holds the
two together.

Differences from the reference, all exact rearrangements of the same sums (as in `rnn`):
* forward: x_t W_ih^T is one matrix product per chunk of time steps (`common._input_projection`),
  and the gates are activated for the whole batch at once, in place in the gates array;
* backward: dx_t, the weight-gradient sums and the bias sums are single products per chunk of time
  steps (`common`), with dL/dgi_t feeding W_ih and b_ih and dL/dgh_t feeding W_hh and b_hh;
* backward: every quantity carried through the recurrence (dL/dh_t, the gates' dL/da and dL/dgh_n)
  is flushed to zero below the smallest normal number, as in `rnn`;
* backward: the step's elementwise work is split into loops over few arrays each, as in `lstm`, so
  that LLVM vectorises them (float32: 14.4 -> 12.9 us a step at the study's size; same numbers).
"""
from __future__ import annotations

import numpy as np

from .activations import sigmoid_, tanh_
from .common import _bias_grads, _chunk_steps, _input_grads, _input_projection, _recurrent_grads, _recurrent_weight_T
from .flags import jit
from .entry import kernel_entry


@kernel_entry
def gru_forward_loop(x, h0, w_ih, w_hh, b_ih, b_hh):
    """The forward recurrence; returns (h, gates, gh_n)."""
    T, B, H = x.shape[0], x.shape[1], w_hh.shape[1]
    h, gh_n = np.empty((T, B, H), dtype=x.dtype), np.empty((T, B, H), dtype=x.dtype)  # NumPy allocates:
    gates = np.empty((T, 3, B, H), dtype=x.dtype)                                     # see common
    _gru_forward(x, h0, w_ih, _recurrent_weight_T(w_hh), b_ih, b_hh, h, gates, gh_n)
    return h, gates, gh_n


@jit
def _gru_forward(x, h0, w_ih, w_hh_T, b_ih, b_hh, h, gates, gh_n):
    T, B, D = x.shape
    H = w_hh_T.shape[0]
    K = _chunk_steps(B, 256)                                     # 256 rows: stays in cache
    xw = np.empty((K, B, 3 * H), dtype=x.dtype)                  # x_t W_ih^T for a chunk of steps
    hw = np.empty((B, 3 * H), dtype=x.dtype)                     # (B, 3H) h_{t-1} W_hh^T
    one = x.dtype.type(1)
    for t in range(T):
        if t % K == 0:                                           # x_t W_ih^T for the next K steps at once
            _input_projection(x, w_ih, t, min(T, t + K), xw)
        h_prev = h0 if t == 0 else h[t - 1]                      # (B, H) h_{t-1}
        np.dot(h_prev, w_hh_T, hw)
        g, zx, ghn = gates[t], xw[t % K], gh_n[t]                # (3, B, H) activated in place
        for b in range(B):
            for j in range(H):
                g[0, b, j] = (zx[b, j] + b_ih[j]) + (hw[b, j] + b_hh[j])                 # gi_r + gh_r
                g[1, b, j] = (zx[b, H + j] + b_ih[H + j]) + (hw[b, H + j] + b_hh[H + j])  # gi_z + gh_z
                ghn[b, j] = hw[b, 2 * H + j] + b_hh[2 * H + j]                            # gh_n
        gf = g.reshape(3, B * H)
        sigmoid_(gf[0])                                          # reset gate, in place
        sigmoid_(gf[1])                                          # update gate
        for b in range(B):
            for j in range(H):
                g[2, b, j] = (zx[b, 2 * H + j] + b_ih[2 * H + j]) + g[0, b, j] * ghn[b, j]  # gi_n + r gh_n
        tanh_(gf[2])                                             # candidate
        for b in range(B):
            hb, hp, z, n = h[t, b], h_prev[b], g[1, b], g[2, b]
            for j in range(H):
                hb[j] = (one - z[j]) * n[j] + z[j] * hp[j]       # h_t = (1 - z) n + z h_{t-1}


@kernel_entry
def gru_backward_loop(x, h0, h, gates, gh_n, dh, w_ih, w_hh):
    """BPTT; returns (dx, dh0, dh_total, dw_ih, dw_hh, db_ih, db_hh)."""
    dx, dh_total = np.empty_like(x), np.empty_like(h)            # NumPy allocates
    dh0, dw_ih, dw_hh, db_ih, db_hh = _gru_backward(x, h0, h, gates, gh_n, dh, w_ih, w_hh, dx, dh_total)
    return dx, dh0, dh_total, dw_ih, dw_hh, db_ih, db_hh


@jit
def _gru_backward(x, h0, h, gates, gh_n, dh, w_ih, w_hh, dx, dh_total):
    T, B, D = x.shape
    H = w_hh.shape[1]
    tiny = np.finfo(x.dtype).tiny                                # smallest normal number
    one, zero = x.dtype.type(1), x.dtype.type(0)                 # typed, so float32 stays float32
    dw_ih, dw_hh = np.zeros_like(w_ih), np.zeros_like(w_hh)      # (3H, D), (3H, H)
    db_ih, db_hh = np.zeros(3 * H, dtype=x.dtype), np.zeros(3 * H, dtype=x.dtype)
    dh_next = np.zeros((B, H), dtype=x.dtype)                    # (B, H) dL/dh_t through step t+1
    dh_z = np.empty((B, H), dtype=x.dtype)                       # (B, H) dL/dh_{t-1} through z_t h_{t-1}
    K = min(T, _chunk_steps(B, max(256, H)))                     # >= H rows: few passes over dW
    dgi = np.empty((K, B, 3 * H), dtype=x.dtype)                 # dL/dgi_t for one chunk
    dgh = np.empty((K, B, 3 * H), dtype=x.dtype)                 # dL/dgh_t for one chunk
    end = T
    while end > 0:
        start = max(0, end - K)                                  # this chunk: steps start .. end-1
        for t in range(end - 1, start - 1, -1):
            h_prev = h0 if t == 0 else h[t - 1]                  # (B, H) h_{t-1}
            zf, dhtf = gates[t, 1].reshape(B * H), dh_total[t].reshape(B * H)
            dhf, dhnf, dhzf = dh[t].reshape(B * H), dh_next.reshape(B * H), dh_z.reshape(B * H)
            for j in range(B * H):
                dht = dhf[j] + dhnf[j]                           # direct + through the future
                dhtf[j] = dht if abs(dht) >= tiny else zero      # flush subnormals
            for j in range(B * H):
                dhzf[j] = dhtf[j] * zf[j]                        # dL/dh_{t-1} through z_t h_{t-1}
            for b in range(B):                                   # one loop per gate, few arrays each
                r, z, n, ghn, hp = gates[t, 0, b], gates[t, 1, b], gates[t, 2, b], gh_n[t, b], h_prev[b]
                di, dg, dht_ = dgi[t - start, b], dgh[t - start, b], dh_total[t, b]  # (3H,), (3H,), (H,)
                dr_i, dz_i, dn_i = di[0:H], di[H:2 * H], di[2 * H:3 * H]
                dr_h, dz_h, dn_h = dg[0:H], dg[H:2 * H], dg[2 * H:3 * H]
                for j in range(H):
                    v = dht_[j] * (one - z[j]) * (one - n[j] * n[j])  # dL/da_n, through n_t and tanh
                    dn_i[j] = v if abs(v) >= tiny else zero
                for j in range(H):
                    v = dn_i[j] * ghn[j] * r[j] * (one - r[j])   # dL/da_r
                    v = v if abs(v) >= tiny else zero
                    dr_i[j], dr_h[j] = v, v
                for j in range(H):
                    v = dht_[j] * (hp[j] - n[j]) * z[j] * (one - z[j])  # dL/da_z
                    v = v if abs(v) >= tiny else zero
                    dz_i[j], dz_h[j] = v, v
                for j in range(H):
                    v = dn_i[j] * r[j]                           # dL/dgh_n, through the reset gate
                    dn_h[j] = v if abs(v) >= tiny else zero
            np.dot(dgh[t - start], w_hh, dh_next)                # dL/dh_{t-1} through gh_t
            for b in range(B):
                for j in range(H):
                    dh_next[b, j] += dh_z[b, j]                  # ... plus the direct path
        _bias_grads(dgi, start, end, db_ih)
        _bias_grads(dgh, start, end, db_hh)
        _input_grads(x, dgi, start, end, w_ih, dx, dw_ih)
        _recurrent_grads(h0, h, dgh, start, end, dw_hh)
        end = start
    dh0 = dh_next                                                # past step 0: dL/dh0
    return dh0, dw_ih, dw_hh, db_ih, db_hh
