"""Matrix products that the kernels of every cell share: the input projection a chunk of steps
at a time, the weight-gradient sums a chunk at a time, and the layout of W_hh for the per-step
product. Each is an exact rearrangement of the sums that the NumPy reference writes step by step.

Why NumPy, not Numba, allocates the large (T, ...) arrays that the kernels fill: NumPy asks the
kernel for transparent huge pages on large allocations; Numba's allocator does not, and
first-touching 100 MB in 4 KiB pages doubled the time of a T = 1000 LSTM forward pass (measured).
"""
from __future__ import annotations

import numpy as np

from .flags import jit


@jit
def _chunk_steps(B, rows):
    """Time steps per chunk of the input or weight-gradient products: about `rows` rows
    (steps x batch) per matrix product."""
    return max(1, rows // B)


def _recurrent_weight_T(w_hh):
    """W_hh^T for the per-step product h_{t-1} W_hh^T. BLAS runs that product faster on a
    contiguous copy than on the strided view w_hh.T, and the copy costs less than it saves when
    H <= 256 (measured, 100 steps, B = 32: 0.54 ms vs 0.85 ms at H = 64); at H = 1024 the copy
    would cost twice what it saves, so the view is used."""
    return np.ascontiguousarray(w_hh.T) if w_hh.shape[1] <= 256 else w_hh.T


@jit
def _input_projection(x, w_ih, start, end, out):
    """out[k] = x_t W_ih^T for t = start + k < end, as one matrix product. Done a chunk at a time
    just before the steps that use it, so the chunk is still in cache when they read it."""
    n, B, D = end - start, x.shape[1], x.shape[2]
    np.dot(x[start:end].reshape(n * B, D), w_ih.T, out[:n].reshape(n * B, out.shape[2]))


@jit
def _weight_grads(x, h0, h, da, start, end, w_ih, dx, dw_ih, dw_hh, db):
    """For steps start..end-1 at once: dx_t = da_t W_ih, dW_ih += sum da_t^T x_t,
    dW_hh += sum da_t^T h_{t-1}, db += sum da_t (the RNN and the LSTM: one da feeds both
    products and both biases; the GRU, whose two biases differ, calls the pieces itself). da[k] belongs to step start + k."""
    _bias_grads(da, start, end, db)
    _input_grads(x, da, start, end, w_ih, dx, dw_ih)
    _recurrent_grads(h0, h, da, start, end, dw_hh)


@jit
def _bias_grads(da, start, end, db):
    """db += sum over steps start..end-1 and the batch of da."""
    n, B, G = end - start, da.shape[1], da.shape[2]
    rows = da[:n].reshape(n * B, G)                              # (n*B, G) one row per (t, b)
    for r in range(n * B):
        row = rows[r]
        for j in range(G):
            db[j] += row[j]


@jit
def _input_grads(x, da, start, end, w_ih, dx, dw_ih):
    """dx_t = da_t W_ih and dW_ih += sum da_t^T x_t for steps start..end-1, as single products."""
    n, B, G, D = end - start, da.shape[1], da.shape[2], x.shape[2]
    rows = da[:n].reshape(n * B, G)
    np.dot(rows, w_ih, dx[start:end].reshape(n * B, D))          # dx_t = da_t W_ih
    dw_ih += np.dot(rows.T, x[start:end].reshape(n * B, D))      # (G, D)


@jit
def _recurrent_grads(h0, h, da, start, end, dw_hh):
    """dW_hh += sum da_t^T h_{t-1} for steps start..end-1, as single products (step 0 reads h0)."""
    n, B, G, H = end - start, da.shape[1], da.shape[2], h.shape[2]
    if start == 0:
        dw_hh += np.dot(da[0].T, h0)
        if n > 1:
            dw_hh += np.dot(da[1:n].reshape((n - 1) * B, G).T, h[0:end - 1].reshape((n - 1) * B, H))
    else:
        dw_hh += np.dot(da[:n].reshape(n * B, G).T, h[start - 1:end - 1].reshape(n * B, H))
