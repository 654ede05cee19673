"""The package's rooms, as the README's map draws them: no import cycle, each room importing only
the rooms below it, no cell's kernels importing another cell's, no function outside the registry
branching on a cell's name, `reference` reached only through a documented boundary, modules short
enough to read in one sitting, and no torch or numba behind `import scratch_rnn`."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "scratch_rnn"
REFERENCE = ROOT.parent / "reference"
GROUND = {"_validate", "_activations", "_files", "_backend", "_provenance", "_resources"}
CORE = {"rnn", "lstm", "gru", "cells", "stack", "truncated"}
#: the rooms each room may import (besides itself); the package's __init__ only re-exports
ALLOWED = {
    "_numba": set(),
    "ground": set(),
    "core": {"ground"},
    "training": {"ground", "core"},
    "runs": {"ground"},
    "study": {"ground", "_numba", "core", "training", "runs"},
    "truncation": {"ground", "_numba", "core", "training", "runs"},
    "charlm": {"ground", "_numba", "core", "training", "runs"},
    "gradcheck": {"ground", "core"},
    "rtrl": {"ground", "_numba", "core", "training", "runs"},
    "bench": {"ground", "_numba", "core", "training"},
    "cli": {"ground", "_numba", "core", "training", "runs", "study", "truncation", "charlm", "gradcheck", "bench",
            "rtrl"},
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
    """Comparisons of something named like a cell with a cell's name: `cell == "lstm"`,
    `spec.cell != "rnn"`, `cell in ("rnn", "gru")`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Compare):
            continue
        sides = [node.left, *node.comparators]
        names = [ast.unparse(s) for s in sides if isinstance(s, (ast.Name, ast.Attribute))]
        consts = set()
        for s in sides:
            elts = s.elts if isinstance(s, (ast.Tuple, ast.List, ast.Set)) else [s]
            consts |= {e.value for e in elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}
        if consts & CELL_NAMES and any("cell" in n.lower() for n in names):
            found.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_only_the_registry_branches_on_a_cells_name():
    paths = [p for p in [*ROOT.rglob("*.py"), *REFERENCE.rglob("*.py")] if p != ROOT / "cells.py"]
    found = [b for p in paths for b in _cell_name_branches(p)]
    assert found == []


def test_the_branch_check_sees_a_branch(tmp_path):
    p = tmp_path / "m.py"
    p.write_text('def f(cell):\n    return 4 if cell == "lstm" else 1\n\ndef g(spec):\n    return spec.cell in ("rnn", "gru")\n')
    assert len(_cell_name_branches(p)) == 2


def test_reference_is_reached_only_through_the_boundary():
    for m, path in _modules().items():
        top = {i for i in _imports(path, top_level_only=True) if i.split(".")[0] == "reference"}
        assert not top, f"{m} imports {top} at module level: `import scratch_rnn` must not need torch"
        anywhere = {i for i in _imports(path) if i.split(".")[0] == "reference"}
        assert not anywhere or m in REFERENCE_BOUNDARY, f"{m} imports {anywhere}, outside the documented boundary"


def test_reference_uses_scratch_rnn_and_not_the_other_way_at_import():
    """`reference` (the torch side) may import scratch_rnn; nothing in it imports the experiments or
    the command line."""
    for m, path in _modules(REFERENCE).items():
        for d in _imports(path):
            if d.split(".")[0] == "scratch_rnn":
                assert _room(d) in {"package", "ground", "core", "training"}, f"{m} imports {d}"


@pytest.mark.parametrize("path", sorted(ROOT.rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_modules_stay_readable(path):
    assert len(path.read_text().splitlines()) <= 300


def test_import_needs_neither_torch_nor_numba():
    code = "import sys, scratch_rnn; print('torch' in sys.modules, 'numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"]
