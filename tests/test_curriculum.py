"""The curriculum arm: lengths 10, 20, 30, ... up to T, moving on at the first screen that passes."""
import csv
import zlib

import numpy as np
import pytest

from scratch_rnn.cli import main
from scratch_rnn.study.runner import run_one
from scratch_rnn.study.specs import RunSpec, run_rng

BASE = dict(experiment="study", task="first_bit", cell="rnn", init="orthogonal", T=30, seed=0, updates=1500,
            lr=1e-3, batch=32, clip=1.0, eval_every=50)


def test_schedule_and_checks():
    assert RunSpec(**BASE, arm="curriculum").schedule() == [10, 20, 30]
    assert RunSpec(**{**BASE, "T": 120}, arm="curriculum").schedule() == [10, 20, 30, 50, 75, 100, 120]
    assert RunSpec(**BASE).schedule() == [30]
    with pytest.raises(ValueError, match=r"RunSpec.eval_every: expected an integer > 0 for the curriculum arm"):
        RunSpec(**{**BASE, "eval_every": 0}, arm="curriculum")
    with pytest.raises(ValueError, match=r"RunSpec.arm: expected one of \('direct', 'curriculum'\), got 'easy'"):
        RunSpec(**BASE, arm="easy")


def test_direct_runs_keep_their_random_streams():
    spec = RunSpec(**BASE)
    key = zlib.crc32(b"study|first_bit|rnn|orthogonal|30|init")
    assert run_rng(spec, "init").random() == np.random.default_rng([0, key]).random()
    assert run_rng(RunSpec(**BASE, arm="curriculum"), "init").random() != run_rng(spec, "init").random()


def test_a_curriculum_run_moves_on_at_passing_screens_only():
    spec = RunSpec(**BASE, arm="curriculum")
    rec = run_one(spec)
    lengths = [e[2] for e in rec.evals]
    assert lengths == sorted(lengths) and set(lengths) <= {10, 20, 30}
    for (update, screen, L), nxt in zip(rec.evals, rec.evals[1:]):
        assert (nxt[2] > L) == (screen >= spec.success_accuracy), (update, screen, L)   # a switch needs a pass
    passed = rec.curriculum["passed"]
    assert [L for L, _ in passed] == [L for L in (10, 20, 30) if L < lengths[-1]]   # every length left behind
    for L, update in passed:                                      # was left at a passing screen of its own
        assert any(e[0] == update and e[2] == L and e[1] >= spec.success_accuracy for e in rec.evals)
    assert [int(k) for k in rec.curriculum["final_by_length"]] == [10, 20]
    if rec.succeeded:                                              # success: the last screen, at T, passed
        assert rec.evals[-1][2] == 30 and rec.evals[-1][1] >= spec.success_accuracy
        assert rec.updates_to_success == rec.evals[-1][0]


@pytest.mark.slow
def test_sweep_runs_the_curriculum_arm(tmp_path):
    out = tmp_path / "cur"
    assert main(["sweep", "--arm", "curriculum", "--dtype", "float64", "--tasks", "first_bit", "--models",
                 "rnn:orthogonal", "--lengths", "20", "--seeds", "1", "--updates", "200", "--workers", "1",
                 "--out", str(out)]) == 0
    with open(out / "sweep_summary.csv") as f:
        (row,) = list(csv.DictReader(f))
    assert row["init"] == "orthogonal+curriculum" and row["runs"] == "1"
    import json
    (run,) = json.loads((out / "sweep_runs.json").read_text())["runs"]
    assert run["spec"]["dtype"] == "float64" and run["spec"]["arm"] == "curriculum"


def test_profiles_at_each_switch_are_exact_profiles_at_T():
    """With flow, a curriculum run records ||dL/dh_t|| on the fixed length-T batch at every switch;
    the last switch's profile equals the one measured from the weights at that update."""
    spec = RunSpec(**{**BASE, "updates": 400}, arm="curriculum", flow=True)
    rec = run_one(spec)
    flows = rec.curriculum["flow_at_switch"]
    assert [(f["length"], f["update"]) for f in flows] == [tuple(p) for p in rec.curriculum["passed"]]
    assert flows and all(len(f["h"]) == spec.T for f in flows)
    assert flows[0]["h"] != rec.flow_init["h"]                    # training moved the weights before the switch
    # the same run stopped at the first switch (budget = that update) ends with the same profile
    short = run_one(RunSpec(**{**BASE, "updates": flows[0]["update"]}, arm="curriculum", flow=True))
    np.testing.assert_allclose(short.flow_final["h"], flows[0]["h"], rtol=1e-6)


def test_a_near_miss_trains_on(monkeypatch):
    """The screen passes at update 50 while the test on fresh sequences fails: the run goes on and
    succeeds at the next passing screen whose test passes, with the near miss recorded."""
    from scratch_rnn.study import runner
    calls = []

    def fake_evaluate(engine, sampler, T, n, rng, dtype=None):
        calls.append(n)
        if n == 256:                                             # every screen passes
            return 1.0
        return 0.5 if sum(c == 1000 for c in calls) == 1 else 1.0   # the first test fails, the next passes
    monkeypatch.setattr(runner, "evaluate", fake_evaluate)
    spec = RunSpec(**{**BASE, "updates": 200, "screen_n": 256, "eval_n": 1000})
    rec = run_one(spec)
    assert rec.near_misses == [[50, 1.0, 0.5]]
    assert rec.succeeded and rec.updates_to_success == 100 and rec.updates == 100 and rec.final_accuracy == 1.0
