r"""Per-timestep gradient analysis built on the exact BPTT quantities.

* the exact ||dL/dh_t|| and ||dL/dc_t|| for every t are `scratch_rnn.training.model.exact_profile`;
* `jacobian_bound` (RNN): dL/dh_s = dL/dh_{T-1} prod_{k=s+1..T-1} diag(1 - h_k^2) W_hh, so per
  sequence ||dL/dh_s|| <= ||dL/dh_{T-1}|| prod_k ||diag(1 - h_k^2) W_hh||_2 (exact spectral norms
  of the step Jacobians), combined over the batch as a root sum of squares (still an upper bound
  of the batch norm).
* `cell_path` (LSTM): the part of dL/dc_s carried by the cell path alone,
  dL/dc_{T-1} * prod_{k=s+1..T-1} f_k: what survives when the forget gates are the only way back.
* `gate_statistics` (LSTM): mean input, forget and output gate per t.
* `cell_analyses`: those of the above that exist for a model's cell (none for the GRU).
* `notebook_metric`: the study notebook's "gradient flow": for each t, the norm of the gradient of
  sum(h_t) with respect to the layer's parameters, on one sequence. It is not the gradient that
  reaches step t from the loss: it measures how much the parameters influence h_t, which is
  dominated by the few steps just before t and so is about the same at every t, whatever happens
  to gradients flowing backwards.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..cells import CELLS, Cell, get_cell
from ..lstm import LSTMCache, lstm_forward
from ..rnn import RNNCache
from ..training.model import cell_of, layer_params, model_loss


def _dh_last(params, task, x, y, backend):
    """dL/dh_{T-1} (B, H) in float64, which the head sends into the last state, and the layer's cache."""
    _, dout, _, cache = model_loss(params, task, x, y, backend=backend)
    return (dout @ params["head_weight"]).astype(np.float64), cache.layer


def jacobian_bound(params: dict, task, x, y, backend: str = "numba") -> np.ndarray:
    """Upper bound on ||dL/dh_t|| (T,) for the RNN, from the recurrent Jacobians."""
    dh_last, cache = _dh_last(params, task, x, y, backend)
    if not isinstance(cache, RNNCache):
        raise ValueError(f"params: jacobian_bound expects an RNN's parameters, got a {cell_of(params).upper()}'s")
    w = params["weight_hh"].astype(np.float64)
    jac = (1 - cache.h.astype(np.float64) ** 2)[..., None] * w                  # (T, B, H, H) step Jacobians
    factor = np.linalg.norm(jac, 2, axis=(2, 3))                                # (T, B) spectral norms
    T = x.shape[0]
    per_seq = np.empty((T, x.shape[1]))
    per_seq[T - 1] = np.linalg.norm(dh_last, axis=1)
    for s in range(T - 2, -1, -1):
        per_seq[s] = per_seq[s + 1] * factor[s + 1]
    return np.sqrt((per_seq ** 2).sum(axis=1))


def cell_path(params: dict, task, x, y, backend: str = "numba") -> np.ndarray:
    """||dL/dc_{T-1} * prod_{k>s} f_k|| for every s (T,), LSTM."""
    dh_last, cache = _dh_last(params, task, x, y, backend)
    if not isinstance(cache, LSTMCache):
        raise ValueError(f"params: cell_path expects an LSTM's parameters, got a {cell_of(params).upper()}'s")
    o, tanh_c = cache.gates[-1, 3], cache.tanh_c[-1]
    d = dh_last * o * (1 - tanh_c.astype(np.float64) ** 2)                      # dL/dc_{T-1} (B, H)
    T = x.shape[0]
    out = np.empty(T)
    for s in range(T - 1, -1, -1):
        out[s] = np.linalg.norm(d)
        d = d * cache.gates[s, 1]                                               # one more forget gate
    return out


def gate_statistics(params: dict, x, backend: str = "numba") -> dict:
    """Mean input, forget and output gate over batch and units, per t (LSTM)."""
    _, _, cache = lstm_forward(layer_params(params), x, backend=backend)
    g = cache.gates.astype(np.float64)
    return {"input": g[:, 0].mean(axis=(1, 2)), "forget": g[:, 1].mean(axis=(1, 2)),
            "output": g[:, 3].mean(axis=(1, 2))}


def notebook_metric(params: dict, x_one, backend: str = "numba") -> np.ndarray:
    """The notebook's gradient flow on one sequence x_one (T, 1, D): for each t,
    ||d sum(h_t) / d(layer parameters)||_2 (its loop over model.parameters() skips the head,
    which has no gradient)."""
    cell = CELLS[cell_of(params)]
    T = x_one.shape[0]
    h, _, cache = cell.forward(layer_params(params), x_one, backend=backend)
    norms = np.empty(T)
    for t in range(T):
        dh = np.zeros_like(h)
        dh[t] = 1                                                # d sum(h_t) / d h_t
        g = cell.backward(cache, dh)
        norms[t] = np.sqrt(sum(float(np.sum(v.astype(np.float64) ** 2)) for v in g.params.values()))
    return norms


def _gates(params: dict, task, x, y, backend: str) -> dict:
    return gate_statistics(params, x, backend=backend)


def analyses_for(cell: Cell) -> dict[str, Callable[..., Any]]:
    """The analyses that apply to a cell, by the key a run record stores them under, chosen by what the
    cell has (the registry's facts), never by its name: the Jacobian bound for a one-gate cell (the RNN,
    h_t = phi(a_t)); the cell-state path and the gate statistics for a cell with a cell state (the LSTM)."""
    out: dict[str, Callable[..., Any]] = {}
    if cell.gates == 1:
        out["bound"] = jacobian_bound
    if cell.cell_state:
        out.update(cell_path=cell_path, gates=_gates)
    return out


def cell_analyses(params: dict, task, x, y, backend: str = "numba") -> dict:
    """{key: result} of every analysis `analyses_for` the model's cell: arrays (T,), or a dict of them."""
    return {key: fn(params, task, x, y, backend) for key, fn in analyses_for(get_cell(cell_of(params))).items()}
