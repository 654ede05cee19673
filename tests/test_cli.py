"""The ``scratch-rnn`` command as a user runs it: help and option checks (fast), and every
subcommand end to end on small sizes (marked ``slow``)."""
import argparse
import json
import subprocess
import sys

import pytest
import torch

from scratch_rnn.cli import build_parser, main
from scratch_rnn.study.records import RunRecord


def _subcommands() -> list[str]:
    action = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return list(action.choices)


def test_every_command_group_is_listed():
    assert _subcommands() == ["gradcheck", "check", "exercise", "bench", "reproduce", "sweep", "gradflow", "power", "gradratios", "report",
                              "truncation", "online", "charlm", "sample"]


@pytest.mark.parametrize("cmd", [[], *[[c] for c in _subcommands()]], ids=lambda c: " ".join(c) or "scratch-rnn")
def test_cli_help_for_every_subcommand(cmd, capsys):
    with pytest.raises(SystemExit) as e:
        main([*cmd, "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: scratch-rnn " + " ".join(cmd)) and "options:" in out


def test_cli_rejects_cuda_without_gpu(tmp_path, capsys):
    if torch.cuda.is_available():
        pytest.skip("a GPU is present: asking for cuda is valid here")
    code = main(["sweep", "--engine", "torch", "--device", "cuda", "--lengths", "5", "--seeds", "1",
                 "--out", str(tmp_path)])
    assert code == 2
    assert "device: 'cuda' was asked for, but torch sees no CUDA device" in capsys.readouterr().err


@pytest.mark.parametrize("argv,message", [
    (["sweep", "--models", "gru:chrono"], "argument --models: expected CELL[:INIT[:LAYERS[:bi]]]"),
    (["sweep", "--models", "lstm:pytorch:0"], "argument --models: expected CELL[:INIT[:LAYERS[:bi]]]"),
    (["sweep", "--models", "lstm:pytorch:2:both"], "argument --models: expected CELL[:INIT[:LAYERS[:bi]]]"),
    (["sweep", "--models", "lstm:pytorch:2:bi:x"], "argument --models: expected CELL[:INIT[:LAYERS[:bi]]]"),
    (["sweep", "--updates", "0"], "argument --updates: expected a finite integer >= 1, got '0'"),
    (["sweep", "--updates", "-3"], "argument --updates: expected a finite integer >= 1, got '-3'"),
    (["sweep", "--lengths", "20", "10", "-5"], "argument --lengths: expected a finite integer >= 2, got '-5'"),
    (["sweep", "--seeds", "0"], "argument --seeds: expected a finite integer >= 1, got '0'"),
    (["sweep", "--lr", "nan"], "argument --lr: expected a finite number > 0, got 'nan'"),
    (["reproduce", "--seed", "-1"], "argument --seed: expected a finite integer in [0, 9223372036854775807], got '-1'"),
    (["sweep", "--seed", "99999999999999999999999"], "argument --seed: expected a finite integer in [0, 9223372036854775807]"),
    (["sweep", "--connect-timeout", "0"], "argument --connect-timeout: expected a finite number > 0, got '0'"),
    (["bench", "--shapes", "1,x,2,3"], "argument --shapes: expected T,B,D,H, four integers >= 1, got '1,x,2,3'"),
    (["bench", "--sizes", "100,32,64,1"], "argument --sizes: replaced by --shapes T,B,D,H (the order of every other "
     "command; --sizes took T,B,H,D): e.g. --shapes 100,32,1,64"),
    (["bench", "--variants", "jax"], "argument --variants: jax times forward + BPTT of one layer only, not a training "
     "step; add --ops fwd_bwd"),
    (["reproduce", "--workers", "-1"], "argument --workers: expected a finite integer >= 1, got '-1'"),
    (["bench", "--name", "../x"], "argument --name: expected a file stem of letters, digits, '_', '-' or '.', got '../x'"),
    (["bench", "--budget", "0"], "argument --budget: expected a finite number > 0, got '0'"),
    (["bench", "--budget", "-1"], "argument --budget: expected a finite number > 0, got '-1'"),
    (["gradflow", "--T", "1"], "argument --T: expected a finite integer >= 2, got '1'"),
])
def test_cli_checks_every_numeric_option_when_parsing(argv, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main([*argv, "--out", str(tmp_path)])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "error: " + message in err and "usage: scratch-rnn" in err


@pytest.mark.slow
def test_gradcheck_command_passes(capsys):
    assert main(["gradcheck", "--backend", "all"]) == 0
    out = capsys.readouterr().out
    assert "all gradients within tolerance" in out and "numba" in out
    assert "lstm L2 bi P2 lengths" in out and "rnn-relu L2 bi lengths" in out   # the stack configurations too


@pytest.mark.slow
def test_reproduce_quick_writes_everything(tmp_path):
    """The main job's quick form, end to end, as a user runs it, with a seed whose value once
    decided a run's role (1000): it writes every file that --seed 0 writes."""
    out = tmp_path / "results"
    proc = subprocess.run([sys.executable, "-m", "scratch_rnn.cli", "reproduce", "--quick", "--seed", "1000",
                           "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for name in ("report.md", "notebook_runs.json", "notebook_summary.csv", "study_runs.json", "study_summary.csv",
                 "figures/notebook_panel.png", "figures/notebook_sweep.png", "figures/notebook_gradflow.png",
                 "figures/success_xor.png", "figures/success_first_bit.png", "figures/gradient_flow.png",
                 "figures/gate_statistics.png"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    for name in ("robustness.csv", "study_comparisons.csv", "gradratios/gradratios.csv", "figures/adding.png",
                 "figures/curriculum_flow.png", "figures/gradratios.png", "power/power_summary.csv",
                 "power/power_comparisons.csv", "figures/updates_to_success.png"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    runs = json.loads((out / "study_runs.json").read_text())
    assert runs["meta"]["versions"]["numpy"] and runs["meta"]["study_protocol"]["updates"] == 200
    records = [RunRecord.from_dict(r) for r in runs["runs"]]
    assert all(r.spec.seed in (1000, 1001) for r in records)
    assert all(0 <= r.final_accuracy <= 1 for r in records if r.spec.task != "adding")
    adding = [r for r in records if r.spec.task == "adding"]          # every arm and task ran
    assert adding and all(r.final_mse > 0 and r.final_accuracy is None for r in adding)
    assert {r.spec.arm for r in records} == {"direct", "curriculum"}
    assert {(r.spec.dtype, r.spec.engine) for r in records} == {("float32", "scratch"), ("float64", "scratch"),
                                                                ("float32", "torch")}
    assert any(r.curriculum and "flow_at_switch" in r.curriculum for r in records)
    nb = [RunRecord.from_dict(r) for r in json.loads((out / "notebook_runs.json").read_text())["runs"]]
    assert sorted(r.spec.cell for r in nb if r.notebook_flow) == ["lstm", "rnn"]
    report = (out / "report.md").read_text()
    assert "## 2. The calibrated study" in report and "figures/success_xor.png" in report
    for section in ("### Headline", "## 4. The adding problem", "## 5. Robustness", "### Gradient ratios",
                    "## 7. Curriculum comparisons with 3 seeds per model", "](figures/updates_to_success.png)"):
        assert section in report, section
    assert "Calibrated study:" in proc.stdout
    err = proc.stderr                                            # what a person watching it reads, in order
    said = [err.index(line) for line in ("compiling the Numba kernels", "reproduce: 3 phases, 87 training runs",
                                         "phase 1 of 3", "78 runs to run, ", "phase 2 of 3", "phase 3 of 3",
                                         "9 runs to run, ")]
    assert said == sorted(said), err[:2000]
    assert "**A smoke run (`--quick`)**" in report
    again = subprocess.run([sys.executable, "-m", "scratch_rnn.cli", "reproduce", "--quick", "--seed", "1000",
                            "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert "every run is stored" in again.stderr and "all 78 runs are stored" in again.stderr


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["scratch", "torch"])
def test_sweep_command_on_each_engine(engine, tmp_path, capsys):
    code = main(["sweep", "--engine", engine, "--tasks", "first_bit", "--models", "rnn:orthogonal", "lstm:chrono",
                 "--lengths", "5", "--seeds", "1", "--updates", "40", "--workers", "1", "--out", str(tmp_path)])
    assert code == 0
    runs = json.loads((tmp_path / "sweep_runs.json").read_text())
    assert runs["meta"]["engine"] == engine and len(runs["runs"]) == 2
    assert {RunRecord.from_dict(r).spec.engine for r in runs["runs"]} == {engine}
    assert (tmp_path / "sweep_first_bit.png").stat().st_size > 0
    assert "LSTM (chrono init)" in capsys.readouterr().out


@pytest.mark.slow
def test_gradflow_command_writes_its_profiles(tmp_path, capsys):
    """Every cell, the GRU included (its profile has ||dL/dh_t|| alone: no Jacobian bound, no cell path)."""
    code = main(["gradflow", "--models", "rnn:orthogonal", "lstm:chrono", "gru:pytorch", "--T", "8", "--updates", "20",
                 "--workers", "1", "--out", str(tmp_path)])
    assert code == 0
    runs = [RunRecord.from_dict(r) for r in json.loads((tmp_path / "gradflow_runs.json").read_text())["runs"]]
    assert [r.spec.cell for r in runs] == ["rnn", "lstm", "gru"] and all(len(r.flow_init["h"]) == 8 for r in runs)
    assert set(runs[2].flow_init) == set(runs[2].flow_final) == {"h"}
    assert (tmp_path / "gradient_flow.png").stat().st_size > 0 and (tmp_path / "gate_statistics.png").stat().st_size > 0


@pytest.mark.slow
def test_sweep_takes_the_adding_problem(tmp_path):
    """A regression task in a sweep: success by MSE, the summary's MSE column filled, accuracy empty."""
    out = tmp_path / "adding"
    assert main(["sweep", "--tasks", "adding", "--models", "lstm:forget_bias", "--lengths", "6", "--seeds", "2",
                 "--updates", "10", "--workers", "1", "--out", str(out)]) == 0
    import csv
    with open(out / "sweep_summary.csv") as f:
        (row,) = list(csv.DictReader(f))
    assert row["task"] == "adding" and row["runs"] == "2" and row["mean_final_accuracy"] == ""
    assert 0 < float(row["mean_final_mse"]) < 1 and row["successes"] == "0"   # 10 updates do not solve it
