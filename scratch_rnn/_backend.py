"""Where a backend name turns into the loops that run.

`numpy` loops live next to their public functions (`rnn.py`, `lstm.py`, `gru.py`) and are the
specification; `numba` loops (`_numba/rnn.py`, `_numba/lstm.py`, `_numba/gru.py`) mirror them with
the same names and argument order. Numba is imported only when that backend is first asked for, so `import scratch_rnn` stays fast.
"""
from __future__ import annotations

import importlib

from ._validate import check_backend

_MODULES = {
    ("rnn", "numpy"): "scratch_rnn.rnn",
    ("lstm", "numpy"): "scratch_rnn.lstm",
    ("rnn", "numba"): "scratch_rnn._numba.rnn",
    ("lstm", "numba"): "scratch_rnn._numba.lstm",
    ("gru", "numpy"): "scratch_rnn.gru",
    ("gru", "numba"): "scratch_rnn._numba.gru",
}


def loops(cell: str, backend: str):
    """The module holding `{cell}_forward_loop` and `{cell}_backward_loop` for `backend`."""
    check_backend(backend)
    return importlib.import_module(_MODULES[cell, backend])
