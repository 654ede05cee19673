"""Stacked and bidirectional layers against nn.RNN / nn.LSTM / nn.GRU (float64), state_dict in and out."""
import numpy as np
import pytest
import torch

import scratch_rnn as sr
from reference import params_to_torch, torch_layer, unrolled_layer
from scratch_rnn.gradcheck import TORCH_TOL, max_rel_error

CASES = [  # cell, num_layers, bidirectional, batch_first, with_state, T, B, D, H, nonlinearity, proj_size
    ("rnn", 1, False, False, False, 5, 2, 3, 4, "tanh", 0), ("rnn", 2, True, True, True, 6, 3, 2, 5, "relu", 0),
    ("lstm", 1, True, False, True, 1, 1, 1, 1, "tanh", 0), ("lstm", 2, False, True, False, 7, 2, 3, 4, "tanh", 0),
    ("lstm", 3, True, False, True, 5, 2, 2, 3, "tanh", 0), ("gru", 1, False, True, True, 4, 1, 2, 3, "tanh", 0),
    ("gru", 2, True, False, False, 6, 3, 1, 4, "tanh", 0), ("gru", 3, True, True, True, 3, 2, 4, 2, "tanh", 0),
    ("lstm", 1, False, False, True, 4, 1, 3, 2, "tanh", 1), ("lstm", 2, True, True, True, 5, 3, 2, 4, "tanh", 2),
    ("lstm", 3, True, False, False, 3, 2, 1, 5, "tanh", 3), ("lstm", 2, False, False, True, 1, 1, 1, 2, "tanh", 1),
]


def _module(cell, D, H, L, bi, bf, nl, proj=0):
    entry = sr.get_cell(cell)
    kw = {"nonlinearity": nl} if len(entry.nonlinearities) > 1 else {"proj_size": proj} if entry.projection else {}
    torch.manual_seed(0)
    return torch_layer(cell)(D, H, num_layers=L, bidirectional=bi, batch_first=bf, **kw).double()


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("cell,L,bi,bf,with_state,T,B,D,H,nl,P", CASES)
def test_stack_matches_torch(cell, L, bi, bf, with_state, T, B, D, H, nl, P, backend, rng):
    m = _module(cell, D, H, L, bi, bf, nl, P)
    params = {k: v.detach().numpy().copy() for k, v in m.state_dict().items()}   # no helper: the state_dict
    nd, Ho = (2 if bi else 1), (P or H)
    x = rng.standard_normal((B, T, D) if bf else (T, B, D))
    h0 = rng.standard_normal((L * nd, B, Ho)) if with_state else None
    c0 = rng.standard_normal((L * nd, B, H)) if with_state and cell == "lstm" else None
    dout = rng.standard_normal((B, T, nd * Ho) if bf else (T, B, nd * Ho))
    dh_n, dc_n = rng.standard_normal((L * nd, B, Ho)), rng.standard_normal((L * nd, B, H))
    out, h_n, c_n, cache = sr.stack_forward(params, x, cell, num_layers=L, bidirectional=bi, batch_first=bf,
                                            nonlinearity=nl, proj_size=P, h0=h0, c0=c0, backend=backend)
    g = sr.stack_backward(cache, dout, dh_n, dc_n if cell == "lstm" else None)
    xt = torch.from_numpy(x).requires_grad_()
    state = None
    if with_state:
        h0t = torch.from_numpy(h0).requires_grad_()
        c0t = torch.from_numpy(c0).requires_grad_() if cell == "lstm" else None
        state = (h0t, c0t) if cell == "lstm" else h0t
    o, s = m(xt, state)
    hn, cn = s if cell == "lstm" else (s, None)
    loss = (o * torch.from_numpy(dout)).sum() + (hn * torch.from_numpy(dh_n)).sum()
    if cell == "lstm":
        loss = loss + (cn * torch.from_numpy(dc_n)).sum()
    loss.backward()
    assert max_rel_error(out, o.detach().numpy()) <= 1e-13 and max_rel_error(h_n, hn.detach().numpy()) <= 1e-13
    if cell == "lstm":
        assert max_rel_error(c_n, cn.detach().numpy()) <= 1e-13
    else:
        assert c_n is None and g.c0 is None and g.c is None
    assert set(g.params) == set(params)
    for k, p in m.named_parameters():
        assert max_rel_error(g.params[k], p.grad.numpy()) <= TORCH_TOL, k
    assert max_rel_error(g.x, xt.grad.numpy()) <= TORCH_TOL
    if with_state:
        assert max_rel_error(g.h0, h0t.grad.numpy()) <= TORCH_TOL
        if cell == "lstm":
            assert max_rel_error(g.c0, c0t.grad.numpy()) <= TORCH_TOL
    m.load_state_dict({k: torch.from_numpy(v) for k, v in params.items()})   # and back, no helper


@pytest.mark.parametrize("cell,P", [("rnn", 0), ("lstm", 0), ("lstm", 2), ("gru", 0)])
def test_every_layer_and_direction_total_matches_an_unrolled_torch_stack(cell, P, rng):
    """grads.h[layer, direction] (and .c) against a stack of unrolled torch cells with retain_grad."""
    T, B, D, H, L = 6, 2, 3, 4, 2
    m = _module(cell, D, H, L, True, False, "tanh", P)
    params = {k: v.detach().numpy().copy() for k, v in m.state_dict().items()}
    x = rng.standard_normal((T, B, D))
    dout = rng.standard_normal((T, B, 2 * (P or H)))
    _, _, _, cache = sr.stack_forward(params, x, cell, num_layers=L, bidirectional=True, proj_size=P)
    g = sr.stack_backward(cache, dout)
    layers, inp = {}, torch.from_numpy(x)
    for layer in range(L):
        outs = []
        for d in range(2):
            u = unrolled_layer(cell, inp.shape[2], H, proj_size=P).double()
            suffix = "_reverse" if d else ""
            names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh") + (("weight_hr",) if P else ())
            params_to_torch({n: params[f"{n}_l{layer}{suffix}"] for n in names}, u.cell)
            seq = inp.flip(0) if d else inp
            h = u(seq)[0] if cell == "lstm" else u(seq)
            outs.append(h.flip(0) if d else h)
            layers[layer, d] = u
        inp = torch.cat(outs, dim=2)
    (inp * torch.from_numpy(dout)).sum().backward()
    for (layer, d), u in layers.items():
        for q in ("h", "c") if cell == "lstm" else ("h",):
            ref = torch.stack([s.grad for s in getattr(u, q)]).numpy()
            ref = ref[::-1] if d else ref
            assert max_rel_error(getattr(g, q)[layer, d], ref) <= TORCH_TOL, (layer, d, q)


def test_stack_input_errors(rng):
    m = _module("lstm", 2, 3, 2, True, False, "tanh")
    params = {k: v.detach().numpy().copy() for k, v in m.state_dict().items()}
    x = rng.standard_normal((4, 2, 2))
    broken = {k: v for k, v in params.items() if k != "weight_hh_l1_reverse"}
    with pytest.raises(ValueError, match=r"missing: \['weight_hh_l1_reverse'\]"):
        sr.stack_forward(broken, x, "lstm", num_layers=2, bidirectional=True)
    with pytest.raises(ValueError, match=r"h0: expected shape \(num_layers \* num_directions, B, H\) = \(4, 2, 3\)"):
        sr.stack_forward(params, x, "lstm", num_layers=2, bidirectional=True, h0=np.zeros((2, 2, 3)))
    with pytest.raises(ValueError, match=r"unexpected: \['bias_hh_l1', "):
        sr.stack_forward(params, x, "lstm", num_layers=1, bidirectional=True)
    with pytest.raises(ValueError, match=r"missing: \['weight_hr_l0', "):
        sr.stack_forward(params, x, "lstm", num_layers=2, bidirectional=True, proj_size=2)
    with pytest.raises(ValueError, match=r"proj_size: expected 0 < proj_size < hidden size H = 3 \(as nn.LSTM\), got 3"):
        sr.stack_forward({**params, **{k.replace("weight_hh", "weight_hr"): np.zeros((3, 3)) for k in params
                                       if k.startswith("weight_hh")}}, x, "lstm", num_layers=2, bidirectional=True,
                         proj_size=3)
    with pytest.raises(ValueError, match=r"proj_size: expected an integer >= 0, got -1"):
        sr.stack_forward(params, x, "lstm", num_layers=2, bidirectional=True, proj_size=-1)
    gru = _module("gru", 2, 3, 1, False, False, "tanh")
    gru_params = {k: v.detach().numpy().copy() for k, v in gru.state_dict().items()}
    with pytest.raises(ValueError, match=r"proj_size: applies to cell 'lstm' only, got proj_size=1 for 'gru'"):
        sr.stack_forward({**gru_params, "weight_hr_l0": np.zeros((1, 3))}, x, "gru", proj_size=1)
    _, _, _, cache = sr.stack_forward(gru_params, x, "gru")
    with pytest.raises(ValueError, match=r"dc_n: only the LSTM has a cell state, got one for cell 'gru'"):
        sr.stack_backward(cache, np.zeros((4, 2, 3)), dc_n=np.zeros((1, 2, 3)))
    pm = _module("lstm", 2, 3, 1, False, False, "tanh", 2)
    pparams = {k: v.detach().numpy().copy() for k, v in pm.state_dict().items()}
    with pytest.raises(ValueError, match=r"h0: expected shape \(num_layers \* num_directions, B, proj_size\) = "
                                         r"\(1, 2, 2\), got \(1, 2, 3\)"):
        sr.stack_forward(pparams, x, "lstm", proj_size=2, h0=np.zeros((1, 2, 3)))


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("cell,L,bi,bf,P", [("rnn", 2, True, False, 0), ("lstm", 2, True, True, 0),
                                            ("gru", 1, True, False, 0), ("lstm", 3, False, False, 0),
                                            ("lstm", 2, True, False, 2)])
def test_variable_lengths_match_packed_sequences(cell, L, bi, bf, P, backend, rng):
    """lengths with ties and the longest not first, against pack_padded_sequence(enforce_sorted=False)."""
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
    T, B, D, H = 7, 5, 2, 3
    lengths = np.array([3, 7, 1, 3, 5])
    m = _module(cell, D, H, L, bi, bf, "tanh", P)
    params = {k: v.detach().numpy().copy() for k, v in m.state_dict().items()}
    nd, Ho = (2 if bi else 1), (P or H)
    x = rng.standard_normal((B, T, D) if bf else (T, B, D))
    h0 = rng.standard_normal((L * nd, B, Ho))
    c0 = rng.standard_normal((L * nd, B, H)) if cell == "lstm" else None
    dout = rng.standard_normal((B, T, nd * Ho) if bf else (T, B, nd * Ho))
    dh_n, dc_n = rng.standard_normal((L * nd, B, Ho)), rng.standard_normal((L * nd, B, H))
    out, h_n, c_n, cache = sr.stack_forward(params, x, cell, num_layers=L, bidirectional=bi, batch_first=bf,
                                            proj_size=P, h0=h0, c0=c0, lengths=lengths, backend=backend)
    g = sr.stack_backward(cache, dout, dh_n, dc_n if cell == "lstm" else None)
    xt, h0t = torch.from_numpy(x).requires_grad_(), torch.from_numpy(h0).requires_grad_()
    c0t = torch.from_numpy(c0).requires_grad_() if cell == "lstm" else None
    packed = pack_padded_sequence(xt, torch.from_numpy(lengths), batch_first=bf, enforce_sorted=False)
    o, s = m(packed, (h0t, c0t) if cell == "lstm" else h0t)
    o, _ = pad_packed_sequence(o, batch_first=bf, total_length=T)
    hn, cn = s if cell == "lstm" else (s, None)
    loss = (o * torch.from_numpy(dout)).sum() + (hn * torch.from_numpy(dh_n)).sum()
    if cell == "lstm":
        loss = loss + (cn * torch.from_numpy(dc_n)).sum()
        assert max_rel_error(c_n, cn.detach().numpy()) <= 1e-13
    loss.backward()
    assert max_rel_error(out, o.detach().numpy()) <= 1e-13 and max_rel_error(h_n, hn.detach().numpy()) <= 1e-13
    for k, p in m.named_parameters():
        assert max_rel_error(g.params[k], p.grad.numpy()) <= TORCH_TOL, k
    assert max_rel_error(g.x, xt.grad.numpy()) <= TORCH_TOL
    assert max_rel_error(g.h0, h0t.grad.numpy()) <= TORCH_TOL
    if cell == "lstm":
        assert max_rel_error(g.c0, c0t.grad.numpy()) <= TORCH_TOL
    for (layer, d), tot in g.h.items():                          # nothing flows past a sequence's end
        for b, n in enumerate(lengths):
            assert not tot[n:, b].any()


@pytest.mark.parametrize("lengths,message", [
    (np.array([3, 8]), r"lengths: expected values in \[1, T\] = \[1, 7\], got values in \[3, 8\]"),
    (np.array([0, 2]), r"got values in \[0, 2\]"),
    (np.array([2.0, 3.0]), r"lengths: expected an integer array of shape \(B,\) = \(2,\), got dtype float64"),
    (np.array([2, 3, 4]), r"got dtype int64 and shape \(3,\)"),
])
def test_bad_lengths_are_refused(lengths, message, rng):
    m = _module("gru", 2, 3, 1, False, False, "tanh")
    params = {k: v.detach().numpy().copy() for k, v in m.state_dict().items()}
    with pytest.raises(ValueError, match=message):
        sr.stack_forward(params, rng.standard_normal((7, 2, 2)), "gru", lengths=lengths)


def test_stack_gradcheck_flags_a_wrong_gradient(monkeypatch):
    """The `gradcheck` command's stack rows fail when one gradient is off by a factor 1 + 1e-6."""
    import dataclasses

    from scratch_rnn import gradcheck
    from scratch_rnn.gradcheck import stacks as gradcheck_stack
    monkeypatch.setattr(gradcheck_stack, "STACK_CONFIGS", (("lstm", 2, True, 2, "tanh", (3, 5, 3)),))
    assert gradcheck.rows_pass(gradcheck_stack.check_stack_rows(with_torch=False))
    right = gradcheck_stack.stack_backward
    monkeypatch.setattr(gradcheck_stack, "stack_backward",
                        lambda *a: dataclasses.replace(right(*a), h0=right(*a).h0 * (1 + 1e-6)))
    rows = gradcheck_stack.check_stack_rows(with_torch=False)
    assert not gradcheck.rows_pass(rows)
    assert [r["quantity"] for r in rows if r["fd_error"] > gradcheck.FD_TOL] == ["h0"]


def test_parse_state_dict_key_inverts_state_dict_key():
    keys = sr.stack.state_dict_keys(3, 2, projection=True)
    assert [sr.parse_state_dict_key(k) for k in keys] == [
        (n, layer, d) for layer in range(3) for d in range(2)
        for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")]
    assert all(sr.state_dict_key(*sr.parse_state_dict_key(k)) == k for k in keys)
    for other in ("weight_hh", "head_weight", "weight_hh_l", "weight_hh_lx", "_l0", "weight_hh_l0_reversed"):
        assert sr.parse_state_dict_key(other) is None, other


def _lstm_params(H=4, L=2, D=3):
    torch.manual_seed(0)
    return {k: v.detach().numpy() for k, v in torch.nn.LSTM(D, H, num_layers=L).state_dict().items()}


@pytest.mark.parametrize("key,value,error,message", [
    ("weight_hh_l0", 3.0, ValueError, r"params\['weight_hh_l0'\]: expected an array of shape \(G\*H, P\) with G = 4 "
     r"for the LSTM, got float"),
    ("weight_hh_l0", None, ValueError, r"params\['weight_hh_l0'\]: .* got NoneType"),
    ("weight_hh_l1", None, TypeError, r"params\['weight_hh_l1'\]: expected an array of shape \(16, 4\), got NoneType"),
    (3, np.zeros(2, np.float32), ValueError, r"unexpected: \[3\]"),
    ("weight_hh_l1", np.zeros((24, 6), np.float32), ValueError,
     r"params\['weight_hh_l1'\]: expected shape \(G\*H, P\) = \(16, 4\) .*every layer of a stack has the same H"),
])
def test_malformed_state_dict_entries_are_named(key, value, error, message, rng):
    """A malformed entry is refused with its key before any loop reads it (an IndexError, a TypeError
    from sorting an int key, and a NumPy broadcast error before)."""
    x = rng.standard_normal((5, 2, 3)).astype(np.float32)
    with pytest.raises(error, match=message):
        sr.stack_forward({**_lstm_params(), key: value}, x, "lstm", num_layers=2)


def test_num_layers_beyond_the_params_is_refused_before_building_its_keys(rng):
    x = rng.standard_normal((5, 2, 3)).astype(np.float32)
    with pytest.raises(ValueError, match=r"num_layers, params: 100000000 layer\(s\) x 1 direction\(s\) need "
                                         r"400000000 state_dict keys, params has 8"):
        sr.stack_forward(_lstm_params(), x, "lstm", num_layers=10 ** 8)


def test_a_cache_edited_by_hand_is_refused(rng):
    import dataclasses
    x = rng.standard_normal((5, 2, 3)).astype(np.float32)
    out, _, _, cache = sr.stack_forward(_lstm_params(), x, "lstm", num_layers=2)
    with pytest.raises(ValueError, match=r"cache: a StackCache of 3 layer\(s\), 1 direction\(s\) and 1 length group\(s\) "
                                         r"holds one LSTMCache per \(layer, direction, group\), got 2 entries"):
        sr.stack_backward(dataclasses.replace(cache, num_layers=3), np.ones_like(out))
    one = cache.caches[0, 0, 0]
    cache.caches[0, 0, 0] = dataclasses.replace(one, gates=one.gates[:2])
    with pytest.raises(ValueError, match=r"cache.gates: expected shape \(T, 4, B, H\) = \(5, 4, 2, 4\) in float32, got "
                                         r"\(2, 4, 2, 4\) float32 \(a cache is what lstm_forward returned, unchanged\)"):
        sr.stack_backward(cache, np.ones_like(out))
    for cell in ("rnn", "gru"):
        entry = sr.get_cell(cell)
        torch.manual_seed(0)
        p = {k: v.detach().numpy() for k, v in getattr(torch.nn, entry.torch_module)(3, 4).state_dict().items()}
        h, _, c1 = entry.forward({k[:-3]: v for k, v in p.items()}, x)
        with pytest.raises(ValueError, match=r"cache.h: expected shape \(T, B, P\) = \(5, 2, 4\)"):
            entry.backward(dataclasses.replace(c1, h=h[:3]), np.ones_like(h))


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_the_result_unpacks_into_four_and_has_names_for_every_cell(cell, rng):
    """`out, h_n, c_n, cache = stack_forward(...)` for every cell (c_n None but for the LSTM), and
    the same parts by name."""
    m = _module(cell, 2, 3, 2, True, False, "tanh")
    params = {k: v.detach().numpy().copy() for k, v in m.state_dict().items()}
    res = sr.stack_forward(params, rng.standard_normal((4, 2, 2)), cell, num_layers=2, bidirectional=True)
    out, h_n, c_n, cache = res
    assert res.out is out and res.h_n is h_n and res.c_n is c_n and res.cache is cache
    assert isinstance(res, sr.StackOutput) and (c_n is not None) == (cell == "lstm")
    assert sr.stack_backward(res.cache, np.ones_like(res.out)).x.shape == (4, 2, 2)
