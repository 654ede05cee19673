"""The record of one finished run: the schema that results files, tables, figures and the report read.

A record is written as JSON by `RunRecord.to_dict` and read back by `RunRecord.from_dict`; the
keys are the fields below, ``spec`` holds the `RunSpec` fields.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from .specs import RunSpec


@dataclass
class RunRecord:
    spec: RunSpec
    updates: int                          # updates performed (fewer than the budget after early success)
    evals: list                           # [[update, screen metric], ...]: accuracy, or MSE for regression
    final_accuracy: float | None          # test accuracy on spec.eval_n fresh sequences (classification)
    final_mse: float | None               # test MSE on spec.eval_n fresh sequences (regression)
    succeeded: bool                       # the test metric meets the protocol's threshold (spec.passes)
    updates_to_success: int | None        # the update at which the run stopped successfully (early stopping)
    diverged: dict | None                 # {"update", "tensor"} when training stopped on a NaN or inf
    history: dict | None                  # History.to_dict(): loss, accuracy, grad_norm per update
    seconds: float
    runaway_at: int | None = None         # first update whose loss exceeded RUNAWAY_FACTOR x the first loss
    flow_init: dict | None = None         # exact profiles at initialisation (spec.flow)
    flow_final: dict | None = None        # ... and after training
    notebook_flow: list | None = None     # the notebook's metric per t (spec.notebook_flow)
    notebook_flow_exact: list | None = None  # exact ||dL/dh_t|| on the same sequence
    curriculum: dict | None = None        # curriculum arm: {"passed": [[length, update], ...] at each switch,
                                          # "final_by_length": {length: test metric}, the lengths before T,
                                          # with spec.flow "flow_at_switch": [{"length", "update", "h"[, "c"]}]
                                          # the exact profiles at T when each length was passed}
    near_misses: list | None = None       # [[update, screen, test], ...]: the screen passed, the test did not,
                                          # and training went on

    @property
    def final_metric(self) -> float:
        """The test metric that decides success: MSE for a regression task, else accuracy."""
        value = self.final_mse if self.spec.regression else self.final_accuracy
        return float("nan") if value is None else value

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "RunRecord":
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"run record: unexpected keys {unknown}; expected a subset of {sorted(names)}")
        return cls(**{**d, "spec": RunSpec(**d["spec"])})


def stored_records(store, specs=None) -> list[RunRecord]:
    """The records in a run store (`scratch_rnn.runs.RunStore`), of `specs` (in their order) when given."""
    return [RunRecord.from_dict(d) for d in store.record_dicts(specs)]


def stored_failures(store, specs=None) -> list[tuple[RunSpec, dict]]:
    """(spec, failure) of the failed runs in a run store, of `specs` (in their order) when given."""
    return store.failures(specs, decode=lambda fields: RunSpec(**fields))


def stored_runs(store, specs) -> tuple[list[RunRecord], list[tuple[RunSpec, dict]]]:
    """(records, failures) of `specs` in a run store: how the study's commands read their store back
    (`scratch_rnn.runs.run_experiment`'s ``stored``)."""
    return stored_records(store, specs), stored_failures(store, specs)


def decode_line(line: dict) -> None:
    """Raise unless a stored line of the study decodes into a complete run: a `RunRecord` whose spec is
    the job of the line's key, or a failure whose spec is (the run store's ``decode``)."""
    from ..runs.store import run_key
    spec = RunRecord.from_dict(line["record"]).spec if "record" in line else RunSpec(**line["spec"])
    if run_key(spec) != line["key"]:
        raise ValueError("its spec is not the run its key names")
