"""Parsing a budget amount must not load OpenDP (issue 8): the client side and governance parse
amounts, and OpenDP costs about 1.5 s to import and belongs to the privacy package's mechanisms."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
from workbench.privacy import Budget, display, to_fraction
from workbench.privacy.budget import check_spend, ledger_state
assert to_fraction("1/3") * 3 == 1 and display(to_fraction("0.5"), up=True) == "0.5"
assert Budget(epsilon="1").covers(Budget(epsilon="0.5")) and ledger_state("committed")
print("opendp" in sys.modules)
from workbench.privacy import plan_release
print("opendp" in sys.modules, callable(plan_release))
"""


def test_budget_amounts_parse_without_loading_opendp_and_mechanisms_load_on_use():
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.split() == ["False", "True", "True"]
