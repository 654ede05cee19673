"""The study's two models, as its notebook defines them: a recurrent layer (``batch_first=True``)
and a Linear head on the final hidden state. Inputs (B, T, D), logits (B, C)."""
from __future__ import annotations

import torch
from torch import nn


class VanillaRNN(nn.Module):
    """nn.RNN (tanh, one layer) + nn.Linear on h_{T-1}."""

    def __init__(self, input_size: int = 1, hidden_size: int = 64, output_size: int = 2):
        super().__init__()
        self.hidden_size = hidden_size
        self.rnn = nn.RNN(input_size, hidden_size, num_layers=1, batch_first=True, nonlinearity="tanh")
        self.fc = nn.Linear(hidden_size, output_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, h_n = self.rnn(x)                      # h_n (1, B, H)
        return self.fc(h_n.squeeze(0))            # (B, C)


class LSTMModel(nn.Module):
    """nn.LSTM (one layer) + nn.Linear on h_{T-1}."""

    def __init__(self, input_size: int = 1, hidden_size: int = 64, output_size: int = 2):
        super().__init__()
        self.hidden_size = hidden_size
        self.lstm = nn.LSTM(input_size, hidden_size, num_layers=1, batch_first=True)
        self.fc = nn.Linear(hidden_size, output_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, (h_n, _) = self.lstm(x)                # h_n (1, B, H)
        return self.fc(h_n.squeeze(0))            # (B, C)


class GRUModel(nn.Module):
    """nn.GRU (one layer) + nn.Linear on h_{T-1}; the study's models, with a GRU."""

    def __init__(self, input_size: int = 1, hidden_size: int = 64, output_size: int = 2):
        super().__init__()
        self.hidden_size = hidden_size
        self.gru = nn.GRU(input_size, hidden_size, num_layers=1, batch_first=True)
        self.fc = nn.Linear(hidden_size, output_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, h_n = self.gru(x)                      # h_n (1, B, H)
        return self.fc(h_n.squeeze(0))            # (B, C)
