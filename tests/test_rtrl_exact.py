"""RTRL, the exact gradient forward in time: the influence recursion gives the gradient BPTT gives, for
every cell, every loss shape, with and without initial states, in float64 to 1e-12 and float32 to its
tolerance, and against PyTorch autograd; its memory does not grow with T; its compiled step mirrors
the NumPy one."""
import numpy as np
import pytest

from scratch_rnn.cells import CELLS
from scratch_rnn.gradcheck import NUMBA_TOL, TORCH_TOL, max_rel_error, random_problem
from scratch_rnn.rtrl import (rtrl_gradients, snap1_gradients,
                              uoro_gradients)

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



@pytest.mark.parametrize("fn", [rtrl_gradients, snap1_gradients, "uoro"])
def test_memory_does_not_grow_with_the_sequence(fn, rng):
    """RTRL's point: no stored past. The peak allocation (tracemalloc) of a 40-step and a 640-step
    sequence differ by less than one stored copy of the states would add."""
    import tracemalloc
    B, D, H = 2, 3, 5

    def peak(T):
        prob = random_problem("lstm", T, B, D, H, rng)
        call = (lambda: uoro_gradients("lstm", prob["params"], prob["x"], rng, dh=prob["dh"])) if fn == "uoro" \
            else (lambda: fn("lstm", prob["params"], prob["x"], dh=prob["dh"]))
        tracemalloc.start()
        try:
            call()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    short, long = peak(40), peak(640)
    assert long - short < 600 * B * H * 8            # 600 more steps of h alone would be more than this


# --- the Numba mirror of the influence step ---------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("cell,nl", CASES)
def test_the_numba_influence_step_mirrors_the_reference(cell, nl, dtype, rng):
    tol = NUMBA_TOL[np.dtype(dtype)]
    prob = random_problem(cell, 8, 3, 2, 4, rng, inject="all", dtype=dtype)
    args = (cell, prob["params"], prob["x"], prob["h0"], prob["c0"], prob["dh"], prob["dc_last"])
    ref = rtrl_gradients(*args, nonlinearity=nl)
    fast = rtrl_gradients(*args, nonlinearity=nl, backend="numba")
    assert fast.params["weight_hh"].dtype == dtype
    assert max(max_rel_error(fast.params[k], ref.params[k]) for k in ref.params) <= tol
    assert max_rel_error(fast.h0, ref.h0) <= tol


def test_rtrl_refuses_an_unknown_backend(rng):
    prob = random_problem("rnn", 3, 2, 2, 3, rng)
    with pytest.raises(ValueError, match="backend: expected one of"):
        rtrl_gradients("rnn", prob["params"], prob["x"], backend="cuda")


@pytest.mark.parametrize("cell,nl", CASES)
def test_float32_stays_float32_inside(cell, nl, rng, monkeypatch):
    """Every step's Jacobian is in the inputs' dtype: a float64 constant would silently run float32
    problems in float64."""
    from dataclasses import replace

    from scratch_rnn.rtrl import exact
    seen = []
    spy = replace(CELLS[cell], _step_jacobians=lambda step: seen.append(CELLS[cell].step_jacobians(step)) or seen[-1])
    monkeypatch.setattr(exact, "get_cell", lambda name: spy)
    prob = random_problem(cell, 4, 2, 2, 3, rng, dtype=np.float32)
    rtrl_gradients(cell, prob["params"], prob["x"], dh=prob["dh"], nonlinearity=nl)
    assert {m.dtype for step in seen for m in step} == {np.dtype(np.float32)}




@pytest.mark.filterwarnings("ignore:overflow encountered in matmul:RuntimeWarning")   # the step before the refusal
def test_a_relu_state_that_overflows_is_refused_not_carried(rng):
    """The steps run unchecked; a ReLU state that overflows float32 is still refused, naming the step."""
    prob = random_problem("rnn", 6, 2, 2, 3, rng, dtype=np.float32)
    params = {k: (v * 1e15 if k == "weight_hh" else v).astype(np.float32) for k, v in prob["params"].items()}
    params["weight_hh"] = np.abs(params["weight_hh"]) + np.float32(1e15)
    x = np.abs(prob["x"]) + 1
    with pytest.raises(ValueError, match="overflowed float32 at step t = "):
        rtrl_gradients("rnn", params, x, dh=prob["dh"], nonlinearity="relu")


def test_an_influence_beyond_memory_is_refused_before_it_is_allocated(monkeypatch):
    """H = 600 LSTM: RTRL's influence is (B, 2H, 4H (D + H + 2)) floats, about 26 GiB a copy; refused
    with the sizes and what to change instead of a MemoryError (or swapping) mid-call."""
    from scratch_rnn import _resources
    from scratch_rnn.rtrl import eprop_gradients
    monkeypatch.setattr(_resources, "available_memory", lambda: 8 * 2 ** 30)
    H = 600
    p = {"weight_ih": np.zeros((4 * H, 1)), "weight_hh": np.zeros((4 * H, H)), "bias_ih": np.zeros(4 * H),
         "bias_hh": np.zeros(4 * H)}
    with pytest.raises(ValueError, match=r"x, params: the influence arrays of lstm RTRL \(B = 2, S = 1200 state entries, "
                                         r"1,447,200 parameters\): needs about 77.6 GiB of memory, more than the 8 GiB"):
        rtrl_gradients("lstm", p, np.zeros((3, 2, 1)))
    g = eprop_gradients("lstm", p, np.zeros((3, 2, 1)))          # the unit traces: 2 x 1.4M floats a sequence fit
    assert g.params["weight_hh"].shape == (4 * H, H)
