"""A learner's own BPTT, checked against the exact one: which gradient, which step, which gate, and why.

* `contracts`: the two ways of writing a layer the checker accepts, CS231n's assignment signatures and
  this package's contract, and the conversions between their layouts and the canonical one;
* `mistakes`: the catalogue of classic mistakes, each as the exact BPTT with that one mistake made, so
  that a hint is named only when the learner's numbers equal the mistake's;
* `cases`: the generated cases, and the learner's functions and the exact ones run on them (a
  learner's function that breaks the contract is a one-line `Finding`);
* `diagnose`: the forward check, the backward check, the first wrong step counting back from T-1,
  the wrong gate blocks and the matching mistake;
* `report`: a learner's file in, the text and the per-step picture out (``scratch-rnn check FILE``);
* `exercises` and `templates`: the exercises' templates, written out by ``scratch-rnn exercise NAME``.

Uses the cells (`scratch_rnn.cells`) and their initialisation (`scratch_rnn.training.init`); nothing
below it imports from here.
"""
from .diagnose import Report, check_family
from .report import check_file, check_namespace, check_namespace_text, profile_figure, text

__all__ = ["check_file", "check_namespace", "check_namespace_text", "check_family", "Report", "profile_figure",
           "text"]
