"""Training stack: losses, optimisers, clipping, inits, tasks, the loop, checkpoints, parity with torch."""
import json
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import scratch_rnn as sr
from reference import TorchEngine
from scratch_rnn.gradcheck import max_rel_error


# ---------------------------------------------------------------- losses and head
def test_cross_entropy_matches_torch(rng):
    logits = rng.standard_normal((7, 3)) * 3
    y = rng.integers(0, 3, 7)
    loss, d = sr.softmax_cross_entropy(logits, y)
    t = torch.from_numpy(logits).requires_grad_()
    ref = F.cross_entropy(t, torch.from_numpy(y))
    ref.backward()
    assert abs(loss - ref.item()) <= 1e-15
    assert max_rel_error(d, t.grad.numpy()) <= 1e-14


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_extreme_logits(dtype):
    logits = np.array([[1000.0, -1000.0], [-1000.0, 1000.0], [1000.0, 1000.0]], dtype=dtype)
    y = np.array([1, 1, 0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, d = sr.softmax_cross_entropy(logits, y)
    ref = F.cross_entropy(torch.from_numpy(logits.astype(np.float64)), torch.from_numpy(y)).item()
    assert np.isfinite(loss) and abs(loss - ref) <= 1e-5 * ref
    assert np.isfinite(d).all() and d.dtype == dtype


def test_cross_entropy_bad_labels():
    with pytest.raises(ValueError, match=r"y: expected labels in \[0, 2\), got values in \[0, 2\]"):
        sr.softmax_cross_entropy(np.zeros((2, 2)), np.array([0, 2]))
    with pytest.raises(TypeError, match="y: expected an integer array"):
        sr.softmax_cross_entropy(np.zeros((2, 2)), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"y: expected shape \(B,\) = \(2,\), got \(3,\)"):
        sr.softmax_cross_entropy(np.zeros((2, 2)), np.array([0, 1, 1]))


def test_mse_and_linear_head_match_torch(rng):
    W, b, h = rng.standard_normal((3, 5)), rng.standard_normal(3), rng.standard_normal((4, 5))
    target = rng.standard_normal((4, 3))
    out, cache = sr.linear_forward(W, b, h)
    loss, dout = sr.mse_loss(out, target)
    dW, db, dh = sr.linear_backward(cache, dout)
    tW, tb, th = (torch.from_numpy(a).requires_grad_() for a in (W, b, h))
    ref = F.mse_loss(F.linear(th, tW, tb), torch.from_numpy(target))
    ref.backward()
    assert abs(loss - ref.item()) <= 1e-14
    for ours, theirs in ((dW, tW), (db, tb), (dh, th)):
        assert max_rel_error(ours, theirs.grad.numpy()) <= 1e-14


# ---------------------------------------------------------------- optimisers
def _torch_optimiser_run(kind, kw, params, grads_seq):
    tp = [torch.from_numpy(p.copy()).requires_grad_() for p in params.values()]
    opt = (torch.optim.Adam if kind == "adam" else torch.optim.SGD)(tp, **kw)
    for grads in grads_seq:
        for p, g in zip(tp, grads.values()):
            p.grad = torch.from_numpy(g.copy())
        opt.step()
    return [p.detach().numpy() for p in tp]


@pytest.mark.parametrize("kind,kw", [
    ("adam", {}), ("adam", {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1}),
    ("sgd", {"lr": 0.1}), ("sgd", {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01}),
])
def test_optimisers_match_torch(kind, kw, rng):
    params = {"a": rng.standard_normal((3, 4)), "b": rng.standard_normal(5)}
    grads_seq = [{k: rng.standard_normal(v.shape) for k, v in params.items()} for _ in range(25)]
    expected = _torch_optimiser_run(kind, kw, params, grads_seq)
    ours = {k: v.copy() for k, v in params.items()}
    opt = sr.Adam(ours, **kw) if kind == "adam" else sr.SGD(ours, **kw)
    for grads in grads_seq:
        opt.step(grads)
    for a, e in zip(ours.values(), expected):
        np.testing.assert_allclose(a, e, rtol=0, atol=1e-14)


def test_optimiser_rejects_bad_arguments():
    p = {"a": np.zeros(3)}
    with pytest.raises(ValueError, match="lr: expected a finite number > 0, got -1"):
        sr.Adam(p, lr=-1)
    with pytest.raises(ValueError, match="betas: expected two numbers in"):
        sr.Adam(p, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match=r"grads: expected keys \['a'\], got \['b'\]"):
        sr.Adam(p).step({"b": np.zeros(3)})
    with pytest.raises(ValueError, match=r"grads\['a'\]: expected shape \(3,\)"):
        sr.SGD(p, lr=0.1).step({"a": np.zeros(4)})


@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_matches_torch(max_norm, rng):
    grads = {"a": rng.standard_normal((3, 4)), "b": rng.standard_normal(5)}
    tg = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads.values()]
    for t, g in zip(tg, grads.values()):
        t.grad = torch.from_numpy(g.copy())
    ref = torch.nn.utils.clip_grad_norm_(tg, max_norm).item()
    norm = sr.clip_grad_norm(grads, max_norm)
    assert abs(norm - ref) <= 1e-14 * ref
    for g, t in zip(grads.values(), tg):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=0, atol=1e-15)


# ---------------------------------------------------------------- initialisations
def test_orthogonal_recurrent_is_orthogonal(rng):
    for cell in ("rnn", "lstm"):
        p = sr.init_orthogonal_recurrent(sr.init_pytorch_default(cell, 2, 16, rng), rng)
        G = 4 if cell == "lstm" else 1
        for q in range(G):
            W = p["weight_hh"][q * 16:(q + 1) * 16]
            np.testing.assert_allclose(W.T @ W, np.eye(16), atol=1e-12)


def test_identity_recurrent(rng):
    p = sr.init_identity_recurrent(sr.init_pytorch_default("rnn", 2, 8, rng))
    np.testing.assert_array_equal(p["weight_hh"], np.eye(8))
    assert not p["bias_ih"].any() and not p["bias_hh"].any()
    with pytest.raises(ValueError, match="expected an RNN's"):
        sr.init_identity_recurrent(sr.init_pytorch_default("lstm", 2, 8, rng))


def test_forget_bias_sets_the_forget_preactivation(rng):
    H = 6
    p = sr.init_forget_bias(sr.init_pytorch_default("lstm", 1, H, rng), 2.0)
    np.testing.assert_array_equal(p["bias_ih"][H:2 * H] + p["bias_hh"][H:2 * H], 2.0)
    # at zero input and zero state the forget gate is exactly sigmoid(2)
    _, _, cache = sr.lstm_forward(p, np.zeros((1, 1, 1)))
    np.testing.assert_allclose(cache.gates[0, 1], 1 / (1 + np.exp(-2.0)), rtol=1e-15)


def test_chrono_biases(rng):
    H, t_max = 200, 50
    p = sr.init_chrono(sr.init_pytorch_default("lstm", 1, H, rng), t_max, rng)
    b_f = p["bias_ih"][H:2 * H] + p["bias_hh"][H:2 * H]
    b_i = p["bias_ih"][:H] + p["bias_hh"][:H]
    assert b_f.min() >= 0 and b_f.max() <= np.log(t_max - 1)
    np.testing.assert_array_equal(b_i, -b_f)
    assert b_f.std() > 0.3                                       # spread, not a constant
    with pytest.raises(ValueError, match="t_max: expected a number > 2"):
        sr.init_chrono(p, 1, rng)


# ---------------------------------------------------------------- tasks
def test_temporal_xor_is_the_notebook_task(rng):
    x, y = sr.temporal_xor(20, 500, rng)
    assert x.shape == (20, 500, 1) and x.dtype == np.float32 and y.dtype == np.int64
    assert set(np.unique(x[0])) <= {0.0, 1.0} and set(np.unique(x[-1])) <= {0.0, 1.0}
    np.testing.assert_array_equal(y, (x[0, :, 0] != x[-1, :, 0]))
    assert (x[1:-1] >= 0).all() and (x[1:-1] < 1).all() and 0.4 < y.mean() < 0.6
    x2, y2 = sr.first_bit(20, 500, np.random.default_rng(12345))
    np.testing.assert_array_equal(x2, x)                         # the same sequences
    np.testing.assert_array_equal(y2, x[0, :, 0])


def test_adding_problem(rng):
    x, y = sr.adding(30, 100, rng)
    assert x.shape == (30, 100, 2) and y.shape == (100, 1)
    assert (x[:, :, 1].sum(axis=0) == 2).all()
    assert (x[:15, :, 1].sum(axis=0) == 1).all()                 # one marker in each half
    np.testing.assert_allclose(y[:, 0], (x[:, :, 0] * x[:, :, 1]).sum(axis=0), rtol=1e-6)


def test_task_bad_input(rng):
    with pytest.raises(ValueError, match="T: expected an integer >= 2, got 1"):
        sr.temporal_xor(1, 4, rng)
    with pytest.raises(ValueError, match="task: expected one of"):
        sr.get_task("copy")


# ---------------------------------------------------------------- the loop
def _engines(cell, dtype=np.float64, clip=1.0, lr=1e-2, H=16, task="xor", init="pytorch"):
    sampler, t = sr.get_task(task)
    p0 = sr.init_model(cell, t.input_size, H, t.outputs, np.random.default_rng(1), init=init, dtype=dtype)
    scratch = sr.ScratchEngine({k: v.copy() for k, v in p0.items()}, t, lr=lr, clip=clip)
    torch_ = TorchEngine({k: v.copy() for k, v in p0.items()}, t, lr=lr, clip=clip)
    return sampler, scratch, torch_


@pytest.mark.slow                       # a training run in each engine
@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_trajectory_parity_with_torch(cell):
    """Same initial weights, same batches, Adam + clipping: the same 300 losses and final weights."""
    sampler, scratch, torch_ = _engines(cell, task="first_bit")
    hs = sr.train(scratch, sampler, 12, 8, 300, np.random.default_rng(5), dtype=np.float64, profile_at=[0, 299])
    ht = sr.train(torch_, sampler, 12, 8, 300, np.random.default_rng(5), dtype=np.float64, profile_at=[0, 299])
    assert np.max(np.abs(np.array(hs.loss) - np.array(ht.loss))) <= 1e-9
    assert np.max(np.abs(np.array(hs.grad_norm) - np.array(ht.grad_norm))) <= 1e-9
    pt = torch_.params()
    assert max(np.max(np.abs(scratch.params[k] - pt[k])) for k in pt) <= 1e-8
    for u in (0, 299):
        for q in hs.profiles[u]:
            assert max_rel_error(hs.profiles[u][q], ht.profiles[u][q]) <= 1e-9
    assert np.mean(hs.loss[-50:]) < 0.5 * np.mean(hs.loss[:50])  # and it learned the task


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_same_seed_same_history_bit_for_bit(cell):
    runs = []
    for _ in range(2):
        sampler, scratch, torch_ = _engines(cell, dtype=np.float32)
        runs.append([sr.train(e, sampler, 10, 8, 30, np.random.default_rng(3), profile_at=[29]).to_dict()
                     for e in (scratch, torch_)])
    assert runs[0] == runs[1]


def test_profile_shapes_and_meaning():
    sampler, scratch, _ = _engines("lstm")
    h = sr.train(scratch, sampler, 15, 8, 3, np.random.default_rng(0), dtype=np.float64, profile_at=[1])
    assert set(h.profiles) == {1} and h.profiles[1]["h"].shape == (15,) and h.profiles[1]["c"].shape == (15,)
    assert len(h.loss) == len(h.accuracy) == len(h.grad_norm) == 3


def test_divergence_names_update_and_keeps_last_good_state():
    sampler, scratch, _ = _engines("rnn", task="adding", dtype=np.float32, clip=None)

    def poisoned(T, B, rng, dtype):
        x, y = sampler(T, B, rng, dtype=dtype)
        if poisoned.calls == 3:
            y = y * np.float32(1e30)                             # (out - y)^2 overflows float32
        poisoned.calls += 1
        return x, y
    poisoned.calls = 0
    before = {}
    with pytest.raises(sr.TrainingDiverged, match="update 3: loss is not finite") as err:
        class Spy:  # remember the parameters before each update
            def __getattr__(self, name):
                return getattr(scratch, name)

            def step(self, x, y, update, want_profile=False):
                before.update({k: v.copy() for k, v in scratch.params.items()})
                return scratch.step(x, y, update, want_profile)
        sr.train(Spy(), poisoned, 6, 4, 10, np.random.default_rng(0))
    assert err.value.update == 3 and err.value.tensor == "loss" and len(err.value.history.loss) == 3
    for k in before:
        np.testing.assert_array_equal(scratch.params[k], before[k])


# ---------------------------------------------------------------- checkpoints
def test_checkpoint_round_trip_and_resume(tmp_path):
    def fresh():
        sampler, scratch, _ = _engines("lstm", dtype=np.float64)
        return sampler, scratch
    sampler, straight = fresh()
    h_straight = sr.train(straight, sampler, 8, 4, 40, np.random.default_rng(9), dtype=np.float64)

    sampler, first = fresh()
    rng = np.random.default_rng(9)
    h = sr.train(first, sampler, 8, 4, 20, rng, dtype=np.float64)
    params, opt = first.state()
    path = sr.save_checkpoint(tmp_path / "ckpt", params, opt, {"cell": "lstm", "T": 8}, 20, rng)
    ck = sr.load_checkpoint(path, expected_params=params)
    for k in params:
        np.testing.assert_array_equal(ck["params"][k], params[k])
        assert ck["params"][k].dtype == params[k].dtype
    assert ck["update"] == 20 and ck["config"] == {"cell": "lstm", "T": 8}

    sampler, resumed = fresh()
    resumed.load_state(ck["params"], ck["optimizer"])
    sr.train(resumed, sampler, 8, 4, 40, ck["rng"], dtype=np.float64, history=h, start=ck["update"])
    assert h.loss == h_straight.loss
    for k in params:
        np.testing.assert_array_equal(resumed.params[k], straight.params[k])


def test_checkpoint_errors(tmp_path):
    _, scratch, _ = _engines("rnn")
    params, opt = scratch.state()
    path = sr.save_checkpoint(tmp_path / "c.npz", params, opt, {}, 0, np.random.default_rng(0))
    z = dict(np.load(path))
    np.savez(tmp_path / "v.npz", **{**z, "format_version": np.asarray(99)})
    with pytest.raises(ValueError, match=r"expected format_version in \(1, 2\), got 99"):
        sr.load_checkpoint(tmp_path / "v.npz")
    np.savez(tmp_path / "m.npz", **{k: v for k, v in z.items() if k != "update"})
    with pytest.raises(ValueError, match="expected key 'update', missing"):
        sr.load_checkpoint(tmp_path / "m.npz")
    wrong = {**params, "weight_hh": np.zeros((3, 3))}
    with pytest.raises(ValueError, match=r"parameter 'weight_hh': expected shape \(3, 3\)"):
        sr.load_checkpoint(path, expected_params=wrong)


# ---------------------------------------------------------------- the engine interface
def test_both_engines_implement_the_engine_protocol():
    _, scratch, torch_ = _engines("lstm")
    for e in (scratch, torch_):
        assert isinstance(e, sr.Engine), type(e).__name__
    assert not isinstance(object(), sr.Engine)


@pytest.mark.parametrize("first,second", [("scratch", "scratch"), ("torch", "torch"), ("scratch", "torch"),
                                          ("torch", "scratch")])
@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_checkpoint_resumes_on_either_engine(first, second, optimizer, tmp_path):
    """20 updates on one engine, a checkpoint, 20 more on another (float64): the same losses and
    parameters as 40 updates straight through."""
    sampler, task = sr.get_task("first_bit")
    p0 = sr.init_model("lstm", 1, 6, 2, np.random.default_rng(1), dtype=np.float64)

    def engine(kind):
        p = {k: v.copy() for k, v in p0.items()}
        if kind == "scratch":
            e = sr.ScratchEngine(p, task, lr=1e-2, clip=1.0, optimizer=optimizer)
            if optimizer == "sgd":
                e.optimizer = sr.SGD(e.params, lr=1e-2, momentum=0.9)
            return e
        e = TorchEngine(p, task, lr=1e-2, clip=1.0, optimizer=optimizer)
        if optimizer == "sgd":
            e.optimizer = torch.optim.SGD(e.model.parameters(), lr=1e-2, momentum=0.9)
        return e

    straight = engine(first)
    h_straight = sr.train(straight, sampler, 8, 4, 40, np.random.default_rng(9), dtype=np.float64)
    a = engine(first)
    rng = np.random.default_rng(9)
    h = sr.train(a, sampler, 8, 4, 20, rng, dtype=np.float64)
    path = sr.save_checkpoint(tmp_path / "ck", *a.state(), {"engine": first}, 20, rng)
    ck = sr.load_checkpoint(path)
    b = engine(second)
    b.load_state(ck["params"], ck["optimizer"])
    sr.train(b, sampler, 8, 4, 40, ck["rng"], dtype=np.float64, history=h, start=ck["update"])
    assert np.max(np.abs(np.array(h.loss) - np.array(h_straight.loss))) <= 1e-12
    pa, pb = straight.state()[0], b.state()[0]
    assert max(np.max(np.abs(pa[k] - pb[k])) for k in pa) <= 1e-12


@pytest.mark.parametrize("kind", ["scratch", "torch"])
def test_an_overflowing_update_is_caught_and_undone(kind):
    """Adam at lr 1e38 in float32 makes the parameters inf: the update is undone and named."""
    sampler, task = sr.get_task("xor")
    p0 = sr.init_model("rnn", 1, 4, 2, np.random.default_rng(1), dtype=np.float32)
    e = (sr.ScratchEngine if kind == "scratch" else TorchEngine)({k: v.copy() for k, v in p0.items()}, task, lr=1e38)
    before, opt_before = e.state()
    before = {k: v.copy() for k, v in before.items()}
    with pytest.raises(sr.TrainingDiverged, match=r"update 0: (parameter \w+ after the update|the optimiser's step)") as err:
        sr.train(e, sampler, 5, 4, 3, np.random.default_rng(0))
    assert err.value.update == 0
    after, opt_after = e.state()
    for k in before:
        np.testing.assert_array_equal(after[k], before[k])
    assert opt_after["steps"] == opt_before["steps"] == 0


def test_checkpoint_save_is_atomic(tmp_path, monkeypatch):
    """A crash in the middle of a save leaves the previous checkpoint whole and no stray file."""
    _, scratch, _ = _engines("rnn")
    params, opt = scratch.state()
    path = sr.save_checkpoint(tmp_path / "c.npz", params, opt, {"n": 1}, 5, np.random.default_rng(0))
    good = path.read_bytes()

    def crash(f, **arrays):
        f.write(b"PK\x03\x04 half an archive")
        raise KeyboardInterrupt
    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(KeyboardInterrupt):
        sr.save_checkpoint(path, params, opt, {"n": 2}, 6, np.random.default_rng(0))
    assert path.read_bytes() == good and sorted(p.name for p in tmp_path.iterdir()) == ["c.npz"]
    monkeypatch.undo()
    assert sr.load_checkpoint(path)["update"] == 5


@pytest.mark.parametrize("kind,message", [
    ("missing", "no such file"), ("directory", "expected a file, got a directory"),
    ("empty", "not a checkpoint .* this file is empty"), ("text", "not a checkpoint .* this file is something else"),
    ("truncated", "not a readable .npz archive"), ("npy", "not a checkpoint .* this file is a single .npy array"),
])
def test_checkpoint_load_errors_name_the_path(kind, message, tmp_path):
    _, scratch, _ = _engines("rnn")
    good = sr.save_checkpoint(tmp_path / "good.npz", *scratch.state(), {}, 0, np.random.default_rng(0))
    path = tmp_path / f"{kind}.npz"
    if kind == "directory":
        path.mkdir()
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("not a checkpoint\n")
    elif kind == "truncated":
        path.write_bytes(good.read_bytes()[:300])
    elif kind == "npy":
        with open(path, "wb") as f:
            np.save(f, np.zeros(3))
    with pytest.raises(ValueError, match=f"checkpoint {path}: {message}"):
        sr.load_checkpoint(path)


@pytest.mark.parametrize("bitgen", ["PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64"])
def test_checkpoint_keeps_every_standard_bit_generator_and_numpy_scalars(bitgen, tmp_path):
    _, scratch, _ = _engines("rnn")
    rng = np.random.Generator(getattr(np.random, bitgen)(7))
    rng.random(5)
    config = {"T": np.int64(8), "lr": np.float32(0.5), "ok": np.bool_(True), "sizes": [np.int32(3)]}
    ck = sr.load_checkpoint(sr.save_checkpoint(tmp_path / "c", *scratch.state(), config, 3, rng))
    assert ck["config"] == {"T": 8, "lr": 0.5, "ok": True, "sizes": [3]}
    assert type(ck["rng"].bit_generator).__name__ == bitgen
    np.testing.assert_array_equal(ck["rng"].random(10), rng.random(10))


def test_checkpoint_refuses_a_foreign_bit_generator(tmp_path):
    _, scratch, _ = _engines("rnn")
    path = sr.save_checkpoint(tmp_path / "c.npz", *scratch.state(), {}, 0, np.random.default_rng(0))
    z = dict(np.load(path))
    for name in ("seed", "RandomState", "__class__"):
        np.savez(tmp_path / "bad.npz", **{**z, "rng_json": np.asarray(json.dumps({"bit_generator": name}))})
        with pytest.raises(ValueError, match=rf"rng_json: expected a bit generator in .*, got '{name}'"):
            sr.load_checkpoint(tmp_path / "bad.npz")


@pytest.mark.parametrize("kind", ["scratch", "torch"])
def test_load_state_refuses_a_cast_or_a_broadcast(kind):
    _, scratch, torch_ = _engines("rnn")
    e = scratch if kind == "scratch" else torch_
    params, opt = e.state()
    params = {k: v.copy() for k, v in params.items()}
    with pytest.raises(ValueError, match=r"parameter 'weight_hh': expected shape \(16, 16\) and dtype float64, "
                                         r"got \(16, 16\) and float32"):
        e.load_state({**params, "weight_hh": params["weight_hh"].astype(np.float32)}, opt)
    with pytest.raises(ValueError, match=r"parameter 'head_bias': expected shape \(2,\) .* got \(\)"):
        e.load_state({**params, "head_bias": np.float64(0.5)}, opt)
    with pytest.raises(ValueError, match=r"missing: \['bias_hh'\]"):
        e.load_state({k: v for k, v in params.items() if k != "bias_hh"}, opt)


def test_checkpoint_carries_the_history(tmp_path):
    sampler, scratch, _ = _engines("rnn")
    rng = np.random.default_rng(2)
    h = sr.train(scratch, sampler, 6, 4, 7, rng, dtype=np.float64, profile_at=[3])
    ck = sr.load_checkpoint(sr.save_checkpoint(tmp_path / "c", *scratch.state(), {}, 7, rng, history=h))
    assert ck["history"].to_dict() == h.to_dict()


def test_runaway_loss_is_flagged():
    h = sr.History(loss=[0.7, 0.6, 5.0, 8.0, 0.1], accuracy=[0.5] * 5, grad_norm=[1.0] * 5)
    assert h.runaway_at(10.0) == 3 and h.runaway_at(20.0) is None


@pytest.mark.slow                       # a training run in each engine
def test_gru_trains_like_torch():
    """The GRU in the training stack: the same 100 losses as the torch engine (float64)."""
    sampler, scratch, torch_ = _engines("gru", task="first_bit")
    hs = sr.train(scratch, sampler, 10, 8, 100, np.random.default_rng(5), dtype=np.float64, profile_at=[0, 99])
    ht = sr.train(torch_, sampler, 10, 8, 100, np.random.default_rng(5), dtype=np.float64, profile_at=[0, 99])
    assert np.max(np.abs(np.array(hs.loss) - np.array(ht.loss))) <= 1e-9
    for u in (0, 99):
        assert max_rel_error(hs.profiles[u]["h"], ht.profiles[u]["h"]) <= 1e-9
