r"""Stacked and bidirectional recurrent layers, composed exactly like ``nn.RNN``, ``nn.LSTM`` and
``nn.GRU`` from the one-layer functions, with every layer's and direction's per-timestep totals.

Layer l (l = 0 .. num_layers-1) reads the previous layer's output (x for l = 0); with
``bidirectional=True`` each layer runs a forward direction over t = 0 .. T-1 and a reverse one over
t = T-1 .. 0, and its output at t is [h_fwd_t, h_rev_t] (T, B, 2H). Parameters are the module's
``state_dict()`` with its keys (``weight_ih_l0``, ``weight_hh_l1_reverse``, ...); initial and final
states are (num_layers * num_directions, B, H) in PyTorch's order (layer major, forward first).

LSTM projections (``proj_size=P``, 0 < P < H, as in ``nn.LSTM``): every layer and direction has a
``weight_hr`` (P, H) and its hidden state is h_t = (o_t * tanh(c_t)) W_hr^T (see `scratch_rnn.lstm`),
so h (and h0, h_n, the outputs) have P entries where the cell state (c0, c_n) keeps H.

Backward. The loss sends ``dout`` into the top layer's outputs and ``dh_n`` (``dc_n``) into the
final states. Going down the stack, a layer's input gradient (summed over its two directions) is
the ``dh`` of every step of the layer below; each direction is then one call of the cell's own
BPTT, which is where every total dL/dh_t (and dL/dc_t) comes from. The reverse direction is a
forward direction over the time-reversed sequence, so its quantities are flipped back to real time.

Variable lengths (``lengths`` (B,), the semantics of ``pack_padded_sequence(..., enforce_sorted=False)``):
sequence b is only its first lengths[b] steps. Each direction runs over exactly those steps (the
reverse one from step lengths[b]-1 down to 0), outputs past them are 0, h_n and c_n hold each
sequence's state after its own last step, and the per-timestep totals past them are 0. The batch
is run in groups of equal length, each one call of the cell, so the numbers are the cell's own.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from ._validate import PARAM_NAMES, as_float_array, check_shape, check_x
from .cells import Cell, get_cell


def state_dict_key(name: str, layer: int, direction: int) -> str:
    """The key of a parameter in an ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` state_dict.

    Args:
        name: The parameter's name in one layer (``weight_ih``, ..., ``weight_hr``).
        layer: Its layer, from 0.
        direction: 0 forward, 1 reverse.

    Returns:
        ``weight_ih_l0``, ``bias_hh_l1_reverse``, ...

    Examples:
        >>> sr.state_dict_key("weight_hh", 1, 1)
        'weight_hh_l1_reverse'
    """
    return f"{name}_l{layer}" + ("_reverse" if direction else "")


def parse_state_dict_key(key: str) -> tuple[str, int, int] | None:
    """The inverse of `state_dict_key`.

    Args:
        key: A key of a parameter dict.

    Returns:
        (name, layer, direction): ``"bias_hh_l1_reverse"`` gives ("bias_hh", 1, 1); None for a key
            that is no state_dict key (``"weight_hh"``, ``"head_weight"``).

    Examples:
        >>> sr.parse_state_dict_key("bias_ih_l2_reverse")
        ('bias_ih', 2, 1)
        >>> sr.parse_state_dict_key("head_weight") is None
        True
    """
    stem, reverse = (key[:-len("_reverse")], 1) if key.endswith("_reverse") else (key, 0)
    name, sep, layer = stem.rpartition("_l")
    if not sep or not name or not layer.isdigit() or state_dict_key(name, int(layer), reverse) != key:
        return None
    return name, int(layer), reverse


def state_dict_keys(num_layers: int, num_directions: int, projection: bool = False) -> list[str]:
    """Every key of such a state_dict, in the module's order (layer major, forward first)."""
    names = PARAM_NAMES + (("weight_hr",) if projection else ())
    return [state_dict_key(n, layer, d) for layer in range(num_layers) for d in range(num_directions) for n in names]


@dataclass(frozen=True)
class StackCache:
    """What `stack_backward` needs, as `stack_forward` leaves it.

    Attributes:
        cell: "rnn", "lstm" or "gru".
        num_layers: The number of layers.
        num_directions: 1, or 2 for a bidirectional stack.
        batch_first: Whether the inputs and outputs are (B, T, ...).
        shape: (T, B, P) of one direction's outputs: P = proj_size, or H without a projection.
        cell_size: H, the size of the cell state and of every gate.
        groups: [(steps, batch indices)] of the batch grouped by sequence length, one cell call each.
        caches: The cells' caches by (layer, direction, group), time reversed for direction 1.
        backend: The loops that ran the forward pass; the backward pass runs the same by default.
    """

    cell: str
    num_layers: int
    num_directions: int
    batch_first: bool
    shape: tuple                 # (T, B, P): P = proj_size, or H without a projection
    cell_size: int               # H, the size of the cell state (and of every gate)
    groups: list                 # [(steps, batch indices)], one cell call each
    caches: dict                 # (layer, direction, group) -> the cell's cache (time reversed for direction 1)
    backend: str


class StackOutput(NamedTuple):
    """What `stack_forward` returns: a tuple ``(out, h_n, c_n, cache)`` in that order for every cell
    (``out, h_n, c_n, cache = stack_forward(...)``), whose parts also have names (``res.out``).

    Attributes:
        out: The top layer's outputs, (T, B, num_directions * P) ((B, T, ...) with batch_first; 0 past
            each sequence's length).
        h_n: The final hidden states, (num_layers * num_directions, B, P).
        c_n: The final cell states, (num_layers * num_directions, B, H), for the LSTM; None otherwise.
        cache: The `StackCache` that `stack_backward` takes.
    """

    out: np.ndarray
    h_n: np.ndarray
    c_n: np.ndarray | None
    cache: StackCache


@dataclass(frozen=True)
class StackGrads:
    """The gradients of the loss, as `stack_backward` returns them.

    Attributes:
        params: dL/dparameter under the state_dict's keys (``weight_ih_l0``, ...).
        x: dL/dx, shaped like the input ((T, B, D), or (B, T, D) with batch_first).
        h0: dL/dh0, (num_layers * num_directions, B, P).
        c0: dL/dc0, (num_layers * num_directions, B, H), for the LSTM; None otherwise.
        h: ``h[layer, direction]``: the total dL/dh_t of that layer and direction, (T, B, P), in
            real time (0 past each sequence's length).
        c: ``c[layer, direction]``: the total dL/dc_t, (T, B, H), for the LSTM; None otherwise.
    """

    params: dict
    x: np.ndarray
    h0: np.ndarray
    c0: np.ndarray | None
    h: dict
    c: dict | None


def _with_keys(message: str, names, layer: int, direction: int) -> str:
    """A one-layer message with the state_dict's keys: params['weight_hh'] -> params['weight_hh_l1']."""
    for n in names:
        message = message.replace(f"params['{n}']", f"params['{state_dict_key(n, layer, direction)}']")
    return message


def _states(name: str, value, n: int, B: int, H: int, dtype, letter: str = "H") -> list[Any]:
    if value is None:
        return [None] * n
    arr = as_float_array(name, value, dtype)
    check_shape(name, arr, (n, B, H), f"(num_layers * num_directions, B, {letter})")
    return list(arr)


def _check_proj_size(proj_size, cell: Cell) -> None:
    if isinstance(proj_size, bool) or not isinstance(proj_size, (int, np.integer)) or proj_size < 0:
        raise ValueError(f"proj_size: expected an integer >= 0, got {proj_size!r}")
    cell.check_options(proj_size=int(proj_size))


def _sizes(params: dict, cell: Cell, proj_size: int) -> tuple[int, int]:
    """(H, P) from the first layer's weight_hh; 0 < proj_size < H, as nn.LSTM requires."""
    w = params["weight_hh_l0"]
    shape = np.shape(w) if isinstance(w, (np.ndarray, list, tuple)) or hasattr(w, "__array__") else None
    if shape is None or len(shape) != 2 or shape[0] % cell.gates or shape[0] == 0:
        what = f"an array of shape {np.shape(w)}" if shape is not None else type(w).__name__
        raise ValueError(f"params['weight_hh_l0']: expected an array of shape (G*H, P) with G = {cell.gates} for the "
                         f"{cell.name.upper()}, got {what}")
    H = shape[0] // cell.gates
    if proj_size and proj_size >= H:
        raise ValueError(f"proj_size: expected 0 < proj_size < hidden size H = {H} (as nn.LSTM), got {proj_size}")
    return H, (proj_size or H)


def _check_layer_shapes(params: dict, cell: Cell, num_layers: int, nd: int, H: int, P: int, D: int,
                        proj_size: int) -> None:
    """Every entry but the projection (checked before, against proj_size) is an array with the shape its
    layer needs: weight_ih (G*H, D) in layer 0 and (G*H, num_directions * P) above it, weight_hh
    (G*H, P), the biases (G*H,); one H and one P for the whole stack, as in nn.RNN / nn.LSTM / nn.GRU."""
    G = cell.gates
    meaning = {"weight_hh": "(G*H, P)", "bias_ih": "(G*H,)", "bias_hh": "(G*H,)"}
    for layer in range(num_layers):
        want = {"weight_ih": (G * H, D if layer == 0 else nd * P), "weight_hh": (G * H, P), "bias_ih": (G * H,),
                "bias_hh": (G * H,)}
        for d in range(nd):
            for name in PARAM_NAMES:
                key = state_dict_key(name, layer, d)
                value = params[key]
                if not (isinstance(value, (np.ndarray, list, tuple)) or hasattr(value, "__array__")):
                    raise TypeError(f"params['{key}']: expected an array of shape {want[name]}, got "
                                    f"{type(value).__name__}")
                if np.shape(value) != want[name]:
                    spelled = meaning.get(name, "(G*H, D)" if layer == 0 else "(G*H, num_directions * P)")
                    raise ValueError(f"params['{key}']: expected shape {spelled} = {want[name]} (G = {G}, H = {H} "
                                     f"from weight_hh_l0, P = {P} from " + ("proj_size" if proj_size else "H")
                                     + f", D = {D} from x; every layer of a stack has the same H), got "
                                       f"{np.shape(value)}")


def _groups(lengths, T: int, B: int) -> list:
    """[(steps, indices)] of the batch grouped by sequence length; one group (T, all) without lengths.
    A group of the whole batch is the slice ``[:]``, so it indexes views, not copies."""
    if lengths is None:
        return [(T, slice(None))]
    arr = np.asarray(lengths)
    if arr.dtype.kind not in "iu" or arr.shape != (B,):
        raise ValueError(f"lengths: expected an integer array of shape (B,) = ({B},), got dtype {arr.dtype} and "
                         f"shape {arr.shape}")
    if arr.min() < 1 or arr.max() > T:
        raise ValueError(f"lengths: expected values in [1, T] = [1, {T}], got values in [{arr.min()}, {arr.max()}]")
    values = np.unique(arr)
    if len(values) == 1:                                         # one length for all: the whole batch
        return [(int(values[0]), slice(None))]
    return [(int(n), np.flatnonzero(arr == n)) for n in values]


def stack_forward(params: dict, x: ArrayLike, cell: str, num_layers: int = 1, bidirectional: bool = False,
                  batch_first: bool = False, nonlinearity: str = "tanh", proj_size: int = 0,
                  h0: ArrayLike | None = None, c0: ArrayLike | None = None, lengths: ArrayLike | None = None,
                  backend: str = "numpy") -> StackOutput:
    """Run a stack of layers and directions over a sequence, exactly as ``nn.RNN``, ``nn.LSTM`` or ``nn.GRU``.

    Args:
        params: The module's ``state_dict()`` as NumPy arrays, under its keys (``weight_ih_l0``,
            ``weight_hh_l1_reverse``, ``weight_hr_l0`` with a projection, ...), in x's dtype.
        x: Inputs, (T, B, D), or (B, T, D) with `batch_first`; float32 or float64.
        cell: "rnn", "lstm" or "gru".
        num_layers: The number of stacked layers, >= 1.
        bidirectional: Two directions per layer; a layer's output is then (T, B, 2P).
        batch_first: Inputs and outputs are (B, T, ...), as ``nn.LSTM(batch_first=True)``.
        nonlinearity: "tanh" or "relu" for the RNN; "tanh" for the others.
        proj_size: P of an LSTM with a projection (0 < P < H), 0 for none.
        h0: The initial hidden states, (num_layers * num_directions, B, P); zeros if None.
        c0: The initial cell states, (num_layers * num_directions, B, H), LSTM only; zeros if None.
        lengths: Sequence lengths, integers (B,) in [1, T], with the semantics of
            ``pack_padded_sequence(..., enforce_sorted=False)``; all T if None.
        backend: "numpy" (the reference) or "numba" (its compiled mirror).

    Returns:
        `StackOutput`: ``(out, h_n, c_n, cache)`` for every cell, by position or by name, with the
            module's shapes (c_n None but for the LSTM; P = proj_size, or H without a projection).

    Raises:
        ValueError: An option, a key, a shape or a length is wrong (named in the message).
        TypeError: `params` is not a dict, or an array is not float32 or float64.

    Examples:
        >>> rng = np.random.default_rng(0)
        >>> params = {sr.state_dict_key(name, layer, 0): w                       # a 2-layer nn.GRU's state_dict
        ...           for layer, D in enumerate((3, 4))
        ...           for name, w in sr.init_pytorch_default("gru", D, 4, rng).items()}
        >>> out, h_n, c_n, cache = sr.stack_forward(params, np.ones((5, 2, 3)), "gru", num_layers=2)
        >>> out.shape, h_n.shape, c_n is None
        ((5, 2, 4), (2, 2, 4), True)
    """
    spec = get_cell(cell)
    spec.check_options(nonlinearity=nonlinearity, c0=c0)
    if isinstance(num_layers, bool) or not isinstance(num_layers, (int, np.integer)) or num_layers < 1:
        raise ValueError(f"num_layers: expected an integer >= 1, got {num_layers!r}")
    if not isinstance(params, dict):
        raise TypeError(f"params: expected a state_dict-like dict, got {type(params).__name__}")
    _check_proj_size(proj_size, spec)
    nd = 2 if bidirectional else 1
    names = PARAM_NAMES + (("weight_hr",) if proj_size else ())
    needed = num_layers * nd * len(names)
    if num_layers > len(params):                                 # before a list of num_layers' keys is built
        raise ValueError(f"num_layers, params: {num_layers} layer(s) x {nd} direction(s) need {needed} state_dict "
                         f"keys, params has {len(params)}: {sorted(map(str, params))[:12]}")
    expected = state_dict_keys(num_layers, nd, bool(proj_size))
    missing, extra = [k for k in expected if k not in params], sorted(set(params) - set(expected), key=str)
    if missing or extra:
        raise ValueError(f"params: expected the state_dict keys {expected}, got {sorted(params, key=str)} "
                         f"(missing: {missing}, unexpected: {extra})")
    H, P = _sizes(params, spec, proj_size)
    for key in (k for k in expected if k.startswith("weight_hr")):
        shape = np.shape(params[key])
        if shape != (P, H):
            raise ValueError(f"proj_size, params['{key}']: proj_size={proj_size} asks for a projection of shape "
                             f"(proj_size, H) = ({P}, {H}), but params['{key}'] has shape {shape}")
    x = check_x(np.swapaxes(np.asarray(x), 0, 1) if batch_first else x)
    T, B, D = x.shape
    _check_layer_shapes(params, spec, num_layers, nd, H, P, D, proj_size)
    groups = _groups(lengths, T, B)
    h0s = _states("h0", h0, num_layers * nd, B, P, x.dtype, "proj_size" if proj_size else "H")
    c0s = _states("c0", c0, num_layers * nd, B, H, x.dtype)
    caches: dict[tuple[int, int, int], Any] = {}
    h_n = np.zeros((num_layers * nd, B, P), dtype=x.dtype)
    c_n = np.zeros((num_layers * nd, B, H), dtype=x.dtype)
    inp = x
    for layer in range(num_layers):
        out = np.zeros((T, B, nd * P), dtype=x.dtype)          # zeros past each sequence's length
        for d in range(nd):
            p = {n: params[state_dict_key(n, layer, d)] for n in names}
            i = layer * nd + d
            for k, (steps, idx) in enumerate(groups):
                seq = inp[:steps, idx][::-1] if d else inp[:steps, idx]  # the reverse direction reads time backwards
                s0 = None if h0s[i] is None else h0s[i][idx]
                c_0 = None if c0s[i] is None else c0s[i][idx]
                try:
                    h, c, caches[layer, d, k] = spec.forward(p, seq, s0, c_0, backend=backend,
                                                             nonlinearity=nonlinearity)
                except (ValueError, TypeError) as err:           # name the state_dict's keys, as the caller did
                    raise type(err)(_with_keys(str(err), names, layer, d)) from None
                if c is not None:
                    c_n[i, idx] = c[-1]
                h_n[i, idx] = h[-1]
                out[:steps, idx, d * P:(d + 1) * P] = h[::-1] if d else h   # back to real time
        inp = out
    stack_cache = StackCache(cell, num_layers, nd, batch_first, (T, B, P), H, groups, caches, backend)
    return StackOutput((np.swapaxes(inp, 0, 1) if batch_first else inp), h_n, (c_n if spec.cell_state else None),
                       stack_cache)


def stack_backward(cache: StackCache, dout: ArrayLike, dh_n: ArrayLike | None = None, dc_n: ArrayLike | None = None,
                   backend: str | None = None) -> StackGrads:
    """Backpropagate through time through every layer and direction.

    Args:
        cache: What `stack_forward` returned.
        dout: The gradient the loss sends into the outputs, shaped like ``out``.
        dh_n: The gradient into the final hidden states, shaped like ``h_n``; zeros if None.
        dc_n: The gradient into the final cell states, shaped like ``c_n`` (LSTM only); zeros if None.
        backend: "numpy" or "numba"; None runs the loops that ran the forward pass.

    Returns:
        `StackGrads`: the gradient of every state_dict entry, of x, h0 (and c0), and the totals
            dL/dh_t (dL/dc_t) of every layer and direction.

    Raises:
        TypeError: `cache` is not a `StackCache`, or an array has another dtype.
        ValueError: A shape is wrong, or dc_n is given for a cell without a cell state.

    Examples:
        >>> rng = np.random.default_rng(0)
        >>> params = {sr.state_dict_key(name, layer, 0): w
        ...           for layer, D in enumerate((3, 4))
        ...           for name, w in sr.init_pytorch_default("lstm", D, 4, rng).items()}
        >>> res = sr.stack_forward(params, np.ones((5, 2, 3)), "lstm", num_layers=2)
        >>> g = sr.stack_backward(res.cache, np.ones_like(res.out))
        >>> g.params["weight_hh_l1"].shape, g.h[0, 0].shape, g.c[1, 0].shape    # the totals of every layer
        ((16, 4), (5, 2, 4), (5, 2, 4))
    """
    if not isinstance(cache, StackCache):
        raise TypeError(f"cache: expected the StackCache returned by stack_forward, got {type(cache).__name__}")
    spec = get_cell(cache.cell)
    keys = {(layer, d, k) for layer in range(cache.num_layers) for d in range(cache.num_directions)
            for k in range(len(cache.groups))} if cache.num_layers * cache.num_directions * len(cache.groups) <= len(
                cache.caches) else None
    if keys != set(cache.caches) or not all(isinstance(c, spec.cache_type) for c in cache.caches.values()):
        raise ValueError(f"cache: a StackCache of {cache.num_layers} layer(s), {cache.num_directions} direction(s) and "
                         f"{len(cache.groups)} length group(s) holds one {spec.cache_type.__name__} per (layer, direction, "
                         f"group), got {len(cache.caches)} entries under {sorted(cache.caches)[:8]} (a cache is what "
                         "stack_forward returned, unchanged)")
    spec.check_options(dc_n=dc_n)
    T, B, P = cache.shape                                        # P: the hidden state's size
    H = cache.cell_size                                          # H: the cell state's size
    nd, num_layers, dtype = cache.num_directions, cache.num_layers, cache.caches[0, 0, 0].h.dtype
    dout = as_float_array("dout", dout, dtype)
    check_shape("dout", dout, (B, T, nd * P) if cache.batch_first else (T, B, nd * P),
                "(B, T, D*P)" if cache.batch_first else "(T, B, D*P)")
    d_in = np.swapaxes(dout, 0, 1) if cache.batch_first else dout
    dhn = _states("dh_n", dh_n, num_layers * nd, B, P, dtype, "P")
    dcn = _states("dc_n", dc_n, num_layers * nd, B, H, dtype)
    params: dict[str, np.ndarray] = {}
    dh0 = np.zeros((num_layers * nd, B, P), dtype=dtype)
    dc0 = np.zeros((num_layers * nd, B, H), dtype=dtype)
    h_tot: dict[tuple[int, int], np.ndarray] = {}
    c_tot: dict[tuple[int, int], np.ndarray] = {}
    for layer in reversed(range(num_layers)):
        d_below: Any = None
        for d in range(nd):
            i = layer * nd + d
            h_tot[layer, d] = np.zeros((T, B, P), dtype=dtype)  # 0 past each sequence's length
            if spec.cell_state:
                c_tot[layer, d] = np.zeros((T, B, H), dtype=dtype)
            for k, (steps, idx) in enumerate(cache.groups):
                part = d_in[:steps, idx, d * P:(d + 1) * P]
                dh = np.array(part[::-1] if d else part)
                if dhn[i] is not None:
                    dh[-1] += dhn[i][idx]                        # the final state is the last step's h
                dc_last = None if dcn[i] is None else dcn[i][idx]
                g = spec.backward(cache.caches[layer, d, k], dh, dc_last, backend=backend)
                if spec.cell_state:
                    dc0[i, idx] = g.c0
                    c_tot[layer, d][:steps, idx] = g.c[::-1] if d else g.c
                for n in g.params:                               # every group shares the layer's weights
                    key = state_dict_key(n, layer, d)
                    params[key] = g.params[n] if key not in params else params[key] + g.params[n]
                dh0[i, idx] = g.h0
                h_tot[layer, d][:steps, idx] = g.h[::-1] if d else g.h
                if d_below is None:
                    d_below = np.zeros((T, B, g.x.shape[2]), dtype=dtype)
                d_below[:steps, idx] += g.x[::-1] if d else g.x  # both directions read the same input
        d_in = d_below
    grad_x = np.ascontiguousarray(np.swapaxes(d_in, 0, 1) if cache.batch_first else d_in)
    cs = spec.cell_state
    return StackGrads(params=params, x=grad_x, h0=dh0, c0=dc0 if cs else None, h=h_tot, c=c_tot if cs else None)
