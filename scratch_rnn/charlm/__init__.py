"""The character-level language model trained with streaming truncated BPTT, TBPTT(k1, k2).

* `tbptt`: the streams, the TBPTT(k1, k2) trainer, validation bits per character, sampling;
* `command`: ``scratch-rnn charlm`` (train, checkpoint, resume) and ``scratch-rnn sample``.

The text itself (corpus, vocabulary, split) is `scratch_rnn.training.text`; the model is the
sequence model of `scratch_rnn.training.sequence`.
"""
