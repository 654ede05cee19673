"""Long commands that survive what operators do to them: two writers on one store, a reader beside a
writer, a damaged store, a full disk, a killed parent, an absent or dead cluster."""
import errno
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
from helpers import marked_processes

from scratch_rnn.cli import main
from scratch_rnn.runs import RUNS, RunStore
from scratch_rnn.runs.store import QUARANTINE, DiskFull
from scratch_rnn.study.records import stored_records
from scratch_rnn.study.specs import RunSpec

SPEC = dict(experiment="study", task="xor", cell="rnn", init="pytorch", T=5, updates=10, lr=1e-3, batch=4, clip=1.0)
META = {"command": "test"}


def _record(seed: int) -> dict:
    return {"spec": {**RunSpec(**SPEC, seed=seed).__dict__}, "updates": 10, "evals": [], "final_accuracy": 0.5,
            "final_mse": None, "succeeded": False, "updates_to_success": None, "diverged": None, "history": None,
            "seconds": 0.1}


def _store_with(folder: Path, n: int) -> RunStore:
    with RunStore(folder, META) as store:
        for seed in range(n):
            store.add_record(RunSpec(**SPEC, seed=seed), _record(seed))
    return store


# --- one store, one writer -------------------------------------------------------------------------------

def test_a_second_writer_is_refused_naming_the_holder(tmp_path):
    first = RunStore(tmp_path, META)
    with pytest.raises(ValueError, match=rf"another process \(PID {os.getpid()}\) is writing this store now.*--wait"):
        RunStore(tmp_path, META)
    first.close()
    RunStore(tmp_path, META).close()                             # free again once the first one let go


@pytest.mark.slow                       # timing: a bound on wall time
def test_a_second_writer_with_wait_starts_when_the_first_finishes(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from scratch_rnn.runs import RunStore\n"
        f"s = RunStore({str(tmp_path)!r}, {META!r}); print('locked', flush=True); time.sleep(1.5); s.close()")],
        stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match=rf"PID {holder.pid}"):
        RunStore(tmp_path, META)
    RunStore(tmp_path, META, wait=True).close()
    assert time.perf_counter() - t0 > 0.5                        # it waited for the holder
    holder.wait(timeout=30)


@pytest.mark.slow
def test_two_sweeps_on_one_store_do_not_both_run(tmp_path):
    """The second of two identical sweeps started together refuses at once, naming the first's PID."""
    args = [sys.executable, "-m", "scratch_rnn.cli", "sweep", "--tasks", "xor", "--models", "lstm:pytorch",
            "--lengths", "40", "--seeds", "3", "--updates", "1500", "--workers", "1", "--out", str(tmp_path)]
    first = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not (tmp_path / ".lock").exists() and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    second = subprocess.run(args, capture_output=True, text=True, timeout=300)
    first.communicate(timeout=300)
    assert first.returncode == 0 and second.returncode == 2
    assert f"another process (PID {first.pid}) is writing this store now" in second.stderr
    assert len((tmp_path / RUNS).read_text().splitlines()) == 3    # every run once


# --- reading never modifies -------------------------------------------------------------------------------

def test_a_reader_changes_nothing_even_with_a_torn_last_line(tmp_path):
    _store_with(tmp_path, 2)
    with open(tmp_path / RUNS, "a") as f:
        f.write('{"key": "abc", "rec')                           # a writer in the middle of its line
    before = (tmp_path / RUNS).read_bytes()
    store = RunStore(tmp_path, None, read_only=True)
    assert len(stored_records(store)) == 2
    assert (tmp_path / RUNS).read_bytes() == before
    RunStore(tmp_path, META).close()                                # the reader holds no lock


def test_report_reads_a_store_without_writing_it(tmp_path):
    out = tmp_path / "sweep"
    assert main(["sweep", "--tasks", "first_bit", "--models", "rnn:pytorch", "--lengths", "5", "--seeds", "1",
                 "--updates", "20", "--workers", "1", "--out", str(out)]) == 0
    with open(out / RUNS, "a") as f:
        f.write('{"torn')
    before = (out / RUNS).read_bytes()
    assert main(["report", str(out)]) == 0
    assert (out / RUNS).read_bytes() == before


# --- a damaged store costs only the damaged line ------------------------------------------------------------

@pytest.mark.parametrize("bad", ["[1, 2, 3]", "{}", '{"key": "k"}', "not json at all", '"a string"'])
def test_a_damaged_line_is_set_aside_and_the_rest_kept(tmp_path, bad, capsys):
    _store_with(tmp_path, 3)
    lines = (tmp_path / RUNS).read_text().splitlines()
    (tmp_path / RUNS).write_text("\n".join([lines[0], bad, *lines[1:]]) + "\n")
    reader = RunStore(tmp_path, None, read_only=True)               # a reader skips it
    assert len(stored_records(reader)) == 3 and reader.quarantined == [2]
    assert "1 damaged line(s) skipped (line 2" in capsys.readouterr().err
    store = RunStore(tmp_path, META)                                # a writer sets it aside
    store.close()
    assert len(stored_records(store)) == 3
    err = capsys.readouterr().err
    assert f"set aside into {tmp_path / QUARANTINE} (line 2" in err and "3 runs kept" in err
    (aside,) = [json.loads(x) for x in (tmp_path / QUARANTINE).read_text().splitlines()]
    assert aside["line"] == 2 and aside["text"] == bad and aside["file"] == str(tmp_path / RUNS)
    assert len((tmp_path / RUNS).read_text().splitlines()) == 3      # the store is whole again


def test_a_store_description_without_runs_is_an_empty_store(tmp_path):
    RunStore(tmp_path, META).close()
    assert not (tmp_path / RUNS).exists()
    assert RunStore(tmp_path, None, read_only=True).lines == {}


def test_a_corrupt_store_description_is_named(tmp_path):
    _store_with(tmp_path, 1)
    (tmp_path / "store.json").write_text("{not json")
    with pytest.raises(ValueError, match=rf"{tmp_path / 'store.json'}: not valid JSON .* use --fresh"):
        RunStore(tmp_path, META)
    assert main(["report", str(tmp_path)]) == 2


def test_report_refuses_a_store_it_does_not_rebuild(tmp_path, capsys):
    _store_with(tmp_path, 1)
    assert main(["report", str(tmp_path)]) == 2
    assert "a store of command 'test', which `report` does not rebuild" in capsys.readouterr().err


# --- a full disk is an error, not a traceback ---------------------------------------------------------------

def test_a_full_disk_leaves_the_store_as_it_was(tmp_path, monkeypatch):
    store = _store_with(tmp_path, 2)
    before = (tmp_path / RUNS).read_bytes()
    store = RunStore(tmp_path, META)
    real_fsync = os.fsync

    def full(fd):                                               # the line was written, then the device filled
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(DiskFull, match=rf"no space left on the device of {tmp_path}.*run the same command again"):
        store.add_record(RunSpec(**SPEC, seed=9), _record(9))
    monkeypatch.setattr(os, "fsync", real_fsync)
    store.close()
    assert (tmp_path / RUNS).read_bytes() == before


def test_a_full_disk_in_a_command_is_one_line_and_exit_1(tmp_path, monkeypatch, capsys):
    from scratch_rnn.runs import store as store_module

    def full(self, line):
        raise DiskFull(self.folder, 123)
    monkeypatch.setattr(store_module.RunStore, "_append", full)
    code = main(["sweep", "--tasks", "first_bit", "--models", "rnn:pytorch", "--lengths", "5", "--seeds", "1",
                 "--updates", "10", "--workers", "1", "--out", str(tmp_path)])
    assert code == 1
    err = capsys.readouterr().err
    assert "error: [Errno 28] no space left on the device of" in err and "Traceback" not in err


def test_derived_files_are_written_whole_or_not_at_all(tmp_path, monkeypatch):
    from scratch_rnn import _files
    _files.write_json({"a": 1}, tmp_path / "x.json")
    real_replace = os.replace

    def fail(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match=r"no space left to write x\.json"):
        _files.write_json({"a": 2}, tmp_path / "x.json")
    monkeypatch.setattr(os, "replace", real_replace)
    assert json.loads((tmp_path / "x.json").read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]       # no temporary file left


# --- a killed parent leaves no workers ----------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finds the workers through /proc")
def test_workers_die_with_a_killed_parent(tmp_path):
    marker = f"SCRATCH_RNN_TEST_{uuid.uuid4().hex}"
    args = [sys.executable, "-m", "scratch_rnn.cli", "sweep", "--tasks", "xor", "--models", "lstm:pytorch",
            "--lengths", "50", "--seeds", "4", "--updates", "3000", "--workers", "2", "--out", str(tmp_path)]
    parent = subprocess.Popen(args, env={**os.environ, marker: "1"}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while len(marked_processes(marker)) < 3 and time.time() < deadline:   # the parent and its two workers
        time.sleep(0.2)
    assert len(marked_processes(marker)) >= 3
    time.sleep(1.0)
    parent.send_signal(signal.SIGKILL)
    parent.wait(timeout=30)
    deadline = time.time() + 10
    while marked_processes(marker) and time.time() < deadline:
        time.sleep(0.2)
    left = marked_processes(marker)
    for pid in left:                                            # ours: started by this test
        os.kill(pid, signal.SIGKILL)
    assert left == []


# --- clusters fail fast -------------------------------------------------------------------------------------

def _sweep_on(tmp_path, *cluster):
    return main(["sweep", "--tasks", "first_bit", "--models", "rnn:pytorch", "--lengths", "5", "--seeds", "1",
                 "--updates", "10", "--out", str(tmp_path / "out"), *cluster])


@pytest.mark.slow                       # timing: a bound on wall time
def test_a_missing_scheduler_file_is_named_at_once(tmp_path, capsys):
    t0 = time.perf_counter()
    assert _sweep_on(tmp_path, "--scheduler-file", str(tmp_path / "nonexistent.json")) == 2
    assert time.perf_counter() - t0 < 30
    assert f"--scheduler-file {tmp_path / 'nonexistent.json'}: cannot be read" in capsys.readouterr().err


def test_a_scheduler_file_that_is_not_one_is_named(tmp_path, capsys):
    bad = tmp_path / "s.json"
    bad.write_text("hello")
    assert _sweep_on(tmp_path, "--scheduler-file", str(bad)) == 2
    assert f"--scheduler-file {bad}: expected a JSON object with the scheduler's \"address\"" in capsys.readouterr().err


@pytest.mark.slow                       # timing: a bound on wall time
def test_a_dead_scheduler_is_one_line_within_the_timeout(tmp_path, capsys):
    pytest.importorskip("distributed")
    t0 = time.perf_counter()
    assert _sweep_on(tmp_path, "--scheduler", "tcp://127.0.0.1:9", "--connect-timeout", "2") == 2
    assert time.perf_counter() - t0 < 30
    err = capsys.readouterr().err
    assert "--scheduler tcp://127.0.0.1:9: no Dask scheduler answered within 2 s" in err and "Traceback" not in err


# --- sizes checked before work ------------------------------------------------------------------------------

@pytest.mark.parametrize("argv,message", [
    (["sweep", "--seeds", "1000000000"], r"x --seeds \(1000000000\) = 24,000,000,000 runs, more than the 1,000,000"),
    (["sweep", "--lengths", "100000000000", "--seeds", "1"], "needs about .* of memory .* more than the"),
    (["gradflow", "--T", "100000000"], "T=100000000 .* needs about .* of memory"),
    (["reproduce", "--seeds", "100000"], r"--seeds \(100000\) x \d+ runs per seed"),
    (["charlm", "--hidden", "100000"], r"--hidden 100000 \(a vocabulary of \d+ characters\): needs about"),
    (["bench", "--shapes", "10000000,64,1,1024"], "--shapes 10000000,64,1,1024: needs about"),
])
@pytest.mark.slow                       # timing: a bound on wall time
def test_what_cannot_fit_is_refused_before_any_work(argv, message, tmp_path, capsys):
    t0 = time.perf_counter()
    assert main([*argv, "--out", str(tmp_path / "out")]) == 2
    assert time.perf_counter() - t0 < 60
    import re
    assert re.search(message, capsys.readouterr().err)
    assert not (tmp_path / "out" / RUNS).exists()


def test_a_short_text_names_the_options_to_change(tmp_path, capsys):
    text = tmp_path / "short.txt"
    text.write_text(("the quick brown fox jumps over the lazy dog. " * 30)[:1200])
    assert main(["charlm", "--text", str(text), "--out", str(tmp_path / "lm")]) == 2
    err = capsys.readouterr().err
    assert f"--text {text}: 1200 characters, 1080 of them for training; --batch 32 streams" in err
    assert "use a smaller --batch (at most 16 here) or --tbptt, or a longer text" in err


def test_charlm_help_states_the_text_it_needs(capsys):
    with pytest.raises(SystemExit):
        main(["charlm", "--help"])
    out = capsys.readouterr().out
    assert "90% to train" in out and "%%" not in out and "about 2,400 characters" in out


# --- messages name what the user typed ---------------------------------------------------------------------

def test_a_stack_names_the_state_dict_key_and_both_sides_of_a_projection():
    import numpy as np
    import scratch_rnn as sr
    rng = np.random.default_rng(0)
    p = {f"{n}_l{layer}": rng.standard_normal(s) for layer in (0, 1) for n, s in
         (("weight_ih", (32, 3 if layer == 0 else 8)), ("weight_hh", (32, 8)), ("bias_ih", (32,)), ("bias_hh", (32,)))}
    p["weight_hh_l1"] = p["weight_hh_l1"][:, :5]
    with pytest.raises(ValueError, match=r"params\['weight_hh_l1'\]: expected shape"):
        sr.stack_forward(p, np.zeros((4, 2, 3)), "lstm", num_layers=2)
    q = {k: v for k, v in p.items() if k.endswith("l0")}
    q["weight_hr_l0"], q["weight_hh_l0"] = rng.standard_normal((4, 8)), rng.standard_normal((32, 4))
    with pytest.raises(ValueError, match=r"proj_size, params\['weight_hr_l0'\]: proj_size=3 asks for .* \(3, 8\), "
                                         r"but params\['weight_hr_l0'\] has shape \(4, 8\)"):
        sr.stack_forward(q, np.zeros((4, 2, 3)), "lstm", proj_size=3)


def test_sampling_a_text_file_says_it_is_not_a_checkpoint(tmp_path, capsys):
    f = tmp_path / "notes.txt"
    f.write_text("hello\n")
    assert main(["sample", str(f)]) == 2
    err = capsys.readouterr().err
    assert "not a checkpoint" in err and "allow_pickle" not in err


def test_report_names_its_argument(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nowhere")]) == 2
    assert f"DIR {tmp_path / 'nowhere'}: expected a folder written by" in capsys.readouterr().err


# --- files as users expect ----------------------------------------------------------------------------------

def test_a_checkpoint_has_the_modes_of_the_users_umask(tmp_path):
    import numpy as np
    import scratch_rnn as sr
    old = os.umask(0o022)
    try:
        path = sr.save_checkpoint(tmp_path / "c", {"w": np.zeros(2)}, {}, {}, 0, np.random.default_rng(0))
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644


def test_a_run_failing_because_of_the_signal_is_not_stored_as_failed(tmp_path):
    """A signal that lands inside a Numba kernel comes back out of it as SystemError (the kernel
    returned with the interruption set), which the run turns into a failure: in-process, that failure
    is not stored, the command stops as interrupted, and the run is run again on resume."""
    import signal
    from scratch_rnn.runs.executors import execute
    from scratch_rnn.runs.signals import Interrupted
    finished = []

    def run(spec):
        if spec.seed == 1:
            try:
                os.kill(os.getpid(), signal.SIGINT)              # the handler raises Interrupted here
                time.sleep(1)
            except Interrupted as err:
                wrapped = SystemError("CPUDispatcher(<function _lstm_backward>) returned a result with an exception set")
                wrapped.__cause__ = err
                return {"failure": {"type": "SystemError", "message": str(wrapped), "traceback": None}}
        finished.append(spec.seed)
        return {"record": _record(spec.seed)}
    specs = [RunSpec(**SPEC, seed=s) for s in range(3)]
    with RunStore(tmp_path, META) as store:
        with pytest.raises(Interrupted):
            execute(specs, store, run, workers=1, progress=False)
    text = (tmp_path / RUNS).read_text()
    assert '"failure"' not in text and text.count("\n") == len(finished) < 3


def test_a_full_disk_without_a_file_name_names_the_output_folder(tmp_path, monkeypatch, capsys):
    """An ENOSPC that carries no file name (raised inside a library) said "the device of None"."""
    from scratch_rnn.study import commands

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(commands, "run_experiment", full)
    assert main(["sweep", "--lengths", "5", "--seeds", "1", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"no space left on the device of {tmp_path}: No space left on device" in err and "None" not in err


MISLEADING = [   # (argv, the message that names the user's own option)
    (["gradflow", "--models", "lstm:chrono", "--T", "2", "--updates", "5"],
     "error: --T 2: the chrono initialisation (lstm:chrono) spreads the forget gates' times over [1, T] and needs T > 2"),
    (["sweep", "--models", "lstm:chrono", "--lengths", "2", "5", "--updates", "5", "--seeds", "1"],
     "error: --lengths 2: the chrono initialisation"),
    (["sweep", "--scheduler", "not-an-address", "--lengths", "5", "--seeds", "1"],
     "error: --scheduler not-an-address: not an address a Dask scheduler listens on"),
]


@pytest.mark.parametrize("argv,message", MISLEADING)
def test_messages_name_the_options_the_user_gave(argv, message, tmp_path, capsys):
    assert main([*argv, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err and "t_max" not in err and "runs:" not in err
    assert not (tmp_path / RUNS).exists()


def test_the_memory_check_suggests_the_commands_own_options(tmp_path, monkeypatch, capsys):
    from scratch_rnn import _resources
    monkeypatch.setattr(_resources, "available_memory", lambda: 1000)
    assert main(["sweep", "--lengths", "5", "--seeds", "1", "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert "use shorter sequences (--lengths) or fewer --workers" in err and "--hidden" not in err
    assert main(["gradflow", "--T", "5", "--out", str(tmp_path / "g")]) == 2
    assert "use shorter sequences (--T) or fewer --workers" in capsys.readouterr().err


def test_another_commands_store_is_refused_in_one_short_line(tmp_path, capsys):
    _store_with(tmp_path, 1)
    assert main(["sweep", "--lengths", "5", "--seeds", "1", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"--out {tmp_path}: holds the runs of another command ('test', not 'sweep'), not mixed" in err
    assert len(err) < 400


def test_rflo_takes_a_numpy_scalar_tau():
    from scratch_rnn.rtrl import rflo_gradients
    p = {"weight_ih": np.ones((3, 1)), "weight_hh": np.eye(3), "bias_ih": np.zeros(3), "bias_hh": np.zeros(3)}
    x = np.ones((2, 1, 1))
    a, b = rflo_gradients(p, x, tau=np.float32(2)), rflo_gradients(p, x, tau=2.0)
    assert np.array_equal(a.params["weight_hh"], b.params["weight_hh"])
    with pytest.raises(ValueError, match="tau: expected a number >= 1, got True"):
        rflo_gradients(p, x, tau=True)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupt_while_the_tables_are_written_is_one_message(sig, tmp_path, monkeypatch, capsys):
    """After the last run, while the outputs are built (outside the run loop): a Ctrl-C printed a
    KeyboardInterrupt traceback and SIGTERM ended the process without a word. Both now end the command
    with the same message and 128 + the signal's number."""
    from scratch_rnn.study import commands

    def interrupted_build(*args, **kwargs):
        os.kill(os.getpid(), sig)
        time.sleep(2)                                          # the handler raises before this returns
        raise AssertionError("the signal did not end the build")
    monkeypatch.setattr(commands, "build_sweep", interrupted_build)
    before = signal.getsignal(signal.SIGTERM)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)   # as a terminal sets it, even where
    #                                                                       the suite runs with SIGINT ignored
    try:
        code = main(["sweep", "--tasks", "first_bit", "--models", "rnn:pytorch", "--lengths", "5", "--seeds", "1",
                     "--updates", "5", "--workers", "1", "--out", str(tmp_path)])
    finally:
        signal.signal(signal.SIGINT, previous)
    assert code == 128 + sig
    err = capsys.readouterr().err
    name = signal.Signals(sig).name
    assert f"scratch-rnn sweep: interrupted by {name}: what was finished is kept; run the same command again" in err
    assert "Traceback" not in err
    assert signal.getsignal(signal.SIGTERM) is before                # the caller's handler is back


def _sigint_as_in_a_terminal() -> None:
    """A child's SIGINT as a terminal gives it: where the suite itself runs in the background, its
    children would otherwise inherit SIGINT ignored (as `nohup ... &` sets it)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_command_waiting_for_another_writer_ends_within_a_second(sig, tmp_path):
    """`--wait` blocks in flock() while another process writes the store: a signal ends it at once,
    with the message (a KeyboardInterrupt traceback, or silence for SIGTERM, before)."""
    import fcntl
    out = tmp_path / "sweep"
    argv = [sys.executable, "-m", "scratch_rnn.cli", "sweep", "--tasks", "first_bit", "--models", "rnn:pytorch",
            "--lengths", "5", "--seeds", "1", "--updates", "5", "--workers", "1", "--out", str(out)]
    assert subprocess.run(argv, capture_output=True).returncode == 0
    fd = os.open(out / ".lock", os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)                              # another writer holds the store
    try:
        proc = subprocess.Popen([*argv[:-4], "--seeds", "2", "--wait", "--out", str(out)], stderr=subprocess.PIPE,
                                text=True, preexec_fn=_sigint_as_in_a_terminal)
        time.sleep(5)                                           # imported, and blocked on the lock
        assert proc.poll() is None
        t0 = time.time()
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
        elapsed = time.time() - t0
    finally:
        os.close(fd)
    assert elapsed < 2 and proc.returncode == 128 + sig, err
    assert f"scratch-rnn sweep: interrupted by {signal.Signals(sig).name}: what was finished is kept" in err
    assert "Traceback" not in err
