r"""The catalogue of classic BPTT mistakes, each as the exact backward pass with that one mistake made.

A learner's gradient that is wrong is usually wrong in one of a few ways. Each `Mistake` below is
the reference BPTT of its cell (the recurrences of `scratch_rnn.rnn`, `scratch_rnn.lstm` and
`scratch_rnn.gru`, written once more here, plainly) with one term changed, so the checker can
compute what a learner who made that mistake would get, on the same case, and compare. A hint is
named only when the learner's numbers equal that mistake's numbers on every case: a diagnosis from
exact quantities, never a guess from the size of an error. ``mistake=None`` is the exact BPTT, which
`tests/test_check.py` holds to the package's own to rounding.

All in the canonical layout: time-major x (T, B, D), PyTorch's parameter names and gate order (the
LSTM's i, f, g, o; the GRU's r, z, n); `forward` returns what `backward` needs.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._activations import sigmoid


@dataclass(frozen=True)
class Mistake:
    """One classic mistake.

    Attributes:
        name: Its identifier.
        cell: The cell it applies to ("rnn", "lstm", "gru"; "any" for every cell).
        hint: What the checker tells the learner, in the learner's terms.
    """

    name: str
    cell: str
    hint: str


CATALOGUE = [
    Mistake("dWh_uses_h_t", "any", "dWh is built from h_t where h_{t-1} belongs: the recurrent weight multiplies the "
            "previous state, so dWh += da_t^T h_{t-1} (h0 at t = 0)"),
    Mistake("upstream_not_added", "any", "the gradient the loss sends into h_t (dh[t]) is not added at each step: "
            "dh_total[t] = dh[t] + dh_next, at every t, not only at the last"),
    Mistake("dh_next_not_carried", "any", "dh_next is not carried back: the total dL/dh_t needs what h_{t+1} sends back "
            "through the recurrence, dh_next = da_{t+1} Wh^T"),
    Mistake("dh_next_without_W", "rnn", "dh_next is carried without the recurrent weight: dh_next = da_t Wh^T, not da_t"),
    Mistake("tanh_prime_missing", "rnn", "the tanh' factor is missing: da_t = dh_total[t] * (1 - h_t^2)"),
    Mistake("tanh_prime_of_h", "rnn", "tanh' is taken of the wrong quantity: tanh'(a_t) = 1 - tanh(a_t)^2 = 1 - h_t^2, "
            "not 1 - tanh(h_t)^2"),
    Mistake("transposed_dWh", "rnn", "dWh is transposed: in x Wx + h Wh layout dWh = h_{t-1}^T da_t (PyTorch's weight_hh: "
            "da_t^T h_{t-1})"),
    Mistake("forget_times_c_t", "lstm", "the forget gate's gradient uses c_t where c_{t-1} belongs: "
            "da_f = dc_t * c_{t-1} * f(1 - f)"),
    Mistake("dc_not_carried", "lstm", "dc is not carried back: dc_total[t] = dc_next + dh_total[t] * o * (1 - tanh(c_t)^2), "
            "with dc_next = dc_total[t+1] * f_{t+1}"),
    Mistake("dc_next_without_f", "lstm", "dc is carried back without the forget gate: dc_next = dc_total[t] * f_t"),
    Mistake("o_missing_tanh_c", "lstm", "the output gate's gradient is missing tanh(c_t): da_o = dh_total[t] * tanh(c_t) * o(1 - o)"),
    Mistake("tanh_c_prime_missing", "lstm", "the path from h_t into c_t is missing tanh'(c_t): dc += dh_total[t] * o * (1 - tanh(c_t)^2)"),
    Mistake("sigmoid_prime_missing", "lstm", "a sigmoid' factor is missing (input gate): da_i = dc_t * g * i(1 - i)"),
    Mistake("candidate_tanh_prime_missing", "lstm", "the candidate's tanh' factor is missing: da_g = dc_t * i * (1 - g^2)"),
    Mistake("reset_outside_product", "gru", "the reset gate is applied outside the product with the bias: PyTorch's GRU has "
            "n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn)), so db_hn gets da_n * r"),
    Mistake("update_gate_sign", "gru", "the update gate's gradient has the wrong sign: h_t = (1 - z) n + z h_{t-1}, so "
            "dz = dh_total[t] * (h_{t-1} - n)"),
    Mistake("z_path_not_carried", "gru", "the direct path h_{t-1} -> h_t is not carried: dh_next gets dh_total[t] * z_t "
            "besides what goes through the gates"),
]
"""Every mistake of a backward pass that the checker can name, in the order it tries them."""

FORWARD_CATALOGUE = [
    Mistake("h_without_tanh_c", "lstm", "h_t = o_t * tanh(c_t): the cell state goes through tanh before the output gate"),
    Mistake("reset_before_product", "gru", "PyTorch's GRU applies the reset gate to h_{t-1} W_hn^T + b_hn, after the "
            "product: n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn)), not tanh(... + (r * h) W_hn^T + b_hn) "
            "(Cho et al.'s form)"),
]
"""Every mistake of a forward pass that the checker can name (besides a gate order)."""


def mistakes_for(cell: str, catalogue: list[Mistake] = CATALOGUE) -> list[Mistake]:
    """The catalogue's mistakes that apply to a cell."""
    return [m for m in catalogue if m.cell in ("any", cell)]


def forward(cell_gates: int, p: dict, x: np.ndarray, h0: np.ndarray, c0: np.ndarray | None = None,
            mistake: str | None = None) -> dict:
    """The forward pass the variants differentiate (RNN tanh: G = 1, LSTM: G = 4, GRU: G = 3): every
    state and gate, by step; c0 (the LSTM's) is zeros if None; `mistake` one of `FORWARD_CATALOGUE`."""
    T, B, _ = x.shape
    H = p["weight_hh"].shape[1]
    h_prev, c_prev = h0, (np.zeros((B, H), x.dtype) if c0 is None else c0)
    out: dict = {"h": [], "c": [], "gates": [], "gh_n": []}
    for t in range(T):
        gi = x[t] @ p["weight_ih"].T + p["bias_ih"]               # (B, G H)
        gh = h_prev @ p["weight_hh"].T + p["bias_hh"]             # (B, G H)
        gates: tuple = ()
        if cell_gates == 1:
            h = np.tanh(gi + gh)
        elif cell_gates == 4:
            a = gi + gh
            i, f, g, o = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), np.tanh(a[:, 2 * H:3 * H]), sigmoid(a[:, 3 * H:])
            c_prev = f * c_prev + i * g
            h = o * (c_prev if mistake == "h_without_tanh_c" else np.tanh(c_prev))
            gates = (i, f, g, o)
            out["c"].append(c_prev)
        else:
            r = sigmoid(gi[:, :H] + gh[:, :H])
            z = sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
            if mistake == "reset_before_product":
                n = np.tanh(gi[:, 2 * H:] + (r * h_prev) @ p["weight_hh"][2 * H:].T + p["bias_hh"][2 * H:])
            else:
                n = np.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
            h = (1 - z) * n + z * h_prev
            gates = (r, z, n)
            out["gh_n"].append(gh[:, 2 * H:])
        out["h"].append(h)
        out["gates"].append(gates)
        h_prev = h
    return out


def backward(cell_gates: int, p: dict, x: np.ndarray, h0: np.ndarray, dh: np.ndarray, mistake: str | None = None,
             c0: np.ndarray | None = None, dc_last: np.ndarray | None = None) -> dict:
    """BPTT of L = sum_t sum(dh[t] * h_t) + sum(dc_last * c_{T-1}), with at most one catalogued mistake made.

    Returns:
        ``{"weight_ih", "weight_hh", "bias_ih", "bias_hh", "x", "h0", "c0", "h"}`` (``h``: the total
            dL/dh_t this variant carries, (T, B, H); ``c0`` the LSTM's dL/dc0, else None).
    """
    fw = forward(cell_gates, p, x, h0, c0)
    T, B, D = x.shape
    H = p["weight_hh"].shape[1]
    W_ih, W_hh = p["weight_ih"], p["weight_hh"]
    G = cell_gates
    g = {"weight_ih": np.zeros_like(W_ih), "weight_hh": np.zeros_like(W_hh), "bias_ih": np.zeros(G * H),
         "bias_hh": np.zeros(G * H), "x": np.zeros_like(x), "h": np.zeros((T, B, H))}
    dh_next = np.zeros((B, H))
    dc_next = np.zeros((B, H)) if dc_last is None else dc_last
    c_init = np.zeros((B, H)) if c0 is None else c0
    for t in reversed(range(T)):
        h_t, h_prev = fw["h"][t], (fw["h"][t - 1] if t > 0 else h0)
        up: Any = dh[t] if (mistake != "upstream_not_added" or t == T - 1) else 0.0
        dh_tot: Any = up + (dh_next if mistake != "dh_next_not_carried" else 0.0)
        g["h"][t] = dh_tot
        if G == 1:
            d: Any = 1.0 if mistake == "tanh_prime_missing" else (1 - np.tanh(h_t) ** 2 if mistake == "tanh_prime_of_h"
                                                               else 1 - h_t * h_t)
            dgi: Any
            dgh: Any
            dgi = dgh = dh_tot * d                                          # (B, H)
        elif G == 4:
            i, f, gg, o = fw["gates"][t]
            c_t = fw["c"][t]
            c_prev = fw["c"][t - 1] if t > 0 else c_init
            tc = np.tanh(c_t)
            dc: Any = (0.0 if mistake == "dc_not_carried" else dc_next) + \
                dh_tot * o * (1.0 if mistake == "tanh_c_prime_missing" else 1 - tc * tc)
            da_i = dc * gg * (1.0 if mistake == "sigmoid_prime_missing" else i * (1 - i))
            da_f = dc * (c_t if mistake == "forget_times_c_t" else c_prev) * f * (1 - f)
            da_g = dc * i * (1.0 if mistake == "candidate_tanh_prime_missing" else 1 - gg * gg)
            da_o = dh_tot * (1.0 if mistake == "o_missing_tanh_c" else tc) * o * (1 - o)
            dgi = dgh = np.concatenate([da_i, da_f, da_g, da_o], axis=1)    # (B, 4H)
            dc_next = dc if mistake == "dc_next_without_f" else dc * f
        else:
            r, z, n = fw["gates"][t]
            gh_n = fw["gh_n"][t]
            dn = dh_tot * (1 - z)
            dz = dh_tot * ((n - h_prev) if mistake == "update_gate_sign" else (h_prev - n))
            da_n = dn * (1 - n * n)
            da_r = da_n * gh_n * r * (1 - r)
            da_z = dz * z * (1 - z)
            dgi = np.concatenate([da_r, da_z, da_n], axis=1)
            dgh = np.concatenate([da_r, da_z, da_n * r], axis=1)
        g["weight_ih"] += dgi.T @ x[t]
        dW_hh = dgh.T @ (h_t if mistake == "dWh_uses_h_t" else h_prev)     # (G H, H)
        g["weight_hh"] += dW_hh.T if mistake == "transposed_dWh" else dW_hh
        g["bias_ih"] += dgi.sum(axis=0)
        g["bias_hh"] += dgh.sum(axis=0)
        if G == 3 and mistake == "reset_outside_product":
            g["bias_hh"][2 * H:] += (dgi[:, 2 * H:] - dgh[:, 2 * H:]).sum(axis=0)   # da_n, not da_n * r
        g["x"][t] = dgi @ W_ih
        dh_next = dgh if mistake == "dh_next_without_W" and G == 1 else dgh @ W_hh
        if G == 3 and mistake != "z_path_not_carried":
            dh_next = dh_next + dh_tot * z
    g["h0"] = dh_next
    g["c0"] = dc_next if G == 4 else None
    return g
