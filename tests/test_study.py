"""The study's building blocks: statistics, gradient-flow analysis, specs and records, engine parity, plots
(the commands that run them are in test_cli.py)."""
import json

import numpy as np
import pytest
import torch

import scratch_rnn as sr
from scratch_rnn.study import gradflow as gf
from scratch_rnn.study import plots
from scratch_rnn.study.records import RunRecord
from scratch_rnn.study.runner import run_one
from scratch_rnn.study.specs import reproduce_specs, RunSpec, notebook_specs, study_specs
from scratch_rnn.study.stats import wilson
from scratch_rnn.training.model import exact_profile


def test_wilson_interval_known_values():
    lo, hi = wilson(0, 5)
    assert lo == 0 and abs(hi - 0.4345) < 1e-3                   # textbook value for 0/5
    lo, hi = wilson(5, 5)
    assert hi == 1 and abs(lo - 0.5655) < 1e-3
    lo, hi = wilson(3, 10)
    assert abs(lo - 0.1078) < 1e-3 and abs(hi - 0.6032) < 1e-3


@pytest.mark.parametrize("n", range(1, 60))
def test_wilson_interval_contains_the_estimate_at_the_ends(n):
    for k in (0, n):
        lo, hi = wilson(k, n)
        assert 0 <= lo <= k / n <= hi <= 1
    assert wilson(n, n)[1] == 1.0 and wilson(0, n)[0] == 0.0

@pytest.fixture
def xor_batch():
    sampler, task = sr.get_task("xor")
    x, y = sampler(30, 8, np.random.default_rng(0), dtype=np.float64)
    return task, x, y


def test_rnn_jacobian_bound_bounds_the_exact_profile(xor_batch):
    task, x, y = xor_batch
    p = sr.init_model("rnn", 1, 16, 2, np.random.default_rng(1), dtype=np.float64)
    exact = exact_profile(p, task, x, y)["h"]
    bound = gf.jacobian_bound(p, task, x, y)
    assert bound[-1] == pytest.approx(exact[-1], rel=1e-12)      # equal where nothing is multiplied
    assert (bound >= exact * (1 - 1e-12)).all()


def test_lstm_cell_path_and_gates(xor_batch):
    task, x, y = xor_batch
    p = sr.init_model("lstm", 1, 16, 2, np.random.default_rng(1), init="forget_bias", dtype=np.float64)
    exact = exact_profile(p, task, x, y)
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
    output, _ = model.layer(torch.from_numpy(x.transpose(1, 0, 2).copy()))
    expected = []
    for t in range(12):
        model.zero_grad()
        output[0, t, :].sum().backward(retain_graph=True)
        expected.append(sum(q.grad.norm().item() ** 2 for q in model.parameters() if q.grad is not None) ** 0.5)
    np.testing.assert_allclose(gf.notebook_metric(p, x), expected, rtol=1e-12)


BASE = dict(experiment="study", task="first_bit", init="pytorch", T=8, seed=0, updates=60, lr=1e-2, batch=16,
            clip=1.0, hidden=8, dtype="float64", eval_every=20, screen_n=64, eval_n=200)


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_study_runs_agree_across_engines(cell):
    """A study run in float64: the scratch and torch engines give the same history and accuracies."""
    a = run_one(RunSpec(**BASE, cell=cell, flow=True, engine="scratch"))
    b = run_one(RunSpec(**BASE, cell=cell, flow=True, engine="torch"))
    assert np.max(np.abs(np.array(a.history["loss"]) - np.array(b.history["loss"]))) <= 1e-9
    assert a.final_accuracy == b.final_accuracy and a.evals == b.evals
    for when in ("flow_init", "flow_final"):
        np.testing.assert_allclose(getattr(a, when)["h"], getattr(b, when)["h"], rtol=1e-9)


def test_record_round_trips_through_json():
    rec = run_one(RunSpec(**{**BASE, "updates": 20}, cell="lstm", flow=True))
    back = RunRecord.from_dict(json.loads(json.dumps(rec.to_dict())))
    assert back == rec and isinstance(back.spec, RunSpec)
    with pytest.raises(ValueError, match=r"run record: unexpected keys \['extra'\]"):
        RunRecord.from_dict({**rec.to_dict(), "extra": 1})


def test_a_runaway_run_is_flagged_and_counted():
    """lr 1e6: the loss climbs while every number stays finite; the run is flagged, not stopped."""
    from scratch_rnn.study.tables import study_summary
    recs = [run_one(RunSpec(**{**BASE, "updates": 40, "eval_every": 0, "lr": lr}, cell="rnn")) for lr in (1e6, 1e-2)]
    assert recs[0].runaway_at is not None and recs[0].diverged is None and recs[0].updates == 40
    assert recs[1].runaway_at is None
    assert [row["runaway"] for row in study_summary(recs)] == [1]


def test_regression_run_records_mse_and_succeeds_by_its_threshold():
    spec = dict(BASE, task="adding", eval_every=0, updates=30)
    easy = run_one(RunSpec(**spec, cell="rnn", success_mse=10.0))
    hard = run_one(RunSpec(**spec, cell="rnn", success_mse=1e-9))
    for r in (easy, hard):
        assert r.final_accuracy is None and 0 < r.final_mse < 10 and r.final_metric == r.final_mse
    assert easy.succeeded and not hard.succeeded
    assert easy.final_mse == hard.final_mse                      # same run; only the threshold differs


@pytest.mark.parametrize("field,value,message", [
    ("T", -5, r"RunSpec.T: expected an integer >= 2, got -5"),
    ("experiment", "exp9", r"RunSpec.experiment: expected one of"),
    ("init", "chrono", r"RunSpec.init: expected one of .* for cell 'rnn', got 'chrono'"),
    ("lr", float("nan"), r"RunSpec.lr: expected a finite number > 0"),
    ("device", "cuda", r"RunSpec.device: expected 'cpu' for the scratch engine"),
])
def test_run_spec_checks_every_field(field, value, message):
    with pytest.raises(ValueError, match=message):
        RunSpec(**{**BASE, "cell": "rnn", field: value})


@pytest.mark.parametrize("first_seed", [0, 1, 1000])
def test_a_runs_role_does_not_depend_on_its_seed(first_seed):
    """Which experiment a run belongs to, and what it records, is data: the same for any --seed."""
    nb = notebook_specs("scratch", 2, first_seed=first_seed)
    st = study_specs("scratch", first_seed=first_seed)
    assert {s.seed for s in nb + st} == {first_seed, first_seed + 1} | ({first_seed + k for k in range(5)})
    assert sum(s.experiment == "notebook" for s in nb) == 2 * 2 * 2
    assert sum(s.experiment == "notebook_sweep" for s in nb) == 2 * 2 * 8
    assert [(s.cell, s.T) for s in nb if s.notebook_flow] == [("rnn", 100), ("lstm", 100)]
    assert len([s for s in st if s.flow]) == 2 * 6 and all(s.seed == first_seed for s in st if s.flow)
    arms = reproduce_specs("scratch", first_seed=first_seed)
    for arm in ("direct", "curriculum"):
        flows = [(s.task, s.model, s.T, s.seed) for s in arms[arm] if s.flow]
        assert len(flows) == 2 * 6 and {f[2:] for f in flows} == {(100, first_seed)}, arm
    assert {s.seed for s in arms["direct"] if s.T in (30, 50, 100, 150)} == {first_seed + k for k in range(10)}
    assert {s.seed for s in arms["direct"] if s.T == 5} == {first_seed + k for k in range(5)}
    rob = arms["robustness"]
    assert len(rob) == 2 * (2 * 2 * 10 + 2 * 10) and not any(s.flow for s in rob)   # 2 variants of 60 runs
    assert {(s.dtype, s.engine) for s in rob} == {("float64", "scratch"), ("float32", "torch")}


@pytest.mark.parametrize("k", [0, 3])
def test_success_plot_at_none_and_all_successes(k, tmp_path, monkeypatch):
    """0/n and n/n for small n: the Wilson error bars stay non-negative and the figure is written."""
    recs = []
    for T in (5, 10):
        for seed in range(3):
            spec = RunSpec(**{**BASE, "T": T, "seed": seed}, cell="rnn")
            ok = seed < k
            recs.append(RunRecord(spec=spec, updates=60, evals=[], final_accuracy=1.0 if ok else 0.5, final_mse=None,
                                  succeeded=ok, updates_to_success=60 if ok else None, diverged=None, history=None,
                                  seconds=0.0))
    figs = []
    save = plots._save
    monkeypatch.setattr(plots, "_save", lambda fig, path: figs.append(fig) or save(fig, path))
    path = plots.success_vs_length(recs, tmp_path / "s.png", "first_bit")
    assert path.stat().st_size > 0
    (bars,) = [c for c in figs[0].axes[0].containers if c.has_yerr]
    rate = bars.lines[0].get_ydata()                              # the success rate k/n at T = 5, 10
    assert list(rate) == [k / 3, k / 3]
    for (x0, lo), (x1, hi) in (seg for seg in bars.lines[2][0].get_segments()):
        assert 0 <= lo <= k / 3 <= hi <= 1 and hi - lo > 0.3       # Wilson at n = 3: [0, 0.56] or [0.44, 1]


def test_success_plot_labels_every_length_and_colours_a_models_arms_alike(tmp_path, monkeypatch):
    """Direct runs at 5, 10, 20 and curriculum runs at 20 only: the T axis names all three lengths
    (not the last group's), and the curriculum line has its model's colour, dashed."""
    recs = []
    for T, init in ((5, "pytorch"), (10, "pytorch"), (20, "pytorch"), (5, "orthogonal"), (20, "orthogonal")):
        spec = RunSpec(**{**BASE, "T": T, "seed": 0, "init": init}, cell="rnn")
        recs.append(RunRecord(spec=spec, updates=60, evals=[], final_accuracy=0.5, final_mse=None, succeeded=False,
                              updates_to_success=None, diverged=None, history=None, seconds=0.0))
    recs.append(RunRecord(spec=RunSpec(**{**BASE, "T": 20, "seed": 0, "init": "pytorch"}, cell="rnn", arm="curriculum"),
                          updates=60, evals=[], final_accuracy=0.5, final_mse=None, succeeded=False,
                          updates_to_success=None, diverged=None, history=None, seconds=0.0))
    figs = []
    monkeypatch.setattr(plots, "_save", lambda fig, path: figs.append(fig) or path)
    plots.success_vs_length(recs, tmp_path / "s.png", "first_bit")
    ax2 = figs[0].axes[1]
    assert [t.get_text() for t in ax2.get_xticklabels()] == ["5", "10", "20"]
    lines = {ln.get_label(): ln for ln in ax2.get_lines() if not ln.get_label().startswith("chance")}
    direct, curriculum = lines["RNN (PyTorch init)"], lines["RNN (PyTorch init) + curriculum"]
    assert direct.get_color() == curriculum.get_color() != lines["RNN (orthogonal W_hh)"].get_color()
    assert (direct.get_linestyle(), curriculum.get_linestyle()) == ("-", "--")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_torch_engine_on_cuda_matches_cpu():
    from reference import TorchEngine
    sampler, task = sr.get_task("first_bit")
    p = sr.init_model("lstm", 1, 16, 2, np.random.default_rng(0), dtype=np.float64)
    hs = [sr.train(TorchEngine({k: v.copy() for k, v in p.items()}, task, lr=1e-2, clip=1.0, device=d),
                   sampler, 10, 8, 30, np.random.default_rng(1), dtype=np.float64) for d in ("cpu", "cuda")]
    np.testing.assert_allclose(hs[0].loss, hs[1].loss, rtol=1e-9)


def test_fisher_comparisons_against_the_reference_model():
    from scratch_rnn.study.stats import comparisons, fisher_p
    from scipy.stats import fisher_exact
    assert fisher_p(15, 15, 0, 15) == fisher_exact([[15, 0], [0, 15]]).pvalue and fisher_p(3, 5, 3, 5) == 1.0
    assert abs(fisher_p(15, 15, 0, 15) - 1.2893450075787698e-08) < 1e-20   # 2 / C(30, 15)
    row = lambda cell, init, T, k, n=5: {"task": "xor", "cell": cell, "init": init, "T": T, "successes": k, "runs": n}  # noqa: E731
    summary = [row("rnn", "pytorch", 10, 5), row("rnn", "pytorch", 30, 0), row("lstm", "chrono", 10, 5),
               row("lstm", "chrono", 30, 5), row("lstm", "pytorch", 50, 2)]
    tests = comparisons(summary)
    assert [(t["model"], t["T"], t["fisher_p"]) for t in tests] == [
        ("LSTM (chrono init)", 10, 1.0), ("LSTM (chrono init)", 30, fisher_p(5, 5, 0, 5))]   # T=50: no reference
    # the other two kinds: an init against the same cell's PyTorch init, a curriculum against direct
    summary += [row("lstm", "pytorch", 30, 1), row("lstm", "chrono+curriculum", 30, 4, 10),
                row("lstm", "pytorch+curriculum", 30, 0, 10)]
    kinds = {(t["comparison"], t["model"], t["reference"], t["T"]): (t["successes"], t["reference_successes"])
             for t in comparisons(summary)}
    assert kinds[("vs PyTorch init", "LSTM (chrono init)", "LSTM (PyTorch init)", 30)] == (5, 1)
    assert kinds[("vs PyTorch init", "LSTM (chrono init) + curriculum", "LSTM (PyTorch init) + curriculum", 30)] == (4, 0)
    assert kinds[("curriculum vs direct", "LSTM (chrono init) + curriculum", "LSTM (chrono init)", 30)] == (4, 5)
    assert kinds[("curriculum vs direct", "LSTM (PyTorch init) + curriculum", "LSTM (PyTorch init)", 30)] == (0, 1)
    assert not any(k[0] == "vs PyTorch init" and k[1] == "LSTM (PyTorch init)" for k in kinds)


def test_agreement_pairs_runs_by_cell_and_seed():
    """Reruns pair with the study's runs of the same (task, model, T, seed) only; each outcome pair counted."""
    from types import SimpleNamespace as NS
    from scratch_rnn.study.stats import agreement

    def run(seed, ok, T=50):
        return NS(spec=NS(task="xor", model=("lstm", "chrono"), T=T, seed=seed), succeeded=ok)
    main = [run(0, True), run(1, False), run(2, True), run(3, False, T=100)]
    other = [run(0, True), run(1, True), run(2, False), run(3, False), run(9, True)]   # seeds 3 (T=50), 9: no pair
    a = agreement(main, other)
    assert (a["pairs"], a["agree"], a["both_succeed"], a["both_fail"], a["main_only"], a["other_only"]) == (3, 1, 1, 0, 1, 1)
    assert a["fraction"] == 1 / 3
