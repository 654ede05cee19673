"""The activations every NumPy cell shares (the Numba mirrors have their own, in `_numba.activations`)."""
from __future__ import annotations

import numpy as np


def sigmoid(a):
    """1 / (1 + exp(-a)) without overflow: exp is only ever taken of -|a|."""
    e = np.exp(-np.abs(a))                                       # in (0, 1]
    return np.where(a >= 0, 1 / (1 + e), e / (1 + e))
