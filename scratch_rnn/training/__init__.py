"""Training: initialisations, losses, optimisers, tasks, the model (a recurrent layer and a
linear head), the engine interface and the hand-written engine, the loop, checkpoints.

Uses the math modules (`scratch_rnn.rnn`, `scratch_rnn.lstm`) and nothing above it.
"""
