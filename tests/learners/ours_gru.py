# template: gru
"""A correct GRU backward for the GRU exercise (its forward is the template's: b_hn inside the reset)."""
import numpy as np


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
