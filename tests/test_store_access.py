"""A run store that another user owns, that was edited by hand, or that holds no run yet: each is a
clear error naming the file (and the user), or is read correctly, never a traceback.

Root ignores file permissions, so the permission cases run the command in a child process without
CAP_DAC_OVERRIDE (``setpriv``): as root it then obeys a file's owner bits like any user."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scratch_rnn.cli import main
from scratch_rnn.runs import RUNS
from scratch_rnn.runs.store import QUARANTINE

TINY = ["sweep", "--tasks", "xor", "--models", "rnn:pytorch", "--lengths", "6", "--updates", "20", "--workers", "1"]


def _unprivileged(args: list[str]) -> subprocess.CompletedProcess:
    """``scratch-rnn ARGS`` in a child process that file permissions apply to."""
    prefix: list[str] = []
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: file permissions cannot be made to apply")
        prefix = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]
    return subprocess.run([*prefix, sys.executable, "-m", "scratch_rnn.cli", *args], capture_output=True, text=True,
                          timeout=120)


@pytest.fixture
def store(tmp_path) -> Path:
    """A sweep store with one finished run."""
    out = tmp_path / "sweep"
    assert main([*TINY, "--seeds", "1", "--out", str(out)]) == 0
    return out


@pytest.mark.parametrize("name,args,message", [
    (".lock", TINY + ["--seeds", "2"], r"--out: the store's lock {}: cannot open for writing it as user \S+ \(owned by "),
    (RUNS, TINY + ["--seeds", "2"], r"--out: the store's {}: cannot write to it as user \S+ \(owned by \S+, mode 444\)"),
    (RUNS, ["report"], r"the store's runs {}: cannot read it as user"),
    ("store.json", ["report"], r"the store's description {}: cannot read it as user"),
])
def test_a_store_file_this_user_cannot_use_is_named_before_any_run(name, args, message, store):
    """The lock and the runs' file not writable, the runs or the description not readable: exit 2 with
    the file, the user and the mode, before any run is trained (a run trained and then lost to an
    unwritable file is what this replaces)."""
    path = store / name
    before = (store / RUNS).read_bytes()
    path.chmod(0o444 if args[0] != "report" else 0o000)
    try:
        argv = [*args, str(store)] if args[0] == "report" else [*args, "--out", str(store)]
        res = _unprivileged(argv)
    finally:
        path.chmod(0o644)
    import re
    assert res.returncode == 2, res.stderr
    assert re.search(message.format(re.escape(str(path))), res.stderr), res.stderr
    assert "Traceback" not in res.stderr
    assert (store / RUNS).read_bytes() == before                 # nothing trained, nothing lost


def test_a_checkpoint_this_user_cannot_read_is_named(tmp_path):
    ckpt = tmp_path / "model.npz"
    ckpt.write_bytes(b"PK\x03\x04")
    ckpt.chmod(0o000)
    res = _unprivileged(["sample", str(ckpt)])
    assert res.returncode == 2, res.stderr
    assert f"checkpoint {ckpt}: cannot read it as user" in res.stderr and "Traceback" not in res.stderr


DAMAGED = [
    {"key": "abc", "record": {}},                                # valid JSON with a key, but no run
    {"key": "def", "host": "h", "failure": {"type": "E", "message": "m"}},     # a failure without its spec
]


def test_lines_that_are_no_complete_run_are_set_aside_by_file_and_line(store, capsys):
    """Valid JSON with a key and a record, failure or result that does not decode into a run: `report`
    skips it naming the file and line, a resume sets it aside, and report then reads the store."""
    good = json.loads((store / RUNS).read_text().splitlines()[0])
    unknown_field = {**good, "record": {**good["record"], "spec": {**good["record"]["spec"], "colour": "red"}}}
    other_key = {**good, "key": "0" * 20}                        # a copy under the key of no such run
    lines = [*DAMAGED, unknown_field, other_key]
    with open(store / RUNS, "a") as f:
        f.writelines(json.dumps(line) + "\n" for line in lines)
    assert main(["report", str(store)]) == 0
    err = capsys.readouterr().err
    assert f"{store / RUNS}: 4 damaged line(s) skipped (line 2, 3, 4, 5;" in err
    assert main([*TINY, "--seeds", "1", "--out", str(store)]) == 0          # the resume sets them aside
    assert f"set aside into {store / QUARANTINE}" in capsys.readouterr().err
    quarantined = [json.loads(line) for line in (store / QUARANTINE).read_text().splitlines()]
    assert [q["line"] for q in quarantined] == [2, 3, 4, 5]
    assert "expected the 'spec' of its 'failure'" in quarantined[1]["problem"]
    assert "TypeError" in quarantined[2]["problem"] and "colour" in quarantined[2]["problem"]
    assert "not the run its key names" in quarantined[3]["problem"]
    assert len((store / RUNS).read_text().splitlines()) == 1
    assert main(["report", str(store)]) == 0
    assert "damaged" not in capsys.readouterr().err


def test_a_runs_file_that_is_a_folder_is_named(store, capsys):
    (store / RUNS).unlink()
    (store / RUNS).mkdir()
    assert main(["report", str(store)]) == 2
    assert f"{store / RUNS}: expected the store's runs (a JSON-lines file), got a folder" in capsys.readouterr().err
    assert main([*TINY, "--seeds", "1", "--out", str(store)]) == 2


def test_report_of_a_reproduce_store_with_no_finished_run(tmp_path):
    """A reproduce store interrupted before its first run: the report says so (an IndexError before)."""
    from scratch_rnn.runs import RunStore
    from scratch_rnn.study import specs as sp
    RunStore(tmp_path, {"command": "reproduce", "notebook_protocol": sp.QUICK_NOTEBOOK,
                        "study_protocol": dict(sp.QUICK)}).close()
    assert main(["report", str(tmp_path)]) == 0
    text = (tmp_path / "report.md").read_text()
    assert "**No run has finished yet**" in text and "**A smoke run (`--quick`)**" in text
