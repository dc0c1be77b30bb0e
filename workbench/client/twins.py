"""Client methods for synthetic twins (publish one's own, status, drafts on twins)."""

from __future__ import annotations

import csv
import io
from typing import Any

from workbench.client.exports import safe_cell
from workbench.wire import twins as w


def twin_csv(result: w.TwinResult) -> str:
    """A draft's twin result as safe CSV: the synthetic label first, every row marked."""
    out = io.StringIO()
    out.write(f"# {result.label}\n")
    writer = csv.writer(out)
    writer.writerow(["synthetic", *(safe_cell(c) for c in result.columns)])
    for row in result.rows:
        writer.writerow(["synthetic", *(safe_cell(v) for v in row)])
    return out.getvalue()


class TwinsAPI:
    """Publish a DP synthetic twin of your dataset, and try draft questions on the room's twins."""

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:  # provided by Client
        raise NotImplementedError

    def publish_twin(self, room_id: str, dataset_id: str, *, epsilon: str,
                     domains: dict[str, list[Any]] | None = None,
                     bounds: dict[str, list[float]] | None = None, bins: int = 8,
                     match_rate: float | None = None) -> w.Twin:
        """Publish (or replace) your dataset's synthetic twin, charged once to your budget.

        ``domains``/``bounds`` declare public value lists and [lower, upper] for columns whose
        rules give none (they are published with the twin); ``match_rate`` is the share of the
        twin's people whose synthetic ids match other parties' twins (None: 0.5, assumed).
        """
        body = w.TwinPublish(epsilon=epsilon, domains=domains or {}, bounds=bounds or {},
                             bins=bins, match_rate=match_rate)
        return w.Twin(**self._request("POST", f"/api/v1/rooms/{room_id}/datasets/{dataset_id}/twin",
                                      json=body.model_dump()))

    def twins(self, room_id: str) -> list[w.Twin]:
        """The room's twins: status, modelled columns, cost and expected error."""
        return [w.Twin(**t) for t in self._request("GET", f"/api/v1/rooms/{room_id}/twins")]

    def twin(self, room_id: str, twin_id: str) -> w.Twin:
        """One twin."""
        return w.Twin(**self._request("GET", f"/api/v1/rooms/{room_id}/twins/{twin_id}"))

    def twin_rows(self, room_id: str, twin_id: str, limit: int = 100) -> w.TwinRows:
        """The first rows of a twin: synthetic values only, to see its shape."""
        return w.TwinRows(**self._request("GET", f"/api/v1/rooms/{room_id}/twins/{twin_id}/rows",
                                          params={"limit": limit}))

    def delete_twin(self, room_id: str, twin_id: str) -> None:
        """Withdraw your twin (the budget spent stays spent)."""
        self._request("DELETE", f"/api/v1/rooms/{room_id}/twins/{twin_id}")

    def run_on_twin(self, room_id: str, name: str, sql: str,
                    parameters: dict[str, Any] | None = None, *,
                    parameter_specs: list[dict[str, Any]] | None = None,
                    max_rows: int = 1, max_groups: int = 1) -> w.TwinResult:
        """Run a draft question on the twins of the datasets it reads: free, labelled
        synthetic, never stored (no run, no dashboard)."""
        draft = {"name": name, "sql": sql, "parameters": parameter_specs or [],
                 "max_rows": max_rows, "max_groups": max_groups}
        return w.TwinResult(**self._request(
            "POST", f"/api/v1/rooms/{room_id}/twins/draft",
            json={"draft": draft, "parameters": parameters or {}}))
