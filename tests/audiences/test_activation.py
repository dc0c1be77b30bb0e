"""Activation: exports of the activation party's own ids only, in four formats with a manifest,
behind per-dataset consent, the room permission Activate Audiences and a destination under the configured root;
audited and listed for every party. Each refusal writes nothing."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest

import workbench as wb
from tests.audiences.conftest import add_user_list, buyer_digests, stranger_digests


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


@pytest.fixture
def ready(room, activation_root):
    """A matched cohort, both datasets consented; the owner's admin holds Activate Audiences
    through its Administrator role."""
    qid = add_user_list(room)
    cohort = room.owner.create_cohort(room.id, "Buyers", qid, {"min_amount": 0}, epsilon="1")
    room.owner.set_activation_policy(room.id, room.publisher_dataset, True)
    room.partner.set_activation_policy(room.id, room.advertiser_dataset, True)
    return room, cohort, activation_root


def _members(fmt: str, text: str) -> list[str]:
    lines = text.splitlines()
    if fmt == "gam":
        rows = list(csv.reader(lines))
        assert rows[0] == ["user_id", "key", "value"]
        assert {(k, v) for _, k, v in rows[1:]} == {("wb_cohort", "buyers")}
        return [r[0] for r in rows[1:]]
    if fmt == "xandr":
        out = []
        for line in lines:
            uid, seg = line.split(",")
            code, expiration = seg.split(":")
            assert code == "buyers" and expiration == "0"
            out.append(uid)
        return out
    if fmt == "csv":
        rows = list(csv.DictReader(lines))
        assert {(r["cohort"], r["cohort_version"]) for r in rows} == {("Buyers", "1")}
        return [r["user_id"] for r in rows]
    return [json.loads(line)["user_id"] for line in lines]


@pytest.mark.parametrize("fmt", ["gam", "xandr", "csv", "jsonl"])
def test_exports_parse_and_hold_only_the_activation_partys_ids(ready, fmt):
    room, cohort, root = ready
    dest = room.owner.create_destination(room.id, f"ad server {fmt}", fmt, f"adserver/{fmt}")
    act = room.owner.activate(room.id, cohort.id, dest.id, impressions=3, per="day")
    folder = root / "adserver" / fmt
    (data,) = [p for p in _files(folder) if p.name.startswith("members")]
    members = _members(fmt, data.read_text())
    assert set(members) == buyer_digests() and len(members) == len(set(members))
    text = "".join(p.read_text() for p in _files(root))
    assert not any(s in text for s in stranger_digests())
    manifest = json.loads((data.parent / "manifest.json").read_text())
    assert manifest["frequency_cap"] == {"impressions": 3, "per": "day"}
    assert manifest["cohort"]["version"] == 1 and manifest["members"] == 200
    assert manifest["run_manifest"]["question_id"] == cohort.question_id
    assert "SHA-256" in manifest["identifiers"]
    assert act.files[0].lines == len(data.read_text().splitlines())
    # every party sees the export, in the history and in its audit log; only the exporter sees
    # the exact member count and the files' digests (the partner reads the released size)
    (seen,) = room.partner.activations(room.id)
    assert seen.id == act.id and seen.manifest["members"] is None
    assert {(f.lines, f.sha256) for f in seen.files} == {(0, "")}
    assert room.owner.activations(room.id)[0].manifest["members"] == 200
    events = room.partner.audit(room_id=room.id, action="audience.activation.exported")
    assert [e.resource_id for e in events] == [act.id]
    assert events[0].detail["size"] == cohort.size and "members" not in events[0].detail


def test_a_lookalike_exports_activation_party_ids_only(ready):
    room, cohort, root = ready
    look = room.owner.train_lookalike(room.id, "Lookalike", cohort.id, ["segment", "visits"],
                                      random_seed=1, epsilon="1")
    room.owner.pick_lookalike_size(room.id, look.id, top_n=300)
    dest = room.owner.create_destination(room.id, "jsonl", "jsonl", "modeled")
    room.owner.activate(room.id, look.id, dest.id, impressions=10, per="week")
    (data,) = [p for p in _files(root) if p.name.startswith("members")]
    members = {json.loads(line)["user_id"] for line in data.read_text().splitlines()}
    assert len(members) == 300 and not members & stranger_digests()
    assert len(members & buyer_digests()) > 150


def test_activation_without_every_owners_consent_is_refused(ready):
    room, cohort, root = ready
    room.partner.set_activation_policy(room.id, room.advertiser_dataset, False)
    dest = room.owner.create_destination(room.id, "csv", "csv", "out")
    with pytest.raises(wb.errors.PermissionDenied, match="consent"):
        room.owner.activate(room.id, cohort.id, dest.id, impressions=1, per="day")
    assert _files(root) == [] and room.owner.activations(room.id) == []


def test_consent_is_off_by_default_and_only_the_owner_sets_it(room, activation_root):
    assert {p.allowed for p in room.owner.activation_policies(room.id)} == {False}
    with pytest.raises(wb.errors.NotFound):
        room.owner.set_activation_policy(room.id, room.advertiser_dataset, True)
    assert {p.allowed for p in room.partner.activation_policies(room.id)} == {False}


def test_activation_needs_the_room_permission_and_the_activation_party(ready, user_client):
    """Activation is a room permission held through roles: a runner without it is refused (so
    are destinations), and a partner holding it is still not the activation party."""
    room, cohort, root = ready
    dest = room.owner.create_destination(room.id, "csv", "csv", "out")
    runner = room.owner.create_role(room.id, "Runner", ["create_delete_question_runs",
                                                        "view_reports"])
    client, user_id = user_client(room.owner, "runner")
    room.owner.add_member(room.id, user_id, runner.id)
    with pytest.raises(wb.errors.PermissionDenied, match="Activate Audiences"):
        client.activate(room.id, cohort.id, dest.id, impressions=1, per="day")
    with pytest.raises(wb.errors.PermissionDenied, match="Activate Audiences"):
        client.create_destination(room.id, "mine", "csv", "mine")
    activator = room.owner.create_role(room.id, "Activator", ["activate_audiences"])
    room.owner.remove_member(room.id, user_id)
    room.owner.add_member(room.id, user_id, activator.id)
    client.activate(room.id, cohort.id, dest.id, impressions=1, per="day")
    with pytest.raises(wb.errors.PermissionDenied):
        room.partner.activate(room.id, cohort.id, dest.id, impressions=1, per="day")
    assert len(_files(root)) == 2 and len(room.owner.activations(room.id)) == 1


def test_a_partner_gets_activation_only_when_the_owner_makes_it_available(ready):
    """The owner (Partner Management) cannot give a partner's role Activate Audiences unless
    the partner's available permissions include it; then the partner, as activation party,
    exports."""
    room, cohort, root = ready
    with pytest.raises(wb.errors.InvalidInput, match="not available"):
        room.owner.create_role(room.id, "Partner activator", ["activate_audiences"],
                               org_id=room.partner_org)
    with pytest.raises(wb.errors.PermissionDenied, match="Activate Audiences"):
        room.partner.create_destination(room.id, "theirs", "csv", "theirs")
    available = room.owner.room(room.id).partners[0].available_permissions
    room.owner.set_partner_permissions(room.id, room.partner_org,
                                       [*available, "activate_audiences"])
    role = room.owner.create_role(room.id, "Partner activator", ["activate_audiences"],
                                  org_id=room.partner_org)
    assert role.permissions == ["activate_audiences"]
    room.owner.set_audience_terms(room.id, activation_org_id=room.partner_org)
    qid = add_user_list(room, "SELECT a.email FROM publisher p JOIN advertiser a "
                              "ON p.email = a.email")
    theirs = room.owner.create_cohort(room.id, "Their buyers", qid, {}, epsilon="1")
    dest = room.partner.create_destination(room.id, "theirs", "csv", "theirs")
    room.partner.activate(room.id, theirs.id, dest.id, impressions=1, per="day")
    assert [a.cohort_id for a in room.owner.activations(room.id)] == [theirs.id]


@pytest.mark.parametrize("path", ["../outside", "/tmp", "a/../../b", "a\\..\\b", ".", "a/./b"])
def test_destinations_outside_the_root_are_refused(ready, path):
    room, _, root = ready
    with pytest.raises(wb.errors.InvalidInput):
        room.owner.create_destination(room.id, "bad", "csv", path)
    assert room.owner.destinations(room.id) == []


def test_symbolic_links_are_refused_when_configured_and_when_written(ready, tmp_path):
    room, cohort, root = ready
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, root / "link")
    with pytest.raises(wb.errors.InvalidInput, match="symbolic link"):
        room.owner.create_destination(room.id, "linked", "csv", "link/x")
    dest = room.owner.create_destination(room.id, "later", "csv", "later")
    os.symlink(outside, root / "later")  # planted after configuration
    with pytest.raises(wb.errors.InvalidInput, match="symbolic link"):
        room.owner.activate(room.id, cohort.id, dest.id, impressions=1, per="day")
    assert _files(outside) == [] and room.owner.activations(room.id) == []


def test_activation_without_a_configured_root_says_so(ready, monkeypatch):
    room, cohort, _ = ready
    monkeypatch.delenv("WORKBENCH_ACTIVATION_ROOT")
    with pytest.raises(wb.errors.Conflict, match="WORKBENCH_ACTIVATION_ROOT"):
        room.owner.create_destination(room.id, "csv", "csv", "out")


def test_a_modeled_cohort_without_a_size_cannot_be_exported(ready):
    room, cohort, _ = ready
    look = room.owner.train_lookalike(room.id, "Lookalike", cohort.id, ["visits"], epsilon="1")
    dest = room.owner.create_destination(room.id, "csv", "csv", "out")
    with pytest.raises(wb.errors.Conflict, match="pick"):
        room.owner.activate(room.id, look.id, dest.id, impressions=1, per="day")
