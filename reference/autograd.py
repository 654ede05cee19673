"""Every gradient of the scratch_rnn contract, computed by PyTorch autograd.

The loss is the one scratch_rnn's backward functions differentiate::

    L = sum_t sum(dh[t] * h_t) + sum(dc_last * c_{T-1})

`autograd_grads` is the oracle of one layer, `stack_autograd_grads` of a stacked, bidirectional,
projected or variable-length ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU``. For one layer, parameter, x, h0 and
c0 gradients come from the fused ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` (the layers the
study trains); the total dL/dh_t and dL/dc_t for every t come from the unrolled cell-by-cell
layers, whose parameter gradients are returned too (keys prefixed ``unrolled_``) so the two torch
paths can be checked against each other.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from scratch_rnn import PARAM_NAMES, get_cell, state_dict_key

from .models import torch_layer
from .transfer import params_to_torch
from .unrolled import UnrolledLSTM, unrolled_layer


def _grad(t: torch.Tensor) -> torch.Tensor:
    """t.grad, which backward() has set on every retained state."""
    if t.grad is None:
        raise RuntimeError("a retained state received no gradient")
    return t.grad


def _t(a, device):
    return None if a is None else torch.from_numpy(np.ascontiguousarray(a)).to(device)


def autograd_grads(cell: str, params: dict, x: np.ndarray, h0: np.ndarray | None = None, c0: np.ndarray | None = None,
                   dh: np.ndarray | None = None, dc_last: np.ndarray | None = None, device: str = "cpu",
                   nonlinearity: str = "tanh") -> dict:
    """Every gradient of the scratch_rnn contract for one layer, by autograd.

    The loss is L = sum_t sum(dh[t] * h_t) + sum(dc_last * c_{T-1}). Parameter, x, h0 and c0
    gradients come from the fused ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU``; the totals dL/dh_t (and
    dL/dc_t) from the unrolled layer, whose parameter gradients are returned too (keys prefixed
    ``unrolled_``).

    Args:
        cell: "rnn", "lstm" or "gru".
        params: ``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh`` as NumPy arrays.
        x: The inputs, (T, B, D); its dtype is the computation's.
        h0: The initial hidden state, (B, H); zeros if None.
        c0: The initial cell state, (B, H), LSTM; zeros if None.
        dh: The gradient into each h_t, (T, B, H).
        dc_last: The gradient into c_{T-1}, (B, H), LSTM; zeros if None.
        device: "cpu" or "cuda".
        nonlinearity: "tanh" or "relu", the RNN's.

    Returns:
        NumPy arrays keyed like `scratch_rnn.gradcheck.QUANTITIES` (``weight_ih`` ..., ``x``, ``h0``,
            ``c0``, ``h``, ``c``) and ``unrolled_<parameter>``.

    Raises:
        ValueError: An unknown cell.

    Examples:
        >>> from reference import autograd_grads
        >>> p = sr.init_pytorch_default("gru", 2, 3, np.random.default_rng(0))
        >>> x, dh = np.ones((4, 2, 2)), np.ones((4, 2, 3))
        >>> torch_side = autograd_grads("gru", p, x, dh=dh)
        >>> ours = sr.gru_backward(sr.gru_forward(p, x)[1], dh)
        >>> bool(np.allclose(torch_side["h"], ours.h)), bool(np.allclose(torch_side["bias_hh"], ours.params["bias_hh"]))
        (True, True)
    """
    spec = get_cell(cell)
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
    kw = {"nonlinearity": nonlinearity} if len(spec.nonlinearities) > 1 else {}
    layer = torch_layer(cell)(D, H, **kw).to(device=device, dtype=dtype)
    params_to_torch(params, layer.cpu()).to(device)
    xt, h0t, c0t = leaves()
    if not spec.cell_state:
        out, _ = layer(xt, h0t[None])
        loss = (out * dh_t).sum()
    else:
        out, (_, c_n) = layer(xt, (h0t[None], c0t[None]))
        loss = (out * dh_t).sum() + (c_n[0] * dc_t).sum()
    loss.backward()
    grads = {k: getattr(layer, state_dict_key(k, 0, 0)).grad for k in PARAM_NAMES}
    grads.update(x=xt.grad, h0=h0t.grad)
    if spec.cell_state:
        grads["c0"] = c0t.grad

    # unrolled layer: the total dL/dh_t and dL/dc_t
    unrolled = unrolled_layer(cell, D, H, nonlinearity).to(dtype=dtype)
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
    for k in PARAM_NAMES:
        grads[f"unrolled_{k}"] = getattr(unrolled.cell, k).grad
    return {k: v.detach().cpu().numpy() for k, v in grads.items()}


def stack_autograd_grads(cell: str, params: dict, x: np.ndarray, h0: np.ndarray, c0: np.ndarray | None,
                         dout: np.ndarray, dh_n: np.ndarray, dc_n: np.ndarray | None = None,
                         lengths: np.ndarray | None = None, num_layers: int = 1,
                         bidirectional: bool = False, proj_size: int = 0, nonlinearity: str = "tanh",
                         device: str = "cpu") -> dict:
    """The gradients of a stacked, bidirectional, projected or variable-length layer, by autograd through the torch module.

    The loss is L = sum(dout * out) + sum(dh_n * h_n) + sum(dc_n * c_n) (the c_n term for the LSTM);
    with `lengths` the batch is packed with ``pack_padded_sequence(..., enforce_sorted=False)``.

    Args:
        cell: "rnn", "lstm" or "gru".
        params: The module's state_dict as NumPy arrays.
        x: The inputs, (T, B, D); its dtype is the computation's.
        h0: The initial hidden states, (num_layers * num_directions, B, P).
        c0: The initial cell states, (num_layers * num_directions, B, H), LSTM only; else None.
        dout: The gradient into the output, (T, B, num_directions * P).
        dh_n: The gradient into the final hidden states, shaped like h0.
        dc_n: The gradient into the final cell states, LSTM only; else None.
        lengths: Sequence lengths (B,), or None.
        num_layers: The number of layers.
        bidirectional: Two directions per layer.
        proj_size: An LSTM's P, or 0.
        nonlinearity: "tanh" or "relu", the RNN's.
        device: "cpu" or "cuda".

    Returns:
        ``{"params": {state_dict key: gradient}, "x", "h0"[, "c0"]}`` as NumPy arrays.

    Raises:
        ValueError: An unknown cell, or an option the cell does not have.

    Examples:
        >>> from reference import stack_autograd_grads
        >>> rng = np.random.default_rng(0)
        >>> params = {sr.state_dict_key(k, 0, 0): v for k, v in sr.init_pytorch_default("rnn", 2, 3, rng).items()}
        >>> x, dout = np.ones((4, 2, 2)), np.ones((4, 2, 3))
        >>> g = stack_autograd_grads("rnn", params, x, np.zeros((1, 2, 3)), None, dout, np.zeros((1, 2, 3)))
        >>> ours = sr.stack_backward(sr.stack_forward(params, x, "rnn").cache, dout)
        >>> bool(np.allclose(g["params"]["weight_hh_l0"], ours.params["weight_hh_l0"]))
        True
    """
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    spec = get_cell(cell)
    spec.check_options(nonlinearity=nonlinearity, proj_size=proj_size, c0=c0, dc_n=dc_n)
    T, B, D = x.shape
    H = params["weight_hh_l0"].shape[0] // spec.gates
    kw: dict[str, Any] = {"num_layers": num_layers, "bidirectional": bidirectional}
    if len(spec.nonlinearities) > 1:
        kw["nonlinearity"] = nonlinearity
    if spec.projection:
        kw["proj_size"] = proj_size
    dtype = torch.from_numpy(np.zeros(0, x.dtype)).dtype
    m = torch_layer(cell)(D, H, **kw).to(device=device, dtype=dtype)
    m.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in params.items()})
    leaves = {k: _t(v, device).requires_grad_() for k, v in (("x", x), ("h0", h0), ("c0", c0)) if v is not None}
    inp: Any = leaves["x"]
    if lengths is not None:
        inp = pack_padded_sequence(inp, torch.from_numpy(np.asarray(lengths)), enforce_sorted=False)
    out, state = m(inp, (leaves["h0"], leaves["c0"]) if spec.cell_state else leaves["h0"])
    if lengths is not None:
        out = pad_packed_sequence(out, total_length=T)[0]
    h_n, c_n = state if spec.cell_state else (state, None)
    loss = (out * _t(dout, device)).sum() + (h_n * _t(dh_n, device)).sum()
    if c_n is not None and dc_n is not None:
        loss = loss + (c_n * _t(dc_n, device)).sum()
    loss.backward()
    grads: dict[str, Any] = {"params": {k: _grad(v).detach().cpu().numpy() for k, v in m.named_parameters()}}
    grads.update({k: _grad(v).detach().cpu().numpy() for k, v in leaves.items()})
    return grads
