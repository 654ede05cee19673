"""Parameter initialisation.

Every function takes a ``numpy.random.Generator`` and returns a parameter dict with PyTorch's
names and shapes, so the result copies into ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` unchanged.
"""
from __future__ import annotations

import numpy as np
from numpy.typing import DTypeLike

from .._validate import FLOAT_DTYPES, PARAM_NAMES
from ..cells import get_cell


def _check_sizes(cell: str, input_size: int, hidden_size: int, rng, dtype) -> tuple[int, np.dtype]:
    G = get_cell(cell).gates
    for name, size in (("input_size", input_size), ("hidden_size", hidden_size)):
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
            raise ValueError(f"{name}: expected an integer >= 1, got {size!r}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng: expected a numpy.random.Generator, got {type(rng).__name__}")
    dtype = np.dtype(dtype)
    if dtype not in FLOAT_DTYPES:
        raise TypeError(f"dtype: expected float32 or float64, got {dtype}")
    return G, dtype


def init_pytorch_default(cell: str, input_size: int, hidden_size: int, rng: np.random.Generator,
                         dtype: DTypeLike = np.float64) -> dict:
    """PyTorch's default initialisation of ``nn.RNN``, ``nn.LSTM`` and ``nn.GRU``: every tensor drawn from U(-1/sqrt(H), 1/sqrt(H)).

    Args:
        cell: "rnn", "lstm" or "gru"; its gate count G (`scratch_rnn.cells`) sets the shapes.
        input_size: D, >= 1.
        hidden_size: H, >= 1.
        rng: The generator every draw comes from.
        dtype: float32 or float64.

    Returns:
        ``weight_ih`` (G*H, D), ``weight_hh`` (G*H, H), ``bias_ih`` (G*H,), ``bias_hh`` (G*H,).

    Raises:
        ValueError: An unknown cell, or a size that is not an integer >= 1.
        TypeError: `rng` is not a ``numpy.random.Generator``, or the dtype is not a float dtype.

    Examples:
        >>> p = sr.init_pytorch_default("lstm", 3, 4, np.random.default_rng(0))
        >>> {k: v.shape for k, v in p.items()}
        {'weight_ih': (16, 3), 'weight_hh': (16, 4), 'bias_ih': (16,), 'bias_hh': (16,)}
    """
    G, dtype = _check_sizes(cell, input_size, hidden_size, rng, dtype)
    H, D = hidden_size, input_size
    k = 1.0 / np.sqrt(H)
    shapes = {"weight_ih": (G * H, D), "weight_hh": (G * H, H), "bias_ih": (G * H,), "bias_hh": (G * H,)}
    return {name: rng.uniform(-k, k, size=shapes[name]).astype(dtype) for name in PARAM_NAMES}


def init_forget_bias(params: dict, value: float = 1.0) -> dict:
    """The LSTM forget-gate bias (Gers, Schmidhuber & Cummins 2000; Jozefowicz et al. 2015 recommend 1).

    The forget gate's pre-activation bias, bias_ih[f] + bias_hh[f], becomes `value` (bias_ih[f] =
    value, bias_hh[f] = 0). At initialisation the forget gate is then about sigmoid(value), so the cell
    state, and the gradient along it, decays by that factor per step instead of about 0.5.

    Args:
        params: An LSTM's parameters (``weight_hh`` (4H, H)); not modified.
        value: The forget gate's bias.

    Returns:
        A copy of `params` with the new forget-gate biases.

    Raises:
        ValueError: `params` are not an LSTM's.

    Examples:
        >>> p = sr.init_forget_bias(sr.init_pytorch_default("lstm", 3, 4, np.random.default_rng(0)), 1.0)
        >>> float(p["bias_ih"][4:8].sum() + p["bias_hh"][4:8].sum()) / 4                  # the forget gate's bias
        1.0
    """
    H = _lstm_hidden(params)
    out = {k: v.copy() for k, v in params.items()}
    out["bias_ih"][H:2 * H] = value
    out["bias_hh"][H:2 * H] = 0
    return out


def init_chrono(params: dict, t_max: float, rng: np.random.Generator) -> dict:
    """Chrono initialisation (Tallec & Ollivier 2018, "Can recurrent neural networks warp time?").

    The forget bias is b_f = log(u), u ~ U(1, t_max - 1), and the input bias b_i = -b_f, so the cell's
    characteristic forgetting times spread over [1, t_max]. Written to bias_ih (bias_hh of those gates
    set to 0).

    Args:
        params: An LSTM's parameters; not modified.
        t_max: The longest dependency to cover (the sequence length), > 2.
        rng: The generator of the draws of u.

    Returns:
        A copy of `params` with chrono-initialised input and forget biases.

    Raises:
        ValueError: `params` are not an LSTM's, or t_max <= 2.

    Examples:
        >>> p = sr.init_pytorch_default("lstm", 3, 4, np.random.default_rng(0))
        >>> p = sr.init_chrono(p, 100, np.random.default_rng(1))
        >>> bool(np.all(p["bias_ih"][4:8] >= 0) and np.all(p["bias_ih"][4:8] <= np.log(99)))   # b_f = log U(1, 99)
        True
    """
    H = _lstm_hidden(params)
    if not t_max > 2:
        raise ValueError(f"t_max: expected a number > 2 (the longest dependency to cover), got {t_max!r}")
    out = {k: v.copy() for k, v in params.items()}
    b_f = np.log(rng.uniform(1, t_max - 1, size=H))
    out["bias_ih"][H:2 * H], out["bias_hh"][H:2 * H] = b_f, 0
    out["bias_ih"][0:H], out["bias_hh"][0:H] = -b_f, 0
    return out


def init_orthogonal_recurrent(params: dict, rng: np.random.Generator, gain: float = 1.0) -> dict:
    """Orthogonal recurrent weights (Saxe, McClelland & Ganguli 2014), for any cell.

    Each (H, H) gate block of weight_hh becomes a random orthogonal matrix times `gain`: the QR
    decomposition of a Gaussian matrix with the signs of R's diagonal folded into Q, which makes Q
    uniformly (Haar) distributed.

    Args:
        params: A layer's parameters; not modified.
        rng: The generator of the Gaussian matrices.
        gain: The factor on every block.

    Returns:
        A copy of `params` with orthogonal recurrent blocks.

    Examples:
        >>> p = sr.init_orthogonal_recurrent(sr.init_pytorch_default("rnn", 3, 4, np.random.default_rng(0)),
        ...                                  np.random.default_rng(1))
        >>> W = p["weight_hh"]
        >>> bool(np.allclose(W @ W.T, np.eye(4)))
        True
    """
    out = {k: v.copy() for k, v in params.items()}
    GH, H = out["weight_hh"].shape
    for q in range(GH // H):
        a = rng.standard_normal((H, H))
        Q, R = np.linalg.qr(a)
        Q *= np.sign(np.diag(R))                                 # Haar measure
        out["weight_hh"][q * H:(q + 1) * H] = gain * Q
    return out


def init_identity_recurrent(params: dict, gain: float = 1.0) -> dict:
    """Identity recurrent weights and zero biases (IRNN, Le, Jaitly & Hinton 2015), for the RNN.

    Le et al. pair it with ReLU; with tanh the Jacobian at initialisation is diag(1 - h^2) W_hh, at
    most the identity, so gradients are preserved only while h stays near 0.

    Args:
        params: An RNN's parameters; not modified.
        gain: The factor on the identity.

    Returns:
        A copy of `params` with W_hh = gain * I and zero biases.

    Raises:
        ValueError: `params` are not an RNN's (weight_hh (H, H)).

    Examples:
        >>> p = sr.init_identity_recurrent(sr.init_pytorch_default("rnn", 3, 4, np.random.default_rng(0)))
        >>> bool(np.array_equal(p["weight_hh"], np.eye(4)))
        True
    """
    out = {k: v.copy() for k, v in params.items()}
    GH, H = out["weight_hh"].shape
    if GH != H:
        raise ValueError(f"params['weight_hh']: expected an RNN's (H, H), got {out['weight_hh'].shape}")
    out["weight_hh"][...] = gain * np.eye(H)
    out["bias_ih"][...] = 0
    out["bias_hh"][...] = 0
    return out


def _lstm_hidden(params: dict) -> int:
    GH, H = params["weight_hh"].shape
    if GH != 4 * H:
        raise ValueError(f"params['weight_hh']: expected an LSTM's (4H, H), got {params['weight_hh'].shape}")
    return H
