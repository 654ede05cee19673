"""What a release promises: every public name annotated, the version written once, the license shipped."""
import inspect
import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

import scratch_rnn as sr

ROOT = Path(__file__).resolve().parents[1]


def _public_callables():
    for name in sr.__all__:
        obj = getattr(sr, name)
        if inspect.isfunction(obj):
            yield name, obj
        elif inspect.isclass(obj) and obj.__module__.startswith("scratch_rnn"):
            for attr, fn in vars(obj).items():
                if inspect.isfunction(fn) and (not attr.startswith("_") or attr == "__init__") \
                        and fn.__qualname__.startswith(f"{obj.__name__}."):   # not typing.Protocol's own
                    yield f"{name}.{attr}", fn


@pytest.mark.parametrize("name,fn", list(_public_callables()), ids=lambda v: v if isinstance(v, str) else "")
def test_public_api_is_annotated(name, fn):
    sig = inspect.signature(fn)
    missing = [p for p, v in sig.parameters.items()
               if p not in ("self", "cls") and v.kind not in (v.VAR_POSITIONAL, v.VAR_KEYWORD)
               and v.annotation is inspect.Parameter.empty]
    assert not missing, f"{name}: parameters without annotations: {missing}"
    assert sig.return_annotation is not inspect.Signature.empty, f"{name}: no return annotation"


def test_version_is_written_once():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert sr.__version__ == metadata.version("scratch-rnn") == project["version"]
    hits = [p for p in (ROOT / "scratch_rnn").rglob("*.py") if re.search(r"__version__\s*=\s*['\"]\d+\.\d+", p.read_text())]
    assert hits == [], f"a version literal in {hits}"
    cff = (ROOT / "CITATION.cff").read_text()
    assert f"version: {project['version']}" in cff
    assert f"## [Unreleased] ({project['version']})" in (ROOT / "CHANGELOG.md").read_text()


def test_license_and_type_marker_ship():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert (ROOT / "scratch_rnn" / "py.typed").exists()
