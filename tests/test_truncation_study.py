"""The `truncation` command's quick mode end to end, and what its numbers must satisfy."""
import csv

import numpy as np
import pytest

from scratch_rnn.cli import main
from scratch_rnn.truncation.report import truncation


@pytest.mark.slow
def test_truncation_quick_writes_everything_and_resumes(tmp_path):
    out = tmp_path / "tr"
    assert main(["truncation", "--quick", "--workers", "1", "--out", str(out), "--figures", str(tmp_path / "fig")]) == 0
    assert sorted(p.name for p in (tmp_path / "fig").iterdir()) == ["truncation_fidelity.png", "truncation_training.png"]
    for name in ("truncation.json", "truncation.md", "truncation_fidelity.csv", "truncation_fidelity.png", "truncation_norm.png",
                 "truncation_training.csv", "truncation_training.png"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    with open(out / "truncation_fidelity.csv") as f:
        fid = list(csv.DictReader(f))
    assert {r["cell"] for r in fid} == {"rnn", "lstm", "gru"} and {r["task"] for r in fid} == {"copy", "xor", "lm"}
    for r in fid:                                                 # k = the length is exact BPTT
        if int(r["k"]) == int(r["length"]):
            assert abs(float(r["cosine"]) - 1) <= 1e-12 and abs(float(r["norm_ratio"]) - 1) <= 1e-12, r
    one = [float(r["cosine"]) for r in fid if r["k"] == "1" and r["param"] == "weight_hh" and r["task"] == "copy"]
    assert max(one) < 0.999                                       # and truncation changes the gradient
    with open(out / "truncation_training.csv") as f:
        train = list(csv.DictReader(f))
    assert {(r["scheme"], r["k"]) for r in train} == {("chunks", "4"), ("chunks", "16"), ("window", "4"),
                                                       ("window", "16"), ("full", "25")}
    assert all(0 <= float(r["recall_accuracy"]) <= 1 for r in train)
    assert "| gru | window | 16 |" in (out / "truncation.md").read_text()
    again = truncation(out, quick=True, workers=1, progress=False)   # resumed: nothing runs twice
    assert again["outcome"].ran == 0 and again["outcome"].skipped == 14
    assert np.isclose(again["fidelity"][0]["cosine"], float(fid[0]["cosine"]))
