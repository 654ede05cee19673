r"""The stochastic online approximations of RTRL: unbiased estimates of the influence M_t, in the
notation of `exact` (the deterministic ones: `approx`). Each sequence of a batch carries its own
estimate with its own random signs, and the batch's gradient is the sum of theirs, as the exact one is.

**UORO** (Tallec & Ollivier 2018, "Unbiased online recurrent optimization", Algorithm 1): a rank-one,
unbiased estimate M~_t = s~_t theta~_t^T per sequence. With fresh random signs nu_t (S,) each step::

    s~_t     = rho0 J_t s~_{t-1} + rho1 nu_t
    theta~_t = theta~_{t-1} / rho0 + (nu_t^T I_t) / rho1
    rho0 = sqrt(|theta~_{t-1}| / |J_t s~_{t-1}|),   rho1 = sqrt(|nu_t^T I_t| / |nu_t|)

(each rho with a small epsilon, and rho0 = 1 while s~ is still 0). E[nu nu^T] = I makes E[s~_t
theta~_t^T] = M_t: the estimate g = sum_t (dL/ds_t . s~_t) theta~_t is unbiased, with a variance that
grows with T and S. Costs O(S^2 + P) a step given J_t s~ (this reference builds J_t densely first).

**KF-RTRL** (Mujika, Meier & Steger 2018), for the RNN: an unbiased estimate of the influence as one
Kronecker product per sequence (`kfrtrl_gradients`).
"""
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .._validate import PARAM_NAMES
from .approx import no_state_gradient
from .exact import RTRLGrads, _setup, direct_gradient, forward_steps

_EPS = 1e-7


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

    Examples:
        >>> from scratch_rnn.rtrl import uoro_gradients
        >>> p = sr.init_pytorch_default("rnn", 2, 3, np.random.default_rng(0))
        >>> x, dh = np.ones((4, 2, 2)), np.ones((4, 2, 3))                        # a loss at every step
        >>> g = uoro_gradients("rnn", p, x, np.random.default_rng(1), dh=dh)      # unbiased, one random draw
        >>> g.params["weight_hh"].shape
        (3, 3)
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng: expected a numpy.random.Generator, got {type(rng).__name__}")
    entry, p, xs, h0, c0, dH, dcl, S, W_hh_P = _setup(cell, params, x, h0, c0, dh, dc_last, nonlinearity)
    T, B, H = dH.shape
    dtype = dH.dtype
    s_t = np.zeros((B, S), dtype)                                                     # s~
    th = {k: np.zeros((B, *np.shape(p[k])), dtype) for k in PARAM_NAMES}             # theta~, per sequence
    grads = {k: np.zeros(np.shape(p[k]), dtype) for k in PARAM_NAMES}

    def norm(arrays) -> np.ndarray:                                                   # per sequence
        return np.sqrt(sum(np.sum(a.reshape(B, -1) ** 2, axis=1) for a in arrays))
    for t, step in forward_steps(entry, p, xs, h0, c0, nonlinearity):
        A, C, E = entry.step_jacobians(step)
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
    return no_state_gradient(grads, dH, entry.cell_state)


def kfrtrl_gradients(params: dict, x: ArrayLike, rng: np.random.Generator, h0: ArrayLike | None = None,
                     dh: ArrayLike | None = None, nonlinearity: str = "tanh") -> RTRLGrads:
    r"""KF-RTRL's unbiased estimate (Mujika, Meier & Steger 2018) of the RNN's gradient of L = sum_t sum(dh[t] * h_t).

    The RNN's direct influence is a Kronecker product: with u_t = [x_t, h_{t-1}, 1] (what row j of the
    stacked weights [W_ih, W_hh, b] multiplies) and D_t = diag(phi'(a_t)), dh_t[i]/dW[j, l]|direct =
    D_t[i, j] u_t[l]. KF-RTRL keeps the whole influence as one such product per sequence,
    M~_t[i, (j, l)] = K_t[i, j] u~_t[l], K (H, H) and u~ (D + H + 1,). The exact step
    J_t M~_{t-1} + I_t = u~_{t-1} (x) (J_t K_{t-1}) + u_t (x) D_t is a sum of two such products;
    with two fresh random signs c_0, c_1 each step it is replaced by one::

        u~_t = c_0 p_0 u~_{t-1} + c_1 p_1 u_t
        K_t  = c_0 / p_0 J_t K_{t-1} + c_1 / p_1 D_t
        p_0 = sqrt(|J_t K_{t-1}| / |u~_{t-1}|),   p_1 = sqrt(|D_t| / |u_t|)      (Frobenius norms)

    E[c_0 c_1] = 0 makes E[u~_t (x) K_t] = J_t M~_{t-1} + I_t, so the estimate g = sum_t
    (K_t^T dh[t]) (x) u~_t is unbiased; the p's are the ones Mujika et al. choose to keep its variance small, and
    each carries a small epsilon (p_0 = 1 while u~ is still 0). O(H^3) time a step for J_t K (against
    exact RTRL's O(H^4)) and O(H^2) memory per sequence. J_t = D_t W_hh. Both biases see u's last entry, 1,
    and get the same estimate.

    Args:
        params: The RNN's ``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``.
        x: Inputs, (T, B, D).
        rng: The generator of the random signs.
        h0: The initial hidden state, (B, H); zeros if None.
        dh: The gradient into each h_t, (T, B, H); zeros if None.
        nonlinearity: "tanh" or "relu".

    Returns:
        `RTRLGrads` with the estimated parameter gradients (each sequence of the batch its own
            estimate, summed); h0 is zeros.

    Raises:
        ValueError: A projection, a wrong shape, or an unknown nonlinearity.
        TypeError: `rng` is not a ``numpy.random.Generator``.

    Examples:
        >>> from scratch_rnn.rtrl import kfrtrl_gradients
        >>> p = sr.init_pytorch_default("rnn", 2, 3, np.random.default_rng(0))
        >>> x, dh = np.ones((4, 2, 2)), np.ones((4, 2, 3))                        # a loss at every step
        >>> kfrtrl_gradients(p, x, np.random.default_rng(1), dh=dh).params["bias_hh"].shape
        (3,)
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng: expected a numpy.random.Generator, got {type(rng).__name__}")
    entry, p, xs, h0, _, dH, _, S, _ = _setup("rnn", params, x, h0, None, dh, None, nonlinearity)
    T, B, H = dH.shape
    D, dtype = xs.shape[2], dH.dtype
    u = np.zeros((B, D + H + 1), dtype)                                               # u~, per sequence
    K = np.zeros((B, H, H), dtype)
    g_rows = np.zeros((H, D + H + 1), dtype)                                          # dL/d[W_ih, W_hh, b]
    for t, step in forward_steps(entry, p, xs, h0, None, nonlinearity):
        h_t = step.h[0]
        d = (h_t > 0).astype(dtype) if nonlinearity == "relu" else 1 - h_t * h_t       # phi'(a_t)  (B, H)
        u_t = np.concatenate([step.x[0], step.h0, np.ones((B, 1), dtype)], axis=1)     # [x_t, h_{t-1}, 1]
        JK = d[:, :, None] * (p["weight_hh"] @ K)                                     # J_t K_{t-1} = D_t W_hh K_{t-1}
        n_jk, n_u = np.linalg.norm(JK.reshape(B, -1), axis=1), np.linalg.norm(u, axis=1)
        p0 = np.where(n_u > 0, np.sqrt((n_jk + _EPS) / (n_u + _EPS)), 1.0)
        p1 = np.sqrt((np.linalg.norm(d, axis=1) + _EPS) / (np.linalg.norm(u_t, axis=1) + _EPS))
        c = rng.choice(np.array([-1.0, 1.0], dtype), size=(B, 2))                     # random signs
        u = (c[:, 0] * p0)[:, None] * u + (c[:, 1] * p1)[:, None] * u_t
        K = (c[:, 0] / p0)[:, None, None] * JK + (c[:, 1] / p1)[:, None, None] * (d[:, :, None] * np.eye(H, dtype=dtype))
        v = np.einsum("bi,bij->bj", dH[t], K)                                         # K_t^T dh[t]
        g_rows += v.T @ u                                                              # (K^T dh) (x) u~, summed over b
    grads = {"weight_ih": g_rows[:, :D].copy(), "weight_hh": g_rows[:, D:D + H].copy(),
             "bias_ih": g_rows[:, -1].copy(), "bias_hh": g_rows[:, -1].copy()}
    return no_state_gradient(grads, dH, False)
