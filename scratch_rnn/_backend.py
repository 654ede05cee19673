"""Where a backend name turns into the loops that run.

`numpy` loops live next to their public functions (`rnn.py`, `lstm.py`, `gru.py`) and are the
specification; `numba` loops (`_numba/rnn.py`, `_numba/lstm.py`, `_numba/gru.py`) mirror them with
the same module name, the same function names and the same argument order. So no table is needed:
a cell's module asks for its own loops by its own name (``loops(__name__, backend)``), and the
mirror is the module of that name under `_numba`. Numba is imported only when that backend is first
asked for, so `import scratch_rnn` stays fast.
"""
from __future__ import annotations

import importlib
import sys

from ._validate import check_backend

MIRRORS = "scratch_rnn._numba"      #: the package that holds the compiled mirror of every cell's loops


def loops(module: str, backend: str):
    """The module holding a cell's ``*_forward_loop`` and ``*_backward_loop`` for `backend`.

    Args:
        module: The cell's NumPy module by name (``"scratch_rnn.lstm"``): its own loops are the reference.
        backend: "numpy" (that module) or "numba" (its mirror, the module of the same name in `MIRRORS`).
    """
    if check_backend(backend) == "numpy":
        return sys.modules[module]
    return importlib.import_module(f"{MIRRORS}.{module.rpartition('.')[2]}")
