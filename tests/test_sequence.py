"""The many-to-many model (a head and a loss at every step, with a mask) against torch, and the copying task."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import scratch_rnn as sr
from reference import params_to_torch, torch_layer
from scratch_rnn.gradcheck import TORCH_TOL, max_rel_error
from scratch_rnn.training.sequence import seq_backward, seq_forward, seq_loss
from scratch_rnn.training.tasks import copying, copying_baseline



def _torch_model(cell, p):
    D, H, C = p["weight_ih"].shape[1], p["weight_hh"].shape[1], p["head_weight"].shape[0]
    layer = params_to_torch({k: v for k, v in p.items() if not k.startswith("head")}, torch_layer(cell)(D, H).double())
    head = nn.Linear(H, C).double()
    with torch.no_grad():
        head.weight.copy_(torch.from_numpy(p["head_weight"]))
        head.bias.copy_(torch.from_numpy(p["head_bias"]))
    return layer, head


def _torch_loss(layer, head, x, y, mask):
    out = head(layer(torch.from_numpy(x))[0])                    # (T, B, C)
    m = torch.from_numpy(mask)
    return F.cross_entropy(out[m], torch.from_numpy(y)[m]), out


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_per_step_loss_and_gradients_match_torch(cell):
    rng = np.random.default_rng(0)
    x, y = copying(4, 3, rng, dtype=np.float64)
    mask = rng.random(y.shape) < 0.6
    mask[-1] = True
    p = sr.init_model(cell, 10, 5, 9, rng, dtype=np.float64)
    out, cache = seq_forward(p, x)
    loss, dout, _ = seq_loss(out, y, mask)
    grads, layer_grads = seq_backward(cache, dout)
    layer, head = _torch_model(cell, p)
    lt, ot = _torch_loss(layer, head, x, y, mask)
    lt.backward()
    assert abs(loss - lt.item()) <= 1e-12 and max_rel_error(out, ot.detach().numpy()) <= 1e-13
    ref = {**{k[:-3]: v.grad.numpy() for k, v in layer.named_parameters()},
           "head_weight": head.weight.grad.numpy(), "head_bias": head.bias.grad.numpy()}
    assert set(grads) == set(ref)
    for k in ref:
        assert max_rel_error(grads[k], ref[k]) <= TORCH_TOL, k
    assert layer_grads.h.shape == (24, 3, 5)


def test_adam_trajectory_matches_torch():
    """20 updates of Adam on the copying task, float64: the same losses as torch to 1e-9."""
    rng = np.random.default_rng(1)
    p = sr.init_model("lstm", 10, 8, 9, rng, dtype=np.float64)
    layer, head = _torch_model("lstm", p)
    opt_t = torch.optim.Adam(list(layer.parameters()) + list(head.parameters()), lr=1e-2)
    opt = sr.Adam(p, lr=1e-2)
    data = np.random.default_rng(2)
    ours, theirs = [], []
    for _ in range(20):
        x, y = copying(3, 4, data, dtype=np.float64)
        mask = np.ones(y.shape, dtype=bool)
        out, cache = seq_forward(p, x)
        loss, dout, _ = seq_loss(out, y, mask)
        opt.step(seq_backward(cache, dout)[0])
        opt_t.zero_grad()
        lt, _ = _torch_loss(layer, head, x, y, mask)
        lt.backward()
        opt_t.step()
        ours.append(float(loss))
        theirs.append(lt.item())
    assert np.max(np.abs(np.array(ours) - np.array(theirs))) <= 1e-9
    assert ours[-1] < ours[0]


def test_truncated_sequence_gradient_leaves_the_head_exact():
    rng = np.random.default_rng(3)
    x, y = copying(5, 2, rng, dtype=np.float64)
    p = sr.init_model("gru", 10, 6, 9, rng, dtype=np.float64)
    out, cache = seq_forward(p, x)
    _, dout, _ = seq_loss(out, y)
    full, _ = seq_backward(cache, dout)
    cut, _ = seq_backward(cache, dout, k=3, scheme="window")
    assert np.array_equal(full["head_weight"], cut["head_weight"])
    assert max_rel_error(cut["weight_hh"], full["weight_hh"]) > 1e-3


def test_copying_task_layout_and_baseline():
    x, y = copying(7, 5, np.random.default_rng(0))
    assert x.shape == (27, 5, 10) and y.shape == (27, 5)
    tokens = x.argmax(axis=2)
    assert np.array_equal(y[-10:], tokens[:10])                    # the recall is the first 10 inputs
    assert (tokens[:10] >= 1).all() and (tokens[:10] <= 8).all()
    assert (tokens[16] == 9).all() and not (tokens[10:16]).any() and not tokens[17:].any()
    assert not y[:-10].any()
    # blanks for T + 10 steps, a uniform guess over 8 symbols for the last 10: the stated baseline
    out = np.zeros((27, 5, 9))
    out[:-10, :, 0] = 50.0
    out[-10:, :, 0] = -50.0
    loss, _, _ = seq_loss(out, y)
    assert abs(loss - copying_baseline(7)) <= 1e-9
    with pytest.raises(ValueError, match="T: expected an integer >= 1, got 0"):
        copying(0, 2, np.random.default_rng(0))


def test_seq_loss_bad_input():
    out = np.zeros((4, 2, 3))
    with pytest.raises(ValueError, match=r"mask: expected shape \(T, B\) = \(4, 2\), got \(4, 3\)"):
        seq_loss(out, np.zeros((4, 2), dtype=int), np.ones((4, 3), dtype=bool))
    with pytest.raises(TypeError, match=r"mask: expected a boolean array \(T, B\), got dtype int64"):
        seq_loss(out, np.zeros((4, 2), dtype=int), np.ones((4, 2), dtype=np.int64))
    with pytest.raises(ValueError, match="mask: expected at least one step that carries a loss, got none"):
        seq_loss(out, np.zeros((4, 2), dtype=int), np.zeros((4, 2), dtype=bool))
    with pytest.raises(ValueError, match=r"y: expected labels in \[0, 3\), got values in \[3, 3\]"):
        seq_loss(out, np.full((4, 2), 3))
    with pytest.raises(ValueError, match="loss: expected 'cross_entropy' or 'mse', got 'hinge'"):
        seq_loss(out, np.zeros((4, 2), dtype=int), loss="hinge")


def test_masked_mse_matches_torch():
    rng = np.random.default_rng(4)
    out, target = rng.standard_normal((5, 3, 2)), rng.standard_normal((5, 3, 2))
    mask = rng.random((5, 3)) < 0.5
    mask[0, 0] = True
    loss, dout, acc = seq_loss(out, target, mask, loss="mse")
    ot = torch.from_numpy(out).requires_grad_()
    m = torch.from_numpy(mask)
    lt = F.mse_loss(ot[m], torch.from_numpy(target)[m])
    lt.backward()
    assert abs(loss - lt.item()) <= 1e-14 and max_rel_error(dout, ot.grad.numpy()) <= 1e-14 and np.isnan(acc)
