"""The analysis of `scratch-rnn online --setting marschall` (`scratch_rnn.online.marschall`): its statistics on
planted cases, its protocol's jobs, and (slow) the command end to end at the quick sizes."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from scratch_rnn.online import marschall as ms


def test_median_interval_is_the_order_statistic_interval():
    med, lo, hi = ms.median_interval(np.arange(20.0))
    assert med == 9.5 and (lo, hi) == (5.0, 14.0)                  # ranks 6 and 15 of 20 (binomial 2.5%)
    med, lo, hi = ms.median_interval([0.2, -np.inf, 0.5])           # a diverged stream counts as the worst
    assert med == 0.2 and lo == -np.inf


def test_grouping_p_finds_planted_groups_and_not_random_ones():
    pts = np.r_[np.zeros(5), np.ones(5) * 3] + np.random.default_rng(0).normal(0, 0.1, 10)
    D = np.abs(pts[:, None] - pts[None, :])
    groups = ["a"] * 5 + ["b"] * 5
    assert ms.grouping_p(D, groups, n_perm=2000) < 0.01
    mixed = ["a", "b"] * 5
    assert ms.grouping_p(D, mixed, n_perm=2000) > 0.2


def test_mantel_sees_a_shared_structure():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(9, 3))
    D = np.linalg.norm(X[:, None] - X[None], axis=2)
    r, p = ms.mantel(D, D + rng.normal(0, 0.01, D.shape) * (1 - np.eye(9)), n_perm=2000)
    assert r > 0.9 and p < 0.01
    Y = rng.normal(size=(9, 3))
    r, p = ms.mantel(D, np.linalg.norm(Y[:, None] - Y[None], axis=2), n_perm=2000)
    assert p > 0.01


def test_the_protocol_has_every_method_and_their_grid():
    jobs = ms.jobs(ms.MARSCHALL)
    stream = [j for j in jobs if isinstance(j, ms.StreamJob)]
    assert {j.method for j in stream} == set(ms.STREAM_METHODS)
    assert {(j.task, j.alpha, j.tau_task) for j in stream} >= {("add", 1.0, 1), ("add", 0.5, 2), ("mimic32", 1.0, 1),
                                                               ("mimic32", 0.5, 2)}
    assert all(len(j.seeds) >= 20 for j in jobs)
    assert len({repr(j) for j in jobs}) == len(jobs)
    with pytest.raises(ValueError, match="StreamJob.method"):
        ms.StreamJob("bptt", "add", 1, 1.0, 1e-3, (0,), 4, 10, 5)


@pytest.mark.slow
def test_the_marschall_command_end_to_end(tmp_path):
    out = tmp_path / "m"
    res = subprocess.run([sys.executable, "-m", "scratch_rnn.cli", "online", "--setting", "marschall", "--quick",
                          "--out", str(out), "--workers", "1"], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    md = (out / "marschall.md").read_text()
    assert "## Clusters" in md and "Mantel" in md and "RFLO (random feedback)" in md
    summary = json.loads((out / "marschall.json").read_text())["summary"]
    assert summary["table"] and summary["alignment"]
    assert (out / "marschall_performance.png").exists() and (out / "marschall_alignment.png").exists()
