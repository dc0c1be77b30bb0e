"""Provisioning: a data connection exposed to one room as a view, with its analysis rules.

A provisioned dataset is a VIEW over the org's own table (queryable columns, checked row
filter); nothing is copied to the other party. Questions reach it only through :func:`resolve`,
which turns a room's dataset macro into the view, its rules and the field-to-column mapping.
Unlinking drops the view and everything derived from it in one transaction.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from workbench.data import rules as r
from workbench.data.hooks import run_unlink_hooks
from workbench.data.identity import quote_ident
from workbench.data.row_filter import check_row_filter
from workbench.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from workbench.governance.audit import record
from workbench.governance.model import Actor
from workbench.governance.policy import ensure_allowed
from workbench.store import Store
from workbench.wire import data as w

#: column types SUM and AVG may read
NUMERIC = {"integer", "double"}


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


def _row(cur: Any, room_id: str, dataset_id: str) -> tuple | None:
    return cur.execute(
        "SELECT id, room_id, org_id, connection_id, name, columns, row_filter, partners_may_assign,"
        " view_name, created_at FROM provisioned_datasets WHERE id = ? AND room_id = ?",
        [dataset_id, room_id],
    ).fetchone()


def _column_meta(cur: Any, connection_id: str) -> dict[str, tuple[str, bool, bool]]:
    """column -> (type, pii, identity) of a connection."""
    return {n: (t, p, i) for n, t, p, i in cur.execute(
        "SELECT name, type, pii, is_identity FROM data_columns WHERE connection_id = ? ORDER BY position",
        [connection_id]).fetchall()}


def load_rules(cur: Any, dataset_id: str, version: int | None = None) -> r.AnalysisRules:
    """The rules of a provisioned dataset at ``version`` (default: the latest)."""
    sql = "SELECT version, rules FROM analysis_rules WHERE dataset_id = ?"
    params: list[Any] = [dataset_id]
    if version is not None:
        sql += " AND version = ?"
        params.append(int(version))
    row = cur.execute(sql + " ORDER BY version DESC LIMIT 1", params).fetchone()
    if row is None:
        raise NotFound(f"no analysis rules version {version} for dataset {dataset_id!r}")
    return r.rules_from_json(dataset_id, row[0], json.loads(row[1]))


def resolve(cur: Any, room_id: str, dataset_macro: str, org_id: str | None = None) -> ResolvedDataset:
    """The view, rules and field mapping behind ``dataset_macro`` in a room.

    ``dataset_macro`` is a template dataset macro (with or without a leading '@'), or the id of
    a provisioned dataset (then every column maps to itself). When several orgs mapped the same
    macro, pass ``org_id``. NotFound when nothing is mapped; the caller decides permissions.
    """
    macro = str(dataset_macro).lstrip("@")
    direct = _row(cur, room_id, macro)
    if direct is not None:
        fields = {c: c for c in direct[5]}
        return _resolved(cur, direct, fields, macro)
    sql = ("SELECT org_id, dataset_id FROM dataset_mappings WHERE room_id = ? AND lower(dataset_macro) = lower(?)")
    params: list[Any] = [room_id, macro]
    if org_id is not None:
        sql += " AND org_id = ?"
        params.append(org_id)
    rows = cur.execute(sql + " ORDER BY org_id", params).fetchall()
    if not rows:
        raise NotFound(f"the dataset macro @{macro} is not mapped to a dataset in this room yet")
    if len(rows) > 1:
        raise InvalidInput(f"several organisations mapped @{macro}; say which org's dataset to use",
                           orgs=[o for o, _ in rows])
    mapped_org, dataset_id = rows[0]
    fields = dict(cur.execute(
        "SELECT field_macro, column_name FROM field_mappings WHERE room_id = ?"
        " AND lower(dataset_macro) = lower(?) AND org_id = ? ORDER BY field_macro",
        [room_id, macro, mapped_org]).fetchall())
    return _resolved(cur, _row(cur, room_id, dataset_id), fields, macro)


def _resolved(cur: Any, row: tuple, fields: dict[str, str], macro: str) -> ResolvedDataset:
    meta = _column_meta(cur, row[3])
    return ResolvedDataset(view=f"prov.{row[8]}", rules=load_rules(cur, row[0]), fields=fields,
                           dataset_id=row[0], org_id=row[2], macro=macro,
                           types={c: meta[c][0] for c in row[5] if c in meta})


def _default_rules(dataset_id: str, columns: list[str], meta: dict[str, tuple[str, bool, bool]]) -> r.AnalysisRules:
    identity = next((c for c in columns if meta[c][2]), None)
    cols = {identity: r.ColumnRule(name=identity, join=True, aggregations=frozenset({"COUNT_DISTINCT"}))} if identity else {}
    return r.AnalysisRules(dataset_id=dataset_id, version=1, columns=cols,
                           pii=frozenset(c for c in columns if meta[c][1]), identity=identity)


def provision(store: Store, actor: Actor, room_id: str, body: w.ProvisionCreate) -> w.Dataset:
    """Expose one of the org's connections to a room as a view; rules start minimal (join on id)."""
    dataset_id = str(uuid.uuid4())
    view = "v_" + uuid.UUID(dataset_id).hex
    with store.transaction() as cur:
        access = ensure_allowed(cur, actor, "dataset.provision", room_id=room_id, resource_type="dataset",
                                resource_id=dataset_id, resource_org_id=actor.org_id,
                                detail={"connection_id": body.connection_id, "name": body.name,
                                        "row_filter": body.row_filter is not None})
        conn = cur.execute("SELECT table_name FROM data_connections WHERE id = ? AND org_id = ?",
                           [body.connection_id, actor.org_id]).fetchone()
        if conn is None:
            raise NotFound(f"no data connection {body.connection_id!r} in your organisation")
        meta = _column_meta(cur, body.connection_id)
        known = {c.lower(): c for c in meta}
        wanted = list(meta) if body.columns is None else body.columns
        if not wanted:
            raise InvalidInput("provision at least one column (the identity column is needed)")
        columns = []
        for c in wanted:
            if c.lower() not in known:
                raise InvalidInput(f"{c!r} is not a column of the connection; columns: {', '.join(meta)}",
                                   column=c)
            if known[c.lower()] not in columns:
                columns.append(known[c.lower()])
        columns = [c for c in meta if c in columns]
        identity = next(c for c in meta if meta[c][2])
        if identity not in columns:
            raise InvalidInput(f"the identity column {identity!r} must be queryable: it is the privacy "
                               "unit and the join key; add it to columns")
        name = body.name.strip()
        if cur.execute("SELECT 1 FROM provisioned_datasets WHERE room_id = ? AND lower(name) = lower(?)",
                       [room_id, name]).fetchone():
            raise Conflict(f"the room already has a dataset named {name!r}; pick another name")
        where = ""
        if body.row_filter is not None:
            where = " WHERE " + check_row_filter(body.row_filter, columns)
        select = ", ".join(quote_ident(c) for c in columns)
        cur.execute(f"CREATE VIEW prov.{view} AS SELECT {select} FROM ds.{conn[0]}{where}")
        try:
            cur.execute(f"SELECT count(*) FROM prov.{view}").fetchone()
        except Exception as exc:  # the engine's error for a filter that cannot run on these types
            if not type(exc).__module__.lstrip("_").startswith("duckdb"):
                raise
            first = str(exc).split("\n")[0].split(": ", 1)[-1]
            raise InvalidInput(f"the row filter does not work on this dataset: {first}") from None
        cur.execute(
            "INSERT INTO provisioned_datasets (id, room_id, org_id, connection_id, name, columns, row_filter,"
            " partners_may_assign, view_name, created_by) VALUES (?,?,?,?,?,?,?,?,?,?)",
            [dataset_id, room_id, actor.org_id, body.connection_id, name, columns,
             body.row_filter, body.partners_may_assign, view, actor.user_id],
        )
        rules = _default_rules(dataset_id, columns, meta)
        _store_rules(cur, actor, rules)
        return _dataset_out(cur, actor, access.room.k_min, _row(cur, room_id, dataset_id))


def _store_rules(cur: Any, actor: Actor, rules: r.AnalysisRules) -> None:
    cur.execute("INSERT INTO analysis_rules (dataset_id, version, rules, created_by) VALUES (?,?,?,?)",
                [rules.dataset_id, rules.version, json.dumps(r.rules_to_json(rules)), actor.user_id])


def _rules_out(cur: Any, rules: r.AnalysisRules) -> w.Rules:
    row = cur.execute("SELECT created_at, created_by FROM analysis_rules WHERE dataset_id = ? AND version = ?",
                      [rules.dataset_id, rules.version]).fetchone()
    data = r.rules_to_json(rules)
    return w.Rules(dataset_id=rules.dataset_id, version=rules.version,
                   columns=[w.ColumnRuleOut(**c) for c in data["columns"]], pii=data["pii"],
                   identity=data["identity"], created_at=row[0] if row else None,
                   created_by=row[1] if row else None)


def _dataset_out(cur: Any, actor: Actor, k_min: int, row: tuple) -> w.Dataset:
    ds_id, room_id, org_id, conn_id, name, columns, row_filter, may_assign, view, created = row
    mine = org_id == actor.org_id
    meta = _column_meta(cur, conn_id)
    org_name = cur.execute("SELECT name FROM orgs WHERE id = ?", [org_id]).fetchone()[0]
    count = cur.execute(f"SELECT count(*) FROM prov.{view}").fetchone()[0]
    shown = count if count >= k_min else None
    note = "" if shown is not None else f"fewer than the room's crowd size ({k_min})"
    usage = []
    for macro, in cur.execute(
        "SELECT dataset_macro FROM dataset_mappings WHERE room_id = ? AND dataset_id = ? ORDER BY 1",
        [room_id, ds_id]).fetchall():
        fields = dict(cur.execute(
            "SELECT field_macro, column_name FROM field_mappings WHERE room_id = ? AND dataset_macro = ?"
            " AND org_id = ? ORDER BY 1", [room_id, macro, org_id]).fetchall())
        usage.append(w.Usage(dataset_macro=macro, fields=fields, questions=_questions_using(cur, room_id, macro)))
    return w.Dataset(
        id=ds_id, room_id=room_id, org_id=org_id, org_name=org_name, name=name, mine=mine,
        columns=[w.DatasetColumn(name=c, type=meta[c][0], pii=meta[c][1], identity=meta[c][2]) for c in columns],
        partners_may_assign=may_assign, row_filter=row_filter if mine else None,
        has_row_filter=row_filter is not None, row_count=shown, row_count_note=note,
        rules=_rules_out(cur, load_rules(cur, ds_id)), used_by=usage, created_at=created,
        connection_id=conn_id if mine else None,
    )


def _questions_using(cur: Any, room_id: str, macro: str) -> list[str]:
    """Names of the room's questions whose SQL reads ``macro`` (parsed by the questions package)."""
    try:
        from workbench.questions.spec import Question
    except ImportError:
        return []
    names = []
    for name, spec in cur.execute("SELECT name, spec FROM questions WHERE room_id = ? ORDER BY name",
                                  [room_id]).fetchall():
        try:
            used = Question.from_dict(json.loads(spec)).fields
        except Exception:  # a question that no longer parses reads nothing
            continue
        if any(m.lower() == macro.lower() for m in used):
            names.append(name)
    return names


def list_datasets(store: Store, actor: Actor, room_id: str) -> list[w.Dataset]:
    """Every dataset provisioned into the room; partners see metadata and rules, never rows."""
    with store.reader() as cur:
        access = ensure_allowed(cur, actor, "dataset.read", room_id=room_id, resource_type="dataset")
        rows = cur.execute(
            "SELECT id, room_id, org_id, connection_id, name, columns, row_filter, partners_may_assign,"
            " view_name, created_at FROM provisioned_datasets WHERE room_id = ? ORDER BY created_at, name",
            [room_id]).fetchall()
        return [_dataset_out(cur, actor, access.room.k_min, row) for row in rows]


def get_dataset(store: Store, actor: Actor, room_id: str, dataset_id: str) -> w.Dataset:
    """One provisioned dataset of the room."""
    with store.reader() as cur:
        access = ensure_allowed(cur, actor, "dataset.read", room_id=room_id, resource_type="dataset",
                                resource_id=dataset_id)
        row = _row(cur, room_id, dataset_id)
        if row is None:
            raise NotFound(f"no dataset {dataset_id!r} in this room")
        return _dataset_out(cur, actor, access.room.k_min, row)


def unlink(cur: Any, room_id: str, dataset_id: str) -> w.Deleted:
    """Drop a provisioned dataset's view, mappings, rules and derived objects (no checks here)."""
    row = _row(cur, room_id, dataset_id)
    if row is None:
        raise NotFound(f"no dataset {dataset_id!r} in this room")
    derived = run_unlink_hooks(cur, room_id, dataset_id)
    mapped = cur.execute("SELECT dataset_macro, org_id FROM dataset_mappings WHERE room_id = ? AND dataset_id = ?",
                         [room_id, dataset_id]).fetchall()
    removed = 0
    for macro, org_id in mapped:
        removed += cur.execute("DELETE FROM field_mappings WHERE room_id = ? AND dataset_macro = ? AND org_id = ?",
                               [room_id, macro, org_id]).fetchone()[0]
    removed += cur.execute("DELETE FROM dataset_mappings WHERE room_id = ? AND dataset_id = ?",
                           [room_id, dataset_id]).fetchone()[0]
    versions = cur.execute("DELETE FROM analysis_rules WHERE dataset_id = ?", [dataset_id]).fetchone()[0]
    cur.execute(f"DROP VIEW prov.{row[8]}")
    cur.execute("DELETE FROM provisioned_datasets WHERE id = ?", [dataset_id])
    return w.Deleted(kind="provisioned_dataset", id=dataset_id, views_dropped=1, datasets_unlinked=1,
                     mappings_removed=removed, rule_versions_removed=versions, derived_removed=derived,
                     rows_deleted=0)


def unprovision(store: Store, actor: Actor, room_id: str, dataset_id: str) -> w.Deleted:
    """Remove the caller's org's dataset from the room with everything derived from it."""
    from workbench.data.connections import settle

    with store.transaction() as cur:
        ensure_allowed(cur, actor, "dataset.unprovision", room_id=room_id, resource_type="dataset",
                       resource_id=dataset_id)
        row = _row(cur, room_id, dataset_id)
        if row is None:
            raise NotFound(f"no dataset {dataset_id!r} in this room")
        if row[2] != actor.org_id:
            raise PermissionDenied("only the organisation that provisioned a dataset can unlink it")
        out = unlink(cur, room_id, dataset_id)
        record(cur, actor, "dataset.unlinked", room_id=room_id, resource_type="dataset",
               resource_id=dataset_id, resource_org_id=actor.org_id,
               detail={"mappings_removed": out.mappings_removed, "derived_removed": out.derived_removed})
    settle(store)
    return out


# analysis rules
def set_rules(store: Store, actor: Actor, room_id: str, dataset_id: str, body: w.RulesSet) -> w.Rules:
    """Replace a dataset's rules with a new version (the previous versions stay readable)."""
    names = [c.name for c in body.columns]
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "dataset.rules.set", room_id=room_id, resource_type="dataset",
                       resource_id=dataset_id, detail={"columns": names})
        row = _row(cur, room_id, dataset_id)
        if row is None:
            raise NotFound(f"no dataset {dataset_id!r} in this room")
        if row[2] != actor.org_id:
            raise PermissionDenied("only the organisation that provisioned a dataset sets its analysis rules")
        meta = _column_meta(cur, row[3])
        current = load_rules(cur, dataset_id)
        rules = build_rules(dataset_id, current.version + 1, body, list(row[5]), meta)
        _store_rules(cur, actor, rules)
        record(cur, actor, "dataset.rules.version", room_id=room_id, resource_type="dataset",
               resource_id=dataset_id, resource_org_id=actor.org_id,
               detail={"version": rules.version, "columns": sorted(rules.columns)})
        return _rules_out(cur, rules)


def build_rules(dataset_id: str, version: int, body: w.RulesSet, columns: list[str],
                meta: dict[str, tuple[str, bool, bool]]) -> r.AnalysisRules:
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
        typ, pii, identity = meta[col]
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
    identity = next((c for c in columns if meta[c][2]), None)
    return r.AnalysisRules(dataset_id=dataset_id, version=version, columns=out,
                           pii=frozenset(c for c in columns if meta[c][1]), identity=identity)


def get_rules(store: Store, actor: Actor, room_id: str, dataset_id: str,
              version: int | None = None) -> w.Rules:
    """A dataset's rules at a version (default: the one in force); every participant may read them."""
    with store.reader() as cur:
        ensure_allowed(cur, actor, "dataset.read", room_id=room_id, resource_type="dataset",
                       resource_id=dataset_id)
        if _row(cur, room_id, dataset_id) is None:
            raise NotFound(f"no dataset {dataset_id!r} in this room")
        return _rules_out(cur, load_rules(cur, dataset_id, version))


def rules_history(store: Store, actor: Actor, room_id: str, dataset_id: str) -> list[w.Rules]:
    """Every version of a dataset's rules, oldest first."""
    with store.reader() as cur:
        ensure_allowed(cur, actor, "dataset.read", room_id=room_id, resource_type="dataset",
                       resource_id=dataset_id)
        if _row(cur, room_id, dataset_id) is None:
            raise NotFound(f"no dataset {dataset_id!r} in this room")
        versions = [v for (v,) in cur.execute(
            "SELECT version FROM analysis_rules WHERE dataset_id = ? ORDER BY version", [dataset_id]).fetchall()]
        return [_rules_out(cur, load_rules(cur, dataset_id, v)) for v in versions]
