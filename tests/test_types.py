"""The type check (issue 8.3) in the test command: mypy over workbench/ and widgets/, zero errors.

The strictness is stated in pyproject.toml ([tool.mypy]): every function of workbench/ annotated
(disallow_untyped_defs, disallow_incomplete_defs), every body checked (check_untyped_defs) in
workbench/ and widgets/, no implicit Optional, no unused or redundant ignores. Overrides only let
through libraries that ship no types.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_mypy_finds_no_errors() -> None:
    with tempfile.TemporaryDirectory(prefix="workbench-mypy-") as cache:
        done = subprocess.run([sys.executable, "-m", "mypy", "--cache-dir", cache], cwd=ROOT,
                              capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert "Success: no issues found" in done.stdout
