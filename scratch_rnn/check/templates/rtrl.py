"""Exercise: real-time recurrent learning (RTRL) for the vanilla RNN: the exact gradient, forward in time.

Write `rnn_rtrl_gradients`; then run ``scratch-rnn check THIS_FILE``. It must give the same gradient as
BPTT, computed going forward: no stored past, only the influence of every parameter on the state.

    a_t = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh        h_t = tanh(a_t)        (h_{-1} = h0)
    L = sum_t sum(dh[t] * h_t)

Per sequence b, with D_t = diag(1 - h_t^2):

    J_t = D_t W_hh                                        (H, H)    dh_t/dh_{t-1}
    M_t[W] = J_t M_{t-1}[W] + (immediate part)            (H, *W's shape)   dh_t/dW, M_{-1} = 0
        immediate part of h_t[i] w.r.t. W_ih[j, l]: D_t[i, j] x_t[l]   (W_hh: h_{t-1}[l]; biases: D_t[i, j])
    N_t = J_t N_{t-1}, N_{-1} = I                         (H, H)    dh_t/dh0
    dL/dW = sum_t sum_b dh[t, b] . M_t[W],    dL/dh0[b] = sum_t dh[t, b] . N_t

Shapes: params as nn.RNN's (weight_ih (H, D), weight_hh (H, H), bias_ih (H,), bias_hh (H,)); x (T, B, D).
"""
import numpy as np


def rnn_rtrl_gradients(params, x, h0, dh):
    """params, x (T, B, D), h0 (B, H) or None (zeros), dh (T, B, H). Return

        {"params": {"weight_ih": (H, D), "weight_hh": (H, H), "bias_ih": (H,), "bias_hh": (H,)},
         "h0": (B, H)}
    """
    T, B, D = x.shape
    H = params["weight_hh"].shape[0]
    h0 = np.zeros((B, H)) if h0 is None else h0
    # TODO: step forward from t = 0; keep only h_{t-1}, the influences M (one per parameter, per
    # sequence: (B, H, *shape)) and N (B, H, H); add what each step's dh[t] passes on through them.
    raise NotImplementedError("rnn_rtrl_gradients: carry the influence forward from t = 0")
