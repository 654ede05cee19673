"""The run store, resume, interruption, failures as results, and the same numbers on every executor."""
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import immediate_pool, marked_processes

from scratch_rnn.cli import main
from scratch_rnn.runs import executors
from scratch_rnn.study import runner
from scratch_rnn.study.records import stored_failures, stored_records
from scratch_rnn.study.specs import RunSpec
from scratch_rnn.runs import RUNS, RunStore, run_key

SWEEP = ["sweep", "--tasks", "xor", "--models", "rnn:pytorch", "lstm:pytorch", "--lengths", "6", "12",
         "--seeds", "2", "--updates", "200"]                      # 8 runs of about a second each


def _records(folder: Path) -> dict:
    """{key: record without its timing}, the part of a stored run that must not depend on how it ran."""
    out = {}
    for line in (folder / RUNS).read_text().splitlines():
        d = json.loads(line)
        rec = dict(d["record"])
        rec.pop("seconds")
        out[d["key"]] = rec
    return out


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """The reference: the sweep run once, uninterrupted, in this process."""
    out = tmp_path_factory.mktemp("straight")
    assert main([*SWEEP, "--workers", "1", "--out", str(out)]) == 0
    return _records(out)


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finds leftover processes through /proc")
@pytest.mark.parametrize("sig,workers", [(signal.SIGINT, 2), (signal.SIGTERM, 2), (signal.SIGINT, 1)])
def test_interrupted_sweep_resumes_to_the_same_records(sig, workers, straight, tmp_path):
    out = tmp_path / "sweep"
    marker = f"SCRATCH_RNN_TEST_{uuid.uuid4().hex}"
    env = {**os.environ, marker: "1"}
    cmd = [sys.executable, "-m", "scratch_rnn.cli", *SWEEP, "--workers", str(workers), "--out", str(out)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 240
    while time.time() < deadline and not ((out / RUNS).exists() and (out / RUNS).read_text().count("\n") >= 1):
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()
    t0 = time.time()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert time.time() - t0 < 10, "the command must stop within seconds"
    assert proc.returncode == 128 + sig, err[-2000:]
    assert "run the same command again to resume" in err
    time.sleep(0.5)
    assert marked_processes(marker) == []
    stored = (out / RUNS).read_text().count("\n")
    assert 1 <= stored < len(straight)
    assert '"failure"' not in (out / RUNS).read_text()             # the run in flight is not stored as failed
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert _records(out) == straight
    assert marked_processes(marker) == []


@pytest.mark.slow
def test_two_workers_give_the_same_records(straight, tmp_path):
    assert main([*SWEEP, "--workers", "2", "--out", str(tmp_path)]) == 0
    assert _records(tmp_path) == straight


@pytest.mark.slow
def test_a_dask_cluster_gives_the_same_records(straight, tmp_path):
    distributed = pytest.importorskip("distributed", reason="the cluster extra: pip install '.[cluster]'")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cl:
        assert main([*SWEEP, "--scheduler", cl.scheduler_address, "--out", str(tmp_path)]) == 0
    assert _records(tmp_path) == straight


@pytest.mark.slow
def test_a_torn_last_line_is_dropped_and_that_run_redone(straight, tmp_path):
    assert main([*SWEEP, "--workers", "1", "--out", str(tmp_path)]) == 0
    path = tmp_path / RUNS
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-1]) + lines[-1][:len(lines[-1]) // 2])   # died while writing the last line
    assert main([*SWEEP, "--workers", "1", "--out", str(tmp_path)]) == 0
    assert path.read_text().count("\n") == len(straight) and _records(tmp_path) == straight


@pytest.mark.slow
def test_another_protocol_is_refused_and_fresh_moves_the_old_runs_aside(tmp_path, capsys):
    small = ["sweep", "--tasks", "first_bit", "--models", "rnn:pytorch", "--lengths", "5", "--seeds", "1",
             "--workers", "1", "--out", str(tmp_path)]
    assert main([*small, "--updates", "20"]) == 0
    assert main([*small, "--updates", "30"]) == 2
    assert "protocol.updates: 20 in the store, 30 now" in capsys.readouterr().err
    assert main([*small, "--updates", "30", "--fresh"]) == 0
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("previous-")]
    assert len(aside) == 1 and (aside[0] / RUNS).read_text().count("\n") == 1
    assert json.loads((tmp_path / "store.json").read_text())["protocol"]["updates"] == 30


@pytest.mark.slow
def test_a_failing_run_is_stored_and_retried(tmp_path, monkeypatch, capsys):
    real = runner.run_one

    def flaky(spec):
        if spec.seed == 1:
            raise RuntimeError("boom")
        return real(spec)
    monkeypatch.setattr(runner, "run_one", flaky)
    args = ["sweep", "--tasks", "first_bit", "--models", "rnn:pytorch", "--lengths", "5", "--seeds", "2",
            "--updates", "20", "--workers", "1", "--out", str(tmp_path)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "1 runs failed" in out and "RuntimeError: boom" in out
    lines = [json.loads(x) for x in (tmp_path / RUNS).read_text().splitlines()]
    failed = [x for x in lines if "failure" in x]
    assert len(lines) == 2 and len(failed) == 1 and "boom" in failed[0]["failure"]["traceback"]
    summary = (tmp_path / "sweep_summary.csv").read_text().splitlines()
    assert summary[0].split(",")[-1] == "failed" and summary[1].split(",")[-1] == "1"
    assert main(args) == 0                                        # resuming does not rerun a failure...
    assert len((tmp_path / RUNS).read_text().splitlines()) == 2
    monkeypatch.setattr(runner, "run_one", real)
    assert main([*args, "--retry-failed"]) == 0                  # ...--retry-failed does
    store = RunStore(tmp_path, json.loads((tmp_path / "store.json").read_text()))
    assert len(stored_records(store)) == 2 and stored_failures(store) == []


@pytest.mark.parametrize("argv", [
    ["sweep", "--lengths", "5", "--seeds", "1"], ["gradcheck"], ["bench", "--shapes", "2,1,1,2"],
    ["reproduce", "--quick"],
])
def test_an_unwritable_out_fails_before_any_work(argv, tmp_path, capsys, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")                                       # no folder can be made under a file, even by root
    from scratch_rnn import gradcheck
    from scratch_rnn.bench import measure
    for module, name in ((executors, "execute"), (gradcheck, "check_rows"), (measure, "measure")):
        monkeypatch.setattr(module, name, lambda *a, **k: pytest.fail("work started"))
    assert main([*argv, "--out", str(blocker / "out")]) == 2
    assert f"--out {blocker / 'out'}: expected a folder this process can write" in capsys.readouterr().err


def test_every_spec_is_checked_before_any_run(tmp_path, monkeypatch):
    ran = []
    monkeypatch.setattr(runner, "run_one", lambda spec: ran.append(spec))
    from scratch_rnn.study import specs as sp
    with pytest.raises(ValueError, match="RunSpec.T: expected an integer >= 2, got -5"):
        sp.study_specs("scratch", lengths=[20, 10, -5], seeds=1)
    assert ran == []


def test_run_key_depends_on_every_field():
    base = RunSpec(experiment="study", task="xor", cell="rnn", init="pytorch", T=5, seed=0, updates=10, lr=1e-3,
                   batch=4, clip=1.0)
    assert run_key(base) == run_key(RunSpec(**{**base.__dict__}))
    other = {"experiment": "notebook", "task": "first_bit", "cell": "lstm", "init": "orthogonal", "T": 6, "seed": 1,
             "updates": 11, "lr": 2e-3, "batch": 5, "clip": None, "hidden": 65, "dtype": "float64",
             "eval_every": 1, "screen_n": 257, "eval_n": 1001, "success_accuracy": 0.9, "success_mse": 0.02,
             "flow": True, "notebook_flow": True, "engine": "torch", "backend": "numpy", "device": "cuda",
             "layers": 2, "bidirectional": True, "arm": "curriculum"}
    assert set(other) == set(base.__dict__)                      # a new field must be added here too
    keys = {run_key(base)}
    for field, value in other.items():
        changed = {**base.__dict__, field: value}
        if field == "device":
            changed["engine"] = "torch"                          # cuda needs the torch engine
        if field == "arm":
            changed["eval_every"] = 1                            # a curriculum moves on at screens
        keys.add(run_key(RunSpec(**changed)))
    assert len(keys) == len(other) + 1


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finds the workers through /proc")
def test_a_killed_worker_costs_no_run(straight, tmp_path):
    """SIGKILL one worker process in the middle of a sweep: the runs in flight are run again on a
    fresh pool, the sweep completes, and the records equal an undisturbed run's."""
    out = tmp_path / "sweep"
    marker = f"SCRATCH_RNN_TEST_{uuid.uuid4().hex}"
    cmd = [sys.executable, "-m", "scratch_rnn.cli", *SWEEP, "--workers", "2", "--out", str(out)]
    proc = subprocess.Popen(cmd, env={**os.environ, marker: "1"}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline, victim = time.time() + 240, None
    while time.time() < deadline and victim is None and proc.poll() is None:
        if (out / RUNS).exists() and (out / RUNS).read_text().count("\n") >= 1:
            workers = [p for p in marked_processes(marker) if p != proc.pid
                       and b"spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes()]
            victim = workers[0] if workers else None
        time.sleep(0.05)
    assert victim is not None, proc.communicate()
    os.kill(victim, signal.SIGKILL)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-2000:]
    assert _records(out) == straight


@dataclass(frozen=True)
class _Job:
    k: int

    def cost(self) -> float:
        return 1.0


def _run_job(job):
    return {"result": {"k": job.k, "seconds": 0.0}}


def test_a_pool_that_broke_between_two_waits_costs_no_run(tmp_path, monkeypatch):
    """A worker can die after the last wait and before the next submit: the pool then refuses the
    submit itself (BrokenProcessPool) before any future reports it. The sweep goes on on a fresh
    pool and every job runs."""
    submitted, pools = [], []
    Pool = immediate_pool(pools, submitted, refuse=lambda pool, job: len(pools) == 1 and pool.calls == 2)
    monkeypatch.setattr(executors, "_Local", Pool)
    jobs = [_Job(k) for k in range(5)]
    with RunStore(tmp_path, {"command": "test"}) as store:
        out = executors.execute(jobs, store, _run_job, workers=2, progress=False)
        assert sorted(k for k, _ in ((j.k, r) for j, r in store.results(jobs))) == list(range(5))
    assert out.ran == 5 and out.failed == 0 and len(pools) == 2
    assert sorted(submitted) == list(range(5))     # each job ran once: the refused one was not lost
