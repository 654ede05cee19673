"""Checks of every hand-written gradient: against central finite differences (here) and against
PyTorch autograd (every torch-side gradient is computed in `reference`).

* `common`: the error measure (relative to the gradient's largest magnitude), central
  differences, the tolerances the tests and the command share, the printed table;
* `layers`: one layer of every cell (each parameter, x, h0, c0 and the totals dL/dh_t, dL/dc_t);
* `stacks`: `stack_forward` / `stack_backward`, stacked, bidirectional, projected and
  variable-length, against ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU``.

``scratch-rnn gradcheck`` prints both tables (`scratch_rnn.cli.gradcheck`).
"""
from .common import FD_TOL, FLOAT32_TOL, NUMBA_TOL, TORCH_TOL, format_rows, max_rel_error, numerical_gradient, rows_pass
from .layers import CELLS, QUANTITIES, analytic_grads, check_rows, finite_difference_grads, layer_loss, random_problem

__all__ = ["FD_TOL", "TORCH_TOL", "NUMBA_TOL", "FLOAT32_TOL", "max_rel_error", "numerical_gradient", "format_rows",
           "rows_pass", "CELLS", "QUANTITIES", "analytic_grads", "check_rows", "finite_difference_grads", "layer_loss",
           "random_problem"]
