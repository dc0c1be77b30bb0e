"""Client methods for plans, runs, results, manifests, party budgets and connection caps."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from workbench.wire import questions as w
from workbench.wire import runs as wr


def _body(parameters: dict[str, Any] | None, epsilon: str | float, delta: str | float | None,
          targets: Mapping[str, str | float] | None = None) -> dict[str, Any]:
    if targets is not None:  # accuracy first: the epsilon is what the targets need
        return {"parameters": parameters or {}, "delta": delta, "targets": dict(targets)}
    return {"parameters": parameters or {}, "epsilon": epsilon, "delta": delta}


class RunsAPI:
    """Preview, run, read results and manifests, delete runs, read and set budgets."""

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:  # provided by Client
        raise NotImplementedError

    def plan(self, room_id: str, question_id: str, parameters: dict[str, Any] | None = None, *,
             epsilon: str | float = "1", delta: str | float | None = None,
             targets: Mapping[str, str | float] | None = None) -> w.Plan:
        """Cost (epsilon/delta), each charged party's budget now and afterwards, expected error
        per column and a fingerprint to run exactly this plan; spends nothing, reads no data.

        ``targets``: plan from the error you need instead of an epsilon, e.g.
        ``{"reach": "±2%", "spend": "±5000"}`` (95% half-widths; "%" is relative to the public
        scale the question declares). The plan spends the smallest epsilon that meets them all;
        ``plan.targets`` shows it, the budget left, and what unreachable targets would cost.
        """
        return w.Plan(**self._request(
            "POST", f"/api/v1/rooms/{room_id}/questions/{question_id}/plan",
            json=_body(parameters, epsilon, delta, targets)))

    def run(self, room_id: str, question_id: str, parameters: dict[str, Any] | None = None, *,
            epsilon: str | float = "1", delta: str | float | None = None,
            plan: str | None = None, idempotency_key: str | None = None,
            targets: Mapping[str, str | float] | None = None) -> w.Run:
        """Run a question, charging every party whose data it reads.

        ``plan``: the fingerprint of a preview; the run is refused (Conflict, nothing charged)
        when the question, its rules or the budget split changed since. ``idempotency_key``: a
        fresh one is sent by default, so a retry of this call (the same key) returns the same
        run with no second charge and no fresh noise. Raises BudgetExceeded with the requested
        and remaining figures when a party cannot pay. ``targets``: run the plan of
        :meth:`plan` with the same targets (the smallest epsilon that meets them).
        """
        body = _body(parameters, epsilon, delta, targets) | {
            "plan": plan, "idempotency_key": idempotency_key or str(uuid.uuid4())}
        return w.Run(**self._request(
            "POST", f"/api/v1/rooms/{room_id}/questions/{question_id}/runs", json=body))

    def runs(self, room_id: str, question_id: str | None = None) -> list[w.Run]:
        """Runs your org started or receives, and every run over your org's data; newest first."""
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

    def manifest(self, room_id: str, run_id: str) -> wr.Manifest:
        """What a run read and how it was planned: re-planning from it gives the same plan."""
        return wr.Manifest(**self._request("GET",
                                           f"/api/v1/rooms/{room_id}/runs/{run_id}/manifest"))

    def delete_run(self, room_id: str, run_id: str) -> None:
        """Delete a run and its result; the budget stays spent."""
        self._request("DELETE", f"/api/v1/rooms/{room_id}/runs/{run_id}")

    def budget(self, room_id: str, org_id: str | None = None) -> w.Budget:
        """Your org's privacy budget in the room, as a data party (owner: any party's)."""
        params = {"org_id": org_id} if org_id else None
        return w.Budget(**self._request("GET", f"/api/v1/rooms/{room_id}/budget",
                                        params=params))

    def set_budget(self, room_id: str, org_id: str, *, epsilon: str,
                   delta: str | None = None) -> w.Budget:
        """Set a party's budget: your own (raise or lower), or, as the owner, lower another's."""
        return w.Budget(**self._request(
            "PUT", f"/api/v1/rooms/{room_id}/budget",
            json={"org_id": org_id, "epsilon": epsilon, "delta": delta}))

    def raise_budget(self, room_id: str, org_id: str, *, epsilon: str = "0", delta: str = "0"
                     ) -> w.Budget:
        """Add to your own org's budget in the room (only a party raises its own)."""
        return w.Budget(**self._request(
            "POST", f"/api/v1/rooms/{room_id}/budget/raise",
            json={"org_id": org_id, "epsilon": epsilon, "delta": delta}))

    def epsilon_bounds(self, room_id: str) -> wr.EpsilonBoundsOut:
        """The room's minimum and maximum epsilon per run."""
        return wr.EpsilonBoundsOut(**self._request(
            "GET", f"/api/v1/rooms/{room_id}/epsilon-bounds"))

    def set_epsilon_bounds(self, room_id: str, *, min_epsilon: str = "0.01",
                           max_epsilon: str | None = None) -> wr.EpsilonBoundsOut:
        """Owner: the room's minimum and maximum epsilon per run (max None: the budget)."""
        return wr.EpsilonBoundsOut(**self._request(
            "PUT", f"/api/v1/rooms/{room_id}/epsilon-bounds",
            json={"min_epsilon": min_epsilon, "max_epsilon": max_epsilon}))

    def connection_cap(self, connection_id: str) -> wr.ConnectionBudget:
        """Your connection's lifetime cap and what every room drew from it."""
        return wr.ConnectionBudget(**self._request(
            "GET", f"/api/v1/connections/{connection_id}/cap"))

    def set_connection_cap(self, connection_id: str, *, epsilon: str | None,
                           delta: str = "0") -> wr.ConnectionBudget:
        """Cap what every room together may spend over your connection (None lifts the cap)."""
        return wr.ConnectionBudget(**self._request(
            "PUT", f"/api/v1/connections/{connection_id}/cap",
            json={"epsilon": epsilon, "delta": delta}))
