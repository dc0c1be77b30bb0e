"""Matched cohorts: user-list questions run inside the service.

A user-list question selects identities of the activation party (the room owner, unless the
audience terms name another party) from a definition over both parties' data. Building it:

1. one transaction: authorise, check the question strictly, compile it to a distinct-member
   query, charge every data party whose dataset it reads, audit;
2. one transaction: store the members (digests, never returned), release the size with DP,
   refuse (keeping nothing but the charge) when the noisy size is under the room's k-min.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlglot import exp
from sqlglot.optimizer.scope import traverse_scope

from workbench.audiences import _records as rec
from workbench.audiences import destinations as dest
from workbench.audiences.actions import activation_org
from workbench.audiences.release import (charge, check_active, epsilon_of, library_versions,
                                         release_counts)
from workbench.contract.consent import strictest
from workbench.errors import (Conflict, InvalidInput, NotFound, PermissionDenied, RuleViolation,
                              WorkbenchError)
from workbench.governance.audit import record
from workbench.governance.model import Actor, RoomAccess
from workbench.governance.policy import ensure_allowed, ensure_allowed_in_room
from workbench.ids import new_id, parse_uuid
from workbench.questions.binding import DatasetBinding
from workbench.questions.checks import check
from workbench.questions.compile import (
    _make_total,
    _rename_placeholders,
    _rewrite_tables,
    _user_param,
)
from workbench.questions.operations import load_question, room_bindings
from workbench.questions.params import bind
from workbench.questions.spec import Question
from workbench.questions.template import DIALECT
from workbench.store import Store
from workbench.wire import audiences as w

MEMBER = "__m"


@dataclass(frozen=True, kw_only=True)
class UserList:
    """A user-list question compiled to the query of its distinct members."""

    #: DuckDB SQL returning one column ``__m``: distinct non-null member digests
    sql: str
    #: bound query parameters
    params: dict[str, Any]
    #: the activation party's dataset whose identity the question outputs
    member_dataset_id: str
    #: every provisioned dataset the question reads
    datasets: list[str]


def compile_user_list(cur: Any, room_id: str, question: Question,
                      bindings: dict[str, DatasetBinding], values: dict[str, Any], *,
                      activation: str, exact: bool = False) -> UserList:
    """Check strictly (every join must match identities, so one member is one person), make
    sure the output is the activation party's identity, and compile."""
    if question.kind != "user_list":
        raise InvalidInput("only user-list questions build cohorts; this one is analytical (run "
                           "it as a question instead)")
    check(question, bindings, strict=True, mode="exact" if exact else None)
    parsed = question.parsed
    select: exp.Select = parsed.tree  # type: ignore[assignment]
    refs = parsed.sources_of(select.expressions[0].unalias())
    member_dataset = None
    for ref in refs:
        binding = bindings[ref.dataset]
        info = rec.dataset(cur, room_id, binding.dataset_id or "")
        if info is None or info.org_id != activation:
            raise RuleViolation(
                "a user list outputs identities of the activation party only",
                violations=[{"rule": "activation_identity", "dataset": ref.dataset,
                             "column": ref.field, "message": (
                                 f"{ref.dataset}.{ref.field} is another party's identity; a "
                                 "cohort's members are ids of the room's activation party, so "
                                 "output the activation party's identity column instead")}])
        member_dataset = info.id
    if member_dataset is None:
        raise InvalidInput("the user list's output column reads no dataset; output the "
                           "activation party's identity column")
    params = {_user_param(k): v for k, v in bind(question.parameters, values).items()}
    tree = parsed.tree.copy()  # type: ignore[union-attr]
    scopes = list(traverse_scope(tree))
    _rename_placeholders(tree)
    _make_total(tree, scopes, bindings)  # casts and arithmetic cannot fail on a data value
    _rewrite_tables(scopes, bindings)
    inner = exp.Subquery(this=tree, alias=exp.TableAlias(
        this=exp.to_identifier("__ul"), columns=[exp.to_identifier(MEMBER)]))
    outer = (exp.Select(expressions=[exp.cast(exp.column(MEMBER), "VARCHAR").as_(MEMBER)])
             .distinct().from_(inner)
             .where(exp.Not(this=exp.Is(this=exp.column(MEMBER), expression=exp.Null()))))
    datasets = sorted({b.dataset_id for b in bindings.values() if b.dataset_id})
    return UserList(sql=outer.sql(dialect=DIALECT), params=params,
                    member_dataset_id=member_dataset, datasets=datasets)


def cohort_out(c: rec.Cohort) -> w.Cohort:
    """What every party may see of a cohort: never members, scores or the model."""
    meta = json.loads(c.metadata)
    return w.Cohort(
        id=c.id, room_id=c.room_id, name=c.name, kind=c.kind, status=c.status,
        question_id=c.question_id, question_version=c.question_version,
        parameters=json.loads(c.parameters), seed_cohort_id=c.seed_cohort_id,
        activation_org_id=c.activation_org_id, member_dataset_id=c.member_dataset_id,
        version=c.version, size=c.noisy_size, size_ci95=c.size_ci95, dp=meta.get("dp", True),
        epsilon_spent=meta.get("epsilon_spent", "0"), features=meta.get("features", []),
        random_seed=meta.get("random_seed"), curve=[w.CurvePoint(**p) for p in
                                                    meta.get("curve", [])],
        curve_ci95=meta.get("curve_ci95") if meta.get("dp", True) else None,
        manifest=meta.get("manifest", {}), created_by=c.created_by,
        created_at=str(c.created_at), refreshed_at=str(c.refreshed_at))


def parties_of(cur: Any, room_id: str, dataset_ids: list[str]) -> list[str]:
    """The orgs whose datasets a release reads: each one pays."""
    return sorted({d.org_id for d in rec.datasets(cur, room_id) if d.id in dataset_ids})


def _prepare(cur: Any, access: RoomAccess, question_id: str, parameters: dict[str, Any]
             ) -> tuple[tuple, Question, UserList]:
    room = access.room
    if room.not_started():
        raise Conflict(f"the room starts on {room.start_date}; cohorts can be built from then")
    check_active(cur, room)
    row, spec = load_question(cur, room.id, question_id)
    if not row[7]:
        raise Conflict("the question is not added to the room; the owner adds it first")
    bindings = room_bindings(cur, room.id, tuple(spec.fields))
    compiled = compile_user_list(cur, room.id, spec, bindings, parameters,
                                 activation=activation_org(cur, access),
                                 exact=not room.dp_enabled)
    return row, spec, compiled


def _manifest(spec: Question, row: tuple, compiled: UserList, parameters: dict[str, Any],
              epsilon: str, charge_id: str) -> dict[str, Any]:
    return {"question_id": row[0], "question_version": row[5],
            "question_sha256": hashlib.sha256(spec.sql.encode()).hexdigest(),
            "parameters": parameters, "datasets": compiled.datasets, "epsilon": epsilon,
            "ledger_charge": charge_id, "libraries": library_versions()}


def _build(store: Store, actor: Actor, access: RoomAccess, cohort_id: str, charge_id: str,
           row: tuple, spec: Question, compiled: UserList, parameters: dict[str, Any],
           eps: Any, *, name: str | None) -> w.Cohort:
    """Step 2: members, DP size, k-min; a new cohort (``name``) or a new version."""
    room = access.room
    with store.transaction() as cur:
        exact = None
        if name is None:
            if rec.cohort(cur, room.id, cohort_id) is None:
                raise NotFound("the cohort was deleted while it was being refreshed")
            exact = rec.replace_members(cur, cohort_id, compiled.sql, compiled.params)
        else:
            if rec.name_taken(cur, room.id, name):
                raise Conflict(f"the room already has a cohort named {name!r}; pick another name")
            rec.insert_cohort(cur, id=cohort_id, room_id=room.id, name=name, kind="matched",
                              status="building", question_id=row[0], question_version=row[5],
                              parameters=parameters, seed_cohort_id=None,
                              activation_org_id=activation_org(cur, access),
                              member_dataset_id=compiled.member_dataset_id,
                              datasets=compiled.datasets, metadata={}, created_by=actor.user_id)
            exact = rec.replace_members(cur, cohort_id, compiled.sql, compiled.params)
        assert exact is not None
        size = release_counts(room, [exact], eps, per_person=1)
        if size.values[0] < room.k_min:
            raise InvalidInput(
                f"the cohort is under the room's crowd size k-min ({room.k_min}) after noise; "
                "nothing was kept (the budget stays spent): widen the definition or its "
                "parameters")
        meta = {"dp": size.dp, "epsilon_spent": str(size.epsilon),
                "manifest": _manifest(spec, row, compiled, parameters, str(size.epsilon),
                                      charge_id)}
        rec.update_cohort(cur, cohort_id, status="ready", noisy_size=size.values[0],
                          size_ci95=size.ci95, metadata=meta, new_version=True,
                          question_version=row[5], parameters=parameters,
                          datasets=list(compiled.datasets),
                          member_dataset_id=compiled.member_dataset_id)
        record(cur, actor, "audience.cohort.built", room_id=room.id, resource_type="cohort",
               resource_id=cohort_id, reason="members kept inside the service",
               detail={"size": size.values[0], "dp": size.dp, "epsilon": str(size.epsilon)})
        found = rec.cohort(cur, room.id, cohort_id)
        assert found is not None
        return cohort_out(found)


def create_cohort(store: Store, actor: Actor, room_id: str, body: w.CohortCreate) -> w.Cohort:
    """Build a matched cohort from a user-list question; its DP size is charged to every party
    whose data it reads."""
    room_id = parse_uuid(room_id, "room")
    question_id = parse_uuid(body.question_id, "question")
    cohort_id, charge_id = new_id(), new_id()
    name = body.name.strip()
    eps = epsilon_of(body.epsilon)
    with store.transaction() as cur:
        access = ensure_allowed_in_room(cur, actor, "audience.cohort.create", room_id=room_id,
                                resource_type="cohort", resource_id=cohort_id,
                                detail={"question_id": question_id, "name": name})
        access = strictest(cur, access)  # a dataset's own k-min floor binds cohorts too
        if not name:
            raise InvalidInput("give the cohort a name")
        if rec.name_taken(cur, room_id, name):
            raise Conflict(f"the room already has a cohort named {name!r}; pick another name")
        row, spec, compiled = _prepare(cur, access, question_id, body.parameters)
        charge(store, cur, access.room, parties_of(cur, room_id, compiled.datasets),
               compiled.datasets, charge_id, eps, actor.user_id)
    return _build(store, actor, access, cohort_id, charge_id, row, spec, compiled,
                  body.parameters, eps, name=name)


def refresh_cohort(store: Store, actor: Actor, room_id: str, cohort_id: str,
                   body: w.CohortRefresh) -> w.Cohort:
    """Rebuild a matched cohort with the question's current version: a new cohort version."""
    room_id, cohort_id = parse_uuid(room_id, "room"), parse_uuid(cohort_id, "cohort")
    charge_id = new_id()
    eps = epsilon_of(body.epsilon)
    with store.transaction() as cur:
        access = ensure_allowed_in_room(cur, actor, "audience.cohort.refresh", room_id=room_id,
                                resource_type="cohort", resource_id=cohort_id)
        access = strictest(cur, access)  # a dataset's own k-min floor binds cohorts too
        found = _cohort(cur, room_id, cohort_id)
        if found.kind != "matched" or found.question_id is None:
            raise InvalidInput("only matched cohorts are refreshed; retrain a modeled cohort "
                               "from its seed instead")
        parameters = json.loads(found.parameters) if body.parameters is None else body.parameters
        row, spec, compiled = _prepare(cur, access, found.question_id, parameters)
        charge(store, cur, access.room, parties_of(cur, room_id, compiled.datasets),
               compiled.datasets, charge_id, eps, actor.user_id)
    return _build(store, actor, access, cohort_id, charge_id, row, spec, compiled, parameters,
                  eps, name=None)


def _cohort(cur: Any, room_id: str, cohort_id: str) -> rec.Cohort:
    found = rec.cohort(cur, room_id, cohort_id)
    if found is None:
        raise NotFound(f"no cohort {cohort_id} in this room (a cohort goes when a dataset it "
                       "reads is removed)")
    return found


def list_cohorts(store: Store, actor: Actor, room_id: str) -> list[w.Cohort]:
    """Every cohort of the room with its DP size (members never leave the service)."""
    room_id = parse_uuid(room_id, "room")
    with store.reader() as cur:
        ensure_allowed(cur, actor, "audience.cohort.read", room_id=room_id, resource_type="cohort")
        return [cohort_out(c) for c in rec.cohorts(cur, room_id)]


def get_cohort(store: Store, actor: Actor, room_id: str, cohort_id: str) -> w.Cohort:
    """One cohort's metadata and DP size."""
    room_id, cohort_id = parse_uuid(room_id, "room"), parse_uuid(cohort_id, "cohort")
    with store.reader() as cur:
        ensure_allowed(cur, actor, "audience.cohort.read", room_id=room_id,
                       resource_type="cohort", resource_id=cohort_id)
        return cohort_out(_cohort(cur, room_id, cohort_id))


def delete_cohort(store: Store, actor: Actor, room_id: str, cohort_id: str) -> None:
    """Delete a cohort, its members and scores (and lookalikes seeded by it): the room owner or
    the organisation that built it."""
    room_id, cohort_id = parse_uuid(room_id, "room"), parse_uuid(cohort_id, "cohort")
    with store.transaction() as cur:
        access = ensure_allowed_in_room(cur, actor, "audience.cohort.delete", room_id=room_id,
                                resource_type="cohort", resource_id=cohort_id)
        found = _cohort(cur, room_id, cohort_id)
        if not access.is_owner and rec.user_org(cur, found.created_by) != actor.org_id:
            raise PermissionDenied("only the room owner or the organisation that built a cohort "
                                   "deletes it")
        for child in rec.seeded_by(cur, cohort_id):
            rec.delete_cohort(cur, child)
        rec.delete_cohort(cur, cohort_id)


def drop_cohorts_of_unlinked_data(cur: Any, room_id: str, dataset_id: str) -> int:
    """Everything computed from an unlinked dataset goes with it: the cohorts that read it (and
    the lookalikes they seeded), their members and scores, the files their activations wrote,
    and the dataset's activation consent. Each activation's record stays, marked "source
    unlinked", as the audit of an export that happened."""
    ids = rec.cohorts_reading(cur, room_id, dataset_id)
    ids += [child for c in list(ids) for child in rec.seeded_by(cur, c) if child not in ids]
    for a in rec.activations_from(cur, room_id, dataset_id, ids):
        folder = a.folder or _legacy_folder(cur, a)
        if folder is not None:
            dest.remove_export(folder)
        rec.mark_source_unlinked(cur, a.id)
    for cohort_id in ids:
        rec.delete_cohort(cur, cohort_id)
    rec.drop_policy(cur, dataset_id)
    return len(ids)


def _legacy_folder(cur: Any, a: rec.Activation) -> str | None:
    """The folder of an export recorded before folders were: '<destination>/<...>-<id[:8]>'."""
    d = rec.destination(cur, a.room_id, a.destination_id)
    if d is None:
        return None
    try:
        base = dest.folder(d.path, create=False)
    except WorkbenchError:
        return None
    found = sorted(p.name for p in base.glob(f"*-{a.id[:8]}") if p.is_dir())
    return f"{d.path}/{found[0]}" if len(found) == 1 else None
