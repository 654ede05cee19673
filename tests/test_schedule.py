"""The executor's state machine (`scratch_rnn.runs.schedule.Schedule`), one transition at a time, with
no processes: queued -> in flight -> stored; in flight -> queued when the pool broke; in flight ->
stored as failed on the last attempt. Then `execute` driving it through a pool whose worker dies."""
from dataclasses import dataclass

from helpers import immediate_pool

from scratch_rnn.runs import RunStore, executors
from scratch_rnn.runs.failures import MAX_ATTEMPTS, WORKER_DIED
from scratch_rnn.runs.schedule import Schedule


@dataclass(frozen=True)
class _Job:
    k: int

    def cost(self) -> float:
        return float(self.k)


def test_submit_takes_the_head_and_respects_the_slots():
    s = Schedule([_Job(3), _Job(2), _Job(1)])
    assert s.can_submit(2) and s.head() == _Job(3)
    assert s.submit("a") == _Job(3) and s.submit("b") == _Job(2)
    assert not s.can_submit(2) and s.can_submit(3)
    assert s.in_flight == {"a": _Job(3), "b": _Job(2)} and s.queue == [_Job(1)]


def test_finish_hands_back_the_job_and_frees_its_slot():
    s = Schedule([_Job(1), _Job(2)])
    s.submit("a")
    assert s.finish("a") == _Job(1) and s.in_flight == {} and not s.done
    s.submit("b")
    s.finish("b")
    assert s.done and not s.can_submit(4)


def test_a_broken_pool_puts_what_was_in_flight_back_at_the_front_in_order():
    s = Schedule([_Job(5), _Job(4), _Job(3)])
    s.submit("a"), s.submit("b")
    assert s.pool_broke() == []
    assert s.queue == [_Job(5), _Job(4), _Job(3)] and s.in_flight == {}
    assert s.attempts == {_Job(5): 1, _Job(4): 1}


def test_the_last_attempt_comes_back_as_a_failure_to_store():
    s = Schedule([_Job(1), _Job(2)], max_attempts=2)
    s.submit("a")
    s.pool_broke()                                   # attempt 1: back in the queue
    s.submit("b"), s.submit("c")                     # _Job(1) again, with _Job(2) for the first time
    assert s.pool_broke() == [_Job(1)]               # attempt 2 of _Job(1): stored as failed
    assert s.queue == [_Job(2)]


def test_the_time_left_counts_the_queue_and_the_flight():
    s = Schedule([_Job(3), _Job(2), _Job(1)])
    s.submit("a")
    s.finish("a")
    s.submit("b")
    assert s.left_cost() == 3.0


def _run(job):
    return {"result": {"k": job.k, "seconds": 0.0}}


def test_execute_stores_a_job_whose_worker_always_dies_as_failed_and_runs_the_rest(tmp_path, monkeypatch):
    """Job 7 kills its worker every time: it is submitted MAX_ATTEMPTS times on fresh pools, then
    stored as WORKER_DIED; every other job is stored once, as a result."""
    pools, submitted = [], []
    Pool = immediate_pool(pools, submitted, dies=lambda job: job.k == 7)
    monkeypatch.setattr(executors, "_Local", Pool)
    jobs = [_Job(k) for k in range(8)]
    with RunStore(tmp_path, {"command": "test"}) as store:
        out = executors.execute(jobs, store, _run, workers=2, progress=False)
        assert store.failures(jobs) == [(_Job(7), WORKER_DIED)]
        assert sorted(j.k for j, _ in store.results(jobs)) == list(range(7))
    assert submitted.count(7) == MAX_ATTEMPTS and out.ran == 8 and out.failed == 1
    assert len(pools) == 1 + MAX_ATTEMPTS
