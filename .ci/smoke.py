"""Smoke test of an installed wheel, run from outside the repository by a user who cannot write
into the installed package (so the Numba compile cache falls back to the user's cache folder)."""
import os
import warnings

import numpy as np

import scratch_rnn as sr
from scratch_rnn.cells import CELLS

pkg = os.path.dirname(sr.__file__)
assert "site-packages" in pkg, pkg
assert not os.access(pkg, os.W_OK), f"{pkg} is writable for this user: the read-only case is not exercised"
with warnings.catch_warnings():
    warnings.simplefilter("error")                     # a cache folder exists (the user's): no warning
    rng = np.random.default_rng(0)
    for cell, spec in CELLS.items():
        p = sr.init_pytorch_default(cell, 2, 5, rng)
        x = rng.standard_normal((7, 3, 2))
        out = {b: spec.forward(p, x, backend=b) for b in ("numpy", "numba")}
        dh = np.ones_like(out["numpy"][0])
        g = {b: spec.backward(out[b][-1], dh) for b in ("numpy", "numba")}   # each cache's own backend
        err = np.abs(g["numba"].h - g["numpy"].h).max() / np.abs(g["numpy"].h).max()
        assert err < 1e-12, (cell, err)
        print(f"{cell}: numba = numpy to {err:.1e}, version {sr.__version__}")
