"""The Numba mirrors of the NumPy reference loops, one module per cell.

* `flags`: the one place where Numba's flags are set (and the compile-cache fallback);
* `activations`: tanh and sigmoid that LLVM vectorises;
* `common`: the chunked matrix products that every cell's kernels share;
* `rnn`, `lstm`: ``{cell}_forward_loop`` and ``{cell}_backward_loop``, with the names, argument
  order and math of the reference loops in `scratch_rnn.rnn` and `scratch_rnn.lstm`.

This subpackage is a leaf: it imports nothing from the rest of scratch_rnn, and no cell's kernels
import another cell's. Numba itself is imported only when the ``numba`` backend is first used.
"""
