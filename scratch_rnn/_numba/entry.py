"""What happens around every compiled kernel call, named in one place: `kernel_entry`.

Two process-wide policies, each with its own module and its own switch, wrap a kernel's Python entry:

1. the heap (`heap`): on the first call, glibc is made to keep freed blocks under 30 MiB mapped,
   so later calls stop faulting in fresh pages (RNN float32 study size: 1.26 -> 0.70 ms a call);
   switched off by `heap.set_heap_settling(False)` (public as ``scratch_rnn.set_heap_settling``);
2. the BLAS threads (`threads`): the BLAS behind the kernels' products runs on
   `threads.get_num_threads()` threads (1 by default) for the call and is restored after it;
   changed by ``scratch_rnn.set_num_threads``.
"""
from __future__ import annotations

import functools

from .heap import settle_heap
from .threads import pinned


def kernel_entry(fn):
    """`fn` (a kernel's Python entry) with both policies: the heap settled once (unless switched off),
    then the call with its BLAS pinned (`threads.pinned`)."""
    call = pinned(fn)

    @functools.wraps(fn)
    def entry(*args, **kwargs):
        settle_heap()
        return call(*args, **kwargs)
    return entry
