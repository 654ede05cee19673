"""What a comparison of success counts can separate: exact Fisher power, detectable differences,
and the powered curriculum comparisons end to end (quick)."""
import json

import numpy as np
import pytest
from scipy.stats import binom, fisher_exact

from scratch_rnn.cli import main
from scratch_rnn.study.stats import detectable, detectable_difference, fisher_power, rejection_region


def test_the_rejection_region_is_fishers():
    region = rejection_region(6, 4)
    for k1 in range(7):
        for k2 in range(5):
            assert region[k1, k2] == (fisher_exact([[k1, 6 - k1], [k2, 4 - k2]]).pvalue <= 0.05)


def test_power_against_a_hand_computation():
    """Against 0/10, Fisher rejects exactly when the other side has 5 or more of 10 (5/10 vs 0/10:
    p = 0.033; 4/10: p = 0.087), so the power is P(K >= 5) for K ~ Binom(10, p)."""
    assert list(np.flatnonzero(rejection_region(10, 10)[:, 0])) == [5, 6, 7, 8, 9, 10]
    for p in (0.2, 0.5, 0.9):
        assert fisher_power(p, 10, 0.0, 10) == pytest.approx(binom.sf(4, 10, p), rel=1e-12)
    d = detectable_difference(0.0, 10, 10)
    assert binom.sf(4, 10, d) >= 0.8 > binom.sf(4, 10, d - 0.001)   # the smallest such rate, to 0.001
    assert detectable_difference(1.0, 10, 10) is None              # nothing is above 1


def test_power_by_simulation():
    rng = np.random.default_rng(0)
    region = rejection_region(30, 30)
    k1, k2 = rng.binomial(30, 0.7, 20000), rng.binomial(30, 1.0 - 1e-12, 20000)
    assert region[k1, k2].mean() == pytest.approx(fisher_power(0.7, 30, 1.0 - 1e-12, 30), abs=0.01)


def test_more_seeds_detect_smaller_differences():
    ten, thirty = detectable(10, 10, 10)["down"], detectable(30, 30, 30)["down"]
    assert thirty < ten < 0.6 and detectable(10, 10, 10)["up"] is None


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="n1: expected an integer >= 1, got 0"):
        rejection_region(0, 3)
    with pytest.raises(ValueError, match=r"p1: expected a probability in \[0, 1\], got 1.5"):
        fisher_power(1.5, 3, 0.5, 3)
    with pytest.raises(ValueError, match="direction: expected 1"):
        detectable_difference(0.5, 3, 3, direction=0)


@pytest.mark.slow
def test_power_command_quick_writes_its_tables_and_pairs_the_budgets(tmp_path, capsys):
    out = tmp_path / "power"
    assert main(["power", "--quick", "--workers", "1", "--out", str(out), "--figures", str(tmp_path / "fig")]) == 0
    data = json.loads((out / "power.json").read_text())
    summary, tests = data["summary"], data["comparisons"]
    assert sorted((r["model"], r["budget"]) for r in summary) == [("LSTM (chrono init)", 200), ("LSTM (chrono init)", 400),
                                                                 ("RNN (orthogonal W_hh)", 200)]
    assert all(r["runs"] == 3 for r in summary)
    budget = [t for t in tests if t["comparison"] == "budget vs study budget"]
    assert len(budget) == 1 and budget[0]["paired_seeds"] == 3 and budget[0]["lost"] == 0   # a longer run only adds
    for name in ("power_summary.csv", "power_comparisons.csv", "power_runs.csv", "power.md", "updates_to_success.png"):
        assert (out / name).stat().st_size > 0, name
    assert (tmp_path / "fig" / "updates_to_success.png").is_file()
    assert "not separated with 3 seeds per cell" in (out / "power.md").read_text()
    assert main(["report", str(out)]) == 0                          # a power store rebuilds like the others
    assert "Curriculum comparisons with 3 seeds per model" in capsys.readouterr().out
