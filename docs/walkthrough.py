# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # BPTT, derived, checked and seen
#
# This notebook walks through backpropagation through time (BPTT) with `scratch_rnn`: a forward
# pass by hand, the backward recurrence line by line, the checks against finite differences and
# PyTorch, the LSTM's cell path and the GRU's reset gate, vanishing gradients at initialisation,
# what the study found, truncated BPTT, one speed measurement, and the same gradient computed forward
# in time (RTRL).
#
# Shapes are time-major: `x` is (T, B, D), states are (T, B, H). Run it top to bottom;
# `WALKTHROUGH_QUICK=1` in the environment makes every experiment small (the tests run it so).
# It derives what it runs and no more: every equation of every cell (the LSTM's, the GRU's, stacks,
# truncation) is on [the math page](../math/) of the documentation site (`docs/math.md`).

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

import scratch_rnn as sr
from scratch_rnn.gradcheck import max_rel_error, numerical_gradient

QUICK = os.environ.get("WALKTHROUGH_QUICK") == "1"
np.set_printoptions(precision=4, suppress=True)
rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. A tanh RNN forward pass, by hand
#
# $$a_t = x_t W_{ih}^T + b_{ih} + h_{t-1} W_{hh}^T + b_{hh}, \qquad h_t = \tanh(a_t), \qquad h_{-1} = 0.$$
#
# Parameters carry PyTorch's names and shapes, so they copy into `nn.RNN` unchanged.

# %%
T, B, D, H = 4, 2, 1, 3
params = sr.init_pytorch_default("rnn", D, H, rng)               # float64
x = rng.standard_normal((T, B, D))

h_prev = np.zeros((B, H))
h_by_hand = []
for t in range(T):
    a = x[t] @ params["weight_ih"].T + params["bias_ih"] + h_prev @ params["weight_hh"].T + params["bias_hh"]
    h_prev = np.tanh(a)
    h_by_hand.append(h_prev)
h_by_hand = np.stack(h_by_hand)

h, cache = sr.rnn_forward(params, x)
print("h (T, B, H) =\n", h)
print("the library's forward equals the loop above:", np.array_equal(h, h_by_hand))

# %% [markdown]
# ## 2. BPTT, line by line
#
# Take the loss $L = \sum_t \sum \texttt{dh}_t \odot h_t$ for a fixed `dh`: then $\partial L/\partial h_t$
# *directly* is `dh[t]`, and everything else comes through the recurrence. Write a bar for a total
# gradient, $\bar h_t = dL/dh_t$ through every path and $\bar a_t = dL/da_t$ (the notation of
# [the math page](../math/) and [its glossary](../glossary/)). Going backwards,
#
# $$\bar h_t = \texttt{dh}_t + \underbrace{\bar a_{t+1} W_{hh}}_{\texttt{dh\_next}}, \qquad
#   \bar a_t = \bar h_t \odot (1 - h_t^2),$$
# $$\bar W_{ih} = \sum_t \bar a_t^\top x_t, \qquad \bar W_{hh} = \sum_t \bar a_t^\top h_{t-1}, \qquad
#   \bar b = \sum_t \sum_b \bar a_t .$$
#
# The unrolled computation, forward in black and the backward recurrence in red: each total
# $\bar h_t$ is what the loss sends into $h_t$ directly plus what step $t+1$ sends back.

# %%
from IPython.display import Image

Image(filename="figures/unrolled_rnn.png")

# %%
dh = rng.standard_normal((T, B, H))
dh_next = np.zeros((B, H))
total = np.zeros((T, B, H))
dW_ih, dW_hh, db = np.zeros((H, D)), np.zeros((H, H)), np.zeros(H)
for t in reversed(range(T)):
    total[t] = dh[t] + dh_next                           # the total dL/dh_t
    da = total[t] * (1 - h[t] ** 2)                      # through tanh
    h_before = h[t - 1] if t > 0 else np.zeros((B, H))
    dW_ih += da.T @ x[t]
    dW_hh += da.T @ h_before
    db += da.sum(axis=0)
    dh_next = da @ params["weight_hh"]                   # carried back one step

g = sr.rnn_backward(cache, dh)
print("dL/dh_t for every t, the library's = the loop's:", max_rel_error(g.h, total))
print("dW_hh, the library's = the loop's:", max_rel_error(g.params["weight_hh"], dW_hh))
print("||dL/dh_t|| for t = 0..T-1:", np.linalg.norm(g.h, axis=(1, 2)))

# %% [markdown]
# Two independent checks: central finite differences of L, and PyTorch autograd through
# `nn.RNN` (`reference.autograd_grads`). The errors are relative to each gradient's largest entry.

# %%
from reference import autograd_grads


def loss(p=params, x=x):
    return float(np.sum(dh * sr.rnn_forward(p, x)[0]))


torch_grads = autograd_grads("rnn", params, x, dh=dh)
for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
    fd = numerical_gradient(loss, params[name])
    print(f"{name:10s} vs finite differences {max_rel_error(g.params[name], fd):.1e}"
          f"   vs torch {max_rel_error(g.params[name], torch_grads[name]):.1e}")
print(f"{'h (all t)':10s} vs torch (unrolled cells with retain_grad) {max_rel_error(g.h, torch_grads['h']):.1e}")

# %% [markdown]
# ## 3. The LSTM's cell path, and the GRU's reset gate
#
# $c_t = f_t \odot c_{t-1} + i_t \odot g_t$ and $h_t = o_t \odot \tanh(c_t)$. Along the cell path
# alone, $dL/dc_s = dL/dc_t \prod_{k=s+1}^{t} f_k$: the forget gates decide what survives. Below,
# a loss at the last step only, and the exact $\|dL/dc_t\|$ next to the cell-path term, with
# PyTorch's default initialisation (forget gate near 0.5) and with a forget bias of 1. First the
# picture: the cell path runs along the top, and going back it multiplies by $f$ alone.

# %%
Image(filename="figures/unrolled_lstm.png")

# %%
T_lstm = 30 if QUICK else 60
x_l = rng.standard_normal((T_lstm, 8, 1))
fig, ax = plt.subplots(figsize=(6.4, 3.6))
for label, p in (("PyTorch default", sr.init_pytorch_default("lstm", 1, 16, rng)),
                 ("forget bias 1", sr.init_forget_bias(sr.init_pytorch_default("lstm", 1, 16, rng), 1.0))):
    h_l, c_l, cache_l = sr.lstm_forward(p, x_l)
    dh_l = np.zeros_like(h_l)
    dh_l[-1] = 1.0
    g_l = sr.lstm_backward(cache_l, dh_l)
    f = cache_l.gates[:, 1]                                      # forget gates (T, B, H)
    path = np.array([np.linalg.norm(g_l.c[-1] * np.prod(f[s + 1:], axis=0)) for s in range(T_lstm)])
    line, = ax.semilogy(np.linalg.norm(g_l.c, axis=(1, 2)), label=f"||dL/dc_t||, {label}")
    ax.semilogy(path, ls="--", color=line.get_color(), label=f"cell path, {label}")
ax.set_xlabel("t")
ax.legend(fontsize=8)
ax.set_title("LSTM: the exact dL/dc_t and the forget-gate product")
plt.show()

# %% [markdown]
# PyTorch's GRU puts $b_{hn}$ *inside* the reset product,
# $n_t = \tanh(x_t W_{in}^T + b_{in} + r_t \odot (h_{t-1} W_{hn}^T + b_{hn}))$, where Cho et al. (2014)
# reset the state before the product. Where the reset gate acts, forward and back:

# %%
Image(filename="figures/unrolled_gru.png")

# %% [markdown]
# The two forms differ, and `sr.gru_forward` is `nn.GRU`:

# %%
import torch

p_gru = sr.init_pytorch_default("gru", 2, 4, rng)
x_g = rng.standard_normal((5, 3, 2))
ours, _ = sr.gru_forward(p_gru, x_g)
m = torch.nn.GRU(2, 4).double()
from reference import params_to_torch

params_to_torch(p_gru, m)
theirs = m(torch.from_numpy(x_g))[0].detach().numpy()


def cho_gru(p, x):
    """The GRU of Cho et al. 2014: r_t multiplies h_{t-1} before W_hn."""
    Hh = p["weight_hh"].shape[1]
    W = {q: (p["weight_ih"][i * Hh:(i + 1) * Hh], p["weight_hh"][i * Hh:(i + 1) * Hh],
             p["bias_ih"][i * Hh:(i + 1) * Hh] + p["bias_hh"][i * Hh:(i + 1) * Hh]) for i, q in enumerate("rzn")}
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    hh, out = np.zeros((x.shape[1], Hh)), []
    for t in range(x.shape[0]):
        r = sig(x[t] @ W["r"][0].T + hh @ W["r"][1].T + W["r"][2])
        z = sig(x[t] @ W["z"][0].T + hh @ W["z"][1].T + W["z"][2])
        n = np.tanh(x[t] @ W["n"][0].T + (r * hh) @ W["n"][1].T + W["n"][2])
        hh = (1 - z) * n + z * hh
        out.append(hh)
    return np.stack(out)


print("scratch_rnn vs nn.GRU:       ", max_rel_error(ours, theirs))
print("Cho et al. 2014 vs nn.GRU:   ", max_rel_error(cho_gru(p_gru, x_g), theirs))

# %% [markdown]
# ## 4. Vanishing gradients, seen
#
# The exact $\|dL/dh_t\|$ for a loss on the last state only (a random upstream gradient), at
# initialisation, over several draws of the weights: the median and the range. The RNN's falls
# geometrically; the LSTM's with a forget bias or chrono initialisation falls far slower.

# %%
T_v, draws = (40, 3) if QUICK else (100, 10)
configs = [("rnn", "pytorch"), ("rnn", "orthogonal"), ("lstm", "pytorch"), ("lstm", "forget_bias"),
           ("lstm", "chrono")]
fig, ax = plt.subplots(figsize=(7, 4))
for cell, init in configs:
    profiles = []
    for d in range(draws):
        r = np.random.default_rng([d, 7])
        p = {k: v for k, v in sr.init_model(cell, 1, 64, 2, r, init=init, dtype=np.float64, t_max=T_v).items()
             if not k.startswith("head")}
        xv = r.random((T_v, 16, 1))
        dh_v = np.zeros((T_v, 16, 64))
        dh_v[-1] = r.standard_normal((16, 64))
        if cell == "rnn":
            gv = sr.rnn_backward(sr.rnn_forward(p, xv)[1], dh_v)
        else:
            gv = sr.lstm_backward(sr.lstm_forward(p, xv)[2], dh_v)
        prof = np.linalg.norm(gv.h, axis=(1, 2))
        profiles.append(prof / prof[-1])
    profiles = np.array(profiles)
    line, = ax.semilogy(np.median(profiles, axis=0), label=f"{cell.upper()} ({init})")
    ax.fill_between(np.arange(T_v), profiles.min(axis=0), profiles.max(axis=0), color=line.get_color(), alpha=0.15)
    print(f"{cell.upper():4s} {init:11s} ||dL/dh_0|| / ||dL/dh_T-1||: median {np.median(profiles[:, 0]):.1e}, "
          f"range [{profiles[:, 0].min():.1e}, {profiles[:, 0].max():.1e}] over {draws} draws")
ax.set_xlabel("t")
ax.set_ylabel("||dL/dh_t|| / ||dL/dh_T-1||")
ax.legend(fontsize=8)
ax.set_title(f"Exact gradient norms at initialisation, T = {T_v}")
plt.show()

# %% [markdown]
# ## 5. What the study found
#
# The study's saved results (`docs/results/`, written by `scratch-rnn reproduce`; not re-run here):
# the success rate against the sequence length for temporal XOR and for the first-bit control, and
# the updates to success.

# %%
import csv
from pathlib import Path

# docs/results from the repository's root; results/ next to this notebook when run from docs/
folder = next(p for p in (Path("docs/results"), Path("results")) if (p / "study_summary.csv").exists())
with open(folder / "study_summary.csv") as f:
    summary = [r for r in csv.DictReader(f)]
fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
for ax, task in zip(axes[:2], ("xor", "first_bit")):
    for model in dict.fromkeys((r["cell"], r["init"]) for r in summary):
        rows = [r for r in summary if r["task"] == task and (r["cell"], r["init"]) == model]
        if rows:                                   # a curriculum run's init ends in "+curriculum": dashed
            ax.plot([int(r["T"]) for r in rows], [float(r["success_rate"]) for r in rows], marker="o",
                    ls="--" if "+" in model[1] else "-", label=f"{model[0].upper()} ({model[1]})")
    ax.set_xscale("log")
    ax.set_title(f"{task}: runs that reached the success threshold")
    ax.set_xlabel("T")
    ax.set_ylim(-0.05, 1.05)
axes[0].legend(fontsize=7)
for model in dict.fromkeys((r["cell"], r["init"]) for r in summary):
    rows = [r for r in summary if r["task"] == "xor" and (r["cell"], r["init"]) == model and r["median_updates_to_success"]]
    axes[2].plot([int(r["T"]) for r in rows], [float(r["median_updates_to_success"]) for r in rows], marker="o")
axes[2].set_xscale("log")
axes[2].set_title("xor: median updates to success")
axes[2].set_xlabel("T")
plt.tight_layout()
plt.show()
print(f"{'task':10s}{'model':30s}{'T':>5s}{'successes':>11s}")
for r in summary:
    if int(r["T"]) in (30, 100):
        print(f"{r['task']:10s}{r['cell'] + ' ' + r['init']:30s}{r['T']:>5s}{r['successes'] + '/' + r['runs']:>11s}")

# %% [markdown]
# ## 6. Truncated BPTT
#
# `h = h.detach()` every k steps in PyTorch is the **chunks** scheme: nothing crosses a chunk
# boundary. The **window** scheme lets the loss at step t reach back k steps, whatever t is.
# Both come from the same cache; with k = T they are full BPTT. Here is how close the truncated
# gradient of $W_{hh}$ is to the exact one, as a function of k, for a loss at every step.

# %%
T_tr = 30 if QUICK else 60
p_tr = sr.init_pytorch_default("lstm", 3, 16, rng)
x_tr = rng.standard_normal((T_tr, 8, 3))
dh_tr = rng.standard_normal((T_tr, 8, 16))
_, _, cache_tr = sr.lstm_forward(p_tr, x_tr)
exact = sr.lstm_backward(cache_tr, dh_tr).params["weight_hh"].ravel()
chunked = sr.truncated_backward(cache_tr, dh_tr, 5, "chunks").params["weight_hh"].ravel()
print("k = 5, chunks: cos with the exact gradient", float(chunked @ exact / np.linalg.norm(chunked) / np.linalg.norm(exact)))
print("k = T, chunks: equal to full BPTT bit for bit:",
      np.array_equal(sr.truncated_backward(cache_tr, dh_tr, T_tr, "chunks").params["weight_hh"].ravel(), exact))
ks = np.unique(np.geomspace(1, T_tr, 10).round().astype(int))
fig, ax = plt.subplots(figsize=(6, 3.4))
for scheme in ("chunks", "window"):
    cos = []
    for k in ks:
        gk = sr.truncated_backward(cache_tr, dh_tr, int(k), scheme).params["weight_hh"].ravel()
        cos.append(gk @ exact / np.linalg.norm(gk) / np.linalg.norm(exact))
    ax.plot(ks, cos, marker="o", label=scheme)
ax.set_xscale("log")
ax.set_xlabel("k")
ax.set_ylabel("cos(truncated, exact), dL/dW_hh")
ax.legend()
ax.set_title("LSTM at initialisation, a loss at every step")
plt.show()

# %% [markdown]
# ## 7. Speed: one row of the benchmark, live
#
# Forward and BPTT of an LSTM at the study's size (T = 100, B = 32, H = 64), Numba against
# PyTorch on the CPU, each on one thread, interleaved, medians (`scratch-rnn bench` runs the grid).

# %%
from scratch_rnn.bench.measure import Case, add_ratios, measure

rows = add_ratios(measure([Case("fwd_bwd", "lstm", "float32", 100, 32, 64, 1)], ["numba", "torch"],
                          budget_s=0.2 if QUICK else 2.0, progress=False))
from scratch_rnn._provenance import measured_on

print(f"on {measured_on()}, scratch_rnn {sr.__version__}:")
for r in rows:
    print(f"{r['variant']:6s} {r['median_s'] * 1e3:7.2f} ms   (speedup vs torch {r['speedup_vs_torch']:.2f}x)")

# %% [markdown]
# ## 8. RTRL: the same gradient, forward
#
# BPTT runs backwards over stored states. Real-time recurrent learning (Williams & Zipser 1989)
# carries instead the *influence* of every parameter on the state, $M_t = dh_t/dW_{hh}$, forward with
# the step: for the tanh RNN of sections 1 and 2,
#
# $$M_t = \operatorname{diag}(1 - h_t^2)\,\big(W_{hh} M_{t-1} + \partial a_t/\partial W_{hh}\big), \qquad
#   (\partial a_t/\partial W_{hh})_{i,kl} = \delta_{ik}\, h_{t-1,l}, \qquad
#   \frac{dL}{dW_{hh}} = \sum_t dh_t \cdot M_t,$$
#
# which needs no past state but costs $O(H^4)$ a step for $W_{hh}$ alone, against BPTT's $O(H^2)$.

# %%
M = np.zeros((B, H, H, H))                               # M[b, i, k, l] = dh_t[b, i] / dW_hh[k, l]
dW_hh_forward = np.zeros((H, H))
for t in range(T):
    h_before = h[t - 1] if t > 0 else np.zeros((B, H))
    direct = np.einsum("ik,bl->bikl", np.eye(H), h_before)              # da_t / dW_hh, with nothing before
    M = (1 - h[t] ** 2)[:, :, None, None] * (np.einsum("ij,bjkl->bikl", params["weight_hh"], M) + direct)
    dW_hh_forward += np.einsum("bi,bikl->kl", dh[t], M)                # the loss at step t, now
print("dW_hh forward in time vs BPTT's:", max_rel_error(dW_hh_forward, g.params["weight_hh"]))

# %% [markdown]
# `scratch_rnn.rtrl` does this for every parameter of every cell, and online approximations that
# keep less: SnAp-1 (the influence on the unit a parameter feeds only), e-prop (only what flows
# through each unit's own state: for this RNN, the step's immediate derivative), and two unbiased
# random estimates, UORO (rank one) and KF-RTRL (one Kronecker product). The cosine with the exact
# gradient says how much each keeps on this batch; the [RTRL page](../rtrl/) measures it over seeds
# and tasks, trains with each, and times each.

# %%
from scratch_rnn.rtrl import eprop_gradients, kfrtrl_gradients, rtrl_gradients, snap1_gradients, uoro_gradients


def cosine(a, b):
    a, b = np.concatenate([v.ravel() for v in a.values()]), np.concatenate([b[k].ravel() for k in a])
    return a @ b / (np.linalg.norm(a) * np.linalg.norm(b))


print("RTRL   vs BPTT, largest relative error:", max(max_rel_error(v, g.params[k])
                                                    for k, v in rtrl_gradients("rnn", params, x, dh=dh).params.items()))
print("SnAp-1 cosine with BPTT:", round(cosine(snap1_gradients("rnn", params, x, dh=dh).params, g.params), 3))
print("e-prop cosine with BPTT:", round(cosine(eprop_gradients("rnn", params, x, dh=dh).params, g.params), 3))
print("UORO   cosine with BPTT, one draw:",
      round(cosine(uoro_gradients("rnn", params, x, np.random.default_rng(1), dh=dh).params, g.params), 3))
print("KF-RTRL cosine with BPTT, one draw:",
      round(cosine(kfrtrl_gradients(params, x, np.random.default_rng(1), dh=dh).params, g.params), 3))

# %% [markdown]
# ## 9. When your BPTT is wrong
#
# Now write it yourself (`scratch-rnn exercise lstm --out my_lstm.py`). Suppose your LSTM backward
# carries the cell gradient back without the forget gate, `dc_next = dc` where `dc * f` belongs.
# A finite-difference check would say that every gradient is off. The checker runs your functions on
# its cases against the exact BPTT, says from which step, counting back from $T-1$, the total
# $dL/dh_t$ leaves the exact one, and names the mistake, because your numbers equal those of the
# exact BPTT with that one mistake made. The same runs as `scratch-rnn check my_lstm.py --out DIR`;
# the [checker's page](../check/) has the whole catalogue and 34 planted mistakes.

# %%
import inspect
import types

from scratch_rnn.check import check_namespace_text
from scratch_rnn.check.templates import lstm as template

mine = types.ModuleType("my_lstm")
exec(inspect.getsource(template), mine.__dict__)            # the exercise's forward pass, as given


def lstm_backward(cache, dh, dc_last=None):                 # a learner's backward, one factor wrong
    params, x, h0, c0, h, c, gates = cache
    T, B, H = h.shape
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    dx, dh_total = np.zeros_like(x), np.zeros_like(h)
    dh_next, dc_next = np.zeros((B, H)), np.zeros((B, H)) if dc_last is None else dc_last
    for t in reversed(range(T)):
        i, f, gg, o = gates[t]
        h_prev, c_prev = (h[t - 1], c[t - 1]) if t > 0 else (h0, c0)
        tc = np.tanh(c[t])
        dh_total[t] = dh[t] + dh_next
        dc = dc_next + dh_total[t] * o * (1 - tc ** 2)
        da = np.concatenate([dc * gg * i * (1 - i), dc * c_prev * f * (1 - f), dc * i * (1 - gg ** 2),
                             dh_total[t] * tc * o * (1 - o)], axis=1)
        grads["weight_ih"] += da.T @ x[t]
        grads["weight_hh"] += da.T @ h_prev
        grads["bias_ih"] += da.sum(axis=0)
        grads["bias_hh"] += da.sum(axis=0)
        dx[t] = da @ params["weight_ih"]
        dh_next = da @ params["weight_hh"]
        dc_next = dc                                        # the mistake: dc * f
    return {"params": grads, "x": dx, "h0": dh_next, "c0": dc_next, "h": dh_total}


mine.lstm_backward = lstm_backward
reports, said = check_namespace_text(vars(mine), "my_lstm.py")
print(said)
steps, err = np.array(reports[0].profile).T                 # |yours - exact| at each t, the first failing case
fig, ax = plt.subplots(figsize=(6, 3))
ax.semilogy(steps, np.maximum(err, 1e-17), "o-", color="tab:red")
ax.axhline(1e-7, color="0.5", ls="--", lw=0.8, label="float64 tolerance")
ax.axvline(reports[0].first_wrong_step, lw=0.8, label=f"first wrong step, t = {reports[0].first_wrong_step}")
ax.set(xlabel="step t", ylabel="|yours - exact| (relative)", title="where the recurrence breaks")
ax.legend(fontsize=8)
plt.show()
