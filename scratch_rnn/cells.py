"""The one registry of cells: a cell's name to everything that differs between the RNN, the LSTM
and the GRU.

PyTorch's ``RNNBase`` maps ``mode`` to its gate count once; here `CELLS` maps "rnn", "lstm" and
"gru" to a `Cell`: its gate count G (``weight_ih`` is (G*H, D)), its public forward and backward
functions, its cache and gradient types, whether it carries a cell state c_t, which
nonlinearities and whether a projection it accepts. Every function of the package that is given a
cell's name, or a cache, looks it up here: nothing else branches on the name.

`Cell.forward` and `Cell.backward` are the same call for every cell::

    h, c, cache = CELLS[name].forward(params, x, h0, c0, backend=..., nonlinearity=...)   # c None but for the LSTM
    grads = cell_of_cache(cache).backward(cache, dh, dc_last)                            # the cache's backend

The math itself lives in `scratch_rnn.rnn`, `scratch_rnn.lstm` and `scratch_rnn.gru`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .gru import GRUCache, GRUGrads, gru_backward, gru_forward
from .lstm import LSTMCache, LSTMGrads, lstm_backward, lstm_forward
from .rnn import NONLINEARITIES, RNNCache, RNNGrads, rnn_backward, rnn_forward


@dataclass(frozen=True)
class Cell:
    """One recurrent cell, as the rest of the package sees it."""

    name: str                            # "rnn", "lstm", "gru": nn.RNN, nn.LSTM, nn.GRU
    gates: int                           # G: weight_ih (G*H, D), weight_hh (G*H, H)
    cache_type: type                     # what `forward` returns for `backward`
    grads_type: type                     # what `backward` returns
    cell_state: bool                     # carries c_t beside h_t (the LSTM)
    projection: bool                     # accepts weight_hr, nn.LSTM's proj_size (the LSTM)
    nonlinearities: tuple[str, ...]      # accepted values of `nonlinearity` (the RNN's tanh or ReLU)
    _forward: Callable[..., tuple[Any, Any, Any]]
    _backward: Callable[..., Any]

    def forward(self, params: dict, x, h0=None, c0=None, backend: str = "numpy", nonlinearity: str = "tanh"):
        """``(h, c, cache)`` of the cell's own forward function; c is None for a cell without a
        cell state. c0 for such a cell, or a nonlinearity it does not have, is refused by name."""
        self.check_options(c0=c0, nonlinearity=nonlinearity)
        return self._forward(params, x, h0, c0, backend, nonlinearity)

    def backward(self, cache, dh, dc_last=None, backend: str | None = None):
        """The cell's own BPTT of `cache` (`backend` None: the cache's)."""
        self.check_options(dc_last=dc_last)
        return self._backward(cache, dh, dc_last, backend)

    def check_options(self, nonlinearity: str = "tanh", proj_size: int = 0, **cell_states) -> None:
        """Raise ValueError for an option this cell does not have: a cell-state argument (c0,
        dc_last, c_n, ...) that is not None without a cell state, a nonlinearity other than its
        own, a projection where there is none."""
        if not self.cell_state:
            given = [k for k, v in cell_states.items() if v is not None]
            if given:
                raise ValueError(f"{given[0]}: only the LSTM has a cell state, got one for cell {self.name!r}")
        if nonlinearity not in self.nonlinearities:
            if len(self.nonlinearities) == 1:
                raise ValueError(f"nonlinearity: applies to cell 'rnn' only, got {nonlinearity!r} for {self.name!r}")
            raise ValueError(f"nonlinearity: expected one of {self.nonlinearities}, got {nonlinearity!r}")
        if proj_size and not self.projection:
            raise ValueError(f"proj_size: applies to cell 'lstm' only, got proj_size={proj_size} for {self.name!r}")


def _rnn_forward(params, x, h0, c0, backend, nonlinearity):
    h, cache = rnn_forward(params, x, h0, backend=backend, nonlinearity=nonlinearity)
    return h, None, cache


def _rnn_backward(cache, dh, dc_last, backend):
    return rnn_backward(cache, dh, backend=backend)


def _lstm_forward(params, x, h0, c0, backend, nonlinearity):
    return lstm_forward(params, x, h0, c0, backend=backend)


def _lstm_backward(cache, dh, dc_last, backend):
    return lstm_backward(cache, dh, dc_last, backend=backend)


def _gru_forward(params, x, h0, c0, backend, nonlinearity):
    h, cache = gru_forward(params, x, h0, backend=backend)
    return h, None, cache


def _gru_backward(cache, dh, dc_last, backend):
    return gru_backward(cache, dh, backend=backend)


#: every cell, by name, in the order the package lists them
CELLS: dict[str, Cell] = {
    "rnn": Cell("rnn", 1, RNNCache, RNNGrads, False, False, NONLINEARITIES, _rnn_forward, _rnn_backward),
    "lstm": Cell("lstm", 4, LSTMCache, LSTMGrads, True, True, ("tanh",), _lstm_forward, _lstm_backward),
    "gru": Cell("gru", 3, GRUCache, GRUGrads, False, False, ("tanh",), _gru_forward, _gru_backward),
}
#: G of every cell: weight_ih is (G*H, D)
GATES = {name: cell.gates for name, cell in CELLS.items()}
_BY_CACHE = {cell.cache_type: cell for cell in CELLS.values()}


def get_cell(name) -> Cell:
    """The registry's entry for `name`, or a ValueError that lists the cells."""
    try:
        return CELLS[name]
    except (KeyError, TypeError):
        raise ValueError(f"cell: expected one of {tuple(CELLS)}, got {name!r}") from None


def cell_of_cache(cache, what: str = "cache") -> Cell:
    """The cell whose forward pass returned `cache`, or a TypeError naming `what`."""
    cell = _BY_CACHE.get(type(cache))
    if cell is None:
        *first, last = (f"{c.name}_forward" for c in CELLS.values())
        names = f"{', '.join(first)} or {last}"
        raise TypeError(f"{what}: expected the cache of {names}, got {type(cache).__name__}")
    return cell


def cell_of_shape(G_H: int, H: int, where: str = "params['weight_hh']") -> Cell:
    """The cell whose recurrent weight has G_H = G*H rows for H columns."""
    for cell in CELLS.values():
        if G_H == cell.gates * H:
            return cell
    shapes = ", ".join(f"({cell.gates}H, H)" if cell.gates > 1 else "(H, H)" for cell in CELLS.values())
    raise ValueError(f"{where}: expected shape {shapes}, got {(G_H, H)}")
