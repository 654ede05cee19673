"""Where every job of an `execute` call is, as a small state machine with no processes in it.

Each job the store lacks is in exactly one state::

    queued --submit--> in flight --finish--> stored
       ^                   |
       +---pool_broke------+  (fewer than MAX_ATTEMPTS tries)     in flight --pool_broke--> stored as failed
                                                                  (the MAX_ATTEMPTS-th try)

* `submit(token)`: the queue's head (the costliest job left) goes in flight under the executor's
  token (its future), at most `slots` at a time (`can_submit`);
* `finish(token)`: a job in flight has its outcome; the caller stores it;
* `pool_broke()`: a local worker process died, so every job in flight is lost with its pool: each goes
  back to the front of the queue, in its order, or, tried `max_attempts` times, comes back as a
  failure to store (`failures.WORKER_DIED`);
* `left_cost()`: the estimated cost of what is queued or in flight, for the time-left estimate.

`scratch_rnn.runs.executors.execute` drives it; `tests/test_store.py` tests each transition alone.
"""
from __future__ import annotations

from typing import Any

from .failures import MAX_ATTEMPTS

class Schedule:
    """The jobs of one `execute` call and their states.

    Args:
        jobs: The jobs to run, in the order to submit them (`execute` sorts them costliest first).
        max_attempts: How many times a job whose worker died is submitted before it is stored as failed.
    """

    def __init__(self, jobs: list, max_attempts: int = MAX_ATTEMPTS):
        self.queue: list = list(jobs)
        self.in_flight: dict[Any, Any] = {}                # the executor's token (a future) -> its job
        self.attempts: dict[Any, int] = {}                 # job -> times lost with a broken pool
        self.max_attempts = max_attempts

    @property
    def done(self) -> bool:
        """Nothing queued and nothing in flight."""
        return not self.queue and not self.in_flight

    def can_submit(self, slots: int) -> bool:
        """Whether a job is queued and a slot is free."""
        return bool(self.queue) and len(self.in_flight) < slots

    def head(self):
        """The job that `submit` would send next."""
        return self.queue[0]

    def submit(self, token) -> Any:
        """queued -> in flight: the queue's head, under `token`; returns the job."""
        job = self.queue.pop(0)
        self.in_flight[token] = job
        return job

    def finish(self, token) -> Any:
        """in flight -> (to be stored): the job under `token`."""
        return self.in_flight.pop(token)

    def pool_broke(self) -> list:
        """in flight -> queued, or -> stored as failed: every job in flight goes back to the front of
        the queue in its order, unless it has now been lost `max_attempts` times. Returns the jobs to
        store as failed (`WORKER_DIED`)."""
        lost = list(self.in_flight.values())
        self.in_flight.clear()
        failed: list = []
        back: list = []
        for job in lost:
            self.attempts[job] = self.attempts.get(job, 0) + 1
            (back if self.attempts[job] < self.max_attempts else failed).append(job)
        self.queue[:0] = back
        return failed

    def left_cost(self) -> float:
        """The summed ``cost()`` of what is queued or in flight."""
        return sum(j.cost() for j in self.queue) + sum(j.cost() for j in self.in_flight.values())
