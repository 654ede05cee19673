"""The vanishing-gradient study: RNN vs LSTM (and GRU) on temporal XOR and its controls, as data and
as commands.

* `specs`: the protocols and `RunSpec`, one training run as data;
* `records`: `RunRecord`, the schema of a finished run that tables, figures and the report read,
  and the study's view of a run store (`stored_records`, `stored_failures`);
* `runner`: `run_one` (a spec in, a record out; `run_one_safe` returns a failure as data);
* `gradflow`: the exact gradient analysis (Jacobian bound, cell path, gates, the notebook's metric);
* `gradratios`: exact gradient ratios at initialisation over many draws;
* `stats`: the statistics: Wilson intervals, Fisher's test and its exact power (the smallest
  difference it detects), grouping and labels;
* `tables`, `plots`, `report`: result rows, figures, the markdown report (with its statistical sections);
* `power`: the ``power`` command, the curriculum comparisons with 30 seeds a cell;
* `commands`: `reproduce`, `sweep`, `gradflow` and `report` end to end.

Runs go through the run store and executors of `scratch_rnn.runs`; the models through
`scratch_rnn.training`. Nothing below it imports from here.
"""
