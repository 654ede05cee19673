"""scratch_rnn: a vanilla tanh RNN and an LSTM with hand-written forward passes and BPTT.

Arrays are time-major: x (T, B, D), hidden and cell states (T, B, H). Parameters are dicts with
PyTorch's names, shapes and gate order. See the README for the equations and the glossary.
"""
from .init import init_pytorch_default
from .lstm import LSTMCache, LSTMGrads, lstm_backward, lstm_forward
from .rnn import RNNCache, RNNGrads, rnn_backward, rnn_forward

__version__ = "0.1.0"

__all__ = [
    "rnn_forward", "rnn_backward", "lstm_forward", "lstm_backward",
    "RNNCache", "RNNGrads", "LSTMCache", "LSTMGrads",
    "init_pytorch_default",
    "__version__",
]
