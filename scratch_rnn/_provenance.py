"""What a saved result records about where it came from: versions, the CPU (its model, family and
vector extensions, which move timings up to 2x between machines), the BLAS kernel override, the time."""
from __future__ import annotations

import os
import platform
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def cpu() -> dict:
    """The CPU as Linux describes it: model name, family and model numbers, logical CPUs, whether it has
    AVX2 and AVX-512, and ``OPENBLAS_CORETYPE`` (which holds OpenBLAS to older kernels) if set."""
    info: dict = {"cpus": os.cpu_count(), "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE")}
    try:
        text = open("/proc/cpuinfo").read()
    except OSError:
        return info
    first = dict(line.split(":", 1) for line in text.split("\n\n")[0].splitlines() if ":" in line)
    first = {k.strip(): v.strip() for k, v in first.items()}
    flags = set(first.get("flags", "").split())
    info.update(model_name=first.get("model name"), family=first.get("cpu family"), model=first.get("model"),
                avx2="avx2" in flags, avx512="avx512f" in flags)
    return info


def cpu_text(c: dict | None = None) -> str:
    """The CPU in words, as every written time names it: "AMD EPYC (family 25, model 17; 2 CPUs, AVX-512)"."""
    c = cpu() if c is None else c
    vec = "AVX-512" if c.get("avx512") else "AVX2" if c.get("avx2") else "no AVX2"
    forced = f", OPENBLAS_CORETYPE={c['openblas_coretype']}" if c.get("openblas_coretype") else ""
    return f"{c.get('model_name') or platform.machine()} (family {c.get('family')}, model {c.get('model')}; " \
           f"{c.get('cpus')} CPUs, {vec}{forced})"


def measured_on() -> str:
    """Where and with what a written time was measured: the CPU in words and the commit, "AMD EPYC (family 25,
    model 17; 2 CPUs, AVX-512), commit 1a2b3c4"."""
    return f"{cpu_text()}, commit {commit() or 'unknown (not a git checkout)'}"


def kernel_sources() -> str:
    """A hash of the compiled kernels' sources (``scratch_rnn/_numba/*.py``, line endings normalised): every
    saved timing records it, so a test fails when a committed time is older than the kernels it timed."""
    import hashlib
    digest = hashlib.sha256()
    for path in sorted((Path(__file__).resolve().parent / "_numba").glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes().replace(b"\r\n", b"\n") + b"\0")
    return digest.hexdigest()[:16]


#: what a run of the benchmarks, the experiments or the walkthrough writes: their changes do not make the
#: code "dirty"
OUTPUTS = ("benchmarks/results", "docs/results", "docs/figures", "docs/walkthrough.ipynb")


def commit() -> str | None:
    """The source tree's commit (short hash), with "-dirty" where tracked files other than the written
    results (:data:`OUTPUTS`) differ from it, where the package runs from a git checkout; else None (an
    installed wheel). A batch of benchmarks, each writing its results into the tree, names the same
    clean commit throughout."""
    return tree_commit(Path(__file__).resolve().parents[1])


def tree_commit(root: Path) -> str | None:
    """:func:`commit` of the git work tree at `root` (None where it is not one)."""
    import subprocess
    if not (root / ".git").exists():
        return None

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip() if out.returncode == 0 else None
    head = git("rev-parse", "--short=7", "HEAD")
    if not head:
        return None
    changed = git("status", "--porcelain", "--untracked-files=no", "--", ".",
                  *(f":(exclude){path}" for path in OUTPUTS))
    return head + ("-dirty" if changed else "")


def provenance() -> dict:
    """Versions of Python and the libraries that shape the numbers, the CPU, the commit, the kernels' sources
    (:func:`kernel_sources`) and the time."""
    from ._version import __version__

    return {
        "scratch_rnn": __version__,
        "commit": commit(),
        "kernel_sources": kernel_sources(),
        "python": sys.version.split()[0],
        "versions": {d: _version(d) for d in ("numpy", "numba", "llvmlite", "scipy", "torch", "matplotlib")},
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu": cpu(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
