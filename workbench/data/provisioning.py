"""Provisioning: a data connection exposed to one room as a view, with its analysis rules.

A provisioned dataset is a VIEW over the org's own table (queryable columns, checked row
filter); nothing is copied to the other party. Questions reach it only through :func:`resolve`,
which turns a room's dataset macro into the view, its rules and the field-to-column mapping.
Unlinking drops the view and everything derived from it in one transaction.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from workbench.data import _external_records as ext
from workbench.data import _records as rec
from workbench.data import rules as r
from workbench.data.hooks import run_unlink_hooks
from workbench.data.identity import quote_ident
from workbench.data.row_filter import check_row_filter
from workbench.errors import Conflict, InvalidInput, NotFound
from workbench.governance.audit import record
from workbench.governance.model import Actor, Room, RoomAccess
from workbench.governance.policy import ensure_allowed
from workbench.ids import new_id, parse_uuid
from workbench.store import Store
from workbench.wire import data as w

#: column types SUM and AVG may read
NUMERIC = {"integer", "double"}
#: significant digits of another party's row count
COUNT_DIGITS = 2


@dataclass(frozen=True, kw_only=True)
class ResolvedDataset:
    """What a question needs to read one dataset macro in one room (trusted metadata only)."""

    #: the view to query, schema-qualified ("prov.v_<hex>")
    view: str
    #: the dataset's analysis rules in force (keyed by physical column)
    rules: r.AnalysisRules
    #: field macro -> physical column of the view
    fields: dict[str, str] = field(default_factory=dict)
    #: the provisioned dataset's id
    dataset_id: str
    #: the org that provisioned it
    org_id: str
    #: the macro (or dataset id) this was resolved from
    macro: str
    #: column -> our type name (text, integer, double, boolean, date, timestamp)
    types: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class ColumnMeta:
    """What the connection says about one column."""

    type: str
    pii: bool
    identity: bool


def room_of(access: RoomAccess | None) -> Room:
    """The room of a room action's access (the policy answers None only for org actions)."""
    if access is None:
        raise RuntimeError("a room action was decided without its room")
    return access.room


def _column_meta(cur: Any, connection_id: str) -> dict[str, ColumnMeta]:
    """column -> its type and labels, in file order."""
    return {c.name: ColumnMeta(type=c.type, pii=c.pii, identity=c.is_identity)
            for c in rec.connection_columns(cur, connection_id)}


def _dataset(cur: Any, room_id: str, dataset_id: str) -> rec.DatasetRecord:
    found = rec.dataset(cur, room_id, dataset_id)
    if found is None:
        raise NotFound(f"no dataset {dataset_id!r} in this room")
    return found


def load_rules(cur: Any, dataset_id: str, version: int | None = None) -> r.AnalysisRules:
    """The rules of a provisioned dataset at ``version`` (default: the latest)."""
    row = rec.rules_version(cur, dataset_id, version)
    if row is None:
        raise NotFound(f"no analysis rules version {version} for dataset {dataset_id!r}")
    return r.rules_from_json(dataset_id, row.version, json.loads(row.rules))


def resolve(cur: Any, room_id: str, dataset_macro: str, org_id: str | None = None) -> ResolvedDataset:
    """The view, rules and field mapping behind ``dataset_macro`` in a room.

    ``dataset_macro`` is a template dataset macro (with or without a leading '@'), or the id of
    a provisioned dataset (then every column maps to itself). When several orgs mapped the same
    macro, pass ``org_id``. NotFound when nothing is mapped; the caller decides permissions.
    """
    macro = str(dataset_macro).lstrip("@")
    direct = rec.dataset(cur, room_id, macro)
    if direct is not None:
        return _resolved(cur, direct, {c: c for c in direct.columns}, macro)
    mappings = rec.mappings_of_macro(cur, room_id, macro, org_id)
    if not mappings:
        raise NotFound(f"the dataset macro @{macro} is not mapped to a dataset in this room yet")
    if len(mappings) > 1:
        raise InvalidInput(f"several organisations mapped @{macro}; say which org's dataset to use",
                           orgs=[m.org_id for m in mappings])
    mapped = mappings[0]
    fields = rec.field_mapping(cur, room_id, macro, mapped.org_id)
    return _resolved(cur, _dataset(cur, room_id, mapped.dataset_id), fields, macro)


def _resolved(cur: Any, ds: rec.DatasetRecord, fields: dict[str, str], macro: str) -> ResolvedDataset:
    meta = _column_meta(cur, ds.connection_id)
    return ResolvedDataset(view=f"prov.{ds.view_name}", rules=load_rules(cur, ds.id), fields=fields,
                           dataset_id=ds.id, org_id=ds.org_id, macro=macro,
                           types={c: meta[c].type for c in ds.columns if c in meta})


def _default_rules(dataset_id: str, columns: list[str], meta: dict[str, ColumnMeta]) -> r.AnalysisRules:
    identity = next((c for c in columns if meta[c].identity), None)
    cols = ({identity: r.ColumnRule(name=identity, join=True, aggregations=frozenset({"COUNT_DISTINCT"}))}
            if identity else {})
    return r.AnalysisRules(dataset_id=dataset_id, version=1, columns=cols,
                           pii=frozenset(c for c in columns if meta[c].pii), identity=identity)


def _queryable(body: w.ProvisionCreate, meta: dict[str, ColumnMeta]) -> list[str]:
    """The requested columns in file order, checked; the identity column must be among them."""
    known = {c.lower(): c for c in meta}
    wanted = list(meta) if body.columns is None else body.columns
    if not wanted:
        raise InvalidInput("provision at least one column (the identity column is needed)")
    picked = set()
    for c in wanted:
        if c.lower() not in known:
            raise InvalidInput(f"{c!r} is not a column of the connection; columns: {', '.join(meta)}", column=c)
        picked.add(known[c.lower()])
    columns = [c for c in meta if c in picked]
    identity = next(c for c in meta if meta[c].identity)
    if identity not in columns:
        raise InvalidInput(f"the identity column {identity!r} must be queryable: it is the privacy "
                           "unit and the join key; add it to columns")
    return columns


def provision(store: Store, actor: Actor, room_id: str, body: w.ProvisionCreate) -> w.Dataset:
    """Expose one of the org's connections to a room as a view; rules start minimal (join on id)."""
    room_id = parse_uuid(room_id, "room")
    dataset_id = new_id()
    view = "v_" + dataset_id.replace("-", "")
    with store.transaction() as cur:
        access = ensure_allowed(cur, actor, "dataset.provision", room_id=room_id, resource_type="dataset",
                                resource_id=dataset_id, resource_org_id=actor.org_id,
                                detail={"connection_id": body.connection_id, "name": body.name,
                                        "row_filter": body.row_filter is not None})
        conn = rec.connection(cur, actor.org_id, parse_uuid(body.connection_id, "data connection"))
        if conn is None:
            raise NotFound(f"no data connection {body.connection_id!r} in your organisation")
        meta = _column_meta(cur, conn.id)
        columns = _queryable(body, meta)
        name = body.name.strip()
        if rec.dataset_name_taken(cur, room_id, name):
            raise Conflict(f"the room already has a dataset named {name!r}; pick another name")
        where = "" if body.row_filter is None else " WHERE " + check_row_filter(body.row_filter, columns)
        try:
            rec.create_view(cur, view, ", ".join(quote_ident(c) for c in columns), conn.table_name, where)
            if not ext.spark_only(cur, conn.id):  # run the filter once on the data (Spark's at run)
                rec.view_rows(cur, view)
        except Exception as exc:  # the engine's error for a filter that cannot run on these types
            if not type(exc).__module__.lstrip("_").startswith("duckdb"):
                raise
            first = str(exc).split("\n")[0].split(": ", 1)[-1]
            raise InvalidInput(f"the row filter does not work on this dataset: {first}") from None
        rec.insert_dataset(cur, dataset_id=dataset_id, room_id=room_id, org_id=actor.org_id,
                           connection_id=conn.id, name=name, columns=columns, row_filter=body.row_filter,
                           partners_may_assign=body.partners_may_assign, view=view, created_by=actor.user_id)
        _store_rules(cur, actor, _default_rules(dataset_id, columns, meta))
        return _dataset_out(cur, actor, room_of(access), _dataset(cur, room_id, dataset_id))


def _store_rules(cur: Any, actor: Actor, rules: r.AnalysisRules) -> None:
    rec.insert_rules(cur, rules.dataset_id, rules.version, r.rules_to_json(rules), actor.user_id)


def _rules_out(cur: Any, rules: r.AnalysisRules) -> w.Rules:
    row = rec.rules_version(cur, rules.dataset_id, rules.version)
    data = r.rules_to_json(rules)
    return w.Rules(dataset_id=rules.dataset_id, version=rules.version,
                   columns=[w.ColumnRuleOut(**c) for c in data["columns"]], pii=data["pii"],
                   identity=data["identity"], created_at=row.created_at if row else None,
                   created_by=row.created_by if row else None)


def shown_row_count(count: int, k_min: int, mine: bool) -> tuple[int | None, str]:
    """What a party sees of a dataset's row count, and a note saying how it was shown.

    One's own dataset: exact. Another party's: None below k-min; otherwise rounded to two
    significant digits and never below k-min, so adding or removing a few people (or a row
    filter's edge) does not show in it.
    """
    if mine:
        return count, ""
    if count < max(k_min, 1):
        return None, f"fewer than the room's crowd size ({k_min})"
    digits = COUNT_DIGITS - 1 - int(math.floor(math.log10(count)))
    rounded = int(round(count, digits)) if digits < 0 else count
    return max(rounded, k_min), f"rounded to {COUNT_DIGITS} significant digits"


def _dataset_out(cur: Any, actor: Actor, room: Room, ds: rec.DatasetRecord) -> w.Dataset:
    from workbench.contract.consent import effective_k_min

    mine = ds.org_id == actor.org_id
    meta = _column_meta(cur, ds.connection_id)
    if ext.spark_only(cur, ds.connection_id):  # the store's DuckDB cannot count data only Spark reads
        count, note = None, "counted by Spark when a question runs, not here"
    else:
        count, note = shown_row_count(rec.view_rows(cur, ds.view_name), effective_k_min(cur, room, [ds.id]), mine)
    usage = [w.Usage(dataset_macro=m.dataset_macro, fields=rec.field_mapping(cur, ds.room_id, m.dataset_macro, ds.org_id),
                     questions=_questions_using(cur, ds.room_id, m.dataset_macro))
             for m in rec.mappings_of_dataset(cur, ds.room_id, ds.id)]
    return w.Dataset(
        id=ds.id, room_id=ds.room_id, org_id=ds.org_id, org_name=rec.org_name(cur, ds.org_id), name=ds.name,
        mine=mine,
        columns=[w.DatasetColumn(name=c, type=meta[c].type, pii=meta[c].pii, identity=meta[c].identity)
                 for c in ds.columns],
        partners_may_assign=ds.partners_may_assign, row_filter=ds.row_filter if mine else None,
        has_row_filter=ds.row_filter is not None, row_count=count, row_count_note=note,
        row_count_exact=mine and count is not None, rules=_rules_out(cur, load_rules(cur, ds.id)), used_by=usage,
        created_at=ds.created_at, connection_id=ds.connection_id if mine else None,
    )


def _questions_using(cur: Any, room_id: str, macro: str) -> list[str]:
    """Names of the room's questions whose SQL reads ``macro`` (parsed by the questions package)."""
    try:
        from workbench.questions.spec import Question
    except ImportError:
        return []
    names = []
    for q in rec.room_question_specs(cur, room_id):
        try:
            used = Question.from_dict(json.loads(q.spec)).fields
        except Exception:  # a question that no longer parses reads nothing
            continue
        if any(m.lower() == macro.lower() for m in used):
            names.append(q.name)
    return names


def list_datasets(store: Store, actor: Actor, room_id: str) -> list[w.Dataset]:
    """Every dataset provisioned into the room; partners see metadata and rules, never rows."""
    room_id = parse_uuid(room_id, "room")
    with store.reader() as cur:
        access = ensure_allowed(cur, actor, "dataset.read", room_id=room_id, resource_type="dataset")
        room = room_of(access)
        found = rec.datasets_in(cur, room_id)
        # the decision's audit row belongs to the room owner; every other party whose datasets
        # (and rules) were listed sees the read in its own audit log too
        for org in sorted({ds.org_id for ds in found} - {actor.org_id, room.owner_org_id}):
            record(cur, actor, "dataset.read", outcome="allowed", room_id=room_id, resource_type="dataset",
                   resource_org_id=org, reason="participant of the room",
                   detail={"read": "datasets", "datasets": [ds.id for ds in found if ds.org_id == org]})
        return [_dataset_out(cur, actor, room, ds) for ds in found]


def _read_dataset(cur: Any, actor: Actor, room_id: str, dataset_id: str, what: str) -> tuple[Room, rec.DatasetRecord]:
    """Decide a read of one dataset (its metadata or rules), audited for the org that owns it."""
    ds = rec.dataset(cur, room_id, dataset_id)
    access = ensure_allowed(cur, actor, "dataset.read", room_id=room_id, resource_type="dataset",
                            resource_id=dataset_id, resource_org_id=ds.org_id if ds else None,
                            detail={"read": what})
    if ds is None:
        raise NotFound(f"no dataset {dataset_id!r} in this room")
    return room_of(access), ds


def get_dataset(store: Store, actor: Actor, room_id: str, dataset_id: str) -> w.Dataset:
    """One provisioned dataset of the room."""
    room_id, dataset_id = parse_uuid(room_id, "room"), parse_uuid(dataset_id, "dataset")
    with store.reader() as cur:
        room, ds = _read_dataset(cur, actor, room_id, dataset_id, "dataset")
        return _dataset_out(cur, actor, room, ds)


def unlink(cur: Any, room_id: str, dataset_id: str) -> w.Deleted:
    """Drop a provisioned dataset's view, mappings, rules and derived objects (no checks here)."""
    ds = _dataset(cur, room_id, dataset_id)
    derived = run_unlink_hooks(cur, room_id, dataset_id)
    gone = rec.remove_dataset(cur, ds)
    return w.Deleted(kind="provisioned_dataset", id=dataset_id, views_dropped=1, datasets_unlinked=1,
                     mappings_removed=gone.mappings_removed, rule_versions_removed=gone.rule_versions_removed,
                     derived_removed=derived, rows_deleted=0)


def unprovision(store: Store, actor: Actor, room_id: str, dataset_id: str) -> w.Deleted:
    """Remove the caller's org's dataset from the room with everything derived from it.

    The policy decides whether the dataset is the caller's org's (the action's own check), so a
    refusal is audited as the denial it is.
    """
    from workbench.data.connections import checkpoint_after_delete

    room_id, dataset_id = parse_uuid(room_id, "room"), parse_uuid(dataset_id, "dataset")
    with store.transaction() as cur:
        ds = rec.dataset(cur, room_id, dataset_id)
        ensure_allowed(cur, actor, "dataset.unprovision", room_id=room_id, resource_type="dataset",
                       resource_id=dataset_id, resource_org_id=ds.org_id if ds else None)
        if ds is None:
            raise NotFound(f"no dataset {dataset_id!r} in this room")
        out = unlink(cur, room_id, dataset_id)
        record(cur, actor, "dataset.unlinked", room_id=room_id, resource_type="dataset",
               resource_id=dataset_id, resource_org_id=actor.org_id,
               detail={"mappings_removed": out.mappings_removed, "derived_removed": out.derived_removed})
    checkpoint_after_delete(store)
    return out


# analysis rules
def set_rules(store: Store, actor: Actor, room_id: str, dataset_id: str, body: w.RulesSet) -> w.Rules:
    """Replace a dataset's rules with a new version (the previous versions stay readable).

    Only the org that provisioned the dataset may: the action's check decides it, audited.
    """
    room_id, dataset_id = parse_uuid(room_id, "room"), parse_uuid(dataset_id, "dataset")
    names = [c.name for c in body.columns]
    with store.transaction() as cur:
        ds = rec.dataset(cur, room_id, dataset_id)
        ensure_allowed(cur, actor, "dataset.rules.set", room_id=room_id, resource_type="dataset",
                       resource_id=dataset_id, resource_org_id=ds.org_id if ds else None,
                       detail={"columns": names})
        if ds is None:
            raise NotFound(f"no dataset {dataset_id!r} in this room")
        meta = _column_meta(cur, ds.connection_id)
        current = load_rules(cur, dataset_id)
        rules = build_rules(dataset_id, current.version + 1, body, list(ds.columns), meta)
        _store_rules(cur, actor, rules)
        record(cur, actor, "dataset.rules.version", room_id=room_id, resource_type="dataset",
               resource_id=dataset_id, resource_org_id=actor.org_id,
               detail={"version": rules.version, "columns": sorted(rules.columns)})
        return _rules_out(cur, rules)


def build_rules(dataset_id: str, version: int, body: w.RulesSet, columns: list[str],
                meta: dict[str, ColumnMeta]) -> r.AnalysisRules:
    """Check a rules request against the dataset's columns and the global PII rule."""
    known = {c.lower(): c for c in columns}
    out: dict[str, r.ColumnRule] = {}
    for c in body.columns:
        col = known.get(c.name.lower())
        if col is None:
            raise InvalidInput(f"{c.name!r} is not a queryable column of this dataset; columns: "
                               f"{', '.join(columns)}", column=c.name)
        if col in out:
            raise InvalidInput(f"the rules name {col!r} twice; give one rule per column", column=col)
        typ, pii = meta[col].type, meta[col].pii
        if pii and c.group_by:
            raise InvalidInput(f"{col!r} is labelled PII: PII columns are never projected, so it cannot "
                               "be a group key (global rule)", column=col)
        if c.public_values is not None and not c.group_by:
            raise InvalidInput(f"{col!r} has public values but is not a group key; set group_by", column=col)
        aggs = frozenset(a.upper() for a in c.aggregations)
        if {"SUM", "AVG"} & aggs and typ not in NUMERIC:
            raise InvalidInput(f"{col!r} is {typ}; SUM and AVG need a numeric column", column=col)
        try:
            out[col] = r.ColumnRule(
                name=col, join=c.join, group_by=c.group_by,
                public_values=tuple(c.public_values) if c.public_values is not None else None,
                aggregations=aggs,  # type: ignore[arg-type]
                lower=None if c.lower is None else float(c.lower),
                upper=None if c.upper is None else float(c.upper), input_k_min=c.input_k_min,
            )
        except ValueError as exc:
            raise InvalidInput(f"invalid rule: {exc}", column=col) from None
    identity = next((c for c in columns if meta[c].identity), None)
    return r.AnalysisRules(dataset_id=dataset_id, version=version, columns=out,
                           pii=frozenset(c for c in columns if meta[c].pii), identity=identity)


def get_rules(store: Store, actor: Actor, room_id: str, dataset_id: str,
              version: int | None = None) -> w.Rules:
    """A dataset's rules at a version (default: the one in force); every participant may read them.

    The read is audited for the dataset's own org, so a party sees who read its rules.
    """
    room_id, dataset_id = parse_uuid(room_id, "room"), parse_uuid(dataset_id, "dataset")
    with store.reader() as cur:
        _read_dataset(cur, actor, room_id, dataset_id, "rules")
        return _rules_out(cur, load_rules(cur, dataset_id, version))


def rules_history(store: Store, actor: Actor, room_id: str, dataset_id: str) -> list[w.Rules]:
    """Every version of a dataset's rules, oldest first."""
    room_id, dataset_id = parse_uuid(room_id, "room"), parse_uuid(dataset_id, "dataset")
    with store.reader() as cur:
        _read_dataset(cur, actor, room_id, dataset_id, "rules history")
        return [_rules_out(cur, r.rules_from_json(dataset_id, v.version, json.loads(v.rules)))
                for v in rec.rules_versions(cur, dataset_id)]
