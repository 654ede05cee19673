"""The kernels' BLAS runs on one thread for every caller, the caller's own thread count untouched
outside the call, and the count is the caller's to change."""
import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

import scratch_rnn as sr
from scratch_rnn._numba import threads


def _blas_threads() -> list[int]:
    return [d["num_threads"] for d in threadpool_info() if d["user_api"] == "blas"]


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_every_kernel_call_runs_its_blas_on_one_thread(cell, monkeypatch):
    import importlib
    module = importlib.import_module(f"scratch_rnn._numba.{cell}")
    seen = []
    for name in (f"_{cell}_forward", f"_{cell}_backward"):            # the compiled kernels
        real = getattr(module, name)

        def spy(*args, real=real):
            seen.append(_blas_threads())
            return real(*args)
        monkeypatch.setattr(module, name, spy)
    rng = np.random.default_rng(0)
    p = sr.init_pytorch_default(cell, 2, 8, rng)
    x = rng.standard_normal((5, 3, 2))
    with threadpool_limits(limits=2, user_api="blas"):                 # the caller's own setting
        cache = sr.cells.CELLS[cell].forward(p, x, backend="numba")[2]
        sr.cells.CELLS[cell].backward(cache, np.ones_like(cache.h))
        assert set(_blas_threads()) == {2}                             # restored after each call
    assert seen and all(set(s) == {1} for s in seen)


def test_the_caller_chooses_the_count(monkeypatch):
    import scratch_rnn._numba.gru as module
    real, seen = module._gru_forward, []

    def spy(*args):
        seen.append(_blas_threads())
        return real(*args)
    monkeypatch.setattr(module, "_gru_forward", spy)
    p = sr.init_pytorch_default("gru", 2, 8, np.random.default_rng(0))
    x = np.ones((4, 2, 2))
    with threadpool_limits(limits=1, user_api="blas"), threads.num_threads(2):
        sr.gru_forward(p, x, backend="numba")
    assert threads.get_num_threads() == 1 and set(seen[-1]) == {2}
    with pytest.raises(ValueError, match="n: expected an integer >= 1 or None"):
        threads.set_num_threads(0)
