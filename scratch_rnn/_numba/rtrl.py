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
