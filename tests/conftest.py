import numpy as np
import pytest

import scratch_rnn as sr
from scratch_rnn.cells import GATES  # noqa: F401  (re-exported for the tests)
from scratch_rnn.gradcheck import CELLS  # noqa: F401

FORWARD = {"rnn": sr.rnn_forward, "lstm": sr.lstm_forward, "gru": sr.gru_forward}
BACKWARD = {"rnn": sr.rnn_backward, "lstm": sr.lstm_backward, "gru": sr.gru_backward}


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture(scope="session", autouse=True)
def _warm_numba_kernels():
    """Compile (or load from cache) every Numba kernel once per test session, for both dtypes."""
    from scratch_rnn.gradcheck import analytic_grads, random_problem

    r = np.random.default_rng(0)
    for cell in CELLS:
        for dtype in (np.float32, np.float64):
            analytic_grads(cell, **random_problem(cell, 2, 2, 1, 2, r, dtype=dtype), backend="numba")
    yield sr
