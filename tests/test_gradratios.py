"""The gradient ratios at initialisation over draws: the command, and what the numbers must satisfy."""
import csv

import numpy as np
import pytest

from scratch_rnn.cli import main
from scratch_rnn.study.gradratios import ratios
from scratch_rnn.training.model import exact_profile, init_model
from scratch_rnn.training.tasks import get_task


@pytest.mark.slow
def test_gradratios_command_writes_its_table(tmp_path):
    out = tmp_path / "gr"
    assert main(["gradratios", "--T", "30", "--draws", "4", "--out", str(out), "--figures", str(tmp_path / "f")]) == 0
    for name in ("gradratios.csv", "gradratios.json", "gradratios.md", "gradratios.png"):
        assert (out / name).stat().st_size > 0, name
    assert (tmp_path / "f" / "gradratios.png").is_file()
    with open(out / "gradratios.csv") as f:
        rows = {(r["task"], r["cell"], r["init"]): r for r in csv.DictReader(f)}
    assert len(rows) == 12 and all(r["draws"] == "4" for r in rows.values())
    for r in rows.values():
        assert float(r["h_ratio_min"]) <= float(r["h_ratio_median"]) <= float(r["h_ratio_max"])
        assert (r["c_ratio_median"] != "") == (r["cell"] == "lstm")
    # what the exact gradients show at T = 30, by orders of magnitude over every draw
    assert float(rows["xor", "rnn", "orthogonal"]["h_ratio_min"]) > 100 * float(rows["xor", "rnn", "pytorch"]["h_ratio_max"])
    assert float(rows["xor", "lstm", "chrono"]["c_ratio_min"]) > 100 * float(rows["xor", "lstm", "pytorch"]["c_ratio_max"])


def test_each_draw_is_the_exact_profile_of_its_own_weights():
    rows = ratios("lstm", "forget_bias", "first_bit", 12, 3)
    assert len({r["h_ratio"] for r in rows}) == 3                 # three different draws
    sampler, task = get_task("first_bit")
    import zlib
    rng = np.random.default_rng([1, zlib.crc32(b"gradratios|lstm|forget_bias|first_bit|12")])
    p = init_model("lstm", 1, 64, 2, rng, init="forget_bias", dtype=np.float64, t_max=12)
    x, y = sampler(12, 32, rng, dtype=np.float64)
    prof = exact_profile(p, task, x, y)
    assert rows[1]["h_ratio"] == prof["h"][0] / prof["h"][-1] and rows[1]["c_ratio"] == prof["c"][0] / prof["c"][-1]
