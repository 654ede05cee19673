"""The two ways a learner writes a recurrent layer, and how the checker calls each.

* **cs231n**, the assignment's signatures: batch-first x (N, T, D), weights ``Wx`` (D, G H), ``Wh``
  (H, G H), one bias ``b`` (G H,), the pre-activation x Wx + h Wh + b, the LSTM's gates in the order
  i, f, o, g::

      rnn_step_forward(x, prev_h, Wx, Wh, b) -> next_h, cache
      rnn_step_backward(dnext_h, cache) -> dx, dprev_h, dWx, dWh, db
      rnn_forward(x, h0, Wx, Wh, b) -> h, cache            rnn_backward(dh, cache) -> dx, dh0, dWx, dWh, db
      lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b) -> next_h, next_c, cache
      lstm_step_backward(dnext_h, dnext_c, cache) -> dx, dprev_h, dprev_c, dWx, dWh, db
      lstm_forward(x, h0, Wx, Wh, b) -> h, cache           lstm_backward(dh, cache) -> dx, dh0, dWx, dWh, db

* **scratch_rnn**, this package's: time-major x (T, B, D), PyTorch's names, shapes and gate order::

      rnn_forward(params, x, h0) -> h, cache               rnn_backward(cache, dh) -> grads
      lstm_forward(params, x, h0, c0) -> h, c, cache       lstm_backward(cache, dh, dc_last) -> grads
      gru_forward(params, x, h0) -> h, cache               gru_backward(cache, dh) -> grads

  where grads has ``params`` (a dict under the parameters' keys), ``x``, ``h0`` (``c0``), and may have
  ``h``, the total dL/dh_t (attributes or keys).

Both contracts' ``rnn_forward`` share a name: the first parameter tells them apart (``params`` is
this package's). Everything the checker computes is in the canonical layout (this package's, one
bias set to zero for the cs231n contract) and turned into the learner's layout and names here.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass

import numpy as np

from ..cells import Cell, get_cell



@dataclass(frozen=True)
class Family:
    """A forward and backward pair that a learner writes, as one contract names them.

    Attributes:
        contract: "cs231n" or "scratch_rnn".
        cell: "rnn", "lstm" or "gru".
        level: "step" (one time step), "sequence", "truncated" (BPTT cut every `K_TRUNCATED` steps,
            the chunks scheme) or "rtrl" (the gradient forward in time: one function, no forward pass).
        forward: The forward function's name ("" for "rtrl").
        backward: The backward function's name.
        outputs: The backward's outputs, in the learner's words.
        gates: The learner's gate blocks, in the learner's order (empty for the RNN).
    """

    contract: str
    cell: str
    level: str
    forward: str
    backward: str
    outputs: tuple[str, ...]
    gates: tuple[str, ...]

    @property
    def entry(self) -> Cell:
        """The registry's entry for the cell."""
        return get_cell(self.cell)


FAMILIES = [
    Family("cs231n", "rnn", "step", "rnn_step_forward", "rnn_step_backward", ("dx", "dprev_h", "dWx", "dWh", "db"), ()),
    Family("cs231n", "rnn", "sequence", "rnn_forward", "rnn_backward", ("dx", "dh0", "dWx", "dWh", "db"), ()),
    Family("cs231n", "lstm", "step", "lstm_step_forward", "lstm_step_backward",
           ("dx", "dprev_h", "dprev_c", "dWx", "dWh", "db"), ("i", "f", "o", "g")),
    Family("cs231n", "lstm", "sequence", "lstm_forward", "lstm_backward", ("dx", "dh0", "dWx", "dWh", "db"),
           ("i", "f", "o", "g")),
    Family("scratch_rnn", "rnn", "sequence", "rnn_forward", "rnn_backward",
           ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "x", "h0"), ()),
    Family("scratch_rnn", "lstm", "sequence", "lstm_forward", "lstm_backward",
           ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "x", "h0", "c0"), ("i", "f", "g", "o")),
    Family("scratch_rnn", "gru", "sequence", "gru_forward", "gru_backward",
           ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "x", "h0"), ("r", "z", "n")),
    Family("scratch_rnn", "rnn", "truncated", "rnn_forward", "rnn_truncated_backward",
           ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "x", "h0"), ()),
    Family("scratch_rnn", "rnn", "rtrl", "", "rnn_rtrl_gradients", ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "h0"), ()),
]
"""Every function pair the checker knows, in the order it checks them."""

K_TRUNCATED = 2             #: the truncation the checker asks of ``rnn_truncated_backward(cache, dh, k)``

#: the function names that both contracts use; the first parameter tells them apart
_SHARED = {f.forward for f in FAMILIES if f.contract == "cs231n"} & {f.forward for f in FAMILIES if f.contract != "cs231n"}
_SHARED.discard("")


def _first_parameter(fn) -> str | None:
    try:
        params = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return None
    return params[0] if params else None


def families_in(namespace: dict) -> list[Family]:
    """The families whose forward or backward `namespace` (a module's globals) defines. For the names
    both contracts use, the forward's first parameter (``params``: scratch_rnn) or, with no forward,
    the backward's (``cache``: scratch_rnn) picks the contract."""
    found = []
    for fam in FAMILIES:
        fwd, bwd = namespace.get(fam.forward), namespace.get(fam.backward)
        if not (callable(fwd) or callable(bwd)) or (fam.level in ("truncated", "rtrl") and not callable(bwd)):
            continue
        if fam.forward in _SHARED:
            ours = _first_parameter(fwd) == "params" if callable(fwd) else _first_parameter(bwd) == "cache"
            if ours != (fam.contract == "scratch_rnn"):
                continue
        found.append(fam)
    # a forward with no backward of its own, which another found pair's backward uses (the truncated
    # exercise's rnn_forward), is that pair's, not a pair of its own
    paired = {f.forward for f in found if callable(namespace.get(f.backward))}
    return [f for f in found if callable(namespace.get(f.backward)) or f.forward not in paired]


def reorder(a: np.ndarray, fam: Family, axis: int = 0) -> np.ndarray:
    """The canonical gate blocks of `a` along `axis` (the registry's order) in the learner's order."""
    canonical = fam.entry.gate_names
    if fam.gates == canonical:
        return a
    H = a.shape[axis] // len(canonical)
    idx = np.concatenate([np.arange(canonical.index(n) * H, (canonical.index(n) + 1) * H) for n in fam.gates])
    return np.take(a, idx, axis=axis)


def user_params(fam: Family, p: dict) -> tuple:
    """The learner's weights from canonical parameters: (Wx, Wh, b) for cs231n (whose one bias is
    ``bias_ih``; the canonical ``bias_hh`` must be 0), (params,) for scratch_rnn."""
    if fam.contract == "scratch_rnn":
        return ({k: v.copy() for k, v in p.items()},)
    return (reorder(p["weight_ih"], fam).T.copy(), reorder(p["weight_hh"], fam).T.copy(), reorder(p["bias_ih"], fam).copy())


def user_grads(fam: Family, g: dict) -> dict:
    """Canonical gradients (``weight_ih`` ..., ``x`` time-major, ``h0``, ``c0``) as the learner's
    outputs, under the learner's names."""
    if fam.contract == "scratch_rnn":
        return {k: g[k] for k in fam.outputs}
    step = fam.level == "step"
    out = {"dx": g["x"][0] if step else g["x"].transpose(1, 0, 2), ("dprev_h" if step else "dh0"): g["h0"]}
    if step and fam.entry.cell_state:
        out["dprev_c"] = g["c0"]
    out.update(dWx=reorder(g["weight_ih"], fam).T, dWh=reorder(g["weight_hh"], fam).T, db=reorder(g["bias_ih"], fam))
    return out


def gate_axis(fam: Family, name: str) -> int | None:
    """The axis of output `name` along which its gate blocks lie, or None (no blocks)."""
    if not fam.gates:
        return None
    if fam.contract == "cs231n":
        return {"dWx": 1, "dWh": 1, "db": 0}.get(name)
    return 0 if name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh") else None
