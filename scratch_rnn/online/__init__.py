"""The online-learning experiment (``scratch-rnn online``): RTRL and its approximations against BPTT,
as an experiment like `scratch_rnn.study` and `scratch_rnn.truncation`; the gradient algorithms
themselves are math and live in `scratch_rnn.rtrl`.

* `tasks`: the tasks with a loss at every step (Marschall et al.'s add and mimic tasks, copying);
* `measure`: each method's alignment with the exact gradient, online training with each method, and
  cost per step;
* `experiment`: the jobs of the command (alignment, learning, cost) and the protocols;
* `stream_tasks`: Marschall et al.'s add and mimic tasks as endless streams;
* `stream`: Marschall et al.'s setting, one leaky RNN on one stream with an SGD step at every step, and
  every method of their comparison;
* `marschall`: ``online --setting marschall``: its jobs, its analysis (performance against difficulty,
  pairwise alignment, the clusterings and their tests) and its report;
* `report`: the command end to end, through `scratch_rnn.runs.run_experiment`: tables, figures and
  ``online.md`` from the stored results alone.
"""
