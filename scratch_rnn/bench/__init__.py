"""Speed measurements (`measure`), the machine's own floor (`floor`: the one-thread GEMM rate at the
kernels' shapes), JAX as a second peer (`jax_peer`), and their tables and plots (`report`).

The timing axis is the **variant**: ``numpy`` and ``numba`` (scratch_rnn's two backends) and
``torch``, ``torch-ftz``, ``torch-threads``, ``torch-cuda`` (PyTorch on one thread, with denormals
flushed, with its default threads, on a GPU).
"""
