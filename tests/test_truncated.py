"""Truncated BPTT against PyTorch: the detach idiom (chunks) and per-loss windows built with torch."""
import numpy as np
import pytest
import torch

import scratch_rnn as sr
from helpers import BACKWARD, CELLS, FORWARD
from reference import params_to_torch, torch_cell
from scratch_rnn.gradcheck import NUMBA_TOL, TORCH_TOL, max_rel_error, random_problem



def _forward(cell, prob, backend="numpy"):
    if cell == "lstm":
        return sr.lstm_forward(prob["params"], prob["x"], prob["h0"], prob["c0"], backend=backend)[2]
    return FORWARD[cell](prob["params"], prob["x"], prob["h0"], backend=backend)[1]


def _torch_cell(cell, prob):
    D, H = prob["x"].shape[2], prob["h0"].shape[1]
    return params_to_torch(prob["params"], torch_cell(cell)(D, H).double())


def _leaves(prob):
    return {k: torch.from_numpy(prob[k].copy()).requires_grad_() for k in ("x", "h0", "c0") if prob[k] is not None}


def _run(m, cell, x_t, state):
    if cell == "lstm":
        return m(x_t, state)
    h = m(x_t, state[0])
    return h, None


def _collect(cell, m, leaves, h_tot, c_tot):
    out = {n: p.grad.numpy().copy() for n, p in m.named_parameters()}
    out.update(x=leaves["x"].grad.numpy(), h0=leaves["h0"].grad.numpy(), h=h_tot)
    if cell == "lstm":
        out.update(c0=leaves["c0"].grad.numpy(), c=c_tot)
    return out


def torch_chunks(cell, prob, k):
    """``h = h.detach()`` (and c) every k steps; retain_grad on every state gives the totals."""
    m, lv = _torch_cell(cell, prob), _leaves(prob)
    T = prob["x"].shape[0]
    state = (lv["h0"], lv.get("c0"))
    hs, cs = [], []
    for t in range(T):
        if t > 0 and t % k == 0:
            state = tuple(None if s is None else s.detach() for s in state)
        state = _run(m, cell, lv["x"][t], state)
        for s, keep in zip(state, (hs, cs)):
            if s is not None:
                s.retain_grad()
                keep.append(s)
    loss = sum((h * torch.from_numpy(prob["dh"][t])).sum() for t, h in enumerate(hs))
    if cell == "lstm":
        loss = loss + (cs[-1] * torch.from_numpy(prob["dc_last"])).sum()
    loss.backward()
    c_tot = np.stack([c.grad.numpy() for c in cs]) if cs else None
    return _collect(cell, m, lv, np.stack([h.grad.numpy() for h in hs]), c_tot)


def torch_windows(cell, prob, k, states):
    """Σ_t of the loss at t backpropagated through steps max(0, t-k+1) .. t, one torch graph per t,
    each started from the (constant) state before its window, or from the leaves h0, c0."""
    m, lv = _torch_cell(cell, prob), _leaves(prob)
    T = prob["x"].shape[0]
    h_tot, c_tot = np.zeros_like(states[0]), np.zeros_like(states[0] if states[1] is None else states[1])
    for t in range(T):
        s = max(0, t - k + 1)
        state = ((lv["h0"], lv.get("c0")) if s == 0 else
                 (torch.from_numpy(states[0][s - 1]), None if states[1] is None else torch.from_numpy(states[1][s - 1])))
        kept = []
        for u in range(s, t + 1):
            state = _run(m, cell, lv["x"][u], state)
            for q in state:
                if q is not None:
                    q.retain_grad()
            kept.append(state)
        loss = (state[0] * torch.from_numpy(prob["dh"][t])).sum()
        if cell == "lstm" and t == T - 1:
            loss = loss + (state[1] * torch.from_numpy(prob["dc_last"])).sum()
        loss.backward()
        for j, (h, c) in enumerate(kept):
            h_tot[s + j] += h.grad.numpy()
            if c is not None:
                c_tot[s + j] += c.grad.numpy()
    return _collect(cell, m, lv, h_tot, c_tot)


def _ours(g):
    out = {**g.params, "x": g.x, "h0": g.h0, "h": g.h}
    if getattr(g, "c", None) is not None:
        out.update(c0=g.c0, c=g.c)
    return out


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("T,k", [(9, 1), (9, 3), (10, 4), (7, 6)])
def test_chunks_equal_the_detach_idiom(cell, T, k, rng):
    prob = random_problem(cell, T, 2, 3, 4, rng)
    g = sr.truncated_backward(_forward(cell, prob), prob["dh"], k, "chunks", dc_last=prob["dc_last"])
    ref = torch_chunks(cell, prob, k)
    ours = _ours(g)
    assert set(ours) == set(ref)
    for name in ref:
        assert max_rel_error(ours[name], ref[name]) <= TORCH_TOL, name


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("T,k,inject", [(8, 1, "all"), (8, 3, "all"), (9, 5, "last"), (6, 2, "all")])
def test_window_equals_per_loss_torch_graphs(cell, T, k, inject, rng):
    prob = random_problem(cell, T, 2, 2, 3, rng, inject=inject)
    cache = _forward(cell, prob)
    g = sr.truncated_backward(cache, prob["dh"], k, "window", dc_last=prob["dc_last"])
    ref = torch_windows(cell, prob, k, (cache.h, getattr(cache, "c", None)))
    ours = _ours(g)
    for name in ref:
        assert max_rel_error(ours[name], ref[name]) <= TORCH_TOL, name


@pytest.mark.parametrize("cell", CELLS)
def test_k_at_least_T_is_full_bptt(cell, rng):
    prob = random_problem(cell, 7, 3, 2, 4, rng)
    cache = _forward(cell, prob)
    extra = (prob["dc_last"],) if cell == "lstm" else ()
    full = _ours(BACKWARD[cell](cache, prob["dh"], *extra))
    for k in (7, 50):
        chunks = _ours(sr.truncated_backward(cache, prob["dh"], k, "chunks", dc_last=prob["dc_last"]))
        window = _ours(sr.truncated_backward(cache, prob["dh"], k, "window", dc_last=prob["dc_last"]))
        for name in full:
            assert np.array_equal(chunks[name], full[name]), name       # the same call, bit for bit
            assert max_rel_error(window[name], full[name]) <= 1e-13, name
    short = _ours(sr.truncated_backward(cache, prob["dh"], 2, "window", dc_last=prob["dc_last"]))
    assert max_rel_error(short["weight_hh"], full["weight_hh"]) > 1e-3   # and truncation does change it


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("scheme", ["chunks", "window"])
def test_numba_matches_numpy(cell, dtype, scheme, rng):
    prob = random_problem(cell, 12, 3, 2, 5, rng, dtype=dtype)
    a = _ours(sr.truncated_backward(_forward(cell, prob), prob["dh"], 5, scheme, dc_last=prob["dc_last"]))
    b = _ours(sr.truncated_backward(_forward(cell, prob, "numba"), prob["dh"], 5, scheme, dc_last=prob["dc_last"],
                                    backend="numba"))
    for name in a:
        assert b[name].dtype == dtype and max_rel_error(b[name], a[name]) <= NUMBA_TOL[np.dtype(dtype)], name


def test_truncated_backward_bad_input(rng):
    prob = random_problem("rnn", 5, 2, 2, 3, rng)
    cache = _forward("rnn", prob)
    with pytest.raises(ValueError, match=r"k: expected an integer >= 1 \(steps the gradient may travel back\), got 0"):
        sr.truncated_backward(cache, prob["dh"], 0)
    with pytest.raises(ValueError, match=r"k: expected an integer >= 1 .*, got 2.5"):
        sr.truncated_backward(cache, prob["dh"], 2.5)
    with pytest.raises(ValueError, match=r"scheme: expected one of \('chunks', 'window'\), got 'sliding'"):
        sr.truncated_backward(cache, prob["dh"], 2, "sliding")
    with pytest.raises(ValueError, match=r"dh: expected shape \(T, B, H\) = \(5, 2, 3\), got \(4, 2, 3\)"):
        sr.truncated_backward(cache, prob["dh"][:4], 2)
    with pytest.raises(ValueError, match=r"dc_last: only the LSTM has a cell state"):
        sr.truncated_backward(cache, prob["dh"], 2, dc_last=np.zeros((2, 3)))
    with pytest.raises(TypeError, match=r"cache: expected the cache of rnn_forward, lstm_forward or gru_forward"):
        sr.truncated_backward({"h": prob["dh"]}, prob["dh"], 2)
    with pytest.raises(ValueError, match=r"backend: expected one of"):
        sr.truncated_backward(cache, prob["dh"], 2, backend="cuda")
    zero = sr.truncated_backward(cache, np.zeros_like(prob["dh"]), 2, "window")
    assert not any(v.any() for v in zero.params.values()) and not zero.h.any()
