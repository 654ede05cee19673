"""What several test files share: the public functions of every cell by name, and the registry's
cell names and gate counts."""
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
