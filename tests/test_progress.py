"""What a long command says while it runs: the order of its runs, its one estimate, its first lines."""
import re
from dataclasses import dataclass

import pytest

from scratch_rnn.cli import main
from scratch_rnn.runs import executors, progress


@dataclass(frozen=True)
class _Job:
    k: int
    c: float

    def cost(self) -> float:
        return self.c


def test_one_short_run_per_worker_first_then_the_longest():
    jobs = [_Job(i, c) for i, c in enumerate([5, 1, 9, 3, 7, 2, 8, 1.5])]
    assert [j.c for j in executors.order(jobs, 2)] == [1, 1.5, 9, 8, 7, 5, 3, 2]
    assert [j.c for j in executors.order(jobs[:4], 2)] == [9, 5, 3, 1]          # few jobs: longest first only


def test_the_estimate_starts_from_the_calibration_and_follows_the_finished_runs():
    est = progress.Estimate(total_cost=1000, prior=0.01, slots=2)
    assert est.seconds_left(1000) == pytest.approx(5.0)                       # 1000 x 0.01 s / 2 workers
    est.finished(seconds=0.5, cost=50)                                         # runs twice as fast as calibrated
    assert est.seconds_left(950) == pytest.approx(950 * (0.01 * 50 + 0.5) / 100 / 2)
    est.finished(seconds=4.5, cost=900)
    assert est.seconds_per_cost() == pytest.approx((0.01 * 50 + 5.0) / 1000)   # the runs' own rate dominates
    assert progress.Estimate(100, None, 1).seconds_left(10) is None            # no calibration, no run yet


@pytest.mark.parametrize("seconds,text", [(30, "about 24 s to 38 s"), (1200, "about 16 min to 25 min"),
                                          (36000, "about 8 h 00 min to 12 h 30 min"), (0.5, "about 1 s")])
def test_an_estimate_is_said_as_a_range(seconds, text):
    assert progress.span(seconds) == text


def test_a_sweep_says_its_runs_and_time_first_and_resuming_when_run_again(tmp_path, capsys):
    argv = ["sweep", "--tasks", "first_bit", "--models", "rnn:pytorch", "--lengths", "5", "6", "--updates", "20",
            "--workers", "1", "--out", str(tmp_path)]
    assert main([*argv, "--seeds", "1"]) == 0
    err = capsys.readouterr().err
    assert err.index("compiling the Numba kernels") < err.index("2 runs to run, about ")
    assert re.search(r"2 runs to run, (about .*|between .* \(every run succeeding at its first chance\) and .* "
                     r"\(every run using its whole budget\)) on 1 worker\(s\), calibrated on this machine", err), err
    assert not re.search(r"\d\d:\d\d<", err)                     # no second estimate (tqdm's own) beside ours
    assert main([*argv, "--seeds", "2"]) == 0
    assert "resuming: 2 of 4 runs stored, 2 to run, " in capsys.readouterr().err
    assert main([*argv, "--seeds", "2"]) == 0
    assert "all 4 runs are stored; building the outputs from the store" in capsys.readouterr().err


def test_the_range_runs_from_every_run_stopping_at_its_first_chance_to_every_budget_spent():
    from scratch_rnn.study.specs import RunSpec
    base = dict(experiment="study", task="xor", cell="lstm", init="pytorch", T=50, updates=3000, seed=0, lr=1e-3,
                batch=32, clip=1.0,
                eval_every=100)
    direct, curriculum = RunSpec(**base), RunSpec(**base, arm="curriculum")
    assert direct.cost() == curriculum.cost() == 50 * 3000 * 4
    assert direct.least_cost() == 100 * 50 * 4                  # its first screen at T passes
    assert curriculum.least_cost() == 100 * (10 + 20 + 30 + 50) * 4   # one screen at each length
    assert RunSpec(**{**base, "eval_every": 0}).least_cost() == direct.cost()
    least, most = progress.bounds([direct, curriculum], rate=1e-6, workers=2)
    assert (least, most) == pytest.approx(((20000 + 44000) * 1e-6 / 2, 2 * 600000 * 1e-6 / 2))
    assert progress.between(10, 600) == ("between 10 s (every run succeeding at its first chance) and 12 min "
                                         "(every run using its whole budget)")


def test_workers_beyond_the_cores_are_capped_with_a_line_naming_both(tmp_path, capsys, monkeypatch):
    """A million workers started a process per run (81 for `online --quick`, 9 GiB) and finished none."""
    monkeypatch.setattr(executors, "cores", lambda: 2)
    started = []
    monkeypatch.setattr(executors, "_Local", lambda workers, run: started.append(workers) or _Inline(workers, run))
    argv = ["sweep", "--tasks", "first_bit", "--models", "rnn:pytorch", "--lengths", "5", "6", "7", "--updates", "5",
            "--seeds", "2", "--workers", "1000000", "--out", str(tmp_path)]
    assert main(argv) == 0
    assert "--workers 1000000: more than this machine's 2 core(s); using 2 (one per core, for 6 run(s) to do)" in \
        capsys.readouterr().err
    assert started == [2]


class _Inline:
    """A pool of `workers` slots that runs each job at once, in this process."""

    def __init__(self, workers, run):
        self.slots, self.run = workers, run

    def submit(self, job):
        from concurrent.futures import Future
        fut: Future = Future()
        fut.set_result(self.run(job))
        return fut

    def close(self, now=False):
        pass
