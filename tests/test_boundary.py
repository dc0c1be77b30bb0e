"""The trust boundary as a checked rule: client side code never imports the service side.

Notebook kernels run arbitrary code, so nothing they import may open the store, run SQL or
draw noise. Only the engine and store import DuckDB; only the privacy package imports OpenDP.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SERVICE_SIDE = ("workbench.service", "workbench.store", "workbench.engine", "workbench.privacy",
                "workbench.governance", "workbench.data", "workbench.questions", "workbench.runs",
                "workbench.audiences", "workbench.dashboards", "workbench.demo", "duckdb", "opendp")
CLIENT_SIDE = [ROOT / "workbench" / "client", ROOT / "workbench" / "wire", ROOT / "widgets"]


def imports(path: Path) -> set[str]:
    """Every module a file imports, at any depth of the file (functions included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
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
