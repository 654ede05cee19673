"""Parameter initialisation.

Every function takes a ``numpy.random.Generator`` and returns a parameter dict with PyTorch's
names and shapes, so the result copies into ``nn.RNN`` / ``nn.LSTM`` unchanged.
"""
from __future__ import annotations

import numpy as np

from ._validate import FLOAT_DTYPES, GATES, PARAM_NAMES


def _check_sizes(cell: str, input_size: int, hidden_size: int, rng, dtype) -> tuple[int, np.dtype]:
    if cell not in GATES:
        raise ValueError(f"cell: expected one of {tuple(GATES)}, got {cell!r}")
    for name, size in (("input_size", input_size), ("hidden_size", hidden_size)):
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
            raise ValueError(f"{name}: expected an integer >= 1, got {size!r}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng: expected a numpy.random.Generator, got {type(rng).__name__}")
    dtype = np.dtype(dtype)
    if dtype not in FLOAT_DTYPES:
        raise TypeError(f"dtype: expected float32 or float64, got {dtype}")
    return GATES[cell], dtype


def init_pytorch_default(cell: str, input_size: int, hidden_size: int, rng: np.random.Generator,
                         dtype=np.float64) -> dict:
    """PyTorch's default for ``nn.RNN`` and ``nn.LSTM``: every tensor drawn from
    U(-1/sqrt(H), 1/sqrt(H)), H = hidden_size.

    Shapes: weight_ih (G*H, D), weight_hh (G*H, H), bias_ih and bias_hh (G*H,), with G = 1 for
    ``cell="rnn"`` and 4 for ``cell="lstm"``.
    """
    G, dtype = _check_sizes(cell, input_size, hidden_size, rng, dtype)
    H, D = hidden_size, input_size
    k = 1.0 / np.sqrt(H)
    shapes = {"weight_ih": (G * H, D), "weight_hh": (G * H, H), "bias_ih": (G * H,), "bias_hh": (G * H,)}
    return {name: rng.uniform(-k, k, size=shapes[name]).astype(dtype) for name in PARAM_NAMES}
