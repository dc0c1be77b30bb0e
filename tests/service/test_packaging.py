"""Packaging that shows the boundary (issue 8.4): the base install is the client.

A notebook that installs only the base package (httpx, pydantic) must be able to import
``workbench`` and ``workbench.client`` and connect. A fresh interpreter here refuses to import
anything of the extras, as if they were not installed, and does exactly that.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def names(requirements: list[str]) -> set[str]:
    return {r.split("==")[0].split("[")[0].strip().lower() for r in requirements}


#: import names of every package only the extras bring (and what they pull in)
EXTRAS_ONLY = ("duckdb", "duckdb_ext", "opendp", "sqlglot", "fastapi", "starlette", "uvicorn", "pandas",
               "pyarrow", "yaml", "croniter", "sklearn", "polars", "polars_hash", "numpy", "pyspark",
               "ipywidgets", "plotly", "voila", "tqdm", "IPython")

BLOCKED_RUN = f"""
import sys
BLOCKED = {EXTRAS_ONLY!r}
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{{name}} is not installed (base install)")
        return None
sys.meta_path.insert(0, Blocker())
import workbench as wb
import workbench.client, workbench.wire, workbench.errors
client = wb.connect("http://127.0.0.1:9", "not-a-token")
client.close()
loaded = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
assert not loaded, loaded
print("client ok")
"""


def test_the_base_install_is_the_client() -> None:
    assert names(PROJECT["dependencies"]) == {"httpx", "pydantic"}


def test_the_client_imports_without_any_extra() -> None:
    done = subprocess.run([sys.executable, "-c", BLOCKED_RUN], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "client ok" in done.stdout


def test_the_blocker_really_blocks() -> None:
    """The same interpreter set-up refuses the service side: the test above could fail."""
    code = BLOCKED_RUN.replace("import workbench.client, workbench.wire, workbench.errors",
                               "import workbench.service.app")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "not installed (base install)" in done.stderr


def test_extras_cover_the_service_and_the_apps_and_all_is_everything() -> None:
    extras = PROJECT["optional-dependencies"]
    assert {"duckdb", "opendp", "sqlglot", "fastapi", "uvicorn"} <= names(extras["server"])
    assert {"ipywidgets", "voila", "plotly"} <= names(extras["apps"])
    assert extras["all"] == ["clean-room-workbench[server,apps,spark,test]"]
    assert 'pip install -q -e ".[all]"' in (ROOT / ".ci" / "run").read_text()
