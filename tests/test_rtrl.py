"""RTRL: the influence recursion gives the gradient BPTT gives, for every cell, every loss shape,
with and without initial states, in float64 to 1e-12 and float32 to its tolerance, and against
PyTorch autograd."""
import numpy as np
import pytest

from scratch_rnn.cells import CELLS
from scratch_rnn.gradcheck import NUMBA_TOL, TORCH_TOL, max_rel_error, random_problem
from scratch_rnn.rtrl import (eprop_gradients, kfrtrl_gradients, rflo_gradients, rtrl_gradients, snap1_gradients,
                              uoro_gradients)
from scratch_rnn.rtrl.exact import _setup, direct_gradient, forward_steps, influence_step, zero_influence
from scratch_rnn.rtrl import experiment
from scratch_rnn.rtrl.measure import alignment, cost, train_online

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


# --- alignment, online training and cost (scratch_rnn.rtrl.measure, the online command) -------------------


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_alignment_is_one_for_the_exact_gradient_and_below_for_the_approximations(cell):
    a = alignment(cell, "xor", 8, 6, seed=3, B=4)
    assert abs(a["rtrl"][0] - 1) < 1e-12 and abs(a["rtrl"][1] - 1) < 1e-12
    assert a["snap1"][0] < 1 - 1e-6                      # H > 1: SnAp-1 drops influence, so it is not exact
    assert -1 <= a["uoro"][0] <= 1 and a["uoro"][1] > 0


def test_alignment_does_not_depend_on_the_dtype():
    a64 = alignment("gru", "first_bit", 8, 6, seed=2, B=4)
    a32 = alignment("gru", "first_bit", 8, 6, seed=2, B=4, dtype=np.float32)
    assert abs(a32["snap1"][0] - a64["snap1"][0]) < 1e-5 and abs(a32["rtrl"][0] - 1) < 1e-6


def test_snap1_aligns_exactly_with_one_unit():
    cos, ratio = alignment("lstm", "first_bit", 7, 1, seed=0, B=3)["snap1"]
    assert abs(cos - 1) < 1e-12 and abs(ratio - 1) < 1e-12


def test_online_training_with_rtrl_is_training_with_bptt():
    """RTRL's gradient is BPTT's, so the two runs follow the same path (to rounding, compounded by Adam)."""
    a = train_online("bptt", "gru", "first_bit", 6, 4, seed=1, updates=12, B=8, every=4)
    b = train_online("rtrl", "gru", "first_bit", 6, 4, seed=1, updates=12, B=8, every=4)
    assert [r["update"] for r in a] == [0, 4, 8, 12]
    np.testing.assert_allclose([r["loss"] for r in b], [r["loss"] for r in a], rtol=1e-9)
    assert a[-1]["loss"] != a[0]["loss"]                  # it did train


def test_online_training_uses_the_methods_own_gradient():
    """The path depends on the method: SnAp-1's updates are not BPTT's."""
    a = train_online("bptt", "rnn", "first_bit", 6, 4, seed=1, updates=8, B=8, every=8)
    s = train_online("snap1", "rnn", "first_bit", 6, 4, seed=1, updates=8, B=8, every=8)
    assert a[0]["loss"] == s[0]["loss"] and a[-1]["loss"] != s[-1]["loss"]


def test_cost_reports_time_and_memory_and_refuses_unknown_methods():
    sec, peak = cost("rtrl", "rnn", 20, 8)
    assert sec > 0 and peak > 8 * 8 * (8 * 10)            # at least the (B, S, P) influence of W_hh in float64
    with pytest.raises(ValueError, match="method: expected one of"):
        cost("kf", "rnn", 20, 8)
    with pytest.raises(ValueError, match="method: expected one of"):
        train_online("kf", "rnn", "xor", 5, 4, 0, 1)
    with pytest.raises(ValueError, match="kfrtrl, rflo for the RNN only"):
        train_online("rflo", "lstm", "xor", 5, 4, 0, 1)
    with pytest.raises(ValueError, match="kfrtrl, rflo for the RNN only"):
        cost("rflo", "gru", 5, 4)
    assert "rflo" in alignment("rnn", "xor", 5, 3, seed=0, B=2) and "rflo" not in alignment("gru", "xor", 5, 3, 0, B=2)


@pytest.mark.slow
def test_the_online_command_writes_its_tables_and_resumes(tmp_path):
    import json
    import subprocess
    import sys
    out = tmp_path / "online"
    run = [sys.executable, "-m", "scratch_rnn.cli", "online", "--quick", "--out", str(out), "--figures",
           str(tmp_path / "figs"), "--workers", "2"]
    subprocess.run(run, capture_output=True, text=True, timeout=300, check=True)
    for name in ("online.json", "online.md", "online_alignment.csv", "online_learning.csv", "online_cost.csv",
                 "online_learning.png", "online_cost.png"):
        assert (out / name).stat().st_size > 0
    assert (tmp_path / "figs" / "online_cost.png").stat().st_size > 0
    report = json.loads((out / "online.json").read_text())
    assert not report["failures"] and report["meta"]["jobs"] == len(experiment.jobs(experiment.QUICK_ONLINE))
    assert all(abs(r["cosine"] - 1) < 1e-9 for r in report["alignment"] if r["method"] == "rtrl")
    lines = (out / "runs.jsonl").read_text().count("\n")
    again = subprocess.run(run, capture_output=True, text=True, timeout=300, check=True)
    assert (out / "runs.jsonl").read_text().count("\n") == lines and "failed" not in again.stdout  # nothing run twice


def test_the_online_jobs_and_their_report(tmp_path):
    """Every job of the protocols is valid for its cell; a handful run here and reported: tables, figures, text."""
    from scratch_rnn.rtrl import report
    full = experiment.jobs(experiment.ONLINE)
    assert {j.method for j in full if isinstance(j, experiment.LearnJob) and j.cell == "lstm"} == \
        {"bptt", "snap1", "eprop", "uoro"}
    assert not [j for j in full if isinstance(j, experiment.CostJob) and j.method == "rtrl" and j.cell == "lstm"
                and j.H == 128]                             # the dense einsum's hours are left out, rtrl_numba kept
    with pytest.raises(ValueError, match="LearnJob.method: expected 'bptt' or one of"):
        experiment.LearnJob("kfrtrl", "gru", "add", 12, 0, 4, 2, 2, 1e-2, 1)
    with pytest.raises(ValueError, match="AlignJob.T: expected an integer >= 1"):
        experiment.AlignJob("rnn", "add", 0, 0, 4, 2)
    with pytest.raises(ValueError, match="task: expected one of"):
        experiment.AlignJob("rnn", "sine", 10, 0, 4, 2)
    jobs = [experiment.AlignJob("rnn", "add", 12, 0, 4, 3), experiment.LearnJob("uoro", "rnn", "first_bit", 6, 0, 4, 3, 4, 1e-2, 2),
            experiment.CostJob("tbptt", "lstm", 4, 12, 5), experiment.CostJob("snap1", "lstm", 4, 12, 5)]
    results = [(j, experiment.run_job(j)) for j in jobs]
    meta = {"command_line": "scratch-rnn online", "jobs": 4, "job_seconds": 0.1, "seconds": 0.1}
    res = report.build(tmp_path, results, [], meta)
    assert {r["method"] for r in res["alignment"]} == {"rtrl", "snap1", "eprop", "uoro", "kfrtrl", "rflo"}
    assert [r["update"] for r in res["learning"]] == [0, 2, 4]
    assert all(r["seconds_per_step"] > 0 and r["peak_bytes"] > 0 for r in res["cost"])
    text = (tmp_path / "online.md").read_text()
    assert "| rnn | add | 12 | kfrtrl |" in text and "| lstm | 4 | 12 | tbptt |" in text
    assert (tmp_path / "online_learning.png").stat().st_size > 0 and (tmp_path / "online_cost.png").stat().st_size > 0


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


# --- Marschall et al.'s tasks (scratch_rnn.rtrl.tasks) and truncated BPTT's cost --------------------------------


def test_the_add_task_follows_its_definition():
    from scratch_rnn.rtrl.tasks import LAGS, add_levels, add_task
    t1, t2 = LAGS
    x, y = add_task(40, 5, np.random.default_rng(0))
    b = x[:, :, 0]
    assert np.array_equal(x[:, :, 1], 1 - b) and set(np.unique(b)) == {0.0, 1.0}
    assert np.all(y[:t2] == 0)
    for t in range(t2, 40):
        np.testing.assert_array_equal(y[t, :, 0], 0.5 + 0.5 * b[t - t1] - 0.25 * b[t - t2])
    np.testing.assert_array_equal(y[t2:].sum(axis=2), 1)
    lv = add_levels()
    assert lv["nothing"] == pytest.approx(0.6616, abs=1e-4) and lv["first_lag"] == pytest.approx(0.5192, abs=1e-4)
    assert lv["both_lags"] == pytest.approx(0.4545, abs=1e-4)
    with pytest.raises(ValueError, match="T: expected more than t2"):
        add_task(t2, 2, np.random.default_rng(0))


def test_the_mimic_task_has_one_target_network():
    from scratch_rnn.rtrl.tasks import mimic_task
    x1, y1 = mimic_task(6, 3, np.random.default_rng(1))
    x2, y2 = mimic_task(6, 3, np.random.default_rng(1))
    _, y3 = mimic_task(6, 3, np.random.default_rng(2))
    assert np.array_equal(y1, y2) and not np.array_equal(y1, y3) and y1.shape == (6, 3, 2)
    seq = np.concatenate([x1, x1], axis=1)                  # the same inputs give the same targets
    from scratch_rnn.rtrl.tasks import _target_rnn
    net = _target_rnn()
    h, _, _ = CELLS["rnn"].forward({k: v for k, v in net.items() if k != "out"}, seq)
    np.testing.assert_allclose(h[:, :3] @ net["out"].T, y1, rtol=1e-12)


@pytest.mark.parametrize("task", ["add", "mimic"])
def test_the_per_step_loss_gradients_against_finite_differences(task):
    from scratch_rnn.rtrl.tasks import get_step_task, step_loss
    from scratch_rnn.training.model import init_model
    sampler, spec = get_step_task(task)
    rng = np.random.default_rng(3)
    params = init_model("gru", spec.input_size, 3, spec.outputs, rng, dtype=np.float64)
    x, y = sampler(11, 2, rng, np.float64)
    exact, _, _, head, _ = step_loss(params, spec, x, y)
    for name, idx, grad in (("weight_hh", (1, 2), exact), ("head_weight", (0, 1), head), ("bias_ih", (4,), exact)):
        eps = 1e-6
        plus, minus = {k: v.copy() for k, v in params.items()}, {k: v.copy() for k, v in params.items()}
        plus[name][idx] += eps
        minus[name][idx] -= eps
        fd = (step_loss(plus, spec, x, y)[4] - step_loss(minus, spec, x, y)[4]) / (2 * eps)
        assert grad[name][idx] == pytest.approx(fd, rel=1e-6, abs=1e-10)


def test_alignment_on_the_per_step_tasks():
    a = alignment("rnn", "add", 12, 4, seed=0, B=4)
    assert set(a) == {"rtrl", "snap1", "eprop", "uoro", "kfrtrl", "rflo"}
    assert abs(a["rtrl"][0] - 1) < 1e-12 and abs(a["rtrl"][1] - 1) < 1e-12
    assert abs(a["eprop"][0] - a["rflo"][0]) > 1e-3            # the same trace, but RFLO's error comes back
    #                                                             through a fixed random matrix
    g = alignment("lstm", "mimic", 5, 3, seed=0, B=2)
    assert set(g) == {"rtrl", "snap1", "eprop", "uoro"} and abs(g["rtrl"][0] - 1) < 1e-12


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_truncated_bptt_run_chunk_by_chunk_is_the_chunks_scheme(cell, rng):
    from scratch_rnn import truncated_backward
    from scratch_rnn.rtrl.measure import _chunked_bptt
    prob = random_problem(cell, 11, 2, 2, 3, rng, with_state=False)
    g = _chunked_bptt(CELLS[cell], prob["params"], prob["x"], prob["dh"], 4)
    *_, cache = CELLS[cell].forward(prob["params"], prob["x"])
    ref = truncated_backward(cache, prob["dh"], 4, "chunks")
    assert max(max_rel_error(g[k], ref.params[k]) for k in g) <= 1e-12
    full = CELLS[cell].backward(cache, prob["dh"]).params
    assert max_rel_error(g["weight_hh"], full["weight_hh"]) > 1e-6     # and it is truncated


def test_the_copying_task_with_a_loss_at_every_step():
    from scratch_rnn.rtrl.tasks import copy_task, get_step_task, step_loss
    from scratch_rnn.training.losses import softmax_cross_entropy
    from scratch_rnn.training.model import init_model
    from scratch_rnn.training.tasks import copying
    x, y = copy_task(25, 3, np.random.default_rng(4))
    x0, y0 = copying(5, 3, np.random.default_rng(4), np.float64)
    assert np.array_equal(x, x0) and np.array_equal(y.argmax(axis=2), y0) and np.all(y.sum(axis=2) == 1)
    _, spec = get_step_task("copy")
    params = init_model("rnn", spec.input_size, 4, spec.outputs, np.random.default_rng(0), dtype=np.float64)
    loss = step_loss(params, spec, x, y)[4]
    h, _, _ = CELLS["rnn"].forward({k: v for k, v in params.items() if not k.startswith("head")}, x)
    logits = h @ params["head_weight"].T + params["head_bias"]                  # the hard-label loss, step by step
    assert loss == pytest.approx(float(softmax_cross_entropy(logits.reshape(-1, 9), y0.ravel())[0]), rel=1e-12)
    with pytest.raises(ValueError, match="T: expected a length above 20"):
        copy_task(20, 2, np.random.default_rng(0))


@pytest.mark.parametrize("task,T", [("first_bit", 6), ("add", 12)])
def test_the_learning_signal_is_the_error_sent_back_through_the_head_or_rflos_matrix(task, T):
    """dL/dh_t = dL/dout_t W_head (what every method but RFLO gets); RFLO gets dL/dout_t B with B fixed
    and random, so with B = W_head its gradient is e-prop's (the same trace, for the RNN)."""
    from scratch_rnn.rtrl.measure import _batch, _signal, _task, feedback_matrix
    from scratch_rnn.training.model import init_model, layer_params
    sampler, spec = _task(task)
    rng = np.random.default_rng(2)
    params = init_model("rnn", spec.input_size, 5, spec.outputs, rng, dtype=np.float64)
    x, y = sampler(T, 3, rng, np.float64)
    b = _batch(params, spec, x, y)
    np.testing.assert_allclose(b.dh, b.dout @ params["head_weight"], rtol=1e-12, atol=1e-15)
    fb = feedback_matrix(0, spec.outputs, 5)
    assert fb.shape == (spec.outputs, 5) and np.array_equal(fb, feedback_matrix(0, spec.outputs, 5))
    np.testing.assert_array_equal(_signal("rflo", b, fb), b.dout @ fb)
    assert _signal("eprop", b, fb) is b.dh
    same = rflo_gradients(layer_params(params), x, dh=_signal("rflo", b, params["head_weight"]))
    e = eprop_gradients("rnn", layer_params(params), x, dh=b.dh)
    assert max(max_rel_error(same.params[k], e.params[k]) for k in e.params) <= 1e-12
