"""Run a learner's functions on generated cases and say where their gradient goes wrong.

For each function pair the learner's file defines (`contracts.families_in`), on every case (several
shapes, T = 1, B = 1, H = 1 among them; float64; a loss at the last step and at every step; with and
without an initial state):

1. the forward first (but for RTRL, which has none): the learner's h (and c) against the exact one; a
   wrong forward stops there, with the first wrong step and, where one matches, the forward mistake
   (`mistakes.FORWARD_CATALOGUE`);
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

from . import mistakes as mk
from .cases import Case, Finding, cases, exact, run_learner
from .contracts import K_TRUNCATED, Family, gate_axis, user_grads

TOL = 1e-7                  #: the largest relative error that float64 BPTT written another way can show
TOL32 = 1e-4                #: the same for float32 cases
TRUNCATED_HINT = (f"hint: with the chunks scheme and k = {K_TRUNCATED}, the gradient carried back (dh_next) starts "
                  "at zero at the end of every chunk: steps T-1 .. T-k form the last chunk, and so on back to t = 0; "
                  "inside a chunk it is full BPTT")
RTRL_HINT = ("hint: RTRL carries M_t = J_t M_{t-1} + I_t forward, with J_t = diag(1 - h_t^2) W_hh and I_t the step's "
             "own derivative (x_t, h_{t-1} or 1 for the biases, times 1 - h_t^2), and adds dh[t] . M_t at every step")


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


def pair_name(fam: Family) -> str:
    """"rnn_forward / rnn_backward", or the one function's name."""
    return f"{fam.forward} / {fam.backward}" if fam.forward else fam.backward


def check_family(fam: Family, ns: dict, seed: int = 0, dtype: DTypeLike = np.float64) -> Report:
    """Check one function pair of a learner's namespace on every generated case.

    Args:
        fam: The pair (`contracts.FAMILIES`).
        ns: The learner's namespace (a module's globals).
        seed: Seeds the generated cases.
        dtype: The cases' dtype, float64 or float32 (with its own tolerance, `TOL32`).

    Returns:
        The `Report`: correct, or what is wrong, where, and the matching mistake.

    Examples:
        >>> from scratch_rnn.check import check_family
        >>> from scratch_rnn.check.contracts import FAMILIES
        >>> family = next(f for f in FAMILIES if f.forward == "rnn_forward" and f.contract != "cs231n")
        >>> check_family(family, {"rnn_forward": sr.rnn_forward, "rnn_backward": sr.rnn_backward}).correct
        True
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
            err_h = 0.0 if h_u is None else _rel(h_u, h_e)
            err_c = _rel(c_u, c_e) if c_u is not None and c_e is not None else 0.0
            if h_u is not None and (err_h > tol or err_c > tol):
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
        rep.lines.append(f"{pair_name(fam)}: correct on {len(all_cases)} cases (every output within "
                         f"{tol:g} relative, {np.dtype(dtype).name})")
        return rep
    assert first_bad is not None
    case, got, total, g_e, want = first_bad
    rep.lines.append(f"{fam.backward}: wrong outputs, largest relative error over the cases: " +
                     ", ".join(f"{k} {v:.2g}" for k, v in rep.wrong_outputs.items()))
    if total is not None or "x" in got or "dx" in got:
        _locate(rep, fam, case, got, total, g_e, want, tol)
    one_step = [(g, w) for c, (g, _), g_e1 in zip(all_cases, learner, exacts) if len(c.x) == 1
                for w in [user_grads(fam, g_e1)] if any(_rel(g[o], w[o]) > tol for o in fam.outputs)]
    g1, w1 = one_step[0] if one_step else (got, want)
    _gates(rep, fam, g1, w1, tol, carried=not one_step)
    rep.mistake = _match(fam, all_cases, learner, 10 * tol) if fam.level in ("step", "sequence") else None
    if fam.level not in ("step", "sequence"):
        rep.lines.append(TRUNCATED_HINT if fam.level == "truncated" else RTRL_HINT)
    elif rep.mistake is not None:
        rep.lines.append(f"hint: {rep.mistake.hint} [{rep.mistake.name}]")
    else:
        rep.lines.append("hint: no catalogued mistake gives these numbers; compare your loop with the equations, "
                         "starting at the step named above")
    if fam.level == "rtrl" and "h0" in rep.wrong_outputs and len(rep.wrong_outputs) == 1:
        rep.lines.append("only dL/dh0 is wrong: it is sum_t dL/dh_t|direct . dh_t/dh0, carried as N_t = J_t N_{t-1}, N_{-1} = I")
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
    if not wrong and not carried:
        rep.lines.append(f"gate blocks: right on a one-step case ({', '.join(fam.gates)}); the error is in what a "
                         "step carries back")
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
