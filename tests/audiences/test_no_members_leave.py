"""Attack: read cohort members, scores or the seed through the API. Every audience response and
every audit event either party can read is scanned for any publisher or advertiser digest; the
only place ids appear is the activation party's export folder."""

from __future__ import annotations

import json

from tests.audiences.conftest import add_user_list, buyer_digests, stranger_digests


def test_no_response_or_audit_event_carries_an_identity(room, activation_root):
    qid = add_user_list(room)
    cohort = room.owner.create_cohort(room.id, "Buyers", qid, {"min_amount": 0})
    look = room.owner.train_lookalike(room.id, "Alike", cohort.id, ["segment", "visits"],
                                      epsilon="1")
    room.owner.pick_lookalike_size(room.id, look.id, top_n=100)
    room.owner.set_activation_policy(room.id, room.publisher_dataset, True)
    room.partner.set_activation_policy(room.id, room.advertiser_dataset, True)
    dest = room.owner.create_destination(room.id, "csv", "csv", "out")
    room.owner.activate(room.id, cohort.id, dest.id, impressions=1, per="day")
    seen = []
    for client in (room.owner, room.partner):
        seen += [c.model_dump() for c in client.cohorts(room.id)]
        seen += [client.cohort(room.id, look.id).model_dump()]
        seen += [a.model_dump() for a in client.activations(room.id)]
        seen += [p.model_dump() for p in client.activation_policies(room.id)]
        seen += [client.audience_terms(room.id).model_dump()]
        seen += [e.model_dump() for e in client.audit(room_id=room.id)]
    seen += [room.owner.match_rates(room.id).model_dump()]
    seen += [d.model_dump() for d in room.owner.destinations(room.id)]
    text = json.dumps(seen, default=str)
    leaked = [d for d in buyer_digests() | stranger_digests() if d in text]
    assert leaked == []
    paths = room.owner._request("GET", "/openapi.json")["paths"]
    assert not [p for p in paths if "audiences" in p and ("member" in p or "score" in p)]
    exported = "".join(p.read_text() for p in activation_root.rglob("members.*"))
    assert sum(d in exported for d in buyer_digests()) == 200
