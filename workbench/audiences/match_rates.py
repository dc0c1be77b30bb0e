"""Match rates per identifier kind: matched ÷ uploaded for each side, released with DP.

The first number both sides ask for. Each party's distinct provisioned identities (uploaded) and
those also present on another party's side (matched) are distinct-person counts; one identity
can move its own party's two counts and the matched count of every other party holding its kind,
which is what the noise is calibrated to. Beside the rates: each party's own ingest rejections
and hints on why rates are low (different kinds, pre-hashed against raw, one-sided kinds).
"""

from __future__ import annotations

import json
from typing import Any

from workbench.audiences import _records as rec
from workbench.audiences.release import charge, check_active, epsilon_of, release_counts
from workbench.data.identity import KIND_LABELS, IdentityKind
from workbench.errors import InvalidInput
from workbench.governance.model import Actor
from workbench.governance.policy import ensure_allowed_in_room
from workbench.ids import new_id, parse_uuid
from workbench.store import Store
from workbench.wire import audiences as w

NORMALISED = ("identities are normalised before hashing (emails trimmed and lowercased, MAIDs "
              "lowercased, IP addresses canonicalised), so case and whitespace do not lower "
              "the rates")


def _by_kind(infos: list[rec.DatasetInfo]) -> dict[str, dict[str, list[rec.DatasetInfo]]]:
    out: dict[str, dict[str, list[rec.DatasetInfo]]] = {}
    for d in infos:
        out.setdefault(d.identity_kind, {}).setdefault(d.org_id, []).append(d)
    return out


def _views(infos: list[rec.DatasetInfo]) -> list[tuple[str, str]]:
    return [(d.view_name, d.identity_column) for d in infos]


def _hints(kinds: dict[str, dict[str, list[rec.DatasetInfo]]], orgs: list[str]) -> list[str]:
    hints = [NORMALISED]
    label = {k.value: v for k, v in KIND_LABELS.items()}
    for kind, parties in sorted(kinds.items()):
        if len(parties) < 2:
            only = next(iter(parties))
            hints.append(f"only one party ({only}) provisioned {label.get(kind, kind)} "
                         "identities: nothing of that kind can match across parties")
    if len(kinds) > 1:
        hints.append("the parties use different identifier kinds (" + ", ".join(sorted(kinds)) +
                     "); only identities of the same kind match, so provision a dataset of a "
                     "kind the other side has")
    if IdentityKind.SHA256.value in kinds and IdentityKind.EMAIL.value in kinds:
        hints.append("pre-hashed identities match emails only when they were hashed from "
                     "trimmed, lowercased addresses with SHA-256; ask the party that pre-hashed "
                     "how it normalised")
    if len(orgs) < 2:
        hints.append("only one party has provisioned data: match rates need two")
    return hints


def _rejections(info: rec.DatasetInfo) -> list[dict[str, Any]]:
    found = json.loads(info.rejections) if info.rejections else []
    return [{"dataset": info.name, **r} for r in found] if isinstance(found, list) else []


def match_rates(store: Store, actor: Actor, room_id: str, body: w.MatchRatesRequest
                ) -> w.MatchRates:
    """Release match rates per identifier kind; charged to every data party of the room."""
    room_id = parse_uuid(room_id, "room")
    eps = epsilon_of(body.epsilon)
    charge_id = new_id()
    with store.transaction() as cur:
        access = ensure_allowed_in_room(cur, actor, "audience.match_rates", room_id=room_id,
                                resource_type="match_rates", resource_id=charge_id)
        if not access.room.dp_enabled:  # exact counts would tell one identity's membership
            raise InvalidInput("match rates are released only with differential privacy: in "
                               "this exact room a matched count would tell whether one "
                               "identity is in another party's data; use a room with DP on")
        check_active(cur, access.room)
        infos = rec.datasets(cur, room_id)
        if not infos:
            raise InvalidInput("no dataset is provisioned in this room yet; match rates need "
                               "each party's dataset")
        orgs = sorted({d.org_id for d in infos})
        charge(store, cur, access.room, orgs, [d.id for d in infos], charge_id, eps, actor.user_id)
    kinds = _by_kind(infos)
    exact: list[int] = []
    slots: list[tuple[str, str, list[rec.DatasetInfo]]] = []
    with store.reader() as cur:
        for kind, parties in sorted(kinds.items()):
            for org, mine in sorted(parties.items()):
                others = [d for o, ds in parties.items() if o != org for d in ds]
                exact.append(rec.distinct_identities(cur, _views(mine)))
                exact.append(rec.matched_identities(cur, _views(mine), _views(others)))
                slots.append((kind, org, mine))
    per_person = 1 + max(len(p) for p in kinds.values())
    counts = release_counts(access.room, exact, eps, per_person=per_person)
    out: dict[str, list[w.PartyRate]] = {}
    for i, (kind, org, mine) in enumerate(slots):
        uploaded, matched = counts.values[2 * i], min(counts.values[2 * i + 1],
                                                      counts.values[2 * i])
        own = org == actor.org_id
        out.setdefault(kind, []).append(w.PartyRate(
            org_id=org, datasets=[d.name for d in mine], uploaded=uploaded, matched=matched,
            rate=round(matched / uploaded, 4) if uploaded else None,
            rows_rejected=sum(d.rows_rejected for d in mine) if own else None,
            rejections=[r for d in mine for r in _rejections(d)] if own else None))
    hints = _hints(kinds, orgs)
    for d in infos:
        if d.org_id == actor.org_id and d.rows_rejected:
            hints.append(f"your dataset {d.name!r} rejected {d.rows_rejected:,} rows on ingest "
                         "(see the reasons); those identities cannot match")
    return w.MatchRates(room_id=room_id, dp=counts.dp, epsilon_spent=str(counts.epsilon),
                        ci95=round(counts.ci95, 3),
                        kinds=[w.KindRates(kind=k, parties=v) for k, v in out.items()],
                        hints=hints)
