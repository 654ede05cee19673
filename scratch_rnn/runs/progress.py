"""What a long command tells the person waiting for it: how many runs, how long, and what it does now.

One estimate, from the first second to the last run:

* before any run, the jobs' summed ``cost()`` times a *calibration*, the seconds one unit of cost takes
  on this machine, measured in a few seconds by the experiment (`scratch_rnn.study.runner.calibrate`:
  a few training updates of the run that sets the pace), divided by the workers. Every run is counted
  to its whole budget, so this is the end of the range that runs stopping early at success make
  shorter; it is said as a range, ``about A to B``, because the model counts updates only;
* as runs finish, the seconds they took per unit of cost take over from the calibration, weighted by
  the cost they cover (`Estimate.seconds_left`), so the estimate follows what this machine and these
  runs actually do, early stops included.

`announce` prints the line a command starts with (or ``resuming: N of M stored`` when the store holds
some), and `compiling` the line before Numba compiles (or loads) the kernels the runs use.
"""
from __future__ import annotations

import sys
import time


def duration(seconds: float) -> str:
    """45 -> '45 s', 750 -> '13 min', 11000 -> '3 h 03 min'."""
    if seconds < 90:
        return f"{max(seconds, 1):.0f} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 90 else f"{minutes // 60} h {minutes % 60:02d} min"


def span(seconds: float) -> str:
    """The range an estimate is said as: the cost model counts updates only (evaluations, start-up
    and uneven work between the workers add to it; runs that stop early at success take from it)."""
    lo, hi = duration(0.8 * seconds), duration(1.25 * seconds)
    return f"about {lo}" if lo == hi else f"about {lo} to {hi}"


class Estimate:
    """The time left of an `execute` call.

    Args:
        total_cost: The summed ``cost()`` of the jobs to run.
        prior: Seconds per unit of cost from the calibration, or None (then the finished runs alone).
        slots: The workers running jobs at once.
    """

    #: the share of the total cost after which the finished runs count as much as the calibration
    WEIGHT = 0.05

    def __init__(self, total_cost: float, prior: float | None, slots: int):
        self.total, self.prior, self.slots = total_cost, prior, max(1, slots)
        self.spent_seconds = self.spent_cost = 0.0

    def finished(self, seconds: float, cost: float) -> None:
        """A run of `cost` took `seconds` (its own training time, not the wall time)."""
        self.spent_seconds += seconds
        self.spent_cost += cost

    def seconds_per_cost(self) -> float | None:
        if self.prior is None:
            return self.spent_seconds / self.spent_cost if self.spent_cost else None
        w = self.WEIGHT * self.total
        return (self.prior * w + self.spent_seconds) / (w + self.spent_cost)

    def seconds_left(self, left_cost: float) -> float | None:
        rate = self.seconds_per_cost()
        return None if rate is None else left_cost * rate / self.slots


def bounds(jobs: list, rate: float, workers: int) -> tuple[float, float]:
    """(least, most) seconds of `jobs` on `workers` at `rate` seconds per unit of cost: every run stopping
    at its first chance (``least_cost()``, where a job has one; else its ``cost()``), and every run using
    its whole budget (``cost()``)."""
    most = sum(j.cost() for j in jobs) * rate / workers
    least = sum(getattr(j, "least_cost", j.cost)() for j in jobs) * rate / workers
    return least, most


def between(least: float, most: float) -> str:
    """'between 3 min (every run stops at its first chance) and 47 min (every run uses its whole budget)'."""
    if duration(least) == duration(most):
        return span(most)
    return (f"between {duration(least)} (every run succeeding at its first chance) and {duration(1.25 * most)} "
            "(every run using its whole budget)")


def announce(what: str, total: int, stored: int, seconds: tuple[float, float] | None, workers: int,
             stream=None) -> None:
    """The first line of a command's runs: how many, how many already stored, and how long on this machine
    (`seconds`: the `bounds` of what is left, or None)."""
    stream = stream or sys.stderr
    todo = total - stored
    if not todo:
        print(f"all {total} {what} are stored; building the outputs from the store", file=stream, flush=True)
        return
    head = f"resuming: {stored} of {total} {what} stored, {todo} to run" if stored else f"{total} {what} to run"
    tail = "" if seconds is None else f", {between(*seconds)} on {workers} worker(s), calibrated on this machine"
    print(head + tail, file=stream, flush=True)


class Calibrated:
    """An experiment's timing whose calibration is already measured (a command of several phases
    measures once, for the estimate of all of them): ``prepare`` does nothing, ``calibrate`` returns it."""

    def __init__(self, seconds_per_cost: float):
        self.seconds_per_cost = seconds_per_cost

    def prepare(self, jobs) -> None:
        pass

    def calibrate(self, jobs) -> float:
        return self.seconds_per_cost


def compiling(prepare, stream=None) -> None:
    """Say that the kernels are being compiled (or loaded from Numba's cache), run `prepare()`, say how long."""
    stream = stream or sys.stderr
    print("compiling the Numba kernels (up to a minute the first time on this machine; loaded from Numba's cache "
          "after) ...", end="", file=stream, flush=True)
    t0 = time.perf_counter()
    prepare()
    print(f" ready in {time.perf_counter() - t0:.1f} s", file=stream, flush=True)


class Uncalibrated:
    """An experiment's timing without a calibration (its jobs' costs are relative only): ``prepare`` runs
    `prepare` under `compiling`, ``calibrate`` returns None, so the command says its runs and the bar its estimate from
    the first finished ones (one short run per worker comes first)."""

    def __init__(self, prepare):
        self._prepare = prepare

    def prepare(self, jobs) -> None:
        compiling(self._prepare)

    def calibrate(self, jobs) -> None:
        return None
