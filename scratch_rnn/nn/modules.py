"""``torch.nn.RNN``, ``LSTM`` and ``GRU`` whose forward and backward are this package's.

Each class *is* the ``torch.nn`` class (a subclass): the same constructor, parameters, names,
shapes, ``state_dict``, ``reset_parameters`` and ``repr``, so a trained ``nn.LSTM``'s state_dict loads
into ``scratch_rnn.nn.LSTM`` and back unchanged. Only ``forward`` differs: each layer (both of its
directions) is one `function.LayerFunction`, the Numba kernels forward and the hand-written BPTT
backward; between layers, in training mode, ``dropout`` is torch's own ``F.dropout`` (autograd
differentiates it). Input as ``torch.nn`` takes it: (T, B, D), (B, T, D) with ``batch_first``, an
unbatched (T, D), or a ``PackedSequence``; ``hx`` as ``torch.nn`` takes it (zeros if None). Without
biases (``bias=False``) the layers run with zero biases, which is the same computation.
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch.nn.utils.rnn import PackedSequence, pad_packed_sequence

from .._validate import PARAM_NAMES
from ..cells import get_cell
from .function import LayerFunction, LayerSpec, check_tensor


@torch.compiler.disable
def _run_layer(spec: LayerSpec, *args):
    """One layer's `LayerFunction`; ``torch.compile`` runs it as it is (a graph break), never traces into the
    NumPy and Numba code behind it."""
    return LayerFunction.apply(spec, *args)


def _layer_weights(module: torch.nn.RNNBase, layer: int) -> list[torch.Tensor]:
    """The layer's parameters in `LayerSpec.keys` order; zero biases for a module without biases."""
    out = []
    for suffix in ("", "_reverse")[:2 if module.bidirectional else 1]:
        w_ih = getattr(module, f"weight_ih_l{layer}{suffix}")
        for name in PARAM_NAMES:
            attr = f"{name}_l{layer}{suffix}"
            out.append(getattr(module, attr) if hasattr(module, attr) and getattr(module, attr) is not None
                       else w_ih.new_zeros(w_ih.shape[0]))
        if getattr(module, "proj_size", 0):
            out.append(getattr(module, f"weight_hr_l{layer}{suffix}"))
    return out


def _pack_like(out: torch.Tensor, packed: PackedSequence) -> PackedSequence:
    """The padded time-major output (T, B, ...) as a PackedSequence with `packed`'s layout."""
    sorted_idx = packed.sorted_indices
    rows = [out[t, (sorted_idx[:n] if sorted_idx is not None else slice(0, int(n)))]
            for t, n in enumerate(packed.batch_sizes.tolist())]
    return PackedSequence(torch.cat(rows, 0), packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices)


class _Recurrent:
    """The forward shared by the three classes (mixed in before the torch.nn class)."""

    _cell: str = ""

    def forward(self, input: Any, hx: Any = None) -> Any:       # noqa: A002 (torch.nn's argument name)
        """The module's output, as ``torch.nn``'s forward returns it.

        Args:
            input: (T, B, D), (B, T, D) with ``batch_first``, (T, D) unbatched, or a ``PackedSequence``.
            hx: The initial state(s) as ``torch.nn`` takes them: h0 (num_layers * num_directions, B, P),
                and for the LSTM a tuple (h0, c0), c0 (..., B, H); zeros if None.

        Returns:
            ``(output, h_n)``, for the LSTM ``(output, (h_n, c_n))``, shaped as ``torch.nn``'s.

        Raises:
            RuntimeError: A tensor not on the CPU.
            TypeError: A dtype other than float32/float64, or other than the parameters'.
            ValueError: A shape that ``torch.nn`` would refuse.
        """
        m: Any = self                                            # the torch.nn class this is mixed into
        w_ih0: torch.Tensor = m.weight_ih_l0
        dtype = w_ih0.dtype
        check_tensor("weight_ih_l0", w_ih0)
        packed = isinstance(input, PackedSequence)
        lengths = None
        if packed:
            check_tensor("input", input.data, dtype)
            x, lens = pad_packed_sequence(input)                  # (T, B, D), batch in the caller's order
            lengths = tuple(int(v) for v in lens)
        else:
            check_tensor("input", input, dtype)
            if input.dim() not in (2, 3):
                raise ValueError(f"input: expected 2 (unbatched) or 3 dimensions, got shape {tuple(input.shape)}")
            x = input.unsqueeze(1) if input.dim() == 2 else (input.transpose(0, 1) if m.batch_first else input)
        unbatched = not packed and input.dim() == 2
        T, B, D = x.shape
        if D != m.input_size:
            raise ValueError(f"input: expected input_size {m.input_size} as the last dimension, got {D}")
        nd = 2 if m.bidirectional else 1
        P = m.proj_size if getattr(m, "proj_size", 0) else m.hidden_size
        lstm = get_cell(self._cell).cell_state
        h0, c0 = self._initial_states(hx, B, nd, P, dtype, unbatched, lstm)
        spec = LayerSpec(self._cell, m.bidirectional, getattr(m, "nonlinearity", "tanh"), getattr(m, "proj_size", 0),
                         lengths)
        h_n, c_n = [], []
        layer_in = x.contiguous()
        for layer in range(m.num_layers):
            sl = slice(layer * nd, (layer + 1) * nd)
            res = _run_layer(spec, layer_in, h0[sl].contiguous(), None if c0 is None else c0[sl].contiguous(),
                                      *_layer_weights(m, layer))
            layer_in, hn = res[0], res[1]
            h_n.append(hn)
            if c0 is not None:
                c_n.append(res[2])
            if m.dropout and m.training and layer < m.num_layers - 1:
                layer_in = F.dropout(layer_in, m.dropout, training=True)
        out, hn_all = layer_in, torch.cat(h_n, 0)
        cn_all = torch.cat(c_n, 0) if c0 is not None else None
        output: Any
        if packed:
            output = _pack_like(out, input)
        elif unbatched:
            output, hn_all = out.squeeze(1), hn_all.squeeze(1)
            cn_all = None if cn_all is None else cn_all.squeeze(1)
        else:
            output = out.transpose(0, 1) if m.batch_first else out
        return (output, (hn_all, cn_all)) if c0 is not None else (output, hn_all)

    def _initial_states(self, hx, B: int, nd: int, P: int, dtype, unbatched: bool, lstm: bool):
        m: Any = self
        n = m.num_layers * nd
        H = m.hidden_size
        if hx is None:
            zeros = torch.zeros(n, B, P, dtype=dtype)
            return zeros, (torch.zeros(n, B, H, dtype=dtype) if lstm else None)
        if lstm:
            if not (isinstance(hx, tuple) and len(hx) == 2):
                raise ValueError("hx: the LSTM takes a tuple (h0, c0)")
            h0, c0 = hx
        else:
            h0, c0 = hx, None
        out: list[torch.Tensor | None] = []
        for name, t, size in (("h0", h0, P), ("c0", c0, H)):
            if t is None:
                out.append(None)
                continue
            check_tensor(f"hx ({name})", t, dtype)
            t = t.unsqueeze(1) if unbatched else t
            if tuple(t.shape) != (n, B, size):
                raise ValueError(f"hx ({name}): expected shape {(n, B, size)} (num_layers * num_directions, B, "
                                 f"{'P' if name == 'h0' and size != H else 'H'}), got {tuple(t.shape)}")
            out.append(t)
        return out[0], out[1]


class RNN(_Recurrent, torch.nn.RNN):
    """``torch.nn.RNN`` (tanh or ReLU) with this package's forward pass and BPTT (Numba, CPU).

    Takes ``torch.nn.RNN``'s constructor arguments and has its parameters and state_dict.
    """

    _cell = "rnn"


class LSTM(_Recurrent, torch.nn.LSTM):
    """``torch.nn.LSTM`` (with ``proj_size`` too) with this package's forward pass and BPTT (Numba, CPU).

    Takes ``torch.nn.LSTM``'s constructor arguments and has its parameters and state_dict.
    """

    _cell = "lstm"


class GRU(_Recurrent, torch.nn.GRU):
    """``torch.nn.GRU`` with this package's forward pass and BPTT (Numba, CPU).

    Takes ``torch.nn.GRU``'s constructor arguments and has its parameters and state_dict.
    """

    _cell = "gru"
