"""How close each online gradient is to the exact one, and what each costs.

Alignment, as Marschall, Cho & Savin (2020) measure it: the cosine between a method's gradient g~ and
the exact gradient g of the recurrent layer's parameters (all of them, flattened into one vector),
and the norm ratio |g~| / |g|. The loss is the task's own: on the study's tasks
(`scratch_rnn.training.tasks`) the study's model, a layer and a linear head on h_{T-1}, so dL/dh_t is
nonzero only at the last step; on Marschall et al.'s (`scratch_rnn.online.tasks`) a head at every step.
The exact gradient is BPTT's (equal to RTRL's, tests/test_rtrl_exact.py). Every method is given the loss's
own dL/dh_t but RFLO, which gets the error sent back through a fixed random matrix in place of the
head's weight (`feedback_matrix`), as Murray (2019) defines it; its trace is e-prop's for this RNN, so
the two rows differ by the feedback alone.

Cost: wall time and peak memory of one gradient of a sequence, for BPTT (which stores the T states),
truncated BPTT(k) run chunk by chunk (k states), exact RTRL (which stores none of the past but carries
an S x P influence per sequence) and each approximation, all in this package's NumPy reference code,
so that the ratios compare algorithms, not implementations.
"""
from __future__ import annotations

import time
import tracemalloc
from typing import NamedTuple

import numpy as np
from numpy.typing import DTypeLike

from ..cells import CELLS, cell_of_cache
from ..training.losses import linear_backward
from ..training.model import init_model, layer_params, model_loss
from ..training.optim import Adam
from ..training.tasks import TASKS, get_task
from ..rtrl.approx import COMPILED_TRACE_CELLS, RFLO_CELLS, eprop_gradients, rflo_gradients, snap1_gradients
from ..rtrl.stochastic import kfrtrl_gradients, uoro_gradients
from .tasks import STEP_TASKS, StepTask, get_step_task, step_loss
from ..rtrl.exact import rtrl_gradients

#: every method, in the order of the tables; the last two for the RNN only (`RNN_ONLY`); "rflo" learns
#: from the error sent back through `feedback_matrix`
METHODS = ("rtrl", "snap1", "eprop", "uoro", "kfrtrl", "rflo")
RNN_ONLY = ("kfrtrl", "rflo")
#: the methods that draw random signs
STOCHASTIC = ("uoro", "kfrtrl")


def _flat(grads: dict, keys) -> np.ndarray:
    return np.concatenate([np.asarray(grads[k], dtype=np.float64).ravel() for k in keys])


def _check_method(method: str, cell: str, extra: tuple = ()) -> None:
    known = ("bptt", *extra, *METHODS)
    if method not in known or (method in RNN_ONLY and cell not in RFLO_CELLS):
        raise ValueError(f"method: expected one of {known} ({', '.join(RNN_ONLY)} for the RNN only), "
                         f"got {method!r} for {cell!r}")


def _estimate(method: str, cell: str, layer: dict, x, dh, rng) -> dict:
    """A method's gradient of L = sum_t sum(dh[t] * h_t) for the layer (the methods' one dispatch)."""
    if method == "rtrl":
        return rtrl_gradients(cell, layer, x, dh=dh).params
    if method == "snap1":
        return snap1_gradients(cell, layer, x, dh=dh).params
    if method == "eprop":
        return eprop_gradients(cell, layer, x, dh=dh).params
    if method == "uoro":
        return uoro_gradients(cell, layer, x, rng, dh=dh).params
    if method == "kfrtrl":
        return kfrtrl_gradients(layer, x, rng, dh=dh).params
    return rflo_gradients(layer, x, dh=dh).params


def _task(name: str):
    """(sampler, spec) of a task of `scratch_rnn.training.tasks` (a loss at the last step) or of
    `scratch_rnn.online.tasks` (Marschall et al.'s and copying, a loss at every step)."""
    if name in STEP_TASKS:
        return get_step_task(name)
    if name not in TASKS:
        raise ValueError(f"task: expected one of {(*TASKS, *STEP_TASKS)}, got {name!r}")
    return get_task(name)


class Batch(NamedTuple):
    """One batch's exact quantities: BPTT's layer gradients, dL/dh_t (T, B, H), dL/dout_t (T, B, O) (the
    loss's gradient at the head's outputs; zero where a step has no loss), the head's gradients, the
    loss and the accuracy (NaN for the tasks with a loss at every step, whose loss has reference levels)."""

    exact: dict
    dh: np.ndarray
    dout: np.ndarray
    head: dict
    loss: float
    accuracy: float


def _batch(params: dict, task, x, y) -> Batch:
    """The exact quantities of one batch (`Batch`)."""
    if isinstance(task, StepTask):
        exact, dh, dout, head, loss = step_loss(params, task, x, y)
        return Batch(exact, dh, dout, head, loss, float("nan"))
    T, B = x.shape[:2]
    loss, dlogits, acc, cache = model_loss(params, task, x, y, backend="numpy")
    dw, db, dh_last = linear_backward(cache.head, dlogits)
    dh = np.zeros((T, B, dh_last.shape[1]), dh_last.dtype)
    dh[-1] = dh_last                                               # the loss reads h_{T-1} only
    dout = np.zeros((T, B, dlogits.shape[1]), dlogits.dtype)
    dout[-1] = dlogits
    exact = cell_of_cache(cache.layer).backward(cache.layer, dh).params
    return Batch(exact, dh, dout, {"head_weight": dw, "head_bias": db}, float(loss), float(acc))


def feedback_matrix(seed: int, outputs: int, H: int, dtype: DTypeLike = np.float64) -> np.ndarray:
    """RFLO's fixed random feedback (Murray 2019), in place of the head's weight when the error is sent
    back to the units: dh_t = dL/dout_t B instead of dL/dout_t W_head.

    Args:
        seed: The run's seed; B comes from a stream of its own, so the model and batches are those of
            the other methods with the same seed.
        outputs: O, the head's outputs.
        H: The hidden size.
        dtype: B's dtype.

    Returns:
        B, (O, H), drawn as PyTorch draws a linear head's weight: U(-1/sqrt(H), 1/sqrt(H)).

    Examples:
        >>> from scratch_rnn.online.measure import feedback_matrix
        >>> feedback_matrix(0, outputs=2, H=4).shape                               # RFLO's fixed random feedback
        (2, 4)
    """
    bound = 1 / np.sqrt(H)
    return np.random.default_rng([seed, 0xFB]).uniform(-bound, bound, (outputs, H)).astype(dtype)


def _signal(method: str, batch: Batch, fb: np.ndarray) -> np.ndarray:
    """The learning signal a method is given: dL/dh_t, or for RFLO the error sent back through `fb`."""
    return batch.dout @ fb if method == "rflo" else batch.dh


def _compare(est: dict, exact: dict, keys) -> tuple[float, float]:
    e, g = _flat(est, keys), _flat(exact, keys)
    ne, ng = np.linalg.norm(e), np.linalg.norm(g)
    if ne == 0 or ng == 0:                                              # the readout-only baseline: no direction
        return float("nan"), float(ne / ng) if ng else float("nan")
    return float(e @ g / (ne * ng)), float(ne / ng)


def train_online(method: str, cell: str, task: str, T: int, H: int, seed: int, updates: int, B: int = 32,
                 lr: float = 1e-2, every: int = 10, init: str = "pytorch") -> list[dict]:
    """Train the study's model with a method's layer gradient (the head's is exact), Adam, a fresh batch
    each update; log loss, accuracy and the alignment of the method's layer gradient with BPTT's.

    Args:
        method: "bptt", "readout" (the layer frozen: only the head learns) or one of `methods_for(cell)`.
        cell: "rnn", "lstm" or "gru".
        task: "xor", "first_bit", "adding" (a loss at the last step), "add", "mimic" or "copy" (at every
            step).
        T: The sequence length.
        H: The hidden size.
        seed: Seeds the model, the batches and the random signs (UORO, KF-RTRL).
        updates: How many Adam updates.
        B: The batch size.
        lr: Adam's learning rate.
        every: Log every this many updates (and the last).
        init: The layer's initialisation (`scratch_rnn.training.model.init_model`).

    Returns:
        One dict per logged update: update, loss, accuracy, cosine, norm_ratio (the last two of the
            batch the update used, before it).

    Raises:
        ValueError: An unknown method, cell or task.

    Examples:
        >>> from scratch_rnn.online.measure import train_online
        >>> curve = train_online("snap1", "rnn", "first_bit", T=4, H=4, seed=0, updates=20, B=8, every=10)
        >>> [point["update"] for point in curve]
        [0, 10, 20]
    """
    _check_method(method, cell, extra=("readout",))
    sampler, spec = _task(task)
    rng = np.random.default_rng(seed)
    params = init_model(cell, spec.input_size, H, spec.outputs, rng, init=init, dtype=np.float64)
    keys = list(layer_params(params))
    fb = feedback_matrix(seed, spec.outputs, H)
    opt = Adam(params, lr=lr)
    rows = []
    for u in range(updates + 1):
        x, y = sampler(T, B, rng, np.float64)
        b = _batch(params, spec, x, y)
        if method in ("bptt", "readout"):                                # readout: the layer frozen, zero gradient
            est = b.exact if method == "bptt" else {k: np.zeros_like(v) for k, v in b.exact.items()}
        else:
            est = _estimate(method, cell, layer_params(params), x, _signal(method, b, fb), rng)
        if u % every == 0 or u == updates:
            cos, ratio = _compare(est, b.exact, keys)
            rows.append({"update": u, "loss": b.loss, "accuracy": b.accuracy, "cosine": cos, "norm_ratio": ratio})
        if u < updates:
            opt.step({**est, **b.head})                               # the head's gradient is exact for every method
    return rows


def methods_for(cell: str) -> tuple[str, ...]:
    """The methods of `METHODS` defined for a cell (KF-RTRL and RFLO for the RNN only)."""
    return tuple(m for m in METHODS if m not in RNN_ONLY or cell in RFLO_CELLS)


def alignment(cell: str, task: str, T: int, H: int, seed: int, B: int = 32, uoro_draws: int = 1,
              init: str = "pytorch", dtype: DTypeLike = np.float64) -> dict:
    """Cosine and norm ratio of each method's layer gradient with BPTT's, at one model and batch.

    Args:
        cell: "rnn", "lstm" or "gru".
        task: A task of `scratch_rnn.training.tasks.get_task` ("xor", "first_bit", "adding"; a loss at
            the last step) or of `scratch_rnn.online.tasks` ("add", "mimic", "copy"; a loss at every step).
        T: The sequence length.
        H: The hidden size.
        seed: Seeds the model's initialisation, the batch and the random signs.
        B: The batch size.
        uoro_draws: The stochastic estimates (UORO, KF-RTRL) averaged over this many independent sign
            draws (1: what one online learner sees).
        init: The layer's initialisation (`scratch_rnn.training.model.init_model`).
        dtype: The model's and the data's dtype, float64 or float32; the comparison is in float64.

    Returns:
        ``{method: (cosine, norm_ratio)}`` for every method of `methods_for(cell)`.

    Raises:
        ValueError: An unknown cell, task or initialisation.

    Examples:
        >>> from scratch_rnn.online.measure import alignment
        >>> a = alignment("rnn", "xor", T=5, H=4, seed=0, B=4)     # each method's cosine with BPTT, two measures
        >>> [round(v, 6) for v in a["rtrl"]]                                       # RTRL is exact
        [1.0, 1.0]
    """
    sampler, spec = _task(task)
    rng = np.random.default_rng(seed)
    params = init_model(cell, spec.input_size, H, spec.outputs, rng, init=init, dtype=dtype)
    x, y = sampler(T, B, rng, dtype)
    b = _batch(params, spec, x, y)
    layer, keys = layer_params(params), list(b.exact)
    fb = feedback_matrix(seed, spec.outputs, H, dtype)
    out = {}
    for m in methods_for(cell):
        draws = [_estimate(m, cell, layer, x, _signal(m, b, fb), rng) for _ in range(uoro_draws if m in STOCHASTIC else 1)]
        out[m] = _compare({k: sum(d[k] for d in draws) / len(draws) for k in keys}, b.exact, keys)
    return out


def _chunked_bptt(cell, params: dict, x, dh, k: int) -> dict:
    """Truncated BPTT(k) as an online learner runs it: forward k steps, back through those k, carry the
    state on (detached), so that k steps are stored, not T. The chunks scheme of
    `scratch_rnn.truncated_backward`, the same numbers (tests/test_online.py)."""
    h = c = None
    grads: dict = {}
    for t0 in range(0, len(x), k):
        h_k, c_k, cache = cell.forward(params, x[t0:t0 + k], h, c, backend="numpy")
        g = cell.backward(cache, dh[t0:t0 + k]).params
        grads = {n: grads.get(n, 0) + g[n] for n in g}
        h, c = h_k[-1], (c_k[-1] if cell.cell_state else None)
    return grads


def cost(method: str, cell: str, T: int, H: int, B: int = 1, D: int = 1, seed: int = 0, k: int = 10) -> tuple[float, float]:
    """Wall time (s) and peak traced memory (bytes) of one gradient of a (T, B, D) batch.

    Args:
        method: "bptt" (forward and backward), "tbptt" (truncated BPTT(k), chunks of k steps run and
            stored one at a time), "rtrl", "rtrl_numba" (its compiled influence step), another method of
            `methods_for(cell)`, or a compiled one: "bptt_numba" (the cell's kernels), "snap1_numba" and
            "eprop_numba" (the vanilla RNN's compiled traces).
        cell: "rnn", "lstm" or "gru".
        T: The sequence length.
        H: The hidden size.
        B: The batch size.
        D: The input size.
        seed: Seeds the parameters and the inputs.
        k: The truncation of "tbptt".

    Returns:
        ``(seconds, peak_bytes)``: the fastest of up to 20 untraced calls made within half a second
            (at least one), and the peak of NumPy's allocations (tracemalloc) in one more, traced call.

    Raises:
        ValueError: An unknown method, or a compiled trace for a gated cell.

    Examples:
        >>> from scratch_rnn.online.measure import cost
        >>> seconds, megabytes = cost("snap1", "rnn", T=5, H=4, k=2)              # a step's time and memory
        >>> seconds > 0 and megabytes > 0
        True
    """
    compiled = ("snap1_numba", "eprop_numba")
    _check_method(method, cell, extra=("rtrl_numba", "tbptt", "bptt_numba", *compiled))
    if method in compiled and cell not in COMPILED_TRACE_CELLS:
        raise ValueError(f"method: {method!r} is compiled for the vanilla RNN only, got {cell!r}")
    rng = np.random.default_rng(seed)
    params = layer_params(init_model(cell, D, H, 1, rng, dtype=np.float64))
    x = rng.standard_normal((T, B, D))
    dh = np.zeros((T, B, H))
    dh[-1] = rng.standard_normal((B, H))
    entry = CELLS[cell]                                                 # the registry's entry for the cell

    def run():
        if method == "bptt":
            *_, cache = entry.forward(params, x, backend="numpy")
            return entry.backward(cache, dh)
        if method == "tbptt":
            return _chunked_bptt(entry, params, x, dh, k)
        if method == "bptt_numba":
            *_, cache = entry.forward(params, x, backend="numba")
            return entry.backward(cache, dh)
        if method == "rtrl_numba":
            return rtrl_gradients(cell, params, x, dh=dh, backend="numba")
        if method in compiled:
            fn = snap1_gradients if method == "snap1_numba" else eprop_gradients
            return fn(cell, params, x, dh=dh, backend="numba")
        return _estimate(method, cell, params, x, dh, np.random.default_rng(seed))
    if method.endswith("_numba"):
        run()                                                           # compiled (or loaded) before the clock
    times: list[float] = []
    stop = time.perf_counter() + 0.5
    while not times or (len(times) < 20 and time.perf_counter() < stop):  # short calls: the fastest of several
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    tracemalloc.start()
    try:
        run()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return min(times), float(peak)
