"""Gradients forward in time: real-time recurrent learning (RTRL).

* `exact`: `rtrl_gradients`, the exact gradient by the influence recursion M_t = J_t M_{t-1} + I_t,
  for the RNN (tanh, ReLU), the LSTM and the GRU, equal to BPTT's to rounding;
* `approx`, the deterministic approximations: `snap1_gradients` (SnAp-1, Menick et al. 2021: the
  influence kept on each unit's own state) and `eprop_gradients` (e-prop, Bellec et al. 2020: traces
  through each unit's own state only), for every cell; `rflo_gradients` (RFLO, Murray 2019: the
  Jacobian reduced to the leak), for the RNN;
* `stochastic`, the unbiased estimates: `uoro_gradients` (UORO, Tallec & Ollivier 2018: rank one), for
  every cell; `kfrtrl_gradients` (KF-RTRL, Mujika et al. 2018: one Kronecker product), for the RNN;

The math of each method lives here, beside BPTT's in the cells; the experiment that compares them
(alignment, online training, cost: the ``scratch-rnn online`` command) is its own room,
`scratch_rnn.online`. Uses the cells (`scratch_rnn.cells`: their unchecked forward and their step
Jacobians) and the compiled influence step (`scratch_rnn._numba.rtrl`); nothing below it imports from here.
"""
from .approx import eprop_gradients, rflo_gradients, snap1_gradients
from .stochastic import kfrtrl_gradients, uoro_gradients
from .exact import RTRLGrads, rtrl_gradients

__all__ = ["RTRLGrads", "eprop_gradients", "kfrtrl_gradients", "rflo_gradients", "rtrl_gradients", "snap1_gradients",
           "uoro_gradients"]
