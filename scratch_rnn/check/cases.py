"""The generated cases, and the two sides run on them: the learner's functions (called as their
contract says, every output checked for count, shape and finiteness) and the exact ones (this
package's forward and BPTT, truncated BPTT or RTRL).

A case is canonical (time-major, PyTorch's names and gate order); `contracts` turns it into the
learner's layout. A learner's function that raises or returns something the contract does not allow
is a `Finding`: one line naming the function and what was expected.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..rtrl import rtrl_gradients
from ..training.init import init_pytorch_default
from ..truncated import truncated_backward
from .contracts import K_TRUNCATED, Family, user_grads, user_params

#: (T, B, D, H) of the cases: ordinary, the degenerate T = B = H = 1, one sequence, one unit
SHAPES = ((5, 3, 4, 6), (1, 1, 1, 1), (6, 1, 2, 3), (4, 2, 3, 1))


@dataclass
class Case:
    """One generated problem, canonical layout (time-major, PyTorch's names and order)."""

    p: dict
    x: np.ndarray
    h0: np.ndarray
    c0: np.ndarray | None
    dh: np.ndarray
    dc_last: np.ndarray | None
    given_h0: bool
    loss: str


class Finding(Exception):
    """A learner's function did something the contract does not allow; the message says what."""


def cases(fam: Family, seed: int = 0, dtype=np.float64) -> list[Case]:
    """The generated problems for a family: every shape, with and without h0, a loss at the last step
    and at every step (a step function: one step, with every state given)."""
    rng = np.random.default_rng(seed)
    entry = fam.entry
    out = []
    for T, B, D, H in SHAPES:
        if fam.level == "step":
            T = 1
        for given_h0, loss in ((True, "every"), (False, "last"), (True, "last"), (False, "every")):
            p = {k: v.astype(dtype) for k, v in init_pytorch_default(fam.cell, D, H, rng, dtype=np.float64).items()}
            if fam.contract == "cs231n":
                p["bias_hh"] = np.zeros_like(p["bias_hh"])          # one bias: b
            x = rng.standard_normal((T, B, D)).astype(dtype)
            step = fam.level == "step"
            h0 = rng.standard_normal((B, H)).astype(dtype) if (given_h0 or step) else np.zeros((B, H), dtype)
            c0 = rng.standard_normal((B, H)).astype(dtype) if (entry.cell_state and step) else \
                (np.zeros((B, H), dtype) if entry.cell_state else None)
            dh = rng.standard_normal((T, B, H)).astype(dtype)
            if loss == "last":
                dh[:-1] = 0
            dc_last = rng.standard_normal((B, H)).astype(dtype) if (entry.cell_state and step) else None
            out.append(Case(p, x, h0, c0, dh, dc_last, given_h0 or step, loss))
    return out


def exact(fam: Family, case: Case) -> tuple[np.ndarray, np.ndarray | None, dict]:
    """(h, c, canonical gradients) of a case, by this package's own forward and BPTT (truncated, or
    RTRL's, for those exercises)."""
    entry = fam.entry
    h, c, cache = entry.forward(case.p, case.x, case.h0, case.c0)
    if fam.level == "rtrl":
        r = rtrl_gradients(fam.cell, case.p, case.x, case.h0, case.c0, case.dh, case.dc_last)
        return np.asarray(h), None, {**r.params, "h0": r.h0, "c0": r.c0, "x": None, "h": None}
    g = (truncated_backward(cache, case.dh, K_TRUNCATED, dc_last=case.dc_last) if fam.level == "truncated"
         else entry.backward(cache, case.dh, case.dc_last))
    grads = {**g.params, "x": g.x, "h0": g.h0, "c0": getattr(g, "c0", None), "h": g.h}
    return np.asarray(h), (None if c is None else np.asarray(c)), grads


def _call(fam: Family, name: str, fn, args: tuple, n_out: int | None):
    try:
        out = fn(*args)
    except NotImplementedError as err:
        raise Finding(f"{name}: not implemented yet ({err})" if str(err) else f"{name}: not implemented yet") from None
    except Exception as err:                                   # the learner's bug, reported in one line
        raise Finding(f"{name} raised {type(err).__name__}: {err}") from None
    if n_out is not None and (not isinstance(out, tuple) or len(out) != n_out):
        got = f"a tuple of {len(out)}" if isinstance(out, tuple) else type(out).__name__
        raise Finding(f"{name}: expected to return {n_out} values, got {got}")
    return out


def _array(fn_name: str, what: str, value, shape: tuple) -> np.ndarray:
    try:
        a = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise Finding(f"{fn_name}: {what} should be an array of shape {shape}, got {type(value).__name__}") from None
    if a.shape != tuple(shape):
        t = " (it looks transposed)" if a.shape == tuple(shape)[::-1] and len(shape) == 2 else \
            " (a sum over the wrong axis?)" if a.size != int(np.prod(shape)) and a.ndim < len(shape) + 1 else ""
        raise Finding(f"{fn_name}: {what} should have shape {tuple(shape)}, got {a.shape}{t}")
    if not np.isfinite(a).all():
        raise Finding(f"{fn_name}: {what} contains NaN or inf")
    return a


def _get(grads, key: str):
    if isinstance(grads, dict):
        return grads.get(key)
    return getattr(grads, key, None)


def run_learner(fam: Family, ns: dict, case: Case) -> tuple[np.ndarray | None, np.ndarray | None, dict | None,
                                                           np.ndarray | None]:
    """(h, c, the backward's outputs under the learner's names or None without a backward, the learner's
    total dL/dh_t or None) of the learner's functions on a case, in the canonical time-major layout
    for h and c."""
    fwd, bwd = ns.get(fam.forward), ns.get(fam.backward)
    T, B, D = case.x.shape
    H = case.h0.shape[1]
    if fam.level == "rtrl":                                    # one function: the gradient, forward in time
        res = _call(fam, fam.backward, bwd, (user_params(fam, case.p)[0], case.x.copy(),
                                              case.h0.copy() if case.given_h0 else None, case.dh.copy()), None)
        return None, None, _learner_grads(fam, res, case), None
    if not callable(fwd):
        raise Finding(f"{fam.forward}: not defined; {fam.backward} needs it (its cache)")
    cs = fam.contract == "cs231n"
    step = fam.level == "step"
    cell_state = fam.entry.cell_state
    weights = user_params(fam, case.p)
    if cs:
        xs = case.x[0] if step else case.x.transpose(1, 0, 2).copy()
        args = (xs, case.h0.copy(), *((np.array(case.c0),) if step and cell_state else ()), *weights)
        out = _call(fam, fam.forward, fwd, args, 3 if step and cell_state else 2)
        hs = _array(fam.forward, "next_h" if step else "h", out[0], (B, H) if step else (B, T, H))
        h = hs[None] if step else hs.transpose(1, 0, 2)
        c = _array(fam.forward, "next_c", out[1], (B, H))[None] if step and cell_state else None
        cache = out[-1]
    else:
        args = (weights[0], case.x.copy(), case.h0.copy() if case.given_h0 else None)
        if cell_state:
            args = args + (None,)
        out = _call(fam, fam.forward, fwd, args, 3 if cell_state else 2)
        h = _array(fam.forward, "h", out[0], (T, B, H))
        c = _array(fam.forward, "c", out[1], (T, B, H)) if cell_state else None
        cache = out[-1]
    if not callable(bwd):
        return h, c, None, None
    if cs:
        dh = case.dh[0] if step else case.dh.transpose(1, 0, 2).copy()
        args = (dh, *((np.array(case.dc_last),) if step and cell_state else ()), cache)
        res = _call(fam, fam.backward, bwd, args, len(fam.outputs))
        shapes = {o: s.shape for o, s in user_grads(fam, _zeros_like_grads(case)).items()}
        got = {o: _array(fam.backward, o, r, shapes[o]) for o, r in zip(fam.outputs, res)}
        return h, c, got, None
    args = (cache, case.dh.copy()) + ((K_TRUNCATED,) if fam.level == "truncated" else ()) + \
        ((None,) if cell_state else ())
    res = _call(fam, fam.backward, bwd, args, None)
    total = _get(res, "h")
    total = None if total is None else _array(fam.backward, "grads.h", total, (T, B, H))
    return h, c, _learner_grads(fam, res, case), total


def _learner_grads(fam: Family, res, case: Case) -> dict:
    """The outputs of this package's contract (``params`` and the rest, attributes or keys), checked."""
    params = _get(res, "params")
    if not isinstance(params, dict):
        raise Finding(f"{fam.backward}: expected grads with .params, a dict under the parameters' keys, got "
                      f"{type(params).__name__}")
    ref = _zeros_like_grads(case)
    got = {}
    for o in fam.outputs:
        v = params.get(o) if o in case.p else _get(res, o)
        if v is None:
            raise Finding(f"{fam.backward}: " + (f"grads.params has no {o!r}" if o in case.p else f"grads has no .{o}"))
        got[o] = _array(fam.backward, f"grads.params[{o!r}]" if o in case.p else f"grads.{o}", v, ref[o].shape)
    return got


def _zeros_like_grads(case: Case) -> dict:
    z = {k: np.zeros_like(v) for k, v in case.p.items()}
    return {**z, "x": np.zeros_like(case.x), "h0": np.zeros_like(case.h0),
            "c0": None if case.c0 is None else np.zeros_like(case.c0)}


