"""The checker of a learner's own BPTT (`scratch_rnn.check`): correct implementations in both contracts
are called correct (float64 and float32, odd shapes among the cases), every planted mistake of
tests/learners/planted.py gets the diagnosis it must, the catalogue's exact variant is the package's
BPTT, and what a learner's code does wrong outside the numbers is a one-line finding."""
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import scratch_rnn as sr
from scratch_rnn.check import check_file, check_namespace, text
from scratch_rnn.check import mistakes as mk
from scratch_rnn.check.contracts import families_in
from scratch_rnn.check.cases import SHAPES
from scratch_rnn.check.diagnose import check_family

LEARNERS = Path(__file__).parent / "learners"
sys.path.insert(0, str(LEARNERS))
from planted import PLANTED  # noqa: E402
from source import source  # noqa: E402

CORRECT = ["cs231n_rnn", "cs231n_lstm", "ours_rnn", "ours_lstm", "ours_gru", "ours_rnn_truncated", "ours_rnn_rtrl"]
SOLUTIONS = {"rnn": "ours_rnn", "lstm": "ours_lstm", "gru": "ours_gru", "truncated": "ours_rnn_truncated",
             "rtrl": "ours_rnn_rtrl"}


def _namespace(name: str, edit: tuple[str, str] | None = None) -> dict:
    src = source(name)
    if edit is not None:
        assert edit[0] in src, f"the planted edit's text is not in {name}.py: {edit[0]!r}"
        src = src.replace(edit[0], edit[1])
    module = types.ModuleType(name)
    exec(compile(src, f"{name}.py", "exec"), module.__dict__)
    return vars(module)


def test_the_cases_hold_the_odd_shapes():
    assert (1, 1, 1, 1) in SHAPES and any(B == 1 for _, B, _, _ in SHAPES) and any(H == 1 for *_, H in SHAPES)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", CORRECT)
def test_a_correct_implementation_is_called_correct(name, dtype):
    reports = check_namespace(_namespace(name), dtype=dtype)
    assert reports, f"no function pair found in {name}.py"
    assert all(r.correct for r in reports), text(reports)


@pytest.mark.parametrize("file,what,old,new,expect", PLANTED, ids=[f"{p[0]}: {p[1]}" for p in PLANTED])
def test_a_planted_mistake_gets_its_diagnosis(file, what, old, new, expect):
    ns = _namespace(file, (old, new))
    reports = [check_family(fam, ns) for fam in families_in(ns)]
    wrong = [r for r in reports if not r.correct]
    assert wrong, f"{what}: called correct"
    said = "\n".join(line for r in wrong for line in r.lines)
    assert any(r.mistake is not None and r.mistake.name == expect for r in wrong) or expect in said, said


def test_at_least_25_planted_mistakes_across_every_cell_and_both_contracts():
    assert len(PLANTED) >= 25
    assert {p[0] for p in PLANTED} == set(CORRECT) - {"ours_rnn_truncated", "ours_rnn_rtrl"}


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_the_catalogues_exact_variant_is_the_packages_bptt(cell, rng):
    entry = sr.get_cell(cell)
    p = sr.init_pytorch_default(cell, 3, 4, rng, dtype=np.float64)
    x, h0, dh = rng.standard_normal((5, 2, 3)), rng.standard_normal((2, 4)), rng.standard_normal((5, 2, 4))
    c0 = rng.standard_normal((2, 4)) if entry.cell_state else None
    dc = rng.standard_normal((2, 4)) if entry.cell_state else None
    _, _, cache = entry.forward(p, x, h0, c0)
    exact = entry.backward(cache, dh, dc)
    v = mk.backward(entry.gates, p, x, h0, dh, None, c0, dc)
    for k in p:
        np.testing.assert_allclose(v[k], exact.params[k], rtol=0, atol=1e-13)
    np.testing.assert_allclose(v["x"], exact.x, rtol=0, atol=1e-13)
    np.testing.assert_allclose(v["h"], exact.h, rtol=0, atol=1e-13)
    for m in mk.mistakes_for(cell):                      # and every mistake changes something
        w = mk.backward(entry.gates, p, x, h0, dh, m.name, c0, dc)
        assert max(np.max(np.abs(w[k] - exact.params[k])) for k in p) > 1e-6, m.name


@pytest.mark.parametrize("edit,message", [
    (("return {\"params\": g, \"x\": dx, \"h0\": dh_next, \"h\": dh_total}", "raise NotImplementedError"),
     "rnn_backward: not implemented yet"),
    (("return {\"params\": g, \"x\": dx, \"h0\": dh_next, \"h\": dh_total}",
      "return {\"params\": g, \"x\": dx[0], \"h0\": dh_next}"), "grads.x should have shape"),
    (("return {\"params\": g, \"x\": dx, \"h0\": dh_next, \"h\": dh_total}",
      "return {\"params\": g, \"x\": dx * np.nan, \"h0\": dh_next}"), "grads.x contains NaN or inf"),
    (("return {\"params\": g, \"x\": dx, \"h0\": dh_next, \"h\": dh_total}", "return g"),
     "expected grads with .params"),
    (("    return h, (params", "    return (params"), "rnn_forward: expected to return 2 values"),
    (("h0 = np.zeros((B, H)) if h0 is None else h0", "h0 = h0 + 0"), "rnn_forward raised TypeError"),
])
def test_what_the_code_does_wrong_besides_numbers_is_one_line(edit, message):
    ns = _namespace("ours_rnn", edit)
    (report,) = [check_family(fam, ns) for fam in families_in(ns)]
    assert not report.correct and any(message in line for line in report.lines), report.lines


def test_a_backward_without_its_forward_is_named(tmp_path):
    f = tmp_path / "only_backward.py"
    f.write_text("def rnn_step_backward(dnext_h, cache):\n    return None\n")
    (report,) = check_file(f)
    assert "rnn_step_forward: not defined" in report.lines[0]


def test_a_file_with_none_of_the_functions_says_which_names_it_looks_for(tmp_path):
    f = tmp_path / "nothing.py"
    f.write_text("def forward(x):\n    return x\n")
    assert check_file(f) == [] and "rnn_step_backward" in text([], f)


def test_a_file_that_does_not_import_is_a_value_error(tmp_path):
    f = tmp_path / "broken.py"
    f.write_text("import numpy as np\ndef f(:\n")
    with pytest.raises(ValueError, match="FILE: importing .* raised SyntaxError"):
        check_file(f)


def test_the_command_exits_1_on_a_mistake_and_draws_where_it_starts(tmp_path, capsys):
    from scratch_rnn.cli import main
    (tmp_path / "mine.py").write_text(source("ours_lstm").replace("dc_next = dc * f", "dc_next = dc"))
    assert main(["check", str(tmp_path / "mine.py"), "--out", str(tmp_path / "out")]) == 1
    out = capsys.readouterr().out
    assert "WRONG" in out and "[dc_next_without_f]" in out and (tmp_path / "out" / "lstm_backward.png").is_file()
    (tmp_path / "right.py").write_text(source("ours_lstm"))
    assert main(["check", str(tmp_path / "right.py")]) == 0


def test_the_docs_table_of_planted_mistakes_is_a_fresh_run():
    sys.path.insert(0, str(LEARNERS.parents[1] / "docs"))
    import build_check_docs
    committed = (LEARNERS.parents[1] / "docs" / "results" / "planted_mistakes.md").read_text()
    assert committed == build_check_docs.table(build_check_docs.rows()), "run python docs/build_check_docs.py"


@pytest.mark.parametrize("name", sorted(SOLUTIONS))
def test_every_template_is_not_implemented_yet_and_takes_the_solution(name, tmp_path):
    from scratch_rnn.check.exercises import EXERCISES, write_template
    assert set(EXERCISES) == set(SOLUTIONS)
    path = write_template(name, tmp_path / f"my_{name}.py")
    (report,) = check_file(path)
    assert not report.correct and "not implemented yet" in text([report])
    solution = _namespace(SOLUTIONS[name])
    ns = {**_namespace_of(path), report.family.backward: solution[report.family.backward]}
    assert check_family(report.family, ns).correct                     # the template's forward takes the solution


def _namespace_of(path) -> dict:
    module = types.ModuleType(path.stem)
    exec(compile(path.read_text(), str(path), "exec"), module.__dict__)
    return vars(module)


def test_the_exercise_command_never_overwrites_work(tmp_path, capsys):
    from scratch_rnn.cli import main
    out = tmp_path / "mine.py"
    assert main(["exercise", "gru", "--out", str(out)]) == 0
    out.write_text("# my work\n")
    assert main(["exercise", "gru", "--out", str(out)]) == 2
    assert out.read_text() == "# my work\n" and "pass --force" in capsys.readouterr().err


def test_a_truncation_without_its_cuts_is_full_bptt_and_called_wrong():
    ns = _namespace("ours_rnn_truncated", ("if (t + 1) % k == 0 or t == T - 1:", "if False:"))
    (report,) = [check_family(fam, ns) for fam in families_in(ns)]
    assert not report.correct and report.first_wrong_step == 3 and any("chunks scheme" in s for s in report.lines)


def test_rtrl_without_the_initial_states_influence_is_named():
    ns = _namespace("ours_rnn_rtrl", ("        N = J @ N\n", "        N = N\n"))
    (report,) = [check_family(fam, ns) for fam in families_in(ns)]
    assert not report.correct and list(report.wrong_outputs) == ["h0"]
    assert any("only dL/dh0 is wrong" in s for s in report.lines)
