"""Stacked and bidirectional models in training: init, both engines, checkpoints, the CLI."""
import csv

import numpy as np
import pytest

import scratch_rnn as sr
from reference import TorchEngine, torch_layer
from scratch_rnn.cli import main
from scratch_rnn.study.specs import RunSpec

SHAPES = [("lstm", 2, True), ("gru", 2, False), ("rnn", 1, True), ("lstm", 3, False)]


def _engines(cell, layers, bi, init="pytorch"):
    sampler, task = sr.get_task("first_bit")
    p0 = sr.init_model(cell, 1, 6, 2, np.random.default_rng(0), init=init, dtype=np.float64, t_max=10,
                       layers=layers, bidirectional=bi)
    copy = lambda: {k: v.copy() for k, v in p0.items()}  # noqa: E731
    return sampler, sr.ScratchEngine(copy(), task, lr=1e-2, clip=1.0), TorchEngine(copy(), task, lr=1e-2, clip=1.0)


@pytest.mark.parametrize("cell,layers,bi", SHAPES)
def test_init_model_writes_the_modules_state_dict(cell, layers, bi):
    p = sr.init_model(cell, 3, 5, 2, np.random.default_rng(0), layers=layers, bidirectional=bi)
    m = torch_layer(cell)(3, 5, num_layers=layers, bidirectional=bi)
    expected = {k: tuple(v.shape) for k, v in m.state_dict().items()}
    expected.update(head_weight=(2, 5 * (2 if bi else 1)), head_bias=(2,))
    assert {k: v.shape for k, v in p.items()} == expected
    assert all(v.dtype == np.float32 for v in p.values())


def test_each_layer_and_direction_gets_the_init():
    p = sr.init_model("lstm", 1, 4, 2, np.random.default_rng(0), init="forget_bias", layers=2, bidirectional=True)
    for sfx in ("_l0", "_l0_reverse", "_l1", "_l1_reverse"):
        assert np.all(p["bias_ih" + sfx][4:8] == 1) and np.all(p["bias_hh" + sfx][4:8] == 0), sfx
    q = sr.init_model("rnn", 1, 4, 2, np.random.default_rng(0), init="orthogonal", layers=2)
    for sfx in ("_l0", "_l1"):
        w = q["weight_hh" + sfx].astype(np.float64)
        assert np.allclose(w @ w.T, np.eye(4), atol=1e-6), sfx
    with pytest.raises(ValueError, match=r"layers: expected an integer >= 1, got 0"):
        sr.init_model("rnn", 1, 4, 2, np.random.default_rng(0), layers=0)


@pytest.mark.slow                       # a training run in each engine
@pytest.mark.parametrize("cell,layers,bi", SHAPES)
def test_stacked_models_train_like_torch(cell, layers, bi):
    """Same initial weights, same batches, Adam + clipping (float64): the same 60 losses and weights."""
    sampler, scratch, torch_ = _engines(cell, layers, bi)
    hs = sr.train(scratch, sampler, 8, 4, 60, np.random.default_rng(5), dtype=np.float64)
    ht = sr.train(torch_, sampler, 8, 4, 60, np.random.default_rng(5), dtype=np.float64)
    assert np.max(np.abs(np.array(hs.loss) - np.array(ht.loss))) <= 1e-9
    assert np.max(np.abs(np.array(hs.grad_norm) - np.array(ht.grad_norm))) <= 1e-9
    pt = torch_.params()
    assert set(pt) == set(scratch.params)
    assert max(np.max(np.abs(scratch.params[k] - pt[k])) for k in pt) <= 1e-8


def test_a_stack_checkpoint_moves_between_engines(tmp_path):
    sampler, scratch, torch_ = _engines("lstm", 2, True)
    straight = _engines("lstm", 2, True)[1]
    h_straight = sr.train(straight, sampler, 8, 4, 20, np.random.default_rng(9), dtype=np.float64)
    rng = np.random.default_rng(9)
    h = sr.train(scratch, sampler, 8, 4, 10, rng, dtype=np.float64)
    ck = sr.load_checkpoint(sr.save_checkpoint(tmp_path / "ck", *scratch.state(), {}, 10, rng))
    torch_.load_state(ck["params"], ck["optimizer"])
    sr.train(torch_, sampler, 8, 4, 20, ck["rng"], dtype=np.float64, history=h, start=ck["update"])
    assert np.max(np.abs(np.array(h.loss) - np.array(h_straight.loss))) <= 1e-12


@pytest.mark.slow
def test_sweep_runs_stacked_models(tmp_path):
    out = tmp_path / "sweep"
    assert main(["sweep", "--models", "lstm:pytorch:2:bi", "gru:pytorch", "--lengths", "5", "--seeds", "1",
                 "--updates", "20", "--workers", "1", "--out", str(out)]) == 0
    with open(out / "sweep_summary.csv") as f:
        rows = list(csv.DictReader(f))
    assert [(r["cell"], r["init"]) for r in rows if r["task"] == "xor"] == [("lstm", "pytorch:2:bi"), ("gru", "pytorch")]


def test_gradient_flow_records_refuse_stacks():
    base = dict(experiment="study", task="xor", cell="lstm", init="pytorch", T=5, seed=0, updates=2, lr=1e-3,
                batch=2, clip=1.0, layers=2)
    with pytest.raises(ValueError, match=r"RunSpec.flow: expected False for a stacked or bidirectional model"):
        RunSpec(**base, flow=True)
    assert RunSpec(**base).model == ("lstm", "pytorch:2")
    assert RunSpec(**{**base, "layers": 1}, bidirectional=True).model == ("lstm", "pytorch:1:bi")
    from scratch_rnn.study.commands import gradflow
    with pytest.raises(ValueError, match=r"models: the gradient-flow records are defined for one-layer models, "
                                         r"got \['lstm:pytorch:2:bi'\]"):
        gradflow(None, "xor", [("lstm", "pytorch", 2, True)], 5, 2)
    _, _, torch_ = _engines("gru", 2, False)
    with pytest.raises(ValueError, match="profile: the torch engine records gradient profiles of one-layer models"):
        torch_.profile(np.zeros((4, 2, 1)), np.zeros(2, dtype=np.int64))
