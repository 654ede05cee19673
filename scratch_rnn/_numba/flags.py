"""The one place where Numba's flags are set.

* ``cache``: compiled kernels are written next to the source (or to Numba's user-wide cache
  directory when the package directory is read-only); a later process loads them instead of
  compiling. Where no cache directory can be written at all, `FLAGS` turns caching off for every
  kernel and overload, the kernels compile in every process, and one warning says so.
* ``error_model="numpy"``: a float division by zero gives inf/nan like NumPy instead of raising,
  which removes a branch from every division and lets LLVM vectorise the element loops.
* ``fastmath`` stays off: the kernels must reproduce the NumPy reference to rounding.
"""
from __future__ import annotations

import warnings
from typing import Any

import numba


def _probe():
    """Never called: decorating it with ``cache=True`` asks Numba for a cache locator for this
    folder, which is where every kernel of this subpackage lives."""


def _can_cache() -> bool:
    try:
        numba.njit(cache=True)(_probe)
    except RuntimeError as err:  # numba: "cannot cache function ...: no locator available"
        if "cannot cache" not in str(err):
            raise
        warnings.warn(f"scratch_rnn: no writable Numba cache directory ({err}); kernels will be "
                      "compiled in every process. Set NUMBA_CACHE_DIR to a writable folder.",
                      RuntimeWarning, stacklevel=2)
        return False
    return True


FLAGS: dict[str, Any] = {"cache": _can_cache(), "error_model": "numpy", "fastmath": False, "nogil": True}


def jit(func=None, **extra):
    """``numba.njit`` with FLAGS; ``@jit`` or ``@jit(inline="always")``."""
    def wrap(f):
        return numba.njit(**{**FLAGS, **extra})(f)
    return wrap if func is None else wrap(func)
