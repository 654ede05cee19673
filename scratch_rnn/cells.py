"""The one registry of cells: a cell's name to everything that differs between the RNN, the LSTM
and the GRU.

PyTorch's ``RNNBase`` maps ``mode`` to its gate count once; here `CELLS` maps "rnn", "lstm" and
"gru" to a `Cell`: its gate count G (``weight_ih`` is (G*H, D)), its public forward and backward
functions, its cache and gradient types, whether it carries a cell state c_t, which
nonlinearities and whether a projection it accepts. Every function of the package that is given a
cell's name, or a cache, looks it up here: nothing else branches on the name, and no other module
keeps a table keyed by it. What a cell is to other libraries is here too, as names those
libraries resolve (``torch_module``: the class in ``torch.nn``), so this module imports neither.

`Cell.forward` and `Cell.backward` are the same call for every cell::

    h, c, cache = CELLS[name].forward(params, x, h0, c0, backend=..., nonlinearity=...)   # c None but for the LSTM
    grads = cell_of_cache(cache).backward(cache, dh, dc_last)                            # the cache's backend

The math itself lives in `scratch_rnn.rnn`, `scratch_rnn.lstm` and `scratch_rnn.gru`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from numpy.typing import ArrayLike

from .gru import GRUCache, GRUGrads, gru_backward, gru_forward, gru_forward_checked, gru_step_jacobians
from .lstm import LSTMCache, LSTMGrads, lstm_backward, lstm_forward, lstm_forward_checked, lstm_step_jacobians
from .rnn import NONLINEARITIES, RNNCache, RNNGrads, rnn_backward, rnn_forward, rnn_forward_checked, rnn_step_jacobians


@dataclass(frozen=True)
class Cell:
    """One recurrent cell, as the rest of the package sees it.

    Attributes:
        name: "rnn", "lstm" or "gru": ``nn.RNN``, ``nn.LSTM``, ``nn.GRU``.
        gates: G: weight_ih is (G*H, D), weight_hh (G*H, H).
        cache_type: What `forward` returns for `backward`.
        grads_type: What `backward` returns.
        cell_state: Whether the cell carries c_t beside h_t (the LSTM).
        projection: Whether it accepts ``weight_hr``, nn.LSTM's proj_size (the LSTM).
        nonlinearities: The accepted values of `nonlinearity` (the RNN's tanh or ReLU).
        inits: The initialisations `scratch_rnn.init_model` offers for the cell.
        torch_module: The name of the layer's class in ``torch.nn`` ("RNN", "LSTM", "GRU"); its
            one-step class is ``torch_module + "Cell"``.
        gate_names: The G gate blocks of ``weight_ih``'s rows, in PyTorch's order (empty for the RNN).
    """

    name: str                            # "rnn", "lstm", "gru": nn.RNN, nn.LSTM, nn.GRU
    gates: int                           # G: weight_ih (G*H, D), weight_hh (G*H, H)
    cache_type: type                     # what `forward` returns for `backward`
    grads_type: type                     # what `backward` returns
    cell_state: bool                     # carries c_t beside h_t (the LSTM)
    projection: bool                     # accepts weight_hr, nn.LSTM's proj_size (the LSTM)
    nonlinearities: tuple[str, ...]      # accepted values of `nonlinearity` (the RNN's tanh or ReLU)
    inits: tuple[str, ...]               # the initialisations init_model offers for it
    torch_module: str                    # its class in torch.nn ("LSTM"); one step: torch_module + "Cell"
    gate_names: tuple[str, ...]          # the gate blocks of weight_ih's rows, PyTorch's order
    _forward: Callable[..., tuple[Any, Any, Any]]
    _backward: Callable[..., Any]
    _forward_checked: Callable[..., tuple[Any, Any, Any]]
    _step_jacobians: Callable[[Any], tuple[np.ndarray, np.ndarray, np.ndarray]]

    def forward(self, params: dict, x: ArrayLike, h0: ArrayLike | None = None, c0: ArrayLike | None = None,
                backend: str = "numpy", nonlinearity: str = "tanh") -> tuple[np.ndarray, np.ndarray | None, Any]:
        """The cell's own forward function, with one signature for every cell.

        Args:
            params: The layer's parameters.
            x: The inputs, (T, B, D).
            h0: The initial hidden state, or None.
            c0: The initial cell state (cells with a cell state only), or None.
            backend: "numpy" or "numba".
            nonlinearity: One of the cell's `nonlinearities`.

        Returns:
            ``(h, c, cache)``; c is None for a cell without a cell state.

        Raises:
            ValueError: c0 for a cell without a cell state, or a nonlinearity the cell does not have.
        """
        self.check_options(c0=c0, nonlinearity=nonlinearity)
        return self._forward(params, x, h0, c0, backend, nonlinearity)

    def forward_checked(self, p: dict, x: np.ndarray, h0: np.ndarray, c0: np.ndarray | None = None,
                        backend: str = "numpy", nonlinearity: str = "tanh") -> tuple[np.ndarray, np.ndarray | None, Any]:
        """The cell's forward pass on arguments already checked (by one `forward` call on the same
        parameters, states and dtype): no check and no copy, for a caller that runs many short passes
        (RTRL's steps). Wrong shapes here are the caller's bug: they raise NumPy's errors, not ours.

        Args:
            p: The checked parameters (a cache's ``params``).
            x: The inputs, (T, B, D), in the parameters' dtype.
            h0: The initial hidden state, (B, H).
            c0: The initial cell state, (B, H), for a cell with a cell state; else None.
            backend: "numpy" or "numba".
            nonlinearity: One of the cell's `nonlinearities`.

        Returns:
            ``(h, c, cache)`` as `forward`, the cache holding the caller's arrays.
        """
        return self._forward_checked(p, x, h0, c0, backend, nonlinearity)

    def step_jacobians(self, cache: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The local derivatives of one step that RTRL carries forward.

        Args:
            cache: A cache of this cell; its first step is the one differentiated.

        Returns:
            ``(A, C, E)`` = (ds_t/dgi_t, ds_t/dgh_t, ds_t/ds_{t-1} through no product), per sequence
                (`scratch_rnn.rtrl.exact` gives the recursion; each cell's module gives its own).
        """
        return self._step_jacobians(cache)

    def backward(self, cache: Any, dh: ArrayLike, dc_last: ArrayLike | None = None, backend: str | None = None) -> Any:
        """The cell's own BPTT.

        Args:
            cache: What `forward` returned.
            dh: The gradient into each h_t.
            dc_last: The gradient into the last cell state (cells with a cell state only), or None.
            backend: "numpy" or "numba"; None: the cache's.

        Returns:
            The cell's gradients (`grads_type`).

        Raises:
            ValueError: dc_last for a cell without a cell state.
        """
        self.check_options(dc_last=dc_last)
        return self._backward(cache, dh, dc_last, backend)

    def check_options(self, nonlinearity: str = "tanh", proj_size: int = 0, **cell_states: Any) -> None:
        """Refuse an option this cell does not have.

        Args:
            nonlinearity: Must be one of the cell's `nonlinearities`.
            proj_size: Must be 0 for a cell without a projection.
            **cell_states: Cell-state arguments by name (c0, dc_last, c_n, ...); each must be None for a
                cell without a cell state.

        Raises:
            ValueError: The first option the cell does not have, by name.
        """
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


def _rnn_checked(p, x, h0, c0, backend, nonlinearity):
    h, cache = rnn_forward_checked(p, x, h0, backend, nonlinearity)
    return h, None, cache


def _lstm_checked(p, x, h0, c0, backend, nonlinearity):
    return lstm_forward_checked(p, x, h0, c0, backend)


def _gru_checked(p, x, h0, c0, backend, nonlinearity):
    h, cache = gru_forward_checked(p, x, h0, backend)
    return h, None, cache


CELLS: dict[str, Cell] = {
    "rnn": Cell("rnn", 1, RNNCache, RNNGrads, False, False, NONLINEARITIES, ("pytorch", "orthogonal", "identity"),
                "RNN", (), _rnn_forward, _rnn_backward, _rnn_checked, rnn_step_jacobians),
    "lstm": Cell("lstm", 4, LSTMCache, LSTMGrads, True, True, ("tanh",), ("pytorch", "forget_bias", "chrono", "orthogonal"),
                 "LSTM", ("i", "f", "g", "o"), _lstm_forward, _lstm_backward, _lstm_checked, lstm_step_jacobians),
    "gru": Cell("gru", 3, GRUCache, GRUGrads, False, False, ("tanh",), ("pytorch", "orthogonal"),
                "GRU", ("r", "z", "n"), _gru_forward, _gru_backward, _gru_checked, gru_step_jacobians),
}
"""Every cell, by name ("rnn", "lstm", "gru"), in the order the package lists them: the registry."""
#: G of every cell: weight_ih is (G*H, D)
GATES = {name: cell.gates for name, cell in CELLS.items()}
_BY_CACHE = {cell.cache_type: cell for cell in CELLS.values()}


def get_cell(name: str) -> Cell:
    """The registry's entry for a cell.

    Args:
        name: "rnn", "lstm" or "gru".

    Returns:
        Its `Cell`.

    Raises:
        ValueError: An unknown name, listing the cells.

    Examples:
        >>> sr.get_cell("lstm").gates, sr.get_cell("gru").cell_state
        (4, False)
    """
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


def tiny_problem(cell: Cell, dtype, rng: np.random.Generator) -> tuple[dict, np.ndarray]:
    """(params, x) of `cell`, D = 2, H = 3, x (3, 2, 2): a problem to compile the kernels on, in `dtype`."""
    G = cell.gates
    p = {k: (rng.random(shape) - 0.5).astype(dtype) for k, shape in (
        ("weight_ih", (G * 3, 2)), ("weight_hh", (G * 3, 3)), ("bias_ih", (G * 3,)), ("bias_hh", (G * 3,)))}
    return p, rng.random((3, 2, 2)).astype(dtype)


def compile_kernels(dtypes=("float32", "float64")) -> None:
    """Run every cell's Numba forward and backward once on a tiny problem, in each of `dtypes`, with
    each nonlinearity and the LSTM's projection: what a command calls before its first real call, so
    that Numba's compilation (or its loading from the cache) happens while a line says so (RTRL's
    compiled step: `scratch_rnn.rtrl.exact.compile_rtrl`)."""
    rng = np.random.default_rng(0)
    for cell in CELLS.values():
        for dtype in map(np.dtype, dtypes):
            p, x = tiny_problem(cell, dtype, rng)
            for nl in cell.nonlinearities:
                _, _, cache = cell.forward(p, x, backend="numba", nonlinearity=nl)
                cell.backward(cache, np.ones((3, 2, 3), dtype))
            if cell.projection:
                q = {**p, "weight_hr": (rng.random((2, 3)) - 0.5).astype(dtype),
                     "weight_hh": p["weight_hh"][:, :2].copy()}
                _, _, cache = cell.forward(q, x, backend="numba")
                cell.backward(cache, np.ones((3, 2, 2), dtype))
