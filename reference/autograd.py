"""Every gradient of the scratch_rnn contract, computed by PyTorch autograd.

The loss is the one scratch_rnn's backward functions differentiate::

    L = sum_t sum(dh[t] * h_t) + sum(dc_last * c_{T-1})

Parameter, x, h0 and c0 gradients come from the fused ``nn.RNN`` / ``nn.LSTM`` (the layers the
study trains); the total dL/dh_t and dL/dc_t for every t come from the unrolled cell-by-cell
layers, whose parameter gradients are returned too (keys prefixed ``unrolled_``) so the two torch
paths can be checked against each other.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .transfer import params_to_torch
from .unrolled import UnrolledGRU, UnrolledLSTM, UnrolledRNN

_FUSED = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
_UNROLLED: dict[str, type[UnrolledRNN] | type[UnrolledLSTM] | type[UnrolledGRU]] = {
    "rnn": UnrolledRNN, "lstm": UnrolledLSTM, "gru": UnrolledGRU}


def _grad(t: torch.Tensor) -> torch.Tensor:
    """t.grad, which backward() has set on every retained state."""
    if t.grad is None:
        raise RuntimeError("a retained state received no gradient")
    return t.grad


def _t(a, device):
    return None if a is None else torch.from_numpy(np.ascontiguousarray(a)).to(device)


def autograd_grads(cell: str, params: dict, x, h0=None, c0=None, dh=None, dc_last=None,
                   device: str = "cpu", nonlinearity: str = "tanh") -> dict:
    """Gradients of L by autograd, as NumPy arrays keyed like `scratch_rnn.gradcheck.QUANTITIES`.

    x (T, B, D); h0, c0, dc_last (B, H) or None (zeros); dh (T, B, H). dtype follows x.
    """
    if cell not in _FUSED:
        raise ValueError(f"cell: expected one of {tuple(_FUSED)}, got {cell!r}")
    T, B, D = x.shape
    H = params["weight_hh"].shape[1]
    dtype = torch.from_numpy(np.zeros(0, x.dtype)).dtype
    zeros = np.zeros((B, H), x.dtype)
    h0 = zeros if h0 is None else h0
    c0 = zeros if c0 is None else c0
    dc_last = zeros if dc_last is None else dc_last
    dh_t, dc_t = _t(dh, device), _t(dc_last, device)

    def leaves():
        return [_t(a, device).requires_grad_() for a in (x, h0, c0)]

    # fused layer: parameter, x, h0, c0 gradients
    kw = {"nonlinearity": nonlinearity} if cell == "rnn" else {}
    layer = _FUSED[cell](D, H, **kw).to(device=device, dtype=dtype)
    params_to_torch(params, layer.cpu()).to(device)
    xt, h0t, c0t = leaves()
    if cell != "lstm":
        out, _ = layer(xt, h0t[None])
        loss = (out * dh_t).sum()
    else:
        out, (_, c_n) = layer(xt, (h0t[None], c0t[None]))
        loss = (out * dh_t).sum() + (c_n[0] * dc_t).sum()
    loss.backward()
    grads = {f"{k}": getattr(layer, f"{k}_l0").grad for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
    grads.update(x=xt.grad, h0=h0t.grad)
    if cell == "lstm":
        grads["c0"] = c0t.grad

    # unrolled layer: the total dL/dh_t and dL/dc_t
    unrolled: UnrolledRNN | UnrolledLSTM | UnrolledGRU = (
        UnrolledRNN(D, H, nonlinearity) if cell == "rnn" else _UNROLLED[cell](D, H)).to(dtype=dtype)
    params_to_torch(params, unrolled.cell).to(device)
    xt, h0t, c0t = leaves()
    if not isinstance(unrolled, UnrolledLSTM):
        loss = (unrolled(xt, h0t) * dh_t).sum()
    else:
        hs, cs = unrolled(xt, h0t, c0t)
        loss = (hs * dh_t).sum() + (cs[-1] * dc_t).sum()
    loss.backward()
    grads["h"] = torch.stack([_grad(h) for h in unrolled.h])
    if isinstance(unrolled, UnrolledLSTM):
        grads["c"] = torch.stack([_grad(c) for c in unrolled.c])
    for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        grads[f"unrolled_{k}"] = getattr(unrolled.cell, k).grad
    return {k: v.detach().cpu().numpy() for k, v in grads.items()}
