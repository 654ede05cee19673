"""The exercises' templates: what is given written out, the function to write raising
``NotImplementedError``. ``scratch-rnn exercise NAME --out FILE`` copies one out; ``scratch-rnn check
FILE`` says where the learner's code goes wrong.

* `rnn`: the vanilla RNN's backward pass (tanh);
* `lstm`: the LSTM's, with the cell state carried back;
* `gru`: the GRU's, PyTorch's form (b_hn inside the reset product);
* `truncated`: the RNN's BPTT cut every k steps (the chunks scheme, ``h.detach()``'s gradient);
* `rtrl`: the RNN's exact gradient carried forward in time (real-time recurrent learning).

Each is written in this package's contract (time-major x (T, B, D), PyTorch's parameter names and
gate order), runs as it is, and imports only NumPy.
"""
