"""Checks of one layer's hand-written BPTT (every cell) against finite differences and autograd.

The loss used throughout is the one that makes every gradient of the contract visible::

    L = sum_t sum(dh[t] * h_t) + sum(dc_last * c_{T-1})        (the c term for the LSTM only)

so dL/dh_t (direct) = dh[t] and dL/dc_{T-1} (direct) = dc_last, exactly what `rnn_backward`,
`lstm_backward` and `gru_backward` take. The total dL/dh_t and dL/dc_t are checked through a suffix identity: the
loss depends on h_t (and c_t) through the direct term at t and through the forward pass over
x[t+1:] started from (h_t, c_t), so perturbing h_t and rerunning only that suffix measures the
total gradient.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .._validate import PARAM_NAMES
from ..cells import CELLS as _REGISTRY
from .common import max_rel_error, numerical_gradient

#: the cells every check covers: every cell of the registry
CELLS = tuple(_REGISTRY)
#: (T, B, D, H) of the sizes `scratch-rnn gradcheck` checks by default
DEFAULT_SIZES = ((1, 1, 1, 1), (1, 1, 3, 1), (4, 3, 2, 5), (12, 2, 3, 4))
#: the gradients a check reports, in order (c0 and c exist for the LSTM only)
QUANTITIES = (*PARAM_NAMES, "x", "h0", "c0", "h", "c")


def layer_loss(cell: str, params: dict, x, h0, c0, dh, dc_last) -> float:
    """The check loss L above, from a fresh forward pass."""
    h, c, _ = _REGISTRY[cell].forward(params, x, h0, c0)
    return float(np.sum(dh * h)) + (float(np.sum(dc_last * c[-1])) if c is not None else 0.0)


def analytic_grads(cell: str, params: dict, x, h0, c0, dh, dc_last, backend: str = "numpy") -> dict:
    """The hand-written gradients of L, as a dict keyed by QUANTITIES."""
    spec = _REGISTRY[cell]
    _, _, cache = spec.forward(params, x, h0, c0, backend=backend)
    g = spec.backward(cache, dh, dc_last)                        # the forward pass's backend
    out = {**g.params, "x": g.x, "h0": g.h0, "h": g.h}
    return {**out, "c0": g.c0, "c": g.c} if spec.cell_state else out


def finite_difference_grads(cell: str, params: dict, x, h0, c0, dh, dc_last, eps: float = 1e-6) -> dict:
    """Central-difference estimates of every gradient in QUANTITIES (float64 inputs expected)."""
    params = {k: v.copy() for k, v in params.items()}
    x, h0 = x.copy(), h0.copy()
    c0 = None if c0 is None else c0.copy()
    loss = lambda: layer_loss(cell, params, x, h0, c0, dh, dc_last)  # noqa: E731
    out = {k: numerical_gradient(loss, params[k], eps) for k in params}
    out["x"] = numerical_gradient(loss, x, eps)
    out["h0"] = numerical_gradient(loss, h0, eps)
    if _REGISTRY[cell].cell_state:
        out["c0"] = numerical_gradient(loss, c0, eps)
    out.update(_per_timestep_fd(cell, params, x, h0, c0, dh, dc_last, eps))
    return out


def _per_timestep_fd(cell, params, x, h0, c0, dh, dc_last, eps) -> dict:
    """Total dL/dh_t (and dL/dc_t) for every t, by perturbing the state at t and rerunning x[t+1:]."""
    T = x.shape[0]
    if not _REGISTRY[cell].cell_state:
        h_all = _REGISTRY[cell].forward(params, x, h0)[0]
        dh_fd = np.empty_like(h_all)
        for t in range(T):
            h_t = h_all[t].copy()

            def loss_from_h(t=t, h_t=h_t):  # L as a function of h_t alone
                rest = layer_loss(cell, params, x[t + 1:], h_t, None, dh[t + 1:], None) if t + 1 < T else 0.0
                return float(np.sum(dh[t] * h_t)) + rest

            dh_fd[t] = numerical_gradient(loss_from_h, h_t, eps)
        return {"h": dh_fd}
    h_all, c_all, cache = _REGISTRY[cell].forward(params, x, h0, c0)   # the LSTM: h_t = o_t tanh(c_t)
    assert c_all is not None                                     # a cell with a cell state returns it
    dh_fd, dc_fd = np.empty_like(h_all), np.empty_like(c_all)
    for t in range(T):
        h_t, c_t = h_all[t].copy(), c_all[t].copy()
        o_t = cache.gates[t, 3]

        def suffix(h_start, c_start, t=t):  # the loss terms computed after step t
            if t + 1 == T:
                return float(np.sum(dc_last * c_start))
            return layer_loss(cell, params, x[t + 1:], h_start, c_start, dh[t + 1:], dc_last)

        def loss_from_hc(t=t, h_t=h_t, c_t=c_t):  # L as a function of h_t, c_t held fixed
            return float(np.sum(dh[t] * h_t)) + suffix(h_t, c_t)

        def loss_from_c(t=t, c_t=c_t, o_t=o_t):  # L as a function of c_t; h_t = o_t tanh(c_t) follows
            h_of_c = o_t * np.tanh(c_t)
            return float(np.sum(dh[t] * h_of_c)) + suffix(h_of_c, c_t)

        dh_fd[t] = numerical_gradient(loss_from_hc, h_t, eps)
        dc_fd[t] = numerical_gradient(loss_from_c, c_t, eps)
    return {"h": dh_fd, "c": dc_fd}


def random_problem(cell: str, T: int, B: int, D: int, H: int, rng: np.random.Generator,
                   dtype=np.float64, with_state: bool = True, inject: str = "all") -> dict:
    """A random layer, input and upstream gradient for a check.

    ``inject="all"`` puts a random dh at every step, ``"last"`` only at the last step (a
    classifier on h_{T-1}). With ``with_state`` h0 (and c0) are random, else zeros.
    """
    spec = _REGISTRY[cell]
    G = spec.gates
    k = 1.0 / np.sqrt(H)
    params = {
        "weight_ih": rng.uniform(-k, k, (G * H, D)), "weight_hh": rng.uniform(-k, k, (G * H, H)),
        "bias_ih": rng.uniform(-k, k, G * H), "bias_hh": rng.uniform(-k, k, G * H),
    }
    state = (lambda: rng.standard_normal((B, H)) * 0.5) if with_state else (lambda: np.zeros((B, H)))
    dh = rng.standard_normal((T, B, H))
    if inject == "last":
        dh[:-1] = 0.0
    elif inject != "all":
        raise ValueError(f"inject: expected 'all' or 'last', got {inject!r}")
    prob: dict[str, Any] = {
        "params": params, "x": rng.standard_normal((T, B, D)), "h0": state(),
        "c0": state() if spec.cell_state else None, "dh": dh,
        "dc_last": rng.standard_normal((B, H)) if spec.cell_state else None,
    }
    cast = lambda a: None if a is None else np.asarray(a, dtype=dtype)  # noqa: E731
    return {k: ({n: cast(a) for n, a in v.items()} if k == "params" else cast(v)) for k, v in prob.items()}


def check_rows(sizes=DEFAULT_SIZES, backends=("numpy",), seed: int = 0, with_torch: bool = True,
               device: str = "cpu") -> list[dict]:
    """One row per (cell, size, backend, quantity): its error against finite differences and,
    when `with_torch`, against PyTorch autograd (`reference.autograd_grads`)."""
    if with_torch:
        from reference import autograd_grads
    rows = []
    rng = np.random.default_rng(seed)
    for cell in CELLS:
        for T, B, D, H in sizes:
            prob = random_problem(cell, T, B, D, H, rng)
            fd = finite_difference_grads(cell, **prob)
            ref = autograd_grads(cell, **prob, device=device) if with_torch else {}
            for backend in backends:
                ours = analytic_grads(cell, **prob, backend=backend)
                for q in QUANTITIES:
                    if q not in ours:
                        continue
                    rows.append({
                        "cell": cell, "T": T, "B": B, "D": D, "H": H, "backend": backend, "quantity": q,
                        "fd_error": max_rel_error(ours[q], fd[q]),
                        "torch_error": max_rel_error(ours[q], ref[q]) if with_torch else None,
                    })
    return rows
