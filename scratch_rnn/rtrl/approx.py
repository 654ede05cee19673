r"""The deterministic online approximations of RTRL (the stochastic ones: `stochastic`), in the
notation of `exact`: a step's local derivatives A_t, C_t, E_t, its Jacobian J_t = E_t + C_t W_hh P_h,
and the direct influence I_t = dS_t/dtheta|direct (A_t (x) x_t for W_ih, C_t (x) h_{t-1} for W_hh,
A_t and C_t for the biases).

**SnAp-1** (Menick, Elsen, Evci, Osindero, Simonyan & Graves 2021, "Practical real time recurrent
learning with a sparse approximation"): keep only the entries of the influence that one step can
fill. A parameter of row k (gate q, unit j = k mod H) directly moves only unit j's state (h_j, and
c_j for the LSTM), so SnAp-1 keeps M~_t[s, k] for s in unit j alone::

    M~_t = (J_t M~_{t-1}) * mask + I_t,     mask[s, k] = 1 iff state entry s belongs to unit k mod H

Stored as it is kept, m[b, u, k] = M~[b, u H + k mod H, k] (n = S / H entries per unit), the step
needs only the diagonal blocks Jd_t[u, v, j] = J_t[u H + j, v H + j] (`_unit_traces`): O(n P) memory
and O(n^2 P) time a step instead of RTRL's O(S P) and O(S^2 P). Exact when H = 1; for a vanilla RNN
it keeps each unit's own recurrence through its self-connection, J_t[j, j] = phi'_j W_hh[j, j]. Biased.

**e-prop** (Bellec, Scherr, Subramoney, Hajek, Salaj, Legenstein & Maass 2020, "A solution to the
learning dilemma for recurrent networks of spiking neurons"): eligibility traces follow each unit's
own hidden state and nothing that passes between units through W_hh, and the learning signal is
the loss's direct gradient dL/ds_t (the "symmetric" e-prop; a random matrix in its place is the
caller's `dh`). In this notation it is SnAp-1 with E_t, the step's Jacobian through no weight
matrix, in place of J_t: for the LSTM the trace of the cell state, eps_t = f_t eps_{t-1} +
dc_t/dtheta|direct, read out through o_t (1 - tanh^2 c_t) (Bellec et al.'s LSTM traces); for the
GRU the leak through z_t; for the RNN (E_t = 0) the step's immediate derivative, RFLO with tau = 1.

**RFLO** (Murray 2019), for the RNN: J_t reduced to the network's leak (`rflo_gradients`).
"""
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .._numba.rtrl import unit_traces_rnn
from .._validate import PARAM_NAMES, check_backend
from ..cells import CELLS, tiny_problem
from .exact import RTRLGrads, _setup, compile_rtrl, direct_gradient, forward_steps

#: the cells RFLO and KF-RTRL are defined for: the vanilla RNN, the network of Murray (2019) and the
#: Kronecker-factored class of Mujika et al. (2018)
RFLO_CELLS = ("rnn",)
#: the cells whose SnAp-1 and e-prop traces are compiled (`backend="numba"`)
COMPILED_TRACE_CELLS = ("rnn",)


def _unit_blocks(Q: np.ndarray, H: int) -> np.ndarray:
    """The diagonal blocks of a per-unit structured (B, S, S) matrix: Q[b, u H + j, v H + j] as (B, n, n, H),
    n = S / H the state entries of one unit (1, or 2 for the LSTM's h_j and c_j)."""
    n = Q.shape[1] // H
    j = np.arange(H)
    return np.stack([np.stack([Q[:, u * H + j, v * H + j] for v in range(n)], axis=1) for u in range(n)], axis=1)


def _unit_rows(L: np.ndarray, H: int) -> np.ndarray:
    """A local derivative (B, S, G H) on its units' own state entries: L[b, u H + k mod H, k] as (B, n, G H)."""
    n, rows = L.shape[1] // H, np.arange(L.shape[2])
    return np.stack([L[:, u * H + rows % H, rows] for u in range(n)], axis=1)


def _own_jacobian(E: np.ndarray, C: np.ndarray, W_hh_P: np.ndarray | None, H: int) -> np.ndarray:
    """The diagonal blocks (B, n, n, H) of E_t + C_t W_hh P (W_hh_P None: of E_t alone), without forming the
    product: C_t couples row k only to unit k mod H, so block (u, v) of unit j sums the G gate rows of j,
    sum_q C[u H + j, q H + j] W_hh[q H + j, v H + j]."""
    blocks = _unit_blocks(E, H)
    if W_hh_P is None:
        return blocks
    B, n = C.shape[0], C.shape[1] // H
    rows = np.arange(W_hh_P.shape[0])
    w_own = np.stack([W_hh_P[rows, v * H + rows % H] for v in range(n)], axis=1)     # (G H, n): W_hh[k, v H + k mod H]
    through = _unit_rows(C, H)[:, :, :, None] * w_own[None, None]                      # (B, n, G H, n)
    G = W_hh_P.shape[0] // H
    return blocks + through.reshape(B, n, G, H, n).sum(axis=2).transpose(0, 1, 3, 2)   # (B, n, n, H)


def _unit_traces(entry, p, xs, h0, c0, dH, dcl, S, W_hh_P, nonlinearity) -> dict:
    """The influence kept on each unit's own state entries, m[b, u, k, ...] = d s_{u H + k mod H} / d theta[k, ...],
    carried by the per-unit Jacobian blocks Jd_t (W_hh_P given: SnAp-1's, the blocks of J_t; None: e-prop's,
    the blocks of E_t)::

        m_t[b, u, k] = sum_v Jd_t[b, u, v, k mod H] m_{t-1}[b, v, k] + I_t[b, u H + k mod H, k]

    O(n P) memory and O(n^2 P) time a step. Returns the summed gradient sum_t g_t . m_t."""
    _, B, H = dH.shape
    n, dtype = S // H, dH.dtype
    unit = np.arange(p["weight_ih"].shape[0]) % H                                      # the unit of each row k
    m = {k: np.zeros((B, n, *np.shape(p[k])), dtype) for k in PARAM_NAMES}
    grads = {k: np.zeros(np.shape(p[k]), dtype) for k in PARAM_NAMES}
    for t, step in forward_steps(entry, p, xs, h0, c0, nonlinearity):
        A, C, E = entry.step_jacobians(step)
        Jd = _own_jacobian(E, C, W_hh_P, H)[..., unit]                                 # (B, n, n, G H)
        Ad, Cd = _unit_rows(A, H), _unit_rows(C, H)                                    # (B, n, G H)
        carried = {k: np.einsum("buvk,bvk...->buk...", Jd, v) for k, v in m.items()}  # Jd_t m_{t-1}
        m = {"weight_ih": carried["weight_ih"] + Ad[..., None] * step.x[0][:, None, None, :],
             "weight_hh": carried["weight_hh"] + Cd[..., None] * step.h0[:, None, None, :],
             "bias_ih": carried["bias_ih"] + Ad, "bias_hh": carried["bias_hh"] + Cd}   # + I_t on the unit's entries
        g = direct_gradient(dH, dcl, t, S).reshape(B, n, H)[..., unit]                 # dL/ds_t on the row's unit
        for k in PARAM_NAMES:
            grads[k] += np.einsum("buk,buk...->k...", g, m[k])
    return grads


def snap1_gradients(cell: str, params: dict, x: ArrayLike, h0: ArrayLike | None = None, c0: ArrayLike | None = None,
                    dh: ArrayLike | None = None, dc_last: ArrayLike | None = None,
                    nonlinearity: str = "tanh", backend: str = "numpy") -> RTRLGrads:
    """SnAp-1's approximation of the gradient of L = sum_t sum(dh[t] * h_t) + sum(dc_last * c_{T-1}).

    Args:
        cell: "rnn", "lstm" or "gru" (one layer, no projection).
        params: ``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``.
        x: Inputs, (T, B, D).
        h0: The initial hidden state, (B, H); zeros if None.
        c0: The initial cell state, (B, H), LSTM only; zeros if None.
        dh: The gradient into each h_t, (T, B, H); zeros if None.
        dc_last: The gradient into c_{T-1}, (B, H), LSTM only; zeros if None.
        nonlinearity: "tanh" or "relu", the RNN's.
        backend: "numpy" (the reference) or "numba" (the vanilla RNN only: each unit's trace in compiled
            loops, `scratch_rnn._numba.rtrl.unit_traces_rnn`, with no NumPy call a step).

    Returns:
        `RTRLGrads` with the approximate parameter gradients; h0 and c0 are zeros (SnAp-1 keeps no
            influence of the initial state).

    Raises:
        ValueError: An unknown cell, a projection, a wrong shape, or an option the cell does not have.

    Examples:
        >>> from scratch_rnn.rtrl import snap1_gradients
        >>> p = sr.init_pytorch_default("rnn", 2, 3, np.random.default_rng(0))
        >>> x, dh = np.ones((4, 2, 2)), np.ones((4, 2, 3))                        # a loss at every step
        >>> g = snap1_gradients("rnn", p, x, dh=dh)
        >>> g.params["weight_hh"].shape, bool(np.all(g.h0 == 0))                  # no influence of the initial state
        ((3, 3), True)
    """
    entry, p, xs, h0, c0, dH, dcl, S, W_hh_P = _setup(cell, params, x, h0, c0, dh, dc_last, nonlinearity, "unit")
    if _compiled(backend, cell):
        grads = unit_traces_rnn(p, xs, h0, dH, nonlinearity == "relu", True)
    else:
        grads = _unit_traces(entry, p, xs, h0, c0, dH, dcl, S, W_hh_P, nonlinearity)
    return no_state_gradient(grads, dH, entry.cell_state)


def eprop_gradients(cell: str, params: dict, x: ArrayLike, h0: ArrayLike | None = None, c0: ArrayLike | None = None,
                    dh: ArrayLike | None = None, dc_last: ArrayLike | None = None,
                    nonlinearity: str = "tanh", backend: str = "numpy") -> RTRLGrads:
    """e-prop's approximation (Bellec et al. 2020) of the gradient of L = sum_t sum(dh[t] * h_t) + sum(dc_last * c_{T-1}).

    The eligibility traces follow each unit's own state only, through E_t (the module's equations); what
    passes between units through W_hh is dropped, and the learning signal is the loss's direct gradient.

    Args:
        cell: "rnn", "lstm" or "gru" (one layer, no projection).
        params: ``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``.
        x: Inputs, (T, B, D).
        h0: The initial hidden state, (B, H); zeros if None.
        c0: The initial cell state, (B, H), LSTM only; zeros if None.
        dh: The gradient into each h_t, (T, B, H) (e-prop's learning signal); zeros if None.
        dc_last: The gradient into c_{T-1}, (B, H), LSTM only; zeros if None.
        nonlinearity: "tanh" or "relu", the RNN's.
        backend: "numpy" (the reference) or "numba" (the vanilla RNN only, compiled as SnAp-1's).

    Returns:
        `RTRLGrads` with the approximate parameter gradients; h0 and c0 are zeros.

    Raises:
        ValueError: An unknown cell, a projection, a wrong shape, or an option the cell does not have.

    Examples:
        >>> from scratch_rnn.rtrl import eprop_gradients
        >>> p = sr.init_pytorch_default("rnn", 2, 3, np.random.default_rng(0))
        >>> x, dh = np.ones((4, 2, 2)), np.ones((4, 2, 3))                        # a loss at every step
        >>> eprop_gradients("rnn", p, x, dh=dh).params["weight_ih"].shape
        (3, 2)
    """
    entry, p, xs, h0, c0, dH, dcl, S, _ = _setup(cell, params, x, h0, c0, dh, dc_last, nonlinearity, "unit")
    if _compiled(backend, cell):
        grads = unit_traces_rnn(p, xs, h0, dH, nonlinearity == "relu", False)
    else:
        grads = _unit_traces(entry, p, xs, h0, c0, dH, dcl, S, None, nonlinearity)
    return no_state_gradient(grads, dH, entry.cell_state)


def compile_online() -> None:
    """Every compiled kernel the online methods use (`scratch_rnn.rtrl.exact.compile_rtrl`) and the RNN's
    compiled SnAp-1 and e-prop traces, run once on a tiny problem in both dtypes and nonlinearities."""
    compile_rtrl()
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        for name in COMPILED_TRACE_CELLS:
            p, x = tiny_problem(CELLS[name], dtype, rng)
            for nl in CELLS[name].nonlinearities:
                for fn in (snap1_gradients, eprop_gradients):
                    fn(name, p, x, dh=np.ones((3, 2, 3), dtype), nonlinearity=nl, backend="numba")


def _compiled(backend: str, cell: str) -> bool:
    """Whether to run the compiled traces: backend "numba", which the vanilla RNN alone has."""
    if check_backend(backend) == "numba" and cell not in COMPILED_TRACE_CELLS:
        raise ValueError(f"backend: 'numba' runs SnAp-1 and e-prop for the vanilla RNN only, got {cell!r} "
                         "(use backend='numpy')")
    return backend == "numba"


def no_state_gradient(grads: dict, dH: np.ndarray, cell_state: bool) -> RTRLGrads:
    """The approximations keep no influence of the initial state: zeros for dL/dh0 (and dL/dc0)."""
    zeros = np.zeros(dH.shape[1:], dH.dtype)
    return RTRLGrads(params=grads, h0=zeros, c0=zeros.copy() if cell_state else None)


def rflo_gradients(params: dict, x: ArrayLike, h0: ArrayLike | None = None, dh: ArrayLike | None = None,
                   tau: float = 1.0, nonlinearity: str = "tanh") -> RTRLGrads:
    r"""RFLO's approximation (Murray 2019) of the RNN's gradient of L = sum_t sum(dh[t] * h_t).

    RFLO drops the recurrent weights from the step's Jacobian and keeps only the leak: for the leaky
    network h_t = (1 - 1/tau) h_{t-1} + (1/tau) phi(a_t) its trace is::

        p_t = (1 - 1/tau) p_{t-1} + (1/tau) dh_t/dtheta|direct,     dL/dtheta ~ sum_t dh[t] . p_t

    with dh_t/dtheta|direct = phi'(a_t) (x) x_t for W_ih, phi'(a_t) (x) h_{t-1} for W_hh, phi'(a_t)
    for the biases. This package's RNN is PyTorch's, which has no leak: it is the case tau = 1, where
    the trace is the step's immediate derivative and RFLO coincides with e-prop's eligibility traces
    for a unit with no state of its own (Bellec et al. 2020). tau > 1 is the trace a leaky network
    would have, applied to this one: an approximation of an approximation, kept for comparison with
    the papers. Murray's other ingredient, a fixed random matrix in place of the readout's transpose
    in dh, is the caller's choice of `dh`: `scratch_rnn.online.measure` passes the error sent back
    through `measure.feedback_matrix`, and with the readout's own weight there RFLO is e-prop.

    Args:
        params: The RNN's ``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``.
        x: Inputs, (T, B, D).
        h0: The initial hidden state, (B, H); zeros if None.
        dh: The gradient into each h_t, (T, B, H); zeros if None.
        tau: The trace's time constant, >= 1 (1: the network's own, no leak).
        nonlinearity: "tanh" or "relu".

    Returns:
        `RTRLGrads` with the approximate parameter gradients; h0 is zeros (no influence of the
            initial state is kept).

    Raises:
        ValueError: tau < 1, a projection, a wrong shape, or an unknown nonlinearity.

    Examples:
        >>> from scratch_rnn.rtrl import rflo_gradients
        >>> p = sr.init_pytorch_default("rnn", 2, 3, np.random.default_rng(0))
        >>> x, dh = np.ones((4, 2, 2)), np.ones((4, 2, 3))                        # a loss at every step
        >>> rflo_gradients(p, x, dh=dh, tau=2.0).params["weight_hh"].shape
        (3, 3)
    """
    if isinstance(tau, bool) or not (isinstance(tau, (int, float, np.integer, np.floating)) and np.isfinite(tau)
                                     and tau >= 1):
        raise ValueError(f"tau: expected a number >= 1, got {tau!r}")
    entry, p, xs, h0, _, dH, _, S, _ = _setup("rnn", params, x, h0, None, dh, None, nonlinearity)
    T, B, H = dH.shape
    keep, new = 1 - 1 / tau, 1 / tau
    trace = {k: np.zeros((B, *np.shape(p[k])), dH.dtype) for k in PARAM_NAMES}        # p_t, per sequence
    grads = {k: np.zeros(np.shape(p[k]), dH.dtype) for k in PARAM_NAMES}
    for t, step in forward_steps(entry, p, xs, h0, None, nonlinearity):
        h_t, h_prev = step.h[0], step.h0
        d = (h_t > 0).astype(h_t.dtype) if nonlinearity == "relu" else 1 - h_t * h_t  # phi'(a_t)  (B, H)
        direct = {"weight_ih": d[:, :, None] * step.x[0][:, None, :], "weight_hh": d[:, :, None] * h_prev[:, None, :],
                  "bias_ih": d, "bias_hh": d}
        for k in PARAM_NAMES:
            trace[k] = keep * trace[k] + new * direct[k]
            grads[k] += np.einsum("bi,bi...->i...", dH[t], trace[k])                   # dh[t] . p_t, row by row
    return RTRLGrads(params=grads, h0=np.zeros((B, H), dH.dtype), c0=None)
