"""The benchmark machinery (not the speed itself: targets live in benchmarks/targets.py)."""
import numpy as np

from scratch_rnn.bench import Case, add_ratios, environment, measure
from scratch_rnn.bench_report import write_results


def test_measure_writes_a_complete_table(tmp_path):
    cases = [Case("fwd_bwd", "lstm", "float32", 5, 2, 4, 1), Case("train_step", "rnn", "float64", 5, 2, 4, 1)]
    rows = add_ratios(measure(cases, ["numpy", "numba", "torch"], budget_s=0.01, min_repeats=3, max_repeats=3,
                              progress=False))
    assert len(rows) == 6
    for r in rows:
        assert r["repeats"] == 3 and 0 < r["q25_s"] <= r["median_s"] <= r["q75_s"] and r["threads"] == 1
    torch_rows = [r for r in rows if r["backend"] == "torch"]
    assert all(r["speedup_vs_torch"] == 1.0 for r in torch_rows)
    assert all(np.isfinite(r["speedup_vs_torch"]) for r in rows)
    paths = write_results(rows, tmp_path, {"environment": environment()})
    assert [p.name for p in paths] == ["bench.csv", "bench.json", "bench.md", "bench.png"]
    assert all(p.stat().st_size > 0 for p in paths)
    assert "| fwd_bwd | lstm | float32 | 5 | 2 | 4 | 1 |" in paths[2].read_text()
