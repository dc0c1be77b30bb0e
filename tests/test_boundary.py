"""The trust boundary as a checked rule: client side code never imports the service side.

Notebook kernels run arbitrary code, so nothing they import may open the store, run SQL or
draw noise. Only the engine and store import DuckDB; only the privacy package imports OpenDP.
The import-linter contracts in pyproject.toml say the same for the whole import graph (indirect
imports included) and keep the service's layers in order; this file runs them, and adds what a
graph cannot see: imports by name at run time and relative imports.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SERVICE_SIDE = ("workbench.service", "workbench.store", "workbench.engine", "workbench.privacy",
                "workbench.governance", "workbench.data", "workbench.questions", "workbench.runs",
                "workbench.audiences", "workbench.dashboards", "workbench.demo", "duckdb", "opendp")
CLIENT_SIDE = [ROOT / "workbench" / "client", ROOT / "workbench" / "wire", ROOT / "widgets"]


def module_name(path: Path) -> str:
    """The dotted name of a file under the repository root."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every module a file imports, at any depth of the file (functions included); relative
    imports are resolved against the file's package, and ``from x import y`` also counts x.y."""
    found = set()
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found.add(module)
            found |= {f"{module}.{a.name}" for a in node.names}
    return found


def dynamic_imports(path: Path) -> list[str]:
    """Calls that import by name at run time (import_module, __import__, importlib.util ...)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and any(a.name == "import_module" for a in node.names):
            found.append(f"line {node.lineno}: import_module")
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ("import_module", "__import__", "spec_from_file_location", "find_spec"):
                found.append(f"line {node.lineno}: {name}()")
        elif isinstance(node, ast.Name) and node.id in ("__import__", "import_module"):
            found.append(f"line {node.lineno}: {node.id}")
    return found


def py_files(*dirs: Path) -> list[Path]:
    return sorted(p for d in dirs if d.exists() for p in d.rglob("*.py"))


@pytest.mark.parametrize("path", py_files(*CLIENT_SIDE), ids=lambda p: str(p.relative_to(ROOT)))
def test_client_side_never_imports_the_service_side(path: Path) -> None:
    bad = sorted(m for m in imports(path) if m.startswith(SERVICE_SIDE))
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_only_engine_and_store_import_duckdb_only_privacy_imports_opendp() -> None:
    pkg = ROOT / "workbench"
    for path in py_files(pkg):
        rel = path.relative_to(pkg).parts
        mods = imports(path)
        if any(m == "opendp" or m.startswith("opendp.") for m in mods):
            assert rel[0] == "privacy", f"{path} imports opendp"
        if any(m == "duckdb" or m.startswith("duckdb.") for m in mods):
            assert rel[0] in ("engine", "store"), f"{path} imports duckdb"


def test_boundary_test_sees_files() -> None:
    assert len(py_files(*CLIENT_SIDE)) >= 8


#: the two lazy loaders of the widgets; every name they can load is checked below instead
LAZY_LOADERS = {"widgets/__init__.py", "widgets/app.py"}


@pytest.mark.parametrize("path", py_files(*CLIENT_SIDE), ids=lambda p: str(p.relative_to(ROOT)))
def test_client_side_never_imports_by_name_at_run_time(path: Path) -> None:
    """A module name built at run time would slip past every static check of this file."""
    if str(path.relative_to(ROOT)) in LAZY_LOADERS:
        pytest.skip("a lazy loader: the names it loads are checked by test_lazy_loaders_load_only_widgets")
    assert not dynamic_imports(path), f"{path.relative_to(ROOT)}: {dynamic_imports(path)}"


def _literal_strings(node: ast.AST) -> list[str]:
    return [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def test_lazy_loaders_load_only_widgets() -> None:
    """widgets/__init__ loads names from its literal table, widgets/app warms the modules its apps
    list literally: every one of those names is a widgets module, never the service side."""
    tree = ast.parse((ROOT / "widgets" / "__init__.py").read_text())
    table = next(n.value for n in ast.walk(tree) if isinstance(n, ast.Assign)
                 and any(getattr(t, "id", "") == "_WHERE" for t in n.targets))
    assert isinstance(table, ast.Dict)
    loaded = [v.value for v in table.values if isinstance(v, ast.Constant)]
    assert len(loaded) == len(table.values) and loaded
    tree = ast.parse((ROOT / "widgets" / "app.py").read_text())
    warmed = [name for call in ast.walk(tree) if isinstance(call, ast.Call)
              for kw in call.keywords if kw.arg == "warm" for name in _literal_strings(kw.value)]
    non_literal = [kw for call in ast.walk(tree) if isinstance(call, ast.Call) for kw in call.keywords
                   if kw.arg == "warm" and not isinstance(kw.value, ast.Tuple)]
    assert warmed and not non_literal
    for name in loaded + warmed:
        assert name.startswith("widgets.") and (ROOT / (name.replace(".", "/") + ".py")).exists(), name


@pytest.mark.parametrize("source, found", [
    ("import importlib\nimportlib.import_module('workbench.store')", ["line 2: import_module()"]),
    ("from importlib import import_module as im\nim('duckdb')", ["line 1: import_module"]),
    ("__import__('duckdb')", ["line 1: __import__()", "line 1: __import__"]),
    ("getattr(__builtins__, 'x')(1)\nf = __import__", ["line 2: __import__"]),
    ("import json\njson.loads('{}')", []),
])
def test_dynamic_import_finder_sees_the_usual_spellings(tmp_path: Path, source: str, found: list[str]) -> None:
    path = tmp_path / "probe.py"
    path.write_text(source)
    assert dynamic_imports(path) == found


def test_relative_imports_are_resolved() -> None:
    """``from ..store import Store`` in workbench/client must count as workbench.store."""
    probe = ROOT / "workbench" / "client" / "_probe_relative.py"
    probe.write_text("from ..store import Store\nfrom . import _transport\n")
    try:
        found = imports(probe)
    finally:
        probe.unlink()
    assert {"workbench.store", "workbench.store.Store", "workbench.client._transport"} <= found
    assert any(m.startswith(SERVICE_SIDE) for m in found)


def test_import_contracts_hold() -> None:
    """The import-linter contracts of pyproject.toml: boundary, duckdb, opendp and layers."""
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    assert exe, "lint-imports is missing: install the test extra (pip install -e '.[all]')"
    done = subprocess.run([exe, "--no-cache", "--config", str(ROOT / "pyproject.toml")], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout
