"""Build what the checker's page shows from the checker itself: the table of every planted mistake
(tests/learners/planted.py) with what the checker said and whether its hint named the mistake, one
full report as the command prints it, and that report's per-step picture.

    python docs/build_check_docs.py        # writes docs/results/planted_mistakes.md,
                                           # docs/results/check_example.txt, docs/figures/check_profile.png

`tests/test_check.py` holds the committed table to a fresh run.
"""
from __future__ import annotations

import sys
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LEARNERS = ROOT / "tests" / "learners"


sys.path.insert(0, str(LEARNERS))
from planted import PLANTED  # noqa: E402
from source import source  # noqa: E402


def namespace(name: str, old: str, new: str) -> dict:
    """The learner file `name` with one edit, run as a module."""
    module = types.ModuleType(name)
    exec(compile(source(name).replace(old, new), f"{name}.py", "exec"), module.__dict__)
    return vars(module)


def rows() -> list[dict]:
    """Each planted mistake and what the checker made of it."""
    from scratch_rnn.check.contracts import families_in
    from scratch_rnn.check.diagnose import check_family
    out = []
    for file, what, old, new, expect in PLANTED:
        ns = namespace(file, old, new)
        wrong = [r for r in (check_family(f, ns) for f in families_in(ns)) if not r.correct]
        said = [line for r in wrong for line in r.lines]
        named = any(r.mistake is not None and r.mistake.name == expect for r in wrong) or any(expect in s for s in said)
        hint = next((s for s in said if s.startswith("hint:")), None) or (said[0] if said else "called correct")
        where = [("the step" if r.family.level == "step" else f"t = {r.first_wrong_step}")
                 for r in wrong if r.first_wrong_step is not None]
        gates = list(dict.fromkeys(g for r in wrong for gate_order in [r.family.gates] for g in gate_order
                                   if g in r.wrong_gates))
        out.append({"file": file, "mistake": what, "expected": expect, "named": named, "said": hint,
                    "where": ", ".join(where), "gates": ", ".join(gates),
                    "functions": ", ".join(r.family.backward for r in wrong)})
    return out


def _short(said: str) -> str:
    """A mistake's name where the checker named one, else its finding, cut to a line."""
    if said.endswith("]") and "[" in said:
        return f"`{said[said.rindex('[') + 1:-1]}`"
    said = said.removeprefix("hint: ")
    return (said if len(said) <= 90 else said[:87] + "...").replace("|", "\\|")


def table(rs: list[dict]) -> str:
    from scratch_rnn.check.mistakes import CATALOGUE, FORWARD_CATALOGUE
    named = sum(r["named"] for r in rs)
    lines = [f"{named} of {len(rs)} planted mistakes named ({100 * named / len(rs):.0f}%).", "",
             "| planted in | mistake | first wrong step | gates | the checker's diagnosis | named? |",
             "|---|---|---|---|---|---|"]
    for r in rs:
        lines.append(f"| {r['file']} | {r['mistake']} | {r['where']} | {r['gates']} | "
                     f"{_short(r['said'])} | {'yes' if r['named'] else '**no**'} |")
    lines += ["", "The catalogue, and the hint each mistake prints:", "", "| mistake | cell | hint |", "|---|---|---|"]
    lines += [f"| `{m.name}` | {m.cell} | {m.hint.replace('|', chr(92) + '|')} |" for m in CATALOGUE + FORWARD_CATALOGUE]
    return "\n".join(lines) + "\n"


def main() -> None:
    from scratch_rnn.check import check_namespace_text, profile_figure
    (ROOT / "docs" / "results" / "planted_mistakes.md").write_text(table(rows()))
    ns = namespace("cs231n_lstm", "df = dc * prev_c * f", "df = dc * next_c * f")
    reports, printed = check_namespace_text(ns, "my_lstm.py")
    (ROOT / "docs" / "results" / "check_example.txt").write_text(printed + "\n")
    ns = namespace("ours_lstm", "dc = dc_next + dh_total[t] * o * (1 - tc ** 2)", "dc = dh_total[t] * o * (1 - tc ** 2)")
    carried, _ = check_namespace_text(ns, "my_lstm.py")
    profile_figure(carried[0], ROOT / "docs" / "figures" / "check_profile.png")     # dc not carried: t = T-2 first
    import importlib.util
    spec = importlib.util.spec_from_file_location("sync_results", ROOT / "docs" / "sync_results.py")
    sync = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sync)
    sync.sync(ROOT / "docs" / "check.md")                       # the page shows the files as they are now
    print("wrote docs/results/planted_mistakes.md, docs/results/check_example.txt, docs/figures/check_profile.png "
          "and their copies in docs/check.md")


if __name__ == "__main__":
    main()
