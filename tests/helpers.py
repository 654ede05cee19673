"""What several test files share: the public functions of every cell by name, the registry's
cell names and gate counts, a way to find the processes a test started, and a process pool that
runs each job at once in the test's own process and breaks where it is told to."""
import os
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import scratch_rnn as sr
from scratch_rnn.cells import CELLS as REGISTRY

#: every cell's name, in the registry's order
CELLS = tuple(REGISTRY)
#: G of every cell: weight_ih is (G*H, D)
GATES = {name: cell.gates for name, cell in REGISTRY.items()}
#: the public forward and backward functions, each with its own signature
FORWARD = {"rnn": sr.rnn_forward, "lstm": sr.lstm_forward, "gru": sr.gru_forward}
BACKWARD = {"rnn": sr.rnn_backward, "lstm": sr.lstm_backward, "gru": sr.gru_backward}
assert set(FORWARD) == set(BACKWARD) == set(CELLS), "a cell of the registry has no public functions listed here"


def marked_processes(marker: str) -> list[int]:
    """PIDs of live processes (other than this one) whose environment holds `marker`: a command a test
    started with the marker set, and every worker it forked or spawned. Needs /proc."""
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit() and int(d.name) != os.getpid():
            try:
                if marker.encode() in (d / "environ").read_bytes():
                    pids.append(int(d.name))
            except OSError:
                pass
    return pids


def immediate_pool(pools: list, submitted: list, refuse=lambda pool, job: False, dies=lambda job: False):
    """A stand-in for `scratch_rnn.runs.executors._Local` that runs each job as it is submitted.
    Every pool made is appended to `pools`, every job run to `submitted`; ``refuse(pool, job)`` makes
    the submit itself raise BrokenProcessPool (a worker died between two waits), ``dies(job)`` makes
    the job's future raise it (its worker died while it ran)."""
    class Pool:
        def __init__(self, workers, run):
            self.slots, self.run, self.calls = workers, run, 0
            pools.append(self)

        def submit(self, job):
            self.calls += 1
            if refuse(self, job):
                raise BrokenProcessPool("a worker died")
            submitted.append(job.k)
            fut: Future = Future()
            if dies(job):
                fut.set_exception(BrokenProcessPool("a worker died"))
            else:
                fut.set_result(self.run(job))
            return fut

        def close(self, now=False):
            pass
    return Pool
