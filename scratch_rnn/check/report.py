"""A learner's file in, the checker's verdict out: load the file, check every function pair it
defines, print what was found, and draw where the recurrence breaks.

`check_file` is the public entry (``scratch-rnn check FILE`` calls it); `profile_figure` draws
|learner - exact| against t for a pair that is wrong, so the step where the error starts is seen.
"""
from __future__ import annotations

import importlib.util
import sys
import textwrap
from pathlib import Path

import numpy as np
from numpy.typing import DTypeLike

from .._files import save_figure
from .contracts import families_in
from .diagnose import Report, check_family, pair_name


def load_learner(path) -> dict:
    """The namespace of a learner's Python file, imported under its own name.

    Args:
        path: The file.

    Returns:
        The module's globals.

    Raises:
        ValueError: The file does not exist, is not Python, or fails to import (with the error's line).
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"FILE: {path} does not exist or is not a file")
    spec = importlib.util.spec_from_file_location(f"learner_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise ValueError(f"FILE: {path} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent))                       # the learner's own helpers beside the file
    try:
        spec.loader.exec_module(module)
    except Exception as err:
        raise ValueError(f"FILE: importing {path} raised {type(err).__name__}: {err}") from None
    finally:
        sys.path.remove(str(path.parent))
    return vars(module)


def check_namespace(ns: dict, seed: int = 0, dtype: DTypeLike = np.float64) -> list[Report]:
    """Check every function pair a namespace defines (`contracts.families_in`).

    Args:
        ns: A learner's namespace (a module's globals).
        seed: Seeds the generated cases.
        dtype: The cases' dtype, float64 or float32.

    Returns:
        One `Report` per function pair found.

    Examples:
        >>> from scratch_rnn.check import check_namespace
        >>> reports = check_namespace({"rnn_forward": sr.rnn_forward, "rnn_backward": sr.rnn_backward})
        >>> [(r.family.cell, r.correct) for r in reports]                            # this package's own BPTT passes
        [('rnn', True)]
    """
    return [check_family(fam, ns, seed, dtype) for fam in families_in(ns)]


def check_file(path: str | Path, seed: int = 0, dtype: DTypeLike = np.float64) -> list[Report]:
    """Check a learner's file: every function pair it defines, on generated cases.

    Args:
        path: The learner's Python file.
        seed: Seeds the generated cases.
        dtype: The cases' dtype: float64 (the default; errors within 1e-7 are rounding) or float32.

    Returns:
        One `Report` per function pair found (none: the file defines no function the checker knows).

    Raises:
        ValueError: The file cannot be loaded.

    Examples:
        >>> import pathlib, tempfile
        >>> from scratch_rnn.check import check_file
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "empty.py"
        >>> _ = path.write_text("import numpy as np")                               # defines none of the functions
        >>> check_file(path)
        []
    """
    return check_namespace(load_learner(path), seed, dtype)


def check_namespace_text(ns: dict, path: str | Path | None = None, seed: int = 0) -> tuple[list[Report], str]:
    """Check a namespace and say it as ``scratch-rnn check`` does.

    Args:
        ns: A learner's namespace (a module's globals).
        path: The file it came from, for the text.
        seed: Seeds the generated cases.

    Returns:
        (the reports, their text).

    Examples:
        >>> from scratch_rnn.check import check_namespace_text
        >>> reports, text = check_namespace_text({"rnn_forward": sr.rnn_forward, "rnn_backward": sr.rnn_backward})
        >>> reports[0].correct and "rnn" in text
        True
    """
    reports = check_namespace(ns, seed)
    return reports, text(reports, path)


def text(reports: list[Report], path: str | Path | None = None) -> str:
    """The reports as the command prints them.

    Args:
        reports: What `check_file` returned.
        path: The learner's file, named when it defines nothing the checker knows.

    Returns:
        One block per function pair: its verdict, then its findings indented.

    Examples:
        >>> from scratch_rnn.check import check_namespace, text
        >>> reports = check_namespace({"rnn_forward": sr.rnn_forward, "rnn_backward": sr.rnn_backward})
        >>> isinstance(text(reports), str)
        True
    """
    if not reports:
        from .contracts import FAMILIES
        names = sorted({n for f in FAMILIES for n in (f.forward, f.backward)})
        return (f"{path or 'the file'}: defines none of the functions the checker knows ({', '.join(names)}); "
                "name yours as the contract does")
    out = []
    for r in reports:
        f = r.family
        verdict = "correct" if r.correct else \
            "not implemented yet" if any("not implemented yet" in line for line in r.lines) else "WRONG"
        out.append(f"{pair_name(f)} ({f.contract} contract, {f.cell.upper()}, {f.level}): {verdict}")
        out += [textwrap.fill(line, 100, initial_indent="  ", subsequent_indent="    ", break_on_hyphens=False)
                for line in r.lines]
    return "\n".join(out)


def profile_figure(report: Report, path: Path) -> Path | None:
    """Draw |learner - exact| against t for a wrong pair's first failing case, where the error starts.

    Args:
        report: A `Report` of a wrong pair.
        path: The PNG to write.

    Returns:
        The path written, or None when there is nothing to draw (a correct pair, or a finding before
            any number).

    Examples:
        >>> import pathlib, tempfile
        >>> from scratch_rnn.check import check_namespace, profile_figure
        >>> report = check_namespace({"rnn_forward": sr.rnn_forward, "rnn_backward": sr.rnn_backward})[0]
        >>> profile_figure(report, pathlib.Path(tempfile.mkdtemp()) / "profile.png") is None   # a passing BPTT: none
        True
    """
    if not report.profile:
        return None
    import matplotlib.pyplot as plt
    t, err = np.array(report.profile).T
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.semilogy(t, np.maximum(err, 1e-17), "o-", color="tab:red")
    ax.axhline(1e-7, color="0.5", lw=0.8, ls="--", label="float64 tolerance")
    if report.first_wrong_step is not None:
        ax.axvline(report.first_wrong_step, color="tab:blue", lw=0.8, label=f"first wrong step t = {report.first_wrong_step}")
    ax.set_xlabel("step t")
    ax.set_ylabel("|yours - exact| (relative)")
    ax.set_title(f"{report.family.backward}: where the error starts")
    ax.set_xticks(t.astype(int))
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path)
