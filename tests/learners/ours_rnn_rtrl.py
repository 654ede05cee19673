"""A correct RTRL for the RNN, in the RTRL exercise's contract."""
import numpy as np


def rnn_rtrl_gradients(params, x, h0, dh):
    T, B, D = x.shape
    H = params["weight_hh"].shape[0]
    h_prev = np.zeros((B, H)) if h0 is None else h0
    W_ih, W_hh = params["weight_ih"], params["weight_hh"]
    M = {k: np.zeros((B, H, *v.shape)) for k, v in params.items()}
    N = np.broadcast_to(np.eye(H), (B, H, H)).copy()
    g = {k: np.zeros_like(v) for k, v in params.items()}
    g_h0 = np.zeros((B, H))
    eye = np.eye(H)
    for t in range(T):
        h = np.tanh(x[t] @ W_ih.T + params["bias_ih"] + h_prev @ W_hh.T + params["bias_hh"])
        d = 1 - h ** 2                                                     # (B, H)
        J = d[:, :, None] * W_hh[None]                                     # (B, H, H)
        Dm = d[:, :, None] * eye                                           # (B, H, H) diag(d)
        M["weight_ih"] = np.einsum("bij,bjkl->bikl", J, M["weight_ih"]) + Dm[:, :, :, None] * x[t][:, None, None, :]
        M["weight_hh"] = np.einsum("bij,bjkl->bikl", J, M["weight_hh"]) + Dm[:, :, :, None] * h_prev[:, None, None, :]
        M["bias_ih"] = np.einsum("bij,bjk->bik", J, M["bias_ih"]) + Dm
        M["bias_hh"] = np.einsum("bij,bjk->bik", J, M["bias_hh"]) + Dm
        N = J @ N
        for k in g:
            g[k] += np.einsum("bi,bi...->...", dh[t], M[k])
        g_h0 += np.einsum("bi,bij->bj", dh[t], N)
        h_prev = h
    return {"params": g, "h0": g_h0}
