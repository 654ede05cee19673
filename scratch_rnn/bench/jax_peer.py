r"""JAX as a peer in the speed benchmarks: PyTorch's equations (gate order, b_hn inside the GRU's
reset product) written with ``jax.lax.scan``, forward and BPTT compiled together by XLA with
``jax.jit(jax.value_and_grad(loss))``.

The loss of the benchmark is the one the other variants compute, a gradient at the last step
only: L = sum(h_{T-1} * g) for a fixed g (B, H), differentiated with respect to the parameters and
x. The input projection x_t W_ih^T + b_ih of every step is one product before the scan (what a
speed-minded JAX user writes, and what the Numba kernels do); the scan carries the recurrence.

Threads: XLA's CPU backend runs its own thread pools, sized from the process's CPU affinity when the
backend starts; ``XLA_FLAGS`` such as ``--xla_cpu_multi_thread_eigen=false`` do not stop it from
using every core (measured: 1.8 CPU-seconds per second on 2 cores with them, for an LSTM at B = 256,
H = 256). `pin_one_thread` starts the backend with the affinity narrowed to one CPU and restores the
affinity at once (1.0 CPU-seconds per second afterwards); it cannot change a backend that already
started, and says so. `cpu_seconds_per_second` measures what the pinning achieved. float64 needs
``jax_enable_x64``, which `enable_x64` turns on (arrays keep the dtype they are given).

Needs the ``jax`` extra (``pip install -e ".[jax]"``); nothing else in scratch_rnn imports JAX.
"""
from __future__ import annotations

import os
import sys
import time
from typing import Any, Callable

import numpy as np

from ..cells import get_cell

def pin_one_thread() -> bool:
    """Start JAX's CPU backend with a thread pool of one thread: XLA sizes its pools from the
    process's CPU affinity when the backend starts, so the affinity is narrowed to one CPU for that
    moment and restored right after (the rest of the process keeps every core). Returns False when
    the backend had already started (its pools are then what they are) or affinity cannot be set."""
    bridge = sys.modules.get("jax._src.xla_bridge")
    if bridge is not None and getattr(bridge, "backends_are_initialized", lambda: False)():
        return False
    if not hasattr(os, "sched_setaffinity"):
        return False
    cpus = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(cpus)})
    try:
        start_backend()                                                    # the backend starts here
    finally:
        os.sched_setaffinity(0, cpus)
    return True


def start_backend() -> None:
    """Start JAX's backend, or raise ValueError saying why it cannot start (JAX raises a bare
    AssertionError or a RuntimeError where ``JAX_PLATFORMS`` names a platform this machine lacks)."""
    import jax
    try:
        jax.devices()
    except Exception as err:                                               # JAX's own, whatever its type
        platforms = os.environ.get("JAX_PLATFORMS")
        raise ValueError("--variants jax: JAX cannot start a backend here" + (
            f" (JAX_PLATFORMS={platforms}: a platform this machine lacks?); unset JAX_PLATFORMS or set it to cpu"
            if platforms else f" ({type(err).__name__}: {str(err).splitlines()[0] if str(err) else 'no message'})")
            + ", or leave jax out of --variants") from None


def enable_x64() -> None:
    """Let JAX compute in float64 (arrays keep the dtype they are given)."""
    import jax
    jax.config.update("jax_enable_x64", True)


def _sequence(cell: str, p: dict, x, h0, nonlinearity: str = "tanh"):
    """Every hidden state h_t, (T, B, H), of PyTorch's `cell` over x (T, B, D) from h0 (B, H)."""
    import jax
    import jax.numpy as jnp

    xw = jnp.einsum("tbd,gd->tbg", x, p["weight_ih"]) + p["bias_ih"]        # (T, B, G*H) every input part
    w_hh_T, b_hh = p["weight_hh"].T, p["bias_hh"]
    H = p["weight_hh"].shape[1]

    def rnn(h, xw_t):
        a = xw_t + h @ w_hh_T + b_hh                                       # pre-activation a_t
        h = jnp.tanh(a) if nonlinearity == "tanh" else jnp.maximum(a, 0)
        return h, h

    def lstm(state, xw_t):
        h, c = state
        a = xw_t + h @ w_hh_T + b_hh                                       # (B, 4H): i, f, g, o
        i, f, o = (jax.nn.sigmoid(a[:, k * H:(k + 1) * H]) for k in (0, 1, 3))
        g = jnp.tanh(a[:, 2 * H:3 * H])
        c = f * c + i * g
        h = o * jnp.tanh(c)
        return (h, c), h

    def gru(h, xw_t):
        gh = h @ w_hh_T + b_hh                                             # (B, 3H) recurrent part, b_hn inside
        r = jax.nn.sigmoid(xw_t[:, :H] + gh[:, :H])
        z = jax.nn.sigmoid(xw_t[:, H:2 * H] + gh[:, H:2 * H])
        n = jnp.tanh(xw_t[:, 2 * H:] + r * gh[:, 2 * H:])
        h = (1 - z) * n + z * h
        return h, h

    step = locals()[get_cell(cell).name]                                  # the step above named after the cell
    carry = (h0, jnp.zeros_like(h0)) if get_cell(cell).cell_state else h0   # c0 = 0 beside h0
    _, hs = jax.lax.scan(step, carry, xw)
    return hs


def value_and_grads(cell: str, nonlinearity: str = "tanh") -> Callable:
    """``f(params, x, g) -> (L, (dparams, dx))`` for L = sum(h_{T-1} * g), jitted (not yet compiled)."""
    import jax
    import jax.numpy as jnp

    def loss(params, x, g):
        h0 = jnp.zeros((x.shape[1], params["weight_hh"].shape[1]), dtype=x.dtype)
        return jnp.sum(_sequence(cell, params, x, h0, nonlinearity)[-1] * g)

    return jax.jit(jax.value_and_grad(loss, argnums=(0, 1)))


def runner(cell: str, params: dict, x: np.ndarray, g: np.ndarray) -> Callable[[], Any]:
    """A call of the compiled forward + BPTT on fixed device arrays, compiled now: its
    ``compile_s`` attribute is the first call's time (tracing and XLA compilation)."""
    import jax

    if np.dtype(x.dtype) == np.float64:
        enable_x64()
    fn = value_and_grads(cell)
    p, xj, gj = jax.device_put(params), jax.device_put(x), jax.device_put(g)
    t0 = time.perf_counter()
    jax.block_until_ready(fn(p, xj, gj))
    compile_s = time.perf_counter() - t0

    def run():
        return jax.block_until_ready(fn(p, xj, gj))
    run.compile_s = compile_s                                              # type: ignore[attr-defined]
    return run


def cpu_seconds_per_second(run: Callable[[], Any], seconds: float = 0.3) -> float:
    """Process CPU time over wall time while `run` is called repeatedly: about 1 on one thread, up
    to the core count when XLA spreads the work."""
    wall0, cpu0 = time.perf_counter(), time.process_time()
    while time.perf_counter() - wall0 < seconds:
        run()
    return (time.process_time() - cpu0) / (time.perf_counter() - wall0)
