"""A run interrupted mid-way resumes from its last snapshot to the record an uninterrupted run writes,
on both engines; the snapshot goes once the outcome is stored."""
import numpy as np
import pytest

from scratch_rnn.runs import inflight
from scratch_rnn.study import runner
from scratch_rnn.study.specs import RunSpec

#: a curriculum run (10 -> 20) with evaluations, near misses possible, and the gradient profiles
SPEC = dict(experiment="study", task="xor", cell="lstm", init="forget_bias", T=20, updates=160, lr=3e-3, batch=8,
            clip=1.0, eval_every=50, screen_n=64, eval_n=64, arm="curriculum", flow=True, seed=3)


class Killed(BaseException):
    """What a SIGKILL would do to the run: end it between two snapshots."""


def _without_seconds(record: dict) -> dict:
    return {k: v for k, v in record.items() if k != "seconds"}


@pytest.mark.parametrize("engine,killed_at", [("scratch", 75), ("torch", 75), ("scratch", 50), ("torch", 50)])
def test_an_interrupted_run_resumes_to_the_uninterrupted_record(engine, killed_at, tmp_path, monkeypatch):
    """Killed at update 75 (between two screens) or 50 (just after the snapshot that follows a screen):
    the resumed run's record is the uninterrupted one's."""
    spec = RunSpec(**SPEC, engine=engine)
    straight = runner.run_one_record(spec)
    folder = tmp_path / inflight.INFLIGHT
    monkeypatch.setattr(inflight, "SAVE_EVERY_S", 0.0)            # a snapshot at every chance
    real_train, calls = runner.train, []

    def train_then_die(*args, **kwargs):
        calls.append(kwargs["start"])
        if kwargs["start"] == killed_at:                         # mid-run, in the chunk that starts here
            raise Killed
        return real_train(*args, **kwargs)
    monkeypatch.setattr(runner, "train", train_then_die)
    with pytest.raises(Killed):
        inflight._run_in(str(folder), runner.run_one_record, spec)
    assert len(list(folder.iterdir())) == 1                      # its snapshot, at update `killed_at`
    calls.clear()
    monkeypatch.setattr(runner, "train", lambda *a, **k: (calls.append(k["start"]), real_train(*a, **k))[1])
    resumed = inflight._run_in(str(folder), runner.run_one_record, spec)
    assert calls[0] == killed_at                                 # resumed from the snapshot, not from 0
    assert _without_seconds(resumed) == _without_seconds(straight)
    assert resumed["curriculum"]["passed"] or resumed["evals"]   # the loop's own state came back too


def test_a_snapshot_of_another_format_or_a_torn_one_starts_over(tmp_path):
    saved = inflight.InFlight(tmp_path / "x.pkl")
    saved.save({"done": 3})
    assert saved.load()["done"] == 3
    (tmp_path / "x.pkl").write_bytes(b"\x80\x05torn")
    assert saved.load() is None
    import pickle
    (tmp_path / "x.pkl").write_bytes(pickle.dumps({"done": 3, "format": inflight.FORMAT + 1}))
    assert saved.load() is None


def test_the_executor_discards_a_snapshot_once_the_outcome_is_stored(tmp_path):
    from scratch_rnn.cli import main
    from scratch_rnn.runs import RunStore
    from scratch_rnn.runs.store import run_key
    from scratch_rnn.study import specs as sp
    argv = ["sweep", "--tasks", "first_bit", "--models", "rnn:pytorch", "--lengths", "5", "--seeds", "1",
            "--updates", "5", "--workers", "1", "--out", str(tmp_path)]
    proto = {**sp.STUDY, "updates": 5, "lr": 1e-3, "clip": 1.0, "flow_lengths": (), "dtype": "float32"}
    spec = sp.study_specs("scratch", proto, tasks=["first_bit"], models=[("rnn", "pytorch")], lengths=[5], seeds=1)[0]
    stale = tmp_path / inflight.INFLIGHT / f"{run_key(spec)}.pkl"
    stale.parent.mkdir(parents=True)
    inflight.InFlight(stale).save({"unrelated": np.zeros(1)})  # no loop state: the run starts over
    assert main(argv) == 0
    assert not stale.exists()
    (line,) = RunStore(tmp_path, None, read_only=True).lines.values()
    assert "record" in line                                      # trained from the start, not failed


def test_a_snapshot_that_cannot_be_written_warns_once_and_the_run_goes_on(tmp_path):
    """A Dask worker on another machine may not see OUT: the run goes on without snapshots."""
    blocker = tmp_path / "file"
    blocker.write_text("")                                       # a folder cannot be made under a file
    saved = inflight.InFlight(blocker / "inflight" / "x.pkl")
    with pytest.warns(RuntimeWarning, match="the run's snapshot cannot be saved"):
        saved.save({"done": 1})
    assert saved.path is None and not saved.due()
    saved.save({"done": 2})                                      # silent now: nothing to save to


def test_fresh_moves_the_snapshots_aside_with_the_runs(tmp_path):
    """--fresh starts over: the snapshots of runs in flight go aside with the runs, not resumed."""
    from scratch_rnn.runs import RunStore
    RunStore(tmp_path, {"command": "test"}).close()
    inflight.InFlight(tmp_path / inflight.INFLIGHT / "abc.pkl").save({"done": 3})
    RunStore(tmp_path, {"command": "test"}, fresh=True).close()
    assert not (tmp_path / inflight.INFLIGHT).exists()
    (aside,) = tmp_path.glob("previous-*")
    assert (aside / inflight.INFLIGHT / "abc.pkl").is_file()
