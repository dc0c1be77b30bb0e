"""A room's template fields and each party's mapping onto them, with the readiness checklist.

The owner declares which datasets the room's questions need (dataset macros, each with required
and optional field macros, and the party that brings it) and the terms (who runs, who receives
results). Every party maps one of its provisioned datasets and its columns to each macro it
must bring. The room is active only when every party has mapped every required field.
"""

from __future__ import annotations

import re
from typing import Any

from workbench.errors import InvalidInput, NotFound
from workbench.governance.audit import record
from workbench.governance.model import Actor
from workbench.governance.policy import ensure_allowed, load_room
from workbench.store import Store
from workbench.wire import data as w

_MACRO = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
FIELD_TYPES = {"text", "integer", "double", "boolean", "date", "timestamp", "any", "numeric"}


def _macro(value: str, what: str) -> str:
    name = value.lstrip("@")
    if not _MACRO.match(name):
        raise InvalidInput(f"{what} {value!r} must be a name of letters, digits and _ (optionally "
                           "starting with @), e.g. @exposures or @user_id")
    return name


def set_template(store: Store, actor: Actor, room_id: str, body: w.TemplateSet) -> w.Template:
    """Declare (replace) the room's template; mappings of removed macros or fields go with them."""
    with store.transaction() as cur:
        access = ensure_allowed(cur, actor, "template.fields.set", room_id=room_id, resource_type="template",
                                resource_id=room_id,
                                detail={"datasets": [d.macro for d in body.datasets]})
        return write_template(cur, actor, access.room.owner_org_id, room_id, body)


def write_template(cur: Any, actor: Actor, owner_org_id: str, room_id: str, body: w.TemplateSet) -> w.Template:
    """Validate and store a template inside the caller's transaction (set_template, template import)."""
    partners = {o for (o,) in cur.execute(
        "SELECT org_id FROM room_partners WHERE room_id = ? AND status IN ('invited', 'accepted')",
        [room_id]).fetchall()}
    seen: set[str] = set()
    datasets = []
    for d in body.datasets:
        macro = _macro(d.macro, "the dataset macro")
        if macro.lower() in seen:
            raise InvalidInput(f"the dataset macro @{macro} is declared twice")
        seen.add(macro.lower())
        party = d.party
        if party not in ("owner", "partners") and party not in partners and party != owner_org_id:
            raise InvalidInput(f"the party of @{macro} must be 'owner', 'partners' or the id of an org "
                               f"in the room, not {party!r}")
        if party == owner_org_id:
            party = "owner"
        field_names: set[str] = set()
        fields = []
        for f in d.fields:
            fm = _macro(f.macro, "the field macro")
            if fm.lower() in field_names:
                raise InvalidInput(f"the field macro @{fm} is declared twice in @{macro}")
            field_names.add(fm.lower())
            if f.type is not None and f.type not in FIELD_TYPES:
                raise InvalidInput(f"the field @{fm} has the unknown type {f.type!r}; use one of "
                                   f"{', '.join(sorted(FIELD_TYPES))}")
            fields.append((fm, f))
        if not any(f.required for _, f in fields):
            raise InvalidInput(f"the dataset macro @{macro} needs at least one required field")
        datasets.append((macro, party, d.description, fields))
    cur.execute("DELETE FROM template_fields WHERE room_id = ?", [room_id])
    cur.execute("DELETE FROM template_datasets WHERE room_id = ?", [room_id])
    for pos, (macro, party, desc, fields) in enumerate(datasets):
        cur.execute("INSERT INTO template_datasets (room_id, macro, party, description, position)"
                    " VALUES (?,?,?,?,?)", [room_id, macro, party, desc, pos])
        for fpos, (fm, f) in enumerate(fields):
            cur.execute("INSERT INTO template_fields (room_id, dataset_macro, macro, required, type,"
                        " description, position) VALUES (?,?,?,?,?,?,?)",
                        [room_id, macro, fm, f.required, f.type, f.description, fpos])
    # mappings onto macros or fields that no longer exist are dropped
    cur.execute("DELETE FROM field_mappings WHERE room_id = ? AND (dataset_macro, field_macro) NOT IN"
                " (SELECT dataset_macro, macro FROM template_fields WHERE room_id = ?)", [room_id, room_id])
    cur.execute("DELETE FROM dataset_mappings WHERE room_id = ? AND dataset_macro NOT IN"
                " (SELECT macro FROM template_datasets WHERE room_id = ?)", [room_id, room_id])
    cur.execute("INSERT OR REPLACE INTO template_terms (room_id, runs, receives, updated_by) VALUES (?,?,?,?)",
                [room_id, body.terms.runs, body.terms.receives, actor.user_id])
    return template_of(cur, room_id)


def template_of(cur: Any, room_id: str) -> w.Template:
    """The room's template as stored (no authorisation: callers have decided already)."""
    out = []
    for macro, party, desc in cur.execute(
        "SELECT macro, party, description FROM template_datasets WHERE room_id = ? ORDER BY position",
        [room_id]).fetchall():
        fields = [w.TemplateField(macro=m, required=req, type=t, description=d) for m, req, t, d in cur.execute(
            "SELECT macro, required, type, description FROM template_fields WHERE room_id = ?"
            " AND dataset_macro = ? ORDER BY position", [room_id, macro]).fetchall()]
        out.append(w.TemplateDataset(macro=macro, party=party, description=desc, fields=fields))
    terms = cur.execute("SELECT runs, receives FROM template_terms WHERE room_id = ?", [room_id]).fetchone()
    return w.Template(room_id=room_id, datasets=out,
                      terms=w.Terms(runs=terms[0] if terms else "all", receives=terms[1] if terms else "all"))


def get_template(store: Store, actor: Actor, room_id: str) -> w.Template:
    """The room's template: dataset macros, their fields and the terms."""
    with store.reader() as cur:
        ensure_allowed(cur, actor, "dataset.read", room_id=room_id, resource_type="template", resource_id=room_id)
        return template_of(cur, room_id)


def _expected_orgs(cur: Any, room_id: str, owner_org_id: str, party: str) -> list[str]:
    if party == "owner":
        return [owner_org_id]
    if party == "partners":
        return [o for (o,) in cur.execute(
            "SELECT org_id FROM room_partners WHERE room_id = ? AND status = 'accepted' ORDER BY org_id",
            [room_id]).fetchall()]
    return [party]


def _type_ok(want: str | None, have: str) -> bool:
    if want in (None, "any"):
        return True
    if want == "numeric":
        return have in ("integer", "double")
    return want == have


def map_dataset(store: Store, actor: Actor, room_id: str, dataset_macro: str, body: w.MappingSet) -> w.Readiness:
    """Map a provisioned dataset and its columns to a dataset macro for one org (default: yours)."""
    macro_in = _macro(dataset_macro, "the dataset macro")
    with store.transaction() as cur:
        access = ensure_allowed(cur, actor, "dataset.map", room_id=room_id, resource_type="dataset",
                                resource_id=body.dataset_id,
                                detail={"dataset_macro": macro_in, "fields": sorted(body.fields)})
        tmpl = cur.execute("SELECT macro, party FROM template_datasets WHERE room_id = ? AND lower(macro) = lower(?)",
                           [room_id, macro_in]).fetchone()
        if tmpl is None:
            raise NotFound(f"the room's template has no dataset macro @{macro_in}")
        macro, party = tmpl
        ds = cur.execute("SELECT org_id, connection_id, columns FROM provisioned_datasets WHERE id = ? AND room_id = ?",
                         [body.dataset_id, room_id]).fetchone()
        if ds is None:
            raise NotFound(f"no dataset {body.dataset_id!r} in this room")
        org_id = body.org_id or ds[0]
        if org_id != ds[0]:
            raise InvalidInput("a dataset is mapped for the organisation that provisioned it")
        if org_id not in _expected_orgs(cur, room_id, access.room.owner_org_id, party):
            raise InvalidInput(f"@{macro} is brought by the {party} party, not by this dataset's organisation")
        declared = {m.lower(): (m, t) for m, t in cur.execute(
            "SELECT macro, type FROM template_fields WHERE room_id = ? AND dataset_macro = ?",
            [room_id, macro]).fetchall()}
        types = dict(cur.execute("SELECT name, type FROM data_columns WHERE connection_id = ?", [ds[1]]).fetchall())
        columns = {c.lower(): c for c in ds[2]}
        rows = []
        for fm_in, col_in in body.fields.items():
            fm = _macro(fm_in, "the field macro")
            if fm.lower() not in declared:
                raise InvalidInput(f"@{macro} has no field @{fm}; its fields: "
                                   f"{', '.join('@' + m for m, _ in declared.values())}", field=fm)
            col = columns.get(col_in.lower())
            if col is None:
                raise InvalidInput(f"{col_in!r} is not a queryable column of the dataset; columns: "
                                   f"{', '.join(ds[2])}", column=col_in)
            name, want = declared[fm.lower()]
            if not _type_ok(want, types[col]):
                raise InvalidInput(f"the field @{name} expects {want} values but {col!r} is {types[col]}",
                                   field=name, column=col)
            rows.append((name, col))
        cur.execute("DELETE FROM field_mappings WHERE room_id = ? AND dataset_macro = ? AND org_id = ?",
                    [room_id, macro, org_id])
        cur.execute("INSERT OR REPLACE INTO dataset_mappings (room_id, dataset_macro, org_id, dataset_id, mapped_by)"
                    " VALUES (?,?,?,?,?)", [room_id, macro, org_id, body.dataset_id, actor.user_id])
        for name, col in rows:
            cur.execute("INSERT INTO field_mappings (room_id, dataset_macro, org_id, field_macro, column_name)"
                        " VALUES (?,?,?,?,?)", [room_id, macro, org_id, name, col])
        out = readiness(cur, room_id)
        record(cur, actor, "room.readiness", room_id=room_id, resource_type="room", resource_id=room_id,
               resource_org_id=access.room.owner_org_id, detail={"status": out.status})
        return out


def unmap_dataset(store: Store, actor: Actor, room_id: str, dataset_macro: str, org_id: str | None = None) -> w.Readiness:
    """Remove an org's mapping of a dataset macro (default: the caller's org)."""
    macro_in = _macro(dataset_macro, "the dataset macro")
    with store.transaction() as cur:
        org = org_id or actor.org_id
        row = cur.execute("SELECT dataset_id, dataset_macro FROM dataset_mappings WHERE room_id = ?"
                          " AND lower(dataset_macro) = lower(?) AND org_id = ?", [room_id, macro_in, org]).fetchone()
        ensure_allowed(cur, actor, "dataset.map", room_id=room_id, resource_type="dataset",
                       resource_id=row[0] if row else None, detail={"dataset_macro": macro_in, "unmap": True})
        if row is None:
            raise NotFound(f"@{macro_in} is not mapped for that organisation")
        cur.execute("DELETE FROM field_mappings WHERE room_id = ? AND dataset_macro = ? AND org_id = ?",
                    [room_id, row[1], org])
        cur.execute("DELETE FROM dataset_mappings WHERE room_id = ? AND dataset_macro = ? AND org_id = ?",
                    [room_id, row[1], org])
        return readiness(cur, room_id)


def readiness(cur: Any, room_id: str) -> w.Readiness:
    """The checklist: per dataset macro and party, what is mapped and which required fields are missing."""
    room = load_room(cur, room_id)
    if room is None:
        raise NotFound(f"no room {room_id}")
    names = dict(cur.execute("SELECT id, name FROM orgs").fetchall())
    items: list[w.ReadinessItem] = []
    missing: list[str] = []
    for macro, party in cur.execute(
        "SELECT macro, party FROM template_datasets WHERE room_id = ? ORDER BY position", [room_id]).fetchall():
        required = [m for (m,) in cur.execute(
            "SELECT macro FROM template_fields WHERE room_id = ? AND dataset_macro = ? AND required"
            " ORDER BY position", [room_id, macro]).fetchall()]
        orgs = _expected_orgs(cur, room_id, room.owner_org_id, party)
        if not orgs:
            items.append(w.ReadinessItem(dataset_macro=macro, org_id="", org_name="(no partner yet)",
                                         dataset_id=None, dataset_name=None, mapped_fields={},
                                         missing_fields=required, ready=False))
            missing.append(f"@{macro}: a partner must join the room and map it")
            continue
        for org in orgs:
            mapped = cur.execute(
                "SELECT m.dataset_id, p.name FROM dataset_mappings m JOIN provisioned_datasets p ON p.id = m.dataset_id"
                " WHERE m.room_id = ? AND m.dataset_macro = ? AND m.org_id = ?", [room_id, macro, org]).fetchone()
            fields = dict(cur.execute(
                "SELECT field_macro, column_name FROM field_mappings WHERE room_id = ? AND dataset_macro = ?"
                " AND org_id = ? ORDER BY field_macro", [room_id, macro, org]).fetchall()) if mapped else {}
            lacking = [m for m in required if m not in fields]
            ready = mapped is not None and not lacking
            items.append(w.ReadinessItem(dataset_macro=macro, org_id=org, org_name=names.get(org, org),
                                         dataset_id=mapped[0] if mapped else None,
                                         dataset_name=mapped[1] if mapped else None, mapped_fields=fields,
                                         missing_fields=lacking, ready=ready))
            if mapped is None:
                missing.append(f"@{macro}: {names.get(org, org)} has not mapped a dataset")
            elif lacking:
                missing.append(f"@{macro}: {names.get(org, org)} has not mapped "
                               + ", ".join("@" + m for m in lacking))
    ready = not missing
    return w.Readiness(room_id=room_id, status="active" if ready else "draft", ready=ready,
                       items=items, missing=missing)


def is_ready(cur: Any, room_id: str) -> bool:
    """True when every party mapped every required field (a room without a template is ready)."""
    return readiness(cur, room_id).ready


def get_readiness(store: Store, actor: Actor, room_id: str) -> w.Readiness:
    """The readiness checklist, for every participant of the room."""
    with store.reader() as cur:
        ensure_allowed(cur, actor, "dataset.read", room_id=room_id, resource_type="room", resource_id=room_id)
        return readiness(cur, room_id)
