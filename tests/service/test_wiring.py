"""One wiring module installs every action and unlink hook; nothing depends on import order."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from workbench import wiring
from workbench.governance import actions as registry

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = sorted(p.parent.name for p in (ROOT / "workbench").glob("*/actions.py"))


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_every_actions_module_is_wired() -> None:
    wired = {id(actions) for actions in wiring.ACTION_SETS}
    for package in PACKAGES:
        module = __import__(f"workbench.{package}.actions", fromlist=["ACTIONS"])
        assert id(module.ACTIONS) in wired, f"workbench/{package}/actions.py is not in wiring.ACTION_SETS"


def test_no_module_registers_itself_on_import() -> None:
    """No module-level register(...) call and no @on_unlink decorator anywhere but in wiring."""
    for path in sorted((ROOT / "workbench").rglob("*.py")):
        if path.name == "wiring.py":
            continue
        tree = ast.parse(path.read_text())
        top_calls = [n.value for n in tree.body if isinstance(n, ast.Expr) and isinstance(n.value, ast.Call)]
        decorators = [d for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                      for d in n.decorator_list]
        for node in top_calls + decorators:
            func = node.func if isinstance(node, ast.Call) else node
            name = getattr(func, "attr", getattr(func, "id", ""))
            assert name not in ("register", "on_unlink"), f"{path.relative_to(ROOT)}:{node.lineno}"


def test_every_action_named_in_the_code_is_registered() -> None:
    """A typo in an ensure_allowed call would otherwise fail only when that path runs."""
    wiring.wire()
    names = {a.name for a in registry.all_actions()}
    pattern = re.compile(r"ensure_allowed(?:_in_room)?\(\s*\w+\s*,\s*\w+\s*,\s*\"([a-z_.]+)\"")
    used = set()
    for path in (ROOT / "workbench").rglob("*.py"):
        used |= set(pattern.findall(path.read_text()))
    assert len(used) >= 40
    assert used <= names, sorted(used - names)


ORDERS = [
    "import workbench.wiring",
    "import workbench.schedules.actions, workbench.audiences.actions, workbench.runs.operations, "
    "workbench.dashboards.operations, workbench.data.provisioning; import workbench.wiring",
]


@pytest.mark.parametrize("imports", ORDERS)
def test_the_same_actions_and_hooks_whatever_was_imported_first(imports: str) -> None:
    code = (f"{imports}\nfrom workbench import wiring\nfrom workbench.governance import actions as r\n"
            "from workbench.data import hooks\nwiring.wire(); wiring.wire()\n"
            "print(sorted(a.name for a in r.all_actions()))\nprint([h.__name__ for h in hooks._HOOKS])")
    done = run(code)
    assert done.returncode == 0, done.stderr[-2000:]
    wiring.wire()
    names, hooks_line = done.stdout.strip().splitlines()
    assert names == str(sorted(a.name for a in registry.all_actions()))
    assert hooks_line == str([h.__name__ for h in wiring.UNLINK_HOOKS])


def test_an_unwired_process_says_what_to_do() -> None:
    done = run("from workbench.governance import actions as r\nr.get('room.read')")
    assert done.returncode != 0 and "workbench.wiring" in done.stderr


def test_parsing_a_budget_amount_does_not_load_opendp() -> None:
    done = run("import sys\nimport workbench.governance.inputs\nfrom workbench.privacy import to_fraction\n"
               "to_fraction('0.5')\nprint([m for m in sys.modules if m.split('.')[0] == 'opendp'])")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"
