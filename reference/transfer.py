"""Exact parameter copies between scratch_rnn dicts and torch modules.

Works with ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` (one layer, unidirectional: names ``weight_ih_l0`` ...;
an LSTM's projection ``weight_hr_l0`` included) and with ``nn.RNNCell`` / ``nn.LSTMCell`` / ``nn.GRUCell`` and
`ProjectedLSTMCell` (names ``weight_ih`` ...). Names, shapes and gate order are the same on both sides, so
a copy is a copy: no remapping, no dtype conversion. For stacks, a module's ``state_dict()`` already is
`scratch_rnn.stack_forward`'s parameter dict.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from scratch_rnn import PARAM_NAMES, state_dict_key

from .unrolled import ProjectedLSTMCell

_LAYERS = (nn.RNN, nn.LSTM, nn.GRU, nn.RNNCell, nn.LSTMCell, nn.GRUCell, ProjectedLSTMCell)


def _names(module: nn.Module) -> dict:
    """scratch name -> torch attribute name for this module."""
    if not isinstance(module, _LAYERS):
        raise TypeError(f"module: expected one of {[c.__name__ for c in _LAYERS]}, got {type(module).__name__}")
    if isinstance(module, (nn.RNN, nn.LSTM, nn.GRU)):
        if module.num_layers != 1 or module.bidirectional:
            raise ValueError("module: expected one unidirectional layer (pass a stack's state_dict() to "
                             f"stack_forward), got num_layers={module.num_layers}, bidirectional={module.bidirectional}")
        if not module.bias:
            raise ValueError("module: expected bias=True (scratch_rnn layers have both biases), got bias=False")
        proj = ("weight_hr",) if getattr(module, "proj_size", 0) else ()
        return {k: state_dict_key(k, 0, 0) for k in PARAM_NAMES + proj}
    if not module.bias:
        raise ValueError("module: expected bias=True (scratch_rnn layers have both biases), got bias=False")
    return {k: k for k in PARAM_NAMES + (("weight_hr",) if isinstance(module, ProjectedLSTMCell) else ())}


def params_from_torch(module: nn.Module) -> dict:
    """A torch layer's parameters as a scratch_rnn dict.

    Args:
        module: ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` (one layer, one direction), one of their cells, or
            a `ProjectedLSTMCell`.

    Returns:
        ``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh`` (and ``weight_hr``) as NumPy copies of the
            module's dtype.

    Examples:
        >>> import torch
        >>> from reference import params_from_torch
        >>> sorted(params_from_torch(torch.nn.GRU(2, 3)))
        ['bias_hh', 'bias_ih', 'weight_hh', 'weight_ih']
    """
    return {k: getattr(module, name).detach().cpu().numpy().copy() for k, name in _names(module).items()}


def params_to_torch(params: dict, module: nn.Module) -> nn.Module:
    """Copy a scratch_rnn parameter dict into a torch layer, in place.

    Args:
        params: ``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh`` (and ``weight_hr``), NumPy arrays.
        module: A layer or cell (as `params_from_torch`) with the arrays' shapes and dtype
            (``module.double()`` for float64).

    Returns:
        The module.

    Raises:
        ValueError: A key is missing or extra, or a shape differs (naming the parameter).
        TypeError: A dtype differs from the module's.

    Examples:
        >>> import torch
        >>> from reference import params_to_torch
        >>> p = sr.init_pytorch_default("lstm", 2, 3, np.random.default_rng(0))
        >>> m = params_to_torch(p, torch.nn.LSTM(2, 3).double())
        >>> bool(np.array_equal(m.weight_hh_l0.detach().numpy(), p["weight_hh"]))
        True
    """
    names = _names(module)
    if set(params) != set(names):
        raise ValueError(f"params: expected keys {tuple(names)}, got {tuple(sorted(params))}")
    with torch.no_grad():
        for k, name in names.items():
            target = getattr(module, name)
            src = np.asarray(params[k])
            if tuple(src.shape) != tuple(target.shape):
                raise ValueError(f"params['{k}']: expected shape {tuple(target.shape)} (module.{name}), got {src.shape}")
            if torch.from_numpy(np.zeros(0, src.dtype)).dtype != target.dtype:
                raise TypeError(f"params['{k}']: expected dtype {target.dtype} (module.{name}), got {src.dtype}")
            target.copy_(torch.from_numpy(np.ascontiguousarray(src)))
    return module
