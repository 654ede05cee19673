"""Exercise: truncated BPTT for the vanilla RNN, cut every k steps (the chunks scheme).

The forward pass is given. Write `rnn_truncated_backward`; then run ``scratch-rnn check THIS_FILE``.

Truncated BPTT is what ``h = h.detach()`` every k steps does in PyTorch: the sequence is cut into
chunks of k steps from the start (t = 0 .. k-1, k .. 2k-1, ...; the last one may be shorter), and no
gradient crosses a cut. Inside a chunk it is full BPTT. What the loss sends into each h_t (dh[t]) is
kept everywhere; only what h_t receives from beyond its chunk is dropped.

Shapes and parameters as the RNN exercise: weight_ih (H, D), weight_hh (H, H), bias_ih (H,), bias_hh (H,).
"""
import numpy as np


def rnn_forward(params, x, h0=None):
    """x (T, B, D), h0 (B, H) or None (zeros) -> h (T, B, H) and the cache."""
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


def rnn_truncated_backward(cache, dh, k):
    """dh (T, B, H); k >= 1, the chunk length. Return a dict as `rnn_backward`'s:

        {"params": {"weight_ih", "weight_hh", "bias_ih", "bias_hh"}, "x": (T, B, D), "h0": (B, H),
         "h": (T, B, H) the truncated totals (optional)}

    h0's gradient is what the first chunk sends back to h0 (it has no cut before it).
    """
    params, x, h0, h = cache
    # TODO: BPTT from t = T-1 down to 0, as in the RNN exercise, except that dh_next starts again at
    # zero whenever t is the last step of a chunk (t + 1 a multiple of k, or t = T-1).
    raise NotImplementedError("rnn_truncated_backward: write the loop over t = T-1 .. 0 with its cuts")
