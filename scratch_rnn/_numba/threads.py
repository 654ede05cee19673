"""How many threads the BLAS behind the Numba kernels runs on.

Numba's ``np.dot`` inside a kernel calls SciPy's BLAS (OpenBLAS), which by default uses every
core, even for the small products of a recurrent step. threadpoolctl can pin it, but it sees only
libraries already loaded, so `load_blas` loads SciPy's first. Importing this module does not
import Numba.
"""
from __future__ import annotations


def load_blas() -> None:
    """Load the BLAS that Numba's ``np.dot`` calls (SciPy's), so that threadpoolctl, which only
    sees libraries already loaded, can pin its thread count before the first kernel runs."""
    import scipy.linalg.cython_blas  # noqa: F401


def one_blas_thread():
    """A context in which BLAS runs on one thread: the long commands are parallel over runs, one
    process per core, and a multithreaded BLAS in each of them would fight for the same cores
    (measured: 20x slower)."""
    from threadpoolctl import threadpool_limits

    load_blas()                      # threadpoolctl limits only the libraries already loaded
    return threadpool_limits(limits=1, user_api="blas")
