"""What several test files share: the public functions of every cell by name, the registry's
cell names and gate counts, and a way to find the processes a test started."""
import os
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
