"""Numba mirror of the LSTM loops in `scratch_rnn.lstm` (same names, same argument order, same
math in the same order). The reference stays the specification; tests/test_numba.py holds the
two together.

Differences from the reference, all exact rearrangements of the same sums (as in `rnn`):
* forward: x_t W_ih^T is one matrix product per chunk of time steps (`common._input_projection`),
  and each gate is activated for the whole batch at once, in place in the gates array;
* backward: dx_t and the weight-gradient sums are single matrix products per chunk of time steps
  (`common._weight_grads`);
* backward: every quantity carried through the recurrence (dL/dh_t, dL/dc_t, the four dL/da_t
  and dL/dc_{t-1} through c_t) is flushed to zero below the smallest normal number, as in `rnn`;
* with a projection, dW_hr = sum_t dh_total[t]^T m_t is one matrix product after the loop;
* backward: the step's elementwise work is split into loops that each touch few arrays (dL/dc_t and
  dL/dc_{t-1} over the whole batch, then one loop per gate): LLVM vectorises a loop only when it can
  check at run time that its arrays do not overlap, and gives up past a handful of them, so the one
  fused loop over eleven arrays ran scalar (7.5 us a step at the study's size in float32, 3.5 us split;
  the same operations in the same order, so the same numbers).

Without a projection the kernels get an empty (0, 0) ``w_hr``, so one compiled kernel serves both.
"""
from __future__ import annotations

import numpy as np

from .activations import sigmoid_, tanh_
from .common import _chunk_steps, _input_projection, _recurrent_weight_T, _weight_grads
from .flags import jit
from .entry import kernel_entry


def _projection(w_hr, dtype):
    """w_hr, or the empty (0, 0) array that stands for no projection."""
    return np.zeros((0, 0), dtype=dtype) if w_hr is None else w_hr


@kernel_entry
def lstm_forward_loop(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr=None):
    """The forward recurrence; returns (h, c, gates, tanh_c)."""
    T, B, H, P = x.shape[0], x.shape[1], w_hh.shape[0] // 4, w_hh.shape[1]
    h = np.empty((T, B, P), dtype=x.dtype)                       # NumPy allocates: see common
    c, tanh_c = (np.empty((T, B, H), dtype=x.dtype) for _ in range(2))
    gates = np.empty((T, 4, B, H), dtype=x.dtype)
    w_hr_T = np.ascontiguousarray(_projection(w_hr, x.dtype).T)  # (H, P) for m_t W_hr^T
    _lstm_forward(x, h0, c0, w_ih, _recurrent_weight_T(w_hh), b_ih, b_hh, w_hr_T, h, c, gates, tanh_c)
    return h, c, gates, tanh_c


@jit
def _lstm_forward(x, h0, c0, w_ih, w_hh_T, b_ih, b_hh, w_hr_T, h, c, gates, tanh_c):
    T, B, D = x.shape
    H = w_hh_T.shape[1] // 4
    proj = w_hr_T.shape[0] > 0                                   # h_t = m_t W_hr^T, else h_t = m_t
    m = np.empty((B, H), dtype=x.dtype)                          # (B, H) o_t tanh(c_t) when projected
    K = _chunk_steps(B, 256)                                     # 256 rows: stays in cache
    xw = np.empty((K, B, 4 * H), dtype=x.dtype)                  # x_t W_ih^T for a chunk of steps
    hw = np.empty((B, 4 * H), dtype=x.dtype)                     # (B, 4H) h_{t-1} W_hh^T
    for t in range(T):
        if t % K == 0:                                           # x_t W_ih^T for the next K steps at once
            _input_projection(x, w_ih, t, min(T, t + K), xw)
        h_prev = h0 if t == 0 else h[t - 1]                      # (B, H) h_{t-1}
        c_prev = c0 if t == 0 else c[t - 1]                      # (B, H) c_{t-1}
        np.dot(h_prev, w_hh_T, hw)
        a, ax = gates[t], xw[t % K]                              # (4, B, H) a_t, activated in place
        for q in range(4):
            bi, bh = b_ih[q * H:(q + 1) * H], b_hh[q * H:(q + 1) * H]
            for b in range(B):
                aq, axb, hwb = a[q, b], ax[b, q * H:(q + 1) * H], hw[b, q * H:(q + 1) * H]
                for j in range(H):
                    aq[j] = axb[j] + bi[j] + hwb[j] + bh[j]      # pre-activations a_t
        af = a.reshape(4, B * H)                                 # each gate of the whole batch, flat
        sigmoid_(af[0])                                          # input gate, in place
        sigmoid_(af[1])                                          # forget gate
        tanh_(af[2])                                             # candidate
        sigmoid_(af[3])                                          # output gate
        i, f, g, o = af[0], af[1], af[2], af[3]
        mt = m if proj else h[t]                                 # where o_t tanh(c_t) goes
        cf, tcf, mf, cpf = c[t].reshape(B * H), tanh_c[t].reshape(B * H), mt.reshape(B * H), c_prev.reshape(B * H)
        for j in range(B * H):
            cf[j] = f[j] * cpf[j] + i[j] * g[j]                  # c_t = f c_{t-1} + i g
            tcf[j] = cf[j]
        tanh_(tcf)                                               # tanh(c_t), in place
        for j in range(B * H):
            mf[j] = o[j] * tcf[j]                                # m_t = o tanh(c_t)
        if proj:
            np.dot(m, w_hr_T, h[t])                              # h_t = m_t W_hr^T


@kernel_entry
def lstm_backward_loop(x, h0, c0, h, c, gates, tanh_c, dh, dc_last, w_ih, w_hh, w_hr=None):
    """BPTT; returns (dx, dh0, dc0, dh_total, dc_total, dw_ih, dw_hh, db, dw_hr)."""
    dx, dh_total, dc_total = np.empty_like(x), np.empty_like(h), np.empty_like(c)  # NumPy allocates
    dh0, dc0, dw_ih, dw_hh, db = _lstm_backward(x, h0, c0, h, c, gates, tanh_c, dh, dc_last, w_ih, w_hh,
                                                _projection(w_hr, x.dtype), dx, dh_total, dc_total)
    dw_hr = None
    if w_hr is not None:                                         # sum_t dh_total[t]^T m_t, one product
        T, B, P = h.shape
        m = gates[:, 3] * tanh_c                                 # (T, B, H) o_t tanh(c_t)
        dw_hr = dh_total.reshape(T * B, P).T @ m.reshape(T * B, -1)
    return dx, dh0, dc0, dh_total, dc_total, dw_ih, dw_hh, db, dw_hr


@jit
def _lstm_backward(x, h0, c0, h, c, gates, tanh_c, dh, dc_last, w_ih, w_hh, w_hr, dx, dh_total, dc_total):
    T, B, D = x.shape
    H, P = w_hh.shape[0] // 4, w_hh.shape[1]                     # P = H without a projection
    proj = w_hr.shape[0] > 0
    tiny = np.finfo(x.dtype).tiny                                # smallest normal number
    one, zero = x.dtype.type(1), x.dtype.type(0)                 # typed, so float32 stays float32
    dw_ih = np.zeros_like(w_ih)                                  # (4H, D)
    dw_hh = np.zeros_like(w_hh)                                  # (4H, P)
    db = np.zeros(4 * H, dtype=x.dtype)                          # (4H,)
    dh_next = np.zeros((B, P), dtype=x.dtype)                    # (B, P) dL/dh_t through step t+1
    dm = np.empty((B, H), dtype=x.dtype)                         # (B, H) dL/dm_t when projected
    dc_next = dc_last.copy()                                     # (B, H) dL/dc_t through c_{t+1}
    K = min(T, _chunk_steps(B, max(256, H)))                     # >= H rows: few passes over dW
    da = np.empty((K, B, 4 * H), dtype=x.dtype)                  # (K, B, 4H) dL/da_t for one chunk
    end = T
    while end > 0:
        start = max(0, end - K)                                  # this chunk: steps start .. end-1
        for t in range(end - 1, start - 1, -1):
            c_prev = c0 if t == 0 else c[t - 1]                  # (B, H) c_{t-1}
            gt = gates[t]                                        # (4, B, H) i, f, g, o
            dht_, dhf, dhn = dh_total[t].reshape(B * P), dh[t].reshape(B * P), dh_next.reshape(B * P)
            for j in range(B * P):
                dht = dhf[j] + dhn[j]                            # direct + through the future
                dht_[j] = dht if abs(dht) >= tiny else zero      # flush subnormals
            if proj:
                np.dot(dh_total[t], w_hr, dm)                    # dL/dm_t = dL/dh_t W_hr
            dmt = dm if proj else dh_total[t]                    # (B, H) dL/dm_t, m_t = o_t tanh(c_t)
            gf = gt.reshape(4, B * H)                            # i, f, g, o of the whole batch, flat
            tcf, dmf, of, ff = tanh_c[t].reshape(B * H), dmt.reshape(B * H), gf[3], gf[1]
            dctf, dcnf = dc_total[t].reshape(B * H), dc_next.reshape(B * H)
            for j in range(B * H):
                dct = dcnf[j] + dmf[j] * of[j] * (one - tcf[j] * tcf[j])  # via c_{t+1} and h_t
                dctf[j] = dct if abs(dct) >= tiny else zero      # flush subnormals
            for j in range(B * H):
                v = dctf[j] * ff[j]                              # dL/dc_{t-1} through c_t
                dcnf[j] = v if abs(v) >= tiny else zero
            for b in range(B):                                   # one loop per gate: few arrays per
                i, f, g, o = gt[0, b], gt[1, b], gt[2, b], gt[3, b]  # loop, so LLVM vectorises each
                d = da[t - start, b]                             # (4H,) dL/da_t
                di, df, dg, do = d[0:H], d[H:2 * H], d[2 * H:3 * H], d[3 * H:4 * H]
                tc, cp, dmb, dct_ = tanh_c[t, b], c_prev[b], dmt[b], dc_total[t, b]
                for j in range(H):
                    v = dct_[j] * g[j] * i[j] * (one - i[j])     # dL/da_i
                    di[j] = v if abs(v) >= tiny else zero        # flush subnormals
                for j in range(H):
                    v = dct_[j] * cp[j] * f[j] * (one - f[j])    # dL/da_f
                    df[j] = v if abs(v) >= tiny else zero
                for j in range(H):
                    v = dct_[j] * i[j] * (one - g[j] * g[j])     # dL/da_g
                    dg[j] = v if abs(v) >= tiny else zero
                for j in range(H):
                    v = dmb[j] * tc[j] * o[j] * (one - o[j])     # dL/da_o
                    do[j] = v if abs(v) >= tiny else zero
            np.dot(da[t - start], w_hh, dh_next)                 # dL/dh_{t-1} through a_t
        _weight_grads(x, h0, h, da, start, end, w_ih, dx, dw_ih, dw_hh, db)
        end = start
    dh0, dc0 = dh_next, dc_next                                  # past step 0: dL/dh0, dL/dc0
    return dh0, dc0, dw_ih, dw_hh, db
