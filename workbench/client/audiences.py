"""Client methods for audiences: cohorts, match rates, lookalikes, activation, connections.

Nothing here can fetch a member, a score or a model: the service has no such route.
"""

from __future__ import annotations

from typing import Any

from workbench.wire import audiences as w


class AudiencesAPI:
    """Build cohorts, read their DP sizes and match rates, train lookalikes, activate."""

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:  # provided by Client
        raise NotImplementedError

    def _aud(self, room_id: str, tail: str) -> str:
        return f"/api/v1/rooms/{room_id}/audiences/{tail}"

    def audience_terms(self, room_id: str) -> w.Terms:
        """The room's activation party and largest lookalike seed."""
        return w.Terms(**self._request("GET", self._aud(room_id, "terms")))

    def set_audience_terms(self, room_id: str, activation_org_id: str | None = None, *,
                           max_seed: int = 100_000) -> w.Terms:
        """Owner: choose the activation party (default: the owner) and the largest seed."""
        return w.Terms(**self._request("PUT", self._aud(room_id, "terms"), json={
            "activation_org_id": activation_org_id, "max_seed": max_seed}))

    def create_cohort(self, room_id: str, name: str, question_id: str,
                      parameters: dict[str, Any] | None = None, *, epsilon: str | float = "0.5"
                      ) -> w.Cohort:
        """Build a matched cohort from a user-list question; its DP size costs ``epsilon``
        to every party whose data it reads."""
        return w.Cohort(**self._request("POST", self._aud(room_id, "cohorts"), json={
            "name": name, "question_id": question_id, "parameters": parameters or {},
            "epsilon": epsilon}))

    def cohorts(self, room_id: str) -> list[w.Cohort]:
        """The room's cohorts with their DP sizes."""
        return [w.Cohort(**c) for c in self._request("GET", self._aud(room_id, "cohorts"))]

    def cohort(self, room_id: str, cohort_id: str) -> w.Cohort:
        """One cohort."""
        return w.Cohort(**self._request("GET", self._aud(room_id, f"cohorts/{cohort_id}")))

    def refresh_cohort(self, room_id: str, cohort_id: str,
                       parameters: dict[str, Any] | None = None, *,
                       epsilon: str | float = "0.5") -> w.Cohort:
        """Rebuild a matched cohort: a new version (spends budget again)."""
        return w.Cohort(**self._request("POST", self._aud(room_id, f"cohorts/{cohort_id}/refresh"),
                                        json={"parameters": parameters, "epsilon": epsilon}))

    def delete_cohort(self, room_id: str, cohort_id: str) -> None:
        """Delete a cohort and its members (and lookalikes seeded by it)."""
        self._request("DELETE", self._aud(room_id, f"cohorts/{cohort_id}"))

    def match_rates(self, room_id: str, *, epsilon: str | float = "0.5") -> w.MatchRates:
        """Matched / uploaded per identifier kind for every party (DP; spends budget)."""
        return w.MatchRates(**self._request("POST", self._aud(room_id, "match-rates"),
                                            json={"epsilon": epsilon}))

    def train_lookalike(self, room_id: str, name: str, seed_cohort_id: str, features: list[str],
                        *, random_seed: int | None = None, holdout: float = 0.2,
                        epsilon: str | float = "0.5") -> w.Cohort:
        """Train a lookalike of a matched cohort; read its curve, then pick a size."""
        return w.Cohort(**self._request("POST", self._aud(room_id, "lookalikes"), json={
            "name": name, "seed_cohort_id": seed_cohort_id, "features": features,
            "random_seed": random_seed, "holdout": holdout, "epsilon": epsilon}))

    def pick_lookalike_size(self, room_id: str, cohort_id: str, *, top_n: int | None = None,
                            percent: float | None = None) -> w.Cohort:
        """Members := the top N (or top percent) of the scored users."""
        return w.Cohort(**self._request("POST", self._aud(room_id, f"lookalikes/{cohort_id}/size"),
                                        json={"top_n": top_n, "percent": percent}))

    def activation_policies(self, room_id: str) -> list[w.Policy]:
        """Every dataset's activation consent."""
        return [w.Policy(**p) for p in self._request("GET", self._aud(room_id, "policies"))]

    def set_activation_policy(self, room_id: str, dataset_id: str, allowed: bool) -> w.Policy:
        """Data owner: consent (or not) to activation of cohorts derived from a dataset."""
        return w.Policy(**self._request("PUT", self._aud(room_id, f"policies/{dataset_id}"),
                                        json={"allowed": allowed}))

    def create_destination(self, room_id: str, name: str, format: str, path: str, *,
                           key: str | None = None, segment: str | None = None) -> w.Destination:
        """A folder under the service's activation root for exports in ``format``
        (gam, xandr, csv or jsonl)."""
        return w.Destination(**self._request("POST", self._aud(room_id, "destinations"), json={
            "name": name, "format": format, "path": path, "key": key, "segment": segment}))

    def destinations(self, room_id: str) -> list[w.Destination]:
        """Your organisation's destinations in the room."""
        return [w.Destination(**d) for d in self._request("GET",
                                                          self._aud(room_id, "destinations"))]

    def activate(self, room_id: str, cohort_id: str, destination_id: str, *,
                 impressions: int, per: str = "day") -> w.Activation:
        """Export the cohort's membership (your own ids) with a frequency cap."""
        return w.Activation(**self._request(
            "POST", self._aud(room_id, f"cohorts/{cohort_id}/activations"),
            json={"destination_id": destination_id,
                  "frequency_cap": {"impressions": impressions, "per": per}}))

    def activations(self, room_id: str) -> list[w.Activation]:
        """Every export of the room (every party sees every one)."""
        return [w.Activation(**a) for a in self._request("GET", self._aud(room_id, "activations"))]

    def audience_connections(self) -> list[w.Connection]:
        """Your organisation's advertiser connections."""
        return [w.Connection(**c) for c in self._request("GET", "/api/v1/audience-connections")]

    def set_audience_connection(self, advertiser_org_id: str, *, insights: bool = True,
                                matched_cohorts: bool = False, modeled_cohorts: bool = False,
                                activation: bool = False) -> w.Connection:
        """Publisher org admin: what an advertiser may create in your rooms."""
        return w.Connection(**self._request("PUT", "/api/v1/audience-connections", json={
            "advertiser_org_id": advertiser_org_id, "insights": insights,
            "matched_cohorts": matched_cohorts, "modeled_cohorts": modeled_cohorts,
            "activation": activation}))

    def delete_audience_connection(self, advertiser_org_id: str) -> None:
        """Remove a connection."""
        self._request("DELETE", f"/api/v1/audience-connections/{advertiser_org_id}")
