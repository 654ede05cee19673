"""``scratch-rnn online --setting marschall``: every method of Marschall, Cho & Savin (2020) in their setting
(`scratch_rnn.online.stream`), as jobs for the run store: performance against difficulty, pairwise alignment
along training, and the clustering both give.

* `StreamJob`: one method trained on its own streams, one per seed, at one learning rate, task, difficulty
  and leak; the loss of every window of `every` steps per seed.
* `PairJob`: a network trained by RTRL with every method's gradient computed alongside on the same
  trajectory; the cosine between every pair of methods, per window, averaged over seeds.

`MARSCHALL` is the protocol (`QUICK_MARSCHALL`: seconds, to check the pipeline). Performance is the mean
expected loss over the last `final` fraction of each stream; the report gives, per method, its median over
seeds with the order-statistic 95% interval of the median, normalised so that 0 is a network that learned
nothing (the add task's 0.662 nats, the mimic task's best constant) and 1 one that knows both bits (add)
or the target exactly (mimic); each method at the learning rate that did best on average over difficulties.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._files import atomic_write, save_figure, write_csv, write_json
from .._provenance import cpu_text
from ..runs import progress, run_experiment, safely
from .stream import STREAM_METHODS, STREAM_TASKS, Setting, run_stream

#: the methods whose gradients the alignment compares (truncated BPTT updates once a window and the
#: readout-only baseline has none: a cosine with either is not defined at most steps)
PAIR_METHODS = ("rtrl", "uoro", "kfrtrl", "rkfrtrl", "rflo", "rflo_fb", "snap1", "kernl", "dni", "dnib")
#: each method on the axes of their framework, as their code's docstrings describe each influence
#: estimate: facing (past: an estimate of M_t; future: of the credit), the tensor structure of M[k, i, j],
#: stochastic or not; readout and tbptt are baselines
CRITERIA = {"rtrl": ("past", "exact M", "deterministic"), "uoro": ("past", "A_k B_ij", "stochastic"),
            "kfrtrl": ("past", "B_ki A_j", "stochastic"), "rkfrtrl": ("past", "A_i B_kj", "stochastic"),
            "rflo": ("past", "delta_ki B_ij", "deterministic"), "rflo_fb": ("past", "delta_ki B_ij", "deterministic"),
            "snap1": ("past", "delta_ki B_ij", "deterministic"), "kernl": ("past", "A_ki B_ij", "deterministic"),
            "dni": ("future", "credit A [a, y, 1]", "deterministic"),
            "dnib": ("future", "credit A [a, y, 1]", "deterministic"),
            "tbptt": ("future", "exact in a window", "deterministic"), "readout": ("-", "none", "-")}
SHORT = {"rtrl": "RTRL", "uoro": "UORO", "kfrtrl": "KF", "rkfrtrl": "rev. KF", "rflo": "RFLO", "rflo_fb": "RFLO-fb",
         "snap1": "SnAp-1", "kernl": "KeRNL", "dni": "DNI", "dnib": "DNIb", "tbptt": "TBPTT", "readout": "readout"}
LABELS = {"rtrl": "RTRL", "tbptt": "truncated BPTT(10)", "uoro": "UORO", "kfrtrl": "KF-RTRL",
          "rkfrtrl": "reverse KF-RTRL", "rflo": "RFLO (readout weights)", "rflo_fb": "RFLO (random feedback)",
          "snap1": "SnAp-1 (ours)", "kernl": "KeRNL", "dni": "DNI", "dnib": "DNIb", "readout": "readout only"}

MARSCHALL = {"H": 32, "seeds": 20, "steps": 20000, "every": 1000, "final": 0.2, "lrs": (1e-3, 3e-3),
             "sweep": {"alpha": 1.0, "tasks": ("add", "mimic"), "difficulties": (1, 3, 5, 7, 9)},
             "grid": ({"task": "add", "alpha": 0.5, "lags": (5, 7), "tau_task": 2},
                      {"task": "mimic32", "alpha": 1.0, "lags": None, "tau_task": 1},
                      {"task": "mimic32", "alpha": 0.5, "lags": None, "tau_task": 2}),
             "pairs": {"alpha": 1.0, "lr": 3e-3, "difficulties": (1, 5, 9)}}
QUICK_MARSCHALL = {**MARSCHALL, "H": 6, "seeds": 3, "steps": 300, "every": 100, "lrs": (3e-3,),
                   "sweep": {"alpha": 1.0, "tasks": ("add", "mimic"), "difficulties": (1,)},
                   "grid": ({"task": "add", "alpha": 0.5, "lags": (5, 7), "tau_task": 2},),
                   "pairs": {"alpha": 1.0, "lr": 3e-3, "difficulties": (1,)}}


@dataclass(frozen=True)
class StreamJob:
    method: str
    task: str
    difficulty: int
    alpha: float
    lr: float
    seeds: tuple
    H: int
    steps: int
    every: int
    tau_task: int = 1
    lags: tuple | None = None

    def __post_init__(self):
        if self.method not in STREAM_METHODS:
            raise ValueError(f"StreamJob.method: expected one of {STREAM_METHODS}, got {self.method!r}")
        if self.task not in STREAM_TASKS:
            raise ValueError(f"StreamJob.task: expected one of {STREAM_TASKS}, got {self.task!r}")

    def cost(self) -> float:
        return self.steps * len(self.seeds) * (10 if self.method == "rtrl" else 1)


@dataclass(frozen=True)
class PairJob:
    task: str
    difficulty: int
    alpha: float
    lr: float
    seeds: tuple
    H: int
    steps: int
    every: int

    def cost(self) -> float:
        return self.steps * len(self.seeds) * 40


def run_job(job) -> dict:
    t0 = time.perf_counter()
    if isinstance(job, StreamJob):
        res = run_stream(job.method, job.task, job.difficulty, job.seeds,
                         Setting(job.H, job.alpha, job.lr, job.steps, job.tau_task, 10, job.lags), every=job.every)
        out: dict[str, Any] = {"loss": res["loss"].tolist(), "diverged": res["diverged"].tolist(),
                               "levels": res["levels"]}
    else:
        res = run_stream("rtrl", job.task, job.difficulty, job.seeds, Setting(job.H, job.alpha, job.lr, job.steps),
                         every=job.every, monitors=PAIR_METHODS)
        out = {"alignment": res["alignment"].tolist(), "monitors": list(res["monitors"]),
               "loss": res["loss"].tolist()}
    return {**out, "seconds": time.perf_counter() - t0}


run_job_safe = safely(run_job)


def jobs(proto: dict, first_seed: int = 0) -> list:
    """The protocol's jobs: the difficulty sweep, the rest of their grid (alpha, task), then the pairwise
    alignments."""
    seeds = tuple(range(first_seed, first_seed + proto["seeds"]))
    common = {"seeds": seeds, "H": proto["H"], "steps": proto["steps"], "every": proto["every"]}
    sw, pr = proto["sweep"], proto["pairs"]
    out: list = [StreamJob(m, task, d, sw["alpha"], lr, **common) for task in sw["tasks"]
                 for d in sw["difficulties"] for lr in proto["lrs"] for m in STREAM_METHODS]
    out += [StreamJob(m, g["task"], 0, g["alpha"], lr, **common, tau_task=g["tau_task"],
                      lags=None if g["lags"] is None else tuple(g["lags"]))
            for g in proto["grid"] for lr in proto["lrs"] for m in STREAM_METHODS]
    out += [PairJob(task, d, pr["alpha"], pr["lr"], **common) for task in sw["tasks"] for d in pr["difficulties"]]
    return out


def marschall(out: Path, quick: bool = False, seed: int = 0, figures: Path | None = None, **run) -> dict:
    """Run (or resume) the protocol in `out`; write marschall.{md,json}, marschall_performance.csv,
    marschall_alignment.csv and the two figures (copied to `figures` too when given)."""
    proto = QUICK_MARSCHALL if quick else MARSCHALL
    return run_experiment(out, {"command": "online --setting marschall", "protocol": proto}, jobs(proto, seed),
                          run_job_safe, build, run, {"seed": seed, "quick": quick, "protocol": proto}, figures,
                          ("performance_png", "alignment_png"), timing=progress.Uncalibrated(lambda: None))


# ------------------------------------------------------------------------------------------------ the analysis
def _normalised(loss: np.ndarray, task: str, levels: dict) -> np.ndarray:
    """0: learned nothing; 1: the add task's both bits, the mimic target exactly. NaN (a diverged stream): -inf."""
    if task == "add":
        v = (levels["nothing"] - loss) / (levels["nothing"] - levels["both_lags"])
    else:
        v = 1 - loss / levels["constant"]
    return np.where(np.isfinite(v), v, -np.inf)


def median_interval(values) -> tuple[float, float, float]:
    """(median, low, high): the median and its distribution-free 95% interval from order statistics
    (the ranks binom(n, 1/2) puts 2.5% beyond); -inf values (diverged streams) count as the worst."""
    from scipy.stats import binom
    v = np.sort(np.asarray(values, dtype=float))
    n = len(v)
    k = int(binom.ppf(0.025, n, 0.5)) if n else 0                          # 1-based rank of the lower bound
    lo, hi = (v[max(k - 1, 0)], v[min(n - k, n - 1)]) if n else (np.nan, np.nan)
    return float(np.median(v)), float(lo), float(hi)


def performance_rows(results, final: float) -> list[dict]:
    """One row per (method, task, difficulty, alpha, lr, seed): the final loss and its normalised value."""
    rows = []
    for job, res in results:
        if not isinstance(job, StreamJob):
            continue
        loss = np.asarray(res["loss"], dtype=float)
        last = max(1, int(round(final * loss.shape[1])))
        fin = loss[:, -last:].mean(axis=1)
        norm = _normalised(fin, job.task, res["levels"])
        setting = "sweep" if job.task in ("add", "mimic") and job.lags is None and job.tau_task == 1 else \
            f"alpha = {job.alpha:g}" + (f", lags {tuple(job.lags)}" if job.lags else "") + \
            (f", inputs held {job.tau_task} steps" if job.tau_task > 1 else "")
        rows += [{"setting": setting, "method": job.method, "task": job.task, "difficulty": job.difficulty,
                  "alpha": job.alpha, "lr": job.lr, "seed": s, "final_loss": float(f), "performance": float(p),
                  "diverged": bool(dv)} for s, f, p, dv in zip(job.seeds, fin, norm, res["diverged"])]
    return rows


def best_lrs(rows: list[dict]) -> dict:
    """(setting, task, method) -> the learning rate with the best mean (over difficulties) of the median
    normalised performance over seeds."""
    score: dict = {}
    for key in {(r["setting"], r["task"], r["method"], r["lr"]) for r in rows}:
        meds = [np.median([r["performance"] for r in rows if (r["setting"], r["task"], r["method"], r["lr"]) == key
                           and r["difficulty"] == d])
                for d in sorted({r["difficulty"] for r in rows if (r["setting"], r["task"]) == key[:2]})]
        score[key] = float(np.mean(meds))
    best: dict = {}
    for (setting, task, method, lr), v in score.items():
        k = (setting, task, method)
        if k not in best or v > score[(setting, task, method, best[k])]:
            best[k] = lr
    return best


def _cluster(D: np.ndarray, names: list[str], k: int) -> tuple[list[str], dict]:
    """Average-linkage clustering of a distance matrix: (the dendrogram's leaf order, method -> flat cluster
    of k)."""
    from scipy.cluster.hierarchy import fcluster, leaves_list, linkage
    from scipy.spatial.distance import squareform
    Z = linkage(squareform(np.maximum(D, 0), checks=False), method="average")
    return [names[i] for i in leaves_list(Z)], dict(zip(names, map(int, fcluster(Z, k, criterion="maxclust"))))


def grouping_p(D: np.ndarray, groups: list, n_perm: int = 20000, seed: int = 0) -> float:
    """Whether methods of the same group sit closer than methods of different groups: the permutation
    p-value (one-sided) of mean(between) - mean(within) over the distance matrix D, the group labels
    shuffled."""
    g = np.asarray(groups)
    iu = np.triu_indices(len(g), 1)

    def gap(labels):
        same = labels[iu[0]] == labels[iu[1]]
        return D[iu][~same].mean() - D[iu][same].mean()
    observed = gap(g)
    rng = np.random.default_rng(seed)
    null = np.array([gap(rng.permutation(g)) for _ in range(n_perm)])
    return float((1 + np.sum(null >= observed - 1e-12)) / (n_perm + 1))


def mantel(D1: np.ndarray, D2: np.ndarray, n_perm: int = 20000, seed: int = 0) -> tuple[float, float]:
    """(Spearman correlation of the two distance matrices' upper triangles, its one-sided permutation
    p-value with the rows and columns of D2 shuffled together)."""
    from scipy.stats import spearmanr
    iu = np.triu_indices(len(D1), 1)
    r = float(spearmanr(D1[iu], D2[iu]).statistic)
    rng = np.random.default_rng(seed)
    null = []
    for _ in range(n_perm):
        q = rng.permutation(len(D2))
        null.append(spearmanr(D1[iu], D2[np.ix_(q, q)][iu]).statistic)
    return r, float((1 + np.sum(np.array(null) >= r - 1e-12)) / (n_perm + 1))


def summarise(rows: list[dict], pairs: list[tuple]) -> dict:
    """Everything the report says: per (setting, task, difficulty, method) at its best rate the median and
    interval of the performance, the paired tests against RTRL, the clusterings and the correlations."""
    from scipy.stats import spearmanr, wilcoxon
    best = best_lrs(rows)
    table = []
    for (setting, task, method), lr in sorted(best.items()):
        for d in sorted({r["difficulty"] for r in rows if (r["setting"], r["task"]) == (setting, task)}):
            sel = sorted((r for r in rows if (r["setting"], r["task"], r["method"], r["lr"], r["difficulty"])
                          == (setting, task, method, lr, d)), key=lambda r: r["seed"])
            ref = sorted((r for r in rows if (r["setting"], r["task"], r["method"], r["lr"], r["difficulty"])
                          == (setting, task, "rtrl", best[(setting, task, "rtrl")], d)), key=lambda r: r["seed"])
            perf = [r["performance"] for r in sel]
            med, lo, hi = median_interval(perf)
            p = np.nan
            if method != "rtrl" and len(ref) == len(sel) and len(sel) > 1:
                a, b = np.array(perf), np.array([r["performance"] for r in ref])
                a, b = np.where(np.isfinite(a), a, -1e9), np.where(np.isfinite(b), b, -1e9)
                p = float(wilcoxon(a, b).pvalue) if np.any(a != b) else 1.0
            table.append({"setting": setting, "task": task, "difficulty": d, "method": method, "lr": lr,
                          "median": med, "low": lo, "high": hi, "p_vs_rtrl": p,
                          "diverged": sum(r["diverged"] for r in sel), "n": len(sel),
                          "final_loss_median": float(np.median([r["final_loss"] for r in sel]))})
    sweep = [r for r in table if r["setting"] == "sweep"]
    methods = [m for m in STREAM_METHODS if any(r["method"] == m for r in sweep)]
    cells = sorted({(r["task"], r["difficulty"]) for r in sweep})
    profile = np.array([[next(r["median"] for r in sweep if (r["method"], r["task"], r["difficulty"]) == (m, *c))
                         for c in cells] for m in methods])
    profile = np.maximum(profile, -1.0)                                      # a diverged median counts as -1
    out: dict = {"table": table, "best_lr": {"/".join(map(str, k)): v for k, v in best.items()}}
    Dp = np.zeros((0, 0))
    if len(methods) > 2:
        Dp = np.sqrt(((profile[:, None, :] - profile[None, :, :]) ** 2).mean(axis=2))
        order, flat = _cluster(Dp, methods, 4)
        crit = [m for m in methods if m != "readout"]                      # the baseline has no criteria
        idx = [methods.index(m) for m in crit]
        out["performance_clusters"] = {
            "order": order, "flat": flat,
            "grouping_p": {axis: grouping_p(Dp[np.ix_(idx, idx)], [CRITERIA[m][k] for m in crit])
                           for k, axis in ((0, "facing"), (2, "stochastic"))}}
    align = {}
    for job, res in pairs:
        A = np.asarray(res["alignment"])                                     # (windows, M, M)
        names = res["monitors"]
        mean = A.mean(axis=0)
        order, flat = _cluster(1 - mean, names, 4)
        at = {r["method"]: r["median"] for r in sweep if (r["task"], r["difficulty"]) == (job.task, job.difficulty)}
        others = [m for m in names if m != "rtrl" and m in at]
        rho = spearmanr([mean[names.index("rtrl"), names.index(m)] for m in others], [at[m] for m in others])
        entry = {"monitors": names, "mean": mean.tolist(), "first": A[0].tolist(), "last": A[-1].tolist(),
                 "order": order, "flat": flat,
                 "spearman_rtrl_alignment_vs_performance": [float(rho.statistic), float(rho.pvalue)],
                 "grouping_p": {axis: grouping_p(1 - mean, [CRITERIA[m][k] for m in names])
                                for k, axis in ((0, "facing"), (2, "stochastic"))}}
        if len(Dp) and all(m in methods for m in names):
            idx = [methods.index(m) for m in names]
            entry["mantel_vs_performance"] = list(mantel(Dp[np.ix_(idx, idx)], 1 - mean))
        align[f"{job.task}/{job.difficulty}"] = entry
    out["alignment"] = align
    return out


# ------------------------------------------------------------------------------------------------ the outputs
def build(out: Path, results, failures, meta: dict) -> dict:
    proto = meta.get("protocol", MARSCHALL)
    rows = performance_rows(results, proto["final"])
    pairs = [(j, r) for j, r in results if isinstance(j, PairJob)]
    summary = summarise(rows, pairs) if rows else {"table": [], "alignment": {}, "best_lr": {}}
    meta = {**meta, "job_seconds": sum(r.get("seconds", 0.0) for _, r in results), "jobs": len(results)}
    files: dict[str, Any] = {
        "json": write_json({"meta": meta, "summary": summary, "failures": [{"job": repr(j), **f} for j, f in failures]},
                           out / "marschall.json")}
    if rows:
        files["performance_csv"] = write_csv(rows, out / "marschall_performance.csv")
        files["performance_png"] = plot_performance(summary["table"], out / "marschall_performance.png")
    if summary["alignment"]:
        files["alignment_csv"] = write_csv(
            [{"pair": k, "a": a, "b": b, "mean_cosine": v["mean"][i][j], "first_window": v["first"][i][j],
              "last_window": v["last"][i][j]} for k, v in summary["alignment"].items()
             for i, a in enumerate(v["monitors"]) for j, b in enumerate(v["monitors"]) if i < j],
            out / "marschall_alignment.csv")
        files["alignment_png"] = plot_alignment(summary["alignment"], out / "marschall_alignment.png")
    files["report"] = atomic_write(out / "marschall.md", report_text(summary, meta, failures))
    return {"files": files, "summary": summary, "failures": failures}


_SUPERSCRIPT = str.maketrans("-0123456789", "\u207b\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079")


def _pfmt(p: float) -> str:
    """A p-value with two digits; below 0.001 as 1.9·10⁻⁶ (no hyphen for a narrow cell to break at)."""
    if p >= 1e-3:
        return f"{p:.2g}"
    mantissa, exponent = f"{p:.1e}".split("e")
    return f"{mantissa}\u00b710{str(int(exponent)).translate(_SUPERSCRIPT)}"


def _fmt(v: float) -> str:
    return "diverged" if v == -np.inf else f"{v:.2f}"


def report_text(summary: dict, meta: dict, failures) -> str:
    proto = meta.get("protocol", MARSCHALL)
    lines = ["**Marschall et al.'s setting: every method on one stream.**", "",
             f"`{meta['command_line']}`: {meta['jobs']} jobs, {meta['job_seconds']:.0f} s of work"
             + (f", {meta['seconds']:.0f} s of wall time" if meta["seconds"] >= 1 else " (built from the stored runs)")
             + f" on {cpu_text(meta.get('cpu'))}, commit "
             f"{meta.get('commit', 'unknown')}.", "",
             f"H = {proto['H']}, {proto['seeds']} seeds, {proto['steps']} steps of SGD (one update a step), learning "
             f"rates {', '.join(map(str, proto['lrs']))}; performance: the mean loss of the last "
             f"{proto['final']:.0%} of each stream, normalised (0: nothing learned, 1: all); median over seeds "
             "[order-statistic 95% interval]; p: Wilcoxon signed-rank test against RTRL, paired by seed (the same "
             "network and stream).", ""]
    table = summary["table"]
    for setting, task in sorted({(r["setting"], r["task"]) for r in table}):
        ds = sorted({r["difficulty"] for r in table if (r["setting"], r["task"]) == (setting, task)})
        head = [f"d = {d}" for d in ds] if setting == "sweep" else [setting]
        title = {"add": "add task", "mimic": "mimic task (2 inputs, the target scaled by the difficulty)",
                 "mimic32": "mimic task (their first: 32 inputs and outputs)"}[task]
        lines += [f"#### {title}, {'difficulty sweep, alpha = 1' if setting == 'sweep' else setting}", "",
                  "| method | lr | " + " | ".join(head) + " |", "|---|---|" + "---|" * len(ds)]
        for m in STREAM_METHODS:
            sel = {r["difficulty"]: r for r in table if (r["setting"], r["task"], r["method"]) == (setting, task, m)}
            if not sel:
                continue
            cells = [f"{_fmt(r['median'])} [{_fmt(r['low'])}, {_fmt(r['high'])}]"
                     + ("" if np.isnan(r["p_vs_rtrl"]) else f"<br>p = {_pfmt(r['p_vs_rtrl'])}")
                     + (f", {r['diverged']} diverged" if r["diverged"] else "") for r in (sel[d] for d in ds)]
            lines.append(f"| {LABELS[m]} | {sel[ds[0]]['lr']:g} | " + " | ".join(cells) + " |")
        lines.append("")
    if "performance_clusters" in summary:
        pc = summary["performance_clusters"]
        gp = pc["grouping_p"]
        lines += ["#### Clusters", "", "By performance (the sweep's medians as one profile per method, RMS distance; "
                  "average linkage, 4 clusters): " + _clusters_text(pc["flat"], pc["order"]) + ". Do methods of "
                  "one kind sit closer than methods of different kinds (permutation test of the mean distance "
                  f"between kinds minus within, readout left out)? past- vs future-facing p = {gp['facing']:.2g}; "
                  f"stochastic vs deterministic p = {gp['stochastic']:.2g}.", ""]
    for key, v in summary["alignment"].items():
        rho, p = v["spearman_rtrl_alignment_vs_performance"]
        mt = v.get("mantel_vs_performance")
        lines += [f"By alignment, {key.replace('/', ', d = ')} (1 - mean cosine along training; average linkage, 4 "
                  "clusters): " + _clusters_text(v["flat"], v["order"]) + ". Kinds closer than not: facing p = "
                  f"{v['grouping_p']['facing']:.2g}, stochastic p = {v['grouping_p']['stochastic']:.2g}"
                  + (f"; the alignment distances against the performance distances (Mantel, Spearman): r = "
                     f"{mt[0]:.2f}, p = {mt[1]:.2g}" if mt else "")
                  + f". Spearman correlation across methods between alignment with RTRL and performance: {rho:.2f} "
                  f"(p = {p:.2g}).", ""]
    if failures:
        lines.append(f"{len(failures)} jobs failed (stored with their tracebacks; --retry-failed runs them again).")
    return "\n".join(lines) + "\n"


def _clusters_text(flat: dict, order: list) -> str:
    groups: dict = {}
    for m in order:
        groups.setdefault(flat[m], []).append(LABELS[m])
    return "; ".join("{" + ", ".join(g) + "}" for g in groups.values())


def plot_performance(table: list[dict], path: Path) -> Path:
    """Median normalised performance against difficulty, one panel per task, each method at its best rate."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    sweep = [r for r in table if r["setting"] == "sweep"]
    tasks = sorted({r["task"] for r in sweep})
    fig, axes = plt.subplots(1, len(tasks), figsize=(5.5 * len(tasks), 4.2), squeeze=False)
    cmap = plt.get_cmap("tab20")
    for ax, task in zip(axes[0], tasks):
        for i, m in enumerate(STREAM_METHODS):
            sel = sorted((r for r in sweep if (r["task"], r["method"]) == (task, m)), key=lambda r: r["difficulty"])
            if not sel:
                continue
            d = np.array([r["difficulty"] for r in sel]) + (i - 6) * 0.04
            med = np.array([max(r["median"], -0.5) for r in sel])
            err = np.array([[med[j] - max(r["low"], -0.5), max(r["high"], -0.5) - med[j]] for j, r in enumerate(sel)]).T
            ax.errorbar(d, med, yerr=np.maximum(err, 0), marker="o", ms=3, lw=1, capsize=2, color=cmap(i),
                        label=LABELS[m], ls="--" if CRITERIA[m][2] == "stochastic" else "-")
        ax.set_title(f"{task} task")
        ax.set_xlabel("difficulty d")
        ax.axhline(0, color="grey", lw=0.6)
    axes[0, 0].set_ylabel("performance (0: nothing learned, 1: all)")
    axes[0, -1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    fig.tight_layout()
    out = save_figure(fig, path)
    plt.close(fig)
    return out


def plot_alignment(align: dict, path: Path) -> Path:
    """The pairwise cosine along training (mean over windows and seeds), one heat map per task and difficulty."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    keys = list(align)
    cols = min(3, len(keys))
    rows_ = -(-len(keys) // cols)
    fig, axes = plt.subplots(rows_, cols, figsize=(4.2 * cols, 4.2 * rows_), squeeze=False)
    fig.subplots_adjust(wspace=0.4, hspace=0.45, left=0.08, right=0.86)
    for ax, key in zip(axes.flat, keys):
        v = align[key]
        names = v["monitors"]
        im = ax.imshow(np.asarray(v["mean"]), vmin=-1, vmax=1, cmap="RdBu_r")
        short = [SHORT[n] for n in names]
        ax.set_xticks(range(len(names)), short, rotation=90, fontsize=7)
        ax.set_yticks(range(len(names)), short, fontsize=7)
        ax.set_title(key.replace("/", " task, d = "), fontsize=9)
    for ax in list(axes.flat)[len(keys):]:
        ax.axis("off")
    fig.colorbar(im, ax=axes, shrink=0.6, label="cosine")
    out = save_figure(fig, path)
    plt.close(fig)
    return out
