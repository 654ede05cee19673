"""The Numba kernels against the NumPy reference: same contract, same numbers."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import scratch_rnn as sr
from helpers import BACKWARD, CELLS, FORWARD, GATES
from scratch_rnn.gradcheck import NUMBA_TOL, analytic_grads, max_rel_error, random_problem
from scratch_rnn._activations import sigmoid

CASES = [  # T, B, D, H, with_state
    (1, 1, 1, 1, True), (1, 3, 4, 2, False), (7, 1, 1, 5, True), (13, 5, 3, 7, False),
    (40, 32, 1, 64, True), (300, 2, 2, 3, True), (9, 300, 2, 3, False), (5, 2, 70, 33, True),
    (3, 1, 2, 300, False),  # H > 256: the recurrent product uses the strided view w_hh.T
]


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("T,B,D,H,with_state", CASES)
def test_numba_matches_numpy(cell, dtype, T, B, D, H, with_state, rng):
    tol = NUMBA_TOL[np.dtype(dtype)]
    prob = random_problem(cell, T, B, D, H, rng, dtype=dtype, with_state=with_state)
    if not with_state:
        prob["h0"] = prob["c0"] = None
    ref = analytic_grads(cell, **prob, backend="numpy")
    fast = analytic_grads(cell, **prob, backend="numba")
    assert set(fast) == set(ref)
    for name in ref:
        assert fast[name].dtype == dtype and fast[name].shape == ref[name].shape, name
        assert max_rel_error(fast[name], ref[name]) <= tol, name
    fwd = FORWARD[cell]
    args = (prob["params"], prob["x"], prob["h0"]) + ((prob["c0"],) if cell == "lstm" else ())
    out_ref, out_fast = fwd(*args, backend="numpy"), fwd(*args, backend="numba")
    for a, b in zip(out_ref[:-1], out_fast[:-1]):
        assert b.dtype == dtype and max_rel_error(b, a) <= tol
    if cell != "rnn":
        assert max_rel_error(out_fast[-1].gates, out_ref[-1].gates) <= tol


def test_numba_backward_of_numpy_cache_and_back(rng):
    """The caches are the same arrays, so backends can be mixed between forward and backward."""
    prob = random_problem("lstm", 6, 3, 2, 4, rng)
    _, _, cache = sr.lstm_forward(prob["params"], prob["x"], backend="numpy")
    a = sr.lstm_backward(cache, prob["dh"], backend="numba")
    b = sr.lstm_backward(cache, prob["dh"], backend="numpy")
    assert max_rel_error(a.h, b.h) <= NUMBA_TOL[np.dtype(np.float64)]


@pytest.fixture(scope="module")
def apply_activation():
    from scratch_rnn._numba.activations import sigmoid_, tanh_
    from scratch_rnn._numba.flags import jit

    @jit
    def apply(z, which):
        if which == 0:
            tanh_(z)
        else:
            sigmoid_(z)
    return apply


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_vector_tanh_and_sigmoid_accuracy(dtype, apply_activation):
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.standard_normal(20000) * 4, np.linspace(-800, 800, 4001),
                        np.logspace(-40, 2, 500), -np.logspace(-40, 2, 500)]).astype(dtype)
    tiny, eps = np.finfo(dtype).tiny, np.finfo(dtype).eps
    for which, ref in ((0, np.tanh), (1, sigmoid)):
        z = x.copy()
        apply_activation(z, which)
        r = ref(x)
        ulp = np.abs(z.astype(np.float64) - r) / np.maximum(np.abs(r.astype(np.float64)), tiny) / eps
        assert ulp.max() <= 4, (which, x[np.argmax(ulp)])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_tanh_keeps_the_sign_of_zero(dtype, apply_activation):
    z = np.array([0.0, -0.0, 0.0, -0.0], dtype)
    apply_activation(z, 0)
    assert (z == 0).all() and np.signbit(z).tolist() == [False, True, False, True]  # like np.tanh


# --------------------------------------------------------------- the vanishing regime, step by step
def _flush(a, tiny):
    return np.where(np.abs(a) < tiny, 0, a)


def _flushed_reference(cell, cache, dh):
    """The reference BPTT of dL/dh_t (and dL/dc_t) with the kernels' flushing rule: every quantity
    carried through the recurrence is set to 0 when its magnitude is below the smallest normal number."""
    tiny = np.finfo(dh.dtype).tiny
    p, (T, B, H) = cache.params, dh.shape
    dh_tot, dc_tot = np.empty_like(dh), np.empty_like(dh)
    dh_next, dc_next = np.zeros((B, H), dh.dtype), np.zeros((B, H), dh.dtype)
    for t in reversed(range(T)):
        dht = _flush(dh[t] + dh_next, tiny)
        dh_tot[t] = dht
        if cell == "rnn":
            dz = _flush(dht * (1 - cache.h[t] ** 2), tiny)
        elif cell == "gru":
            r, z, n = cache.gates[t]
            h_prev = cache.h[t - 1] if t else cache.h0
            da_n = _flush(dht * (1 - z) * (1 - n * n), tiny)
            dz = np.concatenate([_flush(da_n * cache.gh_n[t] * r * (1 - r), tiny),
                                 _flush(dht * (h_prev - n) * z * (1 - z), tiny), _flush(da_n * r, tiny)], axis=1)
            dh_next = dht * z + dz @ p["weight_hh"]
            continue
        else:
            i, f, g, o = cache.gates[t]
            tc, c_prev = cache.tanh_c[t], (cache.c[t - 1] if t else cache.c0)
            dct = _flush(dc_next + dht * o * (1 - tc ** 2), tiny)
            dc_tot[t] = dct
            dz = _flush(np.concatenate([dct * g * i * (1 - i), dct * c_prev * f * (1 - f), dct * i * (1 - g * g),
                                        dht * tc * o * (1 - o)], axis=1), tiny)
            dc_next = _flush(dct * f, tiny)
        dh_next = dz @ p["weight_hh"]
    return {"h": dh_tot, "c": dc_tot} if cell == "lstm" else {"h": dh_tot}


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_vanishing_gradients_step_by_step(cell, dtype):
    """T = 400, loss at the last step, a contractive recurrence: dL/dh_t falls from 1 through the
    subnormal range to 0. At every t on its own scale, Numba equals the reference with the
    kernels' flushing rule, and that differs from the unflushed reference by less than the
    flushed amounts can add up to."""
    T, B, D, H = 400, 3, 2, 8
    rng = np.random.default_rng(7)
    prob = random_problem(cell, T, B, D, H, rng, dtype=np.float64, inject="last")
    G = GATES[cell]
    prob["params"]["weight_hh"] *= 0.2 if cell == "rnn" else 0.4     # contractive recurrence
    if cell == "lstm":
        prob["params"]["bias_ih"][H:2 * H] = -3.0                     # forget gates near 0.05
    if cell == "gru":
        prob["params"]["bias_ih"][H:2 * H] = -4.0                     # update gates near 0.02
    prob = {k: ({n: a.astype(dtype) for n, a in v.items()} if k == "params" else
                (None if v is None else v.astype(dtype))) for k, v in prob.items()}
    fwd, bwd = FORWARD[cell], BACKWARD[cell]
    args = (prob["params"], prob["x"], prob["h0"]) + ((prob["c0"],) if cell == "lstm" else ())
    cache = fwd(*args, backend="numpy")[-1]
    exact = bwd(cache, prob["dh"], backend="numpy")
    fast = bwd(cache, prob["dh"], backend="numba")
    flushed = _flushed_reference(cell, cache, prob["dh"])
    tiny, tol = np.finfo(dtype).tiny, NUMBA_TOL[np.dtype(dtype)]
    slack = 4 * (1 + G * H * np.abs(prob["params"]["weight_hh"]).max()) * tiny   # what flushing can add up to
    for q in flushed:
        ex, fa, fl = getattr(exact, q), getattr(fast, q), flushed[q]
        mags = np.abs(ex).max(axis=(1, 2))
        assert mags[-1] > 0.1 and ((mags > 0) & (mags < tiny)).any() and (mags == 0).any(), \
            "the profile must pass through the subnormal range to zero"
        assert not ((np.abs(fa) < tiny) & (fa != 0)).any(), "a subnormal survived the flush"
        for t in range(T):
            scale = np.abs(fl[t]).max()
            assert np.abs(fa[t] - fl[t]).max() <= tol * scale + slack, (q, t)
            assert np.abs(fl[t] - ex[t]).max() <= 1e-13 * np.abs(ex[t]).max() + slack, (q, t)
        assert (mags > 1e6 * tiny).sum() >= 20                        # many steps compared on their own scale


@pytest.mark.slow
def test_kernels_work_where_no_cache_can_be_written(tmp_path):
    """No writable cache location at all (a file named __pycache__ blocks the package's cache
    folder, and the user cache lies under a regular file, which no user, root included, can
    create a folder in): the kernels compile in this process, with one warning, and run."""
    pkg = tmp_path / "pkg"
    shutil.copytree(Path(sr.__file__).parent, pkg / "scratch_rnn", ignore=shutil.ignore_patterns("__pycache__"))
    for d in [p for p in (pkg / "scratch_rnn").rglob("*") if p.is_dir()] + [pkg / "scratch_rnn"]:
        (d / "__pycache__").write_text("a file, so no cache folder can be made here")
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    env = {**os.environ, "PYTHONPATH": str(pkg), "HOME": str(blocker / "home"),
           "XDG_CACHE_HOME": str(blocker / "cache"), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("NUMBA_CACHE_DIR", None)
    code = ("import numpy as np, scratch_rnn as sr;"
            "p = sr.init_pytorch_default('lstm', 1, 3, np.random.default_rng(0));"
            "h, c, cache = sr.lstm_forward(p, np.ones((2, 1, 1)), backend='numba');"
            "g = sr.lstm_backward(cache, np.ones_like(h), backend='numba');"
            "q = sr.init_pytorch_default('rnn', 1, 3, np.random.default_rng(0));"
            "h2, c2 = sr.rnn_forward(q, np.ones((2, 1, 1)), backend='numba'); print(h.shape, g.h.shape, h2.shape)")
    out = subprocess.run([sys.executable, "-W", "always", "-c", code], env=env, capture_output=True, text=True,
                         timeout=300, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "(2, 1, 3) (2, 1, 3) (2, 1, 3)" in out.stdout
    assert out.stderr.count("no writable Numba cache directory") == 1, out.stderr


@pytest.mark.parametrize("cell", CELLS)
def test_a_backward_pass_runs_the_backend_of_its_forward_pass(cell, rng, monkeypatch):
    """A Numba forward followed by a backward with no backend runs the Numba loop (the cache knows
    its backend); naming a backend still overrides it. The NumPy loop is made to fail to tell."""
    import importlib
    reference = importlib.import_module(f"scratch_rnn.{cell}")

    def numpy_loop(*args, **kwargs):
        raise AssertionError("the NumPy loop ran")
    monkeypatch.setattr(reference, f"{cell}_backward_loop", numpy_loop)
    prob = random_problem(cell, 6, 2, 3, 4, rng)
    args = (prob["params"], prob["x"], prob["h0"]) + ((prob["c0"],) if cell == "lstm" else ())
    cache = FORWARD[cell](*args, backend="numba")[-1]
    assert cache.backend == "numba"
    g = BACKWARD[cell](cache, prob["dh"])                        # no backend: the forward pass's, Numba
    assert g.h.shape == prob["dh"].shape
    sr.truncated_backward(cache, prob["dh"], 2)
    out = sr.stack_forward({f"{k}_l0": v for k, v in prob["params"].items()}, prob["x"], cell, backend="numba")
    sr.stack_backward(out[3], np.ones_like(out[0]))
    with pytest.raises(AssertionError, match="the NumPy loop ran"):
        BACKWARD[cell](cache, prob["dh"], backend="numpy")
