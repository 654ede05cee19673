"""The study's building blocks: statistics, gradient-flow analysis, backend parity, the CLI."""
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

import scratch_rnn as sr
from scratch_rnn import gradflow as gf
from scratch_rnn.cli import main
from scratch_rnn.experiments import RunSpec, run_one
from scratch_rnn.stats import wilson


def test_wilson_interval_known_values():
    lo, hi = wilson(0, 5)
    assert lo == 0 and abs(hi - 0.4345) < 1e-3                   # textbook value for 0/5
    lo, hi = wilson(5, 5)
    assert hi == 1 and abs(lo - 0.5655) < 1e-3
    lo, hi = wilson(3, 10)
    assert abs(lo - 0.1078) < 1e-3 and abs(hi - 0.6032) < 1e-3


@pytest.fixture
def xor_batch():
    sampler, task = sr.get_task("xor")
    x, y = sampler(30, 8, np.random.default_rng(0), dtype=np.float64)
    return task, x, y


def test_rnn_jacobian_bound_bounds_the_exact_profile(xor_batch):
    task, x, y = xor_batch
    p = sr.init_model("rnn", 1, 16, 2, np.random.default_rng(1), dtype=np.float64)
    exact = gf.exact_profile(p, task, x, y)["h"]
    bound = gf.jacobian_bound(p, task, x, y)
    assert bound[-1] == pytest.approx(exact[-1], rel=1e-12)      # equal where nothing is multiplied
    assert (bound >= exact * (1 - 1e-12)).all()


def test_lstm_cell_path_and_gates(xor_batch):
    task, x, y = xor_batch
    p = sr.init_model("lstm", 1, 16, 2, np.random.default_rng(1), init="forget_bias", dtype=np.float64)
    exact = gf.exact_profile(p, task, x, y)
    path = gf.cell_path(p, task, x, y)
    assert path[-1] == pytest.approx(exact["c"][-1], rel=1e-12)  # at T-1 the cell path is all of dL/dc
    assert (np.diff(path) >= 0).all()                             # forget gates < 1: it only shrinks backwards
    g = gf.gate_statistics(p, x)
    assert 0.6 < g["forget"].mean() < 0.85                        # sigmoid(1) = 0.73 around zero input


def test_notebook_metric_matches_the_notebooks_torch_loop():
    """The notebook's loop: backward of output[0, t].sum() for each t, norm over parameter grads."""
    from reference import build_model
    p = sr.init_model("lstm", 1, 8, 2, np.random.default_rng(2), dtype=np.float64)
    x = np.random.default_rng(3).random((12, 1, 1))
    model = build_model(p)
    output, _ = model.lstm(torch.from_numpy(x.transpose(1, 0, 2).copy()))
    expected = []
    for t in range(12):
        model.zero_grad()
        output[0, t, :].sum().backward(retain_graph=True)
        expected.append(sum(q.grad.norm().item() ** 2 for q in model.parameters() if q.grad is not None) ** 0.5)
    np.testing.assert_allclose(gf.notebook_metric(p, x), expected, rtol=1e-12)


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_study_runs_agree_across_backends(cell):
    """A study run in float64: scratch and torch give the same history and accuracies."""
    base = dict(task="first_bit", cell=cell, init="pytorch", T=8, seed=0, updates=60, lr=1e-2, batch=16,
                clip=1.0, hidden=8, dtype="float64", eval_every=20, screen_n=64, eval_n=200, flow=True)
    a = run_one(RunSpec(**base, backend="scratch"))
    b = run_one(RunSpec(**base, backend="torch"))
    assert np.max(np.abs(np.array(a["history"]["loss"]) - np.array(b["history"]["loss"]))) <= 1e-9
    assert a["final_accuracy"] == b["final_accuracy"] and a["evals"] == b["evals"]
    for when in ("flow_init", "flow_final"):
        np.testing.assert_allclose(a[when]["h"], b[when]["h"], rtol=1e-9)


def test_cli_help_for_every_subcommand(capsys):
    for cmd in ([], ["gradcheck"], ["bench"], ["reproduce"], ["sweep"], ["gradflow"]):
        with pytest.raises(SystemExit) as e:
            main([*cmd, "--help"])
        assert e.value.code == 0
        assert "usage: scratch-rnn" in capsys.readouterr().out


def test_cli_rejects_cuda_without_gpu(tmp_path, capsys):
    if torch.cuda.is_available():
        pytest.skip("a GPU is present: asking for cuda is valid here")
    code = main(["sweep", "--backend", "torch", "--device", "cuda", "--lengths", "5", "--seeds", "1",
                 "--out", str(tmp_path)])
    assert code == 2
    assert "device: 'cuda' was asked for, but torch sees no CUDA device" in capsys.readouterr().err


def test_cli_rejects_unknown_model(tmp_path):
    with pytest.raises(SystemExit, match="--models: expected CELL:INIT"):
        main(["sweep", "--models", "gru:pytorch", "--out", str(tmp_path)])


def test_gradcheck_command_passes(capsys):
    assert main(["gradcheck", "--backend", "all"]) == 0
    out = capsys.readouterr().out
    assert "all gradients within tolerance" in out and "numba" in out


def test_reproduce_quick_writes_everything(tmp_path):
    """The main job's quick form, end to end, as a user runs it."""
    out = tmp_path / "results"
    proc = subprocess.run([sys.executable, "-m", "scratch_rnn.cli", "reproduce", "--quick", "--out", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for name in ("report.md", "notebook_runs.json", "notebook_summary.csv", "study_runs.json", "study_summary.csv",
                 "figures/notebook_panel.png", "figures/notebook_sweep.png", "figures/notebook_gradflow.png",
                 "figures/success_xor.png", "figures/success_first_bit.png", "figures/gradient_flow.png",
                 "figures/gate_statistics.png"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    runs = json.loads((out / "study_runs.json").read_text())
    assert runs["meta"]["versions"]["numpy"] and runs["meta"]["study_protocol"]["updates"] == 200
    assert all(0 <= r["final_accuracy"] <= 1 for r in runs["runs"])
    report = (out / "report.md").read_text()
    assert "## 2. The calibrated study" in report and "figures/success_xor.png" in report
    assert "Calibrated study:" in proc.stdout


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_torch_engine_on_cuda_matches_cpu():
    from reference import TorchEngine
    sampler, task = sr.get_task("first_bit")
    p = sr.init_model("lstm", 1, 16, 2, np.random.default_rng(0), dtype=np.float64)
    hs = [sr.train(TorchEngine({k: v.copy() for k, v in p.items()}, task, lr=1e-2, clip=1.0, device=d),
                   sampler, 10, 8, 30, np.random.default_rng(1), dtype=np.float64) for d in ("cpu", "cuda")]
    np.testing.assert_allclose(hs[0].loss, hs[1].loss, rtol=1e-9)


@pytest.mark.parametrize("backend", ["scratch", "torch"])
def test_sweep_command_on_each_backend(backend, tmp_path, capsys):
    code = main(["sweep", "--backend", backend, "--tasks", "first_bit", "--models", "rnn:orthogonal", "lstm:chrono",
                 "--lengths", "5", "--seeds", "1", "--updates", "40", "--workers", "1", "--out", str(tmp_path)])
    assert code == 0
    runs = json.loads((tmp_path / "sweep_runs.json").read_text())
    assert runs["meta"]["backend"] == backend and len(runs["runs"]) == 2
    assert (tmp_path / "sweep_first_bit.png").stat().st_size > 0
    assert "LSTM (chrono init)" in capsys.readouterr().out
