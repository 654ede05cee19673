"""The study's two models, as its notebook defines them: a recurrent layer (``batch_first=True``)
and a Linear head on the final hidden state. Inputs (B, T, D), logits (B, C). `StackModel` is the
same with several layers or two directions."""
from __future__ import annotations

import torch
from torch import nn

from scratch_rnn.cells import CELLS


class VanillaRNN(nn.Module):
    """The study's model: nn.RNN (tanh, one layer), batch-first, and nn.Linear on the last hidden state h_{T-1}.

    Args:
        input_size: D.
        hidden_size: H.
        output_size: C.
    """

    def __init__(self, input_size: int = 1, hidden_size: int = 64, output_size: int = 2):
        super().__init__()
        self.hidden_size = hidden_size
        self.rnn = nn.RNN(input_size, hidden_size, num_layers=1, batch_first=True, nonlinearity="tanh")
        self.fc = nn.Linear(hidden_size, output_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The model's output.

        Args:
            x: The inputs, batch-first, (B, T, D).

        Returns:
            The output, (B, C).
        """
        _, h_n = self.rnn(x)                      # h_n (1, B, H)
        return self.fc(h_n.squeeze(0))            # (B, C)


class LSTMModel(nn.Module):
    """The study's model: nn.LSTM (one layer), batch-first, and nn.Linear on the last hidden state h_{T-1}.

    Args:
        input_size: D.
        hidden_size: H.
        output_size: C.
    """

    def __init__(self, input_size: int = 1, hidden_size: int = 64, output_size: int = 2):
        super().__init__()
        self.hidden_size = hidden_size
        self.lstm = nn.LSTM(input_size, hidden_size, num_layers=1, batch_first=True)
        self.fc = nn.Linear(hidden_size, output_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The model's output.

        Args:
            x: The inputs, batch-first, (B, T, D).

        Returns:
            The output, (B, C).
        """
        _, (h_n, _) = self.lstm(x)                # h_n (1, B, H)
        return self.fc(h_n.squeeze(0))            # (B, C)


class GRUModel(nn.Module):
    """The study's model: nn.GRU (one layer), batch-first, and nn.Linear on the last hidden state h_{T-1}.

    Args:
        input_size: D.
        hidden_size: H.
        output_size: C.
    """

    def __init__(self, input_size: int = 1, hidden_size: int = 64, output_size: int = 2):
        super().__init__()
        self.hidden_size = hidden_size
        self.gru = nn.GRU(input_size, hidden_size, num_layers=1, batch_first=True)
        self.fc = nn.Linear(hidden_size, output_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The model's output.

        Args:
            x: The inputs, batch-first, (B, T, D).

        Returns:
            The output, (B, C).
        """
        _, h_n = self.gru(x)                      # h_n (1, B, H)
        return self.fc(h_n.squeeze(0))            # (B, C)


class StackModel(nn.Module):
    """nn.RNN / nn.LSTM / nn.GRU with several layers (and two directions), batch-first, and nn.Linear on the top layer's final states.

    With two directions the head reads [h_n[-2], h_n[-1]], (B, 2H), as PyTorch users write it.

    Args:
        cell: "rnn", "lstm" or "gru".
        input_size: D.
        hidden_size: H.
        output_size: C.
        num_layers: The number of layers.
        bidirectional: Two directions per layer.
    """

    def __init__(self, cell: str, input_size: int, hidden_size: int, output_size: int, num_layers: int = 1,
                 bidirectional: bool = False):
        super().__init__()
        module = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[cell]
        self.cell, self.nd = cell, 2 if bidirectional else 1
        self.stack = module(input_size, hidden_size, num_layers=num_layers, batch_first=True,
                            bidirectional=bidirectional)
        self.fc = nn.Linear(self.nd * hidden_size, output_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The model's output.

        Args:
            x: The inputs, batch-first, (B, T, D).

        Returns:
            The output, (B, C).
        """
        _, state = self.stack(x)
        h_n = state[0] if CELLS[self.cell].cell_state else state  # (num_layers * D, B, H)
        return self.fc(torch.cat(list(h_n[-self.nd:]), dim=1))    # (B, C)
