"""The leaky RNN of Marschall et al.'s setting (`scratch_rnn.online.stream`): every method's gradient against
torch autograd or against the exact recursion it approximates, the tasks against their definitions."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from scratch_rnn.online import stream as st
from scratch_rnn.online import stream_tasks as tk


def _net(N, H, D, O, alpha, seed=0, same=False):
    rng = np.random.default_rng(seed)
    net = st.init_net(1 if same else N, H, D, O, alpha, rng)
    net.W[..., -1] = rng.normal(0, 0.3, net.W[..., -1].shape)           # nonzero biases, so that b is tested
    net.b_out[:] = rng.normal(0, 0.3, net.b_out.shape)
    if same:                                                              # N copies of one network
        net = st.Net(*(np.repeat(getattr(net, f), N, axis=0) for f in ("W", "W_out", "b_out", "a")), alpha)
    return net


def _data(T, N, D, O, loss, seed=1, same=False):
    rng = np.random.default_rng(seed)
    n = 1 if same else N
    x = rng.normal(0, 1, (T, n, D))
    y = rng.dirichlet(np.ones(O), size=(T, n)) if loss == "softmax_cross_entropy" else rng.normal(0, 1, (T, n, O))
    return (np.repeat(x, N, axis=1), np.repeat(y, N, axis=1)) if same else (x, y)


def _run(method, net, x, y, loss, **kw):
    """Each step's gradient of `method`, with the weights fixed (no update): (T, N, H, m)."""
    alg = st.make_method(method, net, np.random.default_rng(7), **kw)
    out = []
    for t in range(len(x)):
        s = st.forward_step(net, x[t], y[t], loss)
        out.append(alg.grad(net, s))
    return np.stack(out)


def _autograd(net, x, y, loss, cut=None):
    """d(sum_t L_t)/dW by torch autograd, the state detached every `cut` steps (None: never)."""
    W = torch.tensor(net.W, requires_grad=True)
    W_out, b_out = torch.tensor(net.W_out), torch.tensor(net.b_out)
    a = torch.tensor(net.a)
    total = torch.zeros((), dtype=torch.float64)
    for t in range(len(x)):
        if cut and t % cut == 0:
            a = a.detach()
        xt, yt = torch.tensor(x[t]), torch.tensor(y[t])
        a_hat = torch.cat([a, xt, torch.ones(len(xt), 1, dtype=torch.float64)], dim=1)
        h = torch.einsum("nhm,nm->nh", W, a_hat)
        a = (1 - net.alpha) * a + net.alpha * torch.tanh(h)
        z = torch.einsum("noh,nh->no", W_out, a) + b_out
        if loss == "softmax_cross_entropy":
            total = total - (yt * torch.log_softmax(z, dim=1)).sum()
        else:
            total = total + 0.5 * ((z - yt) ** 2).sum()
    total.backward()
    return W.grad.numpy()


@pytest.mark.parametrize("alpha", [1.0, 0.5])
@pytest.mark.parametrize("loss", ["softmax_cross_entropy", "mse"])
def test_rtrl_is_the_exact_gradient_of_the_stream(alpha, loss):
    """RTRL's per-step gradients sum to autograd's gradient of the summed loss, with and without a leak."""
    net = _net(3, 5, 2, 2, alpha)
    x, y = _data(12, 3, 2, 2, loss)
    want = _autograd(st.Net(net.W.copy(), net.W_out, net.b_out, net.a.copy(), alpha), x, y, loss)
    got = _run("rtrl", net, x, y, loss).sum(axis=0)
    np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("alpha", [1.0, 0.5])
def test_truncated_bptt_is_autograd_with_the_state_cut_at_each_window(alpha):
    net = _net(2, 4, 2, 2, alpha)
    x, y = _data(15, 2, 2, 2, "mse")
    want = _autograd(st.Net(net.W.copy(), net.W_out, net.b_out, net.a.copy(), alpha), x, y, "mse", cut=5)
    g = _run("tbptt", net, x, y, "mse", truncation=5)
    assert np.all(g[[0, 1, 2, 3, 5, 6, 7, 8, 10, 11, 12, 13]] == 0)        # an update at each window's end only
    np.testing.assert_allclose(g.sum(axis=0), want, rtol=1e-11, atol=1e-13)


def test_snap1_is_exact_with_one_unit_and_rflo_without_self_connections():
    net = _net(2, 1, 2, 2, 0.5)
    x, y = _data(10, 2, 2, 2, "mse")
    exact = _run("rtrl", st.Net(net.W.copy(), net.W_out, net.b_out, net.a.copy(), 0.5), x, y, "mse")
    np.testing.assert_allclose(_run("snap1", net, x, y, "mse"), exact, rtol=1e-12, atol=1e-14)
    net = _net(2, 4, 2, 2, 0.5)
    net.W[:, np.arange(4), np.arange(4)] = 0                             # W_rec[i, i] = 0: J_ii is the leak
    copy = st.Net(net.W.copy(), net.W_out, net.b_out, net.a.copy(), 0.5)
    np.testing.assert_allclose(_run("snap1", net, x, y, "mse"), _run("rflo", copy, x, y, "mse"), rtol=1e-12)


def test_rflo_without_a_leak_is_the_immediate_gradient_and_its_feedback_is_the_one_given():
    net = _net(2, 4, 2, 3, 1.0)
    x, y = _data(6, 2, 2, 3, "mse")
    copy = st.Net(net.W.copy(), net.W_out, net.b_out, net.a.copy(), 1.0)
    g = _run("rflo", net, x, y, "mse")
    for t in range(6):                                                   # q_t (x) D_t a_hat_t, nothing older
        s = st.forward_step(copy, x[t], y[t], "mse")
        np.testing.assert_allclose(g[t], (s.q * s.D)[:, :, None] * s.a_hat[:, None, :], rtol=1e-13)
    fb = np.random.default_rng(3).normal(size=(2, 3, 4))
    net = _net(2, 4, 2, 3, 0.5)
    copy = st.Net(net.W.copy(), net.W_out, net.b_out, net.a.copy(), 0.5)
    g = _run("rflo_fb", net, x, y, "mse", feedback=fb)
    B = 0
    for t in range(6):                                                   # (e_t fb) (x) the leaky trace
        s = st.forward_step(copy, x[t], y[t], "mse")
        B = 0.5 * B + s.D[:, :, None] * s.a_hat[:, None, :]
        np.testing.assert_allclose(g[t], np.einsum("no,noh->nh", s.error, fb)[:, :, None] * B, rtol=1e-12)


@pytest.mark.parametrize("method", ["uoro", "kfrtrl", "rkfrtrl"])
def test_the_stochastic_estimates_are_unbiased(method):
    """20,000 copies of one network on one stream, each with its own random signs: the mean of their
    gradients at the last step is RTRL's to within 5 standard errors in every entry."""
    N, T = 20000, 6
    net = _net(N, 3, 2, 2, 0.5, same=True)
    x, y = _data(T, N, 2, 2, "mse", same=True)
    exact = _run("rtrl", st.Net(net.W[:1].copy(), net.W_out[:1], net.b_out[:1], net.a[:1].copy(), 0.5),
                 x[:, :1], y[:, :1], "mse")[-1, 0]
    g = _run(method, net, x, y, "mse")[-1]
    se = g.std(axis=0) / np.sqrt(N)
    z = np.abs(g.mean(axis=0) - exact) / se
    assert z.max() < 5, (method, z.max())
    assert np.abs(g.mean(axis=0) - exact).max() < 0.2 * np.abs(exact).max()


def test_readout_leaves_the_recurrent_weights_alone():
    net = _net(2, 4, 2, 2, 1.0)
    x, y = _data(5, 2, 2, 2, "mse")
    assert not _run("readout", net, x, y, "mse").any()


@pytest.mark.parametrize("method, lr", [("dni", 1e-2), ("dnib", 1e-2), ("kernl", 1e6)])
def test_the_learned_parts_learn(method, lr):
    """DNI's synthetic gradient fits its bootstrapped target, KeRNL's kernel the perturbations' effect (whose
    squared size is sigma^2 = 1e-10, hence its rate): along a stream with the network fixed, each one's own
    regression error ends well below the same method's with its learning rate at zero."""
    def last_errors(rate):
        net = _net(1, 8, 2, 2, 0.5)
        x, y = _data(5000, 1, 2, 2, "mse")
        fb = np.random.default_rng(5).normal(0, 0.7, (1, 2, 8))
        alg = st.make_method(method, net, np.random.default_rng(7), lr=rate, feedback=fb)
        errors = []
        for t in range(len(x)):
            alg.grad(net, st.forward_step(net, x[t], y[t], "mse"))
            errors.append(alg.error)
        return np.mean(errors[-1000:])

    learned, fixed = last_errors(lr), last_errors(0.0)
    assert learned < 0.8 * fixed, (learned, fixed)


def test_add_stream_is_their_definition():
    x, y, p = tk.add_stream(400, 3, np.random.default_rng(0), (2, 5), tau_task=2, deterministic=False)
    b = x[::2, :, 0]                                                      # one draw every tau_task steps
    np.testing.assert_array_equal(x[1::2], x[::2])
    want = 0.5 + 0.5 * b[5 - 2:-2] - 0.25 * b[:-5]
    np.testing.assert_allclose(p[::2, :, 0][5:], want)
    np.testing.assert_array_equal(x[..., 1], 1 - x[..., 0])
    assert set(np.unique(y)) == {0.0, 1.0} and abs(y[..., 0].mean() - p[..., 0].mean()) < 0.05
    assert tk.add_lags(5) == (6, 10)
    _, y, p = tk.add_stream(50, 2, np.random.default_rng(0), (2, 5))
    np.testing.assert_array_equal(y, p)                                   # their jobs: the label is p_t


def test_mimic_target_scaling_and_stream():
    for d in (0, 9):
        tgt = tk.mimic_target(d)
        np.testing.assert_allclose(np.linalg.svd(tgt["W_rec"], compute_uv=False), 0.5 + 0.1 * d, rtol=1e-12)
    x, y, _ = tk.mimic_stream(50, 2, np.random.default_rng(0), tk.mimic_target(3))
    assert x.shape == (50, 2, 2) and y.shape == (50, 2, 2) and set(np.unique(x)) <= {0.0, 1.0}
    tgt = tk.mimic32_target(0.5)
    x, y, _ = tk.mimic_stream(6, 1, np.random.default_rng(0), tgt, tau_task=2)
    np.testing.assert_array_equal(x[1::2], x[::2])                        # inputs held two steps
    a = np.zeros(32)
    for t in range(6):                                                    # the target's leak is alpha = 0.5
        a = 0.5 * a + 0.5 * np.tanh(tgt["W_rec"] @ a + tgt["W_in"] @ x[t, 0] + tgt["b_rec"])
        np.testing.assert_allclose(y[t, 0], tgt["W_out"] @ a + tgt["b_out"], rtol=1e-12)


def test_run_stream_learns_and_refuses_bad_input():
    res = st.run_stream("rtrl", "add", 0, seeds=[0, 1], setting=st.Setting(H=8, steps=4000, lr=1e-2), every=1000)
    assert res["loss"].shape == (2, 4) and not res["diverged"].any()
    assert res["loss"][:, -1].mean() < res["levels"]["first_lag"]          # the lag-1 bit, at least, learned
    with pytest.raises(ValueError, match="method"):
        st.run_stream("bptt", "add", 0, seeds=[0])
    with pytest.raises(ValueError, match="difficulty"):
        st.run_stream("rtrl", "add", 10, seeds=[0])
    with pytest.raises(ValueError, match="task"):
        st.run_stream("rtrl", "copy", 1, seeds=[0])
    with pytest.raises(ValueError, match="every"):
        st.run_stream("rtrl", "add", 1, seeds=[0], setting=st.Setting(steps=10), every=20)
    with pytest.raises(ValueError, match="monitors"):
        st.run_stream("rtrl", "add", 1, seeds=[0], monitors=("nope",))
    with pytest.raises(ValueError, match="alpha"):
        st.init_net(1, 2, 2, 2, 0.0, np.random.default_rng(0))
    for bad, field in ((st.Setting(H=0), "setting.H"), (st.Setting(steps=-5), "setting.steps"),
                       (st.Setting(alpha=1.5), "setting.alpha"), (st.Setting(lr=float("nan")), "setting.lr"),
                       (st.Setting(lags=(7, 5)), "setting.lags"), (st.Setting(tau_task=0), "setting.tau_task")):
        with pytest.raises(ValueError, match=field):
            st.run_stream("rflo", "add", 1, seeds=[0], setting=bad)


def test_pairwise_alignment_is_a_cosine_matrix():
    res = st.run_stream("rtrl", "add", 2, seeds=[0, 1, 2], setting=st.Setting(steps=200, alpha=0.5), every=100,
                        monitors=("rtrl", "snap1", "rflo", "uoro"))
    A = res["alignment"]
    assert A.shape == (2, 4, 4)
    np.testing.assert_allclose(np.diagonal(A, axis1=1, axis2=2), 1, rtol=1e-12)
    np.testing.assert_allclose(A, A.transpose(0, 2, 1), atol=1e-12)
    assert np.all(np.abs(A) <= 1 + 1e-12)


@pytest.mark.parametrize("name", ["snap1", "eprop"])
@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_the_compiled_unit_traces_equal_the_reference(name, nonlinearity):
    """SnAp-1's and e-prop's compiled RNN loops give the NumPy reference's gradients (the same sums)."""
    import scratch_rnn as sr
    from scratch_rnn import rtrl
    fn = getattr(rtrl, f"{name}_gradients")
    rng = np.random.default_rng(0)
    p = sr.init_pytorch_default("rnn", 3, 5, rng)
    x, dh, h0 = rng.normal(size=(7, 2, 3)), rng.normal(size=(7, 2, 5)), rng.normal(size=(2, 5))
    ref = fn("rnn", p, x, h0=h0, dh=dh, nonlinearity=nonlinearity).params
    got = fn("rnn", p, x, h0=h0, dh=dh, nonlinearity=nonlinearity, backend="numba").params
    for k in ref:
        np.testing.assert_allclose(got[k], ref[k], rtol=1e-12, atol=1e-14, err_msg=k)
    with pytest.raises(ValueError, match="vanilla RNN only"):
        fn("gru", sr.init_pytorch_default("gru", 3, 5, rng), x, backend="numba")
