"""Bad input raises, naming the argument, the expected and the actual value."""
import numpy as np
import pytest

import scratch_rnn as sr
from helpers import BACKWARD, CELLS, FORWARD, GATES
from scratch_rnn.gradcheck import max_rel_error


def make(cell="lstm", T=4, B=2, D=3, H=5, dtype=np.float64):
    rng = np.random.default_rng(0)
    p = sr.init_pytorch_default(cell, D, H, rng, dtype=dtype)
    x = rng.standard_normal((T, B, D)).astype(dtype)
    return p, x


def forward(cell, p, x, **kw):
    return (FORWARD[cell])(p, x, **kw)


@pytest.mark.parametrize("cell", CELLS)
class TestForward:
    def test_x_not_3d(self, cell):
        p, x = make(cell)
        with pytest.raises(ValueError, match=r"x: expected a 3-D array \(T, B, D\), got 2-D with shape \(4, 6\)"):
            forward(cell, p, x.reshape(4, 6))

    @pytest.mark.parametrize("shape,letter", [((0, 2, 3), "T"), ((4, 0, 3), "B"), ((4, 2, 0), "D")])
    def test_empty(self, cell, shape, letter):
        p, _ = make(cell)
        with pytest.raises(ValueError, match=rf"x: expected {letter} >= 1"):
            forward(cell, p, np.zeros(shape))

    def test_input_size_mismatch(self, cell):
        p, x = make(cell, D=3)
        G = GATES[cell]
        with pytest.raises(ValueError, match=rf"params\['weight_ih'\]: expected shape .* = \({G * 5}, 2\), got \({G * 5}, 3\)"):
            forward(cell, p, x[:, :, :2])

    def test_integer_x(self, cell):
        p, x = make(cell)
        with pytest.raises(TypeError, match="x: expected dtype float32 or float64, got int64"):
            forward(cell, p, x.astype(np.int64))

    def test_mixed_dtypes(self, cell):
        p, x = make(cell)
        with pytest.raises(TypeError, match=r"params\['weight_ih'\]: expected dtype float32 \(the dtype of x\), got float64"):
            forward(cell, p, x.astype(np.float32))

    def test_integer_params(self, cell):
        p, x = make(cell)
        p["bias_hh"] = p["bias_hh"].astype(np.int32)
        with pytest.raises(TypeError, match=r"params\['bias_hh'\]: expected dtype float32 or float64, got int32"):
            forward(cell, p, x)

    @pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
    def test_nonfinite_x(self, cell, bad):
        p, x = make(cell)
        x[1, 0, 2] = bad
        with pytest.raises(ValueError, match="x: expected finite values, got 1 NaN or inf entries"):
            forward(cell, p, x)

    def test_nonfinite_params(self, cell):
        p, x = make(cell)
        p["weight_hh"][0, 0] = np.nan
        with pytest.raises(ValueError, match=r"params\['weight_hh'\]: expected finite values"):
            forward(cell, p, x)

    def test_missing_key(self, cell):
        p, x = make(cell)
        del p["bias_ih"]
        with pytest.raises(ValueError, match=r"params: expected keys .* \(missing: \['bias_ih'\], unknown: \[\]\)"):
            forward(cell, p, x)

    def test_misnamed_key(self, cell):
        p, x = make(cell)
        p["weight_hh_l0"] = p.pop("weight_hh")
        with pytest.raises(ValueError, match=r"missing: \['weight_hh'\], unknown: \['weight_hh_l0'\]"):
            forward(cell, p, x)

    def test_params_not_a_dict(self, cell):
        _, x = make(cell)
        with pytest.raises(TypeError, match="params: expected a dict"):
            forward(cell, [1, 2], x)

    @pytest.mark.parametrize("key,shape", [("weight_hh", (5, 5, 1)), ("bias_ih", (3,)), ("bias_hh", (1, 20))])
    def test_wrong_param_shape(self, cell, key, shape):
        p, x = make(cell)
        p[key] = np.zeros(shape)
        with pytest.raises(ValueError, match=rf"params\['{key}'\]: expected shape .*got \({shape[0]},"):
            forward(cell, p, x)

    def test_hidden_size_disagrees_between_params(self, cell):
        p, x = make(cell, H=5)
        G = GATES[cell]
        p["weight_hh"] = np.zeros((G * 6, 6))
        with pytest.raises(ValueError, match=r"params\['weight_ih'\]: expected shape .*H=6.*got"):
            forward(cell, p, x)

    def test_h0_wrong_shape(self, cell):
        p, x = make(cell)
        with pytest.raises(ValueError, match=r"h0: expected shape \(B, H\) = \(2, 5\), got \(1, 5\)"):
            forward(cell, p, x, h0=np.zeros((1, 5)))

    def test_h0_wrong_dtype(self, cell):
        p, x = make(cell)
        with pytest.raises(TypeError, match=r"h0: expected dtype float64 \(the dtype of x\), got float32"):
            forward(cell, p, x, h0=np.zeros((2, 5), np.float32))

    def test_h0_nonfinite(self, cell):
        p, x = make(cell)
        h0 = np.zeros((2, 5))
        h0[0, 0] = np.inf
        with pytest.raises(ValueError, match="h0: expected finite values"):
            forward(cell, p, x, h0=h0)

    def test_unknown_backend(self, cell):
        p, x = make(cell)
        with pytest.raises(ValueError, match=r"backend: expected one of \('numpy', 'numba'\), got 'cuda'"):
            forward(cell, p, x, backend="cuda")


def test_c0_wrong_shape():
    p, x = make("lstm")
    with pytest.raises(ValueError, match=r"c0: expected shape \(B, H\) = \(2, 5\), got \(2, 4\)"):
        sr.lstm_forward(p, x, c0=np.zeros((2, 4)))


def test_rnn_params_given_to_lstm():
    p, x = make("rnn")
    with pytest.raises(ValueError, match=r"params\['weight_hh'\]: expected shape \(G\*H, H\) with G=4"):
        sr.lstm_forward(p, x)


@pytest.mark.parametrize("cell", CELLS)
class TestBackward:
    def run(self, cell):
        p, x = make(cell)
        out = forward(cell, p, x)
        return out[0], out[-1]

    def backward(self, cell, cache, dh, **kw):
        return BACKWARD[cell](cache, dh, **kw)

    def test_dh_wrong_shape(self, cell):
        h, cache = self.run(cell)
        with pytest.raises(ValueError, match=r"dh: expected shape \(T, B, H\) = \(4, 2, 5\), got \(2, 5\)"):
            self.backward(cell, cache, h[-1])

    def test_dh_wrong_dtype(self, cell):
        h, cache = self.run(cell)
        with pytest.raises(TypeError, match=r"dh: expected dtype float64 .*got float32"):
            self.backward(cell, cache, h.astype(np.float32))

    def test_dh_nan(self, cell):
        h, cache = self.run(cell)
        dh = np.zeros_like(h)
        dh[0, 0, 0] = np.nan
        with pytest.raises(ValueError, match="dh: expected finite values"):
            self.backward(cell, cache, dh)

    def test_wrong_cache(self, cell):
        h, _ = self.run(cell)
        _, other = self.run("lstm" if cell == "rnn" else "rnn")
        with pytest.raises(TypeError, match="cache: expected the"):
            self.backward(cell, other, np.zeros_like(h))


def test_dc_last_wrong_shape():
    p, x = make("lstm")
    h, c, cache = sr.lstm_forward(p, x)
    with pytest.raises(ValueError, match=r"dc_last: expected shape \(B, H\) = \(2, 5\), got \(4, 2, 5\)"):
        sr.lstm_backward(cache, np.zeros_like(h), c)


class TestInit:
    def test_unknown_cell(self):
        with pytest.raises(ValueError, match="cell: expected one of"):
            sr.init_pytorch_default("transformer", 1, 4, np.random.default_rng(0))

    def test_bad_size(self):
        with pytest.raises(ValueError, match="hidden_size: expected an integer >= 1, got 0"):
            sr.init_pytorch_default("rnn", 1, 0, np.random.default_rng(0))

    def test_rng_type(self):
        with pytest.raises(TypeError, match="rng: expected a numpy.random.Generator, got int"):
            sr.init_pytorch_default("rnn", 1, 4, 0)

    def test_default_range_and_shapes(self):
        p = sr.init_pytorch_default("lstm", 3, 16, np.random.default_rng(0), dtype=np.float32)
        assert p["weight_ih"].shape == (64, 3) and p["weight_hh"].shape == (64, 16)
        for a in p.values():
            assert a.dtype == np.float32
            assert np.abs(a).max() <= 0.25 and np.abs(a).max() > 0.2  # U(-1/sqrt(16), 1/sqrt(16))


# ---------------------------------------------------------------- the cache does not alias the caller's arrays
@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_editing_inputs_between_forward_and_backward_changes_nothing(cell, backend):
    p, x = make(cell)
    h0 = np.full((2, 5), 0.3)
    kw = {"h0": h0} | ({"c0": np.full((2, 5), -0.2)} if cell == "lstm" else {})
    bwd = BACKWARD[cell]
    out = forward(cell, p, x, backend=backend, **kw)
    dh = np.ones_like(out[0])
    expected = bwd(out[-1], dh, backend=backend)
    out = forward(cell, p, x, backend=backend, **kw)
    x *= 3.0                                                     # the caller edits every input in place
    for v in p.values():
        v *= -2.0
    for v in kw.values():
        v += 1.0
    got = bwd(out[-1], dh, backend=backend)
    for k in expected.params:
        np.testing.assert_array_equal(got.params[k], expected.params[k])
    np.testing.assert_array_equal(got.x, expected.x)
    np.testing.assert_array_equal(got.h, expected.h)


@pytest.mark.parametrize("cell", CELLS)
def test_returned_states_are_read_only_views(cell):
    p, x = make(cell)
    out = forward(cell, p, x)
    for state in out[:-1]:
        with pytest.raises(ValueError, match="read-only"):
            state[0, 0, 0] = 1.0
    assert out[0].base is out[-1].h or np.shares_memory(out[0], out[-1].h)


# ---------------------------------------------------------------- pre-activations beyond the dtype's range
@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_overflowing_preactivations_are_refused_by_both_backends(cell, backend):
    p, x = make(cell, dtype=np.float32)
    x[1, 0, :] = 3e38                                            # finite, but x W_ih^T overflows float32
    p["weight_ih"][:] = 1.0
    with pytest.raises(ValueError, match=r"x, params, h0: the pre-activations .* can reach .*beyond the largest "
                                         r"float32 \(3.4e\+38\)"):
        forward(cell, p, x, backend=backend)
    x[1, 0, :] = 1e30                                            # large but representable: both agree
    a = forward(cell, p, x, backend="numpy")[0]
    b = forward(cell, p, x, backend="numba")[0]
    assert np.isfinite(a).all() and max_rel_error(b, a) <= 1e-5
