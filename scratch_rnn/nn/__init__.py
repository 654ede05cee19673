"""Drop-in ``torch.nn.RNN``, ``LSTM`` and ``GRU`` whose backward is this package's BPTT.

* `modules`: the three classes, subclasses of ``torch.nn``'s with only ``forward`` replaced;
* `function`: one layer as a ``torch.autograd.Function`` over `scratch_rnn.stack_forward` and
  `scratch_rnn.stack_backward`, on the Numba kernels.

``import scratch_rnn.nn`` imports torch; ``import scratch_rnn`` does not.
"""
from .modules import GRU, LSTM, RNN

__all__ = ["RNN", "LSTM", "GRU"]
