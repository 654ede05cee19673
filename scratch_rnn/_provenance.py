"""What a saved result records about where it came from."""
from __future__ import annotations

import platform
import sys
from datetime import datetime, timezone
from importlib import metadata


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def provenance() -> dict:
    """Versions of Python and the libraries that shape the numbers, the CPU and the time."""
    from ._version import __version__

    return {
        "scratch_rnn": __version__,
        "python": sys.version.split()[0],
        "versions": {d: _version(d) for d in ("numpy", "numba", "llvmlite", "scipy", "torch", "matplotlib")},
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
