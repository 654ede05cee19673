"""The walkthrough notebook: its source runs headless (quick mode), and the committed .ipynb is the
executed form of that source, with every output."""
import importlib.util
from pathlib import Path

import jupytext
import nbformat
import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _builder():
    spec = importlib.util.spec_from_file_location("build_walkthrough", DOCS / "build_walkthrough.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _outputs(nb, kind):
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if kind(o)]


@pytest.mark.slow
def test_walkthrough_runs_headless_in_quick_mode():
    nb = _builder().execute(quick=True, timeout=300)             # raises CellExecutionError on any failing cell
    assert not _outputs(nb, lambda o: o.output_type == "error")
    assert len(_outputs(nb, lambda o: "image/png" in o.get("data", {}))) == 8   # 3 diagrams; sections 3, 4, 5, 6, 9
    text = "".join(o.get("text", "") for o in _outputs(nb, lambda o: o.output_type == "stream"))
    assert "the library's forward equals the loop above: True" in text
    assert "k = T, chunks: equal to full BPTT bit for bit: True" in text
    import re
    forward = re.search(r"dW_hh forward in time vs BPTT's: (\S+)", text)
    assert forward and float(forward.group(1)) < 1e-12                # section 8: RTRL by hand is BPTT's gradient
    assert "[dc_next_without_f]" in text                              # section 9: the checker names the mistake


def test_committed_notebook_is_the_executed_source():
    source = jupytext.read(DOCS / "walkthrough.py")
    stored = nbformat.read(DOCS / "walkthrough.ipynb", as_version=4)
    assert [(c.cell_type, c.source) for c in stored.cells] == [(c.cell_type, c.source) for c in source.cells], \
        "docs/walkthrough.ipynb is out of date: run python docs/build_walkthrough.py"
    code = [c for c in stored.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code)                  # every cell was run, in order
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1))
    assert not _outputs(stored, lambda o: o.output_type == "error")
    assert len(_outputs(stored, lambda o: "image/png" in o.get("data", {}))) == 8


def test_committed_notebook_was_executed_with_the_kernels_of_today():
    """Its numbers (the speed row, the timings) are only as new as the kernels it ran: a change to
    scratch_rnn/_numba/ without executing the notebook again fails here."""
    nb = nbformat.read(DOCS / "walkthrough.ipynb", as_version=4)
    stored = nb.metadata.get("scratch_rnn", {})
    assert stored.get("quick") is False, "the committed notebook must be the full run, not --quick"
    from scratch_rnn._provenance import kernel_sources
    assert stored.get("kernel_sources") == kernel_sources(), (
        "docs/walkthrough.ipynb was executed with other kernel sources than scratch_rnn/_numba/ holds now: run "
        "`python docs/build_walkthrough.py` and commit the notebook")
    assert stored.get("cpu"), "the notebook names the CPU its numbers come from"
    import re
    assert re.fullmatch(r"[0-9a-f]{7}", stored.get("commit") or ""), \
        "the notebook names the clean commit it was executed at (its speed row prints it too)"
