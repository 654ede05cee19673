"""Why the first kernel call allocates and frees 30 MiB: so that glibc keeps freed memory for reuse.

Every forward pass returns fresh arrays (h, and the LSTM's c, gates and tanh c) and every backward
pass fresh gradients; at the study's size (T = 100, B = 32, H = 64) each is 0.2 to 3 MiB. glibc's
malloc serves a block of 128 KiB or more with a fresh ``mmap`` and hands it back to the system
when it is freed (and trims the top of its heap once 128 KiB there are free), so the next call
takes a page fault on every 4 KiB page it writes. Measured on the RNN's float32 forward + BPTT at
the study's size: 368 page faults a call, 1.26 ms a call against 0.70 ms without them
(`benchmarks/heap.py`).

glibc adapts by itself: when a process frees an ``mmap``-ed block of up to 32 MiB, the size above
which it maps becomes that block's size, and the free memory it keeps on top of its heap twice
that. A caller who once freed a large enough array gets the fast case; a plain script that calls
the kernels alone at the study's size never frees one. `settle_heap` makes that first large free
itself, once, on the first kernel call: 30 MiB, allocated and freed without touching a page. After
it, blocks under 30 MiB come from the heap and up to 60 MiB of freed heap stays mapped for the
next call (past 60 MiB of arrays a call glibc trims again: it adapts no further). Nothing changes
where glibc does not adapt: a caller who set its own thresholds (``mallopt``,
``MALLOC_MMAP_THRESHOLD_``) keeps them, and other C libraries are left alone.

It is a process-wide change to the C library's allocator, so it is public and switchable:
``scratch_rnn.set_heap_settling(False)`` before the first kernel call leaves glibc's thresholds
exactly as the process had them (at the cost measured above); `heap_settled()` says whether the
free has happened. Once made, the free cannot be undone (glibc keeps the thresholds it raised).
"""
from __future__ import annotations

import os

PRIME_BYTES = 30 << 20              # under glibc's 32 MiB ceiling for the adaptive threshold

_state = {"settled": False, "enabled": True}


def set_heap_settling(enabled: bool) -> None:
    """Whether the first compiled kernel call raises glibc's thresholds (the default: True).

    Args:
        enabled: False leaves the process's allocator as it is; call it before the first kernel call
            (later, it only prevents a free that has not happened yet).

    Raises:
        TypeError: `enabled` is not a bool.

    Examples:
        >>> sr.set_heap_settling(False)                                            # keep glibc's own adaptation
        >>> sr.set_heap_settling(True)
    """
    if not isinstance(enabled, bool):
        raise TypeError(f"enabled: expected True or False, got {enabled!r}")
    _state["enabled"] = enabled


def heap_settled() -> bool:
    """Whether this process has made the 30 MiB free that raises glibc's thresholds.

    Returns:
        True once the first kernel call made it; False before, when switched off, or off glibc.

    Examples:
        >>> isinstance(sr.heap_settled(), bool)
        True
    """
    return _state["settled"]


def _glibc() -> bool:
    """Whether this process runs on glibc (the adaptive threshold is glibc's)."""
    try:
        return os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc")  # type: ignore[union-attr]
    except (ValueError, OSError, AttributeError):
        return False


def settle_heap() -> None:
    """Once per process: malloc and free PRIME_BYTES, the free that raises glibc's thresholds."""
    if _state["settled"] or not _state["enabled"]:
        return
    if not _glibc():
        _state["enabled"] = False                      # nothing to settle on another C library
        return
    _state["settled"] = True
    import ctypes                   # here, not at import: `import scratch_rnn` stays light
    libc = ctypes.CDLL(None)        # the C library the process already runs on
    libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    libc.free.restype, libc.free.argtypes = None, [ctypes.c_void_p]
    libc.free(libc.malloc(PRIME_BYTES))
