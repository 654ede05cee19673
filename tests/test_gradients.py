"""The hand-written BPTT against central finite differences and PyTorch autograd (float64)."""
import numpy as np
import pytest

import scratch_rnn as sr
from helpers import BACKWARD, CELLS, FORWARD
from reference import autograd_grads
from scratch_rnn.gradcheck import (FD_TOL, FLOAT32_TOL, TORCH_TOL, analytic_grads, finite_difference_grads,
                                   max_rel_error, random_problem)



@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("T,B,D,H", [(1, 1, 1, 1), (3, 2, 3, 4), (6, 3, 2, 3)])
def test_finite_differences(cell, T, B, D, H, rng):
    prob = random_problem(cell, T, B, D, H, rng)
    ours = analytic_grads(cell, **prob)
    fd = finite_difference_grads(cell, **prob)
    assert set(ours) == set(fd)
    for name in ours:
        assert max_rel_error(ours[name], fd[name]) <= FD_TOL, name


TORCH_CASES = [
    # T, B, D, H, with_state, inject
    (1, 1, 3, 1, True, "all"),
    (1, 4, 2, 5, False, "last"),
    (7, 1, 1, 1, True, "all"),
    (5, 3, 4, 6, False, "all"),
    (9, 2, 3, 8, True, "last"),
    (300, 2, 3, 5, True, "all"),
    (250, 3, 1, 4, False, "last"),
]


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("T,B,D,H,with_state,inject", TORCH_CASES)
def test_against_torch_autograd(cell, T, B, D, H, with_state, inject, rng):
    prob = random_problem(cell, T, B, D, H, rng, with_state=with_state, inject=inject)
    if not with_state:  # omitted, not passed as zeros
        prob["h0"] = prob["c0"] = None
    ours = analytic_grads(cell, **prob)
    ref = autograd_grads(cell, **prob)
    expected = {"weight_ih", "weight_hh", "bias_ih", "bias_hh", "x", "h0", "h"} | ({"c0", "c"} if cell == "lstm" else set())
    assert set(ours) == expected
    for name in expected:
        assert ours[name].shape == ref[name].shape, name
        assert ours[name].dtype == np.float64, name
        assert max_rel_error(ours[name], ref[name]) <= TORCH_TOL, name
    # the two torch paths agree with each other too
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        assert max_rel_error(ref[f"unrolled_{name}"], ref[name]) <= TORCH_TOL, name


@pytest.mark.parametrize("cell", CELLS)
def test_per_timestep_gradients_one_by_one(cell, rng):
    """grads.h[t] (and grads.c[t]) match autograd at every single t, not just overall."""
    prob = random_problem(cell, 40, 2, 2, 3, rng, inject="last")
    ours = analytic_grads(cell, **prob)
    ref = autograd_grads(cell, **prob)
    for q in ("h", "c") if cell == "lstm" else ("h",):
        for t in range(40):
            assert max_rel_error(ours[q][t], ref[q][t]) <= TORCH_TOL, (q, t)


@pytest.mark.parametrize("cell", CELLS)
def test_float32_follows_float64(cell, rng):
    p64 = random_problem(cell, 20, 3, 2, 6, rng)
    p32 = {k: ({n: a.astype(np.float32) for n, a in v.items()} if k == "params"
               else (None if v is None else v.astype(np.float32))) for k, v in p64.items()}
    g64 = analytic_grads(cell, **p64)
    g32 = analytic_grads(cell, **p32)
    for name in g64:
        assert g32[name].dtype == np.float32, name
        assert max_rel_error(g32[name], g64[name]) <= FLOAT32_TOL, name
    fwd = FORWARD[cell]
    out = fwd(p32["params"], p32["x"])
    assert all(a.dtype == np.float32 for a in out[:-1])


@pytest.mark.parametrize("cell", CELLS)
def test_zero_initial_state_equals_omitted(cell, rng):
    prob = random_problem(cell, 8, 3, 2, 4, rng)
    zeros = np.zeros_like(prob["h0"])
    if cell != "lstm":
        h_a, ca = FORWARD[cell](prob["params"], prob["x"])
        h_b, cb = FORWARD[cell](prob["params"], prob["x"], zeros)
        ga, gb = BACKWARD[cell](ca, prob["dh"]), BACKWARD[cell](cb, prob["dh"])
    else:
        h_a, _, ca = sr.lstm_forward(prob["params"], prob["x"])
        h_b, _, cb = sr.lstm_forward(prob["params"], prob["x"], zeros, zeros.copy())
        ga, gb = sr.lstm_backward(ca, prob["dh"]), sr.lstm_backward(cb, prob["dh"], np.zeros_like(zeros))
        np.testing.assert_array_equal(ga.c, gb.c)
        np.testing.assert_array_equal(ga.c0, gb.c0)
    np.testing.assert_array_equal(h_a, h_b)
    np.testing.assert_array_equal(ga.h, gb.h)
    np.testing.assert_array_equal(ga.h0, gb.h0)
    for k in ga.params:
        np.testing.assert_array_equal(ga.params[k], gb.params[k])


def test_inputs_are_not_modified(rng):
    prob = random_problem("lstm", 5, 2, 3, 4, rng)
    before = {k: (v.copy() if isinstance(v, np.ndarray) else {n: a.copy() for n, a in v.items()})
              for k, v in prob.items() if v is not None}
    analytic_grads("lstm", **prob)
    for k, v in before.items():
        if isinstance(v, dict):
            for n in v:
                np.testing.assert_array_equal(prob[k][n], v[n])
        else:
            np.testing.assert_array_equal(prob[k], v)


def test_lstm_saturated_gates_stay_finite():
    """Huge pre-activations: sigmoid and tanh saturate without overflow warnings or NaN."""
    H = 3
    params = {"weight_ih": np.full((4 * H, 1), 800.0), "weight_hh": np.zeros((4 * H, H)),
              "bias_ih": np.zeros(4 * H), "bias_hh": np.zeros(4 * H)}
    x = np.array([1.0, -1.0, 1.0]).reshape(3, 1, 1)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        h, c, cache = sr.lstm_forward(params, x)
        g = sr.lstm_backward(cache, np.ones_like(h))
    assert np.isfinite(h).all() and np.isfinite(g.h).all() and np.isfinite(g.params["weight_ih"]).all()


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("T,B,D,H", [(1, 1, 1, 1), (7, 3, 2, 5), (120, 2, 3, 4)])
def test_relu_rnn_against_torch(backend, T, B, D, H, rng):
    """nn.RNN(nonlinearity="relu"): every gradient, the per-timestep totals included."""
    prob = random_problem("rnn", T, B, D, H, rng)
    ref = autograd_grads("rnn", **prob, nonlinearity="relu")
    h, cache = sr.rnn_forward(prob["params"], prob["x"], prob["h0"], backend=backend, nonlinearity="relu")
    assert (h >= 0).all() and (h.size < 10 or (h == 0).any())     # the ReLU clips
    g = sr.rnn_backward(cache, prob["dh"], backend=backend)
    ours = {**g.params, "x": g.x, "h0": g.h0, "h": g.h}
    for name, value in ours.items():
        assert max_rel_error(value, ref[name]) <= TORCH_TOL, name


def test_relu_rnn_refuses_an_overflowing_state_and_unknown_nonlinearities(rng):
    p = sr.init_pytorch_default("rnn", 1, 3, rng)
    p["weight_hh"][:] = np.eye(3) * 1e3                          # each step multiplies the state by 1000
    p["weight_ih"][:] = 1.0
    x = np.ones((120, 1, 1))
    for backend in ("numpy", "numba"):
        with pytest.raises(ValueError, match=r"the ReLU RNN's state overflowed float64 at step t = 10\d"):
            sr.rnn_forward(p, x, backend=backend, nonlinearity="relu")
    with pytest.raises(ValueError, match=r"nonlinearity: expected one of \('tanh', 'relu'\), got 'sigmoid'"):
        sr.rnn_forward(p, x, nonlinearity="sigmoid")
