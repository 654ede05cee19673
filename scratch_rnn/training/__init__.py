"""Training: everything between a recurrent layer and a trained model.

* `init`: PyTorch's default initialisation and the study's (forget bias, chrono, orthogonal, identity);
* `losses`: softmax cross-entropy, MSE and the linear head, forward and backward;
* `optim`: Adam, SGD and global-norm clipping, with PyTorch's definitions;
* `tasks`: temporal XOR, the first-bit control, the adding problem, copying;
* `text`: a corpus as character ids (`Vocabulary`);
* `model`: a recurrent layer or stack and a linear head as one flat parameter dict;
* `sequence`: a head and a loss at every step;
* `engine`: the `Engine` interface both engines implement, and `ScratchEngine`;
* `train`: the loop and its `History`;
* `checkpoint`: ``.npz`` checkpoints read with ``allow_pickle=False``.

Uses the math modules (`scratch_rnn.cells` and the layers behind it, `scratch_rnn.stack`,
`scratch_rnn.truncated`) and nothing above them.
"""
