# template: lstm
"""A correct LSTM backward for the LSTM exercise (its forward is the template's: gates i, f, g, o)."""
import numpy as np


def lstm_backward(cache, dh, dc_last=None):
    params, x, h0, c0, h, c, gates = cache
    T, B, H = h.shape
    g = {k: np.zeros_like(v) for k, v in params.items()}
    dx, dh_total = np.zeros_like(x), np.zeros_like(h)
    dh_next = np.zeros((B, H))
    dc_next = np.zeros((B, H)) if dc_last is None else dc_last
    for t in reversed(range(T)):
        i, f, gg, o = gates[t]
        h_prev = h[t - 1] if t > 0 else h0
        c_prev = c[t - 1] if t > 0 else c0
        tc = np.tanh(c[t])
        dh_total[t] = dh[t] + dh_next
        dc = dc_next + dh_total[t] * o * (1 - tc ** 2)
        da = np.concatenate([dc * gg * i * (1 - i), dc * c_prev * f * (1 - f), dc * i * (1 - gg ** 2),
                             dh_total[t] * tc * o * (1 - o)], axis=1)
        g["weight_ih"] += da.T @ x[t]
        g["weight_hh"] += da.T @ h_prev
        g["bias_ih"] += da.sum(axis=0)
        g["bias_hh"] += da.sum(axis=0)
        dx[t] = da @ params["weight_ih"]
        dh_next = da @ params["weight_hh"]
        dc_next = dc * f
    return {"params": g, "x": dx, "h0": dh_next, "c0": dc_next, "h": dh_total}
