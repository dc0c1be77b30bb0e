"""Unlinking a dataset takes everything computed from it: the cohorts that read it, the
lookalikes they seeded, their members and scores, and the files their activations wrote. The
record of each export stays for every party, marked "source unlinked", as the audit of an export
that happened."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.audiences.conftest import add_user_list
from workbench.service.local import local_app


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


@pytest.mark.parametrize("side", ["advertiser", "publisher"])
def test_unlink_drops_membership_and_files_and_marks_the_history(room, activation_root,
                                                                  store_dir, side):
    qid = add_user_list(room)
    cohort = room.owner.create_cohort(room.id, "Buyers", qid, {"min_amount": 0}, epsilon="1")
    look = room.owner.train_lookalike(room.id, "Alike", cohort.id, ["segment", "visits"],
                                      epsilon="1")
    room.owner.pick_lookalike_size(room.id, look.id, top_n=100)
    room.owner.set_activation_policy(room.id, room.publisher_dataset, True)
    room.partner.set_activation_policy(room.id, room.advertiser_dataset, True)
    dest = room.owner.create_destination(room.id, "csv", "csv", "out")
    acts = [room.owner.activate(room.id, c.id, dest.id, impressions=1, per="day")
            for c in (cohort, look)]
    assert len(_files(activation_root)) == 4 and all(a.source_status is None for a in acts)
    if side == "advertiser":
        room.partner.unprovision_dataset(room.id, room.advertiser_dataset)
    else:
        room.owner.unprovision_dataset(room.id, room.publisher_dataset)

    store = local_app(store_dir).state.store
    with store.reader() as cur:
        for table in ("cohort_members", "cohort_scores"):
            left = cur.execute(f"SELECT count(*) FROM {table} WHERE cohort_id IN (?, ?)",
                               [cohort.id, look.id]).fetchone()
            assert left == (0,), table
        assert cur.execute("SELECT count(*) FROM cohorts WHERE room_id = ?",
                           [room.id]).fetchone() == (0,)
    assert _files(activation_root) == []
    for client in (room.owner, room.partner):
        history = client.activations(room.id)
        assert {a.id for a in history} == {a.id for a in acts}
        assert {a.source_status for a in history} == {"source unlinked"}
        assert all(a.source_unlinked_at for a in history)
        exported = client.audit(room_id=room.id, action="audience.activation.exported")
        assert {e.resource_id for e in exported} == {a.id for a in acts}
