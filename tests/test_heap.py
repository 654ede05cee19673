"""The kernels' output arrays reuse freed memory from one call to the next instead of faulting in
fresh pages each call (glibc's adaptive malloc threshold, moved once by `_numba.heap`)."""
import os
import subprocess
import sys

import pytest

_CODE = """
import resource, sys, numpy as np, scratch_rnn as sr
import scratch_rnn._numba.heap as heap
if sys.argv[1] == "off":
    sr.set_heap_settling(False)                  # the public switch: glibc's thresholds untouched
rng = np.random.default_rng(0)
p = sr.init_pytorch_default("rnn", 1, 64, rng, dtype="float32")
x = rng.random((100, 32, 1)).astype("float32")
dh = np.zeros((100, 32, 64), "float32"); dh[-1] = 1
def call():
    sr.rnn_backward(sr.rnn_forward(p, x, backend="numba")[-1], dh)
call(); call()                                   # compiled or loaded, the heap in its steady state
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    call()
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 20, sr.heap_settled())
"""


def _faults_per_call(mode: str) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}   # glibc's own defaults
    out = subprocess.run([sys.executable, "-c", _CODE, mode], capture_output=True, text=True, env=env, check=True)
    faults, settled = out.stdout.split()[-2:]
    assert settled == ("True" if mode == "on" else "False"), f"heap_settled() is {settled} with the policy {mode}"
    return float(faults)


@pytest.mark.skipif(not os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc"), reason="glibc's malloc only")
def test_a_repeated_kernel_call_takes_no_fresh_pages():
    """RNN float32 forward + BPTT at the study's size: h and dh_total are 0.8 MiB each, above
    glibc's initial 128 KiB mmap threshold. Measured: 368 faults a call untouched, 0 after."""
    settled, untouched = _faults_per_call("on"), _faults_per_call("off")
    assert settled < 10, f"{settled} page faults a call with the heap settled"
    assert untouched > 100, f"the control: {untouched} page faults a call without it (expected hundreds)"


def test_the_heap_switch_refuses_a_non_bool():
    import scratch_rnn as sr
    with pytest.raises(TypeError, match="enabled: expected True or False"):
        sr.set_heap_settling("no")
