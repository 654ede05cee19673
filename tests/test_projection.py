"""The LSTM with a projection (nn.LSTM(..., proj_size=P)): h_t = (o_t * tanh(c_t)) W_hr^T, one layer."""
import numpy as np
import pytest
import torch
from torch import nn

import scratch_rnn as sr
from reference import UnrolledLSTM, params_from_torch, params_to_torch
from scratch_rnn.gradcheck import FD_TOL, NUMBA_TOL, TORCH_TOL, layer_loss, max_rel_error, numerical_gradient


def _problem(T, B, D, H, P, rng, dtype=np.float64):
    torch.manual_seed(int(rng.integers(1 << 30)))
    params = {k: v.astype(dtype) for k, v in params_from_torch(nn.LSTM(D, H, proj_size=P).double()).items()}
    cast = lambda a: a.astype(dtype)  # noqa: E731
    return dict(params=params, x=cast(rng.standard_normal((T, B, D))), h0=cast(rng.standard_normal((B, P))),
                c0=cast(rng.standard_normal((B, H))), dh=cast(rng.standard_normal((T, B, P))),
                dc_last=cast(rng.standard_normal((B, H))))


def _grads(prob, backend="numpy"):
    h, c, cache = sr.lstm_forward(prob["params"], prob["x"], prob["h0"], prob["c0"], backend=backend)
    return h, c, sr.lstm_backward(cache, prob["dh"], prob["dc_last"], backend=backend)


@pytest.mark.parametrize("T,B,D,H,P", [(1, 1, 1, 2, 1), (5, 3, 2, 4, 2), (8, 2, 3, 5, 3)])
def test_projection_against_finite_differences(T, B, D, H, P, rng):
    prob = _problem(T, B, D, H, P, rng)
    _, _, g = _grads(prob)
    assert set(g.params) == {"weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr"}
    loss = lambda: layer_loss("lstm", **prob)  # noqa: E731
    for name in g.params:
        assert max_rel_error(g.params[name], numerical_gradient(loss, prob["params"][name])) <= FD_TOL, name
    for name, ours in (("x", g.x), ("h0", g.h0), ("c0", g.c0)):
        assert max_rel_error(ours, numerical_gradient(loss, prob[name])) <= FD_TOL, name


@pytest.mark.parametrize("T,B,D,H,P", [(1, 1, 1, 2, 1), (6, 3, 2, 4, 2), (60, 2, 3, 5, 3)])
def test_projection_against_torch(T, B, D, H, P, rng):
    """nn.LSTM(proj_size=P) for states and parameter gradients; an unrolled loop with retain_grad for
    the total dL/dh_t (B, P) and dL/dc_t (B, H) of every step."""
    prob = _problem(T, B, D, H, P, rng)
    h, c, g = _grads(prob)
    m = params_to_torch(prob["params"], nn.LSTM(D, H, proj_size=P).double())
    xt = torch.from_numpy(prob["x"]).requires_grad_()
    h0t, c0t = (torch.from_numpy(prob[k][None]).requires_grad_() for k in ("h0", "c0"))
    out, (_, cn) = m(xt, (h0t, c0t))
    ((out * torch.from_numpy(prob["dh"])).sum() + (cn[0] * torch.from_numpy(prob["dc_last"])).sum()).backward()
    assert max_rel_error(h, out.detach().numpy()) <= 1e-13 and max_rel_error(c[-1], cn[0].detach().numpy()) <= 1e-13
    for name, p in m.named_parameters():
        assert max_rel_error(g.params[name[:-3]], p.grad.numpy()) <= TORCH_TOL, name
    for ours, ref in ((g.x, xt.grad), (g.h0, h0t.grad[0]), (g.c0, c0t.grad[0])):
        assert max_rel_error(ours, ref.numpy()) <= TORCH_TOL
    u = UnrolledLSTM(D, H, P).double()
    params_to_torch(prob["params"], u.cell)
    hu, cu = u(torch.from_numpy(prob["x"]), torch.from_numpy(prob["h0"]), torch.from_numpy(prob["c0"]))
    ((hu * torch.from_numpy(prob["dh"])).sum() + (cu[-1] * torch.from_numpy(prob["dc_last"])).sum()).backward()
    assert max_rel_error(g.h, torch.stack([s.grad for s in u.h]).numpy()) <= TORCH_TOL
    assert max_rel_error(g.c, torch.stack([s.grad for s in u.c]).numpy()) <= TORCH_TOL


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_projection_numba_matches_numpy(dtype, rng):
    prob = _problem(30, 4, 3, 6, 2, rng, dtype)
    ref, ours = _grads(prob, "numpy"), _grads(prob, "numba")
    tol = NUMBA_TOL[np.dtype(dtype)]
    for a, b in zip(ref[:2], ours[:2]):
        assert max_rel_error(b, a) <= tol
    for name in ("x", "h0", "c0", "h", "c"):
        assert max_rel_error(getattr(ours[2], name), getattr(ref[2], name)) <= tol, name
    for name, value in ref[2].params.items():
        assert ours[2].params[name].dtype == dtype and max_rel_error(ours[2].params[name], value) <= tol, name


def test_projection_bad_input(rng):
    prob = _problem(3, 2, 2, 4, 2, rng)
    p, x = prob["params"], prob["x"]
    with pytest.raises(ValueError, match=r"params\['weight_hr'\]: expected shape \(P, H\) with P=2 \(weight_hh's "
                                         r"columns\), H=4 = \(2, 4\), got \(3, 4\)"):
        sr.lstm_forward({**p, "weight_hr": np.zeros((3, 4))}, x)
    with pytest.raises(ValueError, match=r"h0: expected shape \(B, P\) = \(2, 2\), got \(2, 4\)"):
        sr.lstm_forward(p, x, h0=np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"unknown: \['weight_hr'\]"):
        sr.gru_forward({"weight_ih": np.zeros((6, 2)), "weight_hh": np.zeros((6, 2)), "bias_ih": np.zeros(6),
                        "bias_hh": np.zeros(6), "weight_hr": np.zeros((2, 2))}, x)
    _, _, cache = sr.lstm_forward(p, x)
    with pytest.raises(ValueError, match=r"dh: expected shape \(T, B, P\) = \(3, 2, 2\), got \(3, 2, 4\)"):
        sr.lstm_backward(cache, np.zeros((3, 2, 4)))
    big = {**p, "weight_hr": np.full((2, 4), 1e308)}             # |h_t| can reach ||W_hr||_inf
    with pytest.raises(ValueError, match=r"pre-activations .* can reach"):
        sr.lstm_forward(big, x)
