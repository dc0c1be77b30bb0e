"""Routes for audiences: cohorts, match rates, lookalikes, activation and connections."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from workbench.audiences import activation as act
from workbench.audiences import cohorts, connections, lookalike, match_rates
from workbench.governance import Actor
from workbench.service.deps import current_actor, get_store
from workbench.store import Store
from workbench.wire import audiences as w

router = APIRouter(tags=["audiences"])
Who = Depends(current_actor)
Db = Depends(get_store)
R = "/rooms/{room_id}/audiences"


@router.get(R + "/terms", response_model=w.Terms)
def get_terms(room_id: str, actor: Actor = Who, store: Store = Db) -> w.Terms:
    return act.get_terms(store, actor, room_id)


@router.put(R + "/terms", response_model=w.Terms)
def set_terms(room_id: str, body: w.TermsSet, actor: Actor = Who, store: Store = Db) -> w.Terms:
    return act.set_terms(store, actor, room_id, body)


@router.post(R + "/cohorts", response_model=w.Cohort, status_code=201)
def create_cohort(room_id: str, body: w.CohortCreate, actor: Actor = Who, store: Store = Db
                  ) -> w.Cohort:
    return cohorts.create_cohort(store, actor, room_id, body)


@router.get(R + "/cohorts", response_model=list[w.Cohort])
def list_cohorts(room_id: str, actor: Actor = Who, store: Store = Db) -> list[w.Cohort]:
    return cohorts.list_cohorts(store, actor, room_id)


@router.get(R + "/cohorts/{cohort_id}", response_model=w.Cohort)
def get_cohort(room_id: str, cohort_id: str, actor: Actor = Who, store: Store = Db) -> w.Cohort:
    return cohorts.get_cohort(store, actor, room_id, cohort_id)


@router.post(R + "/cohorts/{cohort_id}/refresh", response_model=w.Cohort)
def refresh_cohort(room_id: str, cohort_id: str, body: w.CohortRefresh, actor: Actor = Who,
                   store: Store = Db) -> w.Cohort:
    return cohorts.refresh_cohort(store, actor, room_id, cohort_id, body)


@router.delete(R + "/cohorts/{cohort_id}", status_code=204)
def delete_cohort(room_id: str, cohort_id: str, actor: Actor = Who, store: Store = Db
                  ) -> Response:
    cohorts.delete_cohort(store, actor, room_id, cohort_id)
    return Response(status_code=204)


@router.post(R + "/match-rates", response_model=w.MatchRates)
def get_match_rates(room_id: str, body: w.MatchRatesRequest, actor: Actor = Who,
                    store: Store = Db) -> w.MatchRates:
    return match_rates.match_rates(store, actor, room_id, body)


@router.post(R + "/lookalikes", response_model=w.Cohort, status_code=201)
def train_lookalike(room_id: str, body: w.LookalikeCreate, actor: Actor = Who,
                    store: Store = Db) -> w.Cohort:
    return lookalike.train_lookalike(store, actor, room_id, body)


@router.post(R + "/lookalikes/{cohort_id}/size", response_model=w.Cohort)
def pick_size(room_id: str, cohort_id: str, body: w.LookalikeSize, actor: Actor = Who,
              store: Store = Db) -> w.Cohort:
    return lookalike.pick_size(store, actor, room_id, cohort_id, body)


@router.get(R + "/policies", response_model=list[w.Policy])
def list_policies(room_id: str, actor: Actor = Who, store: Store = Db) -> list[w.Policy]:
    return act.list_policies(store, actor, room_id)


@router.put(R + "/policies/{dataset_id}", response_model=w.Policy)
def set_policy(room_id: str, dataset_id: str, body: w.PolicySet, actor: Actor = Who,
               store: Store = Db) -> w.Policy:
    return act.set_policy(store, actor, room_id, dataset_id, body)


@router.post(R + "/destinations", response_model=w.Destination, status_code=201)
def create_destination(room_id: str, body: w.DestinationCreate, actor: Actor = Who,
                       store: Store = Db) -> w.Destination:
    return act.create_destination(store, actor, room_id, body)


@router.get(R + "/destinations", response_model=list[w.Destination])
def list_destinations(room_id: str, actor: Actor = Who, store: Store = Db
                      ) -> list[w.Destination]:
    return act.list_destinations(store, actor, room_id)


@router.post(R + "/cohorts/{cohort_id}/activations", response_model=w.Activation,
             status_code=201)
def activate(room_id: str, cohort_id: str, body: w.ActivateRequest, actor: Actor = Who,
             store: Store = Db) -> w.Activation:
    return act.activate(store, actor, room_id, cohort_id, body)


@router.get(R + "/activations", response_model=list[w.Activation])
def list_activations(room_id: str, actor: Actor = Who, store: Store = Db
                     ) -> list[w.Activation]:
    return act.list_activations(store, actor, room_id)


@router.get("/audience-connections", response_model=list[w.Connection])
def list_connections(actor: Actor = Who, store: Store = Db) -> list[w.Connection]:
    return connections.list_connections(store, actor)


@router.put("/audience-connections", response_model=w.Connection)
def set_connection(body: w.ConnectionSet, actor: Actor = Who, store: Store = Db
                   ) -> w.Connection:
    return connections.set_connection(store, actor, body)


@router.delete("/audience-connections/{advertiser_org_id}", status_code=204)
def delete_connection(advertiser_org_id: str, actor: Actor = Who, store: Store = Db
                      ) -> Response:
    connections.delete_connection(store, actor, advertiser_org_id)
    return Response(status_code=204)
