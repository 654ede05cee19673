"""The approximations of the recurrent gradient forward in time (SnAp-1, e-prop, RFLO) and its
unbiased estimates (UORO, KF-RTRL): exact where they must be, each against the dense recursion or a
hand computation, unbiased where they claim it."""
import numpy as np
import pytest

from scratch_rnn.cells import CELLS
from scratch_rnn.gradcheck import max_rel_error, random_problem
from scratch_rnn.rtrl import (eprop_gradients, kfrtrl_gradients, rflo_gradients, rtrl_gradients, snap1_gradients,
                              uoro_gradients)
from scratch_rnn.rtrl.exact import _setup, direct_gradient, forward_steps, influence_step, zero_influence

CASES = [("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"), ("gru", "tanh")]


# --- the online approximations -------------------------------------------------------------------------------


KEYS = ("params", "x", "h0", "c0", "dh", "dc_last")


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_snap1_is_exact_with_one_unit(cell, rng):
    """With H = 1 every influence entry is in SnAp-1's pattern: nothing is dropped."""
    prob = random_problem(cell, 7, 2, 2, 1, rng)
    e = rtrl_gradients(cell, **{k: prob[k] for k in KEYS})
    s = snap1_gradients(cell, **{k: prob[k] for k in KEYS})
    assert max(max_rel_error(s.params[k], e.params[k]) for k in e.params) <= 1e-12


def test_snap1_against_a_hand_computation(rng):
    """A tanh RNN with H = 2, by scalar loops: unit i's influence keeps only its own rows,
    m[i, l] <- J[i, i] m[i, l] + phi'_i * input_l, and the gradient sums dh[t, i] m[i, l]."""
    T, D, H = 4, 1, 2
    prob = random_problem("rnn", T, 1, D, H, rng)
    p, x, h0, dh = prob["params"], prob["x"][:, 0], prob["h0"][0], prob["dh"][:, 0]
    h, hp = np.zeros((T, H)), h0
    for t in range(T):
        h[t] = np.tanh(p["weight_ih"] @ x[t] + p["bias_ih"] + p["weight_hh"] @ hp + p["bias_hh"])
        hp = h[t]
    m_hh, m_ih, m_b = np.zeros((H, H)), np.zeros((H, D)), np.zeros(H)   # m_hh[i, l] = d h_i / d W_hh[i, l]
    g_hh, g_ih, g_b = np.zeros((H, H)), np.zeros((H, D)), np.zeros(H)
    for t in range(T):
        prev = h[t - 1] if t > 0 else h0
        d = 1 - h[t] ** 2
        for i in range(H):
            jii = d[i] * p["weight_hh"][i, i]                                  # the diagonal of J_t
            for l in range(H):
                m_hh[i, l] = jii * m_hh[i, l] + d[i] * prev[l]
            for l in range(D):
                m_ih[i, l] = jii * m_ih[i, l] + d[i] * x[t, l]
            m_b[i] = jii * m_b[i] + d[i]
            g_hh[i] += dh[t, i] * m_hh[i]
            g_ih[i] += dh[t, i] * m_ih[i]
            g_b[i] += dh[t, i] * m_b[i]
    s = snap1_gradients("rnn", **{k: prob[k] for k in KEYS})
    np.testing.assert_allclose(s.params["weight_hh"], g_hh, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(s.params["weight_ih"], g_ih, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(s.params["bias_ih"], g_b, rtol=1e-12, atol=1e-15)
    e = rtrl_gradients("rnn", **{k: prob[k] for k in KEYS})
    assert max_rel_error(s.params["weight_hh"], e.params["weight_hh"]) > 1e-3      # and it is an approximation


def _dense(cell, prob, keep: str) -> dict:
    """The approximations as the exact recursion with one change, on the dense (B, S, P) influence:
    keep="snap1": M_t = (J_t M_{t-1}) * mask + I_t, mask[s, k] = [s mod H == k mod H] (Menick et al.);
    keep="eprop": M_t = E_t M_{t-1} + I_t, the step's Jacobian through no weight matrix (Bellec et al.)."""
    spec, p, xs, h0, c0, dH, dcl, S, W = _setup(cell, prob["params"], prob["x"], prob["h0"], prob["c0"], prob["dh"],
                                                prob["dc_last"], "tanh")
    T, B, H = dH.shape
    mask = (np.arange(S)[:, None] % H == np.arange(p["weight_ih"].shape[0])[None, :] % H).astype(dH.dtype)
    M, grads = zero_influence(p, B, S, dH.dtype), {k: 0 for k in p if k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
    for t, step in forward_steps(spec, p, xs, h0, c0, "tanh"):
        A, C, E = spec.step_jacobians(step)
        if keep == "snap1":
            M = influence_step(M, E + C @ W, A, C, step.x[0], step.h0, mask)
        else:
            M = influence_step(M, E, A, C, step.x[0], step.h0)
        g = direct_gradient(dH, dcl, t, S)
        grads = {k: grads[k] + np.einsum("bs,bs...->...", g, M[k]) for k in grads}
    return grads


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("keep,fn", [("snap1", snap1_gradients), ("eprop", eprop_gradients)])
def test_the_per_unit_traces_equal_the_dense_recursion(keep, fn, cell, dtype, rng):
    """SnAp-1 and e-prop keep each parameter's influence on its own unit's state only (O(P), not
    O(S P)); on the dense influence they are the exact recursion with the mask or with E_t for J_t."""
    prob = random_problem(cell, 7, 3, 2, 4, rng, dtype=dtype)
    a, b = fn(cell, **{k: prob[k] for k in KEYS}), _dense(cell, prob, keep)
    assert a.params["weight_hh"].dtype == dtype
    assert max(max_rel_error(a.params[k], b[k]) for k in b) <= (1e-12 if dtype == np.float64 else 1e-5)


def test_eprop_of_the_rnn_is_rflo_without_leak(rng):
    """The RNN's unit has no state of its own (E_t = 0): e-prop's trace is the step's immediate derivative."""
    prob = random_problem("rnn", 6, 2, 2, 4, rng)
    e = eprop_gradients("rnn", prob["params"], prob["x"], prob["h0"], dh=prob["dh"])
    r = rflo_gradients(prob["params"], prob["x"], prob["h0"], prob["dh"])
    assert max(max_rel_error(e.params[k], r.params[k]) for k in r.params) <= 1e-14


def test_eprop_of_the_lstm_against_a_hand_computation(rng):
    """Bellec et al.'s LSTM traces by scalar loops, H = 2, for W_hh: eps_t = f_t eps_{t-1} + dc_t/dW|direct,
    e_t = o_t (1 - tanh^2 c_t) eps_t + dh_t/dW|direct through the output gate;
    grad = sum_t dh[t] e_t + dc_last eps_{T-1}."""
    T, D, H = 4, 1, 2
    prob = random_problem("lstm", T, 1, D, H, rng)
    p, x, dh = prob["params"], prob["x"][:, 0], prob["dh"][:, 0]
    sig = lambda v: 1 / (1 + np.exp(-v))                                            # noqa: E731
    h, c = prob["h0"][0], prob["c0"][0]
    eps, grad = np.zeros((4 * H, H)), np.zeros((4 * H, H))                          # per row k of W_hh, on unit k mod H
    for t in range(T):
        a = p["weight_ih"] @ x[t] + p["bias_ih"] + p["weight_hh"] @ h + p["bias_hh"]
        i, f, g, o = sig(a[:H]), sig(a[H:2 * H]), np.tanh(a[2 * H:3 * H]), sig(a[3 * H:])
        c_new = f * c + i * g
        tc = np.tanh(c_new)
        for k in range(4 * H):
            q, j = divmod(k, H)
            dc_da = [g[j] * i[j] * (1 - i[j]), c[j] * f[j] * (1 - f[j]), i[j] * (1 - g[j] ** 2), 0.0][q]
            eps[k] = f[j] * eps[k] + dc_da * h                                       # own cell state, through f
            e = o[j] * (1 - tc[j] ** 2) * eps[k] + (tc[j] * o[j] * (1 - o[j]) * h if q == 3 else 0)
            grad[k] += dh[t, j] * e + (prob["dc_last"][0, j] * eps[k] if t == T - 1 else 0)
        h, c = o * tc, c_new
    r = eprop_gradients("lstm", **{k: prob[k] for k in KEYS})
    np.testing.assert_allclose(r.params["weight_hh"], grad, rtol=1e-12, atol=1e-15)
    exact = rtrl_gradients("lstm", **{k: prob[k] for k in KEYS})
    assert max_rel_error(r.params["weight_hh"], exact.params["weight_hh"]) > 1e-3   # it drops what W_hh carries


def test_kfrtrl_is_exact_for_one_step(rng):
    """One step: u~ (x) K = c_1^2 u_0 (x) D_0, the direct influence itself, whatever the signs."""
    prob = random_problem("rnn", 1, 3, 2, 4, rng)
    e = rtrl_gradients("rnn", prob["params"], prob["x"], prob["h0"], dh=prob["dh"])
    k = kfrtrl_gradients(prob["params"], prob["x"], np.random.default_rng(5), prob["h0"], prob["dh"])
    assert max(max_rel_error(k.params[n], e.params[n]) for n in e.params) <= 1e-13


def test_kfrtrl_is_unbiased(rng):
    """As UORO's: the mean of n estimates approaches the exact gradient as 1 / sqrt(n) (64 times the
    draws: an eighth of the error, the median over 5 seeds)."""
    prob = random_problem("rnn", 6, 1, 2, 3, rng)
    exact = rtrl_gradients("rnn", prob["params"], prob["x"], prob["h0"], dh=prob["dh"])
    truth = np.concatenate([exact.params[k].ravel() for k in exact.params])

    def error(n, seed):
        rep = {k: np.repeat(prob[k], n, axis=prob[k].ndim - 2) for k in ("x", "h0", "dh")}
        u = kfrtrl_gradients(prob["params"], rep["x"], np.random.default_rng(seed), rep["h0"], rep["dh"])
        return np.linalg.norm(np.concatenate([u.params[k].ravel() / n for k in exact.params]) - truth) / np.linalg.norm(truth)
    small = np.median([error(256, seed) for seed in range(5)])           # a median: one draw of the error is
    large = np.median([error(16384, seed) for seed in range(5, 10)])     # chi-like, with a long tail
    assert large < small / 4 and large < 0.03
    with pytest.raises(TypeError, match="rng: expected a numpy.random.Generator"):
        kfrtrl_gradients(prob["params"], prob["x"], 0)


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_uoro_is_unbiased(cell, rng):
    """The mean of n independent estimates (one sequence repeated n times, its own signs each)
    approaches the exact gradient as 1 / sqrt(n): 64 times the draws, about an eighth of the error."""
    prob = random_problem(cell, 6, 1, 2, 3, rng)
    exact = rtrl_gradients(cell, **{k: prob[k] for k in KEYS})

    def error(n, seed):
        rep = {k: None if prob[k] is None else np.repeat(prob[k], n, axis=prob[k].ndim - 2) for k in KEYS[1:]}
        u = uoro_gradients(cell, prob["params"], rep["x"], np.random.default_rng(seed), **{k: rep[k] for k in KEYS[2:]})
        mean = np.concatenate([u.params[k].ravel() / n for k in exact.params])
        truth = np.concatenate([exact.params[k].ravel() for k in exact.params])
        return np.linalg.norm(mean - truth) / np.linalg.norm(truth)
    small, large = error(256, 1), error(16384, 2)
    assert large < small / 3 and large < 0.15


def test_the_approximations_refuse_what_they_do_not_cover(rng):
    prob = random_problem("gru", 3, 2, 2, 3, rng)
    with pytest.raises(TypeError, match="rng: expected a numpy.random.Generator"):
        uoro_gradients("gru", prob["params"], prob["x"], 0)
    with pytest.raises(ValueError, match="dc_last: only the LSTM has a cell state"):
        snap1_gradients("gru", prob["params"], prob["x"], dc_last=np.zeros((2, 3)))



# --- RFLO ------------------------------------------------------------------------------------------------------


def test_rflo_with_no_leak_is_the_immediate_derivative(rng):
    """tau = 1: each step's own derivative, nothing carried: sum_t da_t^T h_{t-1}, da_t = dh_t phi'(a_t)."""
    prob = random_problem("rnn", 6, 2, 2, 4, rng)
    r = rflo_gradients(prob["params"], prob["x"], prob["h0"], prob["dh"])
    h, _, _ = CELLS["rnn"].forward(prob["params"], prob["x"], prob["h0"])
    h_prev = np.concatenate([prob["h0"][None], h[:-1]])
    da = prob["dh"] * (1 - h * h)
    np.testing.assert_allclose(r.params["weight_hh"], np.einsum("tbi,tbj->ij", da, h_prev), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(r.params["weight_ih"], np.einsum("tbi,tbj->ij", da, prob["x"]), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(r.params["bias_hh"], da.sum(axis=(0, 1)), rtol=1e-12, atol=1e-15)


def test_rflo_trace_leaks_by_hand(rng):
    """tau = 2, two steps, the loss at the second: p_1 = (1/2) p_0 + (1/2) d_1 h_0 with p_0 = (1/2) d_0 h_{-1}."""
    prob = random_problem("rnn", 2, 1, 1, 2, rng, inject="last")
    r = rflo_gradients(prob["params"], prob["x"], prob["h0"], prob["dh"], tau=2.0)
    h, _, _ = CELLS["rnn"].forward(prob["params"], prob["x"], prob["h0"])
    d0, d1 = 1 - h[0, 0] ** 2, 1 - h[1, 0] ** 2
    p1 = 0.5 * (0.5 * np.outer(d0, prob["h0"][0])) + 0.5 * np.outer(d1, h[0, 0])
    np.testing.assert_allclose(r.params["weight_hh"], prob["dh"][1, 0][:, None] * p1, rtol=1e-12)


def test_rflo_is_biased_and_refuses_what_it_does_not_cover(rng):
    prob = random_problem("rnn", 6, 2, 2, 4, rng, inject="last")
    exact = rtrl_gradients("rnn", prob["params"], prob["x"], prob["h0"], dh=prob["dh"])
    r = rflo_gradients(prob["params"], prob["x"], prob["h0"], prob["dh"])
    assert max_rel_error(r.params["weight_hh"], exact.params["weight_hh"]) > 1e-3
    for bad in (0.5, float("nan"), "2"):
        with pytest.raises(ValueError, match="tau: expected a number >= 1"):
            rflo_gradients(prob["params"], prob["x"], tau=bad)


