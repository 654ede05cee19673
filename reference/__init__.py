"""PyTorch reference models for scratch_rnn: the study's models, exact weight transfer in both
directions, and an unrolled cell-by-cell variant that keeps dL/dh_t and dL/dc_t for every t."""
from .autograd import autograd_grads, stack_autograd_grads
from .models import GRUModel, LSTMModel, StackModel, VanillaRNN
from .transfer import params_from_torch, params_to_torch
from .train import TorchEngine, build_model, check_device, params_of_model
from .unrolled import ProjectedLSTMCell, UnrolledGRU, UnrolledLSTM, UnrolledRNN

__all__ = [
    "VanillaRNN", "LSTMModel", "GRUModel", "StackModel", "params_to_torch", "params_from_torch",
    "UnrolledRNN", "UnrolledLSTM", "UnrolledGRU", "ProjectedLSTMCell", "autograd_grads", "stack_autograd_grads",
    "TorchEngine", "build_model", "params_of_model", "check_device",
]
