"""The whole audience path over a real `workbench serve` on a free port, over HTTP: a cohort,
match rates, a lookalike and one export whose files hold only the publisher's digests."""

from __future__ import annotations

import json
import os

import pytest

import workbench as wb
from tests.audiences.conftest import (add_user_list, advertiser_with_strangers, buyer_digests,
                                      publisher_with_features, stranger_digests)
from tests.runs.room import build_room
from workbench.audiences.destinations import ROOT_ENV


@pytest.fixture(scope="module", autouse=True)
def activation_root(tmp_path_factory):
    """Set before the module's live service starts (autouse runs first), restored after."""
    root = tmp_path_factory.mktemp("exports")
    old = os.environ.get(ROOT_ENV)
    os.environ[ROOT_ENV] = str(root)
    yield root
    if old is None:
        os.environ.pop(ROOT_ENV, None)
    else:
        os.environ[ROOT_ENV] = old


def test_audiences_end_to_end_over_http(live_service, activation_root):
    owner = live_service.client(live_service.admin_token)
    room = build_room(owner, live_service.make_org, dp=True, k_min=5, epsilon_budget="50",
                      publisher=publisher_with_features(), advertiser=advertiser_with_strangers())
    qid = add_user_list(room)
    cohort = room.owner.create_cohort(room.id, "Buyers", qid, {"min_amount": 0}, epsilon="1")
    assert abs(cohort.size - 200) < 40 and room.partner.cohort(room.id, cohort.id).size == cohort.size
    rates = room.partner.match_rates(room.id, epsilon="1")
    assert {p.org_id for p in rates.kinds[0].parties} == {room.owner_org, room.partner_org}
    # ~200 seed members make 1 or 2 blocks, so each point's noise is large (scale 9/(B·10));
    # that the exact curve beats random is tested in test_lookalike_sensitivity
    look = room.owner.train_lookalike(room.id, "Alike", cohort.id, ["segment", "visits"],
                                      random_seed=2, epsilon="20")
    assert len(look.curve) == 9 and all(0 <= p.recall <= 1 for p in look.curve)
    assert look.manifest["blocks"] == max(1, cohort.size // 100)
    with pytest.raises(wb.errors.InvalidInput, match="identity"):
        room.owner.train_lookalike(room.id, "bad", cohort.id, ["email"], epsilon="1")
    room.owner.set_activation_policy(room.id, room.publisher_dataset, True)
    room.partner.set_activation_policy(room.id, room.advertiser_dataset, True)
    dest = room.owner.create_destination(room.id, "Monetize", "xandr", "xandr/buyers")
    act = room.owner.activate(room.id, cohort.id, dest.id, impressions=5, per="week")
    (folder,) = (activation_root / "xandr" / "buyers").iterdir()
    ids = {line.split(",")[0] for line in (folder / "members.txt").read_text().splitlines()}
    assert ids == buyer_digests() and not ids & stranger_digests()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["activation_id"] == act.id and manifest["frequency_cap"]["per"] == "week"
    assert [a.id for a in room.partner.activations(room.id)] == [act.id]
