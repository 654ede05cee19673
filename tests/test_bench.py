"""The benchmark machinery (not the speed itself: targets live in benchmarks/targets.py)."""
import numpy as np
import pytest

from scratch_rnn.bench.measure import Case, add_ratios, environment, measure
from scratch_rnn.bench.report import write_results


def test_measure_writes_a_complete_table(tmp_path):
    cases = [Case("fwd_bwd", "lstm", "float32", 5, 2, 4, 1), Case("train_step", "rnn", "float64", 5, 2, 4, 1),
             Case("fwd_bwd", "lstm", "float64", 5, 2, 4, 3, layers=2, bidirectional=True),
             Case("train_step", "gru", "float64", 5, 2, 4, 1, layers=2)]
    rows = add_ratios(measure(cases, ["numpy", "numba", "torch"], budget_s=0.01, min_repeats=3, max_repeats=3,
                              progress=False))
    assert len(rows) == 12
    for r in rows:
        assert r["repeats"] == 3 and 0 < r["q25_s"] <= r["median_s"] <= r["q75_s"] and r["threads"] == 1
    assert {r["variant"] for r in rows} == {"numpy", "numba", "torch"}
    assert all(np.isfinite(r["speedup_vs_torch"]) and r["speedup_vs_torch"] > 0 for r in rows)
    paths = write_results(rows, tmp_path, {"environment": environment(), "command": "scratch-rnn bench --x"})
    assert [p.name for p in paths] == ["bench.csv", "bench.json", "bench.md", "bench.png"]
    assert all(p.stat().st_size > 0 for p in paths)
    from scratch_rnn._provenance import measured_on
    assert paths[2].read_text().split("\n")[0].endswith(f"`scratch-rnn bench --x` on {measured_on()}.")
    assert [p.name for p in write_results(rows, tmp_path, {}, "peers")][1] == "peers.json"
    assert "| fwd_bwd | lstm | float32 | 5 | 2 | 4 | 1 |" in paths[2].read_text()
    assert "| fwd_bwd | lstm-2L-bi | float64 | 5 | 2 | 4 | 3 |" in paths[2].read_text()


def test_add_ratios_divides_within_each_case():
    def row(T, variant, median):
        return {"op": "fwd_bwd", "cell": "rnn", "dtype": "float32", "T": T, "B": 1, "H": 2, "D": 1,
                "variant": variant, "median_s": median}
    rows = add_ratios([row(5, "torch", 3.0), row(5, "numba", 0.5), row(9, "torch", 1.0), row(9, "numba", 4.0),
                       row(7, "numba", 1.0)])
    assert [r["speedup_vs_torch"] for r in rows] == [1.0, 6.0, 1.0, 0.25, None]


def test_jax_rows_where_jax_runs_and_a_column_against_it(tmp_path):
    import pytest
    pytest.importorskip("jax", reason="the jax extra is not installed")
    cases = [Case("fwd_bwd", "gru", "float32", 5, 2, 4, 1), Case("train_step", "gru", "float32", 5, 2, 4, 1)]
    rows = measure(cases, ["numba", "jax"], budget_s=0.01, min_repeats=3, max_repeats=3, progress=False)
    jax_rows = [r for r in rows if r["variant"] == "jax"]
    assert [r["op"] for r in jax_rows] == ["fwd_bwd"]                 # no training step for JAX
    assert jax_rows[0]["compile_s"] > 0 and jax_rows[0]["median_s"] < jax_rows[0]["compile_s"]
    rows = add_ratios(rows, "jax")
    paths = write_results(rows, tmp_path, {})
    assert "| jax ms |" in paths[2].read_text() and "| numba vs jax |" in paths[2].read_text()
    assert "| jax compile s |" in paths[2].read_text()                # reported apart from the median
    assert f"| {jax_rows[0]['compile_s']:.2f} |" in paths[2].read_text()


@pytest.mark.slow
def test_the_forward_parts_benchmark_runs():
    import subprocess
    import sys
    from pathlib import Path
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "forward_parts.py"
    out = subprocess.run([sys.executable, str(script), "--size", "4,8"], capture_output=True, text=True, timeout=300,
                         check=True).stdout
    rows = [line for line in out.splitlines() if line.startswith(("| float32", "| float64"))]
    assert len(rows) == 2 and all(line.count("%") == 2 for line in rows)


@pytest.mark.slow
def test_the_targets_benchmark_runs_and_fills_every_column(tmp_path):
    """`targets.py --quick`: one speed target, its torch ratio, x floor and ratio at the floor."""
    import json
    import subprocess
    import sys
    from pathlib import Path
    pytest.importorskip("torch")
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "targets.py"
    subprocess.run([sys.executable, str(script), "--quick", "--out", str(tmp_path)], capture_output=True, text=True,
                   timeout=300, check=True)
    (row,) = json.loads((tmp_path / "targets.json").read_text())["results"]
    assert row["numba_ms"] > 0 and row["torch_ms"] > 0 and row["floor_ms"] > 0
    assert float(row["at_floor"].rstrip("x")) == pytest.approx(row["torch_ms"] / row["floor_ms"], rel=0.01)
    assert float(row["x_floor"].rstrip("x")) == pytest.approx(row["numba_ms"] / row["floor_ms"], rel=0.01)
    assert row["at_floor"] in (tmp_path / "targets.md").read_text()


@pytest.mark.parametrize("cell,G", [("rnn", 1), ("lstm", 4), ("gru", 3)])
def test_the_floor_counts_every_product_of_every_layer_and_direction(cell, G, monkeypatch):
    """forward 2 T B G H (D + H) FLOPs per layer and direction, backward twice that; layer 0 reads
    D inputs, a later one H per direction. The rate is a constant here: no timing in a test."""
    from scratch_rnn.bench import floor
    monkeypatch.setattr(floor, "gemm_rate", lambda m, k, n, dtype: 1e9)
    T, B, H, D = 7, 3, 5, 2
    one = floor.kernel_floor(cell, "float64", T, B, H, D)
    assert one["forward_flops"] == 2 * T * B * G * H * (D + H)
    assert one["backward_flops"] == 2 * one["forward_flops"]
    assert one["forward_s"] == pytest.approx(one["forward_flops"] / 1e9)
    stack = floor.kernel_floor(cell, "float64", T, B, H, D, layers=2, bidirectional=True)
    per_direction = 2 * T * B * G * H * (D + H) + 2 * T * B * G * H * (2 * H + H)
    assert stack["forward_flops"] == 2 * per_direction
    assert stack["backward_flops"] == 2 * stack["forward_flops"]


def test_a_forced_blas_core_type_is_warned_about(monkeypatch):
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    with pytest.warns(RuntimeWarning, match="OPENBLAS_CORETYPE=Haswell"):
        measure([Case("fwd_bwd", "rnn", "float64", 3, 2, 4, 1)], ["numpy"], budget_s=0.01, min_repeats=1,
                max_repeats=1, progress=False)


def test_write_table_writes_the_markdown_and_the_json_with_provenance(tmp_path):
    import json

    from scratch_rnn.bench.report import write_table
    from scratch_rnn._provenance import kernel_sources, measured_on
    md, js = write_table(["| a |", "|---|", "| 1 |"], {"rows": [{"a": 1}]}, tmp_path / "new", "t")
    text = md.read_text()                                      # the table, then where and on which code it ran
    assert text.startswith("| a |\n|---|\n| 1 |\n\nMeasured by `") and text.endswith(f" on {measured_on()}.\n")
    data = json.loads(js.read_text())
    assert data["rows"] == [{"a": 1}] and "versions" in data and data["kernel_sources"] == kernel_sources()
    md, _ = write_table(["Timed on a CPU, commit abc1234.", "| a |"], {}, tmp_path / "new", "u")
    assert md.read_text() == "Timed on a CPU, commit abc1234.\n| a |\n"   # lines that name their commit: as they are
    import subprocess
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    if (root / ".git").exists():                               # a result names the commit it was measured at
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short=7", "HEAD"], capture_output=True,
                              text=True).stdout.strip()
        assert data["commit"].startswith(head[:7]), data["commit"]
    else:
        assert data["commit"] is None


def test_a_commit_is_dirty_for_changed_code_not_for_written_results(tmp_path):
    """A batch of benchmarks writes its results into the tree one script after another: every script of
    the batch names the same clean commit; a change to anything else is named dirty."""
    import shutil
    import subprocess
    if not shutil.which("git"):
        pytest.skip("git is not installed")
    from scratch_rnn._provenance import tree_commit

    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True,
                       env={"GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@b", "GIT_COMMITTER_NAME": "a",
                            "GIT_COMMITTER_EMAIL": "a@b", "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    for name in ("benchmarks/results/floor.md", "docs/figures/bench.png", "scratch_rnn/core.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("1\n")
    git("init", "-q")
    git("add", "-A")
    git("commit", "-qm", "first")
    head = tree_commit(tmp_path)
    assert head and len(head) == 7 and "dirty" not in head
    (tmp_path / "benchmarks/results/floor.md").write_text("2\n")
    (tmp_path / "docs/figures/bench.png").write_text("2\n")
    assert tree_commit(tmp_path) == head
    (tmp_path / "scratch_rnn/core.py").write_text("2\n")
    assert tree_commit(tmp_path) == head + "-dirty"
    assert tree_commit(tmp_path / "scratch_rnn") is None          # not the root of a work tree
