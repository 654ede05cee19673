"""Execute docs/walkthrough.py (the notebook's source, jupytext percent format) and write the
executed docs/walkthrough.ipynb with every output and figure.

    python docs/build_walkthrough.py            # the full notebook (what is committed)
    python docs/build_walkthrough.py --quick    # small sizes, as the tests run it

Needs the ``notebook`` extra: ``pip install ".[notebook]"``.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE, TARGET = HERE / "walkthrough.py", HERE / "walkthrough.ipynb"


def execute(quick: bool, timeout: int = 900):
    """The notebook of SOURCE, executed in a fresh kernel with the working directory docs/."""
    import jupytext
    import nbclient

    nb = jupytext.read(SOURCE)
    env_before = os.environ.get("WALKTHROUGH_QUICK")
    os.environ["WALKTHROUGH_QUICK"] = "1" if quick else "0"          # the kernel inherits the environment
    try:
        nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(HERE)}}).execute()
    finally:
        if env_before is None:
            os.environ.pop("WALKTHROUGH_QUICK", None)
        else:
            os.environ["WALKTHROUGH_QUICK"] = env_before
    return nb


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (under a minute); not for committing")
    ap.add_argument("--out", default=str(TARGET), help=f"where to write the executed notebook (default {TARGET})")
    args = ap.parse_args(argv)
    import nbformat

    t0 = time.perf_counter()
    nb = execute(args.quick)
    from scratch_rnn._provenance import commit, cpu_text, kernel_sources
    # the kernels' sources, so that a test fails when the committed numbers are older than the kernels
    nb.metadata["scratch_rnn"] = {"kernel_sources": kernel_sources(), "cpu": cpu_text(), "commit": commit(),
                                  "quick": args.quick}
    nbformat.write(nb, args.out)
    print(f"wrote {args.out}: executed in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
