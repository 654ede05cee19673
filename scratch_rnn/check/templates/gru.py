"""Exercise: backpropagation through time for the GRU, exactly as ``nn.GRU`` defines it.

The forward pass is given. Write `gru_backward`; then run ``scratch-rnn check THIS_FILE``.

Shapes: T steps, B batch, D inputs, H hidden units. Parameters as ``nn.GRU``'s, gates in the order
r, z, n: weight_ih (3H, D), weight_hh (3H, H), bias_ih (3H,), bias_hh (3H,).

    gi_t = x_t W_ih^T + b_ih        gh_t = h_{t-1} W_hh^T + b_hh                 (B, 3H)
    r = sigmoid(gi_r + gh_r)        z = sigmoid(gi_z + gh_z)
    n = tanh(gi_n + r * gh_n)       (the reset multiplies h_{t-1} W_hn^T + b_hn, bias included)
    h_t = (1 - z) * n + z * h_{t-1}                                              (h_{-1} = h0)
"""
import numpy as np


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def gru_forward(params, x, h0=None):
    """x (T, B, D), h0 (B, H) or None (zeros) -> h (T, B, H) and the cache for `gru_backward`."""
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
    """dh (T, B, H): what the loss sends directly into each h_t. Return a dict:

        {"params": {"weight_ih": (3H, D), "weight_hh": (3H, H), "bias_ih": (3H,), "bias_hh": (3H,)},
         "x": (T, B, D), "h0": (B, H), "h": (T, B, H) the total dL/dh_t (optional)}
    """
    params, x, h0, h, saved = cache
    # TODO, for t = T-1 down to 0:
    #   the total dL/dh_t                                                              (B, H)
    #   dL/dn, dL/dz, then through tanh and the sigmoids: dL/d(pre-activations)        (B, H) each
    #   the input part dgi_t and the recurrent part dgh_t (they differ in n: r multiplies gh_n)   (B, 3H)
    #   the parameter gradients, dL/dx_t, and what goes back to h_{t-1} (through W_hh and through z)
    raise NotImplementedError("gru_backward: write the loop over t = T-1 .. 0")
