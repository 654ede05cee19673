"""The truncation study: what truncated BPTT keeps of the exact gradient, and what it can still train.

* `experiment`: the protocols and the jobs (`FidelityJob`: cosine and norm ratio of truncated against
  exact gradients, both schemes, k from 1 to T; `TrainingJob`: the copying task trained with TBPTT(k));
* `report`: ``scratch-rnn truncation`` end to end: the jobs into a run store (`scratch_rnn.runs`), then
  the tables, figures and ``truncation.md`` from the stored results alone.

The truncated gradients themselves are `scratch_rnn.truncated_backward`.
"""
