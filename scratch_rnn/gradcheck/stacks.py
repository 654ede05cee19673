"""Gradient checks of `stack_forward` / `stack_backward`: stacked, bidirectional, projected and
variable-length layers, against central finite differences and ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU``.

The loss makes every input of the backward visible::

    L = sum(dout * out) + sum(dh_n * h_n) + sum(dc_n * c_n)        (the c_n term for the LSTM only)

One row per configuration, backend and gradient: ``params`` (the worst over every state_dict key),
``x``, ``h0`` and ``c0``.
"""
from __future__ import annotations


import numpy as np

from ..cells import CELLS
from ..stack import stack_backward, stack_forward, state_dict_key
from .common import max_rel_error, numerical_gradient

#: cell, num_layers, bidirectional, proj_size, nonlinearity, lengths (None: all T steps)
STACK_CONFIGS = (
    ("rnn", 2, True, 0, "relu", (3, 5, 3)),
    ("lstm", 2, True, 2, "tanh", (3, 5, 3)),
    ("lstm", 3, False, 0, "tanh", None),
    ("gru", 2, True, 0, "tanh", (3, 5, 3)),
)
#: T, B, D, H of every configuration
STACK_SIZE = (5, 3, 2, 3)


def config_name(cell, layers, bidirectional, proj_size, nonlinearity, lengths) -> str:
    """A short label such as ``lstm L2 bi P2 lengths``."""
    parts = [cell + ("-relu" if nonlinearity == "relu" else ""), f"L{layers}"]
    parts += ["bi"] if bidirectional else []
    parts += [f"P{proj_size}"] if proj_size else []
    parts += ["lengths"] if lengths is not None else []
    return " ".join(parts)


def random_stack_problem(config, rng: np.random.Generator) -> dict:
    """A state_dict (uniform in +-1/sqrt(H), as torch initialises it), inputs and upstream gradients."""
    cell, L, bi, P, nl, lengths = config
    T, B, D, H = STACK_SIZE
    nd, Ho, G, k = (2 if bi else 1), (P or H), CELLS[cell].gates, H ** -0.5
    params = {}
    for layer in range(L):
        for d in range(nd):
            shapes = {"weight_ih": (G * H, D if layer == 0 else nd * Ho), "weight_hh": (G * H, Ho),
                      "bias_ih": (G * H,), "bias_hh": (G * H,), **({"weight_hr": (P, H)} if P else {})}
            params.update({state_dict_key(n, layer, d): rng.uniform(-k, k, s) for n, s in shapes.items()})
    lstm = CELLS[cell].cell_state
    return {"params": params, "x": rng.standard_normal((T, B, D)),
            "h0": rng.standard_normal((L * nd, B, Ho)) * 0.5,
            "c0": rng.standard_normal((L * nd, B, H)) * 0.5 if lstm else None,
            "dout": rng.standard_normal((T, B, nd * Ho)), "dh_n": rng.standard_normal((L * nd, B, Ho)),
            "dc_n": rng.standard_normal((L * nd, B, H)) if lstm else None,
            "lengths": None if lengths is None else np.array(lengths)}


def _options(config) -> dict:
    cell, L, bi, P, nl, _ = config
    return {"cell": cell, "num_layers": L, "bidirectional": bi, "proj_size": P, "nonlinearity": nl}


def stack_loss(config, prob: dict) -> float:
    """L above, from a fresh forward pass (NumPy)."""
    out, h_n, c_n, _ = stack_forward(prob["params"], prob["x"], h0=prob["h0"], c0=prob["c0"],
                                     lengths=prob["lengths"], **_options(config))
    loss = np.sum(prob["dout"] * out) + np.sum(prob["dh_n"] * h_n)
    return float(loss + (np.sum(prob["dc_n"] * c_n) if c_n is not None else 0.0))


def _collect(params: dict, x, h0, c0) -> dict:
    """The four reported gradients; ``params`` stays a dict so the worst key can be taken."""
    return {"params": params, "x": x, "h0": h0, **({"c0": c0} if c0 is not None else {})}


def stack_fd_grads(config, prob: dict, eps: float = 1e-6) -> dict:
    """Central differences of L for every state_dict entry, x, h0 and c0."""
    prob = {k: (None if v is None else {n: a.copy() for n, a in v.items()} if k == "params" else v.copy())
            for k, v in prob.items()}
    loss = lambda: stack_loss(config, prob)  # noqa: E731
    params = {n: numerical_gradient(loss, a, eps) for n, a in prob["params"].items()}
    c0 = None if prob["c0"] is None else numerical_gradient(loss, prob["c0"], eps)
    return _collect(params, numerical_gradient(loss, prob["x"], eps), numerical_gradient(loss, prob["h0"], eps), c0)


def stack_analytic_grads(config, prob: dict, backend: str = "numpy") -> dict:
    _, _, _, cache = stack_forward(prob["params"], prob["x"], h0=prob["h0"], c0=prob["c0"], lengths=prob["lengths"],
                                   backend=backend, **_options(config))
    g = stack_backward(cache, prob["dout"], prob["dh_n"], prob["dc_n"])
    return _collect(g.params, g.x, g.h0, g.c0)


def stack_torch_grads(config, prob: dict, device: str = "cpu") -> dict:
    """The same gradients from the torch module that has this state_dict (`reference.stack_autograd_grads`)."""
    from reference import stack_autograd_grads
    cell, L, bi, P, nl, _ = config
    g = stack_autograd_grads(cell, prob["params"], prob["x"], prob["h0"], prob["c0"], prob["dout"], prob["dh_n"],
                             prob["dc_n"], lengths=prob["lengths"], num_layers=L, bidirectional=bi, proj_size=P,
                             nonlinearity=nl, device=device)
    return _collect(g["params"], g["x"], g["h0"], g.get("c0"))


def _error(ours, ref) -> float:
    if isinstance(ours, dict):
        if set(ours) != set(ref):
            raise ValueError(f"params: expected the keys {sorted(ref)}, got {sorted(ours)}")
        return max(max_rel_error(ours[k], ref[k]) for k in ref)
    return max_rel_error(ours, ref)


def check_stack_rows(backends=("numpy",), seed: int = 0, with_torch: bool = True, device: str = "cpu") -> list[dict]:
    """One row per (configuration, backend, gradient): its error against finite differences and,
    when `with_torch`, against the torch module."""
    rng = np.random.default_rng(seed)
    rows = []
    for config in STACK_CONFIGS:
        prob = random_stack_problem(config, rng)
        fd = stack_fd_grads(config, prob)
        ref = stack_torch_grads(config, prob, device) if with_torch else {}
        for backend in backends:
            ours = stack_analytic_grads(config, prob, backend)
            for q, value in ours.items():
                rows.append({"config": config_name(*config), "backend": backend, "quantity": q,
                             "fd_error": _error(value, fd[q]),
                             "torch_error": _error(value, ref[q]) if with_torch else None})
    return rows

