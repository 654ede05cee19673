r"""Online approximations of RTRL, in the notation of `exact`: a step's local derivatives A_t, C_t,
E_t, its Jacobian J_t = E_t + C_t W_hh P_h, and the direct influence I_t = dS_t/dtheta|direct
(A_t (x) x_t for W_ih, C_t (x) h_{t-1} for W_hh, A_t and C_t for the biases).

**SnAp-1** (Menick, Elsen, Evci, Osindero, Simonyan & Graves 2021, "Practical real time recurrent
learning with a sparse approximation"): keep only the entries of the influence that one step can
fill, the pattern of I_t. A parameter of row k (gate q, unit j = k mod H) then influences only unit j's
state (h_j, and c_j for the LSTM)::

    M~_t = (J_t M~_{t-1}) * mask + I_t,     mask[s, k] = 1 iff state entry s belongs to unit k mod H

which costs O(S P) a step instead of O(S^2 P) in a sparse implementation (this reference keeps the
dense arrays and applies the mask, to read like the exact recursion). It is exact when H = 1, and
for a vanilla RNN it keeps each unit's own recurrence through its self-connection, the diagonal of
J_t. Biased.

**UORO** (Tallec & Ollivier 2018, "Unbiased online recurrent optimization", Algorithm 1): a rank-one,
unbiased estimate M~_t = s~_t theta~_t^T per sequence. With fresh random signs nu_t (S,) each step::

    s~_t     = rho0 J_t s~_{t-1} + rho1 nu_t
    theta~_t = theta~_{t-1} / rho0 + (nu_t^T I_t) / rho1
    rho0 = sqrt(|theta~_{t-1}| / |J_t s~_{t-1}|),   rho1 = sqrt(|nu_t^T I_t| / |nu_t|)

(each rho with a small epsilon, and rho0 = 1 while s~ is still 0). E[nu nu^T] = I makes E[s~_t
theta~_t^T] = M_t: the estimate g = sum_t (dL/ds_t . s~_t) theta~_t is unbiased, with a variance that
grows with T and S. Costs O(S^2 + P) a step given J_t s~ (this reference builds J_t densely first).

**RFLO** (Murray 2019), for the RNN: J_t reduced to the network's leak (`rflo_gradients`).
"""
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .._validate import PARAM_NAMES
from .exact import _LOCAL, RTRLGrads, _setup, direct_gradient, forward_steps, influence_step, zero_influence

_EPS = 1e-7
#: the cells RFLO is defined for: the vanilla RNN, the network of Murray (2019)
RFLO_CELLS = ("rnn",)


def snap1_gradients(cell: str, params: dict, x: ArrayLike, h0: ArrayLike | None = None, c0: ArrayLike | None = None,
                    dh: ArrayLike | None = None, dc_last: ArrayLike | None = None,
                    nonlinearity: str = "tanh") -> RTRLGrads:
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

    Returns:
        `RTRLGrads` with the approximate parameter gradients; h0 and c0 are zeros (SnAp-1 keeps no
        influence of the initial state).

    Raises:
        ValueError: An unknown cell, a projection, a wrong shape, or an option the cell does not have.
    """
    spec, p, xs, dH, dcl, S, W_hh_P = _setup(cell, params, x, h0, c0, dh, dc_last, nonlinearity)
    T, B, H = dH.shape
    unit = np.arange(S) % H
    mask = (unit[:, None] == np.arange(p["weight_ih"].shape[0])[None, :] % H).astype(dH.dtype)   # (S, G H)
    M = zero_influence(p, B, S, dH.dtype)
    grads = {k: np.zeros(np.shape(p[k]), dH.dtype) for k in PARAM_NAMES}
    for t, step in forward_steps(spec, p, xs, h0, c0, nonlinearity):
        A, C, E = _LOCAL[spec.name](step, 0, nonlinearity)
        J = E + C @ W_hh_P
        M = influence_step(M, J, A, C, step.x[0], step.h0, mask)                   # (J M) * mask + I_t
        g = direct_gradient(dH, dcl, t, S)
        for k in PARAM_NAMES:
            grads[k] += np.einsum("bs,bs...->...", g, M[k])
    zeros = np.zeros((B, H), dH.dtype)
    return RTRLGrads(params=grads, h0=zeros, c0=zeros.copy() if spec.cell_state else None)


def uoro_gradients(cell: str, params: dict, x: ArrayLike, rng: np.random.Generator, h0: ArrayLike | None = None,
                   c0: ArrayLike | None = None, dh: ArrayLike | None = None, dc_last: ArrayLike | None = None,
                   nonlinearity: str = "tanh") -> RTRLGrads:
    """UORO's unbiased estimate of the gradient of L = sum_t sum(dh[t] * h_t) + sum(dc_last * c_{T-1}).

    Each sequence of the batch carries its own rank-one estimate (its own random signs), and the
    batch's estimate is their sum, as the exact gradient is.

    Args:
        cell: "rnn", "lstm" or "gru" (one layer, no projection).
        params: ``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``.
        x: Inputs, (T, B, D).
        rng: The generator of the random signs.
        h0: The initial hidden state, (B, H); zeros if None.
        c0: The initial cell state, (B, H), LSTM only; zeros if None.
        dh: The gradient into each h_t, (T, B, H); zeros if None.
        dc_last: The gradient into c_{T-1}, (B, H), LSTM only; zeros if None.
        nonlinearity: "tanh" or "relu", the RNN's.

    Returns:
        `RTRLGrads` with the estimated parameter gradients; h0 and c0 are zeros (UORO estimates the
        parameters' gradient only).

    Raises:
        ValueError: An unknown cell, a projection, a wrong shape, or an option the cell does not have.
        TypeError: `rng` is not a ``numpy.random.Generator``.
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng: expected a numpy.random.Generator, got {type(rng).__name__}")
    spec, p, xs, dH, dcl, S, W_hh_P = _setup(cell, params, x, h0, c0, dh, dc_last, nonlinearity)
    T, B, H = dH.shape
    dtype = dH.dtype
    s_t = np.zeros((B, S), dtype)                                                     # s~
    th = {k: np.zeros((B, *np.shape(p[k])), dtype) for k in PARAM_NAMES}             # theta~, per sequence
    grads = {k: np.zeros(np.shape(p[k]), dtype) for k in PARAM_NAMES}

    def norm(arrays) -> np.ndarray:                                                   # per sequence
        return np.sqrt(sum(np.sum(a.reshape(B, -1) ** 2, axis=1) for a in arrays))
    for t, step in forward_steps(spec, p, xs, h0, c0, nonlinearity):
        A, C, E = _LOCAL[spec.name](step, 0, nonlinearity)
        J = E + C @ W_hh_P
        h_prev = step.h0
        nu = rng.choice(np.array([-1.0, 1.0], dtype), size=(B, S))                   # random signs
        Js = np.einsum("bij,bj->bi", J, s_t)
        nuA, nuC = np.einsum("bs,bsk->bk", nu, A), np.einsum("bs,bsk->bk", nu, C)   # nu^T ds/dgi, nu^T ds/dgh
        nuI = {"weight_ih": nuA[:, :, None] * step.x[0][:, None, :], "weight_hh": nuC[:, :, None] * h_prev[:, None, :],
               "bias_ih": nuA, "bias_hh": nuC}
        n_js, n_th = norm([Js]), norm(th.values())
        rho0 = np.where(n_js > 0, np.sqrt((n_th + _EPS) / (n_js + _EPS)), 1.0)
        rho1 = np.sqrt((norm(nuI.values()) + _EPS) / (norm([nu]) + _EPS))
        s_t = rho0[:, None] * Js + rho1[:, None] * nu
        for k in PARAM_NAMES:
            shape = (B,) + (1,) * (th[k].ndim - 1)
            th[k] = th[k] / rho0.reshape(shape) + nuI[k] / rho1.reshape(shape)
        coef = np.einsum("bs,bs->b", direct_gradient(dH, dcl, t, S), s_t)                          # dL/ds_t . s~_t
        for k in PARAM_NAMES:
            grads[k] += np.einsum("b,b...->...", coef, th[k])
    zeros = np.zeros((B, H), dtype)
    return RTRLGrads(params=grads, h0=zeros, c0=zeros.copy() if spec.cell_state else None)


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
    in dh, is the caller's choice of `dh`; here dh is whatever the caller passes (the exact one in
    `scratch_rnn.rtrl.measure`).

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
    """
    if not (isinstance(tau, (int, float)) and np.isfinite(tau) and tau >= 1):
        raise ValueError(f"tau: expected a number >= 1, got {tau!r}")
    spec, p, xs, dH, _, S, _ = _setup("rnn", params, x, h0, None, dh, None, nonlinearity)
    T, B, H = dH.shape
    keep, new = 1 - 1 / tau, 1 / tau
    trace = {k: np.zeros((B, *np.shape(p[k])), dH.dtype) for k in PARAM_NAMES}        # p_t, per sequence
    grads = {k: np.zeros(np.shape(p[k]), dH.dtype) for k in PARAM_NAMES}
    for t, step in forward_steps(spec, p, xs, h0, None, nonlinearity):
        h_t, h_prev = step.h[0], step.h0
        d = (h_t > 0).astype(h_t.dtype) if nonlinearity == "relu" else 1 - h_t * h_t  # phi'(a_t)  (B, H)
        direct = {"weight_ih": d[:, :, None] * step.x[0][:, None, :], "weight_hh": d[:, :, None] * h_prev[:, None, :],
                  "bias_ih": d, "bias_hh": d}
        for k in PARAM_NAMES:
            trace[k] = keep * trace[k] + new * direct[k]
            grads[k] += np.einsum("bi,bi...->i...", dH[t], trace[k])                   # dh[t] . p_t, row by row
    return RTRLGrads(params=grads, h0=np.zeros((B, H), dH.dtype), c0=None)
