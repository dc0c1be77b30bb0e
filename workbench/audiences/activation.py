"""Activation: export a cohort's membership of the activation party's own ids.

Needs, all at once: the audience.activate action (a user of the activation party holding its
activation permission, and the owner's connection toggle for a partner), the consent of the
owner of every dataset the cohort reads (an activation policy, off by default), and a
destination the activation party configured. Exported ids are the activation party's stored
identity values: SHA-256 digests of normalised identities, never raw ones and never another
party's. Every export is audited for every data party and listed to all of them.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from workbench.audiences import _records as rec
from workbench.audiences import destinations as dest
from workbench.audiences.actions import activation_org
from workbench.audiences.cohorts import parties_of
from workbench.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from workbench.governance.audit import record
from workbench.governance.model import Actor
from workbench.governance.policy import ensure_allowed, ensure_allowed_in_room
from workbench.ids import new_id, parse_uuid
from workbench.store import Store
from workbench.wire import audiences as w

IDENTIFIERS = ("SHA-256 digests of the activation party's normalised identities (the stored "
               "form; never raw values, never another party's)")
GAM_KEY = "wb_cohort"


# -- terms, consent -------------------------------------------------------------------------------

def get_terms(store: Store, actor: Actor, room_id: str) -> w.Terms:
    """The room's activation party and largest lookalike seed."""
    room_id = parse_uuid(room_id, "room")
    with store.reader() as cur:
        access = ensure_allowed_in_room(cur, actor, "audience.terms.read", room_id=room_id,
                                resource_type="audience_terms")
        terms = rec.terms(cur, room_id)
        return w.Terms(room_id=room_id, activation_org_id=activation_org(cur, access),
                       max_seed=terms.max_seed if terms else 100_000)


def set_terms(store: Store, actor: Actor, room_id: str, body: w.TermsSet) -> w.Terms:
    """Owner only: choose the activation party (an org of the room) and the largest seed."""
    room_id = parse_uuid(room_id, "room")
    with store.transaction() as cur:
        access = ensure_allowed_in_room(cur, actor, "audience.terms.set", room_id=room_id,
                                resource_type="audience_terms",
                                detail={"activation_org_id": body.activation_org_id,
                                        "max_seed": body.max_seed})
        org = body.activation_org_id or access.room.owner_org_id
        if org not in rec.room_orgs(cur, room_id):
            raise InvalidInput(f"{org} is not an organisation of this room; the activation party "
                               "is the owner or an accepted partner")
        rec.set_terms(cur, room_id, org, body.max_seed, actor.user_id)
        return w.Terms(room_id=room_id, activation_org_id=org, max_seed=body.max_seed)


def _policy_out(d: rec.DatasetInfo, p: rec.Policy | None) -> w.Policy:
    return w.Policy(dataset_id=d.id, dataset_name=d.name, org_id=d.org_id,
                    allowed=bool(p and p.allowed))


def list_policies(store: Store, actor: Actor, room_id: str) -> list[w.Policy]:
    """Every dataset's activation consent in the room."""
    room_id = parse_uuid(room_id, "room")
    with store.reader() as cur:
        ensure_allowed(cur, actor, "audience.policy.read", room_id=room_id,
                       resource_type="activation_policy")
        return [_policy_out(d, rec.policy(cur, d.id)) for d in rec.datasets(cur, room_id)]


def set_policy(store: Store, actor: Actor, room_id: str, dataset_id: str, body: w.PolicySet
               ) -> w.Policy:
    """The dataset owner's consent to activation of cohorts derived from it (audited)."""
    room_id, dataset_id = parse_uuid(room_id, "room"), parse_uuid(dataset_id, "dataset")
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "audience.policy.set", room_id=room_id,
                       resource_type="dataset", resource_id=dataset_id,
                       resource_org_id=actor.org_id, detail={"allowed": body.allowed})
        d = rec.dataset(cur, room_id, dataset_id)
        if d is None or d.org_id != actor.org_id:
            raise NotFound(f"no dataset {dataset_id} of your organisation in this room")
        rec.set_policy(cur, room_id, dataset_id, body.allowed, actor.user_id)
        return _policy_out(d, rec.policy(cur, dataset_id))


# -- destinations ------------------------------------------------------------------------------------

def _dest_out(d: rec.Destination) -> w.Destination:
    return w.Destination(id=d.id, room_id=d.room_id, org_id=d.org_id, name=d.name,
                         format=d.format, path=d.path, settings=json.loads(d.settings),
                         created_at=str(d.created_at))


def create_destination(store: Store, actor: Actor, room_id: str, body: w.DestinationCreate
                       ) -> w.Destination:
    """A folder under the activation root for the activation party's exports."""
    room_id = parse_uuid(room_id, "room")
    dest_id = new_id()
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "audience.destination.manage", room_id=room_id,
                       resource_type="destination", resource_id=dest_id,
                       resource_org_id=actor.org_id,
                       detail={"format": body.format, "path": body.path})
        name = body.name.strip()
        if rec.destination_name_taken(cur, room_id, name):
            raise Conflict(f"the room already has a destination named {name!r}")
        dest.folder(body.path, create=False)
        settings = {"key": body.key or GAM_KEY} if body.format == "gam" else \
            {"segment": body.segment} if body.format == "xandr" and body.segment else {}
        d = rec.Destination(id=dest_id, room_id=room_id, org_id=actor.org_id, name=name,
                            format=body.format, path=str(dest.check_relative(body.path)),
                            settings=json.dumps(settings), created_by=actor.user_id,
                            created_at=None)
        rec.insert_destination(cur, d)
        found = rec.destination(cur, room_id, dest_id)
        assert found is not None
        return _dest_out(found)


def list_destinations(store: Store, actor: Actor, room_id: str) -> list[w.Destination]:
    """The activation party's destinations in the room."""
    room_id = parse_uuid(room_id, "room")
    with store.reader() as cur:
        ensure_allowed(cur, actor, "audience.destination.read", room_id=room_id,
                       resource_type="destination")
        return [_dest_out(d) for d in rec.destinations(cur, room_id, actor.org_id)]


# -- export ------------------------------------------------------------------------------------------

def slug(name: str) -> str:
    """A cohort name as a segment code / value: lowercase letters, digits and '_'."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:60] or "cohort"


def safe_cell(value: str) -> str:
    """A CSV cell no spreadsheet evaluates: text starting a formula (=, +, -, @, TAB, CR) is
    quoted with a leading apostrophe, as the client's run exports do (issue 10.9)."""
    return "'" + value if value.startswith(("=", "+", "-", "@", "\t", "\r")) else value


def lines(fmt: str, members: Iterator[list[str]], cohort: rec.Cohort, settings: dict[str, Any]
          ) -> Iterator[str]:
    """The export's lines in one format (a header first where the format has one)."""
    value = slug(cohort.name)
    if fmt == "gam":
        yield "user_id,key,value\n"
    elif fmt == "csv":
        yield "user_id,cohort,cohort_version\n"
    for batch in members:
        for m in batch:
            if fmt == "gam":
                yield f"{m},{settings.get('key', GAM_KEY)},{value}\n"
            elif fmt == "xandr":
                # Monetize batch segment line: UID, then one SEG block SEG_CODE:EXPIRATION
                # (0 = the platform's longest lifetime)
                yield f"{m},{settings.get('segment') or value}:0\n"
            elif fmt == "csv":
                out = io.StringIO()
                csv.writer(out, lineterminator="\n").writerow(
                    [m, safe_cell(cohort.name), cohort.version])
                yield out.getvalue()
            else:
                yield json.dumps({"user_id": m, "cohort": cohort.name,
                                  "cohort_version": cohort.version}) + "\n"


EXTENSION = {"gam": "csv", "xandr": "txt", "csv": "csv", "jsonl": "jsonl"}


def _write(folder: Path, name: str, chunks: Iterator[str]) -> dict[str, Any]:
    digest = hashlib.sha256()
    count = 0
    with os.fdopen(dest.open_new(folder, name), "w", encoding="utf-8", newline="") as f:
        for chunk in chunks:
            data = chunk.encode()
            digest.update(data)
            f.write(chunk)
            count += 1
    return {"name": name, "lines": count, "sha256": digest.hexdigest()}


def activate(store: Store, actor: Actor, room_id: str, cohort_id: str, body: w.ActivateRequest
             ) -> w.Activation:
    """Write the cohort's members to the destination with a manifest; audited for every party."""
    room_id, cohort_id = parse_uuid(room_id, "room"), parse_uuid(cohort_id, "cohort")
    destination_id = parse_uuid(body.destination_id, "destination")
    activation_id = new_id()
    with store.transaction() as cur:
        access = ensure_allowed_in_room(cur, actor, "audience.activate", room_id=room_id,
                                resource_type="cohort", resource_id=cohort_id,
                                detail={"destination_id": destination_id,
                                        "activation_id": activation_id})
        cohort = rec.cohort(cur, room_id, cohort_id)
        if cohort is None:
            raise NotFound(f"no cohort {cohort_id} in this room (a cohort goes when a dataset it "
                           "reads is removed)")
        if cohort.status != "ready":
            raise Conflict("the cohort has no members yet: pick a lookalike's size from its "
                           "curve first")
        if cohort.activation_org_id != actor.org_id:
            raise PermissionDenied("the cohort holds another party's ids; only cohorts built "
                                   "for your organisation as activation party are exported")
        missing = [d for d in rec.datasets(cur, room_id) if d.id in cohort.datasets
                   and not ((p := rec.policy(cur, d.id)) and p.allowed)]
        if missing:
            raise PermissionDenied(
                "activation needs the consent of every dataset's owner; not consented: " +
                ", ".join(f"{d.name!r} (org {d.org_id})" for d in missing) +
                ". Each owner switches on activation for their dataset",
                datasets=[d.id for d in missing])
        d = rec.destination(cur, room_id, destination_id)
        if d is None or d.org_id != actor.org_id:
            raise NotFound(f"no destination {destination_id} of your organisation in this room")
        settings = json.loads(d.settings)
        folder = dest.new_export_folder(d.path, f"{slug(cohort.name)}-v{cohort.version}-"
                                                f"{activation_id[:8]}")
        try:
            data = _write(folder, f"members.{EXTENSION[d.format]}",
                          lines(d.format, rec.members(cur, cohort_id), cohort, settings))
            cap = body.frequency_cap.model_dump()
            manifest = {
                "activation_id": activation_id, "room_id": room_id,
                "cohort": {"id": cohort.id, "name": cohort.name, "kind": cohort.kind,
                           "version": cohort.version},
                "format": d.format, "settings": settings, "frequency_cap": cap,
                "members": data["lines"] - (1 if d.format in ("gam", "csv") else 0),
                "identifiers": IDENTIFIERS, "files": [data],
                "run_manifest": json.loads(cohort.metadata).get("manifest", {}),
                # what the members were computed from: an unlink of any of these removes the
                # export's files, even after the cohort itself was deleted
                "datasets": sorted(cohort.datasets),
            }
            meta = _write(folder, "manifest.json", iter([json.dumps(manifest, indent=2) + "\n"]))
            files = [data, {**meta, "lines": 1}]
            rec.insert_activation(cur, rec.Activation(
                id=activation_id, room_id=room_id, cohort_id=cohort_id, cohort_name=cohort.name,
                cohort_version=cohort.version, destination_id=destination_id, format=d.format,
                frequency_cap=json.dumps(cap), files=json.dumps(files),
                manifest=json.dumps(manifest), created_by=actor.user_id, created_at=None,
                folder=f"{d.path}/{folder.name}"))
            for party in sorted(set(parties_of(cur, room_id, cohort.datasets))
                                | {access.room.owner_org_id}):
                record(cur, actor, "audience.activation.exported", room_id=room_id,
                       resource_type="activation", resource_id=activation_id,
                       resource_org_id=party, reason="cohort membership exported",
                       detail={"cohort_id": cohort_id, "version": cohort.version,
                               "size": cohort.noisy_size, "format": d.format,
                               "frequency_cap": cap})
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        found = rec.activation(cur, room_id, activation_id)
        assert found is not None
        return activation_out(found)


def activation_out(a: rec.Activation, *, exporter: bool = True) -> w.Activation:
    """An export as the parties see it. Only the exporting party (which holds the files) sees
    the exact member count and the files' digests; the others read the cohort's released size in
    the audit event, since an exact count, or a digest to test guessed member lists against, would undo the
    noise on a cohort computed from their data."""
    manifest = json.loads(a.manifest)
    files = [w.ActivationFile(**f) for f in json.loads(a.files)]
    if not exporter:
        manifest.pop("files", None)
        manifest["members"] = None
        files = [w.ActivationFile(name=f.name, lines=0, sha256="") for f in files]
    return w.Activation(id=a.id, room_id=a.room_id, cohort_id=a.cohort_id,
                        cohort_name=a.cohort_name, cohort_version=a.cohort_version,
                        destination_id=a.destination_id, format=a.format,
                        frequency_cap=json.loads(a.frequency_cap), files=files,
                        manifest=manifest, created_by=a.created_by,
                        created_at=str(a.created_at), source_status=a.source_status,
                        source_unlinked_at=None if a.source_unlinked_at is None
                        else str(a.source_unlinked_at))


def list_activations(store: Store, actor: Actor, room_id: str) -> list[w.Activation]:
    """Every export of the room, newest first: every party sees every one."""
    room_id = parse_uuid(room_id, "room")
    with store.reader() as cur:
        ensure_allowed(cur, actor, "audience.activation.read", room_id=room_id,
                       resource_type="activation")
        return [activation_out(a, exporter=rec.user_org(cur, a.created_by) == actor.org_id)
                for a in rec.activations(cur, room_id)]
