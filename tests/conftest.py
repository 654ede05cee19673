import time

import numpy as np
import pytest


def _compile_kernels() -> None:
    """Every Numba kernel the tests call, in each signature they use (both dtypes, the RNN's ReLU, the
    LSTM's projection, RTRL's compiled influence step), run once on a tiny problem: compiled, or loaded
    from Numba's cache."""
    import scratch_rnn as sr
    from scratch_rnn.rtrl import rtrl_gradients

    rng = np.random.default_rng(0)
    for cell in sr.CELLS.values():
        for dtype in (np.float32, np.float64):
            for nl in cell.nonlinearities:
                p = sr.init_pytorch_default(cell.name, 2, 3, rng, dtype=dtype)
                x = rng.random((3, 2, 2)).astype(dtype)
                dh = np.ones((3, 2, 3), dtype)
                h, _, cache = cell.forward(p, x, backend="numba", nonlinearity=nl)
                cell.backward(cache, dh)
                rtrl_gradients(cell.name, p, x, dh=dh, nonlinearity=nl, backend="numba")
            if cell.projection:
                p["weight_hr"] = rng.random((2, 3)).astype(dtype) - 0.5
                p["weight_hh"] = p["weight_hh"][:, :2].copy()
                _, _, cache = cell.forward(p, x, backend="numba")
                cell.backward(cache, np.ones((3, 2, 2), dtype))


def pytest_sessionstart(session):
    """Compile the kernels once, up front and saying so, instead of inside whichever test comes first."""
    if session.config.option.collectonly:
        return
    writer = session.config.get_terminal_writer()
    writer.line("compiling the Numba kernels (or loading them from Numba's cache) before the first test ...")
    t0 = time.perf_counter()
    _compile_kernels()
    writer.line(f"kernels ready in {time.perf_counter() - t0:.1f} s")


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
