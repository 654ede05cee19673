"""The package's layers, as the README draws them: no import cycle, dependencies pointing down,
modules short enough to read in one sitting, and no torch behind `import scratch_rnn`."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "scratch_rnn"
#: each layer may import only the layers listed before it (and itself)
LAYERS = ["_numba", "core", "training", "study", "tools"]


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every scratch_rnn module that `path` imports, at module level or inside functions."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "scratch_rnn"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.split(".")[0] != "scratch_rnn":
                continue
            found.add(mod)
            for a in node.names:                     # `from . import plots` imports a module
                if (ROOT.parent / (mod + "." + a.name).replace(".", "/")).with_suffix(".py").exists():
                    found.add(f"{mod}.{a.name}")
    return found - {name}


def _graph() -> dict:
    mods = {_module_name(p): p for p in ROOT.rglob("*.py")}
    return {m: {i for i in _imports(p) if i in mods} for m, p in mods.items()}


def _layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "package"
    if parts[1] in ("_numba", "training", "study"):
        return parts[1]
    if parts[1] in ("rnn", "lstm", "gru", "stack", "truncated", "_validate", "_backend", "_provenance"):
        return "core"
    return "tools"                                   # cli, gradcheck, gradcheck_stack, bench


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


def test_dependencies_point_down():
    for m, deps in _graph().items():
        lm = _layer(m)
        if lm == "package":
            continue
        for d in deps:
            ld = _layer(d)
            if ld == "package" or m.startswith("scratch_rnn._numba.") and d == "scratch_rnn._numba":
                continue
            assert LAYERS.index(ld) <= LAYERS.index(lm), f"{m} ({lm}) imports {d} ({ld})"


def test_no_cell_kernel_imports_another_cells():
    graph = _graph()
    for cell, other in (("rnn", "lstm"), ("lstm", "rnn")):
        assert f"scratch_rnn._numba.{other}" not in graph[f"scratch_rnn._numba.{cell}"]


@pytest.mark.parametrize("path", sorted(ROOT.rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_modules_stay_readable(path):
    assert len(path.read_text().splitlines()) <= 300


def test_import_needs_neither_torch_nor_numba():
    code = "import sys, scratch_rnn; print('torch' in sys.modules, 'numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"]
