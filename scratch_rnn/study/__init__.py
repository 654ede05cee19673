"""The study: RNN vs LSTM on temporal XOR and its controls, as data and as commands.

* `specs`: the protocols and `RunSpec`, one training run as data;
* `records`: `RunRecord`, the schema of a finished run that tables, figures and the report read;
* `runner`: `run_one` (a spec in, a record out) and `run_many` (worker processes);
* `gradflow`: the exact gradient analysis (Jacobian bound, cell path, gates, the notebook's metric);
* `stats`, `plots`, `report`: Wilson intervals and grouping, figures, the markdown report;
* `commands`: `reproduce`, `sweep` and `gradflow` end to end.

Uses `scratch_rnn.training` and the math modules; nothing below it imports from here.
"""
