"""The wheel holds every module of the source tree, py.typed, LICENSE, and nothing else of the repository."""
import sys
import zipfile
from pathlib import Path

wheel = Path(sys.argv[1])
names = set(zipfile.ZipFile(wheel).namelist())
repo = Path(__file__).resolve().parents[1]
expected = {str(p.relative_to(repo)) for pkg in ("scratch_rnn", "reference") for p in (repo / pkg).rglob("*.py")}
expected |= {"scratch_rnn/py.typed", "reference/py.typed"}
missing = sorted(expected - names)
extra = sorted(n for n in names if not n.startswith(("scratch_rnn/", "reference/", wheel.name.split("-")[0] + "-")))
stray = sorted(n for n in names if n.endswith((".nbi", ".nbc", ".pyc")) or "results" in n or n.startswith("tests/"))
licensed = any(n.endswith("LICENSE") for n in names)
print(f"{wheel.name}: {wheel.stat().st_size / 1e3:.0f} kB, {len(names)} files, "
      f"{len([n for n in names if n.endswith('.py')])} modules")
if missing or extra or stray or not licensed:
    sys.exit(f"wheel: missing {missing}, unexpected {extra}, stray {stray}, LICENSE {'present' if licensed else 'missing'}")
