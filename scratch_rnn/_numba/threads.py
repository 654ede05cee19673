"""How many threads the BLAS behind the Numba kernels runs on: one, unless the caller asks otherwise.

Numba's ``np.dot`` inside a kernel calls SciPy's BLAS (its bundled OpenBLAS), which by default uses
every core, even for the small products of a recurrent step; on 2 cores a plain caller of
``gru_forward(..., backend="numba")`` + ``gru_backward`` measured 110 ms against 10 ms pinned, and
worse with the other core busy. So every kernel call (`pinned`, through `entry.kernel_entry`) sets the BLAS thread count to
`get_num_threads()` (1 by default) for the duration of the call and restores the caller's count
after it: the caller's own SciPy and NumPy work outside the call keeps its threads.
The switch is a pair of C calls (about 1 us), against a kernel of tens of microseconds or more.

`set_num_threads(n)` changes the count for every later call (None: the library's own default, as
before this existed); `num_threads(n)` does it for a block. `one_blas_thread` pins every BLAS
of the process (threadpoolctl), which the long commands use around whole runs. Importing this module
does not import Numba.
"""
from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager

_state: dict = {"threads": 1, "controllers": None}


def load_blas() -> None:
    """Load the BLAS that Numba's ``np.dot`` calls (SciPy's), so that threadpoolctl, which only
    sees libraries already loaded, can find it."""
    import scipy.linalg.cython_blas  # noqa: F401


def kernel_blas() -> list:
    """threadpoolctl's controllers of every BLAS a kernel call can reach: SciPy's OpenBLAS (what
    Numba's ``np.dot`` calls) and NumPy's (the few NumPy products of the kernels' Python entries),
    found once."""
    if _state["controllers"] is None:
        load_blas()
        import numpy  # noqa: F401  (its BLAS is loaded with it)
        from threadpoolctl import ThreadpoolController
        _state["controllers"] = [c for c in ThreadpoolController().lib_controllers if c.user_api == "blas"]
    return _state["controllers"]


def set_num_threads(n: int | None) -> None:
    """Set the BLAS threads of every later Numba kernel call (1 by default).

    Args:
        n: An integer >= 1, or None for the BLAS's own default (every core).

    Raises:
        ValueError: n is neither None nor an integer >= 1.

    Examples:
        >>> sr.set_num_threads(2)                                                  # the kernels' BLAS on two threads
        >>> sr.get_num_threads()
        2
        >>> sr.set_num_threads(1)                                                  # back to the default
    """
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise ValueError(f"n: expected an integer >= 1 or None (the BLAS's own default), got {n!r}")
    _state["threads"] = n


def get_num_threads() -> int | None:
    """The BLAS threads the Numba kernels run with.

    Returns:
        The count (1 by default), or None for the BLAS's own default.

    Examples:
        >>> sr.get_num_threads()                                                   # the default
        1
        >>> sr.set_num_threads(None)                                               # the BLAS's own count
        >>> sr.get_num_threads() is None
        True
        >>> sr.set_num_threads(1)
    """
    return _state["threads"]


@contextmanager
def num_threads(n: int | None) -> Iterator[None]:
    """`set_num_threads` for a block, the previous setting after it.

    Args:
        n: An integer >= 1, or None for the BLAS's own default.

    Yields:
        None: the kernels called inside the block use n threads.

    Examples:
        >>> with sr.num_threads(2):
        ...     sr.get_num_threads()
        2
        >>> sr.get_num_threads()                                                   # the previous setting
        1
    """
    before = get_num_threads()
    set_num_threads(n)
    try:
        yield
    finally:
        _state["threads"] = before


def pinned(fn):
    """Run `fn` (a kernel's Python entry) with the kernels' BLAS on `get_num_threads()` threads,
    restoring the caller's thread count after it."""
    @functools.wraps(fn)
    def call(*args, **kwargs):
        want = _state["threads"]
        if want is None:
            return fn(*args, **kwargs)
        controllers = kernel_blas()
        before = [c.get_num_threads() for c in controllers]
        if all(b == want for b in before):
            return fn(*args, **kwargs)
        for c in controllers:
            c.set_num_threads(want)
        try:
            return fn(*args, **kwargs)
        finally:
            for c, b in zip(controllers, before):
                c.set_num_threads(b)
    return call


def one_blas_thread():
    """A context in which every BLAS of the process runs on one thread: the long commands are
    parallel over runs, one process per core, and a multithreaded BLAS in each of them would fight
    for the same cores (measured: 20x slower)."""
    from threadpoolctl import threadpool_limits

    load_blas()                      # threadpoolctl limits only the libraries already loaded
    return threadpool_limits(limits=1, user_api="blas")
