"""Exercise: backpropagation through time for the LSTM.

The forward pass is given. Write `lstm_backward`; then run ``scratch-rnn check THIS_FILE``.

Shapes: T steps, B batch, D inputs, H hidden units. Parameters as ``nn.LSTM``'s, gates in the order
i, f, g, o: weight_ih (4H, D), weight_hh (4H, H), bias_ih (4H,), bias_hh (4H,).

    a_t = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh                       (B, 4H)
    i, f, o = sigmoid(a_i), sigmoid(a_f), sigmoid(a_o);   g = tanh(a_g)
    c_t = f * c_{t-1} + i * g            h_t = o * tanh(c_t)              (h_{-1} = h0, c_{-1} = c0)
"""
import numpy as np


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def lstm_forward(params, x, h0=None, c0=None):
    """x (T, B, D), h0 and c0 (B, H) or None (zeros) -> h, c (T, B, H) and the cache for `lstm_backward`."""
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
    """dh (T, B, H): what the loss sends directly into each h_t; dc_last (B, H) or None: into c_{T-1}.
    Return a dict:

        {"params": {"weight_ih": (4H, D), "weight_hh": (4H, H), "bias_ih": (4H,), "bias_hh": (4H,)},
         "x": (T, B, D), "h0": (B, H), "c0": (B, H), "h": (T, B, H) the total dL/dh_t (optional)}
    """
    params, x, h0, c0, h, c, gates = cache
    # TODO, for t = T-1 down to 0:
    #   the total dL/dh_t (the loss's dh[t] plus what step t+1 sends back)             (B, H)
    #   the total dL/dc_t: what c_{t+1} sends back, plus the path through h_t = o tanh(c_t)   (B, H)
    #   dL/da for each gate, i, f, g, o, in that order                                  (B, 4H)
    #   the parameter gradients, dL/dx_t, and what goes back to h_{t-1} and c_{t-1}
    raise NotImplementedError("lstm_backward: write the loop over t = T-1 .. 0")
