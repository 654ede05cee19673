r"""What truncated BPTT costs, measured against the exact gradient.

Two experiments, each a list of jobs run through the run store and its executors (`scratch_rnn.runs`) (resumable,
interruptible, one JSON line per finished job):

* **Fidelity** (`FidelityJob`): for a cell, a task and a seed, the exact gradient g of a batch's
  loss and the truncated one g_k (`scratch_rnn.truncated_backward`, both schemes, k log-spaced from
  1 to the sequence length), per recurrent parameter tensor: cos(g_k, g) = <g_k, g> / (|g_k| |g|)
  and |g_k| / |g|; at initialisation and again after `updates` updates of full-BPTT training. In
  float64 (the parameters of the float32 training cast up), so the numbers are the truncation's,
  not rounding's. Tasks: the copying task and character-level language modelling on the pydoc
  topics (a loss at every step), and temporal XOR (a loss at the last step only).
* **Training** (`TrainingJob`): the copying task with lag T + 10, trained with truncated BPTT(k),
  chunks (the ``h.detach()`` idiom) or windows, for k below and above the lag, and with full BPTT;
  the result is the recall accuracy on 1000 fresh sequences (the 10 recalled symbols; chance 1/8),
  per recalled position too, and the cross-entropy over the memoryless baseline 10 log 8 / (T + 20).
  Symbol i is seen at step i and recalled at step i + T + 10: a window of k > T + 10 steps spans
  every such pair, a chunk of k steps only those with i and i + T + 10 in the same chunk.
"""
from __future__ import annotations

import time
import zlib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .._validate import PARAM_NAMES
from ..cells import get_cell
from ..runs import safely
from ..training.losses import linear_backward, task_loss
from ..training.model import init_model, model_backward, model_forward
from ..training.optim import Adam, clip_grad_norm
from ..training.sequence import seq_backward, seq_forward, seq_loss
from ..training.tasks import copying, copying_baseline, get_task, one_hot
from ..training.text import Vocabulary, default_text, split
from ..truncated import SCHEMES, truncated_backward

TRUNCATION = {"hidden": 64, "batch": 32, "lr": 1e-2, "clip": 1.0, "seeds": 3, "cells": ("rnn", "lstm", "gru"),
              "fidelity": {"copy": 20, "xor": 50, "lm": 50}, "fidelity_updates": 1000,
              "train_cells": ("lstm", "gru"), "train_T": 5, "train_ks": (8, 16, 20), "train_updates": 2000,
              "eval_n": 1000}
QUICK_TRUNCATION = {**TRUNCATION, "seeds": 1, "cells": ("rnn", "lstm", "gru"), "fidelity": {"copy": 5, "xor": 10, "lm": 10},
                    "fidelity_updates": 20, "train_cells": ("gru",), "train_ks": (4, 16), "train_updates": 30,
                    "eval_n": 100}


@dataclass(frozen=True)
class FidelityJob:
    cell: str
    task: str                  # "copy" (T = the lag's T), "lm" or "xor" (T = the length)
    T: int
    seed: int
    updates: int
    hidden: int
    batch: int
    lr: float
    clip: float

    def __post_init__(self):
        _check_job(self)
        if self.task not in ("copy", "lm", "xor"):
            raise ValueError(f"FidelityJob.task: expected 'copy', 'lm' or 'xor', got {self.task!r}")

    def cost(self) -> float:
        return self.T * (self.updates + 50)


@dataclass(frozen=True)
class TrainingJob:
    cell: str
    T: int                     # the copying task's T: lag T + 10, length T + 20
    k: int | None              # steps the gradient may travel back; None: full BPTT
    scheme: str                # "chunks" or "window" (see scratch_rnn.truncated)
    seed: int
    updates: int
    hidden: int
    batch: int
    lr: float
    clip: float
    eval_n: int

    def __post_init__(self):
        _check_job(self)
        if self.scheme not in SCHEMES or not (self.k is None or (isinstance(self.k, int) and self.k >= 1)):
            raise ValueError(f"TrainingJob.k, scheme: expected k >= 1 or None and a scheme of {SCHEMES}, got "
                             f"k={self.k!r}, scheme={self.scheme!r}")

    def cost(self) -> float:
        return (self.T + 20) * self.updates * (1 + (self.k or 0) / 10 if self.scheme == "window" else 1)


def _check_job(job) -> None:
    """Validate a job on construction, so a bad one fails before any run starts."""
    get_cell(job.cell)
    for name in ("T", "updates", "hidden", "batch"):
        v = getattr(job, name)
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{type(job).__name__}.{name}: expected an integer >= 1, got {v!r}")
    if not (isinstance(job.seed, int) and 0 <= job.seed < 2 ** 63):
        raise ValueError(f"{type(job).__name__}.seed: expected an integer in [0, 2**63), got {job.seed!r}")
    if not (job.lr > 0 and job.clip > 0):
        raise ValueError(f"{type(job).__name__}.lr, clip: expected numbers > 0, got {job.lr!r}, {job.clip!r}")


def _rng(job, purpose: str) -> np.random.Generator:
    key = zlib.crc32(f"{type(job).__name__}|{job.cell}|{getattr(job, 'task', 'copy')}|{job.T}|{purpose}".encode())
    return np.random.default_rng([job.seed, key])


@lru_cache(maxsize=1)
def _text() -> tuple[Vocabulary, np.ndarray]:
    text = default_text()
    vocab = Vocabulary.of(text)
    return vocab, split(vocab.encode(text))[0]


def _sizes(task: str) -> tuple[int, int]:
    if task == "lm":
        return _text()[0].size, _text()[0].size
    return (10, 9) if task == "copy" else (1, 2)


def _batch(task: str, T: int, B: int, rng, dtype):
    if task == "lm":                                             # B windows of T + 1 characters of the text
        vocab, ids = _text()
        seq = ids[rng.integers(0, len(ids) - T - 1, B)[:, None] + np.arange(T + 1)].T   # (T + 1, B)
        return one_hot(seq[:-1], vocab.size, dtype), seq[1:]
    return copying(T, B, rng, dtype) if task == "copy" else get_task(task)[0](T, B, rng, dtype)


def _layer_problem(task: str, params: dict, x, y):
    """(the layer's cache, dh (T, B, H)): what the loss sends into every h_t, exactly."""
    if task in ("copy", "lm"):
        out, cache = seq_forward(params, x)
        _, dout, _ = seq_loss(out, y)
        return cache.layer, dout @ params["head_weight"]
    out, mc = model_forward(params, x)
    _, dout, _ = task_loss(get_task(task)[1], out, y)
    dh_last = linear_backward(mc.head, dout)[2]                  # the loss looks at h_{T-1} only
    dh = np.zeros((x.shape[0], *dh_last.shape), dtype=dh_last.dtype)
    dh[-1] = dh_last
    return mc.layer, dh


def _train(task: str, params: dict, T: int, updates: int, rng, job, k=None, scheme="chunks") -> list[float]:
    """Adam with clipping; full BPTT, or TBPTT(k) by `scheme` (sequence tasks). Returns the losses."""
    opt, losses = Adam(params, lr=job.lr), []
    for _ in range(updates):
        x, y = _batch(task, T, job.batch, rng, np.float32)
        if task in ("copy", "lm"):
            out, cache = seq_forward(params, x)
            loss, dout, _ = seq_loss(out, y)
            grads, _ = seq_backward(cache, dout, k=k, scheme=scheme)
        else:
            out, mc = model_forward(params, x)
            loss, dout, _ = task_loss(get_task(task)[1], out, y)
            grads, _ = model_backward(mc, dout)
        clip_grad_norm(grads, job.clip)
        opt.step(grads)
        losses.append(float(loss))
    return losses


def _compare(task: str, params: dict, x, y, L: int) -> list[dict]:
    p64 = {name: v.astype(np.float64) for name, v in params.items()}
    cache, dh = _layer_problem(task, p64, x.astype(np.float64), y)
    exact = truncated_backward(cache, dh, L, backend="numba").params
    ks = sorted({int(v) for v in np.unique(np.geomspace(1, L, 12).round())} | {L})
    rows = []
    for scheme in SCHEMES:
        for k in ks:
            g = truncated_backward(cache, dh, k, scheme, backend="numba").params
            for name in PARAM_NAMES:
                a, b = g[name].ravel(), exact[name].ravel()
                na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
                cos = float(a @ b / (na * nb)) if na > 0 and nb > 0 else float("nan")
                rows.append({"scheme": scheme, "k": k, "param": name, "cosine": cos,
                             "norm_ratio": na / nb if nb > 0 else float("nan")})
    return rows


def run_fidelity(job: FidelityJob) -> dict:
    t0 = time.perf_counter()
    D, C = _sizes(job.task)
    params = init_model(job.cell, D, job.hidden, C, _rng(job, "init"))
    x, y = _batch(job.task, job.T, job.batch, _rng(job, "probe"), np.float64)
    L = x.shape[0]
    rows = [{**r, "when": "init"} for r in _compare(job.task, params, x, y, L)]
    losses = _train(job.task, params, job.T, job.updates, _rng(job, "batches"), job)
    rows += [{**r, "when": "trained"} for r in _compare(job.task, params, x, y, L)]
    return {"rows": rows, "length": L, "first_loss": losses[0], "last_loss": float(np.mean(losses[-20:])),
            "seconds": time.perf_counter() - t0}


def run_training(job: TrainingJob) -> dict:
    t0 = time.perf_counter()
    params = init_model(job.cell, 10, job.hidden, 9, _rng(job, "init"))
    losses = _train("copy", params, job.T, job.updates, _rng(job, "batches"), job, k=job.k, scheme=job.scheme)
    x, y = copying(job.T, job.eval_n, np.random.default_rng([job.seed, 7]), np.float32)
    out, _ = seq_forward(params, x)
    loss, _, _ = seq_loss(out, y)
    right = out[-10:].argmax(axis=2) == y[-10:]                  # (10, n) the recalled symbols
    return {"recall_accuracy": float(right.mean()), "recall_by_position": right.mean(axis=1).tolist(),
            "ce_over_baseline": float(loss) / copying_baseline(job.T),
            "last_train_loss": float(np.mean(losses[-20:])), "seconds": time.perf_counter() - t0}


def run_job(job) -> dict:
    """A job's result: `run_fidelity` or `run_training`, by the job's kind."""
    return (run_fidelity if isinstance(job, FidelityJob) else run_training)(job)


#: `run_job` as the executor runs it: BLAS on one thread, an exception stored as a failure
run_job_safe = safely(run_job)


def jobs(proto: dict, first_seed: int = 0) -> list:
    common = {"hidden": proto["hidden"], "batch": proto["batch"], "lr": proto["lr"], "clip": proto["clip"]}
    out: list = []
    for seed in range(first_seed, first_seed + proto["seeds"]):
        for cell in proto["cells"]:
            for task, T in proto["fidelity"].items():
                out.append(FidelityJob(cell, task, T, seed, proto["fidelity_updates"], **common))
        for cell in proto["train_cells"]:
            arms = [(k, scheme) for scheme in SCHEMES for k in proto["train_ks"]] + [(None, "chunks")]
            for k, scheme in arms:
                out.append(TrainingJob(cell, proto["train_T"], k, scheme, seed, proto["train_updates"],
                                       eval_n=proto["eval_n"], **common))
    return out
