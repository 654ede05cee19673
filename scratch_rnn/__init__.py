"""scratch_rnn: the RNN (tanh or ReLU), the LSTM (with or without a projection) and the GRU, with
hand-written forward passes and BPTT, full or truncated, one layer or stacked and bidirectional.

Arrays are time-major: x (T, B, D), hidden and cell states (T, B, H). Parameters are dicts with
PyTorch's names, shapes and gate order. The equations are in each cell's module docstring and,
rendered, on the documentation site's math page (docs/math.md); the glossary is on its "How it is
built" page.

Rooms, each using only those below it: the ground floor (`_validate`, `_activations`, `_files`,
`_backend`, `_provenance`, `_resources`, `_version`) and `_numba` (the compiled mirrors, a leaf) <-
`rnn`, `lstm`, `gru` (the NumPy reference and the public functions), `cells` (the registry),
`stack`, `truncated` <- `training` <- `runs` (the run store, executors and the experiments'
pipeline); `rtrl` (gradients forward in time) beside `training`, on the cells <- the experiments
`study`, `truncation`, `charlm`, `online`, and the tools `gradcheck`, `check` (a learner's BPTT
checked), `bench` <- `cli`. `nn` (drop-in ``torch.nn.RNN``/``LSTM``/``GRU`` whose backward is this
package's BPTT) sits on the core and is the one room that imports torch at import. Defaults:
the functional core (`rnn_forward`, ...) runs the NumPy reference, and a backward pass the backend
of its forward pass; everything that trains runs Numba.
"""
from ._numba.heap import heap_settled, set_heap_settling
from ._numba.threads import get_num_threads, num_threads, set_num_threads
from ._validate import PARAM_NAMES
from ._version import __version__
from .cells import CELLS, Cell, get_cell
from .gru import GRUCache, GRUGrads, gru_backward, gru_forward
from .lstm import LSTMCache, LSTMGrads, lstm_backward, lstm_forward
from .rnn import RNNCache, RNNGrads, rnn_backward, rnn_forward
from .stack import StackCache, StackGrads, StackOutput, parse_state_dict_key, stack_backward, stack_forward, state_dict_key
from .truncated import truncated_backward
from .training.checkpoint import load_checkpoint, save_checkpoint
from .training.engine import Engine, ScratchEngine, TrainingDiverged
from .training.init import (init_chrono, init_forget_bias, init_identity_recurrent, init_orthogonal_recurrent,
                            init_pytorch_default)
from .training.losses import linear_backward, linear_forward, mse_loss, softmax_cross_entropy
from .training.model import init_model, model_backward, model_forward
from .training.optim import SGD, Adam, clip_grad_norm
from .training.tasks import adding, first_bit, get_task, temporal_xor
from .training.train import History, evaluate, train

__all__ = [
    "rnn_forward", "rnn_backward", "lstm_forward", "lstm_backward", "gru_forward", "gru_backward",
    "RNNCache", "RNNGrads", "LSTMCache", "LSTMGrads", "GRUCache", "GRUGrads",
    "stack_forward", "stack_backward", "StackOutput", "StackCache", "StackGrads", "state_dict_key",
    "parse_state_dict_key",
    "truncated_backward", "CELLS", "Cell", "get_cell", "PARAM_NAMES",
    "init_pytorch_default", "init_forget_bias", "init_chrono", "init_orthogonal_recurrent",
    "init_identity_recurrent",
    "softmax_cross_entropy", "mse_loss", "linear_forward", "linear_backward",
    "Adam", "SGD", "clip_grad_norm",
    "temporal_xor", "first_bit", "adding", "get_task",
    "init_model", "model_forward", "model_backward",
    "Engine", "ScratchEngine", "History", "TrainingDiverged", "train", "evaluate",
    "save_checkpoint", "load_checkpoint",
    "set_num_threads", "get_num_threads", "num_threads", "set_heap_settling", "heap_settled",
    "__version__",
]
