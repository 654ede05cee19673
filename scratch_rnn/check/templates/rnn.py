"""Exercise: backpropagation through time for the vanilla RNN.

The forward pass is given. Write `rnn_backward`; then run ``scratch-rnn check THIS_FILE``.

Shapes: T steps, B batch, D inputs, H hidden units. Parameters as ``nn.RNN``'s: weight_ih (H, D),
weight_hh (H, H), bias_ih (H,), bias_hh (H,).

    a_t = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh        h_t = tanh(a_t)        (h_{-1} = h0)
"""
import numpy as np


def rnn_forward(params, x, h0=None):
    """x (T, B, D), h0 (B, H) or None (zeros) -> h (T, B, H) and the cache for `rnn_backward`."""
    T, B, D = x.shape
    H = params["weight_hh"].shape[0]
    h0 = np.zeros((B, H)) if h0 is None else h0
    h = np.zeros((T, B, H))
    h_prev = h0
    for t in range(T):
        h[t] = np.tanh(x[t] @ params["weight_ih"].T + params["bias_ih"] + h_prev @ params["weight_hh"].T
                       + params["bias_hh"])
        h_prev = h[t]
    return h, (params, x, h0, h)


def rnn_backward(cache, dh):
    """dh (T, B, H): what the loss sends directly into each h_t. Return a dict:

        {"params": {"weight_ih": (H, D), "weight_hh": (H, H), "bias_ih": (H,), "bias_hh": (H,)},
         "x": (T, B, D), "h0": (B, H), "h": (T, B, H) the total dL/dh_t (optional, but the checker
         then locates a mistake by the step where it starts)}
    """
    params, x, h0, h = cache
    # TODO, for t = T-1 down to 0:
    #   the total dL/dh_t: what the loss sends into h_t, plus what h_{t+1} sends back  (B, H)
    #   dL/da_t through tanh                                                             (B, H)
    #   the parameter gradients (sums over t and the batch), dL/dx_t, and what goes back to h_{t-1}
    raise NotImplementedError("rnn_backward: write the loop over t = T-1 .. 0")
