"""Writing benchmark results: CSV, JSON, a markdown table and a PNG plot."""
from __future__ import annotations

from pathlib import Path

from .._files import atomic_write, save_figure, write_csv, write_json


def write_results(rows: list[dict], out: Path, meta: dict, name: str = "bench") -> list[Path]:
    """The rows as out/name.csv, .json (with `meta`), .md (the table under a line naming the command, the CPU
    and the commit) and .png; returns the four paths."""
    from .._provenance import measured_on
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{name}.csv", out / f"{name}.json", out / f"{name}.md", out / f"{name}.png"]
    write_csv(rows, paths[0])
    write_json({"meta": meta, "rows": rows}, paths[1], indent=1)
    head = (f"Medians of interleaved calls (ms), speedups over the named variant; `{meta.get('command', 'scratch-rnn bench')}` "
            f"on {measured_on()}.\n\n")
    atomic_write(paths[2], head + markdown_table(rows))
    plot(rows, paths[3])
    return paths


def write_table(lines: list[str], payload: dict, out: Path, name: str) -> list[Path]:
    """A benchmark script's markdown table and its JSON (with the run's provenance), written
    atomically as out/name.md and out/name.json; returns the two paths. Where the lines do not name the
    commit, a last line names the command, the CPU and the commit (every written time says where it
    was measured and on which code)."""
    from .._provenance import measured_on, provenance
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{name}.md", out / f"{name}.json"]
    if not any("commit " in line for line in lines):
        lines = [*lines, "", f"Measured by `{_command()}` on {measured_on()}."]
    atomic_write(paths[0], "\n".join(lines) + "\n")
    write_json({**payload, **provenance()}, paths[1], indent=1)
    return paths


def _command() -> str:
    """The command that is running, as a reader would type it again: `python benchmarks/floor.py --quick`."""
    import os
    import sys
    script = sys.argv[0]
    try:
        script = os.path.relpath(script)
    except ValueError:
        pass
    return " ".join(["python", script, *sys.argv[1:]]) if script.endswith(".py") else " ".join(sys.argv)


def _cell(r: dict) -> str:
    """The cell, with the stack's shape where there is one: "lstm", "lstm-2L-bi"."""
    layers, bi = r.get("layers", 1), r.get("bidirectional", False)
    return r["cell"] + (f"-{layers}L" if layers > 1 else "") + ("-bi" if bi else "")


def markdown_table(rows: list[dict]) -> str:
    """One line per case: median milliseconds of each variant, the compile seconds of a variant that compiles
    the sequence whole (jax; excluded from its median), and the speedups vs 1-thread torch (and jax)."""
    variants = list(dict.fromkeys(r["variant"] for r in rows))
    cases = list(dict.fromkeys((r["op"], _cell(r), r["dtype"], r["T"], r["B"], r["H"], r["D"]) for r in rows))
    by = {((r["op"], _cell(r), r["dtype"], r["T"], r["B"], r["H"], r["D"]), r["variant"]): r for r in rows}
    compiled = [b for b in variants if any(r.get("compile_s") for r in rows if r["variant"] == b)]
    head = "| op | cell | dtype | T | B | H | D | " + " | ".join(
        [f"{b} ms" for b in variants] + [f"{b} compile s" for b in compiled])
    speed = [(b, ref) for ref in ("torch", "jax") if ref in variants
             for b in (("numpy", "numba") if ref == "torch" else ("numba",)) if b in variants]
    head += "".join(f" | {b} vs {ref}" for b, ref in speed) + " |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for c in cases:
        cells = [f"{by[c, b]['median_s'] * 1e3:.3g}" if (c, b) in by else "" for b in variants]
        cells += [f"{by[c, b]['compile_s']:.2f}" if (c, b) in by and by[c, b].get("compile_s") else "" for b in compiled]
        ratios = [f"{by[c, b][f'speedup_vs_{ref}']:.2f}x" if (c, b) in by and by[c, b].get(f"speedup_vs_{ref}") else ""
                  for b, ref in speed]
        lines.append("| " + " | ".join(map(str, c)) + " | " + " | ".join(cells + ratios) + " |")
    return "\n".join(lines) + "\n"


def plot(rows: list[dict], path: Path) -> None:
    """Speedup over 1-thread torch (log scale) for every case, one panel per op."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    ops = list(dict.fromkeys(r["op"] for r in rows))
    variants = [b for b in dict.fromkeys(r["variant"] for r in rows) if b != "torch"]
    fig, axes = plt.subplots(len(ops), 1, figsize=(max(8, 0.9 * len(rows) / len(ops) / max(1, len(variants)) * 3), 4.2 * len(ops)),
                             squeeze=False)
    for ax, op in zip(axes[:, 0], ops):
        sub = [r for r in rows if r["op"] == op]
        cases = list(dict.fromkeys((_cell(r), r["dtype"], r["T"], r["B"], r["H"], r["D"]) for r in sub))
        by = {((_cell(r), r["dtype"], r["T"], r["B"], r["H"], r["D"]), r["variant"]): r for r in sub}
        width = 0.8 / max(1, len(variants))
        for i, b in enumerate(variants):
            vals = [by[c, b]["speedup_vs_torch"] if (c, b) in by and by[c, b].get("speedup_vs_torch") else np.nan
                    for c in cases]
            ax.bar(np.arange(len(cases)) + i * width, vals, width, label=b)
        ax.axhline(1.0, color="k", lw=0.8)
        ax.set_yscale("log")
        ax.set_xticks(np.arange(len(cases)) + 0.4 - width / 2)
        ax.set_xticklabels([f"{c[0]} {c[1][5:]}\nT{c[2]} B{c[3]}\nH{c[4]} D{c[5]}" for c in cases], fontsize=7)
        ax.set_ylabel("speedup over torch (1 thread)")
        ax.set_title(f"{op}: higher is faster; 1 = torch CPU, one thread")
        ax.legend(fontsize=8, ncol=len(variants))
        ax.grid(True, axis="y", alpha=0.3, which="both")
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
