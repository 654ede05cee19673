"""The online-learning experiment (`scratch_rnn.online`): alignment with the exact gradient, online
training with each method, cost, the tasks with a loss at every step, and the command end to end."""
import numpy as np
import pytest

from scratch_rnn.cells import CELLS
from scratch_rnn.gradcheck import max_rel_error, random_problem
from scratch_rnn.rtrl import (eprop_gradients, rflo_gradients)
from scratch_rnn.online import experiment
from scratch_rnn.online.measure import alignment, cost, train_online

CASES = [("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"), ("gru", "tanh")]


# --- alignment, online training and cost (scratch_rnn.online.measure, the online command) -------------------


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_alignment_is_one_for_the_exact_gradient_and_below_for_the_approximations(cell):
    a = alignment(cell, "xor", 8, 6, seed=3, B=4)
    assert abs(a["rtrl"][0] - 1) < 1e-12 and abs(a["rtrl"][1] - 1) < 1e-12
    assert a["snap1"][0] < 1 - 1e-6                      # H > 1: SnAp-1 drops influence, so it is not exact
    assert -1 <= a["uoro"][0] <= 1 and a["uoro"][1] > 0


def test_alignment_does_not_depend_on_the_dtype():
    a64 = alignment("gru", "first_bit", 8, 6, seed=2, B=4)
    a32 = alignment("gru", "first_bit", 8, 6, seed=2, B=4, dtype=np.float32)
    assert abs(a32["snap1"][0] - a64["snap1"][0]) < 1e-5 and abs(a32["rtrl"][0] - 1) < 1e-6


def test_snap1_aligns_exactly_with_one_unit():
    cos, ratio = alignment("lstm", "first_bit", 7, 1, seed=0, B=3)["snap1"]
    assert abs(cos - 1) < 1e-12 and abs(ratio - 1) < 1e-12


def test_online_training_with_rtrl_is_training_with_bptt():
    """RTRL's gradient is BPTT's, so the two runs follow the same path (to rounding, compounded by Adam)."""
    a = train_online("bptt", "gru", "first_bit", 6, 4, seed=1, updates=12, B=8, every=4)
    b = train_online("rtrl", "gru", "first_bit", 6, 4, seed=1, updates=12, B=8, every=4)
    assert [r["update"] for r in a] == [0, 4, 8, 12]
    np.testing.assert_allclose([r["loss"] for r in b], [r["loss"] for r in a], rtol=1e-9)
    assert a[-1]["loss"] != a[0]["loss"]                  # it did train


def test_online_training_uses_the_methods_own_gradient():
    """The path depends on the method: SnAp-1's updates are not BPTT's."""
    a = train_online("bptt", "rnn", "first_bit", 6, 4, seed=1, updates=8, B=8, every=8)
    s = train_online("snap1", "rnn", "first_bit", 6, 4, seed=1, updates=8, B=8, every=8)
    assert a[0]["loss"] == s[0]["loss"] and a[-1]["loss"] != s[-1]["loss"]


def test_cost_reports_time_and_memory_and_refuses_unknown_methods():
    sec, peak = cost("rtrl", "rnn", 20, 8)
    assert sec > 0 and peak > 8 * 8 * (8 * 10)            # at least the (B, S, P) influence of W_hh in float64
    with pytest.raises(ValueError, match="method: expected one of"):
        cost("kf", "rnn", 20, 8)
    with pytest.raises(ValueError, match="method: expected one of"):
        train_online("kf", "rnn", "xor", 5, 4, 0, 1)
    with pytest.raises(ValueError, match="kfrtrl, rflo for the RNN only"):
        train_online("rflo", "lstm", "xor", 5, 4, 0, 1)
    with pytest.raises(ValueError, match="kfrtrl, rflo for the RNN only"):
        cost("rflo", "gru", 5, 4)
    assert "rflo" in alignment("rnn", "xor", 5, 3, seed=0, B=2) and "rflo" not in alignment("gru", "xor", 5, 3, 0, B=2)


@pytest.mark.slow
def test_the_online_command_writes_its_tables_and_resumes(tmp_path):
    import json
    import subprocess
    import sys
    out = tmp_path / "online"
    run = [sys.executable, "-m", "scratch_rnn.cli", "online", "--quick", "--out", str(out), "--figures",
           str(tmp_path / "figs"), "--workers", "2"]
    subprocess.run(run, capture_output=True, text=True, timeout=300, check=True)
    for name in ("online.json", "online.md", "online_alignment.csv", "online_learning.csv", "online_cost.csv",
                 "online_learning.png", "online_cost.png"):
        assert (out / name).stat().st_size > 0
    assert (tmp_path / "figs" / "online_cost.png").stat().st_size > 0
    report = json.loads((out / "online.json").read_text())
    assert not report["failures"] and report["meta"]["jobs"] == len(experiment.jobs(experiment.QUICK_ONLINE))
    assert all(abs(r["cosine"] - 1) < 1e-9 for r in report["alignment"] if r["method"] == "rtrl")
    lines = (out / "runs.jsonl").read_text().count("\n")
    again = subprocess.run(run, capture_output=True, text=True, timeout=300, check=True)
    assert (out / "runs.jsonl").read_text().count("\n") == lines and "failed" not in again.stdout  # nothing run twice


def test_the_online_jobs_and_their_report(tmp_path):
    """Every job of the protocols is valid for its cell; a handful run here and reported: tables, figures, text."""
    from scratch_rnn.online import report
    full = experiment.jobs(experiment.ONLINE)
    assert {j.method for j in full if isinstance(j, experiment.LearnJob) and j.cell == "lstm"} == \
        {"bptt", "readout", "snap1", "eprop", "uoro"}
    assert not [j for j in full if isinstance(j, experiment.CostJob) and j.method == "rtrl" and j.cell == "lstm"
                and j.H == 128]                             # the dense einsum's hours are left out, rtrl_numba kept
    with pytest.raises(ValueError, match="LearnJob.method: expected 'bptt', 'readout' or one of"):
        experiment.LearnJob("kfrtrl", "gru", "add", 12, 0, 4, 2, 2, 1e-2, 1)
    with pytest.raises(ValueError, match="AlignJob.T: expected an integer >= 1"):
        experiment.AlignJob("rnn", "add", 0, 0, 4, 2)
    with pytest.raises(ValueError, match="task: expected one of"):
        experiment.AlignJob("rnn", "sine", 10, 0, 4, 2)
    jobs = [experiment.AlignJob("rnn", "add", 12, 0, 4, 3), experiment.LearnJob("uoro", "rnn", "first_bit", 6, 0, 4, 3, 4, 1e-2, 2),
            experiment.CostJob("tbptt", "lstm", 4, 12, 5), experiment.CostJob("snap1", "lstm", 4, 12, 5)]
    results = [(j, experiment.run_job(j)) for j in jobs]
    meta = {"command_line": "scratch-rnn online", "jobs": 4, "job_seconds": 0.1, "seconds": 0.1}
    res = report.build(tmp_path, results, [], meta)
    assert {r["method"] for r in res["alignment"]} == {"rtrl", "snap1", "eprop", "uoro", "kfrtrl", "rflo"}
    assert [r["update"] for r in res["learning"]] == [0, 2, 4]
    assert all(r["seconds_per_step"] > 0 and r["peak_bytes"] > 0 for r in res["cost"])
    text = (tmp_path / "online.md").read_text()
    assert "| rnn | add | 12 | kfrtrl |" in text and "| lstm | 4 | 12 | tbptt |" in text
    assert (tmp_path / "online_learning.png").stat().st_size > 0 and (tmp_path / "online_cost.png").stat().st_size > 0



# --- Marschall et al.'s tasks (scratch_rnn.online.tasks) and truncated BPTT's cost --------------------------------


def test_the_add_task_follows_its_definition():
    from scratch_rnn.online.tasks import LAGS, add_levels, add_task
    t1, t2 = LAGS
    x, y = add_task(40, 5, np.random.default_rng(0))
    b = x[:, :, 0]
    assert np.array_equal(x[:, :, 1], 1 - b) and set(np.unique(b)) == {0.0, 1.0}
    assert np.all(y[:t2] == 0)
    for t in range(t2, 40):
        np.testing.assert_array_equal(y[t, :, 0], 0.5 + 0.5 * b[t - t1] - 0.25 * b[t - t2])
    np.testing.assert_array_equal(y[t2:].sum(axis=2), 1)
    lv = add_levels()
    assert lv["nothing"] == pytest.approx(0.6616, abs=1e-4) and lv["first_lag"] == pytest.approx(0.5192, abs=1e-4)
    assert lv["both_lags"] == pytest.approx(0.4545, abs=1e-4)
    with pytest.raises(ValueError, match="T: expected more than t2"):
        add_task(t2, 2, np.random.default_rng(0))


def test_the_mimic_task_has_one_target_network():
    from scratch_rnn.online.tasks import mimic_task
    x1, y1 = mimic_task(6, 3, np.random.default_rng(1))
    x2, y2 = mimic_task(6, 3, np.random.default_rng(1))
    _, y3 = mimic_task(6, 3, np.random.default_rng(2))
    assert np.array_equal(y1, y2) and not np.array_equal(y1, y3) and y1.shape == (6, 3, 2)
    seq = np.concatenate([x1, x1], axis=1)                  # the same inputs give the same targets
    from scratch_rnn.online.tasks import _target_rnn
    net = _target_rnn()
    h, _, _ = CELLS["rnn"].forward({k: v for k, v in net.items() if k != "out"}, seq)
    np.testing.assert_allclose(h[:, :3] @ net["out"].T, y1, rtol=1e-12)


@pytest.mark.parametrize("task", ["add", "mimic"])
def test_the_per_step_loss_gradients_against_finite_differences(task):
    from scratch_rnn.online.tasks import get_step_task, step_loss
    from scratch_rnn.training.model import init_model
    sampler, spec = get_step_task(task)
    rng = np.random.default_rng(3)
    params = init_model("gru", spec.input_size, 3, spec.outputs, rng, dtype=np.float64)
    x, y = sampler(11, 2, rng, np.float64)
    exact, _, _, head, _ = step_loss(params, spec, x, y)
    for name, idx, grad in (("weight_hh", (1, 2), exact), ("head_weight", (0, 1), head), ("bias_ih", (4,), exact)):
        eps = 1e-6
        plus, minus = {k: v.copy() for k, v in params.items()}, {k: v.copy() for k, v in params.items()}
        plus[name][idx] += eps
        minus[name][idx] -= eps
        fd = (step_loss(plus, spec, x, y)[4] - step_loss(minus, spec, x, y)[4]) / (2 * eps)
        assert grad[name][idx] == pytest.approx(fd, rel=1e-6, abs=1e-10)


def test_alignment_on_the_per_step_tasks():
    a = alignment("rnn", "add", 12, 4, seed=0, B=4)
    assert set(a) == {"rtrl", "snap1", "eprop", "uoro", "kfrtrl", "rflo"}
    assert abs(a["rtrl"][0] - 1) < 1e-12 and abs(a["rtrl"][1] - 1) < 1e-12
    assert abs(a["eprop"][0] - a["rflo"][0]) > 1e-3            # the same trace, but RFLO's error comes back
    #                                                             through a fixed random matrix
    g = alignment("lstm", "mimic", 5, 3, seed=0, B=2)
    assert set(g) == {"rtrl", "snap1", "eprop", "uoro"} and abs(g["rtrl"][0] - 1) < 1e-12


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_truncated_bptt_run_chunk_by_chunk_is_the_chunks_scheme(cell, rng):
    from scratch_rnn import truncated_backward
    from scratch_rnn.online.measure import _chunked_bptt
    prob = random_problem(cell, 11, 2, 2, 3, rng, with_state=False)
    g = _chunked_bptt(CELLS[cell], prob["params"], prob["x"], prob["dh"], 4)
    *_, cache = CELLS[cell].forward(prob["params"], prob["x"])
    ref = truncated_backward(cache, prob["dh"], 4, "chunks")
    assert max(max_rel_error(g[k], ref.params[k]) for k in g) <= 1e-12
    full = CELLS[cell].backward(cache, prob["dh"]).params
    assert max_rel_error(g["weight_hh"], full["weight_hh"]) > 1e-6     # and it is truncated


def test_the_copying_task_with_a_loss_at_every_step():
    from scratch_rnn.online.tasks import copy_task, get_step_task, step_loss
    from scratch_rnn.training.losses import softmax_cross_entropy
    from scratch_rnn.training.model import init_model
    from scratch_rnn.training.tasks import copying
    x, y = copy_task(25, 3, np.random.default_rng(4))
    x0, y0 = copying(5, 3, np.random.default_rng(4), np.float64)
    assert np.array_equal(x, x0) and np.array_equal(y.argmax(axis=2), y0) and np.all(y.sum(axis=2) == 1)
    _, spec = get_step_task("copy")
    params = init_model("rnn", spec.input_size, 4, spec.outputs, np.random.default_rng(0), dtype=np.float64)
    loss = step_loss(params, spec, x, y)[4]
    h, _, _ = CELLS["rnn"].forward({k: v for k, v in params.items() if not k.startswith("head")}, x)
    logits = h @ params["head_weight"].T + params["head_bias"]                  # the hard-label loss, step by step
    assert loss == pytest.approx(float(softmax_cross_entropy(logits.reshape(-1, 9), y0.ravel())[0]), rel=1e-12)
    with pytest.raises(ValueError, match="T: expected a length above 20"):
        copy_task(20, 2, np.random.default_rng(0))


@pytest.mark.parametrize("task,T", [("first_bit", 6), ("add", 12)])
def test_the_learning_signal_is_the_error_sent_back_through_the_head_or_rflos_matrix(task, T):
    """dL/dh_t = dL/dout_t W_head (what every method but RFLO gets); RFLO gets dL/dout_t B with B fixed
    and random, so with B = W_head its gradient is e-prop's (the same trace, for the RNN)."""
    from scratch_rnn.online.measure import _batch, _signal, _task, feedback_matrix
    from scratch_rnn.training.model import init_model, layer_params
    sampler, spec = _task(task)
    rng = np.random.default_rng(2)
    params = init_model("rnn", spec.input_size, 5, spec.outputs, rng, dtype=np.float64)
    x, y = sampler(T, 3, rng, np.float64)
    b = _batch(params, spec, x, y)
    np.testing.assert_allclose(b.dh, b.dout @ params["head_weight"], rtol=1e-12, atol=1e-15)
    fb = feedback_matrix(0, spec.outputs, 5)
    assert fb.shape == (spec.outputs, 5) and np.array_equal(fb, feedback_matrix(0, spec.outputs, 5))
    np.testing.assert_array_equal(_signal("rflo", b, fb), b.dout @ fb)
    assert _signal("eprop", b, fb) is b.dh
    same = rflo_gradients(layer_params(params), x, dh=_signal("rflo", b, params["head_weight"]))
    e = eprop_gradients("rnn", layer_params(params), x, dh=b.dh)
    assert max(max_rel_error(same.params[k], e.params[k]) for k in e.params) <= 1e-12
