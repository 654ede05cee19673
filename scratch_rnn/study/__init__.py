"""The study: RNN vs LSTM on temporal XOR and its controls, as data and as commands.

* `specs`: the protocols and `RunSpec`, one training run as data;
* `records`: `RunRecord`, the schema of a finished run that tables, figures and the report read;
* `runner`: `run_one` (a spec in, a record out; `run_one_safe` returns a failure as data);
* `store`: the run store, one JSON line per finished run, appended and synced at once;
* `executors`: `execute`, the runs a store lacks on a local process pool or a Dask cluster;
* `gradflow`: the exact gradient analysis (Jacobian bound, cell path, gates, the notebook's metric);
* `stats`, `plots`, `report`: Wilson intervals and grouping, figures, the markdown report;
* `commands`: `reproduce`, `sweep`, `gradflow` and `report` end to end.

Uses `scratch_rnn.training` and the math modules; nothing below it imports from here.
"""
