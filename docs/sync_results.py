"""Copy committed result files into the pages that show them, between markers, so a page reads whole
on a code host as on the site (no include line) and still shows the file exactly:

    <!-- results: benchmarks/results/nn_update.md -->
    ... the file's text, fenced as ```text when the file is not Markdown ...
    <!-- end results -->

    python docs/sync_results.py           # rewrite every region from its file
    python docs/sync_results.py --check   # exit 1, naming the page and file, where a region is stale

``tests/test_docs.py`` runs the check, so a result refreshed without its page fails the tests.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REGION = re.compile(r"(<!-- results: (?P<file>\S+) -->\n)(?P<body>.*?)(<!-- end results -->)", re.S)


def body(file: str) -> str:
    """What a region of `file` holds: the file itself (Markdown) or the file fenced as text."""
    text = (ROOT / file).read_text().rstrip("\n") + "\n"
    return text if file.endswith(".md") else f"```text\n{text}```\n"


def stale(page: Path) -> list[str]:
    """The files whose region in `page` differs from the file now."""
    return [m["file"] for m in REGION.finditer(page.read_text()) if m["body"] != body(m["file"])]


def sync(page: Path) -> bool:
    """Rewrite every region of `page` from its file; whether anything changed."""
    text = page.read_text()
    new = REGION.sub(lambda m: m.group(1) + body(m["file"]) + m.group(4), text)
    if new != text:
        page.write_text(new)
    return new != text


def pages() -> list[Path]:
    """The README and every page of the site that holds a results region."""
    return [p for p in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))] if "<!-- results: " in p.read_text()]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only say which regions are stale")
    args = ap.parse_args(argv)
    if args.check:
        bad = [f"{p.relative_to(ROOT)}: {f}" for p in pages() for f in stale(p)]
        for line in bad:
            print(f"stale: {line} (run python docs/sync_results.py)")
        return 1 if bad else 0
    for p in pages():
        if sync(p):
            print(f"updated {p.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
