"""Finite-difference checks of the hand-written BPTT.

The loss used throughout is the one that makes every gradient of the contract visible::

    L = sum_t sum(dh[t] * h_t) + sum(dc_last * c_{T-1})        (the c term for the LSTM only)

so dL/dh_t (direct) = dh[t] and dL/dc_{T-1} (direct) = dc_last, exactly what `rnn_backward` and
`lstm_backward` take. The total dL/dh_t and dL/dc_t are checked through a suffix identity: the
loss depends on h_t (and c_t) through the direct term at t and through the forward pass over
x[t+1:] started from (h_t, c_t), so perturbing h_t and rerunning only that suffix measures the
total gradient.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ._validate import GATES
from .gru import gru_backward, gru_forward
from .lstm import lstm_backward, lstm_forward
from .rnn import rnn_backward, rnn_forward

#: the cells every check covers
CELLS = ("rnn", "lstm", "gru")
#: the gradients a check reports, in order (c0 and c exist for the LSTM only)
QUANTITIES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "x", "h0", "c0", "h", "c")


def max_rel_error(actual: np.ndarray, expected: np.ndarray) -> float:
    """max |actual - expected| / max(max |actual|, max |expected|): the error relative to the
    largest magnitude of the gradient (0 when both are exactly zero)."""
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    if actual.shape != expected.shape:
        raise ValueError(f"actual: expected shape {expected.shape}, got {actual.shape}")
    scale = max(np.abs(actual).max(initial=0.0), np.abs(expected).max(initial=0.0))
    err = np.abs(actual - expected).max(initial=0.0)
    return 0.0 if err == 0.0 else float(err / scale)


def numerical_gradient(f: Callable[[], float], arr: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences (f(a + eps) - f(a - eps)) / (2 eps) for every entry of `arr`, which
    `f` reads; `arr` is perturbed in place and restored exactly."""
    grad = np.zeros_like(arr, dtype=np.float64)
    flat, gflat = arr.reshape(-1), grad.reshape(-1)
    for k in range(flat.size):
        old = flat[k]
        flat[k] = old + eps
        up = f()
        flat[k] = old - eps
        down = f()
        flat[k] = old
        gflat[k] = (up - down) / (2 * eps)
    return grad


def layer_loss(cell: str, params: dict, x, h0, c0, dh, dc_last) -> float:
    """The check loss L above, from a fresh forward pass."""
    if cell in ("rnn", "gru"):
        h = (rnn_forward if cell == "rnn" else gru_forward)(params, x, h0)[0]
        return float(np.sum(dh * h))
    h, c, _ = lstm_forward(params, x, h0, c0)
    return float(np.sum(dh * h) + np.sum(dc_last * c[-1]))


def analytic_grads(cell: str, params: dict, x, h0, c0, dh, dc_last, backend: str = "numpy") -> dict:
    """The hand-written gradients of L, as a dict keyed by QUANTITIES."""
    if cell == "rnn":
        _, cache = rnn_forward(params, x, h0, backend=backend)
        gr = rnn_backward(cache, dh, backend=backend)
        return {**gr.params, "x": gr.x, "h0": gr.h0, "h": gr.h}
    if cell == "gru":
        _, gcache = gru_forward(params, x, h0, backend=backend)
        gg = gru_backward(gcache, dh, backend=backend)
        return {**gg.params, "x": gg.x, "h0": gg.h0, "h": gg.h}
    _, _, lcache = lstm_forward(params, x, h0, c0, backend=backend)
    gl = lstm_backward(lcache, dh, dc_last, backend=backend)
    return {**gl.params, "x": gl.x, "h0": gl.h0, "c0": gl.c0, "h": gl.h, "c": gl.c}


def finite_difference_grads(cell: str, params: dict, x, h0, c0, dh, dc_last, eps: float = 1e-6) -> dict:
    """Central-difference estimates of every gradient in QUANTITIES (float64 inputs expected)."""
    params = {k: v.copy() for k, v in params.items()}
    x, h0 = x.copy(), h0.copy()
    c0 = None if c0 is None else c0.copy()
    loss = lambda: layer_loss(cell, params, x, h0, c0, dh, dc_last)  # noqa: E731
    out = {k: numerical_gradient(loss, params[k], eps) for k in params}
    out["x"] = numerical_gradient(loss, x, eps)
    out["h0"] = numerical_gradient(loss, h0, eps)
    if cell == "lstm":
        out["c0"] = numerical_gradient(loss, c0, eps)
    out.update(_per_timestep_fd(cell, params, x, h0, c0, dh, dc_last, eps))
    return out


def _per_timestep_fd(cell, params, x, h0, c0, dh, dc_last, eps) -> dict:
    """Total dL/dh_t (and dL/dc_t) for every t, by perturbing the state at t and rerunning x[t+1:]."""
    T = x.shape[0]
    if cell in ("rnn", "gru"):
        h_all = (rnn_forward if cell == "rnn" else gru_forward)(params, x, h0)[0]
        dh_fd = np.empty_like(h_all)
        for t in range(T):
            h_t = h_all[t].copy()

            def loss_from_h(t=t, h_t=h_t):  # L as a function of h_t alone
                rest = layer_loss(cell, params, x[t + 1:], h_t, None, dh[t + 1:], None) if t + 1 < T else 0.0
                return float(np.sum(dh[t] * h_t)) + rest

            dh_fd[t] = numerical_gradient(loss_from_h, h_t, eps)
        return {"h": dh_fd}
    h_all, c_all, cache = lstm_forward(params, x, h0, c0)
    dh_fd, dc_fd = np.empty_like(h_all), np.empty_like(c_all)
    for t in range(T):
        h_t, c_t = h_all[t].copy(), c_all[t].copy()
        o_t = cache.gates[t, 3]

        def suffix(h_start, c_start, t=t):  # the loss terms computed after step t
            if t + 1 == T:
                return float(np.sum(dc_last * c_start))
            return layer_loss("lstm", params, x[t + 1:], h_start, c_start, dh[t + 1:], dc_last)

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
    G = GATES[cell]
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
        "c0": state() if cell == "lstm" else None, "dh": dh,
        "dc_last": rng.standard_normal((B, H)) if cell == "lstm" else None,
    }
    cast = lambda a: None if a is None else np.asarray(a, dtype=dtype)  # noqa: E731
    return {k: ({n: cast(a) for n, a in v.items()} if k == "params" else cast(v)) for k, v in prob.items()}


#: (T, B, D, H) of the sizes `scratch-rnn gradcheck` checks by default
DEFAULT_SIZES = ((1, 1, 1, 1), (1, 1, 3, 1), (4, 3, 2, 5), (12, 2, 3, 4))
# Tolerances: the one place the tests and the `gradcheck` command take them from. Each is a bound
# on `max_rel_error`, the error relative to the gradient's largest magnitude.
FD_TOL = 1e-7        # central differences, eps = 1e-6, float64
TORCH_TOL = 1e-10    # autograd, float64
#: Numba against the NumPy reference, per dtype
NUMBA_TOL = {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 1e-5}
#: float32 against float64, the same computation
FLOAT32_TOL = 1e-4


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


#: the columns that name a row of `check_rows`: (key, format spec)
LAYER_COLUMNS = (("cell", "<5"), ("T", ">4"), ("B", ">3"), ("D", ">3"), ("H", ">3"))


def format_rows(rows: list[dict], columns=LAYER_COLUMNS) -> str:
    """The rows as a fixed-width table, one line per gradient, failures marked; `columns` name a row."""
    head = "".join(f"{k:{spec}}" for k, spec in columns)
    head += f"  {'backend':<8}{'gradient':<10}{'vs finite diff':>15}{'vs torch':>12}  status"
    lines = [head, "-" * len(head)]
    for r in rows:
        torch_err = "n/a" if r["torch_error"] is None else f"{r['torch_error']:.1e}"
        ok = r["fd_error"] <= FD_TOL and (r["torch_error"] is None or r["torch_error"] <= TORCH_TOL)
        lines.append("".join(f"{r[k]:{spec}}" for k, spec in columns) + f"  {r['backend']:<8}{r['quantity']:<10}"
                     f"{r['fd_error']:>15.1e}{torch_err:>12}  {'ok' if ok else 'FAIL'}")
    return "\n".join(lines)


def rows_pass(rows: list[dict]) -> bool:
    """True when every error is within FD_TOL and TORCH_TOL."""
    return all(r["fd_error"] <= FD_TOL and (r["torch_error"] is None or r["torch_error"] <= TORCH_TOL) for r in rows)
