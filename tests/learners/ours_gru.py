"""A correct GRU in scratch_rnn's contract: time-major, PyTorch's names, gates r, z, n, b_hn inside the reset."""
import numpy as np


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def gru_forward(params, x, h0=None):
    T, B, D = x.shape
    H = params["weight_hh"].shape[1]
    h0 = np.zeros((B, H)) if h0 is None else h0
    h, saved = np.zeros((T, B, H)), []
    h_prev = h0
    for t in range(T):
        gi = x[t] @ params["weight_ih"].T + params["bias_ih"]
        gh = h_prev @ params["weight_hh"].T + params["bias_hh"]
        r = sigmoid(gi[:, :H] + gh[:, :H])
        z = sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
        n = np.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
        h[t] = (1 - z) * n + z * h_prev
        saved.append((r, z, n, gh[:, 2 * H:]))
        h_prev = h[t]
    return h, (params, x, h0, h, saved)


def gru_backward(cache, dh):
    params, x, h0, h, saved = cache
    T, B, H = h.shape
    g = {k: np.zeros_like(v) for k, v in params.items()}
    dx, dh_total = np.zeros_like(x), np.zeros_like(h)
    dh_next = np.zeros((B, H))
    for t in reversed(range(T)):
        r, z, n, gh_n = saved[t]
        h_prev = h[t - 1] if t > 0 else h0
        dh_total[t] = dh[t] + dh_next
        dn = dh_total[t] * (1 - z)
        dz = dh_total[t] * (h_prev - n)
        da_n = dn * (1 - n ** 2)
        da_r = da_n * gh_n * r * (1 - r)
        da_z = dz * z * (1 - z)
        dgi = np.concatenate([da_r, da_z, da_n], axis=1)
        dgh = np.concatenate([da_r, da_z, da_n * r], axis=1)
        g["weight_ih"] += dgi.T @ x[t]
        g["weight_hh"] += dgh.T @ h_prev
        g["bias_ih"] += dgi.sum(axis=0)
        g["bias_hh"] += dgh.sum(axis=0)
        dx[t] = dgi @ params["weight_ih"]
        dh_next = dgh @ params["weight_hh"] + dh_total[t] * z
    return {"params": g, "x": dx, "h0": dh_next, "h": dh_total}
