"""The torch reference package: exact weight transfer and the study's models."""
import numpy as np
import pytest
import torch
from torch import nn

import scratch_rnn as sr
from reference import (RecurrentClassifier, UnrolledLSTM, params_from_torch, params_to_torch, torch_cell, torch_layer,
                       unrolled_layer)


@pytest.mark.parametrize("cell,layer", [("rnn", nn.RNN), ("lstm", nn.LSTM), ("gru", nn.GRU), ("rnn", nn.RNNCell),
                                        ("lstm", nn.LSTMCell), ("gru", nn.GRUCell)])
def test_round_trip_is_exact(cell, layer, rng):
    p = sr.init_pytorch_default(cell, 3, 7, rng)
    module = params_to_torch(p, layer(3, 7).double())
    back = params_from_torch(module)
    assert set(back) == set(p)
    for k in p:
        np.testing.assert_array_equal(back[k], p[k])


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_study_model_forward_matches_scratch(cell, rng):
    m = RecurrentClassifier(cell, input_size=1, hidden_size=8).double()
    p = params_from_torch(m.layer)
    x = rng.random((5, 10, 1))  # (B, T, D) for the batch-first study model
    logits = m(torch.from_numpy(x)).detach().numpy()
    h, _, _ = sr.get_cell(cell).forward(p, x.transpose(1, 0, 2))
    ours = h[-1] @ m.fc.weight.detach().numpy().T + m.fc.bias.detach().numpy()
    np.testing.assert_allclose(ours, logits, rtol=0, atol=1e-13)


def test_transfer_errors():
    p = sr.init_pytorch_default("lstm", 3, 7, np.random.default_rng(0))
    with pytest.raises(TypeError, match=r"params\['weight_ih'\]: expected dtype torch.float32"):
        params_to_torch(p, nn.LSTM(3, 7))
    with pytest.raises(ValueError, match=r"params\['weight_ih'\]: expected shape \(32, 3\) \(module.weight_ih_l0\), got \(28, 3\)"):
        params_to_torch(p, nn.LSTM(3, 8).double())
    with pytest.raises(ValueError, match="expected one unidirectional layer"):
        params_to_torch(p, nn.LSTM(3, 7, num_layers=2).double())
    with pytest.raises(TypeError, match="module: expected one of"):
        params_to_torch(p, nn.Linear(3, 7))


@pytest.mark.parametrize("t", [0, 3, 5])
def test_unrolled_state_gradients_are_the_totals(t, rng):
    """layer.h[t].grad and layer.c[t].grad are the total dL/dh_t and dL/dc_t: checked against an
    independent computation that restarts the layer at step t from leaf tensors (h_t, c_t) and
    differentiates the loss terms from t on with torch.autograd.grad."""
    torch.manual_seed(0)
    layer = UnrolledLSTM(2, 3).double()
    x = torch.from_numpy(rng.standard_normal((6, 2, 2)))
    w = torch.from_numpy(rng.standard_normal((6, 2, 3)))       # L = sum_t w_t . h_t
    h, c = layer(x)
    (h * w).sum().backward()
    h_val, c_val = layer.h[t].detach(), layer.c[t].detach()    # the states at t (a rerun replaces layer.h)
    h_prev = layer.h[t - 1].detach() if t else torch.zeros(2, 3, dtype=torch.float64)
    cell = layer.cell
    z = x[t] @ cell.weight_ih.detach().T + cell.bias_ih.detach() + h_prev @ cell.weight_hh.detach().T \
        + cell.bias_hh.detach()
    o_t = torch.sigmoid(z[:, 9:12])                             # the output gate at t (gate order i, f, g, o)

    def loss_from(h_t, c_t):                                    # the loss terms from step t on
        rest = layer(x[t + 1:], h_t, c_t)[0] if t < 5 else x.new_zeros(0, 2, 3)
        return (h_t * w[t]).sum() + (rest * w[t + 1:]).sum()

    h_t = h_val.clone().requires_grad_()                        # dL/dh_t: c_t held fixed
    dh, = torch.autograd.grad(loss_from(h_t, c_val), h_t)
    c_t = c_val.clone().requires_grad_()                        # dL/dc_t: h_t = o_t tanh(c_t) follows c_t
    dc, = torch.autograd.grad(loss_from(o_t * torch.tanh(c_t), c_t), c_t)
    h, c = layer(x)                                             # rerun: the restart replaced layer.h
    (h * w).sum().backward()
    np.testing.assert_allclose(layer.h[t].grad.numpy(), dh.numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(layer.c[t].grad.numpy(), dc.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("cell,layer,step", [("rnn", nn.RNN, nn.RNNCell), ("lstm", nn.LSTM, nn.LSTMCell),
                                             ("gru", nn.GRU, nn.GRUCell)])
def test_the_registry_names_each_cells_torch_classes(cell, layer, step):
    assert torch_layer(cell) is layer and torch_cell(cell) is step
    assert type(unrolled_layer(cell, 2, 3).cell) is step
    with pytest.raises(ValueError, match="cell: expected one of"):
        torch_layer("elman")
