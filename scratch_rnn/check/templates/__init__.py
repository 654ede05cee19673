"""The exercises' templates: a forward pass given, its BPTT to write. ``scratch-rnn exercise NAME
--out FILE`` copies one out; ``scratch-rnn check FILE`` says where the learner's BPTT goes wrong.

* `rnn_bptt`: the vanilla RNN's backward pass (tanh);
* `lstm_bptt`: the LSTM's, with the cell state carried back;
* `gru_bptt`: the GRU's, PyTorch's form (b_hn inside the reset product).

Each is written in this package's contract (time-major x (T, B, D), PyTorch's parameter names and
gate order), runs as it is (its backward raises ``NotImplementedError``), and imports only NumPy.
"""
