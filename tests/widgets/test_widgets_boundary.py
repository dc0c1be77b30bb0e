"""Importing the widgets (what every app kernel does) loads nothing of the service side.

tests/test_boundary.py checks the source imports; this checks what actually lands in sys.modules.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_importing_the_widgets_loads_no_service_module():
    code = ("import sys, widgets; bad = sorted(m for m in sys.modules if m.split('.')[0] in ('duckdb', 'opendp')"
            " or m.startswith(('workbench.service', 'workbench.store', 'workbench.governance',"
            " 'workbench.engine', 'workbench.privacy', 'workbench.data', 'workbench.questions',"
            " 'workbench.runs'))); print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"
