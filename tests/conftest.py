import time

import numpy as np
import pytest


def _compile_kernels() -> None:
    """Every Numba kernel the tests call, in each signature they use (both dtypes, the RNN's ReLU, the
    LSTM's projection, RTRL's compiled influence step), run once on a tiny problem: compiled, or loaded
    from Numba's cache."""
    from scratch_rnn.rtrl.exact import compile_rtrl
    compile_rtrl()


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
