r"""Real-time recurrent learning (Williams & Zipser 1989): the exact gradient, carried forward in time.

BPTT sends dL/ds_t backwards from the end; RTRL carries the *influence* of every parameter on the
state forwards, M_t = ds_t/dtheta, and needs no stored past. With the state s_t (h_t for the RNN and
the GRU, [h_t, c_t] for the LSTM), the step's inputs gi_t = x_t W_ih^T + b_ih and gh_t = h_{t-1} W_hh^T
+ b_hh, and the step's local derivatives

    A_t = ds_t/dgi_t,   C_t = ds_t/dgh_t   (S, G H),     E_t = ds_t/ds_{t-1} through no product (S, S)

the Jacobian of one step and the influence recursion are, per sequence::

    J_t = E_t + C_t W_hh P                                  (S, S)   P: the h part of the state
    M_t[W_ih] = J_t M_{t-1}[W_ih] + A_t (x) x_t               (S, G H, D)
    M_t[W_hh] = J_t M_{t-1}[W_hh] + C_t (x) h_{t-1}           (S, G H, H)
    M_t[b_ih] = J_t M_{t-1}[b_ih] + A_t,   M_t[b_hh] = J_t M_{t-1}[b_hh] + C_t
    N_t       = J_t N_{t-1},  N_{-1} = I                       (S, S)   ds_t/ds_{-1}, for h0 (c0)

and the gradient of a loss whose direct gradients are g_t = dL/ds_t|direct is the sum of what each
step's state passes on through its influence: dL/dtheta = sum_t g_t M_t, dL/ds_{-1} = sum_t g_t N_t.
Here g_t = [dh[t], 0] (and dc_last at T-1 for the LSTM), the same loss `scratch_rnn.lstm_backward`
and the others differentiate, so the two gradients are equal to rounding.

Per cell (elementwise; a_t = gi_t + gh_t for the RNN and the LSTM, so A_t = C_t there):

* RNN: h_t = phi(a_t); A_t = C_t = diag(phi'(a_t)); E_t = 0.
* LSTM (i, f, g, o): dc_t/da = [diag(g i(1-i)), diag(c_{t-1} f(1-f)), diag(i (1-g^2)), 0],
  dh_t/da = diag(o (1 - tanh^2 c_t)) dc_t/da + [0, 0, 0, diag(tanh(c_t) o(1-o))];
  E_t: dc_t/dc_{t-1} = diag(f), dh_t/dc_{t-1} = diag(o (1 - tanh^2 c_t) f), nothing from h_{t-1}.
* GRU (r, z, n, b_hn inside the reset product): with k = (1-z)(1-n^2),
  dh/dgi = [diag(k gh_n r(1-r)), diag((h_{t-1} - n) z(1-z)), diag(k)],
  dh/dgh = [the same r and z parts, diag(k r)]; E_t = diag(z).

Cost: the influence has S x P entries per sequence (P parameters), and each step multiplies it by
J_t: O(S^2 P) time a step and O(S P) memory, whatever T; BPTT needs O(T S) memory. The states and
gates of each step are those the cell's own forward pass computes, run one step at a time from the
previous state (`forward_steps`), so the two methods see the same numbers and nothing older than
s_{t-1} is kept.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from .._numba.rtrl import carry
from .._resources import check_memory
from .._validate import PARAM_NAMES, as_float_array, check_backend, check_shape, check_state, check_x
from ..cells import CELLS, Cell, compile_kernels, get_cell, tiny_problem


@dataclass(frozen=True)
class RTRLGrads:
    """The gradients RTRL computes.

    Attributes:
        params: dL/dparameter under the keys of the parameter dict.
        h0: dL/dh0, (B, H).
        c0: dL/dc0, (B, H), for the LSTM; None otherwise.
    """

    params: dict
    h0: np.ndarray
    c0: np.ndarray | None


def forward_steps(cell: Cell, p: dict, x, h0, c0, nonlinearity: str):
    """(t, the cache of step t alone) for every step: the cell's own forward pass run one step at a
    time from the previous step's state, so that step t's states and gates are at hand (as the cache's
    step 0, with h_{t-1}, c_{t-1} as its h0, c0) and nothing older is kept: memory does not grow with T.
    The arguments are those `_setup` checked once: each step runs the unchecked loops
    (`Cell.forward_checked`), and only a state that overflowed (the ReLU RNN's) is refused."""
    h, c = h0, c0
    for t in range(len(x)):
        with np.errstate(over="ignore", invalid="ignore"):             # an overflowing state is refused below
            h_t, c_t, step = cell.forward_checked(p, x[t:t + 1], h, c, nonlinearity=nonlinearity)
        if not np.isfinite(h_t).all():
            raise ValueError(f"x, params, h0: the state overflowed {x.dtype} at step t = {t}; scale the inputs "
                             "or the parameters down, or use float64")
        yield t, step
        h, c = h_t[0], (c_t[0] if c_t is not None else None)


def _setup(name, params, x, h0, c0, dh, dc_last, nonlinearity, influence: str = "none"):
    """Check everything once, before any step. Returns (the `Cell`, the checked parameters, x, h0, c0,
    dh, dc_last, S, W_hh P): the arrays in x's dtype, h0 and c0 filled with zeros where None (c0 None
    for a cell without a cell state). `influence`: "full" (RTRL's (B, S, n_params)), "unit" (SnAp-1's
    and e-prop's (B, S / H, n_params)) or "none": the influence arrays that must fit in memory, three at
    once (the carried, the new and the old), checked before any is allocated."""
    cell = get_cell(name)
    cell.check_options(nonlinearity=nonlinearity, c0=c0, dc_last=dc_last)
    if "weight_hr" in params:
        raise ValueError("params: RTRL here (and its approximations) covers layers without a projection, got 'weight_hr'")
    x = check_x(x)
    T, B, _ = x.shape
    *_, first = cell.forward(params, x[:1], h0, c0, nonlinearity=nonlinearity)   # checks params, h0, c0 against x
    p = first.params
    H = p["weight_hh"].shape[1]
    dh = np.zeros((T, B, H), x.dtype) if dh is None else as_float_array("dh", dh, x.dtype)
    check_shape("dh", dh, (T, B, H), "(T, B, H)")
    dcl = check_state("dc_last", dc_last, B, H, x.dtype) if cell.cell_state else None
    S = 2 * H if cell.cell_state else H
    if influence != "none":
        n_params = sum(int(np.prod(np.shape(p[k]))) for k in PARAM_NAMES)
        rows = S if influence == "full" else S // H
        check_memory(f"x, params: the influence arrays of {name} RTRL (B = {B}, S = {S} state entries, {n_params:,} "
                     "parameters)", 3 * B * rows * n_params * x.dtype.itemsize,
                     "use a smaller batch or hidden size (the influence grows as B H^3 for full RTRL)")
    W_hh_P = np.zeros((p["weight_hh"].shape[0], S), x.dtype)
    W_hh_P[:, :H] = p["weight_hh"]                                                          # dgh/ds: the h part
    return cell, p, x, first.h0, getattr(first, "c0", None), dh, dcl, S, W_hh_P


def zero_influence(p: dict, B: int, S: int, dtype) -> dict:
    """M_{-1} = ds_{-1}/dtheta = 0, per sequence: (B, S, *shape of the parameter)."""
    return {k: np.zeros((B, S, *np.shape(p[k])), dtype) for k in PARAM_NAMES}


def carry_reference(J: np.ndarray, M: np.ndarray) -> np.ndarray:
    """J_t M_{t-1} per sequence, (B, S, S) times (B, S, ...): ``einsum("bij,bj...->bi...")`` written as
    one batched matrix product over the influence's trailing axes flattened, which runs in the BLAS
    (einsum without a contraction path runs its own unblocked loop; `benchmarks/online_cost.py` measures
    the change)."""
    B, S = M.shape[:2]
    return (J @ M.reshape(B, S, -1)).reshape(M.shape)


def influence_step(M: dict, J, A, C, x_t, h_prev, mask=None) -> dict:
    """M_t = J_t M_{t-1} + I_t for the four parameters (SnAp-1: (J_t M_{t-1}) * mask + I_t)."""
    carried = {k: carry_reference(J, v) for k, v in M.items()}                       # J_t M_{t-1}
    if mask is not None:
        carried = {k: v * (mask[:, :, None] if v.ndim == 4 else mask) for k, v in carried.items()}
    return {"weight_ih": carried["weight_ih"] + A[:, :, :, None] * x_t[:, None, None, :],
            "weight_hh": carried["weight_hh"] + C[:, :, :, None] * h_prev[:, None, None, :],
            "bias_ih": carried["bias_ih"] + A, "bias_hh": carried["bias_hh"] + C}


def direct_gradient(dh, dcl, t: int, S: int) -> np.ndarray:
    """dL/ds_t, direct, (B, S): [dh[t], 0], and dc_last at the last step."""
    T, B, H = dh.shape
    g = np.zeros((B, S), dh.dtype)
    g[:, :H] = dh[t]
    if dcl is not None and t == T - 1:
        g[:, H:] = dcl
    return g


def rtrl_gradients(cell: str, params: dict, x: ArrayLike, h0: ArrayLike | None = None, c0: ArrayLike | None = None,
                   dh: ArrayLike | None = None, dc_last: ArrayLike | None = None,
                   nonlinearity: str = "tanh", backend: str = "numpy") -> RTRLGrads:
    """The exact gradient of L = sum_t sum(dh[t] * h_t) + sum(dc_last * c_{T-1}) by RTRL (the module's equations).

    Args:
        cell: "rnn", "lstm" or "gru" (one layer, no projection).
        params: ``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh`` with PyTorch's shapes and gate order.
        x: Inputs, (T, B, D), float32 or float64.
        h0: The initial hidden state, (B, H); zeros if None.
        c0: The initial cell state, (B, H), LSTM only; zeros if None.
        dh: The gradient the loss sends directly into each h_t, (T, B, H); zeros if None.
        dc_last: The gradient into c_{T-1}, (B, H), LSTM only; zeros if None.
        nonlinearity: "tanh" or "relu", the RNN's.
        backend: "numpy" (the reference, each step's einsum) or "numba" (the influence step compiled,
            `scratch_rnn._numba.rtrl`, one matrix product per sequence and step).

    Returns:
        `RTRLGrads`: every parameter gradient, dL/dh0 (and dL/dc0), equal to BPTT's to rounding.

    Raises:
        ValueError: An unknown cell, a projection, a wrong shape, or an option the cell does not have.
        TypeError: An array is not float32 or float64, or not of x's dtype.

    Examples:
        >>> from scratch_rnn.rtrl import rtrl_gradients
        >>> p = sr.init_pytorch_default("rnn", 2, 3, np.random.default_rng(0))
        >>> x, dh = np.ones((4, 2, 2)), np.ones((4, 2, 3))                        # a loss at every step
        >>> g = rtrl_gradients("rnn", p, x, dh=dh)                                 # forward in time
        >>> bptt = sr.rnn_backward(sr.rnn_forward(p, x)[1], dh)                     # backward in time
        >>> bool(np.allclose(g.params["weight_hh"], bptt.params["weight_hh"]))
        True
    """
    backend = check_backend(backend)
    entry, p, xs, h0, c0, dH, dcl, S, W_hh_P = _setup(cell, params, x, h0, c0, dh, dc_last, nonlinearity,
                                                        "full")
    T, B, H = dH.shape
    dtype = dH.dtype
    M = zero_influence(p, B, S, dtype)                                                      # ds_{-1}/dtheta = 0
    N = np.broadcast_to(np.eye(S, dtype=dtype), (B, S, S)).copy()                           # ds_{-1}/ds_{-1}
    grads = {k: np.zeros(np.shape(p[k]), dtype) for k in PARAM_NAMES}
    g_s0 = np.zeros((B, S), dtype)
    for t, step in forward_steps(entry, p, xs, h0, c0, nonlinearity):
        A, C, E = entry.step_jacobians(step)
        J = E + C @ W_hh_P                                                                 # (B, S, S) ds_t/ds_{t-1}
        h_prev = step.h0                                                                   # h_{t-1}
        if backend == "numba":                                                             # the same step, compiled
            M = {"weight_ih": carry(J, M["weight_ih"], A, step.x[0]), "weight_hh": carry(J, M["weight_hh"], C, h_prev),
                 "bias_ih": carry(J, M["bias_ih"], A, None), "bias_hh": carry(J, M["bias_hh"], C, None)}
        else:
            M = influence_step(M, J, A, C, step.x[0], h_prev)
        N = J @ N                                                                          # ds_t/ds_{-1}
        g = direct_gradient(dH, dcl, t, S)                                                 # dL/ds_t, direct
        for k in PARAM_NAMES:                                                              # what step t passes on
            grads[k] += np.tensordot(g, M[k], axes=([0, 1], [0, 1]))                      # sum_b,s g M
        g_s0 += np.einsum("bs,bsr->br", g, N)
    return RTRLGrads(params=grads, h0=g_s0[:, :H], c0=g_s0[:, H:] if entry.cell_state else None)



def compile_rtrl() -> None:
    """The cells' kernels (`scratch_rnn.cells.compile_kernels`) and RTRL's compiled influence step, run
    once on a tiny problem in both dtypes, with each nonlinearity: compiled, or loaded from the cache
    (`scratch_rnn.rtrl.approx.compile_online` adds the approximations' compiled traces)."""
    compile_kernels()
    rng = np.random.default_rng(0)
    for cell in CELLS.values():
        for dtype in (np.float32, np.float64):
            p, x = tiny_problem(cell, dtype, rng)
            for nl in cell.nonlinearities:
                rtrl_gradients(cell.name, p, x, dh=np.ones((3, 2, 3), dtype), nonlinearity=nl, backend="numba")
