"""JAX as a benchmark peer: its scan of PyTorch's equations gives the hand-written BPTT's gradients
(so the benchmark compares equal work), and its thread pinning holds."""
import numpy as np
import pytest

jax = pytest.importorskip("jax", reason="the jax extra is not installed")

import scratch_rnn as sr  # noqa: E402
from scratch_rnn.bench import jax_peer  # noqa: E402
from scratch_rnn.cells import CELLS  # noqa: E402
from scratch_rnn.gradcheck import max_rel_error  # noqa: E402


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 1e-5)])
@pytest.mark.parametrize("cell", list(CELLS))
def test_jax_gradients_equal_the_hand_written_bptt(cell, dtype, tol):
    jax_peer.enable_x64()
    rng = np.random.default_rng(0)
    T, B, D, H = 30, 4, 3, 8
    params = sr.init_pytorch_default(cell, D, H, rng, dtype=dtype)
    x = rng.standard_normal((T, B, D)).astype(dtype)
    g = rng.standard_normal((B, H)).astype(dtype)
    value, (dparams, dx) = jax_peer.value_and_grads(cell)(params, x, g)
    h, _, cache = CELLS[cell].forward(params, x)
    dh = np.zeros_like(h)
    dh[-1] = g
    ours = CELLS[cell].backward(cache, dh)
    assert float(value) == pytest.approx(float(np.sum(h[-1] * g)), rel=tol)
    for name in ours.params:
        assert np.asarray(dparams[name]).dtype == dtype
        assert max_rel_error(np.asarray(dparams[name]), ours.params[name]) <= tol, name
    assert max_rel_error(np.asarray(dx), ours.x) <= tol


def test_relu_rnn_too():
    jax_peer.enable_x64()
    rng = np.random.default_rng(1)
    params = sr.init_pytorch_default("rnn", 2, 5, rng)
    x, g = rng.standard_normal((12, 3, 2)), rng.standard_normal((3, 5))
    _, (dparams, _) = jax_peer.value_and_grads("rnn", "relu")(params, x, g)
    h, cache = sr.rnn_forward(params, x, nonlinearity="relu")
    dh = np.zeros_like(h)
    dh[-1] = g
    ours = sr.rnn_backward(cache, dh)
    assert max(max_rel_error(np.asarray(dparams[k]), ours.params[k]) for k in ours.params) <= 1e-12


def test_the_runner_reports_its_compile_time():
    rng = np.random.default_rng(0)
    params = sr.init_pytorch_default("lstm", 1, 16, rng, dtype=np.float32)
    run = jax_peer.runner("lstm", params, rng.random((20, 4, 1)).astype(np.float32),
                          rng.standard_normal((4, 16)).astype(np.float32))
    assert run.compile_s > 0 and run() is not None


def test_pinning_is_refused_once_jax_has_started():
    import jax
    jax.devices()
    assert jax_peer.pin_one_thread() is False


PINNED = """
import numpy as np, scratch_rnn as sr
from scratch_rnn.bench import jax_peer
assert jax_peer.pin_one_thread()
rng = np.random.default_rng(0)
p = sr.init_pytorch_default("lstm", 64, 256, rng, dtype=np.float32)
run = jax_peer.runner("lstm", p, rng.random((50, 256, 64)).astype(np.float32), rng.standard_normal((256, 256)).astype(np.float32))
print(jax_peer.cpu_seconds_per_second(run, 1.0))
"""


def _ratio(code: str) -> float:
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return float(out.stdout.split()[-1])


@pytest.mark.slow                       # timing: CPU time against wall time
def test_pinned_jax_runs_on_one_thread():
    """In a fresh process, pinned before JAX starts: CPU time stays about wall time on a size where
    XLA otherwise spreads the products over every core."""
    assert _ratio(PINNED) < 1.3


@pytest.mark.slow                       # timing: CPU time against wall time
def test_the_thread_check_can_tell_the_difference():
    """Unpinned, the same size uses more than one core: the check above is not vacuous. It needs a
    second core that is idle, so it is skipped (and says so) on one core or a busy machine."""
    import os
    cores = len(os.sched_getaffinity(0))
    if cores < 2 or os.getloadavg()[0] > cores - 1:
        pytest.skip(f"needs an idle second core: {cores} cores, load average {os.getloadavg()[0]:.1f}")
    assert _ratio(PINNED.replace("assert jax_peer.pin_one_thread()", "")) > 1.3


def test_a_jax_platform_this_machine_lacks_is_named(tmp_path):
    """JAX_PLATFORMS=cuda on a machine without CUDA: jax raises a bare AssertionError; the command
    names the variable instead."""
    import os
    import subprocess
    import sys
    if os.environ.get("CUDA_VISIBLE_DEVICES") or os.path.exists("/dev/nvidia0"):
        pytest.skip("this machine may have a GPU, where JAX_PLATFORMS=cuda can start")
    res = subprocess.run([sys.executable, "-m", "scratch_rnn.cli", "bench", "--variants", "jax", "--ops", "fwd_bwd",
                          "--shapes", "2,1,1,2", "--cells", "rnn", "--dtypes", "float64", "--budget", "0.01",
                          "--out", str(tmp_path)], env={**os.environ, "JAX_PLATFORMS": "cuda"},
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 2, res.stderr
    assert "--variants jax: JAX cannot start a backend here (JAX_PLATFORMS=cuda" in res.stderr
    assert "Traceback" not in res.stderr


def test_a_training_step_asked_of_jax_alone_is_skipped_not_an_index_error():
    from scratch_rnn.bench import measure
    cases = measure.make_cases([(3, 1, 2, 1)], cells=("rnn",), dtypes=("float64",), ops=("train_step", "fwd_bwd"))
    rows = measure.measure(cases, ["jax"], budget_s=0.01, progress=False)
    assert [r["op"] for r in rows] == ["fwd_bwd"]
