"""The Numba mirrors of the NumPy reference loops, one module per cell.

* `flags`: the one place where Numba's flags are set (and the compile-cache fallback);
* `entry`: `kernel_entry`, what wraps every kernel call: the heap, then the threads;
* `threads`: the BLAS behind the kernels' matrix products, and pinning it to one thread;
* `heap`: the first call's 30 MiB free that keeps glibc's heap for later calls (switchable:
  ``scratch_rnn.set_heap_settling``);
* `activations`: tanh and sigmoid that LLVM vectorises;
* `common`: the chunked matrix products that every cell's kernels share;
* `rnn`, `lstm`, `gru`: ``{cell}_forward_loop`` and ``{cell}_backward_loop``, with the names,
  argument order and math of the reference loops in `scratch_rnn.rnn`, `scratch_rnn.lstm` and
  `scratch_rnn.gru`;
* `rtrl`: RTRL's influence step, compiled (`scratch_rnn.rtrl.exact` with ``backend="numba"``).

This subpackage is a leaf: it imports nothing from the rest of scratch_rnn, and no cell's kernels
import another cell's. Numba itself is imported only when the ``numba`` backend is first used.
"""
