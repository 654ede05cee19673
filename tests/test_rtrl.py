"""RTRL: the influence recursion gives the gradient BPTT gives, for every cell, every loss shape,
with and without initial states, in float64 to 1e-12 and float32 to its tolerance, and against
PyTorch autograd."""
import numpy as np
import pytest

from scratch_rnn.cells import CELLS
from scratch_rnn.gradcheck import NUMBA_TOL, TORCH_TOL, max_rel_error, random_problem
from scratch_rnn.rtrl import rtrl_gradients

CASES = [("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"), ("gru", "tanh")]


def _both(cell, nl, prob):
    r = rtrl_gradients(cell, prob["params"], prob["x"], prob["h0"], prob["c0"], prob["dh"], prob["dc_last"],
                       nonlinearity=nl)
    _, _, cache = CELLS[cell].forward(prob["params"], prob["x"], prob["h0"], prob["c0"], nonlinearity=nl)
    return r, CELLS[cell].backward(cache, prob["dh"], prob["dc_last"])


def _errors(r, g) -> list[float]:
    errs = [max_rel_error(r.params[k], g.params[k]) for k in g.params] + [max_rel_error(r.h0, g.h0)]
    return errs + ([max_rel_error(r.c0, g.c0)] if r.c0 is not None else [])


@pytest.mark.parametrize("inject", ["last", "all"])
@pytest.mark.parametrize("with_state", [True, False])
@pytest.mark.parametrize("cell,nl", CASES)
def test_rtrl_equals_bptt_in_float64(cell, nl, inject, with_state, rng):
    prob = random_problem(cell, 9, 3, 2, 5, rng, with_state=with_state, inject=inject)
    r, g = _both(cell, nl, prob)
    assert max(_errors(r, g)) <= 1e-12


@pytest.mark.parametrize("cell,nl", CASES)
def test_rtrl_equals_bptt_in_float32(cell, nl, rng):
    prob = random_problem(cell, 9, 3, 2, 5, rng, dtype=np.float32)
    r, g = _both(cell, nl, prob)
    assert r.params["weight_hh"].dtype == np.float32
    assert max(_errors(r, g)) <= NUMBA_TOL[np.dtype(np.float32)]


@pytest.mark.parametrize("cell,nl", CASES)
def test_rtrl_equals_autograd(cell, nl, rng):
    pytest.importorskip("torch")
    from reference import autograd_grads
    prob = random_problem(cell, 6, 2, 3, 4, rng)
    r = rtrl_gradients(cell, prob["params"], prob["x"], prob["h0"], prob["c0"], prob["dh"], prob["dc_last"],
                       nonlinearity=nl)
    ref = autograd_grads(cell, **prob, nonlinearity=nl)
    assert max(max_rel_error(r.params[k], ref[k]) for k in r.params) <= TORCH_TOL
    assert max_rel_error(r.h0, ref["h0"]) <= TORCH_TOL


def test_rtrl_refuses_what_it_does_not_cover(rng):
    prob = random_problem("rnn", 3, 2, 2, 3, rng)
    with pytest.raises(ValueError, match="c0: only the LSTM has a cell state"):
        rtrl_gradients("rnn", prob["params"], prob["x"], c0=np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"cell: expected one of \('rnn', 'lstm', 'gru'\)"):
        rtrl_gradients("tcn", prob["params"], prob["x"])
    lstm = random_problem("lstm", 3, 2, 2, 3, rng)
    with pytest.raises(ValueError, match="covers layers without a projection"):
        rtrl_gradients("lstm", {**lstm["params"], "weight_hr": np.zeros((2, 3))}, lstm["x"])
