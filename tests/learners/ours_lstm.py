"""A correct LSTM in scratch_rnn's contract: time-major, PyTorch's names, gates i, f, g, o."""
import numpy as np


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def lstm_forward(params, x, h0=None, c0=None):
    T, B, D = x.shape
    H = params["weight_hh"].shape[1]
    h0 = np.zeros((B, H)) if h0 is None else h0
    c0 = np.zeros((B, H)) if c0 is None else c0
    h, c, gates = np.zeros((T, B, H)), np.zeros((T, B, H)), []
    h_prev, c_prev = h0, c0
    for t in range(T):
        a = x[t] @ params["weight_ih"].T + params["bias_ih"] + h_prev @ params["weight_hh"].T + params["bias_hh"]
        i, f, g, o = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), np.tanh(a[:, 2 * H:3 * H]), sigmoid(a[:, 3 * H:])
        c[t] = f * c_prev + i * g
        h[t] = o * np.tanh(c[t])
        gates.append((i, f, g, o))
        h_prev, c_prev = h[t], c[t]
    return h, c, (params, x, h0, c0, h, c, gates)


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
