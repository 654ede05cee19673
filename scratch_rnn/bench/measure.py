"""Speed benchmarks: forward + BPTT, and a full training step, for NumPy, Numba and PyTorch.

Every variant runs on the same arrays. Timings are interleaved (one call of each variant in turn,
repeated), warm-up calls are excluded, and medians with their interquartile range are reported,
so that a ratio compares two medians measured in the same run under the same machine load.

Variants: ``numpy`` and ``numba`` (scratch_rnn's backends; their BLAS pinned to one thread with
threadpoolctl), ``torch`` (one thread), ``torch-ftz`` (one thread, ``torch.set_flush_denormal(True)``),
``torch-threads`` (torch's default thread count), ``torch-cuda`` (when a GPU is present) and ``jax``
(`jax_peer`: a ``lax.scan`` compiled with its gradient by XLA, one thread; forward + BPTT of one layer
only, where JAX is installed). A jax row records its compile time apart (``compile_s``).
"""
from __future__ import annotations

import itertools
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .._validate import PARAM_NAMES
from ..cells import CELLS
from ..training.model import init_model
from ..training.tasks import TASKS

SUBSET = [  # (T, B, H, D): the default grid; the study's size first
    (100, 32, 64, 1), (100, 1, 64, 1), (10, 32, 64, 1), (1000, 32, 64, 1),
    (100, 256, 64, 1), (100, 32, 256, 64), (100, 32, 1024, 1),
]
GRID = list(itertools.product((10, 100, 1000), (1, 32, 256), (64, 256, 1024), (1, 64)))
OPS = ("fwd_bwd", "train_step")


@dataclass(frozen=True)
class Case:
    op: str
    cell: str
    dtype: str
    T: int
    B: int
    H: int
    D: int
    layers: int = 1                  # > 1 or bidirectional: `stack_forward` against the stacked module
    bidirectional: bool = False

    @property
    def stacked(self) -> bool:
        return self.layers > 1 or self.bidirectional


def _runner_scratch(case: Case, backend: str):
    import scratch_rnn as sr

    rng = np.random.default_rng(0)
    dtype = np.dtype(case.dtype)
    params = init_model(case.cell, case.D, case.H, 2, rng, dtype=dtype, layers=case.layers,
                        bidirectional=case.bidirectional)
    x = rng.random((case.T, case.B, case.D)).astype(dtype)
    if case.stacked and case.op == "fwd_bwd":                   # the loss looks at the top layer's out[T-1]
        stack = {k: v for k, v in params.items() if not k.startswith("head_")}
        nd = 2 if case.bidirectional else 1
        dout = np.zeros((case.T, case.B, nd * case.H), dtype)
        dout[-1] = rng.standard_normal((case.B, nd * case.H))
        return lambda: sr.stack_backward(sr.stack_forward(stack, x, case.cell, num_layers=case.layers,
                                                          bidirectional=case.bidirectional, backend=backend)[3], dout)
    if case.op == "train_step":
        engine = sr.ScratchEngine(params, TASKS["xor"][1], lr=1e-3, clip=1.0, backend=backend)
        y = rng.integers(0, 2, case.B)
        return lambda: engine.step(x, y, 0)
    layer = {k: params[k] for k in PARAM_NAMES}
    dh = np.zeros((case.T, case.B, case.H), dtype)
    dh[-1] = rng.standard_normal((case.B, case.H))
    cell = CELLS[case.cell]
    return lambda: cell.backward(cell.forward(layer, x, backend=backend)[2], dh)   # the forward pass's backend


def _runner_torch(case: Case, device: str):
    import torch
    from reference.train import TorchEngine

    rng = np.random.default_rng(0)
    dtype = np.dtype(case.dtype)
    params = init_model(case.cell, case.D, case.H, 2, rng, dtype=dtype, layers=case.layers,
                        bidirectional=case.bidirectional)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    if case.op == "train_step":
        engine = TorchEngine(params, TASKS["xor"][1], lr=1e-3, clip=1.0, device=device)
        x = rng.random((case.T, case.B, case.D)).astype(dtype)
        y = rng.integers(0, 2, case.B)
        return lambda: (engine.step(x, y, 0), sync())
    from reference import params_to_torch, torch_layer
    layer = torch_layer(case.cell)(case.D, case.H, num_layers=case.layers, bidirectional=case.bidirectional)
    layer = layer.to(torch.from_numpy(np.zeros(0, dtype)).dtype)
    if case.stacked:
        layer.load_state_dict({k: torch.from_numpy(v) for k, v in params.items() if not k.startswith("head_")})
    else:
        params_to_torch({k: params[k] for k in PARAM_NAMES}, layer)
    layer = layer.to(device)
    xt = torch.from_numpy(rng.random((case.T, case.B, case.D)).astype(dtype)).to(device).requires_grad_()
    nd = 2 if case.bidirectional else 1
    g = torch.from_numpy(rng.standard_normal((case.B, nd * case.H)).astype(dtype)).to(device)

    def run():
        layer.zero_grad(set_to_none=True)
        xt.grad = None
        out, _ = layer(xt)
        out[-1].backward(g)
        sync()
    return run


def _runner_jax(case: Case):
    """Forward + BPTT of one layer, or None (JAX does no training step or stack here)."""
    if case.op != "fwd_bwd" or case.stacked:
        return None
    from . import jax_peer
    rng = np.random.default_rng(0)
    dtype = np.dtype(case.dtype)
    params = init_model(case.cell, case.D, case.H, 2, rng, dtype=dtype)
    layer = {k: params[k] for k in PARAM_NAMES}
    x = rng.random((case.T, case.B, case.D)).astype(dtype)
    return jax_peer.runner(case.cell, layer, x, rng.standard_normal((case.B, case.H)).astype(dtype))


def variants_available() -> list[str]:
    """The variants this machine can time: numpy and numba always; torch's where torch is installed
    (torch-cuda with a GPU); jax where JAX is installed."""
    import importlib.util
    out = ["numpy", "numba"]
    if importlib.util.find_spec("torch") is not None:
        import torch
        out += ["torch", "torch-ftz", "torch-threads"]
        if torch.cuda.is_available():
            out.append("torch-cuda")
    if importlib.util.find_spec("jax") is not None:
        out.append("jax")
    return out


def measure(cases, variants, budget_s: float = 0.6, min_repeats: int = 3, max_repeats: int = 30,
            progress: bool = True) -> list[dict]:
    """Interleaved timings; one row per (case, variant) with median, q25, q75 (seconds), repeats."""
    from threadpoolctl import threadpool_limits

    from .._numba.threads import load_blas
    load_blas()                      # threadpoolctl limits only the libraries already loaded
    warn_core_type()
    if "jax" in variants:
        from .jax_peer import pin_one_thread, start_backend
        if not pin_one_thread():
            start_backend()
            import warnings
            warnings.warn("jax: its backend started before the benchmark could pin it to one thread; its "
                          "rows use XLA's default threads", RuntimeWarning, stacklevel=2)
    torch: Any = None
    default_threads = 1
    if any(b.startswith("torch") for b in variants):
        import torch as torch_module
        torch = torch_module
        default_threads = torch.get_num_threads()
    rows = []
    cases = list(cases)
    iterator = cases
    if progress:
        from tqdm.auto import tqdm
        iterator = tqdm(cases, desc="bench", leave=False)
    for case in iterator:
        runners = {}
        for b in variants:
            runners[b] = _runner_torch(case, "cuda" if b == "torch-cuda" else "cpu") if b.startswith("torch") \
                else _runner_jax(case) if b == "jax" else _runner_scratch(case, b)
        active = [b for b in variants if runners[b] is not None]
        if not active:                                           # e.g. a training step, asked of jax alone
            continue

        def setup(b):
            if torch is not None:
                torch.set_num_threads(default_threads if b == "torch-threads" else 1)
                torch.set_flush_denormal(b == "torch-ftz")

        times: dict[str, list[float]] = {b: [] for b in active}
        with threadpool_limits(limits=1):
            for b in active:                                     # warm-up (compilation, allocators)
                setup(b)
                runners[b]()
                runners[b]()
            start = time.perf_counter()
            while True:
                for b in active:
                    setup(b)
                    t0 = time.perf_counter()
                    runners[b]()
                    times[b].append(time.perf_counter() - t0)
                n = len(times[active[0]])
                if n >= max_repeats or (n >= min_repeats and time.perf_counter() - start > budget_s * len(active)):
                    break
        if torch is not None:
            torch.set_num_threads(default_threads)
            torch.set_flush_denormal(False)
        for b in active:
            q25, med, q75 = np.percentile(times[b], [25, 50, 75])
            threads = (default_threads if b == "torch-threads" else 1) if b.startswith("torch") else 1
            rows.append({**asdict(case), "variant": b, "threads": threads, "median_s": med, "q25_s": q25,
                         "q75_s": q75, "repeats": len(times[b]), "compile_s": getattr(runners[b], "compile_s", None)})
    return rows


def warn_core_type() -> None:
    """Warn where OPENBLAS_CORETYPE is set: OpenBLAS then runs that core type's kernels, not this
    CPU's own (set to Haswell on an AVX-512 machine: a third of the float32 GEMM rate, measured)."""
    import os
    core = os.environ.get("OPENBLAS_CORETYPE")
    if core:
        import warnings
        warnings.warn(f"OPENBLAS_CORETYPE={core} is set: the BLAS runs {core} kernels, which may be slower "
                      "than this CPU's own; unset it to time the machine as it is", RuntimeWarning, stacklevel=3)


def add_ratios(rows: list[dict], reference: str = "torch") -> list[dict]:
    """speedup = reference median / this median, within the same case."""
    key = lambda r: (r["op"], r["cell"], r["dtype"], r["T"], r["B"], r["H"], r["D"], r.get("layers", 1),  # noqa: E731
                     r.get("bidirectional", False))
    ref = {key(r): r["median_s"] for r in rows if r["variant"] == reference}
    for r in rows:
        r[f"speedup_vs_{reference}"] = ref[key(r)] / r["median_s"] if key(r) in ref else None
    return rows


def make_cases(sizes, cells=("rnn", "lstm"), dtypes=("float32", "float64"), ops=OPS) -> list[Case]:
    return [Case(op, c, d, T, B, H, D) for op in ops for (T, B, H, D) in sizes for c in cells for d in dtypes]


def environment() -> dict:
    """Threads, BLAS libraries and CPU, recorded with every result."""
    from threadpoolctl import threadpool_info

    info: dict[str, Any] = {"blas": [{k: v for k, v in d.items() if k in ("internal_api", "prefix", "version", "architecture")}
                     for d in threadpool_info()]}
    try:
        import torch
        info["torch_default_threads"] = torch.get_num_threads()
        info["cuda"] = torch.cuda.get_device_name() if torch.cuda.is_available() else None
    except ImportError:
        pass
    try:
        with open("/proc/cpuinfo") as f:
            info["cpu"] = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), None)
    except OSError:
        info["cpu"] = None
    import os
    info["cpu_count"] = os.cpu_count()
    info["env"] = {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")
                   if k in os.environ}
    return info
