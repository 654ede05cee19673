"""The torch reference package: exact weight transfer and the study's models."""
import numpy as np
import pytest
import torch
from torch import nn

import scratch_rnn as sr
from reference import (LSTMModel, UnrolledLSTM, VanillaRNN, params_from_torch, params_to_torch)


@pytest.mark.parametrize("cell,layer", [("rnn", nn.RNN), ("lstm", nn.LSTM), ("rnn", nn.RNNCell), ("lstm", nn.LSTMCell)])
def test_round_trip_is_exact(cell, layer, rng):
    p = sr.init_pytorch_default(cell, 3, 7, rng)
    module = params_to_torch(p, layer(3, 7).double())
    back = params_from_torch(module)
    assert set(back) == set(p)
    for k in p:
        np.testing.assert_array_equal(back[k], p[k])


@pytest.mark.parametrize("cell,model", [("rnn", VanillaRNN), ("lstm", LSTMModel)])
def test_study_model_forward_matches_scratch(cell, model, rng):
    m = model(input_size=1, hidden_size=8).double()
    p = params_from_torch(m.rnn if cell == "rnn" else m.lstm)
    x = rng.random((5, 10, 1))  # (B, T, D) for the batch-first study model
    logits = m(torch.from_numpy(x)).detach().numpy()
    fwd = sr.rnn_forward if cell == "rnn" else sr.lstm_forward
    h = fwd(p, x.transpose(1, 0, 2))[0]
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
        params_to_torch(p, nn.GRU(3, 7))


def test_unrolled_keeps_every_state_gradient(rng):
    layer = UnrolledLSTM(2, 3).double()
    x = torch.from_numpy(rng.standard_normal((6, 2, 2)))
    h, c = layer(x)
    h[-1].sum().backward()
    assert len(layer.h) == len(layer.c) == 6
    assert all(t.grad is not None for t in layer.h + layer.c)
