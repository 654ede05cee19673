"""The package's rooms, as the README's map draws them: no import cycle, each room importing only
the rooms below it, no cell's kernels importing another cell's, no function outside the registry
branching on a cell's name or keeping a table keyed by it, `reference` reached only through a
documented boundary and using only public names, every module named by its package's docstring and
by docs/internals.md, and no torch or numba behind `import scratch_rnn`."""
import ast
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "scratch_rnn"
REFERENCE = ROOT.parent / "reference"
GROUND = {"_validate", "_activations", "_files", "_backend", "_provenance", "_resources", "_version"}
CORE = {"rnn", "lstm", "gru", "cells", "stack", "truncated"}
#: the rooms each room may import (besides itself); the package's __init__ only re-exports
ALLOWED = {
    "_numba": set(),
    "ground": set(),
    "core": {"ground"},
    "training": {"ground", "core"},
    "runs": {"ground", "_numba"},
    "study": {"ground", "_numba", "core", "training", "runs"},
    "truncation": {"ground", "_numba", "core", "training", "runs"},
    "charlm": {"ground", "_numba", "core", "training", "runs"},
    "gradcheck": {"ground", "core"},
    "check": {"ground", "core", "training", "rtrl"},
    "nn": {"ground", "core", "_numba"},
    "rtrl": {"ground", "_numba", "core"},
    "online": {"ground", "_numba", "core", "training", "runs", "rtrl", "study"},      # study: its statistics
    "bench": {"ground", "_numba", "core", "training"},
    "cli": {"ground", "_numba", "core", "training", "runs", "study", "truncation", "charlm", "gradcheck", "bench",
            "rtrl", "online", "check"},
}
#: the modules that may call into the torch side (`reference`), always inside a function, so that
#: `import scratch_rnn` never needs torch: the torch engine, the oracles of the gradient checks, the
#: torch rows of the benchmarks
REFERENCE_BOUNDARY = {"scratch_rnn.study.runner", "scratch_rnn.study.specs", "scratch_rnn.gradcheck.layers",
                      "scratch_rnn.gradcheck.stacks", "scratch_rnn.bench.measure"}
CELL_NAMES = {"rnn", "lstm", "gru"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, top_level_only: bool = False) -> set[str]:
    """Every module of the package (or `reference`) that `path` imports, at module level or inside
    functions. ``from . import x`` imports the module x (and, as Python does, its package, whose
    __init__ is a re-export, not a layer)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            subs = {f"{mod}.{a.name}" for a in node.names
                    if (ROOT.parent / (mod + "." + a.name).replace(".", "/")).with_suffix(".py").exists()
                    or (ROOT.parent / (mod + "." + a.name).replace(".", "/") / "__init__.py").exists()}
            found |= subs if subs else {mod}
    return {m for m in found if m.split(".")[0] in ("scratch_rnn", "reference")} - {name}


def _modules(root: Path = ROOT) -> dict:
    return {_module_name(p): p for p in sorted(root.rglob("*.py"))}


def _graph() -> dict:
    mods = _modules()
    return {m: {i for i in _imports(p) if i in mods} for m, p in mods.items()}


def _room(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "package"
    if parts[1] in GROUND:
        return "ground"
    if parts[1] in CORE:
        return "core"
    assert parts[1] in ALLOWED, f"{module}: a module in no room of the map; add it to the README's map and here"
    return parts[1]


def test_no_import_cycles():
    graph = _graph()
    state: dict = {}

    def visit(m, path):
        if state.get(m) == "done":
            return
        assert state.get(m) != "open", "import cycle: " + " -> ".join(path + [m])
        state[m] = "open"
        for n in sorted(graph[m]):
            if n != "scratch_rnn":                   # the package's __init__ re-exports, it is no layer
                visit(n, path + [m])
        state[m] = "done"

    for m in sorted(graph):
        visit(m, [])


def _violations(graph: dict) -> list[str]:
    out = []
    for m, deps in graph.items():
        room = _room(m)
        for d in deps:
            other = _room(d)
            if room != "package" and other not in ("package", room) and other not in ALLOWED[room]:
                out.append(f"{m} ({room}) imports {d} ({other})")
    return out


def test_every_room_imports_only_the_rooms_below_it():
    assert _violations(_graph()) == []


def test_the_room_check_sees_an_import_that_points_up():
    graph = {"scratch_rnn.stack": {"scratch_rnn.study.specs"}, "scratch_rnn.charlm.tbptt": {"scratch_rnn.study.stats"},
             "scratch_rnn.study.runner": {"scratch_rnn.training.model"}}
    assert len(_violations(graph)) == 2


@pytest.mark.parametrize("cell", sorted(CELL_NAMES))
def test_no_cell_kernel_imports_another_cells(cell):
    graph = _graph()
    others = {f"scratch_rnn._numba.{o}" for o in CELL_NAMES - {cell}} | {f"scratch_rnn.{o}" for o in CELL_NAMES}
    assert not graph[f"scratch_rnn._numba.{cell}"] & others
    assert not graph[f"scratch_rnn.{cell}"] & {f"scratch_rnn.{o}" for o in CELL_NAMES - {cell}}


def _cell_name_branches(path: Path) -> list[str]:
    """Per-cell knowledge outside the registry: any comparison with a cell's name (`cell == "lstm"`,
    `get_cell(c).name != "rnn"`, `name in ("rnn", "gru")`, whatever the other side is called), any
    `match` case on one, and any dict display keyed by two or more cells' names (a table:
    `{"rnn": nn.RNN, "lstm": nn.LSTM}[cell]`)."""
    found = []

    def names_of(node) -> set:
        elts = node.elts if isinstance(node, (ast.Tuple, ast.List, ast.Set)) else [node]
        return {e.value for e in elts if isinstance(e, ast.Constant) and isinstance(e.value, str)} & CELL_NAMES

    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Compare) and any(names_of(s) for s in [node.left, *node.comparators]):
            found.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.Dict) and len({k.value for k in node.keys if isinstance(k, ast.Constant)}
                                                 & CELL_NAMES) >= 2:
            found.append(f"{path.name}:{node.lineno}: a table keyed by cell names")
        elif isinstance(node, ast.match_case) and any(isinstance(n, ast.MatchValue) and names_of(n.value)
                                                      for n in ast.walk(node.pattern)):
            found.append(f"{path.name}:{node.pattern.lineno}: a match case on a cell's name")
    return found


def test_only_the_registry_branches_on_a_cells_name():
    paths = [p for p in [*ROOT.rglob("*.py"), *REFERENCE.rglob("*.py")] if p != ROOT / "cells.py"]
    found = [b for p in paths for b in _cell_name_branches(p)]
    assert found == []


@pytest.mark.parametrize("planted", [
    'def f(cell):\n    return 4 if cell == "lstm" else 1\n',
    'def g(spec):\n    return spec.cell in ("rnn", "gru")\n',
    'def h(c):\n    return get_cell(c).name == "lstm"\n',
    'def k(kind):\n    return kind != "gru"\n',
    'def m(c):\n    return {"rnn": 1, "lstm": 4, "gru": 3}[c]\n',
    'def n(c):\n    match c:\n        case "lstm":\n            return 4\n',
])
def test_the_branch_check_sees_a_branch(tmp_path, planted):
    p = tmp_path / "m.py"
    p.write_text(planted)
    assert len(_cell_name_branches(p)) == 1


def _private_uses(path: Path) -> list[str]:
    """Imports of `scratch_rnn` that are not public: a module with a leading underscore in its path, or
    a name with one."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "scratch_rnn":
            if any(part.startswith("_") for part in node.module.split(".")):
                found.append(f"{path.name}:{node.lineno}: from {node.module}")
            found += [f"{path.name}:{node.lineno}: {a.name}" for a in node.names if a.name.startswith("_")]
        elif isinstance(node, ast.Import):
            found += [f"{path.name}:{node.lineno}: import {a.name}" for a in node.names
                      if a.name.split(".")[0] == "scratch_rnn" and any(p.startswith("_") for p in a.name.split("."))]
    return found


def test_reference_uses_public_names_only():
    assert [u for p in REFERENCE.rglob("*.py") for u in _private_uses(p)] == []


def test_the_public_check_sees_a_private_import(tmp_path):
    p = tmp_path / "m.py"
    p.write_text("from scratch_rnn._validate import PARAM_NAMES\nfrom scratch_rnn.stack import _sizes\n"
                 "import scratch_rnn._numba.rnn\nfrom scratch_rnn import get_cell\n")
    assert len(_private_uses(p)) == 3


def test_reference_is_reached_only_through_the_boundary():
    for m, path in _modules().items():
        top = {i for i in _imports(path, top_level_only=True) if i.split(".")[0] == "reference"}
        assert not top, f"{m} imports {top} at module level: `import scratch_rnn` must not need torch"
        anywhere = {i for i in _imports(path) if i.split(".")[0] == "reference"}
        assert not anywhere or m in REFERENCE_BOUNDARY, f"{m} imports {anywhere}, outside the documented boundary"


def test_reference_uses_scratch_rnn_and_not_the_other_way_at_import():
    """`reference` (the torch side) may import scratch_rnn (its core, training, and the torch modules
    of `scratch_rnn.nn`); nothing in it imports the experiments or the command line."""
    for m, path in _modules(REFERENCE).items():
        for d in _imports(path):
            if d.split(".")[0] == "scratch_rnn":
                assert _room(d) in {"package", "ground", "core", "training", "nn"}, f"{m} imports {d}"


def test_long_modules_are_named():
    """Modules are split by concept, not by length: a module past 400 lines is a warning to read it
    again for a second concept, never a failure."""
    for path in sorted(ROOT.rglob("*.py")):
        n = len(path.read_text().splitlines())
        if n > 400:
            warnings.warn(f"{path.relative_to(ROOT)}: {n} lines; does it hold more than one concept?", stacklevel=1)


def _unnamed_modules(folder: Path, text: str) -> list[str]:
    """The modules (and subpackages) of `folder` that `text` does not name: as `name` (or a dotted name
    under it) in the docstrings, or as name.py (a subpackage: name/) in the internals page's tree."""
    modules = {p.stem for p in folder.glob("*.py") if p.stem != "__init__"}
    packages = {p.parent.name for p in folder.glob("*/__init__.py")}
    forms = {n: (f"`{n}`", f"`{n}.", f"{n}.py") for n in modules} | {n: (f"`{n}`", f"`{n}.", f"{n}/") for n in packages}
    return [n for n in sorted(forms) if not any(f in text for f in forms[n])]


@pytest.mark.parametrize("package", sorted(p.parent for p in ROOT.rglob("__init__.py")),
                         ids=lambda p: str(p.relative_to(ROOT.parent)))
def test_every_package_docstring_names_every_module(package):
    doc = ast.get_docstring(ast.parse((package / "__init__.py").read_text())) or ""
    assert _unnamed_modules(package, doc) == []


def test_the_internals_page_names_every_module():
    text = (ROOT.parent / "docs" / "internals.md").read_text()
    missing = [f"{package.relative_to(ROOT.parent)}/{m}" for package in sorted(p.parent for p in ROOT.rglob("__init__.py"))
               for m in _unnamed_modules(package, text)]
    assert missing == []


def test_the_module_check_sees_a_missing_name(tmp_path):
    (tmp_path / "alpha.py").write_text("")
    (tmp_path / "beta.py").write_text("")
    assert _unnamed_modules(tmp_path, "`alpha` does one thing") == ["beta"]


def test_import_needs_neither_torch_nor_numba():
    code = "import sys, scratch_rnn; print('torch' in sys.modules, 'numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"]
