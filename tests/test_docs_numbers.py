"""Numbers that cannot go stale: every time and speed-up a page states comes from a committed results
file that the page names, and that file names the CPU and the commit it was measured at, with the
kernels' sources of today."""
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RESULTS = (ROOT / "benchmarks" / "results", ROOT / "docs" / "results")
#: a results region of a page: the file's text, copied by docs/sync_results.py (checked in test_docs.py)
REGION = re.compile(r"<!-- results: \S+ -->\n.*?<!-- end results -->", re.S)
#: a figure of time or speed: "4.49x", "0.7 ms", "36 us", "22 s", "3 min", "0.97 h"
FIGURE = re.compile(r"(?<![\w.,])(\d+(?:\.\d+)?)(?:x\b|\s?(?:ms|us|µs|s|min|h)\b)")
#: a results file named on a page: benchmarks/results/targets.md, `docs/results/online_cost.*`, ...
NAMED = re.compile(r"(?:benchmarks|docs)/results/([A-Za-z0-9_-]+)")
#: before/after comparisons of two named revisions: their times are of those revisions by design
COMPARISONS = {"check_overhead"}


def pages() -> list[Path]:
    """What a reader reads: the README and every page of the site (not the results files themselves)."""
    return [ROOT / "README.md", *sorted(p for p in (ROOT / "docs").rglob("*.md") if p.parent.name != "results")]


def stray_figures(text: str, results_text: str) -> list[str]:
    """The figures of `text` (outside its results regions) that no results text holds as a number."""
    body = REGION.sub("", text)
    stray = []
    for m in FIGURE.finditer(body):
        if not re.search(rf"(?<![\d.]){re.escape(m.group(1))}(?!\d)", results_text):
            stray.append(" ".join(body[max(0, m.start() - 50):m.end() + 10].split()))
    return stray


def named_results_text(text: str) -> str:
    """The Markdown and text results files that `text` names, joined."""
    return "\n".join(f.read_text() for stem in sorted(set(NAMED.findall(text))) for folder in RESULTS
                     for f in (folder / f"{stem}.md", folder / f"{stem}.txt") if f.is_file())


@pytest.mark.parametrize("page", pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_time_on_a_page_is_in_a_results_file_the_page_names(page):
    """A time or a speed-up typed into a page goes stale when the code changes; one that is copied from
    a results file the page names is renewed with that file (and docs/sync_results.py copies whole tables)."""
    text = page.read_text()
    stray = stray_figures(text, named_results_text(text))
    assert stray == [], f"{page.relative_to(ROOT)} states times that no results file it names holds: {stray}"


def test_the_check_finds_a_typed_figure_and_passes_a_copied_one():
    results = "| RNN float32 | 4.49x | 0.70 |\nMeasured by `x` on CPU, commit 1234567.\n"
    assert stray_figures("RNN: 4.49x faster, 0.70 ms a call.", results) == []
    assert stray_figures("RNN: 4.5x faster (it took 45 min).", results) == ["RNN: 4.5x faster (i",
                                                                           "RNN: 4.5x faster (it took 45 min)."]
    region = "<!-- results: benchmarks/results/x.md -->\n| 9.9x |\n<!-- end results -->\n"
    assert stray_figures(region, "") == []                     # a copied region is the file itself
    assert named_results_text("see `benchmarks/results/floor.*` and docs/results/online_cost.md") == \
        (RESULTS[0] / "floor.md").read_text() + "\n" + (RESULTS[1] / "online_cost.md").read_text()


def _timings() -> list[Path]:
    return sorted(p for p in RESULTS[0].glob("*.md") if p.stem not in COMPARISONS)


@pytest.mark.parametrize("table", sorted(RESULTS[0].glob("*.md")), ids=lambda p: p.name)
def test_every_benchmark_table_names_its_cpu_and_commit(table):
    """A comparison of two revisions names both; every other table the commit it measured."""
    text = table.read_text()
    assert re.search(r"family \d+, model \d+", text), f"{table.name} does not name the CPU it was measured on"
    clean = r"[0-9a-f]{7}\b(?!-dirty)"
    assert re.search(rf"{clean} against {clean}" if table.stem in COMPARISONS else rf"commit {clean}", text), \
        f"{table.name} does not name the clean commit it measured"


@pytest.mark.parametrize("table", _timings(), ids=lambda p: p.name)
def test_every_benchmark_was_measured_with_the_kernels_of_today(table):
    """Each timing's JSON records a hash of scratch_rnn/_numba/ (scratch_rnn._provenance.kernel_sources):
    a change to the kernels without measuring again fails here, naming the script to run."""
    from scratch_rnn._provenance import kernel_sources
    data = json.loads(table.with_suffix(".json").read_text())
    stored = data.get("kernel_sources", data.get("meta", {}).get("kernel_sources"))
    command = re.search(r"`((?:python|scratch-rnn) [^`]*)`", table.read_text())
    assert stored == kernel_sources(), (
        f"{table.name} was measured with other kernels than scratch_rnn/_numba/ holds now: run "
        f"{command.group(1) if command else 'its script'} again and commit the results")
