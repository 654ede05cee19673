"""Run a learner's functions on generated cases and say where their gradient goes wrong.

For each function pair the learner's file defines (`contracts.families_in`), on every case (several
shapes, T = 1, B = 1, H = 1 among them; float64; a loss at the last step and at every step; with and
without an initial state):

1. the forward first: the learner's h (and c) against the exact one; a wrong forward stops there,
   with the first wrong step and, where one matches, the forward mistake (`FORWARD_MISTAKES`);
2. then the backward, against the exact BPTT in the learner's layout: which outputs are wrong and by
   how much; the first step, counting back from T-1, whose dL/dx_t (or the learner's total dL/dh_t,
   where the contract returns it) leaves the exact one, which is where the recurrence breaks; for a
   gated cell, which gate's block of the weights and bias is wrong; and the catalogued mistake
   (`mistakes.CATALOGUE`) whose numbers the learner's equal on every case, if one does.

A function that raises, returns the wrong number of things, a wrong shape or a NaN is a one-line
finding naming the function and what was expected, never a traceback; ``NotImplementedError`` is
"not implemented yet". "Correct" means every output within `TOL` (relative to its largest exact
entry) on every case.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from ..cells import get_cell
from ..training.init import init_pytorch_default
from . import mistakes as mk
from .contracts import Family, gate_axis, user_grads, user_params

TOL = 1e-7                  #: the largest relative error that float64 BPTT written another way can show
TOL32 = 1e-4                #: the same for float32 cases
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


@dataclass
class Report:
    """What the checker found for one function pair.

    Attributes:
        family: The pair.
        correct: Every output within tolerance on every case.
        lines: The findings, in the learner's names.
        mistake: The catalogued mistake the learner's numbers match, or None.
        first_wrong_step: The first step, counting back from T-1, where the gradient leaves the exact one.
        wrong_outputs: {output name: largest relative error}.
        wrong_gates: The gate blocks found wrong, in the learner's names.
        profile: (t, |learner - exact|) per step of the first failing case, for the picture.
    """

    family: Family
    correct: bool = False
    lines: list[str] = field(default_factory=list)
    mistake: mk.Mistake | None = None
    first_wrong_step: int | None = None
    wrong_outputs: dict = field(default_factory=dict)
    wrong_gates: list = field(default_factory=list)
    profile: list = field(default_factory=list)


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
    """(h, c, canonical gradients) of a case, by this package's own forward and BPTT."""
    entry = fam.entry
    h, c, cache = entry.forward(case.p, case.x, case.h0, case.c0)
    g = entry.backward(cache, case.dh, case.dc_last)
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


def run_learner(fam: Family, ns: dict, case: Case) -> tuple[np.ndarray, np.ndarray | None, dict | None, np.ndarray | None]:
    """(h, c, the backward's outputs under the learner's names or None without a backward, the learner's
    total dL/dh_t or None) of the learner's functions on a case, in the canonical time-major layout
    for h and c."""
    fwd, bwd = ns.get(fam.forward), ns.get(fam.backward)
    if not callable(fwd):
        raise Finding(f"{fam.forward}: not defined; {fam.backward} needs it (its cache)")
    T, B, D = case.x.shape
    H = case.h0.shape[1]
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
    args = (cache, case.dh.copy()) + ((None,) if cell_state else ())
    res = _call(fam, fam.backward, bwd, args, None)
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
    total = _get(res, "h")
    total = None if total is None else _array(fam.backward, "grads.h", total, (T, B, H))
    return h, c, got, total


def _zeros_like_grads(case: Case) -> dict:
    z = {k: np.zeros_like(v) for k, v in case.p.items()}
    return {**z, "x": np.zeros_like(case.x), "h0": np.zeros_like(case.h0),
            "c0": None if case.c0 is None else np.zeros_like(case.c0)}


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    scale = max(float(np.max(np.abs(b))) if b.size else 0.0, 1e-300)
    return float(np.max(np.abs(a - b))) / scale if a.size else 0.0


def _per_step(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """|a - b| per step (axis 0), relative to b's largest entry."""
    scale = max(float(np.max(np.abs(b))), 1e-300)
    return np.abs(a - b).reshape(len(a), -1).max(axis=1) / scale


def _variant(fam: Family, case: Case, mistake: str) -> dict:
    g = mk.backward(fam.entry.gates, case.p, case.x, case.h0, case.dh, mistake, case.c0, case.dc_last)
    return user_grads(fam, g)


def check_family(fam: Family, ns: dict, seed: int = 0, dtype: DTypeLike = np.float64) -> Report:
    """Check one function pair of a learner's namespace on every generated case.

    Args:
        fam: The pair (`contracts.FAMILIES`).
        ns: The learner's namespace (a module's globals).
        seed: Seeds the generated cases.
        dtype: The cases' dtype, float64 or float32 (with its own tolerance, `TOL32`).

    Returns:
        The `Report`: correct, or what is wrong, where, and the matching mistake.
    """
    rep = Report(fam)
    tol = TOL if np.dtype(dtype) == np.float64 else TOL32
    all_cases = cases(fam, seed, dtype)
    learner: list[tuple[Any, Any]] = []
    exacts: list[dict] = []
    try:
        for case in all_cases:
            h_e, c_e, g_e = exact(fam, case)
            h_u, c_u, got, total = run_learner(fam, ns, case)
            err_h = _rel(h_u, h_e)
            err_c = _rel(c_u, c_e) if c_u is not None and c_e is not None else 0.0
            if err_h > tol or err_c > tol:
                bad = _per_step(h_u, h_e) > tol
                t = int(np.argmax(bad))
                rep.first_wrong_step = t
                rep.lines.append(f"{fam.forward}: the forward pass is wrong (largest relative error {max(err_h, err_c):.2g}), "
                                 f"first at step t = {t} of T = {len(h_e)}; fix it before the backward")
                hint = forward_mistake(fam, case, h_u, 10 * tol)
                if hint:
                    rep.lines.append("hint: " + hint)
                rep.profile = list(enumerate(_per_step(h_u, h_e).tolist()))
                return rep
            learner.append((got, total))
            exacts.append(g_e)
    except Finding as f:
        rep.lines.append(str(f))
        return rep
    if all(got is None for got, _ in learner):
        rep.lines.append(f"{fam.forward}: correct on {len(all_cases)} cases; {fam.backward} is not defined")
        rep.correct = True
        return rep
    first_bad: tuple | None = None
    for case, (got, total), g_e in zip(all_cases, learner, exacts):
        want = user_grads(fam, g_e)
        for name in fam.outputs:
            e = _rel(got[name], want[name])
            if e > tol:
                rep.wrong_outputs[name] = max(e, rep.wrong_outputs.get(name, 0.0))
                if first_bad is None:
                    first_bad = (case, got, total, g_e, want)
    if not rep.wrong_outputs:
        rep.correct = True
        rep.lines.append(f"{fam.forward} / {fam.backward}: correct on {len(all_cases)} cases (every output within "
                         f"{tol:g} relative, {np.dtype(dtype).name})")
        return rep
    assert first_bad is not None
    case, got, total, g_e, want = first_bad
    rep.lines.append(f"{fam.backward}: wrong outputs, largest relative error over the cases: " +
                     ", ".join(f"{k} {v:.2g}" for k, v in rep.wrong_outputs.items()))
    _locate(rep, fam, case, got, total, g_e, want, tol)
    one_step = [(g, w) for c, (g, _), g_e1 in zip(all_cases, learner, exacts) if len(c.x) == 1
                for w in [user_grads(fam, g_e1)] if any(_rel(g[o], w[o]) > tol for o in fam.outputs)]
    g1, w1 = one_step[0] if one_step else (got, want)
    _gates(rep, fam, g1, w1, tol, carried=not one_step)
    rep.mistake = _match(fam, all_cases, learner, 10 * tol)
    if rep.mistake is not None:
        rep.lines.append(f"hint: {rep.mistake.hint} [{rep.mistake.name}]")
    else:
        rep.lines.append("hint: no catalogued mistake gives these numbers; compare your loop with the equations, "
                         "starting at the step named above")
    return rep


def _locate(rep: Report, fam: Family, case: Case, got: dict, total, g_e: dict, want: dict, tol: float) -> None:
    """The first step, counting back from T-1, where the learner's dL/dh_t (or dL/dx_t) leaves the exact one."""
    if total is not None:
        errs, what = _per_step(total, g_e["h"]), "the total dL/dh_t (grads.h)"
    else:
        key = "dx" if fam.contract == "cs231n" else "x"
        u, e = got[key], want[key]
        if fam.contract == "cs231n" and fam.level == "sequence":
            u, e = u.transpose(1, 0, 2), e.transpose(1, 0, 2)
        elif fam.level == "step":
            u, e = u[None], e[None]
        errs, what = _per_step(u, e), f"dL/dx_t ({key})"
    rep.profile = list(enumerate(errs.tolist()))
    bad = np.nonzero(errs > tol)[0]
    T = len(errs)
    if not len(bad):
        rep.lines.append(f"{what} is right at every step: the error is in the parameter gradients' sums")
        return
    t = rep.first_wrong_step = int(bad.max())
    if fam.level == "step":
        rep.lines.append(f"{what} is wrong (relative error {errs[t]:.2g}): the step's own terms are wrong")
    elif t == T - 1:
        rep.lines.append(f"{what} is wrong already at the last step, t = T-1 = {T - 1} (relative error {errs[t]:.2g}): "
                         "the step's own terms are wrong, before anything is carried back")
    else:
        rep.lines.append(f"counting back from t = T-1 = {T - 1}, {what} is right down to t = {t + 1} and first wrong at "
                         f"t = {t} (relative error {errs[t]:.2g}): what step {t + 1} carries back, or how step {t} "
                         "uses it, is wrong")


def _gates(rep: Report, fam: Family, got: dict, want: dict, tol: float, carried: bool = False) -> None:
    """The gate blocks of the weights and bias that are wrong: on a one-step case where there is a
    wrong one (only the mistaken gate's blocks differ there), else on a longer one (`carried`: a wrong
    dL/dh_t reaches every gate of the earlier steps)."""
    if not fam.gates:
        return
    wrong = []
    for name in fam.outputs:
        axis = gate_axis(fam, name)
        if axis is None:
            continue
        H = want[name].shape[axis] // len(fam.gates)
        for k, gate in enumerate(fam.gates):
            sl = [slice(None)] * want[name].ndim
            sl[axis] = slice(k * H, (k + 1) * H)
            if _rel(got[name][tuple(sl)], want[name][tuple(sl)]) > tol and gate not in wrong:
                wrong.append(gate)
    rep.wrong_gates = wrong
    if wrong:
        where = "columns of Wx, Wh and b" if fam.contract == "cs231n" else "rows of weight_ih, weight_hh and the biases"
        rep.lines.append(f"gate blocks wrong: {', '.join(wrong)} (of {', '.join(fam.gates)}, the order of your {where})"
                         + ("; no one-step case is wrong, and what a wrong step carries back reaches every gate of "
                            "the steps before it" if carried else ", on a one-step case"))


def _match(fam: Family, all_cases: list[Case], learner: list, tol: float) -> mk.Mistake | None:
    """The catalogued mistake whose gradients equal the learner's on every case, if one does."""
    for m in mk.mistakes_for(fam.cell):
        if all(all(_rel(got[o], w[o]) <= tol for o in fam.outputs)
               for case, (got, _) in zip(all_cases, learner) for w in [_variant(fam, case, m.name)]):
            return m
    return None


def forward_mistake(fam: Family, case: Case, h_user: np.ndarray, tol: float = 1e-6) -> str | None:
    """A forward mistake whose states equal the learner's on this case: the gates read in another
    order, or one of `mistakes.FORWARD_CATALOGUE`."""
    entry = fam.entry
    G = len(fam.gates)
    H = case.p["weight_hh"].shape[1]
    for perm in itertools.permutations(range(G)):
        if perm == tuple(range(G)):
            continue
        idx = np.concatenate([np.arange(b * H, (b + 1) * H) for b in perm])     # canonical blocks, read as perm
        h, _, _ = entry.forward({k: v[idx] for k, v in case.p.items()}, case.x, case.h0, case.c0)
        if _rel(h_user, np.asarray(h)) <= tol:
            canonical = entry.gate_names
            read = [canonical[b] for b in perm]                                  # what each block was used as
            as_learner = [read[canonical.index(gate)] for gate in fam.gates]
            return (f"your forward reads the gate blocks {', '.join(fam.gates)} as {', '.join(as_learner)}: "
                    f"the contract's order is {', '.join(fam.gates)}")
    for m in mk.mistakes_for(fam.cell, mk.FORWARD_CATALOGUE):
        fw = mk.forward(entry.gates, case.p, case.x, case.h0, case.c0, m.name)
        if _rel(h_user, np.stack(fw["h"])) <= tol:
            return f"{m.hint} [{m.name}]"
    return None
