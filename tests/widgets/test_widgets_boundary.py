"""The widgets talk to the service only through the client: a checked rule, not a promise."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("duckdb", "opendp", "workbench.service", "workbench.store", "workbench.governance",
             "workbench.data", "workbench.privacy", "workbench.engine", "workbench.questions",
             "workbench.runs", "workbench.dashboards")
SOURCES = sorted((ROOT / "widgets").rglob("*.py")) + [ROOT / "workbench" / "client" / "dashboards.py"]


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _forbidden(name: str) -> bool:
    return any(name == f or name.startswith(f + ".") for f in FORBIDDEN)


@pytest.mark.parametrize("path", [p for p in SOURCES if p.exists()], ids=lambda p: str(p.relative_to(ROOT)))
def test_module_imports_only_the_client_side(path: Path):
    bad = sorted(n for n in _imports(path) if _forbidden(n))
    assert not bad, f"{path.relative_to(ROOT)} imports the service side: {bad}"


def test_importing_the_widgets_loads_no_service_module():
    code = ("import sys, widgets; bad = sorted(m for m in sys.modules if m.split('.')[0] in ('duckdb', 'opendp')"
            " or m.startswith(('workbench.service', 'workbench.store', 'workbench.governance',"
            " 'workbench.engine', 'workbench.privacy', 'workbench.data', 'workbench.questions',"
            " 'workbench.runs'))); print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"
