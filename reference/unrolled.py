"""Cell-by-cell torch layers that keep the gradient of every hidden (and cell) state.

``nn.RNN`` and ``nn.LSTM`` return h_t but run the recurrence internally, so autograd never holds
the total dL/dh_t: the h_t they return is a leaf of the output, not the tensor fed to step t+1.
Here the loop is written out with ``nn.RNNCell`` / ``nn.LSTMCell`` and each state that step t+1
consumes calls ``retain_grad()``; after ``loss.backward()``, ``layer.h[t].grad`` is the total
dL/dh_t and ``layer.c[t].grad`` the total dL/dc_t, comparable with scratch_rnn's ``grads.h`` and
``grads.c``. Time-major, like scratch_rnn: x (T, B, D).
"""
from __future__ import annotations

import torch
from torch import nn

from scratch_rnn import get_cell


class UnrolledRNN(nn.Module):
    """The RNN as a Python loop over ``nn.RNNCell``, keeping every hidden state so that autograd can give dL/dh_t.

    Parameters are named as in ``nn.RNNCell``; after a backward pass, ``self.h[t].grad`` is the total dL/dh_t.

    Args:
        input_size: D.
        hidden_size: H.
        nonlinearity: "tanh" or "relu".
    """

    def __init__(self, input_size: int, hidden_size: int, nonlinearity: str = "tanh"):
        super().__init__()
        self.cell: nn.RNNCell | nn.GRUCell = nn.RNNCell(input_size, hidden_size, nonlinearity=nonlinearity)
        self.h: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor, h0: torch.Tensor | None = None) -> torch.Tensor:
        """Run the loop, retaining the gradient of every state.

        Args:
            x: The inputs, time-major, (T, B, D).
            h0: The initial state, (B, H); zeros if None.

        Returns:
            Every hidden state stacked, (T, B, H); ``self.h`` holds them one by one.
        """
        h = h0 if h0 is not None else x.new_zeros(x.shape[1], self.cell.hidden_size)
        self.h = []
        for t in range(x.shape[0]):
            h = self.cell(x[t], h)                # (B, H) h_t
            h.retain_grad()
            self.h.append(h)
        return torch.stack(self.h)


class ProjectedLSTMCell(nn.Module):
    """One step of ``nn.LSTM(..., proj_size=P)``, which has no ``nn.*Cell``.

    The LSTMCell's equations with h_t = (o_t * tanh(c_t)) W_hr^T; parameters named ``weight_ih``
    (4H, D), ``weight_hh`` (4H, P), ``bias_ih``, ``bias_hh`` (4H,) and ``weight_hr`` (P, H), initialised as
    nn.LSTM initialises them (uniform in +-1/sqrt(H)).

    Args:
        input_size: D.
        hidden_size: H, the cell state's size.
        proj_size: P, the hidden state's size.
    """

    def __init__(self, input_size: int, hidden_size: int, proj_size: int):
        super().__init__()
        self.hidden_size, self.proj_size = hidden_size, proj_size
        k = hidden_size ** -0.5

        def uniform(*shape: int) -> nn.Parameter:
            return nn.Parameter(torch.empty(shape).uniform_(-k, k))
        self.weight_ih = uniform(4 * hidden_size, input_size)
        self.weight_hh = uniform(4 * hidden_size, proj_size)
        self.bias_ih = uniform(4 * hidden_size)
        self.bias_hh = uniform(4 * hidden_size)
        self.weight_hr = uniform(proj_size, hidden_size)
        self.bias = True

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """One step.

        Args:
            x: The inputs of this step, (B, D).
            state: ``(h, c)``, (B, P) and (B, H).

        Returns:
            The new ``(h, c)``.
        """
        h, c = state                              # (B, P), (B, H)
        z = x @ self.weight_ih.T + self.bias_ih + h @ self.weight_hh.T + self.bias_hh
        i, f, g, o = z.chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return (torch.sigmoid(o) * torch.tanh(c)) @ self.weight_hr.T, c


class UnrolledLSTM(nn.Module):
    """The LSTM as a Python loop over ``nn.LSTMCell`` (or `ProjectedLSTMCell`), keeping every hidden and cell state.

    Parameters are named as in ``nn.LSTMCell`` (plus ``weight_hr``); after a backward pass,
    ``self.h[t].grad`` and ``self.c[t].grad`` are the totals dL/dh_t and dL/dc_t.

    Args:
        input_size: D.
        hidden_size: H.
        proj_size: P, or 0 for no projection.
    """

    def __init__(self, input_size: int, hidden_size: int, proj_size: int = 0):
        super().__init__()
        self.cell: nn.LSTMCell | ProjectedLSTMCell = (
            ProjectedLSTMCell(input_size, hidden_size, proj_size) if proj_size else nn.LSTMCell(input_size, hidden_size))
        self.h: list[torch.Tensor] = []
        self.c: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor, h0: torch.Tensor | None = None,
                c0: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the loop, retaining the gradient of every state.

        Args:
            x: The inputs, time-major, (T, B, D).
            h0: The initial hidden state, (B, P); zeros if None.
            c0: The initial cell state, (B, H); zeros if None.

        Returns:
            ``(h, c)``: every hidden and cell state stacked, (T, B, P) and (T, B, H).
        """
        H = self.cell.hidden_size
        P = self.cell.proj_size if isinstance(self.cell, ProjectedLSTMCell) else H
        h = h0 if h0 is not None else x.new_zeros(x.shape[1], P)
        c = c0 if c0 is not None else x.new_zeros(x.shape[1], H)
        self.h, self.c = [], []
        for t in range(x.shape[0]):
            h, c = self.cell(x[t], (h, c))        # (B, H) h_t, c_t
            h.retain_grad()
            c.retain_grad()
            self.h.append(h)
            self.c.append(c)
        return torch.stack(self.h), torch.stack(self.c)


class UnrolledGRU(UnrolledRNN):
    """The GRU as a Python loop over ``nn.GRUCell``, keeping every hidden state (the loop is `UnrolledRNN`'s).

    Args:
        input_size: D.
        hidden_size: H.
    """

    def __init__(self, input_size: int, hidden_size: int):
        nn.Module.__init__(self)
        self.cell = nn.GRUCell(input_size, hidden_size)
        self.h: list[torch.Tensor] = []


def unrolled_layer(cell: str, input_size: int, hidden_size: int, nonlinearity: str = "tanh",
                   proj_size: int = 0) -> UnrolledRNN | UnrolledLSTM:
    """The unrolled twin of a cell's ``torch.nn`` layer: ``Unrolled`` + its class name (`UnrolledRNN`,
    `UnrolledLSTM`, `UnrolledGRU`).

    Args:
        cell: "rnn", "lstm" or "gru".
        input_size: D.
        hidden_size: H.
        nonlinearity: "tanh" or "relu", for a cell that has both (the RNN).
        proj_size: P, for a cell with a projection (the LSTM); 0 for none.

    Returns:
        The layer, in float32 (``.double()`` for float64).

    Raises:
        ValueError: An unknown cell, or an option the cell does not have.

    Examples:
        >>> from reference import unrolled_layer
        >>> type(unrolled_layer("lstm", 2, 3)).__name__                            # one cell per step, every h_t kept
        'UnrolledLSTM'
    """
    spec = get_cell(cell)
    spec.check_options(nonlinearity=nonlinearity, proj_size=proj_size)
    kw: dict = {}
    if len(spec.nonlinearities) > 1:
        kw["nonlinearity"] = nonlinearity
    if spec.projection:
        kw["proj_size"] = proj_size
    return globals()["Unrolled" + spec.torch_module](input_size, hidden_size, **kw)
