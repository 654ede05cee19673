"""Numba mirror of RTRL's influence step in `scratch_rnn.rtrl.exact`: for each sequence b,

    M_t[b] = J_t[b] M_{t-1}[b] + L_t[b] (x) v_t[b]          (S, K, V)

with J_t (S, S) the step's Jacobian, L_t (S, K) its local derivative (A_t for W_ih and b_ih, C_t for
W_hh and b_hh) and v_t (V,) what the parameter multiplies (x_t, h_{t-1}, or 1 for a bias). The product
J M is one matrix product per sequence over the flattened (K V) columns, where the reference's einsum
walks the indices in C; the rank-one term is added in the same loop order. The same sums, reordered:
tests/test_rtrl_exact.py holds the two together to 1e-12 (float64) and float32's tolerance.
"""
from __future__ import annotations

import numpy as np

from .flags import jit
from .entry import kernel_entry


@jit
def _carry(J, M, L, v):
    B, S, K, V = M.shape
    out = np.empty_like(M)
    for b in range(B):
        prod = np.dot(J[b], M[b].reshape(S, K * V)).reshape(S, K, V)   # J_t M_{t-1}: the one product
        for s in range(S):
            for k in range(K):
                lsk = L[b, s, k]
                for w in range(V):
                    prod[s, k, w] += lsk * v[b, w]                      # + L_t (x) v_t
        out[b] = prod
    return out


@kernel_entry
def carry(J: np.ndarray, M: np.ndarray, L: np.ndarray, v: np.ndarray | None) -> np.ndarray:
    """One influence step, J M + L (x) v, per sequence: J (B, S, S), M (B, S, K, V) or (B, S, K) for a
    bias (v None), L (B, S, K), v (B, V). Returns a new array of M's shape."""
    if v is None:                                                       # a bias: v = 1, V = 1
        ones = np.ones((M.shape[0], 1), M.dtype)
        return _carry(np.ascontiguousarray(J), np.ascontiguousarray(M[..., None]), np.ascontiguousarray(L), ones)[..., 0]
    return _carry(np.ascontiguousarray(J), np.ascontiguousarray(M), np.ascontiguousarray(L), np.ascontiguousarray(v))


@jit
def _unit_traces_rnn(W_ih, W_hh, bias, x, h0, dh, relu, own):
    T, B, D = x.shape
    H = W_hh.shape[0]
    g_ih = np.zeros((H, D), x.dtype)
    g_hh = np.zeros((H, H), x.dtype)
    g_b = np.zeros(H, x.dtype)
    for b in range(B):
        m_ih = np.zeros((H, D), x.dtype)                                # d h_j / d W_ih[j, :], unit j's own
        m_hh = np.zeros((H, H), x.dtype)
        m_b = np.zeros(H, x.dtype)
        h = h0[b].copy()
        for t in range(T):
            a = np.dot(W_ih, x[t, b]) + np.dot(W_hh, h) + bias          # pre-activation (H,)
            h_new = np.empty(H, x.dtype)
            for j in range(H):
                if relu:
                    h_new[j] = max(a[j], 0.0)
                    d = 1.0 if a[j] > 0 else 0.0
                else:
                    h_new[j] = np.tanh(a[j])
                    d = 1.0 - h_new[j] * h_new[j]
                jd = d * W_hh[j, j] if own else 0.0                     # the unit's own Jacobian entry (SnAp-1)
                g = dh[t, b, j]
                for l in range(D):
                    m_ih[j, l] = jd * m_ih[j, l] + d * x[t, b, l]
                    g_ih[j, l] += g * m_ih[j, l]
                for l in range(H):
                    m_hh[j, l] = jd * m_hh[j, l] + d * h[l]
                    g_hh[j, l] += g * m_hh[j, l]
                m_b[j] = jd * m_b[j] + d
                g_b[j] += g * m_b[j]
            h = h_new
    return g_ih, g_hh, g_b


@kernel_entry
def unit_traces_rnn(p: dict, x: np.ndarray, h0: np.ndarray, dh: np.ndarray, relu: bool, own: bool) -> dict:
    """SnAp-1 (`own`: each unit's trace carried through W_hh[j, j]) or e-prop (not) for the vanilla RNN,
    compiled: the loops of `scratch_rnn.rtrl.approx._unit_traces` for one unit's own entries, sequence by
    sequence. Returns the summed parameter gradients under PyTorch's names."""
    c = np.ascontiguousarray
    g_ih, g_hh, g_b = _unit_traces_rnn(c(p["weight_ih"]), c(p["weight_hh"]), c(p["bias_ih"] + p["bias_hh"]), c(x),
                                       c(h0), c(dh), relu, own)
    return {"weight_ih": g_ih, "weight_hh": g_hh, "bias_ih": g_b, "bias_hh": g_b.copy()}
