"""The Numba kernels against the NumPy reference: same contract, same numbers."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import scratch_rnn as sr
from scratch_rnn.gradcheck import analytic_grads, max_rel_error, random_problem
from scratch_rnn.lstm import sigmoid

TOL = {np.float64: 1e-12, np.float32: 1e-5}
CASES = [  # T, B, D, H, with_state
    (1, 1, 1, 1, True), (1, 3, 4, 2, False), (7, 1, 1, 5, True), (13, 5, 3, 7, False),
    (40, 32, 1, 64, True), (300, 2, 2, 3, True), (9, 300, 2, 3, False), (5, 2, 70, 33, True),
    (3, 1, 2, 300, False),  # H > 256: the recurrent product uses the strided view w_hh.T
]


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("T,B,D,H,with_state", CASES)
def test_numba_matches_numpy(cell, dtype, T, B, D, H, with_state, rng):
    prob = random_problem(cell, T, B, D, H, rng, dtype=dtype, with_state=with_state)
    if not with_state:
        prob["h0"] = prob["c0"] = None
    ref = analytic_grads(cell, **prob, backend="numpy")
    fast = analytic_grads(cell, **prob, backend="numba")
    assert set(fast) == set(ref)
    for name in ref:
        assert fast[name].dtype == dtype and fast[name].shape == ref[name].shape, name
        assert max_rel_error(fast[name], ref[name]) <= TOL[dtype], name
    fwd = sr.rnn_forward if cell == "rnn" else sr.lstm_forward
    args = (prob["params"], prob["x"], prob["h0"]) + ((prob["c0"],) if cell == "lstm" else ())
    out_ref, out_fast = fwd(*args, backend="numpy"), fwd(*args, backend="numba")
    for a, b in zip(out_ref[:-1], out_fast[:-1]):
        assert b.dtype == dtype and max_rel_error(b, a) <= TOL[dtype]
    if cell == "lstm":
        assert max_rel_error(out_fast[-1].gates, out_ref[-1].gates) <= TOL[dtype]


def test_numba_backward_of_numpy_cache_and_back(rng):
    """The caches are the same arrays, so backends can be mixed between forward and backward."""
    prob = random_problem("lstm", 6, 3, 2, 4, rng)
    _, _, cache = sr.lstm_forward(prob["params"], prob["x"], backend="numpy")
    a = sr.lstm_backward(cache, prob["dh"], backend="numba")
    b = sr.lstm_backward(cache, prob["dh"], backend="numpy")
    assert max_rel_error(a.h, b.h) <= 1e-12


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_vector_tanh_and_sigmoid_accuracy(dtype):
    from scratch_rnn._jit import jit
    from scratch_rnn._numba_math import sigmoid_, tanh_

    @jit
    def apply(z, which):
        if which == 0:
            tanh_(z)
        else:
            sigmoid_(z)

    rng = np.random.default_rng(0)
    x = np.concatenate([rng.standard_normal(20000) * 4, np.linspace(-800, 800, 4001),
                        np.logspace(-40, 2, 500), -np.logspace(-40, 2, 500), [0.0, -0.0]]).astype(dtype)
    tiny, eps = np.finfo(dtype).tiny, np.finfo(dtype).eps
    for which, ref in ((0, np.tanh), (1, sigmoid)):
        z = x.copy()
        apply(z, which)
        r = ref(x)
        assert z.dtype == dtype
        ulp = np.abs(z.astype(np.float64) - r) / np.maximum(np.abs(r.astype(np.float64)), tiny) / eps
        assert ulp.max() <= 4, (which, x[np.argmax(ulp)])
    z = np.array([0.0, -0.0], dtype)
    apply(z, 0)
    assert np.signbit(z).tolist() == [False, True] or (z == 0).all()


def test_subnormal_gradients_are_flushed(rng):
    """A long RNN whose gradient decays below the smallest normal float32: the Numba backend
    returns exact zeros there, the reference keeps subnormals; both agree to rounding overall."""
    T, B, D, H = 400, 2, 1, 4
    prob = random_problem("rnn", T, B, D, H, rng, dtype=np.float32, inject="last")
    prob["params"]["weight_hh"] *= 0.3                      # contractive: ~0.3^t decay
    ref = analytic_grads("rnn", **prob, backend="numpy")
    fast = analytic_grads("rnn", **prob, backend="numba")
    tiny = np.finfo(np.float32).tiny
    assert (np.abs(ref["h"][:50]) < tiny).any()             # the reference went subnormal or zero
    assert not ((np.abs(fast["h"]) < tiny) & (fast["h"] != 0)).any()  # no subnormal survives
    assert max_rel_error(fast["h"], ref["h"]) <= 1e-5


def test_kernels_work_from_a_read_only_install(tmp_path):
    """Copied to a read-only folder with no writable cache directory, the package still runs."""
    pkg = tmp_path / "ro"
    shutil.copytree(Path(sr.__file__).parent, pkg / "scratch_rnn",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for p in [pkg, *pkg.rglob("*")]:
        p.chmod(0o555 if p.is_dir() else 0o444)
    home = tmp_path / "home"
    home.mkdir(mode=0o555)
    env = {**os.environ, "PYTHONPATH": str(pkg), "HOME": str(home), "XDG_CACHE_HOME": str(home / "c")}
    env.pop("NUMBA_CACHE_DIR", None)
    code = ("import numpy as np, scratch_rnn as sr;"
            "p = sr.init_pytorch_default('rnn', 1, 3, np.random.default_rng(0));"
            "h, c = sr.rnn_forward(p, np.ones((2, 1, 1)), backend='numba'); print(h.shape)")
    try:
        out = subprocess.run([sys.executable, "-W", "default", "-c", code], env=env, capture_output=True,
                             text=True, timeout=300, cwd=tmp_path)
    finally:
        for p in [pkg, *pkg.rglob("*"), home]:
            p.chmod(0o755)
    assert out.returncode == 0, out.stderr
    assert "(2, 1, 3)" in out.stdout
