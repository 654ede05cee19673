"""Gradients forward in time: real-time recurrent learning (RTRL).

* `exact`: `rtrl_gradients`, the exact gradient by the influence recursion M_t = J_t M_{t-1} + I_t,
  for the RNN (tanh, ReLU), the LSTM and the GRU, equal to BPTT's to rounding.

Uses the cells (`scratch_rnn.cells`) and their caches; nothing below it imports from here.
"""
from .exact import RTRLGrads, rtrl_gradients

__all__ = ["RTRLGrads", "rtrl_gradients"]
