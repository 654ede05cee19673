"""What a command will need, checked against what the machine has, before any work starts: the
ground floor, importing nothing from the package.

The estimates are deliberately simple upper bounds of the arrays that must exist at once (a forward
pass's cache and the backward pass's totals, over the largest batch a run evaluates); the checks
refuse what is clearly out of reach and name the option to change, rather than let a run fail late
with a MemoryError or grow memory silently.
"""
from __future__ import annotations

import os

#: the most runs one command builds (its spec list alone would outgrow memory far beyond this)
MAX_RUNS = 1_000_000


def available_memory() -> int:
    """Bytes of memory available now (``MemAvailable`` of /proc/meminfo, else the free pages)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def human(n: float) -> str:
    """1536 -> '1.5 KiB'."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} PiB"


def layer_bytes(T: int, B: int, H: int, G: int, itemsize: int, D: int = 1) -> int:
    """An upper bound of one layer's forward cache and backward totals: x and dx (T, B, D), every
    state, gate and total, (T, B, H) each, about G + 6 of them (an LSTM keeps h, c, tanh c and four
    gates and returns dL/dh_t and dL/dc_t)."""
    return T * B * (2 * D + (G + 6) * H) * itemsize


def check_memory(what: str, needed: int, change: str, copies: int = 1) -> None:
    """Raise ValueError when `copies` x `needed` bytes exceed the memory available now; the message
    says what needs it, the estimate, what is available, and which option to change."""
    available = available_memory()
    total = copies * needed
    if total > available:
        each = f" ({copies} at once, {human(needed)} each)" if copies > 1 else ""
        raise ValueError(f"{what}: needs about {human(total)} of memory{each}, more than the {human(available)} "
                         f"available; {change}")


def check_run_count(count: int, how: str) -> None:
    """Raise ValueError when a command would build more than MAX_RUNS runs; `how` spells the product."""
    if count > MAX_RUNS:
        raise ValueError(f"{how} = {count:,} runs, more than the {MAX_RUNS:,} one command takes; split the grid "
                         "into several commands")
