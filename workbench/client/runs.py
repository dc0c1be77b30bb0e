"""Client methods for plans, runs, results and the budget."""

from __future__ import annotations

from typing import Any

from workbench.wire import questions as w


def _body(parameters: dict[str, Any] | None, epsilon: str | float, delta: str | float | None
          ) -> dict[str, Any]:
    return {"parameters": parameters or {}, "epsilon": epsilon, "delta": delta}


class RunsAPI:
    """Preview, run, read results, delete runs, read and raise budgets."""

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:  # provided by Client
        raise NotImplementedError

    def plan(self, room_id: str, question_id: str, parameters: dict[str, Any] | None = None, *,
             epsilon: str | float = "1", delta: str | float | None = None) -> w.Plan:
        """Cost (epsilon/delta), budget left afterwards and expected error per column;
        spends nothing and reads no data."""
        return w.Plan(**self._request(
            "POST", f"/api/v1/rooms/{room_id}/questions/{question_id}/plan",
            json=_body(parameters, epsilon, delta)))

    def run(self, room_id: str, question_id: str, parameters: dict[str, Any] | None = None, *,
            epsilon: str | float = "1", delta: str | float | None = None) -> w.Run:
        """Run a question (charges the receivers' budgets); raises BudgetExceeded with the
        requested and remaining figures when it does not fit."""
        return w.Run(**self._request(
            "POST", f"/api/v1/rooms/{room_id}/questions/{question_id}/runs",
            json=_body(parameters, epsilon, delta)))

    def runs(self, room_id: str, question_id: str | None = None) -> list[w.Run]:
        """Runs your org started or receives, newest first."""
        params = {"question_id": question_id} if question_id else None
        return [w.Run(**r) for r in
                self._request("GET", f"/api/v1/rooms/{room_id}/runs", params=params)]

    def get_run(self, room_id: str, run_id: str) -> w.Run:
        """A run's status and metadata."""
        return w.Run(**self._request("GET", f"/api/v1/rooms/{room_id}/runs/{run_id}"))

    def run_result(self, room_id: str, run_id: str) -> w.RunResult:
        """The released table (receivers with View Reports)."""
        return w.RunResult(**self._request("GET",
                                           f"/api/v1/rooms/{room_id}/runs/{run_id}/result"))

    def delete_run(self, room_id: str, run_id: str) -> None:
        """Delete a run and its result; the budget stays spent."""
        self._request("DELETE", f"/api/v1/rooms/{room_id}/runs/{run_id}")

    def budget(self, room_id: str, org_id: str | None = None) -> w.Budget:
        """Your org's privacy budget in the room (owner: any org's)."""
        params = {"org_id": org_id} if org_id else None
        return w.Budget(**self._request("GET", f"/api/v1/rooms/{room_id}/budget",
                                        params=params))

    def raise_budget(self, room_id: str, org_id: str, *, epsilon: str = "0", delta: str = "0"
                     ) -> w.Budget:
        """Owner only: raise an org's budget in the room (audited)."""
        return w.Budget(**self._request(
            "POST", f"/api/v1/rooms/{room_id}/budget/raise",
            json={"org_id": org_id, "epsilon": epsilon, "delta": delta}))
