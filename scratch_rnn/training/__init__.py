"""Training: initialisations, losses, optimisers, tasks and texts, the model (a recurrent layer or
stack and a linear head), the sequence model (a head at every step), the engine interface and the
hand-written engine, the loop, checkpoints.

Uses the math modules (`scratch_rnn.cells` and the layers behind it, `scratch_rnn.stack`,
`scratch_rnn.truncated`) and nothing above them.
"""
