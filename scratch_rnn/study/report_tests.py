"""The report's statistical sections: Fisher's test of each comparison (with, where it does not
reject, the smallest difference it could have detected) and the robustness reruns' agreement."""
from __future__ import annotations

from .power import ALPHA, POWER, detectable_text


def _test_cell(t: dict) -> str:
    ns = f"; n.s., detects {detectable_text(t['detectable_up'], t['detectable_down'])}" if t["fisher_p"] > ALPHA else ""
    return f"{t['fisher_p']:.2g} ({t['successes']}/{t['runs']} vs {t['reference_successes']}/{t['reference_runs']}{ns})"


def tests_table(tests: list[dict], kind: str = "vs reference") -> list[str]:
    """Fisher's exact test of one kind of comparison (`stats.comparisons`), one column per length."""
    if not tests:
        return []
    Ts = sorted({t["T"] for t in tests})
    by = {(t["model"], t["T"]): t for t in tests}
    against = {"vs reference": f"against {tests[0]['reference']}", "vs PyTorch init": "against the same cell with "
               "PyTorch's init"}.get(kind, "against the same model trained directly")
    lines = [f"Fisher's exact test {against} (two-sided p; successes/runs of both; where p > {ALPHA:g}, the smallest "
             "increase/decrease over the reference's rate that the test could have detected at these n, power "
             f"{POWER:g}: a difference smaller than that is not ruled out):", "",
             "| model | " + " | ".join(f"T={T}" for T in Ts) + " |", "|---|" + "---|" * len(Ts)]
    for model in dict.fromkeys(t["model"] for t in tests):
        cells = [_test_cell(by[model, T]) if (model, T) in by else "" for T in Ts]
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    return lines + [""]


def robustness_lines(rows: list[dict]) -> list[str]:
    if not rows:
        return []
    out = ["## 5. Robustness: do the outcomes survive another dtype and the other engine?", "",
           "The runs of the sample below were trained again from the same initial weights on the same batches, "
           "once in the other floating-point type and once on the other engine; a pair agrees when both runs "
           "succeed or both fail.", "",
           "| rerun in | task | model | T | pairs | agree | successes (study) | successes (rerun) |",
           "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r['variant']} | {r['task']} | {r['model']} | {r['T']} | {r['pairs']} | {r['agree']} "
                   f"({r['agreement']:.0%}) | {r['study_successes']} | {r['variant_successes']} |")
    return out + [""]
