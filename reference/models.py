"""The study's model, as its notebook defines it, and the torch classes of each cell.

`RecurrentClassifier` is a recurrent layer (``nn.RNN``, ``nn.LSTM`` or ``nn.GRU``, ``batch_first=True``,
one layer or a stack) and a Linear head on the final hidden state: inputs (B, T, D), logits (B, C).
The notebook's ``VanillaRNN`` and ``LSTMModel`` are ``RecurrentClassifier("rnn", ...)`` and
``RecurrentClassifier("lstm", ...)``. Which torch class a cell is, is the registry's fact
(`scratch_rnn.Cell.torch_module`): `torch_layer` and `torch_cell` only resolve it.
"""
from __future__ import annotations

import torch
from torch import nn

from scratch_rnn import get_cell


def torch_layer(cell: str) -> type[nn.Module]:
    """The ``torch.nn`` layer class of a cell.

    Args:
        cell: "rnn", "lstm" or "gru".

    Returns:
        ``nn.RNN``, ``nn.LSTM`` or ``nn.GRU``.

    Raises:
        ValueError: An unknown cell, listing the cells.

    Examples:
        >>> from reference import torch_layer
        >>> torch_layer("gru").__name__                                            # the class in torch.nn
        'GRU'
    """
    return getattr(nn, get_cell(cell).torch_module)


def torch_cell(cell: str) -> type[nn.Module]:
    """The ``torch.nn`` one-step class of a cell: ``nn.RNNCell``, ``nn.LSTMCell`` or ``nn.GRUCell``.

    Args:
        cell: "rnn", "lstm" or "gru".

    Returns:
        The class.

    Raises:
        ValueError: An unknown cell, listing the cells.

    Examples:
        >>> from reference import torch_cell
        >>> torch_cell("lstm").__name__
        'LSTMCell'
    """
    return getattr(nn, get_cell(cell).torch_module + "Cell")


class RecurrentClassifier(nn.Module):
    """The study's model: a recurrent layer (batch-first) and nn.Linear on its final hidden states.

    With two directions the head reads [h_n[-2], h_n[-1]], (B, 2H), as PyTorch users write it; with
    one, h_n[-1], the top layer's h_{T-1}.

    Args:
        cell: "rnn", "lstm" or "gru".
        input_size: D.
        hidden_size: H.
        output_size: C.
        num_layers: The number of layers.
        bidirectional: Two directions per layer.
        layers: "torch" (``torch.nn``'s layer) or "scratch_rnn" (``scratch_rnn.nn``'s: the same module
            with this package's forward pass and BPTT).

    Attributes:
        layer: The ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU``.
        fc: The head, ``nn.Linear``.
        stacked: Whether the model is a stack (several layers or two directions), whose parameters
            keep their state_dict keys in a scratch_rnn parameter dict (one layer: ``weight_ih`` ...).
    """

    def __init__(self, cell: str, input_size: int = 1, hidden_size: int = 64, output_size: int = 2,
                 num_layers: int = 1, bidirectional: bool = False, layers: str = "torch"):
        super().__init__()
        if layers not in ("torch", "scratch_rnn"):
            raise ValueError(f"layers: expected 'torch' or 'scratch_rnn', got {layers!r}")
        self.cell, self.nd = get_cell(cell), 2 if bidirectional else 1
        self.stacked = num_layers > 1 or bidirectional
        self.hidden_size = hidden_size
        if layers == "torch":
            layer_class = torch_layer(cell)
        else:
            from scratch_rnn import nn as scratch_nn
            layer_class = getattr(scratch_nn, get_cell(cell).torch_module)
        self.layer = layer_class(input_size, hidden_size, num_layers=num_layers, batch_first=True,
                                 bidirectional=bidirectional)
        self.fc = nn.Linear(self.nd * hidden_size, output_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The model's output.

        Args:
            x: The inputs, batch-first, (B, T, D).

        Returns:
            The output, (B, C).
        """
        _, state = self.layer(x)
        h_n = state[0] if self.cell.cell_state else state          # (num_layers * directions, B, H)
        return self.fc(torch.cat(list(h_n[-self.nd:]), dim=1))    # (B, C)
