"""PyTorch reference models for scratch_rnn: the study's model, the torch classes of each cell, exact
weight transfer in both directions, an unrolled cell-by-cell variant that keeps dL/dh_t and dL/dc_t for
every t, the autograd oracles and the torch engine.

`reference` reaches into `scratch_rnn` through its public names only (the package's ``__all__`` and
its public submodules, no module or name with a leading underscore): `tests/test_architecture.py`
holds that boundary."""
from .autograd import autograd_grads, stack_autograd_grads
from .models import RecurrentClassifier, torch_cell, torch_layer
from .transfer import params_from_torch, params_to_torch
from .train import TorchEngine, build_model, check_device, params_of_model
from .unrolled import ProjectedLSTMCell, UnrolledGRU, UnrolledLSTM, UnrolledRNN, unrolled_layer

__all__ = [
    "RecurrentClassifier", "torch_layer", "torch_cell", "params_to_torch", "params_from_torch",
    "UnrolledRNN", "UnrolledLSTM", "UnrolledGRU", "ProjectedLSTMCell", "unrolled_layer", "autograd_grads",
    "stack_autograd_grads", "TorchEngine", "build_model", "params_of_model", "check_device",
]
