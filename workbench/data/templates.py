"""A room's template fields and each party's mapping onto them, with the readiness checklist.

The owner declares which datasets the room's questions need (dataset macros, each with required
and optional field macros, and the party that brings it) and the terms (who runs, who receives
results). Every party maps one of its provisioned datasets and its columns to each macro it
must bring. The room is active only when every party has mapped every required field.
"""

from __future__ import annotations

import re
from typing import Any

from workbench.data import _records as rec
from workbench.data.provisioning import room_of
from workbench.errors import InvalidInput, NotFound
from workbench.governance.audit import record
from workbench.governance.model import Actor
from workbench.governance.policy import ensure_allowed, load_room
from workbench.ids import parse_uuid
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
    room_id = parse_uuid(room_id, "room")
    with store.transaction() as cur:
        access = ensure_allowed(cur, actor, "template.fields.set", room_id=room_id, resource_type="template",
                                resource_id=room_id,
                                detail={"datasets": [d.macro for d in body.datasets]})
        return write_template(cur, actor, room_of(access).owner_org_id, room_id, body)


def _template_fields(macro: str, d: w.TemplateDatasetIn) -> list[tuple[str, bool, str | None, str]]:
    """A dataset macro's fields, checked: (macro, required, type, description)."""
    names: set[str] = set()
    fields = []
    for f in d.fields:
        fm = _macro(f.macro, "the field macro")
        if fm.lower() in names:
            raise InvalidInput(f"the field macro @{fm} is declared twice in @{macro}")
        names.add(fm.lower())
        if f.type is not None and f.type not in FIELD_TYPES:
            raise InvalidInput(f"the field @{fm} has the unknown type {f.type!r}; use one of "
                               f"{', '.join(sorted(FIELD_TYPES))}")
        fields.append((fm, f.required, f.type, f.description))
    if not any(required for _, required, _, _ in fields):
        raise InvalidInput(f"the dataset macro @{macro} needs at least one required field")
    return fields


def write_template(cur: Any, actor: Actor, owner_org_id: str, room_id: str, body: w.TemplateSet) -> w.Template:
    """Validate and store a template inside the caller's transaction (set_template, template import)."""
    partners = set(rec.partner_orgs(cur, room_id, ("invited", "accepted")))
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
        datasets.append((macro, party, d.description, _template_fields(macro, d)))
    rec.replace_template(cur, room_id, actor.user_id, body.terms.runs, body.terms.receives, datasets)
    return template_of(cur, room_id)


def template_of(cur: Any, room_id: str) -> w.Template:
    """The room's template as stored (no authorisation: callers have decided already)."""
    out = [w.TemplateDataset(macro=d.macro, party=d.party, description=d.description,
                             fields=[w.TemplateField(macro=f.macro, required=f.required, type=f.type,
                                                     description=f.description)
                                     for f in rec.template_fields(cur, room_id, d.macro)])
           for d in rec.template_datasets(cur, room_id)]
    terms = rec.template_terms(cur, room_id)
    return w.Template(room_id=room_id, datasets=out,
                      terms=w.Terms(runs=terms.runs if terms else "all", receives=terms.receives if terms else "all"))


def get_template(store: Store, actor: Actor, room_id: str) -> w.Template:
    """The room's template: dataset macros, their fields and the terms."""
    room_id = parse_uuid(room_id, "room")
    with store.reader() as cur:
        ensure_allowed(cur, actor, "dataset.read", room_id=room_id, resource_type="template", resource_id=room_id)
        return template_of(cur, room_id)


def _expected_orgs(cur: Any, room_id: str, owner_org_id: str, party: str) -> list[str]:
    if party == "owner":
        return [owner_org_id]
    if party == "partners":
        return rec.partner_orgs(cur, room_id, ("accepted",))
    return [party]


def _type_ok(want: str | None, have: str) -> bool:
    if want in (None, "any"):
        return True
    if want == "numeric":
        return have in ("integer", "double")
    return want == have


def map_dataset(store: Store, actor: Actor, room_id: str, dataset_macro: str, body: w.MappingSet) -> w.Readiness:
    """Map a provisioned dataset and its columns to a dataset macro for one org (default: yours)."""
    room_id = parse_uuid(room_id, "room")
    macro_in = _macro(dataset_macro, "the dataset macro")
    dataset_id = parse_uuid(body.dataset_id, "dataset")
    with store.transaction() as cur:
        access = ensure_allowed(cur, actor, "dataset.map", room_id=room_id, resource_type="dataset",
                                resource_id=dataset_id,
                                detail={"dataset_macro": macro_in, "fields": sorted(body.fields)})
        owner_org = room_of(access).owner_org_id
        tmpl = rec.template_dataset(cur, room_id, macro_in)
        if tmpl is None:
            raise NotFound(f"the room's template has no dataset macro @{macro_in}")
        macro = tmpl.macro
        ds = rec.dataset(cur, room_id, dataset_id)
        if ds is None:
            raise NotFound(f"no dataset {body.dataset_id!r} in this room")
        org_id = body.org_id or ds.org_id
        if org_id != ds.org_id:
            raise InvalidInput("a dataset is mapped for the organisation that provisioned it")
        if org_id not in _expected_orgs(cur, room_id, owner_org, tmpl.party):
            raise InvalidInput(f"@{macro} is brought by the {tmpl.party} party, not by this dataset's organisation")
        declared = {f.macro.lower(): f for f in rec.template_fields(cur, room_id, macro)}
        types = {c.name: c.type for c in rec.connection_columns(cur, ds.connection_id)}
        columns = {c.lower(): c for c in ds.columns}
        rows = []
        for fm_in, col_in in body.fields.items():
            fm = _macro(fm_in, "the field macro")
            if fm.lower() not in declared:
                raise InvalidInput(f"@{macro} has no field @{fm}; its fields: "
                                   f"{', '.join('@' + f.macro for f in declared.values())}", field=fm)
            col = columns.get(col_in.lower())
            if col is None:
                raise InvalidInput(f"{col_in!r} is not a queryable column of the dataset; columns: "
                                   f"{', '.join(ds.columns)}", column=col_in)
            want = declared[fm.lower()]
            if not _type_ok(want.type, types[col]):
                raise InvalidInput(f"the field @{want.macro} expects {want.type} values but {col!r} is {types[col]}",
                                   field=want.macro, column=col)
            rows.append((want.macro, col))
        rec.set_mapping(cur, room_id, macro, org_id, dataset_id, actor.user_id, rows)
        out = readiness(cur, room_id)
        record(cur, actor, "room.readiness", room_id=room_id, resource_type="room", resource_id=room_id,
               resource_org_id=owner_org, detail={"status": out.status})
        return out


def unmap_dataset(store: Store, actor: Actor, room_id: str, dataset_macro: str, org_id: str | None = None) -> w.Readiness:
    """Remove an org's mapping of a dataset macro (default: the caller's org)."""
    room_id = parse_uuid(room_id, "room")
    macro_in = _macro(dataset_macro, "the dataset macro")
    with store.transaction() as cur:
        org = org_id or actor.org_id
        found = rec.mappings_of_macro(cur, room_id, macro_in, org)
        mapping = found[0] if found else None
        ensure_allowed(cur, actor, "dataset.map", room_id=room_id, resource_type="dataset",
                       resource_id=mapping.dataset_id if mapping else None,
                       resource_org_id=org if mapping else None,
                       detail={"dataset_macro": macro_in, "unmap": True})
        if mapping is None:
            raise NotFound(f"@{macro_in} is not mapped for that organisation")
        rec.remove_mapping(cur, room_id, mapping.dataset_macro, org)
        return readiness(cur, room_id)


def readiness(cur: Any, room_id: str) -> w.Readiness:
    """The checklist: per dataset macro and party, what is mapped and which required fields are missing."""
    room = load_room(cur, room_id)
    if room is None:
        raise NotFound(f"no room {room_id}")
    names = rec.org_names(cur)
    items: list[w.ReadinessItem] = []
    missing: list[str] = []
    for d in rec.template_datasets(cur, room_id):
        required = [f.macro for f in rec.template_fields(cur, room_id, d.macro) if f.required]
        orgs = _expected_orgs(cur, room_id, room.owner_org_id, d.party)
        if not orgs:
            items.append(w.ReadinessItem(dataset_macro=d.macro, org_id="", org_name="(no partner yet)",
                                         dataset_id=None, dataset_name=None, mapped_fields={},
                                         missing_fields=required, ready=False))
            missing.append(f"@{d.macro}: a partner must join the room and map it")
            continue
        for org in orgs:
            found = [m for m in rec.mappings_of_macro(cur, room_id, d.macro, org) if m.dataset_macro == d.macro]
            mapped = found[0] if found else None
            fields = rec.field_mapping(cur, room_id, d.macro, org) if mapped else {}
            lacking = [m for m in required if m not in fields]
            items.append(w.ReadinessItem(dataset_macro=d.macro, org_id=org, org_name=names.get(org, org),
                                         dataset_id=mapped.dataset_id if mapped else None,
                                         dataset_name=mapped.dataset_name if mapped else None,
                                         mapped_fields=fields, missing_fields=lacking,
                                         ready=mapped is not None and not lacking))
            if mapped is None:
                missing.append(f"@{d.macro}: {names.get(org, org)} has not mapped a dataset")
            elif lacking:
                missing.append(f"@{d.macro}: {names.get(org, org)} has not mapped "
                               + ", ".join("@" + m for m in lacking))
    ready = not missing
    return w.Readiness(room_id=room_id, status="active" if ready else "draft", ready=ready,
                       items=items, missing=missing)


def is_ready(cur: Any, room_id: str) -> bool:
    """True when every party mapped every required field (a room without a template is ready)."""
    return readiness(cur, room_id).ready


def get_readiness(store: Store, actor: Actor, room_id: str) -> w.Readiness:
    """The readiness checklist, for every participant of the room."""
    room_id = parse_uuid(room_id, "room")
    with store.reader() as cur:
        ensure_allowed(cur, actor, "dataset.read", room_id=room_id, resource_type="room", resource_id=room_id)
        return readiness(cur, room_id)
