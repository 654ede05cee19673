"""One recurrent layer (both directions) as a ``torch.autograd.Function`` whose backward is this
package's BPTT, run by the Numba kernels.

``LayerFunction.apply(spec, x, h0, c0, *weights)`` runs `scratch_rnn.stack_forward` for one layer on
the tensors' memory (``tensor.numpy()``: no copy for a contiguous CPU tensor) and keeps its cache;
its backward runs `scratch_rnn.stack_backward` on that cache and hands every gradient back to
autograd. What it cannot run is refused before any work, naming the case: a CUDA or other non-CPU
tensor, a dtype other than float32 and float64, a second derivative (the backward is hand-written
and not itself differentiable: ``once_differentiable``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.autograd.function import once_differentiable

from .._validate import PARAM_NAMES
from ..stack import stack_backward, stack_forward, state_dict_key

DTYPES = (torch.float32, torch.float64)


@dataclass(frozen=True)
class LayerSpec:
    """What one layer's call needs besides tensors.

    Attributes:
        cell: "rnn", "lstm" or "gru".
        bidirectional: Two directions.
        nonlinearity: The RNN's "tanh" or "relu".
        proj_size: The LSTM's P, or 0.
        lengths: Each sequence's length (B,), or None for all T.
    """

    cell: str
    bidirectional: bool
    nonlinearity: str
    proj_size: int
    lengths: tuple | None

    def keys(self) -> list[str]:
        """The layer's parameters, as `stack_forward` names them for a one-layer stack."""
        names = PARAM_NAMES + (("weight_hr",) if self.proj_size else ())
        return [state_dict_key(n, 0, d) for d in range(2 if self.bidirectional else 1) for n in names]


def check_tensor(name: str, t: torch.Tensor, dtype: torch.dtype | None = None) -> None:
    """Refuse what the kernels cannot run, naming the argument: a non-CPU tensor, a dtype other than
    float32/float64 (or other than `dtype`)."""
    if t.device.type != "cpu":
        raise RuntimeError(f"{name}: scratch_rnn.nn runs on the CPU (its kernels are Numba's), got a tensor on "
                           f"{t.device}; on a GPU use torch.nn's module of the same name, which loads this "
                           "module's state_dict unchanged")
    if t.dtype not in DTYPES:
        raise TypeError(f"{name}: expected float32 or float64, got {t.dtype} (the kernels have no half precision)")
    if dtype is not None and t.dtype != dtype:
        raise TypeError(f"{name}: expected {dtype}, the parameters' dtype, got {t.dtype}")


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().numpy()


def _tensor(a) -> torch.Tensor:
    """A tensor on the array's memory; a read-only array (a cache's own view) is copied first."""
    a = np.asarray(a)
    return torch.from_numpy(a if a.flags.writeable else a.copy())


class LayerFunction(torch.autograd.Function):
    """One layer, both directions: the forward and the hand-written BPTT of `scratch_rnn.stack`."""

    @staticmethod
    def forward(ctx, spec: LayerSpec, x: torch.Tensor, h0: torch.Tensor, c0: torch.Tensor | None,
                *weights: torch.Tensor):
        params = {k: _np(w) for k, w in zip(spec.keys(), weights)}
        lengths = None if spec.lengths is None else np.asarray(spec.lengths, dtype=np.int64)
        out, h_n, c_n, cache = stack_forward(params, _np(x), spec.cell, 1, spec.bidirectional,
                                             nonlinearity=spec.nonlinearity, proj_size=spec.proj_size,
                                             h0=_np(h0), c0=None if c0 is None else _np(c0), lengths=lengths,
                                             backend="numba")
        ctx.cache, ctx.spec, ctx.has_c0 = cache, spec, c0 is not None
        results = [_tensor(out), _tensor(h_n)]
        if c_n is not None:
            results.append(_tensor(c_n))
        return tuple(results)

    @staticmethod
    @once_differentiable
    def backward(ctx, dout, dh_n, dc_n=None):
        g = stack_backward(ctx.cache, _np(dout), _np(dh_n), None if dc_n is None else _np(dc_n))
        weights = [_tensor(g.params[k]) for k in ctx.spec.keys()]
        c0 = _tensor(g.c0) if ctx.has_c0 else None
        return (None, _tensor(g.x), _tensor(g.h0), c0, *weights)
